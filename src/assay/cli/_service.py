"""`assay serve`, `assay service token`, `assay ledger verify|anchor|export` (thin: the work is in assay.service and assay.ledger)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._common import err, out

service_app = typer.Typer(
    name="service",
    help="The service's administration: API tokens (make, revoke), monitoring baselines, Model Monitor capture files, a model's card store (export).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ledger_app = typer.Typer(name="ledger", help="The hash-chained record of every action: verify it, export it.", no_args_is_help=True,
                         pretty_exceptions_enable=False)  # fmt: skip

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


def _name_version(model: str) -> tuple[str, str]:
    name, _, version = model.partition("/")
    if not name or not version:
        err.print(f"[bold red]error:[/] --model must be NAME/VERSION, got {model!r}")
        raise typer.Exit(2)
    return name, version


@service_app.command()
def token(db: Db, name: Annotated[str, typer.Option("--name", help="Who the token is for.")],
          role: Annotated[str, typer.Option("--role", help="admin, owner, reviewer, approver (signs off model cards), auditor or bounty (an outsider who submits to bias bounties).")]) -> None:  # fmt: skip
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


@service_app.command()
def revoke(db: Db, name: Annotated[str, typer.Option("--name", help="Whose tokens to revoke (every active one of this name).")]) -> None:
    """Revoke every active token of NAME at once (their page sessions end too); recorded in the ledger."""
    from assay.service import revoke_tokens

    engine = _engine(db)
    try:
        done = revoke_tokens(engine, actor="cli", name=name)
    finally:
        engine.dispose()
    if not done:
        err.print(f"[bold red]error:[/] {name!r} has no active token", highlight=False)
        raise typer.Exit(1)
    out.print(f"Revoked {len(done)} token(s) of {name}: " + ", ".join(f"{d['role']} (id {d['id']})" for d in done), highlight=False)


@service_app.command("import-capture")
def import_capture(db: Db, model: Annotated[str, typer.Option("--model", help="NAME/VERSION of a registered model.")],
                   paths: Annotated[list[Path], typer.Argument(help="Model Monitor data-capture files (JSON Lines), or folders of them (searched for *.jsonl).")],
                   batch: Annotated[int, typer.Option("--batch", min=1, max=10_000, help="Records per transaction.")] = 1000,
                   ground_truth: Annotated[bool, typer.Option("--ground-truth", help="The files hold Model Monitor ground-truth records (groundTruthData).")] = False) -> None:  # fmt: skip
    """Capture SageMaker Model Monitor data-capture files (as POST .../data-capture does): routed, recorded, and ready for monitoring;
    with --ground-truth, its ground-truth files (labels by eventId)."""
    from assay.service import ImportStopped, capture_files, import_capture

    name, version = _name_version(model)
    files = capture_files(paths)
    engine = _engine(db)
    try:
        done = import_capture(engine, name, version, files, batch=batch, ground_truth=ground_truth)
    except ImportStopped as exc:
        kept = f"{exc.stored:,} records of earlier batches were stored" if exc.stored else "nothing was stored"
        err.print(f"[bold red]error:[/] {exc} ({kept})", highlight=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if ground_truth:
        out.print(f"{name}/{version}: ground truth for {done['stored']:,} predictions stored from {len(files)} file(s)")
    else:
        out.print(
            f"{name}/{version}: {done['stored']:,} predictions stored from {len(files)} file(s), {done['already_stored']:,} already there, "
            f"{done['routed']:,} routed to review"
        )


@service_app.command()
def baseline(db: Db, model: Annotated[str, typer.Option("--model", help="NAME/VERSION of a registered model.")],
             directory: Annotated[Path, typer.Argument(help="What `assay monitor baseline` wrote: statistics.json, constraints.json (and model.json).")]) -> None:  # fmt: skip
    """Give a registered model its monitoring baseline (recorded in the ledger); the API's PUT /models/NAME/VERSION/baseline does the same."""
    from assay._errors import AssayError
    from assay.monitor import baseline_documents
    from assay.service import store_baseline

    name, version = _name_version(model)
    try:
        stats, constraints, figures = baseline_documents(directory)
    except AssayError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    engine = _engine(db)
    try:
        done = store_baseline(engine, name, version, stats, constraints, figures, actor="cli")
    except AssayError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    out.print(f"Baseline of {name}/{version}: {done['rows']:,} rows, {len(done['columns'])} columns{', with model figures' if done['model_figures'] else ''}; "
              f"sha256 {done['sha256'][:16]}...")  # fmt: skip


