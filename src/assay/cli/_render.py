"""Readable terminal tables of an audit: metrics down, facet values across."""

from __future__ import annotations

from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from assay.bias import AuditResult, FacetValueResult, StageResult


def _cell(value: float | None, significant: bool | None) -> str:
    if value is None:
        return "[dim]null[/]"
    text = f"{value:.3f}" if abs(value) < 100 else f"{value:.3g}"
    if significant:
        return f"[bold red]{text}*[/]"
    return text


def render_stage(stage: StageResult, title: str, console: Console, *, show: Literal["all", "significant"]) -> None:
    for facet, values in stage.facets.items():
        names: list[tuple[str, object]] = []
        for fv in values:
            for m in fv.metrics:
                key = (m.name, m.label_value)
                if key not in names:
                    names.append(key)
        per_table = max(1, (console.width - 14) // 13)
        for start in range(0, len(values), per_table):
            _table(stage, title, facet, values[start : start + per_table], names, console, show)


def _table(stage: StageResult, title: str, facet: str, values: list[FacetValueResult], names: list[tuple[str, object]], console: Console, show: str) -> None:
    t = Table(title=f"{title}: facet [bold]{facet}[/] (label {stage.label} = {stage.label_value_or_threshold})", title_justify="left")
    t.add_column("metric", no_wrap=True)
    for fv in values:
        t.add_column(_header(fv), justify="right", min_width=8, overflow="fold")
    shown = 0
    for name, cls in names:
        cells = []
        any_sig = False
        for fv in values:
            m = next((x for x in fv.metrics if x.name == name and x.label_value == cls), None)
            if m is None:
                cells.append("")
                continue
            any_sig = any_sig or bool(m.significant)
            cells.append(_cell(m.value, m.significant))
        if show == "significant" and not any_sig:
            continue
        shown += 1
        t.add_row(name if cls is None else f"{name} [{cls}]", *cells)
    if shown:
        console.print(t)


def _header(fv: FacetValueResult) -> str:
    small = " [yellow](small)[/]" if fv.group.small else ""
    name = fv.name.replace(" & ", " &\n")
    return f"{name}\nn={fv.group.size:,}{small}"


def render_audit(result: AuditResult, console: Console, *, show: Literal["all", "significant"] = "all") -> None:
    ds = result.dataset
    console.print(
        f"[bold]assay audit[/]: {ds['rows']:,} rows"
        + (f", weighted by {ds['sample_weight']}" if ds.get("weighted") else "")
        + f"; label type {ds['label_type']}; {result.settings['bootstrap_replicates']} bootstrap replicates, "
        f"{result.settings['confidence_level']:.0%} intervals"
    )
    total = sig = undefined = 0
    for stage in (result.pre_training, result.post_training):
        if stage is None:
            continue
        for values in stage.facets.values():
            for fv in values:
                for m in fv.metrics:
                    total += 1
                    sig += bool(m.significant)
                    undefined += m.value is None
    if result.pre_training is not None:
        render_stage(result.pre_training, "Pre-training (data)", console, show=show)
    if result.post_training is not None:
        render_stage(result.post_training, "Post-training (predictions)", console, show=show)
    dp = result.settings.get("differential_privacy")
    if dp:
        console.print(f"[bold]differentially private release[/]: epsilon {dp['epsilon']:g}, discrete Laplace noise (SD {dp['noise_sd_per_cell']:.3g} per "
                      f"cell) on all {dp['cells_released']:,} cells of the public domain; every figure, row counts included, is from the noisy "
                      f"counts; intervals include the noise; no p-values. {undefined} of {total} results undefined (reason in analysis.json).",
                      highlight=False)  # fmt: skip
    else:
        console.print(
            f"[bold red]*[/] = distinguishable from noise (Benjamini-Hochberg q <= {result.settings['alpha']:.2g} across all "
            f"{total} results); {sig} significant, {undefined} undefined (null, reason in analysis.json). "
            "Intervals, p-values and group sizes are in analysis.json."
        )
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)


