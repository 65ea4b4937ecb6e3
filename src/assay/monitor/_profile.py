"""Profiles: a mergeable summary of a data set, a partition or a window of captured predictions.

Per column: rows, missing values, the types the values have (integral,
fractional, string), and for numbers count, sum, mean and the sum of squared
deviations (merged with Chan's formula), min and max, a KLL quantile sketch
(Apache DataSketches); for every column a HyperLogLog distinct estimate and
the exact count of every value while there are at most ``exact_limit``
distinct values (beyond that, a frequent-items sketch for categories and the
KLL sketch for numbers). The HyperLogLog is built only once a column has
more distinct values than that (from the exact counts then), so columns of few
values never pay for it. Merging two profiles is exact for everything but the
sketches, which merge within their stated error; a profile serialises to JSON.

The drift tests use the exact value counts when both sides have them (KS and
chi-squared on the true distributions) and the sketches otherwise, with the
sketches' rank error taken off the distance so that sketching cannot raise a
false alarm.
"""

from __future__ import annotations

import base64
import collections
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._errors import DataError

__all__ = ["KLL_K", "ColumnProfile", "Profile", "profile"]

KLL_K = 1000  # normalised rank error about 0.3% (DataSketches' bound at 99% confidence)
EXACT_LIMIT = 4096
FREQUENT_LG_K = 10  # frequent-items map of 1024 entries: exact for up to 768 distinct categories
HLL_LG_K = 12  # 4096 registers: relative standard error 1.6%
PROFILE_FORMAT = 2  # 2: HyperLogLog as a DataSketches hll_sketch; 1 (no "format"): assay's own 4096 registers


def _kll() -> Any:
    import datasketches as ds

    return ds.kll_doubles_sketch(KLL_K)


def _frequent() -> Any:
    import datasketches as ds

    return ds.frequent_strings_sketch(FREQUENT_LG_K)


def _hll_of(keys: Any, numeric: bool) -> Any:
    """A DataSketches HyperLogLog of distinct ``keys``: numbers as doubles (so 1 and 1.0 are one value, in every batch
    whatever its dtype), other values as their text."""
    import datasketches as ds

    out = ds.hll_sketch(HLL_LG_K, ds.tgt_hll_type.HLL_8)
    items = keys.tolist() if hasattr(keys, "tolist") else list(keys)  # Python values: iterating a pandas Index is 4x slower
    collections.deque(map(out.update, map(float, items) if numeric else map(str, items)), maxlen=0)  # one C call per value
    return out


