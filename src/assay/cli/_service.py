"""`assay serve`, `assay service token`, `assay ledger verify|export` (thin: the work is in assay.service)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

service_app = typer.Typer(name="service", help="The service's administration: API tokens.", no_args_is_help=True, pretty_exceptions_enable=False)
ledger_app = typer.Typer(name="ledger", help="The hash-chained record of every action: verify it, export it.", no_args_is_help=True,
                         pretty_exceptions_enable=False)  # fmt: skip
out = Console()
err = Console(stderr=True)

Db = Annotated[str, typer.Option("--db", help="A SQLite file path, or a postgresql:// URL.")]


def _engine(db: str):  # type: ignore[no-untyped-def]
    from assay._errors import AssayError
    from assay._optional import MissingDependencyError, require

    try:
        for module in ("sqlalchemy", "alembic", "fastapi", "uvicorn"):
            require(module, feature="the assay service")
    except MissingDependencyError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    from assay.service import connect, migrate

    try:
        engine = connect(db)
        migrate(engine)
        return engine
    except AssayError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except Exception as exc:  # the database itself (unreachable server, bad URL)
        err.print(f"[bold red]error:[/] cannot open the database {db!r}: {type(exc).__name__}: {str(exc).splitlines()[0]}", highlight=False)
        raise typer.Exit(2) from None


@service_app.command()
def token(db: Db, name: Annotated[str, typer.Option("--name", help="Who the token is for.")],
          role: Annotated[str, typer.Option("--role", help="admin, owner, reviewer or auditor.")]) -> None:  # fmt: skip
    """Create an API token; it is printed once and only its hash is stored."""
    from assay.service import ROLES, create_token

    if role not in ROLES:
        err.print(f"[bold red]error:[/] --role must be one of {', '.join(ROLES)}, got {role!r}")
        raise typer.Exit(2)
    engine = _engine(db)
    try:
        typer.echo(create_token(engine, name=name, role=role))
    finally:
        engine.dispose()


@ledger_app.command()
def verify(db: Db) -> None:
    """Walk the hash chain: exit 0 when every entry follows the one before, 1 with the first broken entry otherwise."""
    from assay.service._ledger import verify as run

    engine = _engine(db)
    with engine.connect() as conn:
        result = run(conn)
    engine.dispose()
    if result["ok"]:
        out.print(f"ledger ok: {result['entries']:,} entries; head {result['head']}")
        return
    err.print(f"[bold red]ledger broken[/] at entry {result['seq']}: {result['problem']}", highlight=False)
    raise typer.Exit(1)


@ledger_app.command()
def export(db: Db, target: Annotated[Path, typer.Option("--out", "-o", help="JSON Lines file, one entry per line.")]) -> None:
    """Export every entry (with its hashes) as JSON Lines, for auditors."""
    from assay.service._ledger import entries

    n = 0
    engine = _engine(db)
    with engine.connect() as conn, target.open("w", encoding="utf-8") as fh:
        for e in entries(conn):
            fh.write(json.dumps(e, default=str) + "\n")
            n += 1
    engine.dispose()
    out.print(f"Wrote {n:,} entries to [bold]{target}[/]")


def serve(db: Db = "assay.db", host: Annotated[str, typer.Option("--host")] = "127.0.0.1", port: Annotated[int, typer.Option("--port")] = 8000) -> None:
    """Run the service (FastAPI): capture, ground truth, ledger. SQLite file by default; a postgresql:// URL for PostgreSQL."""
    import uvicorn

    from assay.service import create_app

    engine = _engine(db)
    uvicorn.run(create_app(db, engine=engine), host=host, port=port, log_level="info", access_log=False)
