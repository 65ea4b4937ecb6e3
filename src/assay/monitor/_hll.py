"""HyperLogLog distinct-count registers, vectorised with NumPy (Flajolet et al. 2007, linear counting for small counts).

The registers of two sketches merge by element-wise maximum, exactly; the
estimate's relative standard error is 1.04 / sqrt(2^p) (1.6% at p = 12).
Values are hashed with pandas' stable 64-bit hash, so the same value hashes the
same in every process and every partition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

P = 12  # 4096 registers


def registers(values: Any, p: int = P) -> np.ndarray:
    """The HLL registers of ``values`` (missing values are not counted)."""
    import pandas as pd

    s = pd.Series(values)
    s = s[s.notna()]
    out = np.zeros(1 << p, dtype=np.uint8)
    if s.empty:
        return out
    h = pd.util.hash_pandas_object(s, index=False).to_numpy(dtype=np.uint64)
    idx = (h >> np.uint64(64 - p)).astype(np.int64)
    rest = (h << np.uint64(p)) | np.uint64(1 << (p - 1))  # the remaining 64 - p bits, then a sentinel bit: the rank is bounded
    rank = _leading_zeros(rest) + 1
    np.maximum.at(out, idx, rank.astype(np.uint8))
    return out


def _leading_zeros(x: np.ndarray) -> np.ndarray:
    """Leading zero bits of unsigned 64-bit integers (x > 0)."""
    n = np.zeros(x.shape, dtype=np.int64)
    y = x.copy()
    for shift in (32, 16, 8, 4, 2, 1):
        empty = (y >> np.uint64(64 - shift)) == 0
        n += np.where(empty, shift, 0)
        y = np.where(empty, y << np.uint64(shift), y)
    return n


def estimate(regs: np.ndarray) -> float:
    """Distinct count estimated from the registers."""
    m = len(regs)
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = alpha * m * m / float(np.sum(np.power(2.0, -regs.astype(np.float64))))
    zeros = int((regs == 0).sum())
    if raw <= 2.5 * m and zeros:
        return float(m * np.log(m / zeros))
    return float(raw)
