"""Counterfactual FlipTest (FT): the one post-training metric that needs rows, not counts.

For each member of facet d, the k nearest members of facet a (on the other
features, standardised, categorical features one-hot encoded; the facet's own
columns left out) stand in for "the same person in the other group". With
F+ = d members predicted negative whose counterfactual majority is positive
and F- = d members predicted positive whose counterfactual is negative,

    FT = (|F+| - |F-|) / n_d

so a positive FT means d is disfavoured, as Clarify's documentation defines
it (smclarify's code has the opposite sign). It runs on a seeded random
sample of at most ``max_rows`` rows (default 20,000; of a Parquet dataset,
rows kept by a seeded hash of their file and row number, which the reader
applies before it decodes the other columns; of a Spark DataFrame, always
rows kept by Spark by a seeded hash of their values, so only the sample
reaches the driver and it is the same for any partitioning); its interval is the
normal interval of the mean of the per-row flips (+1, -1, 0) over the d rows
in the sample, and its test the matching z-test of FT = 0. Sample weights are
not used by FlipTest. The comparisons' searches run at once, one per core.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import narwhals as nw
import numpy as np

from assay._tabulate import row_sample, threads
from assay.bias._registry import MetricValue, register
from assay.bias._settings import FlipTestOptions
from assay.spark import is_spark

__all__ = ["FlipTestContext", "design_matrix", "nearest"]


@dataclass
class FlipTestContext:
    features: np.ndarray  # (rows, p) standardised design matrix of the sample
    facet_cols: dict[str, tuple[np.ndarray, dict[Any, int]]]  # table key -> (per-row code, value -> code)
    feature_groups: dict[str, list[int]]  # source column -> design-matrix columns
    predicted: np.ndarray  # bool per row
    sampled_from: int
    k: int
    level: float
    table: Any = None
    cmp: Any = None
    workers: int = -1  # the neighbour search's threads (-1: every core)
    pending: Future[MetricValue] | None = None  # FT already under way (see :meth:`in_parallel`)

    @classmethod
    def build(
        cls,
        frame: nw.LazyFrame[Any],
        *,
        columns: list[str],
        facet_keys: dict[str, nw.Expr],
        label: Any,
        predicted_label: str | None,
        probability: str | None,
        probability_threshold: float,
        positive_values: Any,
        exclude: set[str],
        total: int,
        options: FlipTestOptions,
        seed: int,
        confidence_level: float,
    ) -> FlipTestContext:
        max_rows = options.max_rows
        exclude = set(exclude) | set(options.exclude)
        features = options.features or [c for c in columns if c not in exclude]
        pred_expr = (nw.col(probability) > probability_threshold) if probability else nw.col(str(predicted_label))

        def rows(source: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
            return source.select(*[nw.col(c) for c in features], pred_expr.alias("__pred"), *[e.alias(k) for k, e in facet_keys.items()])

        on_spark = is_spark(nw.to_native(frame))  # Spark always samples there: no rows collected
        sampled = row_sample(frame, max_rows, total, seed) if total > max_rows * 5 or on_spark else None
        if sampled is not None:
            table = rows(sampled).collect().to_arrow()
        else:
            table = rows(frame).collect().to_arrow() if total <= max_rows * 5 else _sample_large(rows(frame), max_rows, seed)
        rng = np.random.default_rng(seed)
        n = table.num_rows
        take = np.sort(rng.choice(n, size=max_rows, replace=False)) if n > max_rows else None

        def column(name: str) -> list[Any]:
            # lists for the few role columns (pyarrow's to_numpy imports pandas: 0.3 s)
            values = table.column(name).to_pylist()
            return values if take is None else [values[i] for i in take]

        pred_raw = column("__pred")
        if probability or label.threshold is not None:
            predicted = np.array([bool(v) for v in pred_raw])
        else:
            from assay.bias._audit import _match

            predicted = np.array([any(_match(v, p) for p in positive_values or ()) for v in pred_raw])
        design, groups = design_matrix({c: _arrow_column(table.column(c), take) for c in features if c not in facet_keys}, rows=len(predicted))
        facets = {k: _factorize(column(k)) for k in facet_keys}
        return cls(design, facets, groups, predicted, total, options.k, confidence_level)

    def in_parallel(self, table: Any, comparisons: list[Any]) -> list[FlipTestContext]:
        """Each comparison's context with its FlipTest already running on a pool of one thread per core, each search on one core,
        while the caller goes on to the count metrics: the searches release the GIL, so they overlap the metrics' Python and
        each other's single-threaded tree builds (on their own, the pool and the k-d tree's own threads take about as long:
        benchmarks/bench_fliptest.py)."""
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=max(1, min(len(comparisons), threads())), thread_name_prefix="assay-fliptest")
        futures = [pool.submit(fliptest, replace(self, table=table, cmp=c, workers=1)) for c in comparisons]
        pool.shutdown(wait=False)
        return [replace(self, table=table, cmp=c, pending=f) for c, f in zip(comparisons, futures, strict=True)]


@dataclass(frozen=True)
class Categories:
    """A categorical column: each row's code into ``labels`` (the values as text, a missing value as "None")."""

    codes: np.ndarray
    labels: list[str]


