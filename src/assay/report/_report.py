"""`assay report`: one self-contained HTML page from analysis.json (audit and explanations).

The page is built from the file alone, so it shows exactly the numbers in it:
each number cell carries the full-precision value in ``data-v`` (and its
interval in ``data-lo``/``data-hi``) next to the rounded text a reader sees.
No scripts, no external assets: CSS and SVG are inline, so the file opens
offline and prints. Sections are registered in :data:`SECTIONS` in the order
they appear; each builds its part of the template's context from the file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._errors import AssayError, ConfigError
from assay._undefined import undefined
from assay.report._svg import PALETTE, bar_chart, heatmap, line_chart, scatter_chart

__all__ = ["SECTIONS", "Section", "fmt", "from_clarify", "load_analysis", "notebook_html", "render_report", "value_name", "write_report"]

STAGES = {"pre_training_bias_metrics": ("pre_training", "Data, pre-training"), "post_training_bias_metrics": ("post_training", "Model, post-training")}
HEADLINE = {"pre_training": ["DPL", "MDL", "KS2L"], "post_training": ["DPPL", "DI", "EqOddsD", "AUCD", "MDP"]}


def fmt(v: Any) -> str:
    """How every number is shown: 3 decimals, or 3 significant digits when smaller than 0.001; null as an em dash."""
    if undefined(v):
        return "\u2014"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if math.isinf(v):
        return "\u221e" if v > 0 else "-\u221e"
    if v != 0 and abs(v) < 0.001:
        return f"{v:.2e}"
    if abs(v) >= 10000:
        return f"{v:,.0f}"
    return f"{v:.3f}"


@dataclass(frozen=True)
class Section:
    """A part of the report: its anchor, heading, and a function that builds its context (None: not shown)."""

    name: str
    title: str
    build: Callable[[dict[str, Any]], dict[str, Any] | None]


SECTIONS: list[Section] = []


def section(name: str, title: str) -> Callable[[Callable[[dict[str, Any]], dict[str, Any] | None]], Callable[[dict[str, Any]], dict[str, Any] | None]]:
    def deco(fn: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
        SECTIONS.append(Section(name, title, fn))
        return fn

    return deco


# == helpers =======================================================================
def _stages(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(stage, title, doc[key]) for key, (stage, title) in STAGES.items() if isinstance(doc.get(key), dict)]


def value_name(v: dict[str, Any]) -> str:
    """How a facet value is named in reports and cards: intersections joined with ' & '."""
    val = v.get("value_or_threshold")
    if isinstance(val, list):
        return " & ".join(" & ".join(map(str, x)) if isinstance(x, list) else str(x) for x in val)
    return str(val)


def _cell(m: dict[str, Any], **ids: str) -> dict[str, Any]:
    ci = m.get("ci") or [None, None]
    return {
        "v": m.get("value"), "lo": ci[0], "hi": ci[1], "text": fmt(m.get("value")),
        "ci_text": f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci[0] is not None else "",
        "sig": bool(m.get("significant")), "q": m.get("q_value"), "reason": m.get("reason"), "ids": ids,
    }  # fmt: skip


def _registry() -> dict[str, Any]:
    from assay.bias._registry import METRICS

    return METRICS


def _ideal(name: str) -> float:
    from assay.bias import parity_value

    return parity_value(name)


# == sections ======================================================================
@section("overview", "What was analysed")
def _overview(doc: dict[str, Any]) -> dict[str, Any] | None:
    ds, st = doc.get("dataset", {}), doc.get("settings", {})
    rows: list[tuple[str, str]] = []
    if ds:
        rows.append(("Rows", fmt(ds.get("rows"))))
        if ds.get("weighted"):
            rows.append(("Sample weight", f"{ds.get('sample_weight')} (total {fmt(ds.get('total_weight'))})"))
        rows.append(("Label type", f"{ds.get('label_type')}" + (f", classes {', '.join(map(str, ds['label_classes']))}" if ds.get("label_classes") else "")))
    for _stage, title, body in _stages(doc):
        rows.append((f"Label ({title.lower()})", f"{body.get('label')}; positive: {body.get('label_value_or_threshold')}"))
        rows.append((f"Facets ({title.lower()})", ", ".join(body.get("facets", {}))))
    if st.get("probability"):
        rows.append(("Model score", f"column {st['probability']}, predicted positive when score > {st.get('probability_threshold', 0.5)}"))
    elif st.get("predicted_label"):
        rows.append(("Predicted label", f"column {st['predicted_label']}"))
    if st.get("group_variable"):
        rows.append(("Group variable (strata)", str(st["group_variable"])))
    if st:
        rows.append(
            (
                "Intervals",
                f"{100 * float(st.get('confidence_level', 0.95)):g}%; {st.get('ci_method', '')}; {st.get('bootstrap_replicates')} replicates, seed {st.get('seed')}",
            )
        )
        dp = st.get("differential_privacy")
        if dp:
            rows.append(("Differential privacy", f"epsilon {fmt(dp['epsilon'])} ({dp['neighbouring'].replace('_', '/')} one row), {dp['mechanism']}; "
                         f"noise SD {fmt(dp['noise_sd_per_cell'])} per cell over {fmt(dp['cells_released'])} cells; every figure here, "
                         "row counts included, is computed from the noisy release"))  # fmt: skip
            rows.append(("Significance", str(st.get("multiple_testing", ""))))
        else:
            rows.append(("Significance", f"{st.get('multiple_testing', '')}; significant when q <= {fmt(st.get('alpha'))}"))
        rows.append(("Small groups", f"fewer than {st.get('min_group_size')} rows are flagged"))
    ex = doc.get("explanations")
    if ex:
        m = ex["method"]
        rows.append(("Model explained", m.get("model", "")))
        rows.append(("Explanation method", f"{m.get('name')}: {m.get('description')}"))
        if m.get("rows_explained") is not None:
            rows.append(("Explained rows, background", f"{fmt(m.get('rows_explained'))} rows; background: {m.get('baseline')}"))
    gen = doc.get("generator", {})
    rows.append(("Produced by", f"{gen.get('name', 'assay')} {gen.get('version', '')}, analysis.json schema {doc.get('schema_version', '?')}"))
    return {"rows": rows}


@section("summary", "Summary")
def _summary(doc: dict[str, Any]) -> dict[str, Any] | None:
    findings, counts = [], []
    for stage, title, body in _stages(doc):
        total = sig = 0
        for facet, values in body.get("facets", {}).items():
            for v in values:
                for m in v.get("metrics", []):
                    if m.get("value") is None:
                        continue
                    total += 1
                    if m.get("significant"):
                        sig += 1
                        findings.append({"stage": title, "facet": facet, "group": value_name(v), "metric": m["name"], "cell": _cell(m, stage=stage, facet=facet, value=value_name(v), metric=m["name"]),
                                         "n": v["group"]["size"], "rest": v["group"]["rest_size"], "small": v["group"].get("small", False)})  # fmt: skip
        counts.append({"stage": title, "total": total, "significant": sig})
    if not counts:
        return None
    findings.sort(key=lambda f: (f["cell"]["q"] if f["cell"]["q"] is not None else 1.0, -abs((f["cell"]["v"] or 0.0) - _ideal(f["metric"]))))
    untested = doc.get("generator", {}).get("name") if doc.get("generator", {}).get("name") != "assay" and not doc.get("schema_version") else None
    return {"counts": counts, "findings": findings[:20], "more": max(0, len(findings) - 20), "untested": untested}


@section("facets", "Results by facet")
def _facets(doc: dict[str, Any]) -> dict[str, Any] | None:
    out = []
    chart = 0
    for stage, title, body in _stages(doc):
        for facet, values in body.get("facets", {}).items():
            groups = [
                {"name": value_name(v), "n": v["group"]["size"], "rest": v["group"]["rest_size"], "small": v["group"].get("small", False)} for v in values
            ]
            names: list[str] = []
            for v in values:
                names += [m["name"] for m in v.get("metrics", []) if m["name"] not in names]
            table = []
            for name in names:
                cells = []
                for v in values:
                    m = next((m for m in v.get("metrics", []) if m["name"] == name), None)
                    cells.append(_cell(m, stage=stage, facet=facet, value=value_name(v), metric=name) if m else None)
                table.append({"metric": name, "cells": cells})
            charts = []
            for name in [h for h in HEADLINE[stage] if h in names][:3]:
                ms: list[dict[str, Any]] = [next((m for m in v.get("metrics", []) if m["name"] == name), {}) for v in values]
                chart += 1
                charts.append(bar_chart(
                    [g["name"] + (" (small)" if g["small"] else "") for g in groups], [m.get("value") for m in ms],
                    [tuple((m.get("ci") or [None, None])[:2]) for m in ms],  # type: ignore[misc]
                    title=f"{name} by {facet} ({title.lower()}), with {100 * float(doc.get('settings', {}).get('confidence_level', 0.95)):g}% intervals",
                    ident=f"chart-{chart}", axis_label=f"{name}: {(_registry()[name].description if name in _registry() else name)}; dashed line: parity ({fmt(_ideal(name))})",
                    reference=_ideal(name), notes=["*" if m.get("significant") else "" for m in ms],
                ))  # fmt: skip
            out.append({"stage": title, "facet": facet, "groups": groups, "table": table, "charts": charts, "id": f"{stage}-{facet}".replace(" ", "-")})
    return {"facets": out} if out else None


@section("intersections", "Intersectional groups")
def _intersections(doc: dict[str, Any]) -> dict[str, Any] | None:
    maps: list[dict[str, Any]] = []
    for stage, title, body in _stages(doc):
        for facet, values in body.get("facets", {}).items():
            parts = facet.split(" x ")
            if len(parts) != 2 or not values or not all(isinstance(v.get("value_or_threshold"), list) and len(v["value_or_threshold"]) == 2 for v in values):
                continue
            names = [m["name"] for m in values[0].get("metrics", [])]
            name = next((h for h in HEADLINE[stage] if h in names and h != "DI"), None)
            if name is None:
                continue
            cells: dict[tuple[str, str], tuple[float | None, int]] = {}
            for v in values:
                a, b = (str(x) for x in v["value_or_threshold"])
                m = next(m for m in v["metrics"] if m["name"] == name)
                cells[(a, b)] = (m.get("value"), int(v["group"]["size"]))
            rows = sorted({a for a, _ in cells})
            cols = sorted({b for _, b in cells})
            maps.append({"stage": title, "facet": facet, "metric": name, "svg": heatmap(
                rows, cols, cells, title=f"{name} for every {parts[0]} x {parts[1]} group ({title.lower()})", ident=f"heat-{stage}-{len(maps)}",
                row_label=parts[0], col_label=parts[1], metric=name)})  # fmt: skip
    return {"maps": maps} if maps else None


@section("explanations", "Explanations")
def _explanations(doc: dict[str, Any]) -> dict[str, Any] | None:
    ex = doc.get("explanations")
    if not ex:
        return None
    agg = ex["agg_method"]
    imp = ex["global_importance"][agg]
    order = sorted(imp, key=lambda f: -imp[f]["value"])
    level = f"{100 * float(ex['method'].get('confidence_level', 0.95)):g}%"
    importance = bar_chart(order, [imp[f]["value"] for f in order], [tuple(imp[f]["ci"]) for f in order], title=f"Global importance ({agg}) with {level} intervals",
                           ident="imp", axis_label=f"{agg} of Shapley values ({ex['method'].get('output', 'score')})", reference=0.0)  # fmt: skip
    table = [{"feature": f, "cells": [{"v": ex["global_importance"][a][f]["value"], "lo": ex["global_importance"][a][f]["ci"][0], "hi": ex["global_importance"][a][f]["ci"][1],
                                       "text": fmt(ex["global_importance"][a][f]["value"]),
                                       "ci_text": f"[{fmt(ex['global_importance'][a][f]['ci'][0])}, {fmt(ex['global_importance'][a][f]['ci'][1])}]",
                                       "ids": {"agg": a, "feature": f}} for a in ("mean_abs", "median", "mean_sq")]} for f in order]  # fmt: skip
    groups = []
    for k, (facet, info) in enumerate(ex.get("by_group", {}).items()):
        vals = [v for v in info["values"] if v.get("carried_by_facet_and_proxies")]
        carriers = ([facet] if info["facet_is_feature"] else []) + [p["feature"] for p in info["proxies"]]
        svg = bar_chart([v["value"] + (" (small)" if v.get("small_group") else "") for v in vals], [v["carried_by_facet_and_proxies"]["difference"] for v in vals],
                        [tuple(v["carried_by_facet_and_proxies"]["ci"]) for v in vals], title=f"Share of attribution carried by {', '.join(carriers)}: group minus rest",
                        ident=f"share-{k}", axis_label="difference in share of all attribution (group - rest)", reference=0.0,
                        colors=[PALETTE[1]] * len(vals))  # fmt: skip
        rows = [{"value": v["value"], "rows": v["rows"], "small": v.get("small_group", False),
                 "share": {key: v["carried_by_facet_and_proxies"][key] for key in ("d", "rest", "difference")},
                 "ci": v["carried_by_facet_and_proxies"]["ci"]} for v in vals]  # fmt: skip
        top = [f for f in order if f in (vals[0]["importance"] if vals else {})][:8]
        by_value = []
        for j, v in enumerate(vals[:6]):
            d = v["importance"]
            by_value.append(bar_chart(top, [d[f]["difference"] for f in top], [tuple(d[f]["ci"]) for f in top],
                                      title=f"{facet} = {v['value']}: mean absolute attribution of each feature in the group minus in the rest",
                                      ident=f"gimp-{k}-{j}", axis_label=f"{facet} = {v['value']}{' (small)' if v.get('small_group') else ''}: mean |attribution|, group - rest",
                                      reference=0.0, colors=[PALETTE[2]] * len(top)))  # fmt: skip
        groups.append({"facet": facet, "is_feature": info["facet_is_feature"], "proxies": info["proxies"], "svg": svg, "rows": rows,
                       "measure": info["association_measure"], "by_value": by_value, "more_values": max(0, len(vals) - 6)})  # fmt: skip
    pdps = []
    for k, p in enumerate(ex.get("pdp", [])):
        pdps.append(line_chart(p["feature_values"], [("mean prediction (partial dependence)", p["model_predictions"])], faint=p.get("ice", []),
                               title=f"Partial dependence of the score on {p['feature_name']} (grey: ICE curves of single rows)", ident=f"pdp-{k}",
                               x_label=p["feature_name"], y_label=f"model output ({ex['method'].get('output', 'score')})"))  # fmt: skip
    return {"method": ex["method"], "agg": agg, "importance": importance, "table": table, "groups": groups, "pdps": pdps, "warnings": ex.get("warnings", [])}


@section("mitigation", "Mitigation: accuracy against disparity")
def _mitigation(doc: dict[str, Any]) -> dict[str, Any] | None:
    mit = doc.get("mitigation")
    if not mit:
        return None
    m = mit["method"]
    facet, metric = m["facets"][0], m["metric"]
    ideal = _ideal(metric)
    points, rows = [], []
    for r in mit["results"]:
        if "error" in r:
            rows.append({"title": r["title"], "name": r["name"], "stage": r["stage"], "error": r["error"]})
            continue
        d = r["disparities"].get(facet, {}).get(metric, {})
        if d.get("value") is not None:
            lo, hi = d["ci"]
            dist = abs(d["value"] - ideal)  # distance from parity; the interval folds the same way
            ci_x = (None, None) if lo is None or hi is None else (0.0 if lo - ideal <= 0 <= hi - ideal else min(abs(lo - ideal), abs(hi - ideal)),
                                                                   max(abs(lo - ideal), abs(hi - ideal)))  # fmt: skip
            points.append((r["title"], dist, r["accuracy"]["value"], ci_x, tuple(r["accuracy"]["ci"]), bool(r["pareto"])))
        cells = []
        for k in ("DPPL", "DI", "EqOddsD", "DAR"):
            v = r["disparities"].get(facet, {}).get(k, {})
            cells.append({"metric": k, "v": v.get("value"), "lo": (v.get("ci") or [None, None])[0], "hi": (v.get("ci") or [None, None])[1],
                          "group": v.get("group"), "size": v.get("size"), "rest": v.get("rest_size"), "reason": v.get("reason")})  # fmt: skip
        rows.append({"title": r["title"], "name": r["name"], "stage": r["stage"], "accuracy": r["accuracy"], "cells": cells, "pareto": r["pareto"],
                     "selection_rate": r["selection_rate"], "fit_seconds": r["fit_seconds"], "realised": r.get("realised")})  # fmt: skip
    svg = scatter_chart(points, title=f"Accuracy against distance from parity of {metric} ({facet}), each method with its intervals",
                        ident="pareto", x_label=f"|{metric}{' - 1' if ideal else ''}| (worst group of {facet})", y_label="accuracy on the test data")  # fmt: skip
    return {"method": m, "facet": facet, "metric": metric, "svg": svg, "rows": rows}


@section("discovery", "Subgroups where the model does worse")
def _discovery(doc: dict[str, Any]) -> dict[str, Any] | None:
    d = doc.get("subgroup_discovery")
    if not d:
        return None
    found = [g for g in d["subgroups"] if g.get("confirmed")]
    rows = [{"text": g["text"], "rows": g["confirmation"]["rows"], "value": g["confirmation"]["value"], "ci": g["confirmation"]["ci"],
             "rest": g["confirmation"]["rest_value"], "difference": g["confirmation"]["difference"], "difference_ci": g["confirmation"]["difference_ci"],
             "q": g["q_value"], "discovery_rows": g["discovery"]["rows"]} for g in found[:50]]  # fmt: skip
    return {"measure": d["measure"], "definition": d.get("definition", []), "overall": d["overall"], "hypotheses": d["hypotheses"],
            "settings": d["settings"], "rows": rows, "more": max(0, len(found) - 50), "warnings": d.get("warnings", [])}  # fmt: skip


@section("tasks", "Task metrics by group")
def _tasks(doc: dict[str, Any]) -> dict[str, Any] | None:
    tables = doc.get("task_metrics")
    if not tables:
        return None
    return {"tables": [{"metric": t["metric"], "group": t["group"], "unit": t.get("unit"), "overall": t["overall"], "groups": t["groups"],
                        "level": t["settings"].get("confidence_level"), "warnings": t.get("warnings", [])} for t in tables]}  # fmt: skip


@section("privacy", "Personal data and re-identification risk")
def _privacy(doc: dict[str, Any]) -> dict[str, Any] | None:
    p = doc.get("privacy")
    if not p:
        return None
    flagged = [c for c in p.get("scan") or [] if c["personal"]]
    return {"scanned": len(p.get("scan") or []), "flagged": flagged, "anonymity": p.get("anonymity"), "membership": p.get("membership"),
            "minimisation": p.get("minimisation") or [], "epsilon": _by_metric(p.get("epsilon_accuracy"))}  # fmt: skip


def _by_metric(table: dict[str, Any] | None) -> dict[str, Any] | None:
    """The accuracy-against-epsilon rows as one row per metric with a cell per epsilon."""
    if not table:
        return None
    cells: dict[str, dict[float, dict[str, Any]]] = {}
    for r in table["rows"]:
        cells.setdefault(r["metric"], {})[r["epsilon"]] = r
    return {"t": table, "epsilons": table["epsilons"], "metrics": [{"metric": m, "cells": [by.get(e) for e in table["epsilons"]]} for m, by in cells.items()]}


@section("robustness", "Counterfactual flips and robustness")
def _robustness(doc: dict[str, Any]) -> dict[str, Any] | None:
    r = doc.get("robustness")
    if not r:
        return None
    return {"r": r, "flips": r["flips"], "stability": r["stability"], "fliptest": r.get("fliptest"), "warnings": r.get("warnings", [])}


@section("monitoring", "Monitoring over time")
def _monitoring(doc: dict[str, Any]) -> dict[str, Any] | None:
    mon = doc.get("monitoring")
    if not mon or not mon.get("windows"):
        return None
    ser = mon["series"]
    xs = [x[:16].replace("T", " ") for x in ser["starts"]]
    charts = [line_chart(xs, [("violations", ser["violations"])], title="Violations per window", ident="mon-viol", x_label="window start",
                         y_label="violations")]  # fmt: skip
    drifted = [n for n, pts in ser["drift"].items() if any(p and p.get("drifted") for p in pts)]
    top = drifted or sorted(ser["drift"], key=lambda n: -max((p or {}).get("distance", 0.0) for p in ser["drift"][n]))[:4]
    if top:
        charts.append(line_chart(xs, [(n, [(p or {}).get("distance", float("nan")) for p in ser["drift"][n]]) for n in top[:6]],
                                 title="Drift distance per window (KS for numbers, largest share change for categories)", ident="mon-drift",
                                 x_label="window start", y_label="distance from the baseline"))  # fmt: skip
    for k, (name, pts) in enumerate(sorted(ser["quality"].items())):
        if name not in ("accuracy", "auc", "f1", "recall", "mae", "rmse", "r2"):
            continue
        vals = [(p or {}).get("value") for p in pts]
        lo = [((p or {}).get("ci") or [None, None])[0] for p in pts]
        hi = [((p or {}).get("ci") or [None, None])[1] for p in pts]
        charts.append(line_chart(xs, [(name, [v if v is not None else float("nan") for v in vals])],
                                 faint=[[v if v is not None else float("nan") for v in lo], [v if v is not None else float("nan") for v in hi]],
                                 title=f"{name} per window with its interval (grey)", ident=f"mon-q-{k}", x_label="window start", y_label=name))  # fmt: skip
    moved = [n for n, pts in ser["bias"].items() if any(p and p.get("drifted") for p in pts)] or list(ser["bias"])[:2]
    for k, name in enumerate(moved[:6]):
        pts = ser["bias"][name]
        base = next((p["baseline"] for p in pts if p), float("nan"))
        charts.append(line_chart(xs, [(name, [(p or {}).get("value", float("nan")) for p in pts]), ("baseline", [base] * len(xs))],
                                 faint=[[((p or {}).get("ci") or [float("nan")] * 2)[0] for p in pts], [((p or {}).get("ci") or [float("nan")] * 2)[1] for p in pts]],
                                 title=f"{name} per window with its interval (grey) and the baseline", ident=f"mon-b-{k}", x_label="window start", y_label=name))  # fmt: skip
    rows = [{"start": w["start"], "end": w["end"], "rows": w["rows"], "violations": w["result"]["violations"]} for w in mon["windows"]]
    return {"window": mon["window"], "timestamp": mon["timestamp"], "charts": charts, "rows": rows}


@section("definitions", "Metric definitions and how to read them")
def _definitions(doc: dict[str, Any]) -> dict[str, Any] | None:
    used: list[str] = []
    for _, _, body in _stages(doc):
        for values in body.get("facets", {}).values():
            for v in values:
                used += [m["name"] for m in v.get("metrics", []) if m["name"] not in used]
    reg = _registry()
    defs = [{"name": n, "description": reg[n].description, "formula": reg[n].formula, "range": f"{reg[n].range[0]} to {reg[n].range[1]}",
             "ideal": reg[n].ideal, "test": reg[n].test_name or "bootstrap interval only", "reference": reg[n].reference} for n in used if n in reg]  # fmt: skip
    return {"defs": defs} if defs else None


@section("limits", "What this analysis cannot tell")
def _limits(doc: dict[str, Any]) -> dict[str, Any] | None:
    small: list[str] = []
    undefined: dict[str, list[str]] = {}
    for _, title, body in _stages(doc):
        for facet, values in body.get("facets", {}).items():
            for v in values:
                g = v["group"]
                if g.get("small"):
                    small.append(f"{facet} = {value_name(v)} ({title.lower()}): {g['size']:,} rows against {g['rest_size']:,}")
                for m in v.get("metrics", []):
                    if m.get("value") is None:
                        undefined.setdefault(m.get("reason") or "no reason given", []).append(f"{m['name']} for {facet} = {value_name(v)}")
    warnings = list(doc.get("warnings", [])) + list((doc.get("explanations") or {}).get("warnings", []))
    return {"small": small, "undefined": sorted(undefined.items(), key=lambda kv: -len(kv[1])), "warnings": warnings,
            "min_group_size": doc.get("settings", {}).get("min_group_size")}  # fmt: skip


# == the page ======================================================================
def render_report(doc: dict[str, Any] | str | Path, *, title: str | None = None) -> str:
    """The report page for an analysis.json document (a dict, or the path of the file)."""
    import jinja2

    if not isinstance(doc, dict):
        doc = load_analysis(Path(doc))
    env = jinja2.Environment(loader=jinja2.PackageLoader("assay.report", "templates"), autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters["fmt"] = fmt
    parts = []
    for s in SECTIONS:
        ctx = s.build(doc)
        if ctx is not None:
            parts.append({"name": s.name, "title": s.title, "ctx": ctx})
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template("report.html.j2").render(title=title or "assay report", sections=parts, generated=stamp, palette=PALETTE)


def notebook_html(doc: dict[str, Any], *, height: int = 640) -> str:
    """The report in a notebook cell: an iframe around the page, so that its styles stay inside it."""
    from html import escape

    return (f'<iframe srcdoc="{escape(render_report(doc), quote=True)}" title="assay report" '
            f'style="width: 100%; height: {height}px; border: 1px solid #ddd;"></iframe>')  # fmt: skip


def load_analysis(path: str | Path) -> dict[str, Any]:
    """An analysis.json document (a directory holding it, or the file), with a clear error when it is missing or holds no results."""
    path = Path(path)
    target = path / "analysis.json" if path.is_dir() else path
    if not target.exists():
        raise ConfigError(f"{target} does not exist; run assay audit or assay explain with --out {path} first")
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise AssayError(f"{target} is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or not any(
        k in doc
        for k in (
            "pre_training_bias_metrics",
            "post_training_bias_metrics",
            "explanations",
            "mitigation",
            "monitoring",
            "subgroup_discovery",
            "task_metrics",
            "privacy",
            "robustness",
        )
    ):
        raise AssayError(
            f"{target} holds no audit, explanation, mitigation, monitoring, discovery, task, privacy or robustness results (no "
            "pre_training_bias_metrics, post_training_bias_metrics, explanations, mitigation, monitoring, subgroup_discovery, task_metrics, "
            "privacy or robustness)"
        )
    return from_clarify(doc)


CLARIFY_NOTE = "written by SageMaker Clarify: no group sizes, intervals or tests"


def from_clarify(doc: dict[str, Any]) -> dict[str, Any]:
    """An analysis.json that SageMaker Clarify's processing job wrote, in assay's shape: what Clarify did not compute (group sizes,
    intervals, p- and q-values) is null, a metric's ``error`` becomes its reason, and ``explanations.kernel_shap`` becomes global
    importance (mean |SHAP|, Clarify's default). assay's own documents pass unchanged."""
    if doc.get("generator") or doc.get("schema_version"):
        return doc
    out = dict(doc)
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        body = doc.get(key)
        if not isinstance(body, dict):
            continue
        facets = {}
        for facet, values in (body.get("facets") or {}).items():
            facets[str(facet)] = [{**v, "group": v.get("group") or {"size": None, "rest_size": None, "small": False, "note": CLARIFY_NOTE},
                                   "metrics": [{"ci": [None, None], "p_value": None, "q_value": None, "significant": None,
                                                "reason": m.get("error") if m.get("value") is None else None, **m}
                                               for m in v.get("metrics", []) if isinstance(m, dict) and "name" in m]}
                                  for v in values if isinstance(v, dict)]  # fmt: skip
        out[key] = {**body, "facets": facets}
    ex = doc.get("explanations")
    if isinstance(ex, dict) and "method" not in ex:
        shap = ex.get("kernel_shap") or {}
        first = next(iter(shap.values()), None) if isinstance(shap, dict) else None
        if isinstance(first, dict) and isinstance(first.get("global_shap_values"), dict):
            values = {str(f): float(v) for f, v in first["global_shap_values"].items()}
            none = {f: {"value": None, "ci": [None, None]} for f in values}
            out["explanations"] = {
                "method": {"name": "kernel_shap", "description": f"Kernel SHAP by SageMaker Clarify ({next(iter(shap))}); {CLARIFY_NOTE}",
                           "model": "the model Clarify called", "expected_value": first.get("expected_value")},
                "agg_method": "mean_abs",
                "global_importance": {"mean_abs": {f: {"value": v, "ci": [None, None]} for f, v in values.items()}, "median": none, "mean_sq": none},
                "warnings": [f"global SHAP values {CLARIFY_NOTE}"],
            }  # fmt: skip
        else:
            out.pop("explanations")
    out.setdefault("generator", {"name": "SageMaker Clarify", "version": str(doc.get("version", ""))})
    return out


def write_report(directory: str | Path, *, pdf: bool = False, title: str | None = None) -> list[Path]:
    """Write DIRECTORY/report.html (and report.pdf with ``pdf``) from DIRECTORY/analysis.json; the paths written."""
    directory = Path(directory)
    html = render_report(load_analysis(directory), title=title)
    target = directory / "report.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    written = [target]
    if pdf:
        written.append(print_pdf(target, directory / "report.pdf"))
    return written


def chromium() -> str | None:
    """The path of a Chromium or Chrome binary, if one is installed."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: Path, pdf: Path) -> Path:
    """Print the page to PDF with headless Chromium (the only renderer assay trusts to match the HTML)."""
    import subprocess
    import tempfile

    browser = chromium()
    if browser is None:
        raise AssayError("PDF export needs Chromium or Chrome: install it (Debian/Ubuntu: apt-get install chromium), or print report.html from a browser")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise AssayError(
            f"Chromium could not print {html} to PDF (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}"
        )
    return pdf
