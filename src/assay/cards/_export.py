"""Export one version of a stored card: Hugging Face Markdown, SageMaker JSON, or HTML."""

from __future__ import annotations

import json
from typing import Any, Literal

from assay._errors import ConfigError
from assay.cards._content import to_html, to_markdown, to_sagemaker
from assay.cards._store import CardStore

__all__ = ["export_card"]

Format = Literal["markdown", "sagemaker", "html"]


def export_card(store: CardStore, fmt: str, *, version: int | None = None) -> str:
    """The card's version (default: the latest) in ``fmt``, with its status, content hash and review record."""
    if fmt not in ("markdown", "sagemaker", "html"):
        raise ConfigError(f"format must be markdown, sagemaker or html, got {fmt!r}")
    record = store.read(version)
    v = int(record["version"])
    status = store.status(v)
    actions = [e for e in store.history(v) if e["action"] != "create"]
    if fmt == "markdown":
        text = to_markdown(record["content"], status=status, version=v, content_hash=record["content_hash"])
        if actions:
            text += "\n## Sign-off record\n\n| When (UTC) | Action | By | Reason | Key |\n|---|---|---|---|---|\n"
            text += "".join(
                f"| {a['time']} | {a['action']} ({a['from_status']} -> {a['to_status']}) | {a['by']} | {a['reason']} | {a.get('key_id') or ''} |\n"
                for a in actions
            )
        return text
    if fmt == "html":
        return to_html(record["content"], status=status, version=v, content_hash=record["content_hash"], approvals=actions)
    doc: dict[str, Any] = {
        "ModelCardName": record["content"]["model_overview"]["model_name"],
        "ModelCardVersion": v,
        "ModelCardStatus": status,
        "Content": to_sagemaker(record["content"]),
        "assay": {"content_hash": record["content_hash"], "review_log": actions},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
