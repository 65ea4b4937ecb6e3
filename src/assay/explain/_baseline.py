"""Background summaries: k-prototypes centres that respect categorical columns, weighted by cluster size.

Clarify summarised the baseline with k-means on all columns as numbers, so a
categorical column's centre was an average of codes that no row can take.
k-prototypes (Huang, 1998) clusters numeric columns (standardised) by squared
distance and categorical columns by mismatch count, weighted by ``gamma``
(half the numeric columns' standard deviation, 0.5 after standardising, the
middle of Huang's suggested range); a centre's categorical value is the
cluster's most frequent one. Each centre is weighted by its cluster's size,
so a summary of k rows stands for the whole data set in the Shapley game.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["kprototypes"]


def kprototypes(
    frame: Any,
    k: int,
    *,
    rng: np.random.Generator,
    sample_rows: int = 20_000,
    iterations: int = 30,
    restarts: int = 4,
    gamma: float = 0.5,
) -> tuple[Any, np.ndarray]:
    """``k`` centres of ``frame`` (a pandas DataFrame) and their weights (cluster sizes, summing to 1)."""
    import pandas as pd

    if k < 1:
        raise ValueError(f"num_clusters must be at least 1, got {k}")
    if len(frame) > sample_rows:
        frame = frame.iloc[np.sort(rng.choice(len(frame), size=sample_rows, replace=False))]
    frame = frame.reset_index(drop=True)
    k = min(k, len(frame))
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in numeric]
    num = frame[numeric].to_numpy(dtype=np.float64, na_value=np.nan) if numeric else np.empty((len(frame), 0))
    mean = np.nanmean(num, axis=0) if numeric else np.empty(0)
    std = np.nanstd(num, axis=0) if numeric else np.empty(0)
    std = np.where(std > 0, std, 1.0)
    z = np.where(np.isnan(num), 0.0, (num - mean) / std)  # a missing value sits at the mean
    cats, levels = [], []
    for c in categorical:
        codes, uniques = pd.factorize(frame[c], use_na_sentinel=True)
        codes = np.where(codes < 0, len(uniques), codes)  # missing is a level of its own
        cats.append(codes)
        levels.append(list(uniques) + [None])
    cat = np.column_stack(cats) if cats else np.empty((len(frame), 0), dtype=np.int64)

    offsets = np.r_[0, np.cumsum([len(lv) for lv in levels])].astype(np.int64)
    onehot = _onehot(cat, offsets)
    zz = (z * z).sum(axis=1)

    def distance(cz: np.ndarray, cc: np.ndarray) -> np.ndarray:
        """Squared distance on standardised numerics plus gamma times the categorical mismatches (as matrix products)."""
        d = zz[:, None] - 2.0 * (z @ cz.T) + (cz * cz).sum(axis=1)[None, :]
        if cat.shape[1]:
            d += gamma * (cat.shape[1] - onehot @ _onehot(cc, offsets).T)
        return np.maximum(d, 0.0)

    best: tuple[float, np.ndarray] | None = None
    for _ in range(restarts):  # Lloyd's iterations find a local optimum: keep the best of a few seedings
        assign, cost = _lloyd(z, cat, onehot, offsets, k, distance, rng, iterations)
        if best is None or cost < best[0]:
            best = (cost, assign)
    assert best is not None
    assign = best[1]
    sizes = np.bincount(assign, minlength=k).astype(np.float64)
    keep = sizes > 0
    centres: dict[str, Any] = {}
    clusters = np.flatnonzero(keep)
    for i, c in enumerate(numeric):  # the members' own mean (missing values left out), not a round trip through z-scores
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a cluster whose members all miss the column: NaN
            centres[c] = np.array([np.nanmean(num[assign == j, i]) for j in clusters])
    for i, c in enumerate(categorical):
        values = [levels[i][int(np.bincount(cat[assign == j, i]).argmax())] for j in clusters]  # the members' most frequent value
        dtype = frame[c].dtype
        centres[c] = pd.Categorical(values, categories=dtype.categories) if isinstance(dtype, pd.CategoricalDtype) else pd.array(values, dtype=dtype)
    out = pd.DataFrame(centres, columns=list(frame.columns))
    return out, sizes[keep] / sizes[keep].sum()


def _lloyd(z: np.ndarray, cat: np.ndarray, onehot: np.ndarray, offsets: np.ndarray, k: int, distance: Any, rng: np.random.Generator,
           iterations: int) -> tuple[np.ndarray, float]:  # fmt: skip
    """One k-prototypes run from a k-means++ seeding on the mixed distance: assignments and total cost."""
    from scipy import sparse

    n = len(z)
    first = int(rng.integers(n))
    cz, cc = z[[first]], cat[[first]]
    nearest = distance(cz, cc)[:, 0]
    for _ in range(1, k):
        total = nearest.sum()
        pick = int(rng.choice(n, p=nearest / total)) if total > 0 else int(rng.integers(n))
        cz, cc = np.vstack([cz, z[[pick]]]), np.vstack([cc, cat[[pick]]])
        nearest = np.minimum(nearest, distance(z[[pick]], cat[[pick]])[:, 0])
    assign = np.full(n, -1)
    for _ in range(iterations):
        d = distance(cz, cc)
        new = d.argmin(axis=1)
        if (new == assign).all():
            break
        assign = new
        member = sparse.csr_matrix((np.ones(n), (assign, np.arange(n))), shape=(k, n))
        counts = np.asarray(member.sum(axis=1)).ravel()
        cz = np.asarray(member @ z) / np.maximum(counts, 1)[:, None]
        level_counts = np.asarray(member @ onehot)
        cc = np.column_stack([level_counts[:, offsets[i] : offsets[i + 1]].argmax(axis=1) for i in range(cat.shape[1])]) if cat.shape[1] else cc
        for j in np.flatnonzero(counts == 0):  # re-seed an empty cluster with the worst-served row
            far = int(d.min(axis=1).argmax())
            cz[j], cc[j] = z[far], cat[far]
    d = distance(cz, cc)
    assign = d.argmin(axis=1)
    return assign, float(d[np.arange(n), assign].sum())


def _onehot(codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    out = np.zeros((len(codes), int(offsets[-1])))
    for i in range(codes.shape[1]):
        out[np.arange(len(codes)), offsets[i] + codes[:, i]] = 1.0
    return out
