"""The count tensor: one GROUP BY, done by the engine that holds the data.

A :class:`CountTable` holds, for every observed combination of the key
columns (facet values, label class, predicted class, group variable), the
number of rows, the sum of sample weights and the sum of squared weights, plus
any additive sums asked for (regression moments). It is small (a few dozen to
a few thousand cells whatever the number of rows), mergeable (tables from
partitions add up), and everything downstream is computed from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import numpy as np

from assay._errors import DataError

__all__ = ["CountTable", "grouping", "tabulate"]


@dataclass
class CountTable:
    """Joint counts over key columns; one entry per observed combination."""

    keys: dict[str, np.ndarray]
    levels: dict[str, list[Any]]
    count: np.ndarray
    weight: np.ndarray
    weight_sq: np.ndarray
    sums: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        return int(self.count.shape[0])

    @property
    def n_rows(self) -> int:
        return int(round(float(self.count.sum())))

    @property
    def weighted(self) -> bool:
        return not np.array_equal(self.count, self.weight)

    def values(self, key: str) -> list[Any]:
        """The value of ``key`` in each cell."""
        lv = self.levels[key]
        return [lv[c] for c in self.keys[key]]

    def merge(self, other: CountTable) -> CountTable:
        """Add two tables over the same keys (partitions, days, machines)."""
        if set(self.keys) != set(other.keys) or set(self.sums) != set(other.sums):
            raise DataError("cannot merge count tables with different keys")
        cols: dict[str, list[Any]] = {k: self.values(k) + other.values(k) for k in self.keys}
        count = np.concatenate([self.count, other.count])
        return _regroup(
            cols,
            count,
            np.concatenate([self.weight, other.weight]),
            np.concatenate([self.weight_sq, other.weight_sq]),
            {k: np.concatenate([self.sums[k], other.sums[k]]) for k in self.sums},
        )

    def to_cells(self, count: str = "__n") -> dict[str, Any]:
        """The table as JSON-ready cells: ``{"columns": [keys..., count], "cells": [[values..., n], ...]}`` (unweighted tables: the
        weights are the counts). What monitoring stores for a window; :meth:`from_cells` reads it back."""
        if self.weighted or self.sums:
            raise DataError("only an unweighted count table without sums is stored as cells")
        names = list(self.keys)
        columns = [self.values(k) for k in names]
        cells = [[*(c[i] for c in columns), float(self.count[i])] for i in range(self.n_cells)]
        return {"columns": [*names, count], "cells": cells}

    @classmethod
    def from_cells(cls, doc: Mapping[str, Any]) -> CountTable:
        """A table from :meth:`to_cells`' form (the last column holds the counts)."""
        names, cells = list(doc["columns"])[:-1], doc["cells"]
        count = np.array([float(c[-1]) for c in cells], dtype=np.float64)
        return _regroup({k: [c[i] for c in cells] for i, k in enumerate(names)}, count, count, count, {})

    def marginal(self, keys: Sequence[str], sums: Mapping[str, str] | None = None) -> CountTable:
        """The table over ``keys`` only, summed over the others (``sums``: new name -> the sum it keeps)."""
        return _regroup({k: self.values(k) for k in keys}, self.count, self.weight, self.weight_sq,
                        {new: self.sums[old] for new, old in (sums or {}).items()})  # fmt: skip

    def split(self, key: str) -> dict[Any, CountTable]:
        """One table per value of ``key``, over the other keys (time windows counted in one GROUP BY, taken apart)."""
        rest = [k for k in self.keys if k != key]
        out = {}
        for code, value in enumerate(self.levels[key]):
            cell = self.keys[key] == code
            if cell.any():
                cols = {k: [self.levels[k][c] for c in self.keys[k][cell]] for k in rest}
                out[value] = _regroup(cols, self.count[cell], self.weight[cell], self.weight_sq[cell], {k: v[cell] for k, v in self.sums.items()})
        return out

    def bootstrap(self, replicates: int, rng: np.random.Generator) -> np.ndarray:
        """Weighted cell totals of ``replicates`` bootstrap resamples, shape (R, cells).

        Resampling the n rows with replacement is a multinomial draw of n
        over the cells. With sample weights, a cell drawn k times gets
        k times its mean weight plus a normal term with the within-cell
        variance of the weights (moment-matched), so weighted audits keep
        the variance that comes from unequal weights.
        """
        n = self.n_rows
        if n == 0:
            return np.zeros((replicates, self.n_cells))
        p = self.count / self.count.sum()
        draws = rng.multinomial(n, p, size=replicates).astype(np.float64)
        if not self.weighted:
            return draws
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_w = np.where(self.count > 0, self.weight / self.count, 0.0)
            var_w = np.where(self.count > 0, self.weight_sq / self.count - mean_w**2, 0.0)
        sd_w = np.sqrt(np.clip(var_w, 0.0, None))
        noise = rng.standard_normal(draws.shape) * np.sqrt(draws) * sd_w
        return np.clip(draws * mean_w + noise, 0.0, None)


