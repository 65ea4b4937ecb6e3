"""Apache Spark: the session assay runs on, and tables and files read by Spark.

A PySpark DataFrame goes wherever a table goes (``assay.audit(df, ...)``): the
count tensor is one Spark SQL aggregation through narwhals' Spark backend, and
only the tensor comes back to the driver. :func:`session` starts (or joins) a
SparkSession for a master (``local[N]``, a cluster URL, or Spark Connect's
``sc://host``); :func:`read` opens a table by name or a file by path with it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assay._errors import ConfigError, DataError

__all__ = ["is_spark", "read", "session", "task_error"]

_PATH_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "json", ".ndjson": "json", ".json": "json"}


def is_spark(data: Any) -> bool:
    """Whether ``data`` is a PySpark DataFrame (classic or Spark Connect)."""
    return type(data).__module__.startswith("pyspark.sql") and hasattr(data, "sparkSession")


def session(master: str | None = None, *, app_name: str = "assay", conf: Mapping[str, Any] | None = None) -> Any:
    """The SparkSession for ``master`` (``sc://host:port`` is Spark Connect; default: the master ``spark-submit`` was given, else
    ``local[*]``), with ``conf`` set.

    An active session is reused (its master and conf as they are). A local or cluster master needs a Java runtime (17 or
    later) on this machine; without one the error names it, as it names ``assay[spark]`` when PySpark is missing.
    """
    from assay._optional import require

    require("pyspark", feature="Running on Spark")
    from pyspark.sql import SparkSession

    conf = dict(conf or {})
    bad = [k for k in conf if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"spark.conf keys must be Spark property names (strings), got {bad[0]!r}")
    if master is not None and not isinstance(master, str):
        raise ConfigError(f"spark master must be text such as 'local[2]', 'spark://host:7077' or 'sc://host', got {master!r}")
    builder = SparkSession.builder.appName(app_name)
    if master and master.startswith("sc://"):
        builder = builder.remote(master)
    else:
        _need_java()
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this Python, with assay and the model's packages
        if master:  # none: spark-submit's --master, else Spark's default, local[*]
            builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, str(value).lower() if isinstance(value, bool) else str(value))
    try:
        return builder.getOrCreate()
    except Exception as exc:  # py4j and Spark raise many types; one line with what to check
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot start Spark (master {master or 'local[*]'!r}): {first}") from None


def _need_java() -> None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return
    if shutil.which("java") is None:
        raise ConfigError(
            "Spark needs a Java runtime (17 or later) and none was found: install one (Debian/Ubuntu: apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME; or give a Spark Connect master (sc://host), which runs Java elsewhere."
        )


def read(uri: str, spark: Any, *, dataset_type: str | None = None, headers: Sequence[str] | None = None, table: bool | None = None) -> Any:
    """A Spark DataFrame of ``uri``: a path or glob (local, ``s3a://``, ``hdfs://``, ``dbfs:/``; Parquet, CSV or JSON Lines by
    ``dataset_type`` or suffix) or, when it is neither a path nor has a file's suffix (or ``table`` is true), a table of
    Spark's catalog (``db.table``)."""
    from assay._tabulate._engine import DATASET_TYPES

    text = os.fspath(uri)
    suffix = Path(text.replace("*", "x")).suffix.lower()
    kind = DATASET_TYPES.get(dataset_type.lower()) if dataset_type else _PATH_SUFFIXES.get(suffix)
    if dataset_type and kind is None:
        raise DataError(f"dataset_type {dataset_type!r} is not supported. Expected one of: " + ", ".join(sorted(set(DATASET_TYPES))))
    looks_like_path = not table and ("/" in text or ":" in text or kind is not None)
    try:
        if not looks_like_path:
            if not spark.catalog.tableExists(text):
                raise DataError(f"Spark has no table {text!r} (and it is not a path: give a file with its suffix, or a directory ending in /)")
            return spark.table(text)
        if kind == "csv":
            df = spark.read.csv(text, header=not headers, inferSchema=True)
            return df.toDF(*[str(h) for h in headers]) if headers else df
        if kind in ("json", "jsonl"):
            return spark.read.json(text)
        return spark.read.parquet(text)  # Parquet, and a directory of Parquet files as Spark writes them
    except DataError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Spark cannot read {text!r}: {first}") from None


def task_error(exc: BaseException) -> str:
    """The line of a Spark task's error that says what went wrong (a Python exception's last line), not Spark's wrapping."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    python = [ln for ln in lines if ln.split(":", 1)[0].endswith(("Error", "Exception")) and not ln.startswith(("org.", "py4j", "java."))]
    if python:
        kind, _, message = python[-1].partition(":")
        return message.strip() if kind.startswith("assay.") else python[-1]  # assay's own errors say what failed already
    return lines[0] if lines else type(exc).__name__
