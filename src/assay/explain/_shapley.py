"""Interventional Shapley values for any model that maps a table to scores.

The game for an explained row x and a background set {z_b} with weights
w_b is v(S) = sum_b w_b f(x_S, z_b,~S): features in S come from x, the rest
from a background row. Two estimators, both batching every model call of a
chunk of rows into one large prediction:

* :func:`exact_shapley` enumerates all 2^M coalitions (M features) against
  the whole background: exact, for few features.
* :func:`sampled_shapley` draws chains (a random feature order and one
  background row): walking from z to x in that order, each feature's step
  f(h_k) - f(h_{k-1}) is an unbiased sample of its Shapley value. Chains are
  antithetic (each order is also walked in reverse with the same background
  row) and background rows are stratified (each used equally often, in
  proportion to its weight), which removes most of the variance that comes
  from the background. Every attribution gets a standard error from the
  spread of the antithetic pair means, and the attributions are made to add
  up exactly to f(x) - E f(z) by spreading the sampling residual in
  proportion to each feature's variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RowSeeds", "ShapleyEstimate", "exact_shapley", "row_keys", "sampled_shapley"]

Predict = Callable[[Any], np.ndarray]
Progress = Callable[[int, int], None]


@dataclass
class ShapleyEstimate:
    values: np.ndarray  # (n, M) attributions
    se: np.ndarray  # (n, M) standard errors (0 when exact)
    expected_value: float  # weighted mean of f over the background
    prediction: np.ndarray  # (n,) f(x)
    model_rows: int  # model evaluations used


@dataclass
class RowSeeds:
    """Each explained row's feature orders drawn from a generator of its own, seeded by (``seed``, the row's key): a row's
    values then do not depend on which rows are explained with it, their order, or how they are split into blocks, processes
    or Spark partitions."""

    seed: int
    keys: np.ndarray  # (n,) uint64, one per explained row (see row_keys)

    def orders(self, idx: np.ndarray, pairs: int, m: int) -> np.ndarray:
        """(len(idx), pairs, M) random feature orders of rows ``idx``."""
        tile = np.tile(np.arange(m), (pairs, 1))
        out = np.empty((len(idx), pairs, m), dtype=np.int64)
        for r, key in enumerate(self.keys[idx]):
            out[r] = np.random.default_rng([self.seed, int(key)]).permuted(tile, axis=1)
        return out


def row_keys(frame: Any) -> np.ndarray:
    """A 64-bit key of each row's values, the same however the table was read: numbers (and booleans) by their value as a
    float, anything else by its text, missing as missing (pandas' stable hash, not Python's salted one)."""
    import pandas as pd

    keys = np.zeros(len(frame), dtype=np.uint64)
    for name in frame.columns:
        col = frame[name]
        missing = np.asarray(pd.isna(col))
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            values: Any = pd.to_numeric(col).to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = np.where(missing, "\x00missing", col.astype(object).astype(str).to_numpy(dtype=object)).astype(object)
        h = pd.util.hash_array(values, categorize=False)
        with np.errstate(over="ignore"):
            keys = keys * np.uint64(1_000_003) ^ h
    return keys


def _hybrid(frame_x: Any, frame_z: Any, rows: np.ndarray, zs: np.ndarray, mask: np.ndarray) -> Any:
    """A table whose row r takes feature j from ``frame_x[rows[r]]`` where ``mask[r, j]``, else from ``frame_z[zs[r]]``."""
    import pandas as pd

    cols = {}
    for j, name in enumerate(frame_x.columns):
        xv = frame_x[name].to_numpy()[rows]
        zv = frame_z[name].to_numpy()[zs]
        values = np.where(mask[:, j], xv, zv)
        dtype = frame_x[name].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cols[name] = pd.Categorical(values, categories=dtype.categories)
        else:
            cols[name] = pd.array(values, dtype=dtype) if values.dtype == object else values
    return pd.DataFrame(cols, columns=frame_x.columns)


def _predict(predict: Predict, frame: Any, n: int) -> np.ndarray:
    out = np.asarray(predict(frame), dtype=np.float64)
    if out.ndim != 1 or out.shape[0] != n:
        raise ValueError(f"the model returned an array of shape {out.shape} for {n} rows; expected one score per row")
    return out


def _differs(frame_x: Any, frame_z: Any, rows: np.ndarray) -> np.ndarray:
    """(len(rows), B, M) bool: feature j of explained row r differs from background row b (missing equals missing)."""
    import pandas as pd

    out = np.empty((len(rows), len(frame_z), frame_x.shape[1]), dtype=bool)
    for j, name in enumerate(frame_x.columns):
        xv, zv = frame_x[name].to_numpy()[rows], frame_z[name].to_numpy()
        xnan, znan = np.asarray(pd.isna(xv)), np.asarray(pd.isna(zv))
        if xv.dtype == object or zv.dtype == object:
            xv, zv = xv.astype(object), zv.astype(object)
        with np.errstate(invalid="ignore"):
            neq = np.asarray(xv[:, None] != zv[None, :], dtype=bool)
        out[:, :, j] = np.where(xnan[:, None] | znan[None, :], xnan[:, None] != znan[None, :], neq)
    return out


def _evaluate(predict: Predict, frame_x: Any, frame_z: Any, rows: np.ndarray, zs: np.ndarray, mask: np.ndarray,
              differs: np.ndarray, row0: int, fx: np.ndarray, fz: np.ndarray) -> tuple[np.ndarray, int]:  # fmt: skip
    """f at the hybrid points (x_rows[mask], z_zs[~mask]), calling the model once per distinct point.

    Only features where x and z differ matter, so a point is known without a
    call when it takes none of them from x (it is z) or all of them (it is
    x), and points that agree on the differing features are one point.
    Returns the values and the number of model rows evaluated.
    """
    m = mask.shape[1]
    if m > 62:  # no bit codes: evaluate everything
        return _predict(predict, _hybrid(frame_x, frame_z, rows, zs, mask), len(rows)), len(rows)
    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    d = differs[rows - row0, zs] @ bits  # (R,) features that differ
    code = (mask @ bits) & d
    out = np.where(code == 0, fz[zs], fx[rows])
    todo = np.flatnonzero((code != 0) & (code != d))
    if not len(todo):
        return out, 0
    pair = (rows[todo] - row0) * len(frame_z) + zs[todo]
    if int(pair.max()) < 2 ** (62 - m):  # one integer key per point
        uniq_key, inverse = np.unique((pair << m) | code[todo], return_inverse=True)
        u_pair, u_code = uniq_key >> m, uniq_key & ((np.int64(1) << m) - 1)
    else:
        uniq, inverse = np.unique(np.stack([pair, code[todo]], axis=1), axis=0, return_inverse=True)
        u_pair, u_code = uniq[:, 0], uniq[:, 1]
    umask = (u_code[:, None] & bits[None, :]) != 0
    u_rows, u_zs = u_pair // len(frame_z) + row0, u_pair % len(frame_z)
    preds = _predict(predict, _hybrid(frame_x, frame_z, u_rows, u_zs, umask), len(u_pair))
    out[todo] = preds[inverse.ravel()]
    return out, len(u_pair)


def exact_shapley(
    predict: Predict,
    x: Any,
    background: Any,
    weights: np.ndarray,
    *,
    chunk_rows: int = 200_000,
    progress: Progress | None = None,
) -> ShapleyEstimate:
    """Exact interventional Shapley values by enumerating every coalition."""
    n, m, b = len(x), x.shape[1], len(background)
    w = weights / weights.sum()
    coalitions = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(bool)  # (2^M, M)
    fz = _predict(predict, background, b)
    fx = _predict(predict, x, n)
    per_row = 2**m * b
    step = max(1, chunk_rows // per_row)
    v = np.empty((n, 2**m))
    evaluated = 0
    for start in range(0, n, step):
        idx = np.arange(start, min(n, start + step))
        rows = np.repeat(idx, 2**m * b)
        mask = np.tile(np.repeat(coalitions, b, axis=0), (len(idx), 1))
        zs = np.tile(np.arange(b), len(idx) * 2**m)
        preds, used = _evaluate(predict, x, background, rows, zs, mask, _differs(x, background, idx), start, fx, fz)
        evaluated += used
        v[idx] = preds.reshape(len(idx), 2**m, b) @ w
        if progress:
            progress(int(idx[-1]) + 1, n)
    size = coalitions.sum(axis=1)
    fact = np.array([math.factorial(k) for k in range(m + 1)], dtype=np.float64)
    phi = np.zeros((n, m))
    codes = np.arange(2**m)
    for i in range(m):
        without = codes[~coalitions[:, i]]
        with_i = without | (1 << i)
        s = size[without]
        weight = fact[s] * fact[m - s - 1] / fact[m]
        phi[:, i] = (v[:, with_i] - v[:, without]) @ weight
    return ShapleyEstimate(phi, np.zeros_like(phi), float(fz @ w), fx, evaluated + n + b)


def sampled_shapley(
    predict: Predict,
    x: Any,
    background: Any,
    weights: np.ndarray,
    *,
    repeats: int,
    rng: np.random.Generator | RowSeeds,
    chunk_rows: int = 200_000,
    progress: Progress | None = None,
) -> ShapleyEstimate:
    """Antithetic permutation sampling, exhaustive over the background, with standard errors.

    Every background row b gets ``repeats`` antithetic pairs of chains
    (random feature orders, walked forwards and backwards). Writing c_bj for
    the mean of pair j's two walks, the estimate is sum_b w_b mean_j c_bj:
    unbiased, and exactly additive, since each walk's steps sum to
    f(x) - f(z_b). Only the orders are random, so the variance is
    sum_b w_b^2 s_b^2 / repeats, with s_b^2 the sample variance of c_bj over j
    (hence repeats >= 2), widened by Satterthwaite's small-sample factor
    (see :func:`_small_df_factor`). Each chain costs M - 1 model evaluations.
    The orders come from ``rng``, or with :class:`RowSeeds` from each row's own generator.
    """
    n, m, b = len(x), x.shape[1], len(background)
    if repeats < 2:
        raise ValueError("repeats must be at least 2 to estimate a standard error")
    w = weights / weights.sum()
    fz = _predict(predict, background, b)
    fx = _predict(predict, x, n)
    base = float(fz @ w)
    phi = np.zeros((n, m))
    se = np.zeros((n, m))
    pairs = b * repeats
    chain_rows = 2 * pairs * max(m - 1, 0)
    step = max(1, chunk_rows // max(chain_rows, 1))
    zs_row = np.tile(np.arange(b), repeats)  # pair p uses background row p % b
    evaluated = 0
    for start in range(0, n, step):
        idx = np.arange(start, min(n, start + step))
        k = len(idx)
        if isinstance(rng, RowSeeds):
            order = rng.orders(idx, pairs, m)
        else:
            order = rng.permuted(np.tile(np.arange(m), (k, pairs, 1)), axis=2)  # (k, pairs, M)
        order = np.concatenate([order, order[..., ::-1]], axis=1)  # antithetic: (k, 2 pairs, M)
        zs = np.tile(np.concatenate([zs_row, zs_row]), (k, 1))  # the reversed walk uses the same background row
        rank = np.argsort(order, axis=2)  # position of each feature in its walk
        mask = rank[:, :, None, :] < np.arange(1, m)[None, None, :, None]  # (k, 2P, M-1, M): interior points
        values = np.empty((k, 2 * pairs, m + 1))
        values[:, :, 0] = fz[zs]
        values[:, :, m] = fx[idx][:, None]
        if m > 1:
            rows = np.repeat(idx, 2 * pairs * (m - 1))
            flat_z = np.repeat(zs.reshape(-1), m - 1)
            preds, used = _evaluate(predict, x, background, rows, flat_z, mask.reshape(-1, m), _differs(x, background, idx), start, fx, fz)
            evaluated += used
            values[:, :, 1:m] = preds.reshape(k, 2 * pairs, m - 1)
        steps = np.diff(values, axis=2)  # (k, 2P, M): step t adds feature order[..., t]
        contrib = np.empty_like(steps)
        np.put_along_axis(contrib, order, steps, axis=2)
        pair_mean = ((contrib[:, :pairs] + contrib[:, pairs:]) / 2).reshape(k, repeats, b, m)
        per_z = pair_mean.mean(axis=1)  # (k, B, M)
        phi[idx] = np.einsum("b,kbm->km", w, per_z)
        part = (w * w)[None, :, None] * pair_mean.var(axis=1, ddof=1) / repeats  # (k, B, M): each row's share of the variance
        var = part.sum(axis=1)
        se[idx] = np.sqrt(var) * _small_df_factor(var, (part**2).sum(axis=1) / (repeats - 1))
        if progress:
            progress(int(idx[-1]) + 1, n)
    return ShapleyEstimate(phi, se, base, fx, evaluated + n + b)


def _small_df_factor(var: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Widen standard errors whose variance estimate rests on few degrees of freedom.

    The variance is a sum of per-background-row terms with ``repeats - 1``
    degrees of freedom each; when a few rows dominate it (a feature that
    matters for few background rows), Satterthwaite's effective degrees of
    freedom are small and a normal 2-SE interval would be too narrow. The
    factor t(0.975, df) / z(0.975) makes +-1.96 SE the t interval.
    """
    from scipy.stats import t

    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(spread > 0, var * var / spread, np.inf)
    return np.where(np.isfinite(df), t.ppf(0.975, np.maximum(df, 1.0)) / 1.959963984540054, 1.0)
