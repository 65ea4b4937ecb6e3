"""Monitoring a Spark DataFrame: model quality, bias and the rows for attributions, whole or per time window, computed by Spark.

The in-process path reads batches and summarises each (:class:`~assay.monitor._model.ModelRows`); on Spark the same summary
is a few aggregations: model quality's count table and the bias count tensor are each one GROUP BY (:func:`assay._tabulate.tabulate`,
the audit's own, with the window's start as one more key when there are windows), the ground truth is joined on the id by
Spark, and the rows to explain are a seeded hash sample of about ``attribution_rows`` rows (of each window), brought to the
driver and explained there. Profiles per window are :func:`~assay.monitor._profile.spark_profiles`' keyed jobs. Only count
tables, profiles and the sample reach the driver.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay._errors import DataError
from assay.monitor._model import ModelRows, ModelSummary, MonitorSpec, _positive
from assay.monitor._profile import Profile, spark_profiles
from assay.monitor._profile import _quoted as _q

__all__ = ["spark_summaries", "spark_windows"]

_KEY = "__assay_window"


def spark_summaries(df: Any, spec: MonitorSpec, *, ground_truth: bool, key: Any = None) -> dict[Any, ModelSummary]:
    """The model summary of a Spark DataFrame (keyed None) or, with ``key`` (a Spark column), of each key's rows."""
    import pyspark.sql.functions as F
    from pyspark.sql.types import DoubleType, FloatType, NumericType

    reader = ModelRows(spec, list(df.columns), ground_truth=ground_truth)
    spec = reader.spec
    types = {f.name: f.dataType for f in df.schema.fields}
    if spec.probability is not None and spec.probability in types and not isinstance(types[spec.probability], NumericType):
        raise DataError(f"probability column {spec.probability!r} must hold numeric scores, but holds {types[spec.probability].simpleString()} "
                        "values; name predicted labels in predicted_label")  # fmt: skip
    frame = df.select(*[F.col(_q(c)) for c in reader.wanted], *([key.alias(_KEY)] if key is not None else []))
    if reader.truth is not None:
        truth = df.sparkSession.createDataFrame(reader.truth)
        frame = frame.drop(spec.label).join(F.broadcast(truth), on=str(spec.id), how="left")
    label = F.col(_q(str(spec.label))) if spec.label in frame.columns else F.lit(None)
    float_label = isinstance(dict((f.name, f.dataType) for f in frame.schema.fields).get(str(spec.label)), (DoubleType, FloatType))
    present = label.isNotNull() & ~F.isnan(label) if float_label else label.isNotNull()
    group = [F.col(_KEY)] if key is not None else []
    counted = frame.groupBy(*group).agg(F.count(F.lit(1)).alias("rows"), F.count(F.when(present, 1)).alias("labelled")).collect()
    out = {(r[_KEY] if key is not None else None): ModelSummary(rows=int(r["rows"]), labelled=int(r["labelled"])) for r in counted}
    out = {k: v for k, v in out.items() if v.rows}
    if spec.model is not None:
        _samples(frame, spec, out, key is not None)
    labelled = frame.where(present)
    if not any(s.labelled for s in out.values()):
        return out
    quality, bias = _tables(labelled, spec, key is not None)
    for k, summary in out.items():
        summary.quality = quality.get(k)
        summary.bias = bias.get(k) if bias is not None else None
    return out


