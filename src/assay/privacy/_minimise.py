"""Data minimisation: the columns that carry personal data, beside how much of the model's attribution runs through them.

A column is personal when the scan flags it, or when it is declared a quasi-identifier or a sensitive column. Its attribution
share is its mean |SHAP| over the total of every feature's (from ``assay explain``), with the interval of its own mean |SHAP|
over the same total (the total's own uncertainty is left out: it is the sum of every feature's, far more precise than one).
The advice: a personal column the model does not use can go from the training data; one whose share is below ``min_share``
with its whole interval is carried for little; any other, the model relies on, and keeping it needs a purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["minimisation"]


def minimisation(scan: Sequence[Mapping[str, Any]] | None, importance: Mapping[str, Mapping[str, Any]] | None, *,
                 quasi_identifiers: Sequence[str] = (), sensitive: Sequence[str] = (), min_share: float = 0.02) -> list[dict[str, Any]]:  # fmt: skip
    """One row per personal column: why it is personal, whether the model uses it, its attribution share and the advice."""
    why: dict[str, list[str]] = {}
    used: dict[str, bool | None] = {}
    for c in scan or []:
        if c["personal"]:
            why.setdefault(c["column"], []).extend(k["kind"] for k in c["kinds"])
        used[c["column"]] = c.get("used_by_model")
    for name in quasi_identifiers:
        why.setdefault(name, []).append("quasi-identifier")
    for name in sensitive:
        why.setdefault(name, []).append("sensitive")
    total = sum(float(v["value"]) for v in (importance or {}).values() if v.get("value") is not None)
    out = []
    for col, kinds in why.items():
        row: dict[str, Any] = {"column": col, "personal": list(dict.fromkeys(kinds))}
        imp = (importance or {}).get(col)
        in_model = used.get(col) if used.get(col) is not None else (None if importance is None else imp is not None)
        row["used_by_model"] = in_model
        if imp is not None and total > 0 and imp.get("value") is not None:
            lo, hi = (imp.get("ci") or [None, None])[:2]
            row["attribution_share"] = float(imp["value"]) / total
            row["attribution_share_ci"] = [None if lo is None else float(lo) / total, None if hi is None else float(hi) / total]
        else:
            row["attribution_share"], row["attribution_share_ci"] = None, [None, None]
        row["advice"] = _advice(row, min_share)
        out.append(row)
    return sorted(out, key=lambda r: (r["attribution_share"] is not None, r["attribution_share"] or 0.0))


def _advice(row: dict[str, Any], min_share: float) -> str:
    if row["used_by_model"] is False:
        return "drop it: the model does not use it"
    share, (_, hi) = row["attribution_share"], row["attribution_share_ci"]
    if share is None:
        return "not weighed: run assay explain first" if row["used_by_model"] is None else "not weighed: no attribution for it"
    if (hi if hi is not None else share) < min_share:
        return f"consider dropping it: under {min_share:.0%} of the attribution"
    return "relied on: keep it only with a stated purpose"
