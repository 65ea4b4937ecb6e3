"""The last mile: a signed model card's metric claims re-measured on the deployer's data (``assay card check``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay._errors import DataError

__all__ = ["check_card"]


def check_card(store: str | Path, doc: dict[str, Any], *, trusted_keys: list[Any] | None = None, alpha: float = 0.05,
               version: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Verify the card store (every hash, link and signature; with ``trusted_keys``, that approvals are by those keys), then
    compare each metric value the card's version states with the analysis ``doc`` of the deployer's data
    (:func:`assay.gate.compare_claims`). Refused when the store does not verify."""
    from assay.cards._store import CardStore
    from assay.gate import compare_claims

    cards = CardStore(store)
    checked = cards.verify(trusted_keys=trusted_keys)
    if not checked.ok:
        raise DataError(f"the card store {store} does not verify, so its claims are not checked: {checked.problems[0]}")
    record = cards.read(version)
    number = int(record.get("version", version or cards.latest()))
    status = cards.status(number)
    custom = (record["content"].get("additional_information") or {}).get("custom_details") or {}
    claims = [c for c in custom.get("quantitative_analyses", []) if c.get("value") is not None]
    if not claims:
        raise DataError(f"version {number} of the card states no metric values (its quantitative_analyses are empty)")
    level = float((custom.get("analysis") or {}).get("confidence_level", 0.95))
    results = compare_claims(claims, doc, card_level=level, alpha=alpha)
    approvals = [a for a in checked.approvals if a.get("version") == number]
    counts = {s: sum(r["state"] == s for r in results) for s in ("holds", "differs", "inconclusive")}
    return {"card": cards.name, "version": number, "status": status, "approvals": approvals, "alpha": alpha, "counts": counts,
            "outcome": "differs" if counts["differs"] else "inconclusive" if counts["inconclusive"] else "holds", "claims": results}  # fmt: skip
