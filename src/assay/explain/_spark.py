"""Explanations of a Spark DataFrame's rows: the attributions computed where the rows are, with ``mapInArrow``.

The costly part of an explanation is the model's evaluations: every explained
row is scored at up to 2·repeats·B·(M-1) hybrid points against the B
background rows. On Spark each task explains its partition's rows with the
same code as in process (the model and the background broadcast once to each
executor), and only the attributions, the predictions and the explained rows'
features and facets come back to the driver, where global importance,
importance by group and partial dependence are summarised as in process.
A row's attributions depend only on the row, the background, the model and
the seed (sampling draws each row's feature orders from a generator seeded by
its values), so they are the same on Spark as in process, for any
partitioning. Global importance's bootstrap resamples the rows in the order
they come back: the DataFrame's own order.

The background, the partial dependence grids and the facet associations are
drawn from the data on the driver: all of it up to ``FRAME_ROWS`` rows (then
every value equals the in-process explanation of ``df.toPandas()``), else a
seeded hash sample of about that many rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay._errors import DataError
from assay.explain._methods import Blocks, choose_method, compute
from assay.explain._model import ModelFunction
from assay.explain._shapley import ShapleyEstimate
from assay.spark import task_error

__all__ = ["FRAME_ROWS", "SparkRows"]

FRAME_ROWS = 100_000
_PREFIX = "__assay_"
_ORDER = _PREFIX + "order"


class SparkRows:
    """The rows of a Spark DataFrame to explain, and the data on the driver that the background and the summaries come from."""

    tasks: int | None = None

    def __init__(self, df: Any, columns: list[str], max_rows: int | None, seed: int, warnings: list[str]) -> None:
        clash = [c for c in columns if c.startswith(_PREFIX)]
        if clash:
            raise DataError(f"column {clash[0]!r} starts with {_PREFIX!r}, which assay keeps for its own columns on Spark; rename it")
        self.columns = columns
        data = df.select(*[df[c] for c in columns])
        total = df.count()
        if total == 0:
            raise DataError("the data has no rows to explain")
        # samples are drawn by a hash of every column (an id among them tells rows of equal features apart), then narrowed
        self.rows, self.count = data, f"{total:,} rows"
        if max_rows is not None and total > max_rows:
            self.rows, self.count = _sample(df, max_rows, total, seed).select(*columns), f"about {max_rows:,} rows"
            warnings.append(f"explained a seeded hash sample of about {max_rows:,} of {total:,} rows (max_rows; rows equal in every "
                            "column are kept or left together, whatever the partitioning)")  # fmt: skip
        if total <= FRAME_ROWS:
            self.frame = data.toArrow().to_pandas()
        else:
            self.frame = _sample(df, FRAME_ROWS, total, seed + 1).select(*columns).toArrow().to_pandas()
            warnings.append(f"the background, partial dependence grids and facet associations come from a seeded hash sample of "
                            f"{len(self.frame):,} of {total:,} rows")  # fmt: skip

    def explain(self, fn: ModelFunction, bg: Any, weights: np.ndarray, algorithm: str, repeats: int, seed: int,
                say: Callable[[str], None]) -> tuple[ShapleyEstimate, dict[str, Any], Any]:  # fmt: skip
        """The attributions of the explained rows, computed by Spark's executors; how; the explained rows (pandas, in order)."""
        feats = list(bg.columns)
        probe = self.frame[feats].iloc[:1000]
        name, how, _ = choose_method(fn, probe, bg, algorithm, repeats)
        parts = self.tasks = _tasks(self.rows)
        say(how.pop("say") + f", {self.count} on Spark" + (f" ({parts} tasks)" if parts else ""))
        table = self._run(_Task(fn, feats, bg, weights, name, repeats, seed))
        failed = table.column(_PREFIX + "failed").drop_null()
        if len(failed):  # a batch's rows the structure read on the probe does not reproduce: explain every row another way
            name, how, _ = choose_method(fn, probe, bg, algorithm, repeats, exact_unavailable=str(failed[0]))
            say(how.pop("say") + " (the exact method does not apply to every row)")
            table = self._run(_Task(fn, feats, bg, weights, name, repeats, seed))
        how["engine"] = "spark"
        if parts:
            how["partitions"] = parts
        return (
            _estimate_of(table, feats, float(np.asarray(fn.predict(bg), dtype=np.float64) @ (weights / weights.sum()))),
            how,
            table.select(self.columns).to_pandas(),
        )

    def _run(self, task: _Task) -> Any:
        from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

        extra = [StructField(f"{_PREFIX}prediction", DoubleType())]
        extra += [StructField(f"{_PREFIX}phi_{j}", DoubleType()) for j in range(len(task.feats))]
        extra += [StructField(f"{_PREFIX}se_{j}", DoubleType()) for j in range(len(task.feats))]
        extra += [StructField(f"{_PREFIX}model_rows", LongType()), StructField(f"{_PREFIX}failed", StringType())]
        import pyspark.sql.functions as F

        # the rows in their order, numbered, then spread over the tasks (a small sample may sit in one partition) and put back
        # in order on the driver
        rows = self.rows.withColumn(_ORDER, F.monotonically_increasing_id())
        if self.tasks:
            rows = rows.repartition(self.tasks)
        schema = StructType(list(rows.schema.fields) + extra)
        shipped = _broadcast(self.rows.sparkSession, task)
        try:
            return rows.mapInArrow(lambda batches: _explain_batches(batches, shipped), schema).toArrow().sort_by(_ORDER)
        except Exception as exc:  # a model error inside a task arrives as a Java or Python exception several layers deep
            raise DataError(f"explaining the rows on Spark failed: {task_error(exc)}") from None


