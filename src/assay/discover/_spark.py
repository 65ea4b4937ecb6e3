"""Subgroup discovery on a Spark DataFrame: the split and the confirmation where the rows are, the search on the driver.

Each row goes to confirmation or discovery by a seeded hash of its values (``xxhash64``, the same however the data is
partitioned; rows equal in every column go together). The discovery rows, or a seeded hash sample of ``max_rows`` of them,
come to the driver, where the conditions are made (bins and values from those rows: they use no outcome) and the search and
the selection run as in process. The chosen subgroups are then tested on every confirmation row by one ``mapInArrow`` pass:
each batch computes the rows' outcomes with the same code as in process and returns, per subgroup, the rows, the sum and the
sum of squares of the outcome (a few numbers per batch, summed on the driver). So every confirmation row is used, exactly,
and only the discovery rows and those sums leave the executors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from assay._errors import ConfigError, DataError, did_you_mean, list_some
from assay.spark import task_error

__all__ = ["discover_spark"]

_SPLIT = "__assay_confirm"
_SCALE = 1 << 30


Outcome = Callable[[Any], tuple[np.ndarray, np.ndarray]]


def discover_spark(df: Any, roles: list[str], columns: Any, outcome: Outcome, opts: dict[str, Any], max_rows: int,
                   choose: Callable[[Any, np.ndarray, np.ndarray], tuple[Any, list[Any], dict[Any, float]]]) -> dict[str, Any]:  # fmt: skip
    """The parts of :func:`assay.discover.discover` on a Spark DataFrame (see the module's description): the encoding, what
    ``choose`` (the search and the selection) returned on the discovery rows, the tested subgroups' (sum, sum of squares,
    rows) on the confirmation rows and the confirmation rows' total, the overall counts, settings and warnings."""
    import pyspark.sql.functions as F

    from assay._tabulate import row_sample
    from assay.discover._codes import encode

    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 100:
        raise ConfigError(f"max_discovery_rows must be a whole number of at least 100, got {max_rows!r}")
    names = list(df.columns)
    cols = list(columns) if columns is not None else [c for c in names if c not in roles]
    for c in [*roles, *cols]:
        if c not in names:
            raise DataError(f"the data has no column {c!r}.{did_you_mean(c, names)} Columns: {list_some(names, 20)}")
    if _SPLIT in names:
        raise DataError(f"column {_SPLIT!r} is a name assay keeps for its own use on Spark; rename it")
    used = list(dict.fromkeys([*roles, *cols]))
    data = df.select(*[df[c] for c in used])
    h = F.xxhash64(*[data[c] for c in used], F.lit(int(opts["seed"])), F.lit(7))
    split = data.withColumn(_SPLIT, F.pmod(h, F.lit(_SCALE)) < F.lit(int(opts["confirm_fraction"] * _SCALE)))
    discovery = split.where(~F.col(_SPLIT)).drop(_SPLIT)
    total = discovery.count()
    warnings = []
    if total > max_rows:
        import narwhals as nw

        sample = row_sample(nw.from_native(discovery), max_rows, total, int(opts["seed"]) + 1)
        assert sample is not None  # a Spark DataFrame is always sampled
        discovery = nw.to_native(sample)
        warnings.append(f"searched a seeded hash sample of about {max_rows:,} of the {total:,} discovery rows (max_discovery_rows); "
                        "the subgroups were tested on every confirmation row")  # fmt: skip
    frame = discovery.toArrow().to_pandas()
    eligible, y = outcome(frame)
    enc = encode(frame, cols, opts["bins"])
    d_rows = np.flatnonzero(eligible)
    counted, chosen, p_d = choose(enc, d_rows, y[d_rows])
    conditions = [[enc.conditions[j][v].to_dict() for j, v in s] for s in chosen]
    sums = _sums(split, conditions, outcome)
    n_all, sum_all, n_d = sums[:3]
    return {"enc": enc, "counted": counted, "chosen": chosen, "p_d": p_d, "total": (float(sums[4]), float(sums[5]), float(sums[3])),
            "parts": [(float(sums[7 + 3 * i]), float(sums[8 + 3 * i]), float(sums[6 + 3 * i])) for i in range(len(chosen))],
            "overall": {"rows": int(n_all), "sum": float(sum_all), "discovery_rows": int(n_d), "confirmation_rows": int(sums[3])},
            "settings": {"engine": "spark", "max_discovery_rows": max_rows, "discovery_rows_searched": len(d_rows)}, "warnings": warnings}  # fmt: skip


def _sums(split: Any, conditions: list[list[dict[str, Any]]], outcome: Callable[[Any], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Summed over every row, by one pass of Spark's executors: rows measured, the outcome's sum, discovery rows measured; the
    confirmation rows', their outcome's sum and sum of squares; then per subgroup its confirmation rows, sum, sum of squares."""
    import pyarrow as pa
    from pyspark.sql.types import ArrayType, DoubleType, StructField, StructType

    width = 6 + 3 * len(conditions)

    def batches(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from assay.discover._codes import group_mask

        acc = np.zeros(width)
        for batch in it:
            frame = batch.to_pandas()
            if not len(frame):
                continue
            confirm = frame.pop(_SPLIT).to_numpy(dtype=bool)
            eligible, y = outcome(frame)
            y = np.where(eligible, y.astype(np.float64), 0.0)
            c = eligible & confirm
            acc[:6] += [eligible.sum(), y.sum(), (eligible & ~confirm).sum(), c.sum(), y[c].sum(), (y[c] ** 2).sum()]
            for i, conds in enumerate(conditions):
                inside = c & group_mask(frame, conds)
                acc[6 + 3 * i : 9 + 3 * i] += [inside.sum(), y[inside].sum(), (y[inside] ** 2).sum()]
        yield pa.RecordBatch.from_arrays([pa.array([acc.tolist()], type=pa.list_(pa.float64()))], names=["sums"])

    schema = StructType([StructField("sums", ArrayType(DoubleType()))])
    try:
        rows = split.mapInArrow(batches, schema).toArrow().column("sums").to_pylist()
    except Exception as exc:  # an error inside a task arrives as a Java or Python exception several layers deep
        raise DataError(f"testing the subgroups on Spark failed: {task_error(exc)}") from None
    return np.sum(np.asarray(rows, dtype=np.float64).reshape(-1, width), axis=0) if rows else np.zeros(width)