def render_explain(result: Any, console: Console) -> None:
    """Global importance with intervals, and by-group proxy shares, as terminal tables."""
    from rich.table import Table

    m = result.method
    console.print(f"[bold]assay explain[/]: {m['model']}; {m['description']}")
    precision = "exact: no sampling error" if m["name"] != "sampling" else f"largest standard error {m['max_standard_error']:.3g}"
    console.print(f"{m['rows_explained']:,} rows, {m['features']} features, background: {m['baseline']}; "
                  f"{m['model_rows_evaluated']:,} model evaluations; {precision}")  # fmt: skip
    if m.get("exact_unavailable"):
        console.print(f"[dim]not exact because {m['exact_unavailable']}[/]")
    level = int(round(m["confidence_level"] * 100))
    t = Table(title=f"Global importance ({result.agg_method}, {level}% CI over rows)")
    t.add_column("feature")
    for agg in ("mean_abs", "median", "mean_sq"):
        t.add_column(agg, justify="right")
    imp = result.global_importance
    for f in sorted(result.features, key=lambda f: -imp[result.agg_method][f]["value"]):
        cells = []
        for agg in ("mean_abs", "median", "mean_sq"):
            v = imp[agg][f]
            lo, hi = v["ci"]
            cells.append(f"{v['value']:.3f} [{lo:.3f}, {hi:.3f}]" if lo == lo else f"{v['value']:.3f}")
        t.add_row(f, *cells)
    console.print(t)
    for facet, info in result.by_group.items():
        proxies = ", ".join(f"{p['feature']} ({p['association']:.2f})" for p in info["proxies"])
        own = "is a feature" if info["facet_is_feature"] else "is not a feature"
        g = Table(title=f"By {facet} ({facet} {own}; strongest proxies: {proxies})")
        g.add_column("group")
        g.add_column("rows", justify="right")
        g.add_column("share carried by facet + proxies: group / rest", justify="right")
        g.add_column(f"difference [{level}% CI]", justify="right")
        for v in info["values"]:
            c = v.get("carried_by_facet_and_proxies")
            if c is None:
                g.add_row(str(v["value"]), str(v["rows"]), v.get("reason", ""), "")
                continue
            lo, hi = c["ci"]
            ci = f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None else ""
            small = " [yellow](small)[/]" if v.get("small_group") else ""
            g.add_row(f"{v['value']}{small}", f"{v['rows']:,}", f"{c['d']:.3f} / {c['rest']:.3f}", f"{c['difference']:+.3f}{ci}")
        console.print(g)
    for w in result.warnings:
        console.print(f"[yellow]note:[/] {w}")


def _interval(d: dict[str, Any]) -> str:
    if d.get("value") is None:
        return f"undefined ({d.get('reason', '')})"
    lo, hi = d.get("ci", [None, None])
    return f"{d['value']:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else "")


def render_mitigation(section: dict[str, Any], console: Console) -> None:
    """The trade-off table: accuracy and disparities (worst group of the first facet) per method; * marks the Pareto front."""
    from rich import box
    from rich.table import Table

    m = section["method"]
    facet, metric = m["facets"][0], m["metric"]
    console.print(f"[bold]assay mitigate[/]: {m['training_rows']:,} training rows, {m['test_rows']:,} test rows; groups: {m['groups']}; {m['design']}")
    level = int(round(m["confidence_level"] * 100))
    others = [k for k in ("DPPL", "DI", "EqOddsD") if k != metric][:2]
    t = Table(title=f"On the test data, {level}% intervals; disparity of the {facet} group farthest from parity", box=box.SIMPLE_HEAD, padding=(0, 1))
    t.add_column("method", overflow="fold")
    for col in ("accuracy", metric, *others):
        t.add_column(col, justify="right", no_wrap=True)
    for r in section["results"]:
        if "error" in r:
            t.add_row(r["title"], f"[red]failed: {r['error'][:60]}[/]", *[""] * (len(others) + 1))
            continue
        d = r["disparities"].get(facet, {})
        value = [f"{d[k]['value']:.3f}" if d.get(k, {}).get("value") is not None else "undef." for k in others]
        t.add_row(
            r["title"] + (" *" if r["pareto"] else ""), _interval(r["accuracy"]), _interval(d.get(metric, {"value": None, "reason": "not computed"})), *value
        )
    console.print(t)
    console.print(f"[dim]* on the Pareto front of accuracy against |{metric}|: no other method is as accurate with a disparity as small. "
                  "DAR, fit times, every interval, group size and facet are in analysis.json and the report.[/]")  # fmt: skip


