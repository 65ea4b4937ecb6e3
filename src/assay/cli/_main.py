"""Typer commands. Everything here is also one call in ``import assay``."""

from __future__ import annotations

import json
import sys
import warnings as _warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from assay._analysis import AnalysisDocument
from assay._errors import AssayError
from assay.cli._common import EngineOption, SparkMasterOption, err
from assay.cli._common import fail as _fail
from assay.cli._common import report as _report
from assay.cli._common import spark_master as _master

app = typer.Typer(
    name="assay",
    help="Responsible-ML audits with confidence intervals. Start with `assay demo`, then `assay audit CONFIG --out DIR`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _add_card_commands() -> None:
    from assay.cli._bounty import bounty_app
    from assay.cli._card import card_app
    from assay.cli._gate import check
    from assay.cli._monitor import monitor_app
    from assay.cli._service import ledger_app, serve, service_app

    app.add_typer(card_app, name="card")
    app.add_typer(bounty_app, name="bounty")
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(service_app, name="service")
    app.add_typer(ledger_app, name="ledger")
    app.command(name="serve")(serve)
    app.command(name="check")(check)


def _add_section(section: str, run: Any, render: Any, *, out: Path, fmt: str, report: bool) -> None:
    """The tail of a command that adds one section to OUT/analysis.json: ``run()`` gives the result and the section's document;
    the document goes to stdout (--format json) or the result is rendered, then what was written is listed."""
    if fmt not in ("table", "json"):
        _fail(AssayError(f"--format must be table or json, got {fmt!r}"))
    try:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            result, doc = run()
        for w in caught:
            err.print(f"[yellow]warning:[/] {w.message}", highlight=False)
        written = [AnalysisDocument(out).set(section, doc)]
    except AssayError as exc:
        _fail(exc)
        return
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    render(result, Console())
    _wrote(written + (_report(out) if report else []))


def _wrote(paths: list[Path]) -> None:
    for path in paths:
        Console().print(f"Wrote [bold]{path}[/]")


@app.command()
def audit(
    config: Annotated[Path, typer.Argument(help="Analysis config (YAML or JSON); Clarify's analysis_config.json works as is.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for analysis.json (created if missing).")],
    data: Annotated[str | None, typer.Option("--data", help="Dataset path or glob; overrides dataset_uri in the config.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table (readable) or json (analysis.json on stdout).")] = "table",
    show: Annotated[str, typer.Option("--show", help="In the table: all metrics, or only significant disparities.")] = "all",
    replicates: Annotated[int | None, typer.Option("--replicates", help="Bootstrap replicates (default 1000, or the config's).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed for the bootstrap.")] = None,
    report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html from the results.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:  # fmt: skip
    """Measure bias in data (pre-training) and predictions (post-training); write OUT/analysis.json. With the config's
    differential_privacy: {epsilon, domain}, the audit is an epsilon-differentially private release (docs/privacy.md)."""
    from assay._config import audit_config

    if fmt not in ("table", "json"):
        _fail(AssayError(f"--format must be table or json, got {fmt!r}"))
    if show not in ("all", "significant"):
        _fail(AssayError(f"--show must be all or significant, got {show!r}"))
    overrides: dict[str, Any] = {"spark_master": _master(engine, spark_master)}
    if replicates is not None:
        overrides["bootstrap_replicates"] = replicates
    if seed is not None:
        overrides["seed"] = seed
    progress = None if (quiet or fmt == "json") else (lambda msg: err.print(f"[dim]{msg}...[/]"))
    try:
        result = audit_config(config, data=data, progress=progress, **overrides)
    except AssayError as exc:
        _fail(exc)
        return
    try:
        target = AnalysisDocument(out).replace(result.to_dict())  # an explanation written earlier into the same directory stays
    except AssayError as exc:
        _fail(exc)
    written = [target] + (_report(out) if report else [])
    if fmt == "json":
        sys.stdout.write(result.to_json() + "\n")
        return
    from assay.cli._render import render_audit

    render_audit(result, Console(), show=show)  # type: ignore[arg-type]
    for path in written:
        Console().print(f"Wrote [bold]{path}[/]")


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="Directory with analysis.json (from assay audit and/or assay explain).")],
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print DIRECTORY/report.pdf (needs Chromium or Chrome).")] = False,
    title: Annotated[str | None, typer.Option("--title", help="Page title (default: assay report).")] = None,
) -> None:
    """Write DIRECTORY/report.html: a self-contained page (tables with intervals, plots, definitions, limits) from analysis.json."""
    for path in _report(directory, pdf=pdf, title=title):
        Console().print(f"Wrote [bold]{path}[/]")


