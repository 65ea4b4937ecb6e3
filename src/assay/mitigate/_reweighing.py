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

__all__ = ["reweighing_weights"]


def reweighing_weights(y: Any, sensitive_features: Any, *, sample_weight: Any = None) -> np.ndarray:
    """Per-row weights (incoming sample weight times the cell's factor) for any labels and groups.

    ``sensitive_features`` is one column (array or Series) or several (a
    DataFrame or 2-D array: their combinations are the groups, so
    intersectional groups are balanced too). Missing values form a group of
    their own.

    Examples
    --------
    >>> w = reweighing_weights([1, 1, 0, 0, 1, 0], ["a", "a", "a", "b", "b", "b"])
    >>> [round(v, 3) for v in w]
    [0.75, 0.75, 1.5, 0.75, 1.5, 0.75]
    """
    import pandas as pd

    labels = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y.to_numpy(dtype=object)).reset_index(drop=True)
    groups = pd.DataFrame(sensitive_features).reset_index(drop=True)
    if groups.ndim != 2 or groups.shape[1] == 0:
        raise DataError("sensitive_features must be one column or several")
    if len(groups) != len(labels):
        raise DataError(f"sensitive_features has {len(groups)} rows and y has {len(labels)}; they must describe the same rows")
    if labels.isna().any():
        raise DataError(f"y has {int(labels.isna().sum())} missing labels; reweighing needs a label on every row")
    w = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if len(w) != len(labels):
        raise DataError(f"sample_weight has {len(w)} values for {len(labels)} rows")
    if not np.isfinite(w).all() or (w < 0).any():
        raise DataError("sample_weight must be finite and >= 0 on every row")
    g_code = groups.astype(object).where(groups.notna(), "__missing__").apply(tuple, axis=1).factorize()[0] if groups.shape[1] > 1 else \
        pd.factorize(groups.iloc[:, 0].astype(object).where(groups.iloc[:, 0].notna(), "__missing__"))[0]  # fmt: skip
    y_code = pd.factorize(labels)[0]
    n_g, n_y = int(g_code.max()) + 1, int(y_code.max()) + 1
    cell = np.bincount(g_code * n_y + y_code, weights=w, minlength=n_g * n_y).reshape(n_g, n_y)  # the (group, label) count tensor
    total = cell.sum()
    if total <= 0:
        raise DataError("the sample weights sum to 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(cell > 0, cell.sum(axis=1, keepdims=True) * cell.sum(axis=0, keepdims=True) / (total * cell), 0.0)
    return np.asarray(w * factor[g_code, y_code])
