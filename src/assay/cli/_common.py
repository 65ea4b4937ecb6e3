"""What every command module shares: the consoles, the one-line error exit, the report step."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from assay._errors import AssayError

__all__ = ["err", "fail", "out", "report"]

out = Console()
err = Console(stderr=True)


def fail(exc: Exception) -> NoReturn:
    """One line on stderr naming what was wrong, and exit status 2 (never a traceback)."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(2)


def report(directory: Path, *, pdf: bool = False, title: str | None = None) -> list[Path]:
    """Write DIRECTORY/report.html (and .pdf) from its analysis.json; the paths written."""
    from assay.report import write_report

    try:
        return write_report(directory, pdf=pdf, title=title)
    except AssayError as exc:
        fail(exc)
