"""Reweighing (Kamiran and Calders, 2012): weights that make the label independent of the groups.

Each (group, label) cell gets the weight W(g) W(y) / (W W(g, y)), the ratio
of the cell's expected total under independence to its observed total (W are
sums of the incoming sample weights). Under the new weights every group has
the same label distribution, so DPL and every other pre-training difference
of label proportions is 0 exactly, and each group and each class keeps its
total weight. The weights come from the joint counts of group and label (the
count tensor of those two keys), one GROUP BY.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay._errors import DataError
from assay.mitigate._groups import group_codes

__all__ = ["resample_indices", "reweighing_weights"]


def reweighing_weights(y: Any, sensitive_features: Any, *, sample_weight: Any = None) -> np.ndarray:
    """Per-row weights (incoming sample weight times the cell's factor) for any labels and groups.

    ``sensitive_features`` is one column (array or Series) or several (a
    DataFrame or 2-D array: their combinations are the groups, so
    intersectional groups are balanced too). Missing values form a group of
    their own.

    Examples
    --------
    >>> w = reweighing_weights([1, 1, 0, 0, 1, 0], ["a", "a", "a", "b", "b", "b"])
    >>> [round(float(v), 3) for v in w]
    [0.75, 0.75, 1.5, 0.75, 1.5, 0.75]
    """
    import pandas as pd

    labels = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y.to_numpy(dtype=object)).reset_index(drop=True)
    if labels.isna().any():
        raise DataError(f"y has {int(labels.isna().sum())} missing labels; reweighing needs a label on every row")
    g_code, _ = group_codes(sensitive_features, len(labels))
    w = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if len(w) != len(labels):
        raise DataError(f"sample_weight has {len(w)} values for {len(labels)} rows")
    if not np.isfinite(w).all() or (w < 0).any():
        raise DataError("sample_weight must be finite and >= 0 on every row")
    y_code = pd.factorize(labels)[0]
    n_g, n_y = int(g_code.max()) + 1, int(y_code.max()) + 1
    cell = np.bincount(g_code * n_y + y_code, weights=w, minlength=n_g * n_y).reshape(n_g, n_y)  # the (group, label) count tensor
    total = cell.sum()
    if total <= 0:
        raise DataError("the sample weights are all zero; at least one row needs a positive weight")
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(cell > 0, cell.sum(axis=1, keepdims=True) * cell.sum(axis=0, keepdims=True) / (total * cell), 0.0)
    return np.asarray(w * factor[g_code, y_code])


def resample_indices(y: Any, sensitive_features: Any, *, sample_weight: Any = None, random_state: int | None = 0) -> np.ndarray:
    """Row indices of a resample in which the label is independent of the groups (uniform sampling, Kamiran and Calders).

    Each (group, label) cell is drawn, with replacement when it must grow,
    to its expected size under independence, W(g) W(y) / W, rounded
    (largest remainders, so the sample keeps the data's size). With
    ``sample_weight``, rows are drawn in proportion to their weights.
    For estimators that take no sample weights.
    """
    w = reweighing_weights(y, sensitive_features, sample_weight=sample_weight)
    import pandas as pd

    g_code, _ = group_codes(sensitive_features, len(w))
    y_code = pd.factorize(pd.Series(np.asarray(y, dtype=object)))[0]
    cell = g_code * (int(y_code.max()) + 1) + y_code
    base = np.ones(len(w)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    target = np.bincount(cell, weights=w)
    have = np.bincount(cell, weights=base)
    want = target / target.sum() * len(w)  # expected size of each cell under independence
    size = np.floor(want).astype(np.int64)
    size[np.argsort(-(want - size))[: len(w) - size.sum()]] += 1  # largest remainders
    rng = np.random.default_rng(random_state)
    out = []
    for c in np.flatnonzero(size):
        rows = np.flatnonzero(cell == c)
        p = base[rows] / have[c] if have[c] > 0 else None
        exact = size[c] <= len(rows) and sample_weight is None
        out.append(rng.choice(rows, size=size[c], replace=not exact, p=p))
    return np.sort(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)
