"""`assay monitor ...`: baselines and checks in Model Monitor's file shapes (thin: the work is in assay.monitor)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay._analysis import AnalysisDocument
from assay._errors import AssayError
from assay.cli._common import EngineOption, SparkMasterOption, err, out, spark_data, spark_master
from assay.cli._common import fail as _fail
from assay.cli._common import report as _report

monitor_app = typer.Typer(name="monitor", help="Monitoring: baseline statistics and constraints (Model Monitor's files), checks of new data against them.",
                          no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip

Data = Annotated[
    str,
    typer.Argument(
        help="Data: a Parquet or CSV file or glob (streamed in batches), read with bounded memory; with "
        "--engine spark, any path Spark reads or a table of its catalog."
    ),
]
Columns = Annotated[list[str] | None, typer.Option("--column", "-c", help="Only these columns (repeat the option).")]
BatchRows = Annotated[int, typer.Option("--batch-rows", help="Rows per batch when streaming files.")]
Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Monitoring config (label, predicted_label or probability, facet, id, ground_truth, "
        "model_quality_constraints, monitor): adds model quality and bias.",
    ),
]


@monitor_app.command()
def baseline(data: Data, out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory for statistics.json and constraints.json.")],
             column: Columns = None, batch_rows: BatchRows = 500_000, config: Config = None, engine: EngineOption = None,
             spark: SparkMasterOption = None) -> None:  # fmt: skip
    """Profile DATA and write OUT/statistics.json and a suggested OUT/constraints.json (Model Monitor's shapes; edit the constraints).
    With --config, also OUT/model.json: model quality with intervals and every bias metric, the baseline for their drift."""
    from assay import monitor

    try:
        p, written = monitor.baseline(spark_data(data, spark_master(engine, spark)), out_dir, columns=column, batch_rows=batch_rows, config=config)
    except AssayError as exc:
        _fail(exc)
    out.print(f"[bold]assay monitor baseline[/]: {p.rows:,} rows, {len(p.columns)} columns")
    for path in written:
        out.print(f"Wrote [bold]{path}[/]")


@monitor_app.command()
def check(data: Data, base: Annotated[Path, typer.Option("--baseline", "-b", help="Directory with statistics.json and constraints.json.")],
          out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory for constraint_violations.json and the data's statistics.json.")],
          column: Columns = None, batch_rows: BatchRows = 500_000, config: Config = None,
          fail: Annotated[bool, typer.Option("--fail-on-violation", help="Exit with status 1 when there is a violation.")] = False,
          engine: EngineOption = None, spark: SparkMasterOption = None) -> None:  # fmt: skip
    """Check DATA against a baseline: data types, completeness, domains, missing/extra columns, drift per column with p- and q-values;
    with --config, model quality (ground truth joined on the id) and bias drift against the baseline's."""
    from assay import monitor

    try:
        checked = monitor.check(spark_data(data, spark_master(engine, spark)), base, out_dir, columns=column, batch_rows=batch_rows, config=config)
    except AssayError as exc:
        _fail(exc)
    result, p, spec = checked.result, checked.profile, checked.spec
    _render(result, p.rows)
    out.print(f"Wrote [bold]{out_dir / 'constraint_violations.json'}[/]")
    _alert(spec, result["violations"], {"data": data, "baseline": str(base)})
    if fail and result["violations"]:
        raise typer.Exit(1)


@monitor_app.command()
def run(data: Data, base: Annotated[Path, typer.Option("--baseline", "-b", help="Directory with statistics.json and constraints.json (and model.json).")],
        config: Annotated[Path, typer.Option("--config", help="Monitoring config; must name the 'timestamp' column.")],
        out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory: OUT/analysis.json gets 'monitoring' (every window's checks and the series).")],
        window: Annotated[str | None, typer.Option("--window", "-w", help="Window length (15min, 1h, 1D, 7D); overrides monitor.window.")] = None,
        report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html with the series plotted.")] = False,
        batch_rows: BatchRows = 500_000,
        fail: Annotated[bool, typer.Option("--fail-on-violation", help="Exit with status 1 when any window has a violation.")] = False,
        engine: EngineOption = None, spark: SparkMasterOption = None) -> None:  # fmt: skip
    """Check every time window of DATA against the baseline: a time series of drift, data quality, model quality and bias, with intervals; alerts per window."""
    from assay import monitor

    try:
        result, spec = monitor.run(spark_data(data, spark_master(engine, spark)), base, config, window=window, batch_rows=batch_rows)
        written = [AnalysisDocument(out_dir).set("monitoring", result)]
    except AssayError as exc:
        _fail(exc)
    bad = 0
    for w in result["windows"]:
        v = w["result"]["violations"]
        bad += bool(v)
        kinds = sorted({x["constraint_check_type"] for x in v})
        out.print(f"{w['start']}  {w['rows']:>9,} rows  " + (f"[red]{len(v)} violation(s)[/]: {', '.join(kinds)}" if v else "ok"), highlight=False)
        w["alerts"] = _alert(spec, v, {"window": {"start": w["start"], "end": w["end"]}, "data": data, "baseline": str(base)})
    if any(w.get("alerts") for w in result["windows"]):
        written = [AnalysisDocument(out_dir).set("monitoring", result)]
    out.print(f"[bold]{len(result['windows'])} windows of {result['window']}[/], {bad} with violations")
    if report:
        written += _report(out_dir)
    for path in written:
        out.print(f"Wrote [bold]{path}[/]")
    if fail and bad:
        raise typer.Exit(1)


def _alert(spec, violations: list, context: dict) -> list:  # type: ignore[no-untyped-def,type-arg]
    """Send the violations to the configured alerts (none: nothing); what happened to each is printed and returned."""
    if spec is None or not spec.alerts or not violations:
        return []
    from assay.monitor import send_alerts

    outcomes = send_alerts(spec.alerts, {"source": "assay monitor", **context, "violations": violations})
    for o in outcomes:
        if "error" in o or o.get("returncode"):
            err.print(f"[yellow]alert failed:[/] {o}", highlight=False)
    return outcomes


def _render(result: dict, rows: int) -> None:  # type: ignore[type-arg]
    from rich import box
    from rich.table import Table

    v = result["violations"]
    out.print(f"[bold]assay monitor check[/]: {rows:,} rows; {len(v)} violation(s)")
    drift = [(n, f["drift"]) for n, f in result["features"].items() if "drift" in f and f["drift"].get("tested", True)]
    t = Table(title="Drift by column (distance: KS for numbers, largest change of a category's share for categories)", box=box.SIMPLE_HEAD)
    for col in ("column", "test", "distance", "threshold", "p", "q", "drifted"):
        t.add_column(col, justify="left" if col in ("column", "test") else "right")
    for n, d in sorted(drift, key=lambda nd: -nd[1]["distance"]):
        t.add_row(n, d["statistic"], f"{d['distance']:.4f}", f"{d['threshold']:g}", f"{d['p_value']:.2g}", f"{d['q_value']:.2g}",
                  "[bold red]yes[/]" if d["drifted"] else "no")  # fmt: skip
    out.print(t)
    q = (result.get("model") or {}).get("quality")
    if q is not None:
        m = q["metrics"]
        shown = ", ".join(f"{k} {d['value']:.4f} [{d['ci'][0]:.4f}, {d['ci'][1]:.4f}]" for k, d in m.items() if d.get("value") is not None
                          and d.get("ci") and d["ci"][0] is not None and k in ("accuracy", "auc", "f1", "recall", "mae", "rmse", "r2"))  # fmt: skip
        out.print(f"model quality on {result['model']['labelled_rows']:,} rows with ground truth: {shown}")
    elif result.get("model"):
        out.print(f"[yellow]{result['model'].get('note')}[/]")
    for x in v:
        out.print(f"[red]{x['constraint_check_type']}[/] {x['feature_name']}: {x['description']}", highlight=False)
