"""What every command module shares: the consoles, the one-line error exit, the report step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from assay._errors import AssayError

__all__ = ["EngineOption", "SparkMasterOption", "err", "fail", "out", "report", "show_verification", "spark_data", "spark_master"]

out = Console()
err = Console(stderr=True)


def fail(exc: Exception) -> NoReturn:
    """One line on stderr naming what was wrong, and exit status 2 (never a traceback)."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(2)


EngineOption = Annotated[str | None, typer.Option("--engine", help="spark: read the data with Spark and compute there (default: "
                                                                   "in process; audit and explain also follow the config's spark: section).")]  # fmt: skip
SparkMasterOption = Annotated[str | None, typer.Option("--spark-master", help="Spark's master: local[N], spark://host:7077, yarn, "
                                                                              "sc://host:15002 (implies --engine spark).")]  # fmt: skip


def spark_master(engine: str | None, spark_master: str | None) -> str | None:
    """The master the command line asks for: None (as the config says), "" (Spark, with the config's master or local[*]), or a URL."""
    if engine not in (None, "spark"):
        fail(AssayError(f"--engine must be spark (or left out), got {engine!r}"))
    return (spark_master or "") if engine == "spark" or spark_master is not None else None


def spark_data(data: str, master: str | None) -> Any:
    """DATA as the command reads it: the path itself (None: in process), or a Spark DataFrame read by a session for ``master``."""
    if master is None:
        return data
    from assay.spark import read, session

    try:
        return read(data, session(master or None))
    except AssayError as exc:
        fail(exc)


def report(directory: Path, *, pdf: bool = False, title: str | None = None) -> list[Path]:
    """Write DIRECTORY/report.html (and .pdf) from its analysis.json; the paths written."""
    from assay.report import write_report

    try:
        return write_report(directory, pdf=pdf, title=title)
    except AssayError as exc:
        fail(exc)


def show_verification(result: Any, what: str, *, ok_detail: str = "") -> None:
    """Print a :class:`assay.ledger.Verification` the one way every record is reported: approvals found, then ``WHAT ok: N entries;
    head H`` (exit 0), or every problem, the first with its entry (exit 1)."""
    for a in result.approvals:
        out.print(f"approval of version {a['version']} by {a['by']} at {a['time']}, key {a['key_id']}, content {a['content_hash']}: "
                  f"{'valid' if a['valid'] else 'INVALID'}", highlight=False)  # fmt: skip
    if result.ok:
        out.print(f"[green]{what} intact[/]: {result.entries:,} entries; head {result.head}{ok_detail}", highlight=False)
        return
    where = f" at entry {result.seq}" if result.seq else ""
    err.print(f"[bold red]{what} broken[/]{where}: {result.problems[0]}", highlight=False, soft_wrap=True)
    for p in result.problems[1:]:
        err.print(f"[bold red]problem:[/] {p}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)