def _regroup(
    cols: Mapping[str, Sequence[Any]],
    count: np.ndarray,
    weight: np.ndarray,
    weight_sq: np.ndarray,
    sums: Mapping[str, np.ndarray],
) -> CountTable:
    """Factorize key values and sum cells that share a key combination."""
    names = list(cols)
    codes: dict[str, np.ndarray] = {}
    levels: dict[str, list[Any]] = {}
    for name in names:
        vals = list(cols[name])
        lv = sorted(set(vals), key=_sort_key)
        index = {v: i for i, v in enumerate(lv)}
        codes[name] = np.fromiter((index[v] for v in vals), dtype=np.int64, count=len(vals))
        levels[name] = lv
    if names and len(count):
        stacked = np.stack([codes[n] for n in names], axis=1)
        uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        m = uniq.shape[0]
        out_codes = {n: uniq[:, i] for i, n in enumerate(names)}
    else:
        inverse = np.zeros(len(count), dtype=np.int64)
        m = 1 if len(count) else 0
        out_codes = {n: codes[n][:m] for n in names}

    def agg(x: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=x, minlength=m).astype(np.float64)

    return CountTable(out_codes, levels, agg(count), agg(weight), agg(weight_sq), {k: agg(v) for k, v in sums.items()})


def _sort_key(v: Any) -> tuple[int, Any]:
    if v is None:
        return (2, "")
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, (int, float)):
        return (0, v) if not (isinstance(v, float) and math.isnan(v)) else (2, "")
    return (1, str(v))


def grouping(frame: nw.LazyFrame[Any], keys: Mapping[str, nw.Expr], *, weight: str | None = None, frequency: str | None = None,
             sums: Mapping[str, nw.Expr] | None = None) -> nw.LazyFrame[Any]:  # fmt: skip
    """The GROUP BY that :func:`tabulate` collects, as a lazy frame in the data's engine: one row per key combination, keys named
    ``__key_0, __key_1, ...``, then ``__count`` (and the weight and sum columns). On Spark its plan is one aggregation."""
    sums = dict(sums or {})
    extra: list[nw.Expr] = []
    f = nw.col(frequency).cast(nw.Float64) if frequency else None
    aggs = [nw.len().alias("__count")] if f is None else [nw.col("__f").sum().alias("__count")]
    if f is not None:
        extra.append(f.alias("__f"))
    if weight:
        w = nw.col(weight).cast(nw.Float64)
        fw = w if f is None else w * f
        extra += [fw.alias("__w"), (fw * w).alias("__w2"), (w < 0).cast(nw.Int64).alias("__neg"), w.is_null().cast(nw.Int64).alias("__nul")]
        extra += [(expr.cast(nw.Float64) * fw).alias(f"__s_{name}") for name, expr in sums.items()]
        aggs += [nw.col("__w").sum().alias("__weight"), nw.col("__w2").sum().alias("__weight_sq")]
        aggs += [nw.col("__neg").sum().alias("__neg_weight"), nw.col("__nul").sum().alias("__null_weight")]
    else:
        extra += [(expr.cast(nw.Float64) * (f if f is not None else 1.0)).alias(f"__s_{name}") for name, expr in sums.items()]
    aggs += [nw.col(f"__s_{name}").sum().alias(f"__sum_{name}") for name in sums]
    key_names = [f"__key_{i}" for i in range(len(keys))]
    grouped = frame.with_columns(*[expr.alias(k) for k, expr in zip(key_names, keys.values(), strict=True)], *extra)
    return grouped.group_by(*key_names, drop_null_keys=False).agg(*aggs)


def tabulate(
    frame: nw.LazyFrame[Any],
    keys: Mapping[str, nw.Expr],
    *,
    weight: str | None = None,
    frequency: str | None = None,
    sums: Mapping[str, nw.Expr] | None = None,
) -> CountTable:
    """Count rows (and weights) for every combination of ``keys``, in one pass.

    ``keys`` maps a key name to a narwhals expression (a column, a binned
    column, a thresholded label). The GROUP BY (:func:`grouping`) runs in the
    engine behind ``frame``: pandas, polars, pyarrow, DuckDB or Spark. ``frequency`` names a column
    of row counts: each input row stands for that many rows (a count tensor
    stored as cells, e.g. by monitoring), so the table is the one of the rows
    it summarises.
    """
    sums = dict(sums or {})
    key_names = [f"__key_{i}" for i in range(len(keys))]
    result = grouping(frame, keys, weight=weight, frequency=frequency, sums=sums).collect()
    table = result.to_arrow()

    def col(name: str) -> np.ndarray:
        # to_pylist: the result is small, and pyarrow's to_numpy imports pandas (0.3 s of start-up)
        return np.array([math.nan if v is None else float(v) for v in table.column(name).to_pylist()], dtype=np.float64)

    count = col("__count")
    if weight:
        neg = int(np.nansum(col("__neg_weight")))
        nul = int(np.nansum(col("__null_weight")))
        if nul:
            raise DataError(f"sample weight column {weight!r} has {nul} missing values; weights must be numbers >= 0 on every row.")
        if neg:
            raise DataError(f"sample weight column {weight!r} has {neg} negative values; weights must be >= 0.")

    cols = {name: table.column(k).to_pylist() for name, k in zip(keys, key_names, strict=True)}
    return _regroup(
        cols,
        count,
        np.nan_to_num(col("__weight")) if weight else count,
        np.nan_to_num(col("__weight_sq")) if weight else count,
        {name: np.nan_to_num(col(f"__sum_{name}")) for name in sums},
    )