def render_discover(result: Any, console: Console, *, show: int = 15) -> None:
    """The confirmed subgroups (and how many were searched and tested) as a terminal table."""
    from rich.table import Table

    h, o, st = result.hypotheses, result.overall, result.settings
    console.print(f"[bold]assay discover[/]: {result.measure} {o['value']:.4f} on {o['rows']:,} rows; {h['searched']:,} subgroups of up to "
                  f"{st['max_depth']} conditions searched on {o['discovery_rows']:,} rows, {h['tested']} tested on the other "
                  f"{o['confirmation_rows']:,} ({h['correction'].split(' over')[0]}, FDR {st['alpha']})")  # fmt: skip
    found = result.found
    level = int(round(st["confidence_level"] * 100))
    from assay.discover import MEASURES

    worse = "a different" if MEASURES[result.measure][2] == "either" else "a worse"
    t = Table(title=f"{len(found)} subgroup(s) with {worse} {result.measure} than the rest (confirmation rows)")
    for col in ("subgroup", "rows", result.measure, "rest", f"difference [{level}% CI]", "q"):
        t.add_column(col, justify="left" if col == "subgroup" else "right")
    for s in found[:show]:
        c = s["confirmation"]
        lo, hi = c["difference_ci"]
        t.add_row(s["text"], f"{c['rows']:,}", f"{c['value']:.3f}", f"{c['rest_value']:.3f}", f"{c['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}]",
                  f"{s['q_value']:.2g}")  # fmt: skip
    console.print(t)
    if len(found) > show:
        console.print(f"[dim]{len(found) - show} more in analysis.json (subgroup_discovery)[/]")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)


def render_tasks(results: list[dict[str, Any]], console: Console) -> None:
    """Each task metric by group as a terminal table: value and difference from the rest, with intervals."""
    from rich.table import Table

    num = lambda x: "undefined" if x is None else f"{x:.4g}"  # noqa: E731
    for r in results:
        level = int(round(r["settings"]["confidence_level"] * 100))
        t = Table(title=f"{r['metric']} by {r['group']}: {num(r['overall']['value'])} overall"
                  + (f", bootstrap over {r['overall']['units']:,} {r['unit']} units" if r["unit"] else ""))  # fmt: skip
        for col in (r["group"], "rows", "units", f"{r['metric']} [{level}% CI]", f"difference from the rest [{level}% CI]"):
            t.add_column(col, justify="left" if col == r["group"] else "right")
        for g in r["groups"]:
            t.add_row(g["group"], f"{g['rows']:,}", f"{g['units']:,}", f"{num(g['value'])} [{num(g['ci'][0])}, {num(g['ci'][1])}]",
                      f"{num(g['difference'])} [{num(g['difference_ci'][0])}, {num(g['difference_ci'][1])}]")  # fmt: skip
        console.print(t)
        for w in r["warnings"]:
            console.print(f"[yellow]warning:[/] {w}", highlight=False)


