"""`assay bounty ...`: create a bias bounty over a holdout, take submissions, verify them, show their state, export the model
(thin: the work is in assay.bounty)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assay._errors import AssayError, ConfigError
from assay.cli._common import err, fail, out

bounty_app = typer.Typer(name="bounty", help="Bias bounties: submissions of a group and a better model for it, verified on a holdout the submitter never sees.",
                         no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip

Dir = Annotated[Path, typer.Argument(help="The bounty's directory (bounty.json, submissions/, log.jsonl).")]
Trusted = Annotated[list[str] | None, typer.Option("--trust", help="A type skops may load from the models (repeat the option).")]


def _loading(fn):  # type: ignore[no-untyped-def]
    """Run ``fn`` (which loads models), printing each warning once (a pickled model warns that loading it runs its code)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    for message in dict.fromkeys(str(w.message) for w in caught):
        err.print(f"[yellow]warning:[/] {message}", highlight=False)
    return result


@bounty_app.command()
def create(directory: Dir, holdout: Annotated[Path, typer.Option("--holdout", help="The holdout rows (Parquet or CSV) with the label.")],
           label: Annotated[str, typer.Option("--label", help="The label column.")],
           positive: Annotated[list[str], typer.Option("--positive", help="A positive label value (repeat the option).")],
           model: Annotated[Path, typer.Option("--model", help="The current model (.skops, .joblib, .pkl).")],
           margin: Annotated[float, typer.Option("--margin", help="The least gain accepted: share of the group x error reduction on it.")] = 0.001,
           alpha: Annotated[float, typer.Option("--alpha", help="The chance that any submission without that gain is accepted, at most.")] = 0.05,
           budget: Annotated[int, typer.Option("--budget", help="Verifications the holdout allows (each at level alpha / 2^budget).")] = 10,
           by: Annotated[str, typer.Option("--by", help="Who creates it.")] = "owner") -> None:  # fmt: skip
    """Create a bounty over a holdout and the current model."""
    from assay.bounty import BountyStore

    try:
        _loading(lambda: BountyStore.create(directory, holdout=holdout, label=label, positive=positive, model=model, margin=margin, alpha=alpha,
                                            budget=budget, by=by))  # fmt: skip
    except AssayError as exc:
        fail(exc)
    out.print(f"Created the bounty in [bold]{directory}[/]: {budget} verifications, each at level {alpha} / 2^{budget}, margin {margin}")


@bounty_app.command()
def submit(directory: Dir, group: Annotated[str, typer.Option("--group", help='The group as JSON: {"sex": "Female", "race": "Black"} or a list of conditions.')],
           model: Annotated[Path, typer.Option("--model", help="The model for the group (.skops, .joblib, .pkl).")],
           by: Annotated[str, typer.Option("--by", help="Who submits it.")]) -> None:  # fmt: skip
    """Submit a group and a model that does better on it."""
    from assay.bounty import BountyStore

    try:
        try:
            parsed = json.loads(group)
        except json.JSONDecodeError as e:
            raise ConfigError(f'--group is not JSON ({e.msg} at character {e.pos}): give {{"column": "value", ...}}') from None
        number = BountyStore(directory).submit(parsed, model, by=by)
    except AssayError as exc:
        fail(exc)
    out.print(f"Submission {number} recorded; `assay bounty status {directory}` shows when it is verified")


@bounty_app.command()
def verify(directory: Dir, trust: Trusted = None) -> None:
    """Verify the pending submissions on the holdout (the owner's command); prints what was decided, with the figures."""
    from assay.bounty import BountyStore

    try:
        decided = _loading(lambda: BountyStore(directory).verify(trusted=trust or []))
    except AssayError as exc:
        fail(exc)
    for d in decided:
        verdict = "[green]accepted[/]" if d["accepted"] else "[red]rejected[/]"
        out.print(f"submission {d['submission']}: {verdict}; gain {d['gain']:+.4f}, lower bound {d['lower_bound']:+.4f} at level {d['level']:.2g}, "
                  f"{d['group_rows']:,} holdout rows in the group; {d['budget_left']} verifications left", highlight=False)  # fmt: skip
    if not decided:
        out.print("nothing verified: no pending submission, or the budget is spent")


@bounty_app.command()
def status(directory: Dir) -> None:
    """Each submission's state (pending, accepted, rejected) and the budget left: what a submitter may know."""
    from assay.bounty import BountyStore

    try:
        s = BountyStore(directory).status()
    except AssayError as exc:
        fail(exc)
    out.print(f"{s['budget_left']} of {s['budget']} verifications left; margin {s['margin']}, alpha {s['alpha']}")
    for sub in s["submissions"]:
        out.print(f"  {sub['submission']}: {sub['state']:8}  by {sub['by']}: {json.dumps(sub['group'])}", highlight=False)


@bounty_app.command()
def export(directory: Dir, target: Annotated[Path, typer.Option("--out", help="Where to write the updated model (joblib).")], trust: Trusted = None) -> None:
    """Write the updated model: the accepted submissions as a decision list in front of the original model."""
    import joblib

    from assay.bounty import BountyStore

    try:
        model = _loading(lambda: BountyStore(directory).model(trusted=trust or []))
    except AssayError as exc:
        fail(exc)
    joblib.dump(model, target)
    out.print(f"Wrote [bold]{target}[/]: {len(model.rules)} accepted rule(s) in front of the original model")
