"""A model card's content: the human parts from a short YAML, the numbers from analysis.json.

The content follows SageMaker Model Cards' blocks (model_overview,
intended_uses, business_details, training_details, evaluation_details,
additional_information) so that a card exports to that JSON as it is;
assay's quantitative analyses (every selected metric for every facet value,
unitary and intersectional, with its interval, q-value and group sizes) sit
in ``evaluation_details`` as typed metrics and, in full, in
``additional_information.custom_details.quantitative_analyses``. The same
content renders as a Hugging Face model card (Markdown with YAML metadata and
``model-index`` results) and as HTML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay._errors import ConfigError
from assay.report import value_name as _value_name

__all__ = ["INFO_TEMPLATE", "RISK_RATINGS", "build_content", "to_html", "to_markdown", "to_sagemaker"]

RISK_RATINGS = ("High", "Medium", "Low", "Unknown")
DEFAULT_METRICS = ("DPL", "DPPL", "DI", "EqOddsD", "EqOppD", "AUCD", "MDL", "MDP")
_TEXT = {  # YAML key -> (block, SageMaker field)
    "description": ("model_overview", "model_description"),
    "owner": ("model_overview", "model_owner"),
    "creator": ("model_overview", "model_creator"),
    "problem_type": ("model_overview", "problem_type"),
    "algorithm_type": ("model_overview", "algorithm_type"),
    "purpose": ("intended_uses", "purpose_of_model"),
    "intended_uses": ("intended_uses", "intended_uses"),
    "factors": ("intended_uses", "factors_affecting_model_efficiency"),
    "risk_rating": ("intended_uses", "risk_rating"),
    "risk_rating_explanation": ("intended_uses", "explanations_for_risk_rating"),
    "business_problem": ("business_details", "business_problem"),
    "business_stakeholders": ("business_details", "business_stakeholders"),
    "line_of_business": ("business_details", "line_of_business"),
    "training_data": ("training_details", "training_observations"),
    "ethical_considerations": ("additional_information", "ethical_considerations"),
    "caveats": ("additional_information", "caveats_and_recommendations"),
}
_OTHER = {"name", "version", "out_of_scope_uses", "license", "library_name", "evaluation_data", "metrics", "tags", "contact"}

INFO_TEMPLATE = """\
# The human parts of a model card; assay fills the numbers from analysis.json.
name: income-classifier            # letters, digits and hyphens (SageMaker's model card name rule)
version: 1
description: Predicts whether a person's income exceeds $50K from census attributes.
owner: Credit risk team
creator: ML platform team
problem_type: Binary classification
algorithm_type: Gradient boosted trees
purpose: Research and demonstration of bias auditing; not for decisions about people.
intended_uses: Benchmarking fairness tooling on public census data.
out_of_scope_uses: Any decision about credit, employment or housing for real people.
factors: Sex, race and age groups; results differ across them (see the quantitative analyses).
risk_rating: High                  # High, Medium, Low or Unknown
risk_rating_explanation: The model's outputs differ strongly by sex and race.
business_problem: ''
business_stakeholders: ''
line_of_business: ''
training_data: UCI Adult, 1994 US census extract (train split).
evaluation_data: UCI Adult test split.
ethical_considerations: Census labels encode historical inequities; a model trained on them reproduces them.
caveats: Metrics are computed on one test split; intersectional groups with few rows have wide intervals.
license: apache-2.0
library_name: sklearn
contact: owner@example.org
metrics: [DPL, DPPL, DI, EqOddsD, EqOppD, AUCD]   # which bias metrics the card reports
"""


def _load_info(info: str | Path | dict[str, Any]) -> dict[str, Any]:
    import yaml

    if isinstance(info, dict):
        data = dict(info)
    else:
        path = Path(info)
        if not path.exists():
            raise ConfigError(f"card info file {path} does not exist; `assay card init --out {path}` writes a template")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"card info file {path} is not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"card info file {path} must be a mapping of keys to text")
    from assay._errors import did_you_mean

    for key in data:
        if key not in _TEXT and key not in _OTHER:
            raise ConfigError(f"unknown card info key {key!r}.{did_you_mean(key, [*_TEXT, *_OTHER])} Known: {', '.join(sorted([*_TEXT, *_OTHER]))}")
    if not data.get("name"):
        raise ConfigError("card info needs 'name' (the model's name)")
    import re

    if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", str(data["name"])):
        raise ConfigError(f"card name {data['name']!r} must be letters, digits and single hyphens, at most 63 characters (SageMaker's rule)")
    rating = data.get("risk_rating", "Unknown")
    if rating not in RISK_RATINGS:
        raise ConfigError(f"risk_rating must be one of {', '.join(RISK_RATINGS)}, got {rating!r}")
    return data


def build_content(analysis: dict[str, Any], info: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The card's content from an analysis.json document and the human parts."""
    data = _load_info(info)
    wanted = [str(m) for m in (data.get("metrics") or DEFAULT_METRICS)]
    level = analysis.get("settings", {}).get("confidence_level", 0.95)
    content: dict[str, Any] = {
        "model_overview": {"model_name": str(data["name"]), "model_version": int(data.get("version", 1))},
        "intended_uses": {"risk_rating": data.get("risk_rating", "Unknown")},
        "business_details": {},
        "training_details": {},
        "evaluation_details": [],
        "additional_information": {},
    }
    for key, (block, field) in _TEXT.items():
        if data.get(key) not in (None, ""):
            content[block][field] = str(data[key])
    analyses, groups = [], []
    for key, stage in (("pre_training_bias_metrics", "pre_training"), ("post_training_bias_metrics", "post_training")):
        body = analysis.get(key)
        if not isinstance(body, dict):
            continue
        metric_data = []
        for facet, values in body.get("facets", {}).items():
            for v in values:
                g = v["group"]
                for m in v.get("metrics", []):
                    if m["name"] not in wanted:
                        continue
                    row = {"stage": stage, "facet": facet, "intersectional": " x " in facet, "group": _value_name(v), "metric": m["name"],
                           "value": m.get("value"), "ci": m.get("ci"), "q_value": m.get("q_value"), "significant": m.get("significant"),
                           "reason": m.get("reason"), "group_size": g["size"], "rest_size": g["rest_size"], "small_group": g.get("small", False)}  # fmt: skip
                    analyses.append(row)
                    if m.get("value") is not None:
                        ci = m.get("ci") or [None, None]
                        notes = (f"{level:.0%} CI [{ci[0]:.4g}, {ci[1]:.4g}]; " if ci[0] is not None else "") + (
                            f"n={g['size']} vs {g['rest_size']}" if g.get("size") is not None else str(g.get("note", "group sizes unknown"))
                        )
                        notes += f"; q={m['q_value']:.3g}" if m.get("q_value") is not None else ""
                        metric_data.append({"name": f"{m['name']} {facet}={_value_name(v)}"[:63], "type": "number", "value": m["value"], "notes": notes})
                if stage == "post_training" and v.get("value_stats") and "auc" in v["value_stats"].get("d", {}):
                    d = v["value_stats"]["d"]
                    groups.append(
                        {
                            "facet": facet,
                            "group": _value_name(v),
                            "rows": g["size"],
                            "auc": d.get("auc"),
                            "auc_ci": d.get("auc_ci"),
                            "brier": d.get("brier"),
                            "ece": d.get("ece"),
                        }
                    )
        if metric_data:
            content["evaluation_details"].append({
                "name": f"assay {'data' if stage == 'pre_training' else 'model'} bias ({stage.replace('_', '-')})",
                "evaluation_observation": f"{len(metric_data)} metric values with {level:.0%} intervals; see quantitative_analyses for all of them",
                "datasets": [str(data.get("evaluation_data", ""))] if data.get("evaluation_data") else [],
                "metadata": {"label": body.get("label"), "positive": body.get("label_value_or_threshold"), "rows": analysis.get("dataset", {}).get("rows")},
                "metric_groups": [{"name": "bias metrics by facet value", "metric_data": metric_data}],
            })  # fmt: skip
    ex = analysis.get("explanations")
    custom: dict[str, Any] = {
        "quantitative_analyses": analyses,
        "performance_by_group": groups,
        "out_of_scope_uses": str(data.get("out_of_scope_uses", "")),
        "license": str(data.get("license", "")),
        "library_name": str(data.get("library_name", "")),
        "contact": str(data.get("contact", "")),
        "evaluation_data": str(data.get("evaluation_data", "")),
        "analysis": {
            "generator": analysis.get("generator"),
            "schema_version": analysis.get("schema_version"),
            "dataset": analysis.get("dataset"),
            "confidence_level": level,
            "metrics": wanted,
        },  # fmt: skip
    }
    if ex:
        imp = ex["global_importance"][ex["agg_method"]]
        custom["explanations"] = {
            "method": ex["method"]["name"], "agg_method": ex["agg_method"],
            "global_importance": [{"feature": f, "value": imp[f]["value"], "ci": imp[f]["ci"]} for f in sorted(imp, key=lambda f: -imp[f]["value"])],
            "carried_by_facet_and_proxies": {facet: {"proxies": [p["feature"] for p in info_["proxies"]],
                                                     "groups": [{"group": v["value"], "rows": v["rows"], **v["carried_by_facet_and_proxies"]}
                                                                for v in info_["values"] if v.get("carried_by_facet_and_proxies")]}
                                             for facet, info_ in ex.get("by_group", {}).items()},
        }  # fmt: skip
    private = (analysis.get("settings") or {}).get("differential_privacy")
    for key, summary in (("privacy", _privacy_summary(analysis.get("privacy"), private)), ("robustness", _robustness_summary(analysis.get("robustness")))):
        if summary:
            custom[key] = summary
    content["additional_information"]["custom_details"] = custom
    return json.loads(json.dumps(content))  # plain JSON types only


