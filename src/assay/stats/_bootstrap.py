"""Percentile intervals from bootstrap replicates computed on the count tensor."""

from __future__ import annotations

import numpy as np

__all__ = ["percentile_interval"]


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
    alpha = (1 - level) / 2
    lo, hi = np.quantile(finite, [alpha, 1 - alpha])
    return float(lo), float(hi), undefined
