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
def sign(request: Annotated[Path, typer.Argument(help="The approval request (JSON) copied from the console's approval form or GET .../card/approval-request.")],
         reason: Reason,
         key: Annotated[Path, typer.Option("--key", help="Your Ed25519 private key (assay card keygen); ASSAY_KEY_PASSPHRASE if encrypted.")],
         target: Annotated[Path | None, typer.Option("--out", "-o", help="Write the signed approval here (default: print it).")] = None) -> None:  # fmt: skip
    """Sign a card approval for the service with your own key, which never leaves this machine: paste what it prints into the
    console's approval form (or POST it to .../card/approve-signed)."""
    import json

    from assay.cards import load_private_key, sign_approval

    def go() -> None:
        try:
            doc = json.loads(request.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise AssayError(f"{request} is not a readable JSON approval request ({exc})") from None
        if not isinstance(doc, dict):
            raise AssayError(f"{request} must hold a JSON object (the approval request)")
        text = json.dumps(sign_approval(doc, load_private_key(key, passphrase=_passphrase()), reason), sort_keys=True)
        if target is None:
            print(text)
        else:
            target.write_text(text + "\n", encoding="utf-8")
            out.print(f"signed approval written to {target}")

    _run(go)


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
def check(
    store: Store,
    data: Annotated[str, typer.Option("--data", help="Your data, scored by the model (any table assay reads).")],
    config: Annotated[Path, typer.Option("--config", help="The audit config for your data: label, facets, predicted_label or probability.")],
    trusted: Annotated[list[Path] | None, typer.Option("--trusted-key", help="A reviewer's public key (.pub) the approvals must be by; repeat.")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="False discovery rate over the claims (Benjamini-Hochberg).")] = 0.05,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write every claim's check as JSON to this file.")] = None,
) -> None:  # fmt: skip
    """Re-measure every metric a signed card states on your data: which claims hold there and which differ (exit 0, 1, or 3 when some cannot be checked)."""
    import json

    from assay._config import audit_config
    from assay.cards import check_card, load_public_key

    def go() -> dict:  # type: ignore[type-arg]
        keys = [load_public_key(p) for p in trusted] if trusted else None
        return check_card(store, audit_config(config, data=data).to_dict(), trusted_keys=keys, alpha=alpha)

    result = _run(go)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    _show_claims(result)
    raise typer.Exit({"holds": 0, "differs": 1, "inconclusive": 3}[result["outcome"]])


def _show_claims(result: dict) -> None:  # type: ignore[type-arg]
    from rich.table import Table

    num = lambda x: "" if x is None else f"{x:.4g}"  # noqa: E731
    signed = ", ".join(f"{a.get('by')} (key {a.get('key_id')})" for a in result["approvals"]) or "no signed approval"
    out.print(f"card {result['card']!r} version {result['version']} ({result['status']}; {signed}): {result['counts']['holds']} claims hold, "
              f"{result['counts']['differs']} differ, {result['counts']['inconclusive']} cannot be checked on this data", highlight=False)  # fmt: skip
    colour = {"holds": "green", "differs": "red", "inconclusive": "yellow"}
    t = Table()
    for col in ("metric", "group", "card", "your data", "difference [95% CI]", "rows", "state"):
        t.add_column(col, justify="left" if col in ("metric", "group", "state") else "right")
    for r in result["claims"]:
        ci = r["difference_ci"]
        t.add_row(r["metric"], f"{r['facet']} = {r['group']}", num(r["card_value"]), num(r["value"]),
                  "" if ci is None else f"{r['difference']:+.4g} [{ci[0]:+.4g}, {ci[1]:+.4g}]", "" if r["group_size"] is None else f"{r['group_size']:,}", f"[{colour[r['state']]}]{r['state']}[/]")  # fmt: skip
    out.print(t)


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