def render_privacy(result: dict[str, Any], console: Console) -> None:
    """The personal columns found, and k, l, t with the rows at risk by group."""
    from rich.table import Table

    if "scan" in result:
        flagged = [c for c in result["scan"] if c["personal"]]
        console.print(f"[bold]personal data[/]: {len(flagged)} of {len(result['scan'])} columns")
        for c in flagged:
            kinds = ", ".join(f"{k['kind']} ({k['by']}" + (f", {k['share']:.0%}" if "share" in k else "") + ")" for k in c["kinds"])
            used = "" if "used_by_model" not in c else ("; the model uses it" if c["used_by_model"] else "; the model does not use it")
            console.print(f"  {c['column']}: {kinds}{used}", highlight=False)
    a = result.get("anonymity")
    if a:
        t = "undefined" if a["t"] is None else f"{a['t']:.3f}"
        console.print(f"[bold]quasi-identifiers[/] {', '.join(a['quasi_identifiers'])}: k = {a['k']}, l = {a['l']}, t = {t}; "
                      f"{a['at_risk']:,} of {a['rows']:,} rows in classes of fewer than {a['k_min']}", highlight=False)  # fmt: skip
        for facet, groups in a["by_group"].items():
            table = Table(title=f"rows at risk by {facet}")
            for col in (facet, "rows", "at risk", "share", "smallest class"):
                table.add_column(col, justify="left" if col == facet else "right")
            for g in groups:
                table.add_row(g["group"], f"{g['rows']:,}", f"{g['at_risk']:,}", f"{g['share_at_risk']:.1%}", f"{g['smallest_class']:,}")
            console.print(table)
    m = result.get("membership")
    if m:
        render_membership(m, console)
    rows = result.get("minimisation")
    if rows:
        mt = Table(title="data minimisation: personal columns and the model's use of them")
        for col in ("column", "personal", "used by the model", "share of attribution [CI]", "advice"):
            mt.add_column(col, justify="right" if col.startswith("share") else "left")
        for r in rows:
            used = {True: "yes", False: "no", None: "unknown"}[r["used_by_model"]]
            mt.add_row(r["column"], ", ".join(r["personal"]), used, _ci(r["attribution_share"], r["attribution_share_ci"], ".1%"), r["advice"])
        console.print(mt)
    eps = result.get("epsilon_accuracy")
    if eps:
        render_epsilon_accuracy(eps, console)


def render_epsilon_accuracy(table: dict[str, Any], console: Console) -> None:
    """One row per metric, one column per epsilon: the median |private - exact| and the private interval's median width."""
    from rich.table import Table

    t = Table(title=f"what differential privacy costs the audit: median |error| / interval width ({table['runs']} releases per epsilon)")
    t.add_column("metric")
    for e in table["epsilons"]:
        t.add_column(f"epsilon {e:g}", justify="right")
    t.add_column("exact width", justify="right")
    by: dict[str, dict[float, dict[str, Any]]] = {}
    for r in table["rows"]:
        by.setdefault(r["metric"], {})[r["epsilon"]] = r

    def cell(r: dict[str, Any] | None) -> str:
        if r is None or r["median_abs_error"] is None:
            return "undefined"
        return f"{r['median_abs_error']:.3f} / {r['median_ci_width']:.3f}" if r["median_ci_width"] is not None else f"{r['median_abs_error']:.3f}"

    for metric, rows in by.items():
        first = next(iter(rows.values()))
        width = first["exact_median_ci_width"]
        t.add_row(metric, *(cell(rows.get(e)) for e in table["epsilons"]), "" if width is None else f"{width:.3f}")
    console.print(t)
    console.print(f"note: {table['note']}", highlight=False)


def _ci(value: Any, ci: Any, fmt: str = ".3f") -> str:
    if value is None:
        return "undefined"
    lo, hi = ci
    return f"{value:{fmt}}" + ("" if lo is None else f" [{lo:{fmt}}, {hi:{fmt}}]")


