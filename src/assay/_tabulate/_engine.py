"""Data in: any supported table or file becomes a narwhals frame.

In-memory tables (pandas, polars, pyarrow) stay in the library that holds
them; files (CSV, Parquet, JSON Lines; a path or a glob) are scanned lazily by
DuckDB, so the GROUP BY runs out of core on files larger than memory. numpy
arrays and dicts of arrays become pyarrow tables first. Everything after this
module goes through one narwhals code path.
"""

from __future__ import annotations

import glob as _glob
import os
import sys
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import narwhals as nw

from assay._errors import ConfigError, DataError

__all__ = ["DATASET_TYPES", "as_frame", "read_dataset", "row_sample", "threads"]

#: Parquet relations read_dataset made -> (connection, files): a sample of their rows can be read without reading every row.
_PARQUET: weakref.WeakKeyDictionary[Any, tuple[Any, Any]] = weakref.WeakKeyDictionary()

#: Clarify's MIME types and our short names, mapped to a reader.
DATASET_TYPES = {
    "text/csv": "csv",
    "csv": "csv",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
    "parquet": "parquet",
    "application/jsonlines": "jsonl",
    "application/x-jsonlines": "jsonl",
    "jsonl": "jsonl",
    "jsonlines": "jsonl",
    "ndjson": "jsonl",
}

_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A dataset path or glob matched no file."""


def threads() -> int:
    """The threads to compute on: the environment's ``ASSAY_THREADS`` when set, else the cores this process may run on."""
    given = os.environ.get("ASSAY_THREADS")
    if given:
        if not given.strip().isdigit() or int(given) < 1:
            raise ConfigError(f"environment variable ASSAY_THREADS must be a whole number of threads of at least 1, got {given!r}")
        return int(given)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _connection() -> Any:
    import duckdb

    con = duckdb.connect()
    if os.environ.get("ASSAY_THREADS"):
        con.execute(f"SET threads = {threads()}")
    return con


def read_dataset(
    uri: str | os.PathLike[str],
    *,
    dataset_type: str | None = None,
    headers: Sequence[str] | None = None,
) -> nw.LazyFrame[Any]:
    """Open a file (or glob) as a lazy narwhals frame backed by DuckDB.

    ``headers``, as in Clarify's analysis config, names the columns of a CSV
    file that has no header row; without it the first row is the header.
    """
    path = os.fspath(uri)
    matches = sorted(_glob.glob(path)) if any(ch in path for ch in "*?[") else ([path] if Path(path).exists() else [])
    if not matches:
        raise DataFileNotFoundError(f"dataset {path!r} does not exist (no file matches it). Hint: paths are relative to the directory you run from.")
    if os.path.isdir(matches[0]):
        raise DataError(f"dataset {path!r} is a directory; give a file or a glob such as '{path.rstrip('/')}/*.parquet'.")
    empty = [m for m in matches if os.path.getsize(m) == 0]
    if empty:
        raise DataError(f"dataset file {empty[0]!r} is empty (0 bytes); expected a table with a header row and data rows.")
    kind = _kind(path, dataset_type)
    if headers:
        _refuse_duplicates([str(h) for h in headers], "headers")
    elif kind == "csv":
        _refuse_duplicates(_csv_header(matches[0]), f"the header row of {matches[0]!r}")
    con = _connection()
    files = matches if len(matches) > 1 else matches[0]
    try:
        if kind == "parquet":
            rel = con.read_parquet(files)
            _PARQUET[rel] = (con, files)
        elif kind == "csv":
            if headers:
                rel = con.read_csv(files, header=False, names=list(headers))
            else:
                rel = con.read_csv(files, header=True)
        else:
            rel = con.read_json(files, format="newline_delimited")
        # Force the reader to look at the file now so that a corrupt file fails here.
        rel.limit(1).fetchall()
    except Exception as exc:  # duckdb raises many types; report them in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path!r} as {kind}: {first}") from exc
    if kind == "csv" and headers and len(rel.columns) != len(headers):
        raise DataError(f"'headers' names {len(headers)} columns but {path!r} has {len(rel.columns)}.")
    return nw.from_native(rel)