@app.command()
def explain(
    config: Annotated[Path, typer.Argument(help="Config with model: PATH (.skops, .joblib, .pkl) or module:function, dataset_uri, methods.shap, methods.pdp.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory: adds 'explanations' to OUT/analysis.json, local values to OUT/explanations_shap/.")],
    data: Annotated[str | None, typer.Option("--data", help="Dataset path or glob; overrides dataset_uri in the config.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Processes to split the rows over (-1: all cores); overrides explain.n_jobs.")] = None,
    report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html from the results.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:  # fmt: skip
    """Explain a model's scores with Shapley values (exact for tree and linear models, sampled with standard errors otherwise): global importance with CIs, by group, PDP/ICE."""

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    from assay._config import explain_config

    master = _master(engine, spark_master)
    progress = None if quiet else (lambda msg: err.print(f"[dim]{msg}...[/]"))
    bar = Progress("[dim]rows explained[/]", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=err, transient=True, disable=quiet)  # fmt: skip
    task = bar.add_task("rows", total=None)
    on_rows = None if quiet else (lambda done, total: bar.update(task, completed=done, total=total))
    try:
        with _warnings.catch_warnings(record=True) as caught, bar:
            _warnings.simplefilter("always")
            result, options = explain_config(config, data=data, progress=progress, on_rows=on_rows, n_jobs=jobs,
                                             spark_master=master)  # fmt: skip
        for w in caught:
            err.print(f"[yellow]warning:[/] {w.message}", highlight=False)
    except AssayError as exc:
        _fail(exc)
        return
    try:
        written = AnalysisDocument(out).add_explanations(result, save_local=options["save_local_shap_values"])
    except AssayError as exc:
        _fail(exc)
        return
    from assay.cli._render import render_explain

    render_explain(result, Console())
    _wrote(written + (_report(out) if report else []))


@app.command()
def discover(
    config: Annotated[Path, typer.Argument(help="Config: dataset_uri, label, label_values_or_threshold, predicted_label or probability, discover: {measure, columns, max_depth, ...}.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory: adds 'subgroup_discovery' to OUT/analysis.json (keeps what is there).")],
    data: Annotated[str | None, typer.Option("--data", help="Dataset path or glob; overrides dataset_uri in the config.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table (readable) or json (the section on stdout).")] = "table",
    report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html from the results.")] = False,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:  # fmt: skip
    """Find subgroups where the model does worse than on the rest: searched on half the rows, confirmed on the other half, with intervals and false discovery control."""
    from assay._config import discover_config
    from assay.cli._render import render_discover

    def run() -> tuple[Any, Any]:
        result = discover_config(config, data=data, spark_master=_master(engine, spark_master))
        return result, result.to_dict()

    _add_section("subgroup_discovery", run, render_discover, out=out, fmt=fmt, report=report)


@app.command()
def tasks(
    config: Annotated[Path, typer.Argument(help="Config: dataset_uri and tasks: [{metric: wer, group: dialect, unit: speaker, reference: ref, hypothesis: hyp}, ...].")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory: adds 'task_metrics' to OUT/analysis.json (keeps what is there).")],
    data: Annotated[str | None, typer.Option("--data", help="Dataset path or glob; overrides dataset_uri in the config.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table (readable) or json (the section on stdout).")] = "table",
    report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html from the results.")] = False,
) -> None:  # fmt: skip
    """A task's metric by group (WER by dialect, NDCG by user group, RMSE by region) with intervals from a bootstrap over units."""
    from assay._config import tasks_config
    from assay.cli._render import render_tasks

    def run() -> tuple[Any, Any]:
        results = [r.to_dict() for r in tasks_config(config, data=data)]
        return results, results

    _add_section("task_metrics", run, render_tasks, out=out, fmt=fmt, report=report)


@app.command()
def privacy(
    config: Annotated[Path, typer.Argument(help="Config: dataset_uri, facet, privacy: {quasi_identifiers, sensitive, k_min, scan, membership: {members, non_members}, epsilon_accuracy: {epsilons, runs}} (membership: model, label; epsilon_accuracy: the audit's keys and differential_privacy.domain).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory: adds 'privacy' to OUT/analysis.json (keeps what is there).")],
    data: Annotated[str | None, typer.Option("--data", help="Dataset path or glob; overrides dataset_uri in the config.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table (readable) or json (the section on stdout).")] = "table",
    report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html from the results.")] = False,
) -> None:  # fmt: skip
    """Scan for personal data (offline), measure quasi-identifier risk (k-anonymity, l-diversity, t-closeness) with the rows at risk by group, attack the model's membership privacy by group, and tabulate what differential privacy costs the audit, epsilon by epsilon."""
    from assay._config import privacy_config
    from assay.cli._render import render_privacy

    def run() -> tuple[Any, Any]:
        explanations = AnalysisDocument(out).read(strict=False).get("explanations")  # weighs the personal columns for minimisation
        result = privacy_config(config, data=data, explanations=explanations)
        return result, result

    _add_section("privacy", run, render_privacy, out=out, fmt=fmt, report=report)


@app.command()
def robustness(
    config: Annotated[Path, typer.Argument(help="Config: dataset_uri, model, facet (the sensitive attribute first), features, robustness: {proxies, noise, swap_rate, ...}.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory: adds 'robustness' to OUT/analysis.json (keeps what is there).")],
    data: Annotated[str | None, typer.Option("--data", help="Dataset path or glob; overrides dataset_uri in the config.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table (readable) or json (the section on stdout).")] = "table",
    report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html from the results.")] = False,
) -> None:  # fmt: skip
    """Would a decision change with the sensitive attribute (exact for tree ensembles and linear models), or under small realistic perturbations? By group, with a FlipTest by optimal transport beside Clarify's."""
    from assay._config import robustness_config
    from assay.cli._render import render_robustness

    def run() -> tuple[Any, Any]:
        result = robustness_config(config, data=data)
        return result, result

    _add_section("robustness", run, render_robustness, out=out, fmt=fmt, report=report)


@app.command()
def mitigate(
    config: Annotated[
        Path,
        typer.Argument(
            help="Config: dataset_uri, test_dataset_uri (or mitigate.test_fraction), label, label_values_or_threshold, facet, model: module:function, mitigate.methods."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory: adds 'mitigation' to OUT/analysis.json (keeps what is there).")],
    data: Annotated[str | None, typer.Option("--data", help="Training data path or glob; overrides dataset_uri in the config.")] = None,
    report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html with the trade-off table and Pareto plot.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
) -> None:
    """Compare bias mitigation methods: each (and the unmitigated model) is trained, predicts held-out data and is audited; accuracy against disparity, with intervals."""
    from assay._config import mitigate_config

    progress = None if quiet else (lambda msg: err.print(f"[dim]{msg}...[/]"))
    try:
        section = mitigate_config(config, data=data, progress=progress)
        written = [AnalysisDocument(out).set("mitigation", section)]
    except AssayError as exc:
        _fail(exc)
        return
    from assay.cli._render import render_mitigation

    render_mitigation(section, Console())
    _wrote(written + (_report(out) if report else []))


@app.command()
def metrics(
    stage: Annotated[str | None, typer.Option("--stage", help="pre_training or post_training")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """List the bias metrics: name, stage, formula, range, ideal value, reference."""
    from assay.bias import METRICS

    rows = [m for m in METRICS.values() if stage is None or m.stage == stage]
    if fmt == "json":
        sys.stdout.write(json.dumps([m.to_dict() for m in rows], indent=2) + "\n")
        return
    from rich.table import Table

    t = Table("name", "stage", "description", "formula", "range", "ideal", "test", show_lines=False)
    for m in rows:
        t.add_row(m.name, m.stage.replace("_training", ""), m.description, m.formula, f"[{m.range[0]}, {m.range[1]}]", m.ideal, m.test_name or "")
    Console().print(t)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the demo's outputs.")] = Path("demo-output"),
    replicates: Annotated[int, typer.Option("--replicates", help="Bootstrap replicates.")] = 1000,
) -> None:
    """Train a model on UCI Adult (train split), audit data and predictions on the test split, explain it, compare mitigations, write the report."""
    from assay.cli._demo import run_demo

    try:
        run_demo(out, replicates=replicates, console=Console())
    except AssayError as exc:
        _fail(exc)


_add_card_commands()


def main() -> None:
    """Entry point of the ``assay`` command: an error of the input (AssayError) is one line on stderr and exit status 2, never a traceback."""
    try:
        app()
    except AssayError as exc:
        _fail_plain(exc)


def _fail_plain(exc: Exception) -> None:
    import sys

    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    sys.exit(2)