def render_membership(m: dict[str, Any], console: Console) -> None:
    """The membership-inference attack's AUC and TPR at the chosen FPR, overall and by group."""
    from rich.table import Table

    level = int(round(m["confidence_level"] * 100))
    o = m["overall"]
    console.print(f"[bold]membership inference[/] ({m['attack']}): AUC {_ci(o['auc'], o['auc_ci'])}, TPR at FPR {m['fpr']:g} "
                  f"{_ci(o['tpr'], o['tpr_ci'])}; {o['members']:,} members, {o['non_members']:,} non-members (0.5: nothing found)",
                  highlight=False)  # fmt: skip
    for facet, groups in m["by_group"].items():
        t = Table(title=f"membership inference by {facet}")
        for col in (facet, "members", "non-members", f"AUC [{level}% CI]", f"TPR at FPR {m['fpr']:g} [{level}% CI]"):
            t.add_column(col, justify="left" if col == facet else "right")
        for g in groups:
            t.add_row(g["group"], f"{g['members']:,}", f"{g['non_members']:,}", _ci(g["auc"], g["auc_ci"]), _ci(g["tpr"], g["tpr_ci"]))
        console.print(t)


def render_robustness(result: dict[str, Any], console: Console) -> None:
    """Counterfactual flips, stability and the FlipTest, each by group with intervals."""
    from rich.table import Table

    flips = result["flips"]
    console.print(f"[bold]assay robustness[/]: {result['model']} on {result['rows']:,} of {result['of_rows']:,} rows; decision: score > "
                  f"{result['threshold']:g}", highlight=False)  # fmt: skip
    if flips.get("reason"):
        console.print(f"counterfactual flips: {flips['reason']}", highlight=False)
    else:
        console.print(f"counterfactual flips of {flips['sensitive']!r}: {flips['method']}", highlight=False)
    level = int(round(flips.get("confidence_level", 0.95) * 100))
    for s in flips["sets"]:
        t = Table(title=f"rows whose decision some allowed change flips: {s['changes']} ({', '.join(s['columns'])})"
                  + ("" if s["exact"] else ", at least"))  # fmt: skip
        for col in (flips["sensitive"], "rows", f"flip [{level}% CI]", "helped (now unfavourable)", "hurt (now favourable)"):
            t.add_column(col, justify="left" if col == flips["sensitive"] else "right")
        for g in [*s["by_group"], {"group": "all", **s["overall"]}]:
            share = lambda x: "-" if x["value"] is None else _ci(x["value"], x["ci"], ".1%")  # noqa: E731
            t.add_row(g["group"], f"{g['rows']:,}", share(g["flip_rate"]), share(g["helped"]), share(g["hurt"]))
        console.print(t)
    st = result["stability"]
    for facet, groups in st["by_group"].items():
        t = Table(title=f"decisions changed by perturbations (noise {st['noise']:g} SD, swaps {st['swap_rate']:.0%}, {st['replicates']} each) by {facet}")
        for col in (facet, "rows", f"flip rate [{level}% CI]", f"difference from the rest [{level}% CI]"):
            t.add_column(col, justify="left" if col == facet else "right")
        for g in groups:
            d = g.get("difference") or {}
            t.add_row(g["group"], f"{g['rows']:,}", _ci(g["flip_rate"], g["ci"], ".2%"), _ci(d.get("value"), d.get("ci", [None, None]), "+.2%"))
        console.print(t)
    ft = result.get("fliptest")
    if ft:
        t = Table(title=f"FlipTest of {ft['facet']}: each group against the rest (FT > 0: the group is disfavoured)")
        for col in (ft["facet"], "rows", f"FT, optimal transport [{level}% CI]", "F+ / F-", f"FT, nearest neighbours (Clarify) [{level}% CI]", "F+ / F-"):
            t.add_column(col, justify="left" if col == ft["facet"] else "right")
        for g in ft["by_group"]:
            if "reason" in g:
                t.add_row(g["group"], f"{g['rows_d']:,}", g["reason"], "", "", "")
                continue
            o, n = g["optimal_transport"], g["nearest_neighbours"]
            t.add_row(g["group"], f"{g['sampled_d']:,}", _ci(o["FT"]["value"], o["FT"]["ci"], "+.3f"), f"{o['F+']['rows']:,} / {o['F-']['rows']:,}",
                      _ci(n["FT"]["value"], n["FT"]["ci"], "+.3f"), f"{n['F+']['rows']:,} / {n['F-']['rows']:,}")  # fmt: skip
        console.print(t)
    for w in result.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
