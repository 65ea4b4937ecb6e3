"""Model quality by facet from captured predictions and their ground truth (API and the dashboard page).

For every model: captured predictions, how many have ground truth (from the
owner's uploads or consolidated reviews), review tasks by status, and the
model's quality on the rows with ground truth, overall and for every value of
every facet, each with its interval and size (the monitoring engine's
``model_quality``).
"""

from typing import Any

import numpy as np
import sqlalchemy as sa

from assay.service._db import models, predictions, review_tasks

__all__ = ["model_status"]


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


def all_models(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(models).order_by(models.c.id)))
