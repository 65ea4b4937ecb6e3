"""Multiple-testing control across a report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["benjamini_hochberg", "benjamini_yekutieli"]


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q-values); ``None`` stays ``None``.

    A disparity with q <= alpha is called significant, which keeps the
    expected share of false discoveries among all significant ones at most
    alpha.

    Examples
    --------
    >>> [round(q, 3) for q in benjamini_hochberg([0.01, 0.04, 0.03, 0.2])]
    [0.04, 0.053, 0.053, 0.2]
    """
    idx = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    if not idx:
        return out
    p = np.array([p_values[i] for i in idx], dtype=np.float64)
    m = len(p)
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.clip(q, 0.0, 1.0)
    result = np.empty(m)
    result[order] = q
    for j, i in enumerate(idx):
        out[i] = float(result[j])
    return out


def benjamini_yekutieli(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Yekutieli adjusted p-values: Benjamini-Hochberg's times sum(1/i, i = 1..m), which keeps the false discovery
    rate at most alpha under any dependence between the tests (overlapping and complementary subgroups are dependent in ways
    Benjamini-Hochberg's condition, positive dependence, does not cover).

    Examples
    --------
    >>> [round(q, 3) for q in benjamini_yekutieli([0.01, 0.04, 0.03, 0.2])]
    [0.083, 0.111, 0.111, 0.417]
    """
    bh = benjamini_hochberg(p_values)
    m = sum(p is not None for p in p_values)
    factor = float(np.sum(1.0 / np.arange(1, m + 1))) if m else 1.0
    return [None if q is None else min(1.0, q * factor) for q in bh]
