"""`assay card ...`: build, review, sign, verify and export model cards (thin: the work is in assay.cards)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from assay._errors import AssayError
from assay.cli._common import err, out, show_verification

card_app = typer.Typer(name="card", help="Model cards: build from analysis.json, review (Draft -> PendingReview -> Approved -> Archived), sign, verify, export.",
                       no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip

Store = Annotated[Path, typer.Argument(help="Card store directory (versions/ and log.jsonl).")]
By = Annotated[str, typer.Option("--by", help="Your name, recorded with the action.")]
Reason = Annotated[str, typer.Option("--reason", help="Why; recorded with the action.")]


def _run(fn):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except AssayError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _passphrase() -> bytes | None:
    value = os.environ.get("ASSAY_KEY_PASSPHRASE")
    return value.encode() if value else None


@card_app.command()
def init(target: Annotated[Path, typer.Option("--out", help="Where to write the template of the card's human parts.")] = Path("card.yaml")) -> None:
    """Write a template of the human parts of a card (intended uses, risk, ethics, caveats, owners)."""
    from assay.cards import INFO_TEMPLATE

    def go() -> None:
        if target.exists():
            raise AssayError(f"{target} exists; edit it, or choose another --out")
        target.write_text(INFO_TEMPLATE, encoding="utf-8")
        out.print(f"Wrote [bold]{target}[/]: edit it, then run assay card build ANALYSIS_DIR --info {target} --store STORE --by NAME")

    _run(go)


@card_app.command()
def build(
    analysis: Annotated[Path, typer.Argument(help="Directory with analysis.json (or the file).")],
    info: Annotated[Path, typer.Option("--info", help="YAML of the human parts (assay card init writes a template).")],
    store: Annotated[Path, typer.Option("--store", help="Card store directory (created if missing).")],
    by: By,
) -> None:
    """Fill a card from analysis.json and the YAML; store it as a new Draft version (unchanged content: no new version)."""
    from assay.cards import CardStore, build_content
    from assay.report import load_analysis

    def go() -> None:
        content = build_content(load_analysis(analysis), info)
        version, created = CardStore(store).add_version(content, by=by)
        s = CardStore(store)
        if created:
            out.print(f"version {version} of card {s.name!r} stored as Draft in {store} (content hash {s.read(version)['content_hash']})")
        else:
            out.print(f"the content equals version {version} ({s.status(version)}); nothing new stored")

    _run(go)


def _action(action: str, store: Path, by: str, reason: str, key: Path | None = None) -> None:
    from assay.cards import CardStore, load_private_key

    def go() -> None:
        private = load_private_key(key, passphrase=_passphrase()) if key is not None else None
        e = CardStore(store).act(action, by=by, reason=reason, key=private)
        signed = f", signed with key {e['key_id']}" if e.get("signature") else ""
        out.print(f"version {e['version']}: {e['from_status']} -> [bold]{e['to_status']}[/] by {by}{signed}")

    _run(go)


@card_app.command()
def submit(store: Store, by: By, reason: Reason) -> None:
    """Draft -> PendingReview."""
    _action("submit", store, by, reason)


@card_app.command()
def approve(store: Store, by: By, reason: Reason,
            key: Annotated[Path, typer.Option("--key", help="Your Ed25519 private key (assay card keygen); ASSAY_KEY_PASSPHRASE if encrypted.")]) -> None:  # fmt: skip
    """PendingReview -> Approved, signed with the reviewer's key (the approver cannot be who created or submitted it)."""
    _action("approve", store, by, reason, key)


@card_app.command()
def reject(store: Store, by: By, reason: Reason) -> None:
    """PendingReview -> Draft."""
    _action("reject", store, by, reason)


@card_app.command()
def archive(store: Store, by: By, reason: Reason) -> None:
    """Any status -> Archived (final: no more versions)."""
    _action("archive", store, by, reason)


@card_app.command()
def status(store: Store) -> None:
    """Every version with its status and its review actions."""
    from assay.cards import CardStore

    def go() -> None:
        s = CardStore(store)
        for e in s.entries():
            signed = f" [signed {e['key_id']}]" if e.get("signature") else ""
            out.print(
                f"{e['time']}  v{e['version']}  {e['action']:<8} {e['from_status'] or '-'} -> {e['to_status']:<13} {e['by']}: {e['reason']}{signed}",
                highlight=False,
            )
        out.print(f"latest: version {s.latest()}, [bold]{s.status()}[/]")

    _run(go)


@card_app.command()
def verify(
    store: Store,
    trusted: Annotated[
        list[Path] | None, typer.Option("--trusted-key", help="A reviewer's public key (.pub); repeat. Approvals by other keys are reported.")
    ] = None,
) -> None:
    """Check every hash, link, transition and approval signature; exit 1 and list the problems if anything was altered."""
    from assay.cards import CardStore, load_public_key

    def go() -> None:
        keys = [load_public_key(p) for p in trusted] if trusted else None
        result = CardStore(store).verify(trusted_keys=keys)
        show_verification(result, "card store", ok_detail=f"; {result.versions} versions, every hash and signature checks")

    _run(go)


@card_app.command()
def export(
    store: Store,
    fmt: Annotated[str, typer.Option("--format", help="markdown (Hugging Face), sagemaker (JSON), html.")] = "markdown",
    target: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Version (default: the latest).")] = None,
) -> None:
    """Export a version of the card with its status, content hash and review record."""
    from assay.cards import CardStore, export_card

    def go() -> None:
        text = export_card(CardStore(store), fmt, version=version)
        if target is None:
            typer.echo(text)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            out.print(f"Wrote [bold]{target}[/]")

    _run(go)


@card_app.command()
def keygen(prefix: Annotated[Path, typer.Option("--out", help="Writes OUT.key (private, 0600) and OUT.pub (public).")]) -> None:
    """Make an Ed25519 key pair for signing approvals (encrypted with ASSAY_KEY_PASSPHRASE when set)."""
    from assay.cards import generate_key, key_id, load_public_key

    def go() -> None:
        private, public = generate_key(prefix, passphrase=_passphrase())
        out.print(f"Wrote [bold]{private}[/] (keep it secret) and [bold]{public}[/] (share it with whoever verifies); key id {key_id(load_public_key(public))}")

    _run(go)


__all__ = ["card_app"]
