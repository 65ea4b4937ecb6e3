"""`assay check --policy POLICY [TARGET]`: the fairness gate for CI (thin: the work is in assay.gate).

Exit status: 0 every rule passed; 1 a rule failed; 3 no rule failed but one is inconclusive (``--inconclusive pass`` or
``fail`` decides those instead); 2 bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assay._errors import AssayError
from assay.cli._common import fail, out

EXIT = {"pass": 0, "fail": 1, "inconclusive": 3}


def check(
    target: Annotated[str | None, typer.Argument(help="Data (any table assay reads), or a directory or analysis.json that assay audit wrote; default: the audit config's dataset_uri.")] = None,
    policy: Annotated[Path, typer.Option("--policy", "-p", help="The policy: audit (a config), alpha, rules (docs/gates.md).")] = Path("policy.yaml"),
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the decisions as JSON to this file ('-': stdout).")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML to this file (one test case per decision).")] = None,
    inconclusive: Annotated[str, typer.Option("--inconclusive", help="What an inconclusive decision makes the run: report (exit 3), pass or fail.")] = "report",
) -> None:  # fmt: skip
    """Decide a fairness policy's rules from intervals: pass, fail, or inconclusive when the data cannot tell; exit 0, 1 or 3."""
    from assay.gate import check as run

    if inconclusive not in ("report", "pass", "fail"):
        fail(AssayError(f"--inconclusive must be report, pass or fail, got {inconclusive!r}"))
    try:
        result = run(policy, target)
    except AssayError as exc:
        fail(exc)
    doc = result.to_dict()
    if json_out is not None:
        text = json.dumps(doc, indent=2) + "\n"
        if str(json_out) == "-":
            typer.echo(text, nl=False)
        else:
            json_out.write_text(text)
    if junit is not None:
        junit.write_text(result.junit(inconclusive="fail" if inconclusive == "fail" else "skipped"))
    if str(json_out) != "-":
        _render(result)
    outcome = result.outcome
    if outcome == "inconclusive" and inconclusive != "report":
        outcome = inconclusive
    raise typer.Exit(EXIT[outcome])


def _render(result) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}
    num = lambda x: "undefined" if x is None else f"{x:.4g}"  # noqa: E731
    t = Table(title=f"assay check: {result.outcome.upper()}  ({', '.join(f'{v} {k}' for k, v in result.counts.items())})")
    for col, justify in (("rule", "left"), ("group", "left"), ("decision", "left"), ("value", "right"), ("interval", "right"), ("rows", "right")):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for d in result.decisions:
        ci = "" if not d.ci else f"[{num(d.ci[0])}, {num(d.ci[1])}]"
        t.add_row(d.rule, "" if d.group is None else str(d.group), f"[{colour[d.state]}]{d.state}[/]", num(d.value) if d.ci else "", ci,
                  "" if d.group_size is None else f"{d.group_size:,}")  # fmt: skip
    out.print(t)
    out.print("[dim]pass: the whole interval is inside the bounds; fail: wholly outside; inconclusive: it straddles a bound, or the metric "
              "is undefined (the reasons are in --json)[/]", highlight=False)  # fmt: skip
    for w in result.warnings:
        out.print(f"[dim]{w}[/]", highlight=False)
