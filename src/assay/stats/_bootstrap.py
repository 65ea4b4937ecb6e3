"""Percentile intervals from bootstrap replicates computed on the count tensor."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["percentile_interval"]


def percentile_bounds(replicates: np.ndarray, level: float) -> tuple[Any, Any]:
    """The percentile interval's ends over the first axis (replicates): each column's (1 - level) / 2 and (1 + level) / 2
    quantiles (floats for a vector of replicates, arrays for a matrix)."""
    alpha = (1 - level) / 2
    return np.quantile(replicates, alpha, axis=0), np.quantile(replicates, 1 - alpha, axis=0)


def percentile_interval(replicates: np.ndarray, level: float) -> tuple[float | None, float | None, float]:
    """Percentile interval of the finite replicates and the share that was undefined.

    Replicates where the metric is undefined (an empty group in the resample)
    are left out; the caller reports their share.
    """
    r = np.asarray(replicates, dtype=np.float64).reshape(-1)
    finite = r[np.isfinite(r)]
    undefined = 1.0 - finite.size / r.size if r.size else 1.0
    if finite.size < max(10, 0.5 * r.size):
        return None, None, undefined
    lo, hi = percentile_bounds(finite, level)
    return float(lo), float(hi), undefined