@service_app.command("card")
def card_cmd(db: Db, model: Annotated[str, typer.Option("--model", help="NAME/VERSION of a registered model.")],
             target: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the card store to (must not exist).")]) -> None:  # fmt: skip
    """Write a model's card store, as the service keeps it, to a directory: `assay card verify DIR` checks every hash and signature,
    `assay card export DIR` renders it."""
    from assay.cards import Files
    from assay.service import card_of, find_model

    if target.exists():
        err.print(f"[bold red]error:[/] {target} exists; give a new directory", highlight=False)
        raise typer.Exit(2)
    name, version = _name_version(model)
    engine = _existing_db(db)
    try:
        with engine.connect() as conn:
            card = card_of(conn, find_model(conn, name, version))
    except Exception as exc:  # noqa: BLE001 - NotFound and the database's own errors, named
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if card is None:
        err.print(f"[bold red]error:[/] model {name}/{version} has no card", highlight=False)
        raise typer.Exit(2)
    files = Files(target)
    for record in card["versions"]:
        files.write(int(record["version"]), record)
    for entry in card["log"]:
        files.append(entry)
    out.print(f"Card {card['card']!r} of {name}/{version}: {len(card['versions'])} version(s), {len(card['log'])} log entries, latest "
              f"{card['status']}, written to {target}; check it: assay card verify {target}")  # fmt: skip


def _existing_db(db: str):  # type: ignore[no-untyped-def]
    """The engine of a database that must already exist: verifying or exporting a path that is not there must not create it."""
    if "://" not in db and not Path(db).is_file():
        err.print(f"[bold red]error:[/] database {db!r} does not exist (give the file the service writes, or a postgresql:// URL)", highlight=False)
        raise typer.Exit(2)
    if "://" not in db and not _is_sqlite(Path(db)):  # never turn another file into a database (opening it would migrate it)
        err.print(f"[bold red]error:[/] {db!r} is not a SQLite database (give the file `assay serve --db` writes, a postgresql:// URL, "
                  "a card store directory, or a ledger exported as .jsonl)", highlight=False)  # fmt: skip
        raise typer.Exit(2)
    return _engine(db)


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


def _writable(target: Path) -> None:
    if not target.parent.is_dir():
        err.print(f"[bold red]error:[/] cannot write {target}: the directory {target.parent} does not exist", highlight=False)
        raise typer.Exit(2)


@ledger_app.command()
def verify(target: Annotated[str | None, typer.Argument(help="A card store (its directory), a ledger exported by `assay ledger export` (.jsonl), "
                                                              "or the service's database (a SQLite file or a postgresql:// URL).")] = None,
           db: Annotated[str | None, typer.Option("--db", help="The service's database (the same as giving it as TARGET).")] = None,
           anchor_file: Annotated[Path | None, typer.Option("--anchor", help="An anchor written by `assay ledger anchor`: entries removed "
                                                                            "since it was taken are found too.")] = None,
           trusted: Annotated[list[Path] | None, typer.Option("--trusted-key", help="A card store's reviewer key (.pub); repeat. "
                                                                               "Approvals by other keys are reported.")] = None) -> None:  # fmt: skip
    """Walk a hash chain, the same check for every record: a card store (hashes, links, transitions, signatures), the service's
    database (hashes, links, and the rows it counts: captured predictions, review answers) or an exported ledger (hashes, links).
    Exit 0 when intact, 1 with every problem otherwise."""
    from assay.cli._common import show_verification

    if (target is None) == (db is None):
        err.print("[bold red]error:[/] give one record to verify: a card store, an exported ledger (.jsonl) or a database (TARGET or --db)", highlight=False)
        raise typer.Exit(2)
    where = str(target if target is not None else db)
    anchor = _anchor(anchor_file)
    card_store = db is None and Path(where).is_dir()
    if trusted and not card_store:
        err.print("[bold red]error:[/] --trusted-key checks a card store's approvals; a database or an exported ledger has none", highlight=False)
        raise typer.Exit(2)
    if card_store:
        from assay.cards import CardStore, load_public_key

        keys = [load_public_key(p) for p in trusted] if trusted else None
        result = CardStore(where).verify(trusted_keys=keys, anchor=anchor)
        show_verification(
            result,
            "card store",
            ok_detail=f"; {result.versions} versions, every hash and signature checks" + (f"; matches the anchor at entry {anchor['seq']}" if anchor else ""),
        )
        return
    if db is None and where.endswith(".jsonl"):
        from assay.ledger import verify_file

        result = verify_file(where, anchor=anchor)
    else:
        from assay.service import verify_ledger as run

        engine = _existing_db(where)
        with engine.connect() as conn:
            result = run(conn, anchor=anchor)
        engine.dispose()
    show_verification(result, "ledger", ok_detail=f"; matches the anchor at entry {anchor['seq']}" if anchor else "")


def _anchor(anchor_file: Path | None) -> dict[str, Any] | None:
    if anchor_file is None:
        return None
    try:
        anchor = json.loads(anchor_file.read_text(encoding="utf-8"))
        return {"seq": int(anchor["seq"]), "hash": str(anchor["hash"])}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        err.print(f"[bold red]error:[/] --anchor {anchor_file}: not an anchor written by `assay ledger anchor` ({type(exc).__name__}: {exc})", highlight=False)
        raise typer.Exit(2) from None


@ledger_app.command("anchor")
def anchor_cmd(db: Db, target: Annotated[Path, typer.Option("--out", "-o", help="JSON file for the anchor (keep it away from the database).")]) -> None:
    """Write the ledger's head (entry count and hash): `assay ledger verify --anchor FILE` later finds entries removed from the end."""
    from assay.service import ledger_anchor as anchor

    _writable(target)
    engine = _existing_db(db)
    with engine.connect() as conn:
        head = anchor(conn)
    engine.dispose()
    target.write_text(json.dumps(head, indent=2) + "\n", encoding="utf-8")
    out.print(f"Wrote the anchor of entry {head['seq']:,} ({head['hash'][:16]}...) to [bold]{target}[/]")


@ledger_app.command()
def export(db: Db, target: Annotated[Path, typer.Option("--out", "-o", help="JSON Lines file, one entry per line.")]) -> None:
    """Export every entry (with its hashes) as JSON Lines, for auditors."""
    from assay.service import ledger_entries as entries

    _writable(target)
    n = 0
    engine = _existing_db(db)
    with engine.connect() as conn, target.open("w", encoding="utf-8") as fh:
        for e in entries(conn):
            fh.write(json.dumps(e, default=str) + "\n")
            n += 1
    engine.dispose()
    out.print(f"Wrote {n:,} entries to [bold]{target}[/]")


def serve(db: Db = "assay.db", host: Annotated[str, typer.Option("--host")] = "127.0.0.1", port: Annotated[int, typer.Option("--port")] = 8000,
          schedule_tick: Annotated[float, typer.Option("--schedule-tick", min=0, help="Seconds between looks for due monitoring windows (0: no schedule).")] = 30.0) -> None:  # fmt: skip
    """Run the service: capture, human review, scheduled monitoring, contests, the ledger (a SQLite file, or a postgresql:// URL)."""
    import uvicorn

    from assay.service import create_app

    engine = _engine(db)
    uvicorn.run(create_app(db, engine=engine, schedule_tick=schedule_tick or None), host=host, port=port, log_level="info", access_log=False)