@dataclass
class ColumnProfile:
    """The summary of one column."""

    name: str
    kind: str  # "numeric" (numbers and booleans) or "string"
    rows: int = 0
    missing: int = 0
    integral: int = 0  # values that are whole numbers (or strings that parse as one)
    fractional: int = 0  # other numbers (or strings that parse as one)
    string: int = 0  # values that are not numbers
    n: int = 0  # numeric values counted in the moments
    total: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    values: dict[Any, int] | None = field(default_factory=dict)  # exact counts while distinct <= EXACT_LIMIT
    kll: Any = None
    frequent: Any = None
    sketch_error: float = 0.0  # the rank error of ``values`` when they are a foreign sketch's weighted items (Model Monitor's KLL)
    hll: Any = None  # a DataSketches hll_sketch once ``values`` is None (beyond EXACT_LIMIT distinct values)
    stored_distinct: float | None = None  # the distinct estimate of a profile stored before PROFILE_FORMAT 2 (no sketch)

    @property
    def present(self) -> int:
        return self.rows - self.missing

    @property
    def completeness(self) -> float | None:
        return self.present / self.rows if self.rows else None

    @property
    def std(self) -> float | None:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None

    @property
    def distinct(self) -> float:
        if self.values is not None:
            return float(len(self.values))
        return float(self.hll.get_estimate()) if self.hll is not None else float(self.stored_distinct or 0.0)

    def _distinct_sketch(self) -> Any:
        """The HyperLogLog of this column's values (built from the exact counts while they are held)."""
        if self.values is not None:
            return _hll_of(self.values, self.kind == "numeric")
        if self.hll is None:
            raise DataError(f"column {self.name!r}: its profile was stored by an earlier assay (profile format 1) and cannot be "
                            "merged; write the baseline again with: assay monitor baseline")  # fmt: skip
        return self.hll

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """The profile of both parts (self is left unchanged)."""
        if other.name != self.name:
            raise DataError(f"cannot merge profiles of columns {self.name!r} and {other.name!r}")
        kind = self.kind if self.kind == other.kind else "string"
        out = ColumnProfile(self.name, kind, self.rows + other.rows, self.missing + other.missing, self.integral + other.integral,
                            self.fractional + other.fractional, self.string + other.string)  # fmt: skip
        out.n = self.n + other.n
        out.total = self.total + other.total
        if out.n:
            delta = other.mean - self.mean
            out.mean = self.mean + delta * other.n / out.n
            out.m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / out.n
        out.minimum, out.maximum = min(self.minimum, other.minimum), max(self.maximum, other.maximum)
        if self.values is not None and other.values is not None:
            merged = dict(self.values)
            for k, c in other.values.items():
                merged[k] = merged.get(k, 0) + c
            out.values = merged if len(merged) <= EXACT_LIMIT else None
        else:
            out.values = None
        out.kll = _merge_sketch(self.kll, other.kll, _kll)
        out.frequent = _merge_sketch(self.frequent, other.frequent, _frequent)
        if out.values is None:
            import datasketches as ds

            union = ds.hll_union(HLL_LG_K)
            for part in (self, other):
                if part.rows:
                    union.update(part._distinct_sketch())
            out.hll = union.get_result(ds.tgt_hll_type.HLL_8)
        return out

    def cdf(self, points: np.ndarray) -> np.ndarray:
        """P(X <= x) at each point: exact from the value counts, else from the KLL sketch."""
        if self.values is not None:
            keys, cum = self._exact_cdf()
            i = np.searchsorted(keys, points, side="right")
            return np.where(i > 0, cum[np.maximum(i - 1, 0)], 0.0)
        if self.kll is None or self.kll.is_empty():
            return np.zeros(len(points))
        return np.asarray(self.kll.get_cdf(list(map(float, points))))[:-1]

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        if self.values is not None:
            keys, cum = self._exact_cdf()
            return keys[np.minimum(np.searchsorted(cum, qs, side="left"), len(keys) - 1)]
        return np.asarray([self.kll.get_quantile(float(q)) for q in qs])

    def _exact_cdf(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct values in order and the share of values at or below each (from the exact counts)."""
        assert self.values is not None
        keys = sorted(self.values)
        counts = np.array([self.values[k] for k in keys], dtype=np.float64)
        return np.array(keys, dtype=np.float64), (np.cumsum(counts) / counts.sum() if counts.sum() else counts)

    def rank_error(self) -> float:
        """The CDF's possible error: 0 for exact counts, else the KLL sketch's normalised rank error."""
        return self.sketch_error if self.values is not None else float(self.kll.normalized_rank_error(False)) if self.kll is not None else 0.0

    def category_counts(self) -> tuple[dict[str, int], int]:
        """Counts of categories (exact, or the frequent-items sketch's lower bounds of the categories that are surely frequent:
        more rows than the sketch's error) and the count of the rest. The sketch's other items are an artefact of the order
        the values came in (the last ones seen keep their counts), so they count with the rest."""
        if self.values is not None:
            return {str(k): int(c) for k, c in self.values.items()}, 0
        import datasketches as ds

        items = self.frequent.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_POSITIVES) if self.frequent is not None else []
        known = {str(v): int(lb) for v, _, lb, _ in items}
        return known, max(0, self.present - sum(known.values()))

    def to_dict(self) -> dict[str, Any]:
        def b64(sk: Any) -> str | None:
            return None if sk is None else base64.b64encode(sk.serialize()).decode()

        return {"name": self.name, "kind": self.kind, "rows": self.rows, "missing": self.missing, "integral": self.integral,
                "fractional": self.fractional, "string": self.string, "n": self.n, "total": self.total, "mean": self.mean,
                "m2": self.m2, "min": None if self.n == 0 else self.minimum, "max": None if self.n == 0 else self.maximum,
                "values": None if self.values is None else [[k, c] for k, c in self.values.items()],
                "kll": b64(self.kll), "frequent": b64(self.frequent), "hll": None if self.hll is None else base64.b64encode(self.hll.serialize_compact()).decode(),
                "sketch_error": self.sketch_error}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any], format: int = PROFILE_FORMAT) -> ColumnProfile:
        import datasketches as ds

        if not isinstance(d, dict):
            raise TypeError(f"a column profile is a JSON object, got {type(d).__name__}")
        out = cls(d["name"], d["kind"], d["rows"], d["missing"], d["integral"], d["fractional"], d["string"], d["n"], d["total"],
                  d["mean"], d["m2"], math.inf if d["min"] is None else d["min"], -math.inf if d["max"] is None else d["max"])  # fmt: skip
        out.values = None if d["values"] is None else {(tuple(k) if isinstance(k, list) else k): c for k, c in d["values"]}
        out.kll = None if d["kll"] is None else ds.kll_doubles_sketch.deserialize(base64.b64decode(d["kll"]))
        out.frequent = None if d["frequent"] is None else ds.frequent_strings_sketch.deserialize(base64.b64decode(d["frequent"]))
        if format >= 2:
            out.hll = None if d["hll"] is None else ds.hll_sketch.deserialize(base64.b64decode(d["hll"]))
        elif out.values is None:  # format 1: assay's own registers, read for their estimate only
            out.stored_distinct = _registers_estimate(np.frombuffer(base64.b64decode(d["hll"]), dtype=np.uint8))
        out.sketch_error = float(d.get("sketch_error", 0.0))
        return out

    def weighted_items(self) -> list[tuple[float, int]]:
        """The distribution as (value, weight) pairs with power-of-two weights: exact counts split into their binary digits,
        or the KLL sketch's retained items (Model Monitor's ``kll.sketch`` keeps level i's items with weight 2**i)."""
        if self.values is not None:
            return [(float(v), 1 << bit) for v, c in self.values.items() for bit in range(int(c).bit_length()) if int(c) >> bit & 1]
        return [(float(v), int(w)) for v, w in self.kll] if self.kll is not None else []


def _merge_sketch(a: Any, b: Any, new: Any) -> Any:
    if a is None and b is None:
        return None
    out = new()
    for sk in (a, b):
        if sk is not None:
            out.merge(sk)
    return out


@dataclass
class Profile:
    """Column profiles of one data set, partition or window, and its row count."""

    rows: int
    columns: dict[str, ColumnProfile]

    def merge(self, other: Profile) -> Profile:
        names = list(self.columns) + [c for c in other.columns if c not in self.columns]
        cols = {}
        for name in names:
            a, b = self.columns.get(name), other.columns.get(name)
            if a is None or b is None:  # a column one part lacks: all its rows there are missing
                have = a or b
                assert have is not None
                absent = ColumnProfile(name, have.kind, rows=(other.rows if a is not None else self.rows), missing=(other.rows if a is not None else self.rows))
                cols[name] = (a or absent).merge(b or absent)
            else:
                cols[name] = a.merge(b)
        return Profile(self.rows + other.rows, cols)

    def to_dict(self) -> dict[str, Any]:
        return {"format": PROFILE_FORMAT, "rows": self.rows, "columns": [c.to_dict() for c in self.columns.values()]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        if not isinstance(d, dict):
            raise TypeError(f"a profile is a JSON object, got {type(d).__name__}")
        fmt = d.get("format", 1)
        if not isinstance(fmt, int) or not 1 <= fmt <= PROFILE_FORMAT:
            raise ValueError(f"profile format {fmt!r} is not one this assay reads (1 to {PROFILE_FORMAT}); upgrade assay")
        return cls(int(d["rows"]), {c["name"]: ColumnProfile.from_dict(c, fmt) for c in d["columns"]})


def _registers_estimate(regs: np.ndarray) -> float:
    """The distinct estimate of the HyperLogLog registers that profile format 1 stored (Flajolet et al. 2007, with
    linear counting for small counts), so that baselines written then still read."""
    m = len(regs)
    raw = 0.7213 / (1 + 1.079 / m) * m * m / float(np.sum(np.power(2.0, -regs.astype(np.float64))))
    zeros = int((regs == 0).sum())
    return float(m * np.log(m / zeros)) if raw <= 2.5 * m and zeros else float(raw)


def _column(name: str, s: Any) -> ColumnProfile:
    """Profile one pandas Series. Types, distinct counts and sketches of categories work on the distinct values and
    their counts (one hash pass), so a categorical column costs about one value_counts."""
    import pandas as pd

    rows = len(s)
    present = s[s.notna()]
    numeric = pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
    p = ColumnProfile(name, "numeric" if numeric else "string", rows=rows, missing=rows - len(present))
    counts = present.value_counts(sort=False)
    weights = counts.to_numpy(dtype=np.int64)
    parsed = _distinct(p, counts.index, weights)
    if numeric:
        x = present.to_numpy(dtype=np.float64)
    else:  # strings that are all numbers also get moments
        x = np.repeat(parsed, weights) if len(parsed) and not np.isnan(parsed).any() else np.zeros(0)
    finite = x[np.isfinite(x)]
    p.n = int(len(finite))
    if p.n:
        p.total = float(finite.sum())
        p.mean = p.total / p.n
        p.m2 = float(((finite - p.mean) ** 2).sum())
        p.minimum, p.maximum = float(finite.min()), float(finite.max())
        p.kll = _kll()
        p.kll.update(finite)
    if p.values is None:
        p.hll = _hll_of(counts.index, numeric)
    return p


def _distinct(p: ColumnProfile, keys: Any, weights: np.ndarray) -> np.ndarray:
    """From a column's distinct values (a pandas Index) and their counts: the counts of integral, fractional and text values,
    the exact counts (at most EXACT_LIMIT values) and, for text, the frequent-items sketch. The values as numbers (NaN where a
    text does not parse as one)."""
    import pandas as pd

    if p.kind == "numeric":
        parsed = keys.to_numpy(dtype=np.float64)
        whole = np.isfinite(parsed) & (np.floor(parsed) == parsed)
        p.integral, p.fractional = int(weights[whole].sum()), int(weights[~whole].sum())
    else:
        parsed = pd.to_numeric(pd.Series(keys.astype(str)), errors="coerce").to_numpy(dtype=np.float64)
        ok = ~np.isnan(parsed)
        whole = ok & (np.floor(np.where(ok, parsed, 0.5)) == np.where(ok, parsed, 0.5))
        p.integral, p.fractional, p.string = int(weights[whole].sum()), int(weights[ok & ~whole].sum()), int(weights[~ok].sum())
    p.values = {_plain(k): int(c) for k, c in zip(keys, weights)} if len(keys) <= EXACT_LIMIT else None
    if p.kind != "numeric":
        p.values = None if p.values is None else {str(k): c for k, c in p.values.items()}
        p.frequent = _frequent()
        collections.deque(map(p.frequent.update, keys.astype(str).tolist(), weights.tolist()), maxlen=0)
    return parsed


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def profile(data: Any, *, columns: list[str] | None = None, batch_rows: int = 500_000, headers: list[str] | None = None) -> Profile:
    """The profile of a table (pandas, polars, pyarrow, a path or glob to Parquet/CSV, a PySpark DataFrame), read in batches
    of ``batch_rows`` (a Spark DataFrame is profiled by Spark: see :func:`_spark_profile`).

    Files are streamed (Parquet by record batches, CSV through DuckDB), so memory
    stays bounded by the batch size however large the data is; each batch is
    profiled and the profiles merged. A CSV file without a header row gets
    ``headers`` as its column names, or Model Monitor's ``_c0, _c1, ...``.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    from assay.spark import is_spark

    if is_spark(data):
        return _spark_profile(data, columns)
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise DataError(f"batch_rows must be a whole number of rows, at least 1; got {batch_rows!r}")
    out: Profile | None = None
    with ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 8))) as pool:  # columns in parallel: hashing and sorting release the GIL
        for batch in _batches(data, columns, batch_rows, headers):
            names = [str(c) for c in batch.columns]
            cols = list(pool.map(lambda c: _column(c[0], batch[c[1]]), zip(names, batch.columns)))
            part = Profile(len(batch), dict(zip(names, cols)))
            out = part if out is None else out.merge(part)
    if out is None:
        import os

        where = f"{os.fspath(data)} has" if isinstance(data, (str, os.PathLike)) else "the data has"
        raise DataError(f"{where} no rows to profile")
    return out


def _spark_profile(df: Any, columns: list[str] | None) -> Profile:
    """The profile of a Spark DataFrame, computed by Spark: one aggregation for counts, moments and Spark's own DataSketches
    (KLL doubles with k = KLL_K, HyperLogLog lg k = HLL_LG_K, which the Python package reads and merges), and per column one
    GROUP BY of at most EXACT_LIMIT + 1 rows for the exact counts (or, beyond them, the 768 most frequent texts). Only these
    small results reach the driver. Numbers are hashed for the HyperLogLog as their IEEE bits, as in process, so profiles made
    on a cluster and in process merge. Columns with more than EXACT_LIMIT distinct texts are typed by Spark's cast to double
    (in process: pandas' to_numeric), which may read odd texts (such as '1_000') differently."""
    profiles = spark_profiles(df, columns)
    if not profiles:
        raise DataError("the Spark DataFrame has no rows to profile")
    return profiles[None]


def spark_profiles(df: Any, columns: list[str] | None, key: Any = None) -> dict[Any, Profile]:
    """The profile of a Spark DataFrame (see :func:`_spark_profile`) or, with ``key`` (a Spark column: a time window's start), the
    profile of each key's rows: the same jobs, each grouped by the key too (one aggregation, one GROUP BY per column, whatever
    the number of keys). Keyed by the key's values (None without one); no entry for a DataFrame without rows."""
    import pyspark.sql.functions as F

    _known(columns, list(df.columns), "the Spark DataFrame")
    names = list(columns or df.columns)
    source = df if key is None else df.withColumn(_KEY, key)
    typed, staged, numeric = _spark_staged(source, names, [] if key is None else [_KEY])
    group = [] if key is None else [F.col(_KEY)]
    aggs = {r[_KEY] if key is not None else None: r.asDict() for r in staged.groupBy(*group).agg(*_spark_aggregates(names, numeric)).collect()}
    aggs = {k: a for k, a in aggs.items() if a["rows"]}
    counts = [_spark_counts(typed, c, i, numeric[c], key is not None) for i, c in enumerate(names)]
    return {k: Profile(int(a["rows"]), {c: _spark_column(typed, c, i, numeric[c], a, counts[i].get(k, [])) for i, c in enumerate(names)})
            for k, a in aggs.items()}  # fmt: skip


_KEY = "__assay_key"


def _spark_counts(typed: Any, name: str, i: int, numeric: bool, keyed: bool) -> dict[Any, list[tuple[Any, int]]]:
    """One GROUP BY, most frequent first, per key: all of a column's values when they are few, else the top EXACT_LIMIT + 1
    (the texts for the frequent-items sketch); per key value, a list of (value, count)."""
    import pyspark.sql.functions as F
    from pyspark.sql.window import Window

    decimal = type(typed.schema[name].dataType).__name__ == "DecimalType"  # its values as doubles, as pandas would hold them
    col = F.col(f"__x{i}") if decimal else F.col(_quoted(name)) if numeric else F.col(f"__t{i}")
    present = typed.where(F.col(f"__p{i}"))
    if not keyed:
        rows = present.groupBy(col.alias("v")).count().orderBy(F.desc("count"), "v").limit(EXACT_LIMIT + 1).collect()
        return {None: [(r["v"], int(r["count"])) for r in rows]}
    grouped = present.groupBy(F.col(_KEY), col.alias("v")).count()
    rank = F.row_number().over(Window.partitionBy(_KEY).orderBy(F.desc("count"), "v"))
    out: dict[Any, list[tuple[int, Any, int]]] = {}
    for r in grouped.withColumn("__r", rank).where(F.col("__r") <= EXACT_LIMIT + 1).collect():
        out.setdefault(r[_KEY], []).append((int(r["__r"]), r["v"], int(r["count"])))
    return {k: [(v, n) for _, v, n in sorted(rows, key=lambda t: t[0])] for k, rows in out.items()}


def _spark_staged(df: Any, names: list[str], carry: list[str]) -> tuple[Any, Any, dict[str, bool]]:
    """The columns and, per column i, ``__p{i}`` (present: not null, not NaN), ``__x{i}`` (as a double: the number, or the
    text cast to one) and ``__t{i}`` (as text); then that with ``__f{i}`` (finite numbers) and, for numbers, ``__b{i}`` (the
    double's bits, by a call Spark counts as not deterministic, so the per-column GROUP BYs read the first, where Spark can
    leave out what a GROUP BY does not need); and which columns are numbers. The ``carry`` columns go along as they are."""
    import pyspark.sql.functions as F
    from pyspark.sql.types import BooleanType, DoubleType, FloatType, NumericType

    types = {f.name: f.dataType for f in df.schema.fields}
    numeric = {c: isinstance(types[c], (NumericType, BooleanType)) for c in names}
    first = []
    for i, c in enumerate(names):
        col = F.col(_quoted(c))
        present = col.isNotNull() & ~F.isnan(col) if isinstance(types[c], (DoubleType, FloatType)) else col.isNotNull()
        # a text is cast only when it starts as a number may (a failed cast costs Spark an exception: 10x the time)
        x = (
            F.when(present, col.cast("double"))
            if numeric[c]
            else F.when(col.rlike(r"(?i)^\s*[+-]?(\d|\.\d|inf|nan)"), F.expr(f"try_cast({_quoted(c)} as double)"))
        )
        first += [col, present.alias(f"__p{i}"), x.alias(f"__x{i}"), F.when(present, col.cast("string")).alias(f"__t{i}")]
    second = [F.col("*")]
    for i, c in enumerate(names):
        second.append(F.when(~F.col(f"__x{i}").isin(float("inf"), float("-inf")), F.col(f"__x{i}")).alias(f"__f{i}"))
        if numeric[c]:  # reflect is not deterministic to Spark, so it is computed here, before the aggregation
            bits = F.expr(f"cast(reflect('java.lang.Double', 'doubleToLongBits', __x{i} + 0.0D) as bigint)")  # + 0.0: -0.0 is 0.0
            second.append(F.when(F.col(f"__x{i}").isNotNull(), bits).alias(f"__b{i}"))  # reflect refuses a null
    typed = df.select(*first, *[F.col(c) for c in carry])
    return typed, typed.select(*second), numeric


def _spark_aggregates(names: list[str], numeric: dict[str, bool]) -> list[Any]:
    import pyspark.sql.functions as F

    out = [F.count(F.lit(1)).alias("rows")]
    for i, c in enumerate(names):
        x, f = F.col(f"__x{i}"), F.col(f"__f{i}")
        out += [F.sum(F.col(f"__p{i}").cast("long")).alias(f"present{i}"), F.count(f).alias(f"n{i}"), F.sum(f).alias(f"total{i}"),
                F.var_pop(f).alias(f"var{i}"), F.min(f).alias(f"min{i}"), F.max(f).alias(f"max{i}"), F.count(x).alias(f"parsed{i}"),
                F.count(F.when((f if numeric[c] else x) == F.floor(f if numeric[c] else x), 1)).alias(f"whole{i}"), F.expr(f"kll_sketch_agg_double(__f{i}, {KLL_K})").alias(f"kll{i}"),
                F.expr(f"hll_sketch_agg({f'__b{i}' if numeric[c] else f'__t{i}'}, {HLL_LG_K})").alias(f"hll{i}")]  # fmt: skip
    return out


def _spark_column(typed: Any, name: str, i: int, numeric: bool, agg: dict[str, Any], counts: list[tuple[Any, int]]) -> ColumnProfile:
    """One column's profile from the aggregation's figures and its GROUP BY's counts (:func:`_spark_counts`): the exact counts
    or the top texts."""
    import datasketches as ds
    import pandas as pd

    rows, present = int(agg["rows"]), int(agg[f"present{i}"] or 0)
    p = ColumnProfile(name, "numeric" if numeric else "string", rows=rows, missing=rows - present)
    parsed, whole = int(agg[f"parsed{i}"]), int(agg[f"whole{i}"])
    all_numbers = numeric or parsed == present
    if len(counts) <= EXACT_LIMIT:
        _distinct(p, pd.Index([v for v, _ in counts], dtype=object), np.array([n for _, n in counts], dtype=np.int64))
        all_numbers = numeric or p.string == 0
    else:
        p.values = None
        p.integral, p.fractional = whole, (present if numeric else parsed) - whole
        p.string = 0 if numeric else present - parsed
        p.hll = ds.hll_sketch.deserialize(bytes(agg[f"hll{i}"]))
        if not numeric:
            # the exact counts of the most frequent texts, less the error a frequent-items sketch of this many values may have
            # (its a-priori bound), so that they read as the lower bounds an in-process profile's sketch gives
            p.frequent, slack = _frequent(), ds.frequent_strings_sketch.get_apriori_error(FREQUENT_LG_K, present)
            for v, n in counts[:768]:
                if n > slack:
                    p.frequent.update(str(v), int(n - slack))
    p.n = int(agg[f"n{i}"]) if all_numbers else 0
    if p.n:
        p.total, p.minimum, p.maximum = float(agg[f"total{i}"]), float(agg[f"min{i}"]), float(agg[f"max{i}"])
        p.mean, p.m2 = p.total / p.n, float(agg[f"var{i}"]) * p.n
        p.kll = ds.kll_doubles_sketch.deserialize(bytes(agg[f"kll{i}"]))
    return p


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def csv_names(con: Any, first_file: str, detected: list[str], headers: list[str] | None) -> list[str]:
    """Column names of a CSV file: ``headers`` when given, else its header row, else Model Monitor's ``_c0, _c1, ...``
    (DuckDB would call them column0, column1, ..., which no Model Monitor baseline has)."""
    if headers is not None:
        if len(headers) != len(detected):
            raise DataError(f"{first_file} has {len(detected)} columns but headers names {len(headers)}: {', '.join(headers)}")
        return [str(h) for h in headers]
    quoted = "'" + first_file.replace("'", "''") + "'"
    has_header = con.sql(f"SELECT HasHeader FROM sniff_csv({quoted})").fetchall()[0][0]
    return list(detected) if has_header else [f"_c{i}" for i in range(len(detected))]


def column_names(data: Any, headers: list[str] | None = None) -> list[str]:
    """The names of the columns that :func:`_batches` yields for ``data`` (a CSV file's as :func:`csv_names` gives them)."""
    batches = _batches(data, None, 1, headers, names_only=True)
    return list(next(batches))


def _batches(data: Any, columns: list[str] | None, batch_rows: int, headers: list[str] | None = None, *, names_only: bool = False) -> Any:
    """The rows of ``data`` as pandas batches of at most ``batch_rows``, with ``columns`` only (all when None); with
    ``names_only``, one list: the names of the columns (of the first file)."""
    import os

    import pandas as pd

    if isinstance(data, (str, os.PathLike)):
        import glob

        path = os.fspath(data)
        files = sorted(glob.glob(path)) if any(ch in path for ch in "*?[") else [path]
        if not files or not all(os.path.exists(f) for f in files):
            raise DataError(f"no file matches {path!r}")
        if all(f.endswith(".parquet") for f in files):
            import pyarrow as pa
            import pyarrow.parquet as pq

            for f in files:
                try:
                    pf = pq.ParquetFile(f)
                except (pa.ArrowException, OSError) as exc:
                    raise DataError(f"cannot read {f!r} as Parquet: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
                _known(columns, pf.schema_arrow.names, f)
                if names_only:
                    yield list(pf.schema_arrow.names)
                    return
                batches = pf.iter_batches(batch_size=batch_rows, columns=columns)
                while True:  # streamed: a damaged row group fails when it is reached
                    try:
                        rb = next(batches)
                    except StopIteration:
                        break
                    except (pa.ArrowException, OSError) as exc:
                        raise DataError(f"cannot read {f!r} as Parquet: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
                    yield rb.to_pandas()
            return
        import duckdb

        con = duckdb.connect()
        try:
            source = con.sql(f"SELECT * FROM read_csv_auto({[*files]!r})")
            names = csv_names(con, files[0], source.columns, headers)
            source = con.sql(f"SELECT {', '.join(f'{_quote(a)} AS {_quote(b)}' for a, b in zip(source.columns, names, strict=True))} "
                             f"FROM read_csv_auto({[*files]!r})")  # fmt: skip
            _known(columns, names, path)
            if names_only:
                yield names
                return
        except duckdb.Error as exc:
            raise DataError(f"cannot read {path!r} as CSV: {str(exc).splitlines()[0]}") from None
        rel = source.select(*(_quote(c) for c in columns)) if columns else source
        reader = rel.to_arrow_reader(batch_rows) if hasattr(rel, "to_arrow_reader") else rel.fetch_arrow_reader(batch_rows)
        for rb in reader:
            yield rb.to_pandas()
        return
    from assay.spark import is_spark

    if is_spark(data):
        raise DataError("a Spark DataFrame is profiled and summarised by Spark, not read in batches here")
    frame = data.to_pandas() if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    if names_only:
        yield [str(c) for c in frame.columns]
        return
    if columns is not None:
        _known(columns, [str(c) for c in frame.columns], "the data")
        frame = frame[columns]
    for start in range(0, max(len(frame), 1), batch_rows):
        part = frame.iloc[start : start + batch_rows]
        if len(part):
            yield part


def _known(columns: list[str] | None, available: list[str], where: str) -> None:
    """Every requested column exists, or an error that names the missing ones and the nearest names."""
    from assay._errors import did_you_mean

    missing = [c for c in columns or [] if c not in available]
    if missing:
        hint = did_you_mean(missing[0], available)
        raise DataError(f"{where} has no column(s) {', '.join(map(repr, missing))}.{hint} Its columns: {', '.join(available)}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