def design_matrix(columns: Mapping[str, Any], *, rows: int) -> tuple[np.ndarray, dict[str, list[int]]]:
    """The nearest-neighbour search's design matrix: numeric columns standardised (missing values at the mean), other columns
    one-hot encoded (left out beyond 200 categories); and, for each column, its columns of the matrix.

    Each column is a float array (numeric, NaN where missing), :class:`Categories`, or a list of values (numeric when every
    value is a number or None, else categories of the values as text)."""
    blocks, groups, start = [], {}, 0
    for c, values in columns.items():
        col = _from_list(values) if isinstance(values, list) else values
        if isinstance(col, Categories):
            _, inv = np.unique(np.asarray(col.labels, dtype=str), return_inverse=True)  # sorted; equal texts are one category
            present, codes = np.unique(inv.reshape(-1)[col.codes], return_inverse=True)  # the categories the rows hold
            block = np.eye(len(present))[codes.reshape(-1)] if len(present) <= 200 else np.zeros((len(codes), 0))
        else:
            x = np.where(np.isnan(col), np.nanmean(col) if np.isfinite(col).any() else 0.0, col)
            sd = x.std()
            block = ((x - x.mean()) / sd if sd > 0 else np.zeros_like(x))[:, None]
        blocks.append(block)
        groups[c] = list(range(start, start + block.shape[1]))
        start += block.shape[1]
    return (np.hstack(blocks) if blocks else np.zeros((rows, 0))), groups


def _from_list(values: list[Any]) -> np.ndarray | Categories:
    if all(v is None or isinstance(v, (int, float, Decimal)) for v in values):
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    codes, index = _factorize([str(v) for v in values])
    return Categories(codes, list(index))


