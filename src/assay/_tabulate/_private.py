"""A differentially private count tensor: every cell of a public domain released with discrete Laplace noise by OpenDP.

The count tensor's cells are disjoint, so adding or removing one row changes one cell by one: the table's L1 sensitivity is 1
(2 when neighbouring tables differ by changing one row). OpenDP's ``make_laplace`` on the integer counts, with the smallest
scale whose privacy map gives at most epsilon for that sensitivity, releases every cell of the cross product of the keys'
declared values, zeros included (which cells are empty is itself private), and one cell more for the rows whose values are
outside the domain. Negative noisy counts are set to zero (post-processing, free of privacy cost).

Intervals that include the noise: :func:`private_bootstrap` draws each replicate as a multinomial resample of the released
table's total over its shares, plus fresh discrete Laplace noise of the same scale, set to zero below zero: a parametric
bootstrap of the whole release (sampling and noise), as Ferrando, Wang and Sheldon (2022) propose for private estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError
from assay._tabulate._tensor import CountTable, _sort_key

__all__ = ["MAX_PRIVATE_CELLS", "Release", "private_bootstrap", "private_table"]

#: The most cells the public domain may have (every one is released).
MAX_PRIVATE_CELLS = 1_000_000
_SENSITIVITY = {"add_remove": 1, "change": 2}


@dataclass(frozen=True)
class Release:
    """What was released and how: the privacy loss, the noise and the domain."""

    epsilon: float
    neighbouring: str
    sensitivity: int
    scale: float
    cells: int
    outside_domain: int  # the noisy count of rows with a value outside the domain (released with the table, then left out)
    noise_sd: float

    def to_dict(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "delta": 0.0, "neighbouring": self.neighbouring, "sensitivity": self.sensitivity,
                "mechanism": "discrete Laplace on every cell of the public domain (OpenDP make_laplace), negative counts set to 0",
                "scale": self.scale, "noise_sd_per_cell": self.noise_sd, "cells_released": self.cells,
                "rows_outside_domain_noisy": self.outside_domain}  # fmt: skip


def private_table(table: CountTable, domains: Mapping[str, Sequence[Any]], epsilon: float, neighbouring: str = "add_remove") -> tuple[CountTable, Release]:
    """``table`` over the cross product of ``domains`` (key -> its public values), each count released with epsilon-DP noise."""
    if table.weighted or table.sums:
        raise ConfigError("differential privacy counts rows: a sample_weight (or sums) cannot be released by this mechanism")
    if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or not math.isfinite(epsilon) or epsilon <= 0:
        raise ConfigError(f"differential_privacy.epsilon must be a positive number, got {epsilon!r}")
    if neighbouring not in _SENSITIVITY:
        raise ConfigError(f"differential_privacy.neighbouring must be 'add_remove' or 'change', got {neighbouring!r}")
    missing = [k for k in table.keys if k not in domains]
    if missing:
        raise ConfigError(f"no public domain for key {missing[0]!r}")
    names = list(table.keys)
    levels = {k: sorted(dict.fromkeys(domains[k]), key=_sort_key) for k in names}
    sizes = [len(levels[k]) for k in names]
    n_cells = math.prod(sizes)
    if n_cells > MAX_PRIVATE_CELLS:
        raise ConfigError(f"the public domain has {n_cells:,} cells (the product of {sizes}); at most {MAX_PRIVATE_CELLS:,} are released")
    flat = np.zeros(table.n_cells, dtype=np.int64)
    outside = np.zeros(table.n_cells, dtype=bool)
    for k, size in zip(names, sizes, strict=True):
        index = {v: i for i, v in enumerate(levels[k])}
        code = np.array([index.get(_plain(v), -1) for v in table.levels[k]], dtype=np.int64)[table.keys[k]]
        outside |= code < 0
        flat = flat * size + np.maximum(code, 0)
    flat[outside] = n_cells
    true = np.bincount(flat, weights=table.count, minlength=n_cells + 1).round().astype(np.int64)
    sensitivity = _SENSITIVITY[neighbouring]
    noisy, scale = _laplace(true, sensitivity, float(epsilon))
    released = np.clip(noisy, 0, None).astype(np.float64)
    grid = np.unravel_index(np.arange(n_cells), sizes) if names else ()
    counts = released[:n_cells]
    out = CountTable(keys={k: np.asarray(g, dtype=np.int64) for k, g in zip(names, grid, strict=True)}, levels=levels, count=counts,
                     weight=counts.copy(), weight_sq=counts.copy())  # fmt: skip
    return out, Release(epsilon=float(epsilon), neighbouring=neighbouring, sensitivity=sensitivity, scale=scale, cells=n_cells,
                        outside_domain=int(released[n_cells]), noise_sd=_sd(scale))  # fmt: skip


def private_bootstrap(table: CountTable, release: Release, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Cell totals of ``replicates`` draws of the whole release: a multinomial resample of the released total plus fresh noise."""
    total = float(table.count.sum())
    if total <= 0:
        return np.zeros((replicates, table.n_cells))
    draws = rng.multinomial(int(round(total)), table.count / total, size=replicates).astype(np.float64)
    return np.clip(draws + discrete_laplace(rng, release.scale, draws.shape), 0, None)


def discrete_laplace(rng: np.random.Generator, scale: float, shape: tuple[int, ...]) -> np.ndarray:
    """Discrete Laplace noise, P(x) proportional to exp(-|x| / scale): the difference of two geometric variables (for the
    bootstrap only; the release itself is OpenDP's)."""
    p = -math.expm1(-1.0 / scale)  # 1 - exp(-1/scale), exact for large scales
    return (rng.geometric(p, size=shape) - rng.geometric(p, size=shape)).astype(np.float64)


def _sd(scale: float) -> float:
    q = math.exp(-1.0 / scale)
    return math.sqrt(2 * q) / (1 - q)


def _laplace(true: np.ndarray, sensitivity: int, epsilon: float) -> tuple[np.ndarray, float]:
    """OpenDP's discrete Laplace on integer counts, at the smallest scale its privacy map accepts for ``epsilon``."""
    from assay._optional import require

    dp = require("opendp.prelude", feature="a differentially private count tensor")

    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T=dp.i64)), dp.l1_distance(T=dp.i64)
    scale = dp.binary_search_param(lambda s: dp.m.make_laplace(*space, scale=s), d_in=sensitivity, d_out=epsilon)
    measurement = dp.m.make_laplace(*space, scale=scale)
    if measurement.map(sensitivity) > epsilon:  # binary_search_param returns a passing scale; checked, not trusted
        raise DataError(f"OpenDP's privacy map gives {measurement.map(sensitivity)} > epsilon {epsilon} at scale {scale}")
    return np.asarray(measurement([int(x) for x in true]), dtype=np.int64), float(scale)


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
