"""The rows behind a monitoring violation: the window's captured predictions that the violated check counts against the baseline.

By check: missing values (``completeness_check``, ``missing_column_check``) the rows without a value; ``extra_column_check`` the
rows that have the column; ``data_type_check`` the rows whose value is not of the baseline's type; ``categorical_values_check``
the rows whose value is outside the baseline's domain; ``non_negative_check`` the negative values; ``model_quality_check`` the
rows with ground truth whose label is wrong; ``bias_drift_check`` the rows of the group; ``feature_attribution_drift_check`` the
rows that carry an explanation (with the column's attribution); ``baseline_drift_check`` every row of the window, with the
column's value (the drift is a property of them all). The window is read in capture order, a batch at a time, until a page is
full: a page never reads more of the window than it needs.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from assay.service._db import aware, baselines, predictions

__all__ = ["behind"]

BATCH = 2000
MISSING = object()

WHY = {
    "completeness_check": "rows without a value for {f}",
    "missing_column_check": "rows without a value for {f}",
    "extra_column_check": "rows that have {f}, a column the baseline does not",
    "data_type_check": "rows whose {f} is not of the baseline's type ({t})",
    "categorical_values_check": "rows whose {f} is outside the baseline's values",
    "non_negative_check": "rows whose {f} is negative",
    "model_quality_check": "rows with ground truth where the model's label is wrong",
    "bias_drift_check": "rows of the group {f}",
    "feature_attribution_drift_check": "rows with an explanation, and their attribution to {f}",
    "baseline_drift_check": "every row of the window, with its {f}",
}


def _baseline_column(conn: sa.Connection, model: Any, feature: str) -> dict[str, Any]:
    row = conn.execute(sa.select(baselines.c.constraints).where(baselines.c.model_id == model.id).order_by(baselines.c.id.desc()).limit(1)).first()
    for f in (row.constraints or {}).get("features", []) if row else []:
        if f.get("name") == feature:
            return dict(f)
    return {}


def _is_type(value: Any, inferred: str) -> bool:
    if inferred == "Integral":
        return isinstance(value, int) and not isinstance(value, bool)
    if inferred == "Fractional":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if inferred == "String":
        return isinstance(value, str)
    return True


def _test(conn: sa.Connection, model: Any, v: dict[str, Any]) -> tuple[Callable[[Any, Any], bool], str]:
    """Whether a captured row stands behind violation ``v``, and the column to show."""
    check, feature = v["constraint_check_type"], str(v["feature_name"])

    if check in ("completeness_check", "missing_column_check"):
        return (lambda r, x: x is MISSING or x is None), feature
    if check == "extra_column_check":
        return (lambda r, x: x is not MISSING), feature
    if check == "non_negative_check":
        return (lambda r, x: isinstance(x, (int, float)) and not isinstance(x, bool) and x < 0), feature
    if check == "data_type_check":
        inferred = _baseline_column(conn, model, feature).get("inferred_type", "")
        return (lambda r, x: x is not MISSING and x is not None and not _is_type(x, inferred)), feature
    if check == "categorical_values_check":
        domain = set(map(str, ((_baseline_column(conn, model, feature).get("string_constraints") or {}).get("domains")) or []))
        return (lambda r, x: x is not MISSING and x is not None and str(x) not in domain), feature
    if check == "model_quality_check":
        return (lambda r, x: r.ground_truth is not None and r.label is not None and r.label != r.ground_truth), ""
    if check == "bias_drift_check":
        facet, _, group = feature.partition("=")
        return (lambda r, x: str((r.facets or {}).get(facet, (r.inputs or {}).get(facet))) == group), facet
    if check == "feature_attribution_drift_check":
        return (lambda r, x: bool(r.explanation)), feature
    return (lambda r, x: True), feature


def behind(conn: sa.Connection, model: Any, run: Any, v: dict[str, Any], *, after: int = 0, limit: int = 50) -> dict[str, Any]:
    """A page of the rows behind violation ``v`` of ``run``: at most ``limit`` rows captured after sequence number ``after`` in the
    run's window, what they show and why, and where the next page starts (None: no more)."""
    from assay.service._monitoring import WHEN

    keep, column = _test(conn, model, v)
    start, end = aware(run["window_start"]), aware(run["window_end"])
    found: list[dict[str, Any]] = []
    cursor, more = after, False
    cols = [predictions.c.seq, predictions.c.prediction_id, predictions.c.inputs, predictions.c.facets, predictions.c.label, predictions.c.score,
            predictions.c.ground_truth, predictions.c.explanation, WHEN.label("at")]  # fmt: skip
    while len(found) <= limit:
        batch = conn.execute(sa.select(*cols).where(predictions.c.model_id == model.id, WHEN >= start, WHEN < end, predictions.c.seq > cursor)
                             .order_by(predictions.c.seq).limit(BATCH)).all()  # fmt: skip
        for r in batch:
            x = (r.inputs or {}).get(column, (r.facets or {}).get(column, MISSING)) if column else MISSING
            if keep(r, x):
                if len(found) == limit:
                    more = True
                    break
                found.append({"seq": r.seq, "id": r.prediction_id, "at": _when(r.at), "value": None if x is MISSING else x, "missing": x is MISSING,
                              "label": r.label, "score": r.score, "ground_truth": r.ground_truth, "facets": r.facets or {},
                              "attribution": (r.explanation or {}).get(column) if r.explanation else None})  # fmt: skip
            cursor = r.seq
        if more or len(batch) < BATCH:
            break
    why = WHY.get(v["constraint_check_type"], "rows of the window").format(f=v["feature_name"], t=_baseline_column(conn, model, str(v["feature_name"])).get("inferred_type", "?")
                                                                           if v["constraint_check_type"] == "data_type_check" else "")  # fmt: skip
    return {"rows": found, "column": column, "why": why, "next_after": found[-1]["seq"] if more and found else None}


def _when(t: Any) -> str:
    if isinstance(t, _dt.datetime):
        return aware(t).isoformat()[:19].replace("T", " ")
    return str(t)[:19]
