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

from markupsafe import Markup, escape

from assay.service._db import baselines, contests, models, monitoring_runs, predictions, review_tasks

__all__ = ["all_models", "band_svg", "bars_svg", "model_status", "monitoring_status"]


def model_status(engine: sa.Engine, model: Any, *, replicates: int = 500) -> dict[str, Any]:
    from assay.monitor._quality import model_quality

    with engine.connect() as conn:
        captured = conn.execute(sa.select(sa.func.count()).select_from(predictions).where(predictions.c.model_id == model.id)).scalar_one()
        tasks: dict[Any, Any] = dict(conn.execute(sa.select(review_tasks.c.status, sa.func.count()).where(review_tasks.c.model_id == model.id)
                                  .group_by(review_tasks.c.status)).all())  # fmt: skip
        rows = conn.execute(sa.select(predictions.c.label, predictions.c.ground_truth, predictions.c.facets, predictions.c.ground_truth_source)
                            .where(predictions.c.model_id == model.id, predictions.c.ground_truth.is_not(None), predictions.c.label.is_not(None))).all()  # fmt: skip
    out: dict[str, Any] = {"model": f"{model.name}/{model.version}", "captured": int(captured), "with_ground_truth": len(rows),
                           "ground_truth_from_review": sum(r.ground_truth_source == "review" for r in rows),
                           "review_tasks": {str(k): int(v) for k, v in tasks.items()}, "quality": None, "by_facet": {}}  # fmt: skip
    if not rows:
        return out
    positive = (model.spec.get("label_values") or [None])[0]
    if positive is not None:
        y = np.array([r.ground_truth == positive for r in rows])
        p = np.array([r.label == positive for r in rows])
    else:  # no positive class declared: accuracy of exact matches
        y = np.ones(len(rows), dtype=bool)
        p = np.array([r.label == r.ground_truth for r in rows])

    def figures(mask: np.ndarray) -> dict[str, Any]:
        q = model_quality(y[mask], p[mask], replicates=replicates)["metrics"]
        return {"n": int(mask.sum()), **{k: q[k] for k in ("accuracy", "recall", "false_positive_rate", "precision")}}

    out["quality"] = figures(np.ones(len(rows), dtype=bool))
    for facet in model.spec.get("facets", []):
        values = np.array([str((r.facets or {}).get(facet)) for r in rows])
        out["by_facet"][facet] = {v: figures(values == v) for v in sorted(set(values))}
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
            "charts": {"violations": Markup(bars_svg(ser["violations"], ser["window_start"], "violations per window")),
                       "accuracy": Markup(band_svg(ser["quality"].get("accuracy") or [], ser["window_start"], "accuracy per window, 95% interval")),
                       "drift": Markup(band_svg([None if d is None else {"value": d} for d in ser["max_drift"]], ser["window_start"],
                                                "largest drift distance per window"))},
            "contests": {str(k): int(v) for k, v in contested.items()}}  # fmt: skip


def by_type(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Violations grouped by check: how many, on which features, and the first one's description."""
    groups: dict[str, dict[str, Any]] = {}
    for v in violations:
        g = groups.setdefault(v["constraint_check_type"], {"type": v["constraint_check_type"], "count": 0, "features": [], "example": v["description"]})
        g["count"] += 1
        if v["feature_name"] not in g["features"]:
            g["features"].append(v["feature_name"])
    return list(groups.values())


W, H, PAD = 640, 150, 34


def _frame(title: str, body: str, starts: list[str]) -> str:
    first, last = (escape(starts[0][:16].replace("T", " ")), escape(starts[-1][:16].replace("T", " "))) if starts else ("", "")
    return (f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {W} {H}" width="100%" style="max-width:{W}px" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(title)}</title>"
            f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 8}" y2="{H - PAD}" stroke="#999"/>{body}'
            f'<text x="{PAD}" y="{H - 12}" font-size="11" fill="#444">{first}</text>'
            f'<text x="{W - 8}" y="{H - 12}" font-size="11" fill="#444" text-anchor="end">{last}</text></svg>')  # fmt: skip


def bars_svg(values: list[int], starts: list[str], title: str) -> str:
    """One bar per window: red with violations, a grey tick without."""
    if not values:
        return ""
    top = max(max(values), 1)
    step = (W - PAD - 8) / len(values)
    bars = []
    for i, v in enumerate(values):
        h = (H - 2 * PAD) * v / top
        x = PAD + i * step + step * 0.15
        colour = "#D55E00" if v else "#bbb"
        bars.append(f'<rect x="{x:.1f}" y="{H - PAD - max(h, 1.5):.1f}" width="{step * 0.7:.1f}" height="{max(h, 1.5):.1f}" fill="{colour}">'
                    f"<title>{escape(starts[i][:16].replace('T', ' '))}: {v} violation(s)</title></rect>")  # fmt: skip
    axis = f'<text x="{PAD - 4}" y="{PAD + 4}" font-size="11" text-anchor="end" fill="#444">{top}</text>'
    return _frame(title, axis + "".join(bars), starts)


def band_svg(points: list[dict[str, Any] | None], starts: list[str], title: str) -> str:
    """A metric per window as a line, its interval as a band (windows without the metric are gaps)."""
    idx = [i for i, p in enumerate(points) if p and p.get("value") is not None]
    if not idx:
        return ""
    got: dict[int, dict[str, Any]] = {i: points[i] for i in idx}  # type: ignore[misc]
    lows = [got[i]["ci"][0] if got[i].get("ci") and got[i]["ci"][0] is not None else got[i]["value"] for i in idx]
    highs = [got[i]["ci"][1] if got[i].get("ci") and got[i]["ci"][1] is not None else got[i]["value"] for i in idx]
    lo, hi = min(lows), max(highs)
    lo, hi = (lo - 0.05, hi + 0.05) if hi - lo < 1e-9 else (lo, hi)
    n = len(points)

    def x(i: int) -> float:
        return PAD + (W - PAD - 8) * (i + 0.5) / n

    def y(v: float) -> float:
        return H - PAD - (H - 2 * PAD) * (v - lo) / (hi - lo)

    band = " ".join(f"{x(i):.1f},{y(h):.1f}" for i, h in zip(idx, highs)) + " " + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(zip(idx, lows))))
    line = " ".join(f"{x(i):.1f},{y(got[i]['value']):.1f}" for i in idx)
    dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(got[i]["value"]):.1f}" r="2.5" fill="#0072B2"><title>{escape(starts[i][:16].replace("T", " "))}: '
                   f'{got[i]["value"]:.3f} [{lows[k]:.3f}, {highs[k]:.3f}]</title></circle>' for k, i in enumerate(idx))
    axis = (f'<text x="{PAD - 4}" y="{y(hi) + 4:.1f}" font-size="11" text-anchor="end" fill="#444">{hi:.2f}</text>'
            f'<text x="{PAD - 4}" y="{y(lo) + 4:.1f}" font-size="11" text-anchor="end" fill="#444">{lo:.2f}</text>')  # fmt: skip
    return _frame(title, axis + f'<polygon points="{band}" fill="#0072B2" fill-opacity="0.18"/>'
                  f'<polyline points="{line}" fill="none" stroke="#0072B2" stroke-width="1.8"/>' + dots, starts)  # fmt: skip


def all_models(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(models).order_by(models.c.id)))
