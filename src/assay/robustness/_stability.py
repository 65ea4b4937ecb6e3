"""Stability under realistic perturbations, per group: how often does a small, plausible change to a row's inputs change its
decision?

Each replicate perturbs every input the model uses except the sensitive attributes: a number gets Gaussian noise with a
standard deviation of ``noise`` times the column's (rounded for an integer column, kept within the values the column takes);
a category is, with probability ``swap_rate``, replaced by another of its values, drawn in proportion to how often each
occurs. A row's flip rate is the share of replicates whose decision differs from its own; a group's is the mean over its
rows, with Student's t interval over the rows (rows are independent; a row's replicates are not), or Wilson's interval over
the rows when no row's decision ever changed. The difference between a group and the rest has Welch's interval and test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from assay.stats import mean_interval, welch, wilson_interval

__all__ = ["perturbation_stability"]


def perturbation_stability(rows: Any, decide: Callable[[Any], np.ndarray], *, features: Sequence[str], facets: Sequence[str],
                           noise: float = 0.1, swap_rate: float = 0.05, replicates: int = 20, confidence_level: float = 0.95,
                           seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Flip rates of ``decide`` under perturbations of ``features`` (never ``facets``), overall and per group of each facet."""
    import pandas as pd

    rng = np.random.default_rng([seed, 31])
    own = decide(rows)
    moved = [c for c in features if c not in set(facets)]
    numeric = [c for c in moved if pd.api.types.is_numeric_dtype(rows[c]) and not pd.api.types.is_bool_dtype(rows[c])]
    n = len(rows)
    stacked = pd.concat([rows] * replicates, ignore_index=True)
    for c in moved:
        stacked[c] = _perturb(rows[c], replicates, c in numeric, noise, swap_rate, rng, pd)
    changed = np.zeros(n * replicates, dtype=bool)
    for start in range(0, len(stacked), 200_000):
        part = stacked.iloc[start : start + 200_000]
        changed[start : start + len(part)] = decide(part) != np.tile(own, replicates)[start : start + len(part)]
    rate = changed.reshape(replicates, n).mean(axis=0)
    out: dict[str, Any] = {
        "perturbed": moved, "noise": noise, "swap_rate": swap_rate, "replicates": replicates, "rows": n,
        "confidence_level": confidence_level, "overall": _group(rate, None, confidence_level), "by_group": {},
    }  # fmt: skip
    for facet in facets:
        col = rows[facet].astype(str).to_numpy()
        out["by_group"][facet] = [{"group": g, **_group(rate[col == g], rate[col != g], confidence_level)} for g in sorted(set(col))]
    return out


def _perturb(col: Any, replicates: int, numeric: bool, noise: float, swap_rate: float, rng: np.random.Generator, pd: Any) -> Any:
    if numeric:
        x = np.tile(col.to_numpy(dtype=np.float64, na_value=np.nan), replicates)
        finite = x[np.isfinite(x)]
        if finite.size == 0:
            return x
        y = np.clip(x + rng.normal(0.0, noise * float(finite.std()), x.size), finite.min(), finite.max())
        if np.all(finite == np.round(finite)):
            y = np.round(y)
        return y.astype(col.dtype) if pd.api.types.is_integer_dtype(col.dtype) else y
    values = np.tile(col.to_numpy(dtype=object), replicates)
    counts = col.value_counts()
    cats, freq = counts.index.to_numpy(dtype=object), counts.to_numpy(dtype=np.float64)
    swap = rng.random(values.size) < swap_rate
    out = values.copy()
    for i, v in enumerate(cats):
        at = np.flatnonzero(swap & (values == v))
        others = np.delete(np.arange(len(cats)), i)
        if len(at) and len(others):
            p = freq[others] / freq[others].sum()
            out[at] = cats[rng.choice(others, size=len(at), p=p)]
    return pd.Categorical(out, categories=col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else out


def _group(rate: np.ndarray, rest: np.ndarray | None, level: float) -> dict[str, Any]:
    n = len(rate)
    if n == 0:
        return {"rows": 0, "flip_rate": None, "ci": [None, None], "reason": "no row"}
    if n < 2 or rate.var() == 0:  # every row alike: Wilson over rows, each one changed or not
        if rate[0] in (0.0, 1.0):
            lo, hi = wilson_interval(float(rate.sum()), n, level)
        else:
            lo, hi = float(rate[0]), float(rate[0])
    else:
        lo, hi = mean_interval(float(rate.sum()), float((rate * rate).sum()), n, level)
        lo, hi = max(0.0, lo or 0.0), min(1.0, hi if hi is not None else 1.0)
    out: dict[str, Any] = {"rows": n, "flip_rate": float(rate.mean()), "ci": [lo, hi], "ever_flipped": int((rate > 0).sum())}
    if rest is not None:
        p, (dlo, dhi) = welch((float(rate.sum()), float((rate * rate).sum()), n), (float(rest.sum()), float((rest * rest).sum()), len(rest)),
                              level, alternative="two-sided")  # fmt: skip
        out["difference"] = {"value": float(rate.mean() - rest.mean()) if len(rest) else None, "ci": [dlo, dhi], "p_value": p}
    return out