def _tables(labelled: Any, spec: MonitorSpec, keyed: bool) -> tuple[dict[Any, Any], dict[Any, Any] | None]:
    """Model quality's count table (:func:`~assay.monitor._quality.quality_table`'s keys and sums) and the bias tensor
    (:func:`~assay.monitor._model.bias_table`'s), per key."""
    import narwhals as nw
    import pyspark.sql.functions as F

    from assay._tabulate import tabulate
    from assay.monitor._quality import SCORE_BINS

    window = {_KEY: nw.col(_KEY)} if keyed else {}
    if spec.task != "binary":
        e = F.col(_q(str(spec.predicted_label))).cast("double") - F.col(_q(str(spec.label))).cast("double")
        staged = nw.from_native(labelled.select(*([F.col(_KEY)] if keyed else []), e.alias("e"), F.col(_q(str(spec.label))).cast("double").alias("y")))
        table = tabulate(staged, window | {"__all": nw.lit(0)}, sums={"ae": nw.col("e").abs(), "e2": nw.col("e") ** 2, "e4": nw.col("e") ** 4,
                                                                     "y1": nw.col("y"), "y2": nw.col("y") ** 2})  # fmt: skip
        return _split(table, keyed), None
    values = _positive(spec)
    y = F.col(_q(str(spec.label))).isin(values).cast("long")
    decided = F.col(_q(spec.predicted_label)).isin(values) if spec.predicted_label else F.col(_q(str(spec.probability))) > spec.probability_threshold
    cols = [y.alias("__y"), decided.cast("long").alias("__p")]
    sums = {}
    if spec.probability is not None:
        s = F.col(_q(spec.probability)).cast("double")
        unit = (s >= 0) & (s <= 1)
        mid = (F.least(F.greatest(F.floor(s * SCORE_BINS), F.lit(0)), F.lit(SCORE_BINS - 1)).cast("double") + 0.5) / SCORE_BINS
        key = F.when(unit, mid).otherwise(s)  # assay.monitor._quality.score_key, in Spark's double arithmetic (the same IEEE steps)
        cols += [key.alias("__s"), (s - key).alias("d")]
        sums = {"s1": nw.col("d"), "s2": nw.col("d") ** 2}
    facets = [F.col(_q(c)).alias(c) for c in spec.facet_columns()]
    staged = nw.from_native(labelled.select(*([F.col(_KEY)] if keyed else []), *cols, *facets))
    keys = {k: nw.col(k) for k in ("__y", "__p", "__s") if k in staged.collect_schema().names()}
    quality = _split(tabulate(staged, window | keys, sums=sums), keyed)
    bias = None
    if spec.facets:
        bias = _split(tabulate(staged, window | {c: nw.col(c) for c in spec.facet_columns()} | {"__y": nw.col("__y"), "__p": nw.col("__p")}), keyed)
    return quality, bias


def _split(table: Any, keyed: bool) -> dict[Any, Any]:
    return table.split(_KEY) if keyed else {None: table}


def _samples(frame: Any, spec: MonitorSpec, out: dict[Any, ModelSummary], keyed: bool) -> None:
    """About ``attribution_rows`` rows of each key's rows, kept by a seeded hash of their values (so the same for any
    partitioning), brought to the driver as each summary's ``sample``."""
    import pyspark.sql.functions as F

    data_cols = [c for c in frame.columns if c != _KEY]
    h = F.pmod(F.xxhash64(*[F.col(_q(c)) for c in data_cols], F.lit(int(spec.seed))), F.lit(2**31 - 1))
    if keyed:
        sizes = F.create_map(*[x for k, s in out.items() for x in (F.lit(k), F.lit(s.rows))])
        rows = F.element_at(sizes, F.col(_KEY))
    else:
        rows = F.lit(next(iter(out.values())).rows if out else 1)
    kept = frame.where(h % rows < spec.attribution_rows).orderBy(h, *[F.col(_q(c)) for c in data_cols]).toArrow().to_pandas()
    groups = kept.groupby(_KEY, sort=False) if keyed else [(None, kept)]
    for _, part in groups:
        k = part[_KEY].iloc[0] if keyed else None
        if k in out:
            sample = part.drop(columns=[_KEY], errors="ignore").reset_index(drop=True)
            sample["__order"] = np.arange(len(sample), dtype=np.float64)
            out[k].sample = sample


def spark_windows(df: Any, spec: MonitorSpec, step: Any) -> tuple[dict[Any, Profile], dict[Any, ModelSummary]]:
    """Per time window (the ``timestamp`` floored to ``step``, in UTC): the profile and, with model columns, the model summary."""
    import pandas as pd
    import pyspark.sql.functions as F
    from pyspark.sql.types import TimestampNTZType, TimestampType

    ts_type = next((f.dataType for f in df.schema.fields if f.name == spec.timestamp), None)
    if ts_type is None:
        raise DataError(f"the data has no timestamp column {spec.timestamp!r}")
    col = F.col(_q(str(spec.timestamp)))
    ts = col if isinstance(ts_type, (TimestampType, TimestampNTZType)) else F.expr(f"try_to_timestamp({_q(str(spec.timestamp))})")
    micros = F.lit(int(step / pd.Timedelta(microseconds=1)))
    since = F.unix_micros(ts.cast("timestamp"))
    start = since - F.pmod(since, micros)  # floored to the window, in whole microseconds (before 1970 too)
    bad = df.where(start.isNull()).count()
    if bad:
        raise DataError(f"timestamp column {spec.timestamp!r} has {bad} values that are not times")
    profiles = spark_profiles(df, None, start)
    models = spark_summaries(df, spec, ground_truth=True, key=start) if spec.has_model else {}
    stamp = lambda k: pd.Timestamp(int(k), unit="us", tz="UTC")  # noqa: E731
    return {stamp(k): p for k, p in profiles.items()}, {stamp(k): m for k, m in models.items()}