def _tasks(df: Any) -> int | None:
    """How many tasks to explain ``df``'s rows in: its partitions, and at least two per core of the cluster (a row costs
    thousands of model evaluations, so every core should have some); None on Spark Connect, whose client cannot ask."""
    try:
        return max(int(df.rdd.getNumPartitions()), 2 * int(df.sparkSession.sparkContext.defaultParallelism))
    except Exception:  # noqa: BLE001  (Spark Connect has no RDDs)
        return None


def _sample(data: Any, rows: int, total: int, seed: int) -> Any:
    """About ``rows`` of the ``total`` rows, by a seeded hash of their values, ordered by it (the same for any partitioning)."""
    import narwhals as nw

    from assay._tabulate import row_sample

    kept = row_sample(nw.from_native(data), rows, total, seed)
    assert kept is not None  # a Spark DataFrame is always sampled
    return nw.to_native(kept)


@dataclass
class _Task:
    fn: ModelFunction
    feats: list[str]
    bg: Any
    weights: np.ndarray
    name: str
    repeats: int
    seed: int


_TASKS: dict[str, _Task] = {}  # on an executor's Python worker: each broadcast task unpickled once


def _broadcast(spark: Any, task: _Task) -> Callable[[], _Task]:
    """The task's model and background sent once to each executor (a broadcast variable of its cloudpickle bytes, since a model
    function may be a closure), unpickled once per Python worker; Spark Connect has no broadcast variables, and ships the task
    with the function (PySpark sends a function larger than 1 MB as a broadcast of its own)."""
    import uuid

    from pyspark import cloudpickle

    try:
        value = spark.sparkContext.broadcast(cloudpickle.dumps(task))
    except Exception:  # noqa: BLE001  (Spark Connect: no SparkContext on the client)
        return lambda: task
    key = uuid.uuid4().hex

    def shipped() -> _Task:
        if key not in _TASKS:
            _TASKS[key] = cloudpickle.loads(value.value)
        return _TASKS[key]

    return shipped


def _explain_batches(batches: Iterator[Any], shipped: Callable[[], _Task]) -> Iterator[Any]:
    """Runs on an executor: each Arrow batch's rows explained, its columns kept, the attributions added."""
    import pyarrow as pa

    task = shipped()
    for batch in batches:
        x = batch.to_pandas()[task.feats]
        est = compute(task.name, task.fn, x, task.bg, task.weights, task.repeats, task.seed, Blocks(len(x), 1, None))
        n, m = len(x), len(task.feats)
        if n == 0:
            continue
        if isinstance(est, str):
            values, se, prediction, used, failed = np.full((n, m), np.nan), np.full((n, m), np.nan), np.full(n, np.nan), 0, est
        else:
            values, se, prediction, used, failed = est.values, est.se, est.prediction, est.model_rows, None
        arrays = list(batch.columns) + [pa.array(prediction, pa.float64())]
        arrays += [pa.array(values[:, j], pa.float64()) for j in range(m)] + [pa.array(se[:, j], pa.float64()) for j in range(m)]
        arrays += [pa.array([used] + [0] * (n - 1), pa.int64()), pa.array([failed] + [None] * (n - 1), pa.string())]
        names = list(batch.schema.names) + [f"{_PREFIX}prediction"] + [f"{_PREFIX}phi_{j}" for j in range(m)]
        names += [f"{_PREFIX}se_{j}" for j in range(m)] + [f"{_PREFIX}model_rows", f"{_PREFIX}failed"]
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def _estimate_of(table: Any, feats: list[str], expected: float) -> ShapleyEstimate:
    m = len(feats)
    column = lambda name: table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)  # noqa: E731
    values = np.column_stack([column(f"{_PREFIX}phi_{j}") for j in range(m)]) if len(table) else np.empty((0, m))
    se = np.column_stack([column(f"{_PREFIX}se_{j}") for j in range(m)]) if len(table) else np.empty((0, m))
    used = int(np.asarray(table.column(f"{_PREFIX}model_rows").to_numpy(zero_copy_only=False)).sum())
    return ShapleyEstimate(values, se, expected, column(f"{_PREFIX}prediction"), used)