def _arrow_column(chunked: Any, take: np.ndarray | None) -> np.ndarray | Categories:
    """A feature column of the sample from Arrow without a Python object per value (numbers and text read from the buffers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = chunked.combine_chunks()
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        arr = pc.cast(arr, pa.float64(), safe=False)  # a 64-bit integer beyond 2**53 to its nearest float, as float() does
        x = _buffer(arr, np.float64).copy()
        x[~_valid(arr)] = math.nan
        return x if take is None else x[take]
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if getattr(pa.types, "is_string_view", lambda _: False)(t):
        arr = pc.cast(arr, pa.string())
        t = arr.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        values = arr.to_pylist()
        return _from_list([values[i] for i in take] if take is not None else values)
    encoded = arr.dictionary_encode()
    labels = [str(v) for v in encoded.dictionary.to_pylist()] + ["None"]
    codes = _buffer(encoded.indices, np.int32).astype(np.int64)
    codes[~_valid(encoded.indices)] = len(labels) - 1
    return Categories(codes if take is None else codes[take], labels)


def _buffer(arr: Any, dtype: Any) -> np.ndarray:
    """The values of a fixed-width Arrow array as numpy (nulls hold whatever the buffer holds)."""
    return np.frombuffer(arr.buffers()[1], dtype=dtype)[arr.offset : arr.offset + len(arr)]


def _valid(arr: Any) -> np.ndarray:
    bitmap = arr.buffers()[0]
    if bitmap is None:
        return np.ones(len(arr), dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[arr.offset : arr.offset + len(arr)].astype(bool)


def _factorize(values: list[Any]) -> tuple[np.ndarray, dict[Any, int]]:
    index: dict[Any, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values))
    return codes, index


def _sample_large(lf: nw.LazyFrame[Any], max_rows: int, seed: int) -> Any:
    """A seeded sample of a large lazy frame, done by its engine where possible."""
    native = nw.to_native(lf)
    if type(native).__module__.startswith("duckdb"):
        rel = native.query("t", f"SELECT * FROM t USING SAMPLE reservoir({int(max_rows)} ROWS) REPEATABLE ({int(seed)})")
        return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
    return lf.collect().to_arrow()


@register(
    "FT", "post_training", clarify=True, kind="evaluate", context="fliptest",
    description="Counterfactual FlipTest (FT)",
    formula="(|F+| - |F-|) / n_d, counterfactuals from the k = 5 nearest neighbours in facet a",
    range=("-1", "1"), ideal="0", reference="SageMaker Clarify bias metrics documentation",
    needs=("predicted_label", "features"), test_name="z-test on the mean flip",
    smclarify="smclarify's FT has the opposite sign to its documentation (it counts d predicted positive whose neighbours are negative as F+), refuses non-numeric features, and does not scale features; assay follows the documented sign, one-hot encodes categorical features and standardises numeric ones.",
)  # fmt: skip
def fliptest(ctx: FlipTestContext | None) -> MetricValue:
    if ctx is None or ctx.cmp is None:
        return MetricValue(None, reason="FlipTest needs predicted labels and the feature columns")
    if ctx.pending is not None:
        return ctx.pending.result()
    table, cmp = ctx.table, ctx.cmp
    # a sampled row is in d when its combination of facet values is one of d's cells
    row_code = np.zeros(len(ctx.predicted), dtype=np.int64)
    cell_code = np.zeros(table.n_cells, dtype=np.int64)
    for k in cmp.keys:
        codes, index = ctx.facet_cols[k]
        radix = len(index) + 1  # + 1: a cell value absent from the sample
        to_sample = np.array([index.get(v, len(index)) for v in table.levels[k]], dtype=np.int64)
        row_code = row_code * radix + codes
        cell_code = cell_code * radix + to_sample[table.keys[k]]
    d = np.isin(row_code, cell_code[cmp.d_mask & (table.count > 0)])
    own = {c for c in cmp.facet.columns}
    keep = [i for c, idx in ctx.feature_groups.items() if c not in own for i in idx]
    x = ctx.features[:, keep]
    nd, na = int(d.sum()), int((~d).sum())
    if nd == 0 or na == 0:
        return MetricValue(None, reason="facet d or a has no row in the FlipTest sample")
    if x.shape[1] == 0:
        return MetricValue(None, reason="no feature columns are left for the nearest-neighbour search")
    k = 1 if na <= 9 else min(ctx.k, na)
    ya = ctx.predicted[~d]
    if ya.all() or not ya.any():
        counter = np.full(nd, bool(ya[0]))
    else:
        idx = nearest(x[d], x[~d], k, workers=ctx.workers)
        votes = ya[idx].mean(axis=1)
        counter = votes > 0.5  # majority of the k neighbours; a tie goes to the negative class
    own_pred = ctx.predicted[d]
    flips = (counter & ~own_pred).astype(float) - (~counter & own_pred).astype(float)
    value = float(flips.mean())
    note = f"on a random sample of {len(d):,} of {ctx.sampled_from:,} rows" if len(d) < ctx.sampled_from else None
    if nd < 2:
        return MetricValue(value, note=note)
    se = float(flips.std(ddof=1) / math.sqrt(nd))
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + ctx.level / 2)
    if se == 0:
        return MetricValue(value, (value, value), p_value=1.0 if value == 0 else 0.0, test="z-test on the mean flip", note=note)
    p = math.erfc(abs(value / se) / math.sqrt(2))
    return MetricValue(value, (max(-1.0, value - z * se), min(1.0, value + z * se)), p_value=p, test="z-test on the mean flip", note=note)


def nearest(query: np.ndarray, ref: np.ndarray, k: int, chunk: int = 2048, *, workers: int = -1) -> np.ndarray:
    """Indices of the k nearest rows of ``ref`` for each row of ``query`` (Euclidean), shape (n, k).

    A k-d tree queried on ``workers`` threads (-1: every core) up to 40 dimensions (a few numeric
    columns and one-hot categories: 0.9 s against 1.4 s for the brute force
    on 7,000 x 13,000 rows of 36 dimensions, 2 cores); beyond, a chunked
    brute-force search with one matrix product per chunk. Identical query
    rows (common when the features are a few categories) are searched once.
    """
    first, inverse = _distinct_rows(query)
    if len(first) < len(query):
        return nearest(query[first], ref, k, chunk, workers=workers)[inverse]
    if ref.shape[1] <= 40:
        from scipy.spatial import cKDTree

        _, idx = cKDTree(ref).query(query, k=k, workers=workers)
        return np.asarray(idx).reshape(len(query), -1)
    ref_sq = (ref * ref).sum(axis=1)
    out = np.empty((len(query), k), dtype=np.int64)
    for start in range(0, len(query), chunk):
        dist = ref_sq[None, :] - 2.0 * (query[start : start + chunk] @ ref.T)  # |q|^2 is the same for every candidate
        out[start : start + chunk] = np.argpartition(dist, k - 1, axis=1)[:, :k]
    return out


def _distinct_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The index of one row of each distinct row of ``x``, and each row's position among them: grouped by a random projection
    (a sort of one column, not of every column), checked exactly, with the full row sort when two distinct rows project alike."""
    h = x @ np.random.default_rng(0).uniform(1.0, 2.0, x.shape[1]) if x.size else np.zeros(len(x))
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if np.array_equal(x, x[first[inverse]]):
        return first, inverse
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)
