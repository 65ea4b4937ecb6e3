"""Model quality by facet from captured predictions and their ground truth, and monitoring runs with their charts (API and dashboard).

For every model: captured predictions, how many have ground truth (from the
owner's uploads or consolidated reviews), review tasks by status, and the
model's quality on the rows with ground truth, overall and for every value of
every facet, each with its interval and size (the monitoring engine's
``model_quality``).
"""

from typing import Any

import numpy as np
import sqlalchemy as sa
from markupsafe import Markup

from assay.report._svg import band_line, count_bars
from assay.service._db import baselines, contests, models, monitoring_runs, predictions, review_tasks

__all__ = ["all_models", "charts", "model_status", "monitoring_status"]


def model_status(engine: sa.Engine, model: Any, *, replicates: int = 500) -> dict[str, Any]:
    """Captured predictions, review tasks by status, and quality overall and for every value of every facet with intervals and sizes,
    from the counted ground truth (``truth_counts``): a few cells, never the rows."""
    from assay.monitor._quality import confusion_quality
    from assay.service._truth import cells_of

    with engine.connect() as conn:
        captured = conn.execute(sa.select(sa.func.count()).select_from(predictions).where(predictions.c.model_id == model.id)).scalar_one()
        tasks: dict[Any, Any] = dict(conn.execute(sa.select(review_tasks.c.status, sa.func.count()).where(review_tasks.c.model_id == model.id)
                                  .group_by(review_tasks.c.status)).all())  # fmt: skip
        cells = cells_of(conn, model)
    overall = [c for c in cells if c.facet == ""]
    out: dict[str, Any] = {"model": f"{model.name}/{model.version}", "captured": int(captured), "with_ground_truth": sum(int(c.n) for c in overall),
                           "ground_truth_from_review": sum(int(c.n) for c in overall if c.source == "review"),
                           "review_tasks": {str(k): int(v) for k, v in tasks.items()}, "quality": None, "by_facet": {}}  # fmt: skip
    if not overall:
        return out
    positive = (model.spec.get("label_values") or [None])[0]

    def figures(group: list[Any]) -> dict[str, Any]:
        cm = np.zeros(4, dtype=np.int64)  # tp, fp, fn, tn
        for c in group:
            if positive is not None:
                y, p = c.truth == str(positive), c.label == str(positive)
            else:  # no positive class declared: accuracy of exact matches
                y, p = True, c.label == c.truth
            cm[{(True, True): 0, (False, True): 1, (True, False): 2, (False, False): 3}[(y, p)]] += int(c.n)
        q = confusion_quality(cm, replicates=replicates)
        return {"n": int(cm.sum()), **{k: q[k] for k in ("accuracy", "recall", "false_positive_rate", "precision")}}

    out["quality"] = figures(overall)
    for facet in model.spec.get("facets", []):
        values = sorted({c.value for c in cells if c.facet == facet})
        out["by_facet"][facet] = {v: figures([c for c in cells if c.facet == facet and c.value == v]) for v in values}
    return out


def monitoring_status(engine: sa.Engine, model: Any, *, limit: int = 30) -> dict[str, Any] | None:
    """The model's latest monitoring runs (newest first), their series and charts, and its contests by status (None: not monitored)."""
    from assay.service._monitoring import run_summary, series

    with engine.connect() as conn:
        rows = conn.execute(sa.select(monitoring_runs).where(monitoring_runs.c.model_id == model.id)
                            .order_by(monitoring_runs.c.window_end.desc(), monitoring_runs.c.id.desc()).limit(limit)).mappings().all()  # fmt: skip
        has_base = conn.execute(sa.select(baselines.c.id).where(baselines.c.model_id == model.id).limit(1)).first() is not None
        contested: dict[Any, Any] = dict(conn.execute(sa.select(contests.c.status, sa.func.count()).where(contests.c.model_id == model.id)
                                                      .group_by(contests.c.status)).all())  # fmt: skip
    settings = model.spec.get("monitoring")
    if not rows and not settings and not contested:
        return None
    runs = [run_summary(r, full=True) for r in rows]
    ser = series(list(reversed(runs)))
    shown = [{**{k: v for k, v in r.items() if k != "result"}, "by_type": by_type(r["violations"])} for r in runs]
    return {"settings": settings, "has_baseline": has_base, "runs": shown, "series": ser,
            "charts": {"violations": Markup(count_bars(ser["violations"], ser["starts"], "violations per window")),
                       "accuracy": Markup(band_line(ser["quality"].get("accuracy") or [], ser["starts"], "accuracy per window, 95% interval")),
                       "drift": Markup(band_line([None if d is None else {"value": d} for d in largest_drift(ser)], ser["starts"],
                                                 "largest drift distance per window"))},
            "contests": {str(k): int(v) for k, v in contested.items()}}  # fmt: skip


def charts(mon: dict[str, Any] | None, most: int = 12) -> list[dict[str, Any]]:
    """The monitoring charts of the latest windows, each with its figures for a table (the charts' text equivalent): violations,
    the largest drift, every quality metric and every group's bias metrics, with their 95% intervals as bands."""
    from assay.report._svg import band_line

    if not mon or not mon["runs"]:
        return []
    ser = mon["series"]
    starts = [str(s) for s in ser["starts"]]
    out = [{"title": "Violations", "caption": "Violations per checked window (oldest on the left).", "svg": mon["charts"]["violations"],
            "points": list(zip(starts, [{"value": v} for v in ser["violations"]]))}]  # fmt: skip
    drift = [None if d is None else {"value": round(d, 4)} for d in largest_drift(ser)]
    if any(drift):
        out.append({"title": "Largest drift distance", "caption": "The largest drift distance of any column per window (Kolmogorov-Smirnov for numbers, "
                    "L-infinity for categories).", "svg": mon["charts"]["drift"], "points": list(zip(starts, drift))})  # fmt: skip
    series = [
        (f"Model quality: {k.replace('_', ' ')}", v)
        for k, v in sorted(ser["quality"].items())
        if k in ("accuracy", "recall", "false_positive_rate", "precision")
    ]
    series += [(f"Bias: {k}", v) for k, v in sorted(ser["bias"].items())]
    for title, points in series[:most]:
        svg = band_line(points, starts, title)
        if svg:
            out.append({"title": title, "caption": f"{title} per window on the rows with ground truth, with its 95% interval as a band.",
                        "svg": Markup(svg), "points": list(zip(starts, points))})  # fmt: skip
    return out


def largest_drift(ser: dict[str, Any]) -> list[float | None]:
    """Per window, the largest drift distance of any column (None: no column tested)."""
    out: list[float | None] = []
    for i in range(len(ser["starts"])):
        d = [pts[i]["distance"] for pts in ser["drift"].values() if pts[i] is not None and pts[i].get("distance") is not None]
        out.append(max(d) if d else None)
    return out


def by_type(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Violations grouped by check: how many, on which features, and the first one's description."""
    groups: dict[str, dict[str, Any]] = {}
    for v in violations:
        g = groups.setdefault(v["constraint_check_type"], {"type": v["constraint_check_type"], "count": 0, "features": [], "example": v["description"]})
        g["count"] += 1
        if v["feature_name"] not in g["features"]:
            g["features"].append(v["feature_name"])
    return list(groups.values())


def all_models(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(models).order_by(models.c.id)))