def _privacy_summary(p: dict[str, Any] | None, private: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The card's privacy facts: personal columns, quasi-identifier risk by group, membership inference by group, minimisation, and
    whether the audit on the card is a differentially private release."""
    if not p and not private:
        return None
    p = p or {}
    out: dict[str, Any] = {}
    if p.get("scan") is not None:
        out["personal_columns"] = [{"column": c["column"], "kinds": [k["kind"] for k in c["kinds"]], "used_by_model": c.get("used_by_model")}
                                   for c in p["scan"] if c["personal"]]  # fmt: skip
    if private:
        out["differential_privacy"] = {k: private[k] for k in ("epsilon", "delta", "neighbouring", "mechanism", "cells_released")}
    a = p.get("anonymity")
    if a:
        out["anonymity"] = {k: a[k] for k in ("quasi_identifiers", "k", "l", "t", "k_min", "rows", "at_risk")} | {
            "by_group": [{"facet": f, "group": g["group"], "rows": g["rows"], "at_risk": g["at_risk"], "share_at_risk": g["share_at_risk"]}
                         for f, groups in a["by_group"].items() for g in groups]}  # fmt: skip
    m = p.get("membership")
    if m:
        rows = [{"facet": "all", "group": "all rows", **m["overall"]}] + [{"facet": f, **g} for f, groups in m["by_group"].items() for g in groups]
        out["membership_inference"] = {"attack": m["attack"], "fpr": m["fpr"], "groups": [
            {k: r.get(k) for k in ("facet", "group", "members", "non_members", "auc", "auc_ci", "tpr", "tpr_ci", "reason")} for r in rows]}  # fmt: skip
    if p.get("minimisation"):
        out["minimisation"] = [{k: r[k] for k in ("column", "personal", "used_by_model", "attribution_share", "advice")} for r in p["minimisation"]]
    return out


def _robustness_summary(r: dict[str, Any] | None) -> dict[str, Any] | None:
    """The card's robustness facts: the flip test's shares by group, stability by group, the FlipTest by transport and neighbours."""
    if not r:
        return None
    flips = r["flips"]
    out: dict[str, Any] = {"sensitive": flips["sensitive"], "method": flips.get("method") or flips.get("reason"), "rows": r["rows"], "flips": [
        {"changes": st["changes"], "columns": st["columns"], "exact": st["exact"],
         "groups": [{"group": g["group"], "rows": g["rows"], "value": g["flip_rate"]["value"], "ci": g["flip_rate"]["ci"]} for g in st["by_group"]]}
        for st in flips.get("sets", [])]}  # fmt: skip
    st = r["stability"]
    out["stability"] = {"noise": st["noise"], "swap_rate": st["swap_rate"], "groups": [
        {"facet": f, "group": g["group"], "rows": g["rows"], "value": g["flip_rate"], "ci": g["ci"]} for f, groups in st["by_group"].items() for g in groups]}  # fmt: skip
    if r.get("fliptest"):
        out["fliptest"] = [{"group": g["group"], "optimal_transport": g["optimal_transport"]["FT"], "nearest_neighbours": g["nearest_neighbours"]["FT"]}
                           for g in r["fliptest"]["by_group"] if "reason" not in g]  # fmt: skip
    return out


def to_sagemaker(content: dict[str, Any]) -> dict[str, Any]:
    """SageMaker Model Card content JSON (its blocks as they are; assay's extras under custom_details)."""
    return json.loads(json.dumps(content))


def _n(v: Any) -> str:
    if v is None:
        return "\u2014"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def to_markdown(content: dict[str, Any], *, status: str = "Draft", version: int | None = None, content_hash: str | None = None) -> str:
    """A Hugging Face model card: YAML metadata with ``model-index`` results, then the sections of the template."""
    import yaml

    ov, uses, add = content["model_overview"], content["intended_uses"], content["additional_information"]
    custom = add.get("custom_details", {})
    results_metrics = [
        {"type": row["metric"], "value": row["value"], "name": f"{row['metric']} {row['facet']}={row['group']}",
         "args": {"ci": row["ci"], "group_size": row["group_size"], "rest_size": row["rest_size"], "q_value": row["q_value"]}}
        for row in custom.get("quantitative_analyses", []) if row["value"] is not None
    ]  # fmt: skip
    meta: dict[str, Any] = {"license": custom.get("license") or "other", "library_name": custom.get("library_name") or None,
                            "tags": ["tabular-classification", "fairness", "assay"], "model_name": ov["model_name"]}  # fmt: skip
    meta = {k: v for k, v in meta.items() if v}
    if results_metrics:
        meta["model-index"] = [{"name": ov["model_name"], "results": [{
            "task": {"type": "tabular-classification", "name": "Tabular Classification"},
            "dataset": {"type": "tabular", "name": custom.get("evaluation_data") or "evaluation data"},
            "metrics": results_metrics,
        }]}]  # fmt: skip
    lines = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(), "---", "", f"# Model card for {ov['model_name']}", ""]
    lines.append(f"Status: **{status}**" + (f"; version {version}" if version else "") + (f"; content hash `{content_hash}`" if content_hash else ""))
    lines += ["", "## Model Details", "", ov.get("model_description", "[More Information Needed]"), ""]
    for label, key in (("Developed by", "model_creator"), ("Owned by", "model_owner"), ("Model type", "algorithm_type"), ("Problem type", "problem_type")):
        if ov.get(key):
            lines.append(f"- **{label}:** {ov[key]}")
    lines.append(f"- **Version:** {ov['model_version']}")
    if custom.get("license"):
        lines.append(f"- **License:** {custom['license']}")
    lines += ["", "## Uses", "", "### Direct Use", "", uses.get("intended_uses", "[More Information Needed]"), ""]
    if uses.get("purpose_of_model"):
        lines += [f"Purpose: {uses['purpose_of_model']}", ""]
    lines += ["### Out-of-Scope Use", "", custom.get("out_of_scope_uses") or "[More Information Needed]", ""]
    lines += [
        "## Bias, Risks, and Limitations",
        "",
        f"Risk rating: **{uses.get('risk_rating', 'Unknown')}**. {uses.get('explanations_for_risk_rating', '')}".rstrip(),
        "",
    ]
    lines += [
        add.get("ethical_considerations", "[More Information Needed]"),
        "",
        "### Recommendations",
        "",
        add.get("caveats_and_recommendations", "[More Information Needed]"),
        "",
    ]
    lines += ["## Training Details", "", "### Training Data", "", content["training_details"].get("training_observations", "[More Information Needed]"), ""]
    lines += [
        "## Evaluation",
        "",
        "### Testing Data, Factors & Metrics",
        "",
        f"Testing data: {custom.get('evaluation_data') or '[More Information Needed]'}",
        "",
    ]
    if uses.get("factors_affecting_model_efficiency"):
        lines += [f"Factors: {uses['factors_affecting_model_efficiency']}", ""]
    analysis = custom.get("analysis", {})
    level = analysis.get("confidence_level", 0.95)
    lines += [f"Metrics (assay bias audit, {level:.0%} intervals, Benjamini-Hochberg q-values): {', '.join(analysis.get('metrics', []))}.", ""]
    lines += _md_results(custom)
    lines += _md_examination(custom)
    lines += _md_privacy(custom)
    lines += ["## Model Card Contact", "", custom.get("contact") or "[More Information Needed]", ""]
    return "\n".join(lines)


def _md_results(custom: dict[str, Any]) -> list[str]:
    """The card's results: every metric by group (unitary, then intersectional), and performance by group."""
    lines: list[str] = []
    lines += ["### Results", ""]
    for intersectional, title in ((False, "Unitary groups"), (True, "Intersectional groups")):
        rows = [r for r in custom.get("quantitative_analyses", []) if r["intersectional"] == intersectional]
        if not rows:
            continue
        lines += [
            f"#### {title}",
            "",
            "| Stage | Facet | Group | Metric | Value | Interval | q-value | Rows (group / rest) |",
            "|---|---|---|---|---:|---|---:|---:|",
        ]
        for r in rows:
            ci = r["ci"] or [None, None]
            value = _n(r["value"]) if r["value"] is not None else f"undefined: {r['reason']}"
            mark = " *" if r["significant"] else ""
            small = " (small)" if r["small_group"] else ""
            lines.append(
                f"| {r['stage'].replace('_', '-')} | {r['facet']} | {r['group']}{small} | {r['metric']} | {value}{mark} | [{_n(ci[0])}, {_n(ci[1])}] | {_n(r['q_value'])} | {r['group_size']} / {r['rest_size']} |"
            )
        lines.append("")
    if custom.get("performance_by_group"):
        lines += ["#### Performance by group", "", "| Facet | Group | Rows | AUC | AUC interval | Brier | ECE |", "|---|---|---:|---:|---|---:|---:|"]
        for g in custom["performance_by_group"]:
            ci = g.get("auc_ci") or [None, None]
            lines.append(f"| {g['facet']} | {g['group']} | {g['rows']} | {_n(g['auc'])} | [{_n(ci[0])}, {_n(ci[1])}] | {_n(g['brier'])} | {_n(g['ece'])} |")
        lines.append("")
    lines += ["\\* significant after multiple-testing control.", ""]
    return lines


def _md_examination(custom: dict[str, Any]) -> list[str]:
    """The card's model examination: global importance and the share of attribution each facet and its proxies carry."""
    lines: list[str] = []
    if custom.get("explanations"):
        e = custom["explanations"]
        lines += [
            "## Model Examination",
            "",
            f"Shapley values ({e['method']}), global importance ({e['agg_method']}):",
            "",
            "| Feature | Importance | Interval |",
            "|---|---:|---|",
        ]
        for f in e["global_importance"]:
            lines.append(f"| {f['feature']} | {_n(f['value'])} | [{_n(f['ci'][0])}, {_n(f['ci'][1])}] |")
        lines.append("")
        for facet, info in e["carried_by_facet_and_proxies"].items():
            lines += [f"Share of attribution carried by {facet} and its proxies ({', '.join(info['proxies'])}):", "",
                      "| Group | Rows | Share in group | Share in rest | Difference | Interval |", "|---|---:|---:|---:|---:|---|"]  # fmt: skip
            for g in info["groups"]:
                lines.append(f"| {g['group']} | {g['rows']} | {_n(g['d'])} | {_n(g['rest'])} | {_n(g['difference'])} | [{_n(g['ci'][0])}, {_n(g['ci'][1])}] |")
            lines.append("")
    return lines


def _ci_text(ci: Any) -> str:
    return f"[{_n(ci[0])}, {_n(ci[1])}]" if ci and ci[0] is not None else ""


def _dp_sentence(dp: dict[str, Any]) -> str:
    return (
        f"The audit figures on this card are an epsilon-differentially private release: epsilon {dp['epsilon']:g}, delta {dp['delta']:g}, "
        f"neighbouring data sets by {dp['neighbouring'].replace('_', '/')} of one row; {dp['mechanism']} ({dp['cells_released']} cells)."
    )


def _md_privacy(custom: dict[str, Any]) -> list[str]:
    """The card's privacy and robustness sections."""
    lines: list[str] = []
    p = custom.get("privacy")
    if p:
        lines += ["## Privacy", ""]
        if p.get("differential_privacy"):
            lines += [_dp_sentence(p["differential_privacy"]), ""]
        cols = p.get("personal_columns")
        if cols is not None:
            lines += [
                f"Personal data found by the offline scan: {', '.join(c['column'] + ' (' + ', '.join(c['kinds']) + ')' for c in cols) if cols else 'none'}.",
                "",
            ]
        a = p.get("anonymity")
        if a:
            lines += [f"Quasi-identifiers {', '.join(a['quasi_identifiers'])}: k = {a['k']}, l = {_n(a['l'])}, t = {_n(a['t'])}; "
                      f"{a['at_risk']} of {a['rows']} rows in classes of fewer than {a['k_min']}.", "",
                      "| Facet | Group | Rows | At risk | Share |", "|---|---|---:|---:|---:|"]  # fmt: skip
            lines += [f"| {g['facet']} | {g['group']} | {g['rows']} | {g['at_risk']} | {_n(g['share_at_risk'])} |" for g in a["by_group"]] + [""]
        m = p.get("membership_inference")
        if m:
            lines += [f"Membership inference ({m['attack']}):", "", f"| Facet | Group | Members / non-members | AUC | Interval | TPR at FPR {m['fpr']} |",
                      "|---|---|---:|---:|---|---:|"]  # fmt: skip
            lines += [f"| {g['facet']} | {g['group']} | {g['members']} / {g['non_members']} | {_n(g['auc'])} | {_ci_text(g['auc_ci'])} | "
                      f"{_n(g['tpr']) if g['tpr'] is not None else 'undefined'} |" for g in m["groups"]] + [""]  # fmt: skip
        if p.get("minimisation"):
            lines += ["Data minimisation:", "", "| Column | Personal | Share of attribution | Advice |", "|---|---|---:|---|"]
            lines += [f"| {r['column']} | {', '.join(r['personal'])} | {_n(r['attribution_share'])} | {r['advice']} |" for r in p["minimisation"]] + [""]
    r = custom.get("robustness")
    if r:
        lines += ["## Robustness", "", f"Counterfactual flips of {r['sensitive']} on {r['rows']} rows: {r['method']}.", ""]
        for st in r["flips"]:
            lines += [f"Rows whose decision a change flips ({st['changes']}: {', '.join(st['columns'])}){'' if st['exact'] else ', at least'}:", "",
                      "| Group | Rows | Share | Interval |", "|---|---:|---:|---|"]  # fmt: skip
            lines += [f"| {g['group']} | {g['rows']} | {_n(g['value'])} | {_ci_text(g['ci'])} |" for g in st["groups"]] + [""]
        sb = r["stability"]
        lines += [f"Decisions changed by perturbations (noise {sb['noise']} SD, swaps {sb['swap_rate']}):", "", "| Facet | Group | Rows | Flip rate | Interval |",
                  "|---|---|---:|---:|---|"]  # fmt: skip
        lines += [f"| {g['facet']} | {g['group']} | {g['rows']} | {_n(g['value'])} | {_ci_text(g['ci'])} |" for g in sb["groups"]] + [""]
        if r.get("fliptest"):
            lines += ["FlipTest (FT > 0: the group is disfavoured):", "", "| Group | FT, optimal transport | Interval | FT, nearest neighbours (Clarify) | Interval |",
                      "|---|---:|---|---:|---|"]  # fmt: skip
            lines += [f"| {g['group']} | {_n(g['optimal_transport']['value'])} | {_ci_text(g['optimal_transport']['ci'])} | "
                      f"{_n(g['nearest_neighbours']['value'])} | {_ci_text(g['nearest_neighbours']['ci'])} |" for g in r["fliptest"]] + [""]  # fmt: skip
    return lines


def to_html(content: dict[str, Any], *, status: str = "Draft", version: int | None = None, content_hash: str | None = None,
            approvals: list[dict[str, Any]] | None = None) -> str:  # fmt: skip
    """The card as a self-contained HTML page (the Markdown's content, with the sign-off record)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("assay.report", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("card.html.j2").render(c=content, custom=content["additional_information"].get("custom_details", {}), status=status,
                                                   version=version, content_hash=content_hash, approvals=approvals or [], n=_n)  # fmt: skip
