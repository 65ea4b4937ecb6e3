"""Ground truth, set and counted: every write of a prediction's ground truth also moves its cell in ``truth_counts`` (model, facet,
facet value, the model's label, the ground truth, where it came from: n), so model quality by group is read from a few counted
cells, never from the rows (a model with a million labelled predictions shows its quality at once).

The overall cell has facet ``""``; a prediction without a label is not counted (quality needs the model's decision). A ground truth
replaced (a later upload, a consolidated review) leaves its old cell and joins the new one, in the same transaction as the write.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from assay.service._db import predictions, truth_counts

__all__ = ["cells_of", "set_truth"]

Key = tuple[str, str, str, str, str]  # facet, value, label, truth, source


def _keys(facets: list[str], label: Any, truth: Any, source: Any, row_facets: dict[str, Any] | None) -> list[Key]:
    if label is None or truth is None:
        return []
    got = row_facets or {}
    return [("", "", str(label), str(truth), str(source)), *((f, str(got.get(f)), str(label), str(truth), str(source)) for f in facets)]


def set_truth(conn: sa.Connection, model: Any, pairs: Iterable[tuple[str, str]], source: str, now: _dt.datetime) -> None:
    """Set the ground truth of predictions ``(id, truth)`` of ``model`` (from ``source``: api or review), and move their counted cells."""
    truths = dict(pairs)
    if not truths:
        return
    facets = list(model.spec.get("facets", []))
    before = conn.execute(sa.select(predictions.c.prediction_id, predictions.c.label, predictions.c.ground_truth, predictions.c.ground_truth_source,
                                    predictions.c.facets).where(predictions.c.model_id == model.id, predictions.c.prediction_id.in_(list(truths)))).all()  # fmt: skip
    delta: Counter[Key] = Counter()
    for r in before:
        for k in _keys(facets, r.label, r.ground_truth, r.ground_truth_source, r.facets):
            delta[k] -= 1
        for k in _keys(facets, r.label, truths[r.prediction_id], source, r.facets):
            delta[k] += 1
    for pid, truth in truths.items():
        conn.execute(predictions.update().where(predictions.c.model_id == model.id, predictions.c.prediction_id == pid)
                     .values(ground_truth=truth, ground_truth_at=now, ground_truth_source=source))  # fmt: skip
    for key, d in delta.items():
        if d:
            _bump(conn, model.id, key, d)


def _bump(conn: sa.Connection, model_id: int, key: Key, d: int) -> None:
    facet, value, label, truth, source = key
    where = (truth_counts.c.model_id == model_id, truth_counts.c.facet == facet, truth_counts.c.value == value, truth_counts.c.label == label,
             truth_counts.c.truth == truth, truth_counts.c.source == source)  # fmt: skip
    if conn.execute(truth_counts.update().where(*where).values(n=truth_counts.c.n + d)).rowcount == 0:
        conn.execute(truth_counts.insert().values(model_id=model_id, facet=facet, value=value, label=label, truth=truth, source=source, n=d))


def cells_of(conn: sa.Connection, model: Any) -> list[Any]:
    """The counted cells of ``model`` (facet, value, label, truth, source, n), those holding rows only."""
    return list(conn.execute(sa.select(truth_counts.c.facet, truth_counts.c.value, truth_counts.c.label, truth_counts.c.truth, truth_counts.c.source,
                                       truth_counts.c.n).where(truth_counts.c.model_id == model.id, truth_counts.c.n > 0)))  # fmt: skip


def backfill(conn: sa.Connection) -> None:
    """Count the ground truth already stored (a database from before the counts), model by model, in batches."""
    from assay.service._db import models

    for m in list(conn.execute(sa.select(models.c.id, models.c.spec))):
        facets = list((m.spec or {}).get("facets", []))
        delta: Counter[Key] = Counter()
        after = 0
        while True:
            rows = conn.execute(sa.select(predictions.c.seq, predictions.c.label, predictions.c.ground_truth, predictions.c.ground_truth_source, predictions.c.facets)
                                .where(predictions.c.model_id == m.id, predictions.c.seq > after, predictions.c.ground_truth.is_not(None))
                                .order_by(predictions.c.seq).limit(10_000)).all()  # fmt: skip
            if not rows:
                break
            for r in rows:
                delta.update(_keys(facets, r.label, r.ground_truth, r.ground_truth_source, r.facets))
            after = rows[-1].seq
        for key, n in delta.items():
            _bump(conn, m.id, key, n)
