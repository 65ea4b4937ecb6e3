"""Claims re-measured on other data: each metric value a model card states, against the same metric measured on the
deployer's data, from both intervals.

For a claim with value c and interval [c_lo, c_hi] at level L, and the deployer's value t with its interval at level L', the
standard errors are read from the intervals (half their width over the normal quantile of their level), the difference
t - c gets a normal interval and a two-sided p-value, and Benjamini-Hochberg runs over the claims: a claim whose q-value is at
most ``alpha`` **differs** on the deployer's data; else it **holds** (no evidence that it differs; the difference's interval
says how much it could). A claim whose group or metric the deployer's data lacks, or without an interval, is **inconclusive**.
A percentile interval of a ratio (DI) is asymmetric, which the normal reading of its width smooths over.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["compare_claims"]


def compare_claims(claims: list[dict[str, Any]], doc: dict[str, Any], *, card_level: float = 0.95, alpha: float = 0.05,
                   difference_level: float = 0.95) -> list[dict[str, Any]]:  # fmt: skip
    """Each claim (``stage``, ``facet``, ``group``, ``metric``, ``value``, ``ci``) checked against the analysis document ``doc``;
    the difference's interval at ``difference_level``."""
    from scipy.stats import norm

    from assay.stats import benjamini_hochberg

    level = (doc.get("settings") or {}).get("confidence_level", 0.95)
    z_card, z_them, z_diff = (float(norm.ppf(0.5 + x / 2)) for x in (card_level, level, difference_level))
    out = []
    for c in claims:
        entry, group = _find(doc, c)
        row: dict[str, Any] = {"stage": c["stage"], "facet": c["facet"], "group": c["group"], "metric": c["metric"], "card_value": c.get("value"),
                               "card_ci": c.get("ci"), "card_group_size": c.get("group_size"), "value": None, "ci": None, "group_size": None,
                               "difference": None, "difference_ci": None, "p_value": None}  # fmt: skip
        if entry is None:
            out.append(row | {"state": "inconclusive", "reason": f"the data has no {c['metric']} for {c['facet']} = {c['group']}"})
            continue
        row |= {"value": entry.get("value"), "ci": entry.get("ci"), "group_size": (group or {}).get("size")}
        se_c, se_t = _se(c.get("ci"), z_card), _se(entry.get("ci"), z_them)
        if c.get("value") is None or entry.get("value") is None or se_c is None or se_t is None:
            out.append(row | {"state": "inconclusive", "reason": entry.get("reason") or "a value or an interval is missing"})
            continue
        d, se = entry["value"] - c["value"], math.hypot(se_c, se_t)
        p = 1.0 if se == 0 and d == 0 else 0.0 if se == 0 else float(2 * norm.sf(abs(d) / se))
        out.append(row | {"difference": d, "difference_ci": [d - z_diff * se, d + z_diff * se], "p_value": p, "state": None, "reason": None})
    tested = [r for r in out if r["p_value"] is not None]
    for r, q in zip(tested, benjamini_hochberg([r["p_value"] for r in tested])):
        r["q_value"] = q
        differs = q is not None and q <= alpha
        r["state"] = "differs" if differs else "holds"
        r["reason"] = (f"the data's value differs from the card's (q = {q:.2g})" if differs else
                       "no evidence that the data's value differs from the card's")  # fmt: skip
    return out


def _se(ci: Any, z: float) -> float | None:
    if not ci or ci[0] is None or ci[1] is None:
        return None
    return (float(ci[1]) - float(ci[0])) / (2 * z)


def _find(doc: dict[str, Any], claim: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    stage = doc.get("pre_training_bias_metrics" if claim["stage"] == "pre_training" else "post_training_bias_metrics") or {}
    for g in (stage.get("facets") or {}).get(claim["facet"], []):
        value = g["value_or_threshold"]
        shown = " & ".join(map(str, value)) if isinstance(value, list) else str(value)
        if shown == str(claim["group"]):
            return next((m for m in g.get("metrics", []) if m["name"] == claim["metric"]), None), g.get("group")
    return None, None
