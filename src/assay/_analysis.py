"""analysis.json as one document that every command adds its section to.

``assay audit`` writes the bias sections, ``assay explain`` adds
``explanations``, ``assay mitigate`` adds ``mitigation`` and ``assay monitor
run`` adds ``monitoring``; each keeps what the others wrote. A write goes to
a temporary file that then replaces the document, so a crash never leaves
half a file, and a document that is not JSON is refused (never overwritten).

    doc = AnalysisDocument("out")
    doc.set("mitigation", section)      # OUT/analysis.json, other sections kept
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay._errors import AssayError

__all__ = ["AnalysisDocument", "write_atomic"]

AUDIT_KEEPS = ("explanations",)  # what an audit's document keeps of the one it replaces


def write_atomic(target: Path, text: str) -> Path:
    """Write ``text`` to ``target`` through a temporary file beside it (never a half-written file); the target."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise AssayError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


class AnalysisDocument:
    """DIRECTORY/analysis.json: read it, set a section, replace the audit's sections; every write atomic."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "analysis.json"

    def read(self, *, strict: bool = True) -> dict[str, Any]:
        """The document (empty when there is none). ``strict``: a file that is not a JSON object is an error; otherwise it reads as
        empty."""
        if not self.path.exists():
            return {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            if not strict:
                return {}
            raise AssayError(f"{self.path} exists but is not valid JSON ({exc}); move it away or choose another --out") from None
        return doc

    def set(self, key: str, section: Any) -> Path:
        """Set ``key`` to ``section``, keeping every other section; the path written."""
        from assay.bias._results import document_header

        return write_atomic(self.path, json.dumps(self.read() | document_header() | {key: section}, indent=2))

    def replace(self, doc: dict[str, Any], *, keep: tuple[str, ...] = AUDIT_KEEPS) -> Path:
        """Write ``doc`` (an audit's analysis.json) in place of the document, keeping its ``keep`` sections; the path written."""
        earlier = self.read(strict=False)
        kept = {k: earlier[k] for k in keep if earlier.get(k) is not None}
        return write_atomic(self.path, json.dumps(doc | kept, indent=2, allow_nan=False))

    def add_explanations(self, result: Any, *, save_local: bool) -> list[Path]:
        """Set ``explanations`` from an explanation result and, with ``save_local``, write its local values beside the document
        (explanations_shap/out.csv, Clarify's file, and local_shap.parquet with standard errors); the paths written."""
        written = [self.set("explanations", result.to_dict())]
        if save_local:
            local = result.local_frame()
            csv = write_atomic(self.directory / "explanations_shap" / "out.csv", local[["expected_value", "prediction", *result.features]].to_csv(index=False))
            parquet = self.directory / "explanations_shap" / "local_shap.parquet"
            local.to_parquet(parquet, index=False)
            written += [csv, parquet]
        return written