def row_sample(frame: nw.LazyFrame[Any], rows: int, total: int, seed: int) -> nw.LazyFrame[Any] | None:
    """About ``rows`` of the ``total`` rows of a Parquet dataset, each kept independently by a seeded hash of its file and row
    number (the reader then decodes the other columns of the kept rows only); of a Spark DataFrame, by a seeded hash of the
    row's values, ordered by it, so the sample and its order are the same however the data is partitioned (rows of equal
    values are kept or left together); None for other frames."""
    native = nw.to_native(frame)
    if type(native).__module__.startswith("pyspark.sql"):  # assay.spark.is_spark, which imports this module
        import pyspark.sql.functions as F

        h = "__assay_sample_hash"
        while h in native.columns:
            h += "_"
        hashed = native.withColumn(h, F.xxhash64(*[native[c] for c in native.columns], F.lit(int(seed))))
        kept = hashed.where(F.pmod(F.col(h), F.lit(max(int(total), 1))) < int(rows)).orderBy(h, *[native[c] for c in native.columns])
        return nw.from_native(kept.drop(h))
    try:
        con, files = _PARQUET[native]
    except (KeyError, TypeError):
        return None
    if {"filename", "file_row_number"} & set(native.columns):  # the reader's own names for what the sample hashes
        return None
    rel = con.read_parquet(files, file_row_number=True, filename=True)
    kept = rel.filter(f"hash(filename, file_row_number, {int(seed)}::BIGINT) % {max(int(total), 1)} < {int(rows)}")
    return nw.from_native(kept.project(", ".join('"' + c.replace('"', '""') + '"' for c in native.columns)))


def _csv_header(path: str) -> list[str]:
    """The first row of a CSV file as written (DuckDB would rename a repeated name to name_1)."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        return next(csv.reader(fh), [])


def _refuse_duplicates(names: Sequence[str], where: str) -> None:
    """Two columns of one name would make every reference to it ambiguous: refuse them, naming the name."""
    seen: set[str] = set()
    repeated = list(dict.fromkeys(n for n in names if n in seen or seen.add(n)))  # type: ignore[func-returns-value]
    if repeated:
        raise DataError(
            f"{where} has the column name {repeated[0]!r} more than once"
            + (f" (also {', '.join(map(repr, repeated[1:4]))})" if len(repeated) > 1 else "")
            + "; every column needs its own name. Hint: rename or drop the duplicates before the audit."
        )


def _kind(path: str, dataset_type: str | None) -> str:
    if dataset_type:
        kind = DATASET_TYPES.get(dataset_type.lower())
        if kind is None:
            raise DataError(f"dataset_type {dataset_type!r} is not supported. Expected one of: " + ", ".join(sorted(set(DATASET_TYPES))))
        return kind
    suffix = Path(path.replace("*", "x")).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise DataError(f"cannot tell the format of {path!r} from its name; set dataset_type to text/csv, application/x-parquet or application/jsonlines.")


def as_frame(data: Any, *, headers: Sequence[str] | None = None) -> nw.LazyFrame[Any]:
    """Wrap ``data`` as a lazy narwhals frame without copying where possible.

    Accepts pandas, polars (eager or lazy), pyarrow tables, DuckDB relations,
    PySpark DataFrames (the GROUP BY then runs on Spark), numpy 2-D arrays
    (with ``headers``), dicts of 1-D arrays, and paths.
    """
    if isinstance(data, nw.LazyFrame):
        return data
    if isinstance(data, nw.DataFrame):
        return data.lazy()
    if isinstance(data, (str, os.PathLike)):
        return read_dataset(data, headers=headers)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(data, np.ndarray):
        return _from_numpy(data, headers)
    if isinstance(data, Mapping):
        import pyarrow as pa

        try:
            table = pa.table({str(k): v for k, v in data.items()})
        except Exception as exc:
            raise DataError(f"cannot build a table from the dict: {exc}") from exc
        return nw.from_native(table).lazy()
    module = type(data).__module__.split(".")[0]  # polars forbids repeated names; pandas, pyarrow and DuckDB allow them
    columns = {"pandas": lambda: data.columns, "pyarrow": lambda: data.column_names, "duckdb": lambda: data.columns,
               "pyspark": lambda: data.columns}.get(module, lambda: None)()  # fmt: skip
    if columns is not None:
        _refuse_duplicates([str(c) for c in columns], "the data")
    try:
        frame = nw.from_native(data)
    except TypeError as exc:
        raise DataError(
            f"cannot audit an object of type {type(data).__name__}. Expected a pandas, polars or pyarrow table, "
            "a DuckDB relation, a PySpark DataFrame, a numpy 2-D array with headers, a dict of arrays, or a file path."
        ) from exc
    return frame.lazy() if isinstance(frame, nw.DataFrame) else frame


def _from_numpy(arr: Any, headers: Sequence[str] | None) -> nw.LazyFrame[Any]:
    import pyarrow as pa

    if arr.ndim != 2:
        raise DataError(f"a numpy array must be 2-D (rows x columns), got {arr.ndim}-D")
    if not headers:
        raise DataError("a numpy array has no column names: pass headers=[...] (one name per column)")
    if len(headers) != arr.shape[1]:
        raise DataError(f"headers names {len(headers)} columns but the array has {arr.shape[1]}")
    _refuse_duplicates([str(h) for h in headers], "headers")
    return nw.from_native(pa.table({str(h): arr[:, i] for i, h in enumerate(headers)})).lazy()
