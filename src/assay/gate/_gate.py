"""The gate: each rule decided from an interval into pass, fail or inconclusive, with the numbers and the reason.

A rule's bounds are an acceptable region for a metric. With the metric's interval [lo, hi]: **pass** when the interval lies
inside the region, **fail** when it lies wholly outside, **inconclusive** when it straddles a bound (the data cannot tell) or
the metric is undefined. The intervals are at level 1 - alpha / m for the m decisions (Bonferroni), so a model whose every
metric meets its rule fails any of them with probability at most about alpha, however the decisions depend on each other. A
point-estimate gate (the value inside the bounds) fails a model that meets the rule about half the time when the metric sits
at a bound, and passes a biased one on a lucky sample.

Given data, the audit runs twice: without the bootstrap, to count the decisions, then at the adjusted level. Given a
directory with an analysis.json, its intervals are used as they are (at the level they were computed at) and the result says
that the decisions were not adjusted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay._errors import ConfigError, DataError
from assay.gate._policy import Policy, Rule, load_policy

__all__ = ["Decision", "GateResult", "assert_fair", "check", "decide"]


def decide(ci: Any, bounds: tuple[float | None, float | None]) -> tuple[str, str]:
    """pass, fail or inconclusive for an interval against the acceptable region ``bounds`` (either end None: open), and why."""
    lo, hi = bounds
    if ci is None or ci[0] is None or ci[1] is None or any(isinstance(x, float) and math.isnan(x) for x in ci):
        return "inconclusive", "the metric has no interval here"
    a, b = float(ci[0]), float(ci[1])
    if (lo is None or a >= lo) and (hi is None or b <= hi):
        return "pass", "the whole interval is inside the bounds"
    if (hi is not None and a > hi) or (lo is not None and b < lo):
        return "fail", "the whole interval is outside the bounds"
    return "inconclusive", "the interval straddles a bound: the data cannot tell whether the rule holds"


@dataclass
class Decision:
    rule: str
    state: str
    reason: str
    value: float | None = None
    ci: list[float | None] | None = None
    bounds: tuple[float | None, float | None] = (None, None)
    facet: str | None = None
    group: Any = None
    metric: str | None = None
    group_size: int | None = None
    rest_size: int | None = None

    @property
    def title(self) -> str:
        """The rule, with the group it was decided for when the rule covers several."""
        return self.rule if self.group is None or f"= {self.group} " in self.rule else f"{self.rule} [{self.group}]"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "state": self.state, "reason": self.reason, "metric": self.metric, "facet": self.facet, "group": self.group,
                "value": self.value, "ci": self.ci, "bounds": list(self.bounds), "group_size": self.group_size, "rest_size": self.rest_size}  # fmt: skip


@dataclass
class GateResult:
    decisions: list[Decision]
    level: float | None
    alpha: float
    adjusted: bool
    source: str
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(d.state == s for d in self.decisions) for s in ("pass", "fail", "inconclusive")}

    @property
    def outcome(self) -> str:
        c = self.counts
        return "fail" if c["fail"] else "inconclusive" if c["inconclusive"] else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "counts": self.counts, "alpha": self.alpha, "level": self.level, "adjusted": self.adjusted,
                "source": self.source, "decisions": [d.to_dict() for d in self.decisions], "warnings": self.warnings}  # fmt: skip

    def junit(self, *, inconclusive: str = "skipped") -> str:
        """JUnit XML: one test case per decision; a failed rule is a failure, an inconclusive one skipped (or a failure)."""
        from xml.sax.saxutils import quoteattr

        c = self.counts
        failures = c["fail"] + (c["inconclusive"] if inconclusive == "fail" else 0)
        skipped = c["inconclusive"] if inconclusive == "skipped" else 0
        out = [f'<testsuite name="assay check" tests="{len(self.decisions)}" failures="{failures}" skipped="{skipped}">']
        for d in self.decisions:
            detail = _detail(d)
            out.append(f"  <testcase classname={quoteattr('assay.policy')} name={quoteattr(d.title)}>")
            if d.state == "fail" or (d.state == "inconclusive" and inconclusive == "fail"):
                out.append(f"    <failure message={quoteattr(d.state + ': ' + d.reason)}>{_escape(detail)}</failure>")
            elif d.state == "inconclusive":
                out.append(f"    <skipped message={quoteattr('inconclusive: ' + d.reason + '; ' + detail)}/>")
            out.append("  </testcase>")
        out.append("</testsuite>")
        return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def _detail(d: Decision) -> str:
    def f(x: Any) -> str:
        return "undefined" if x is None else f"{x:.4g}"

    ci = "none" if not d.ci else f"[{f(d.ci[0])}, {f(d.ci[1])}]"
    sizes = "" if d.group_size is None else f"; {d.group_size:,} rows in the group" + ("" if d.rest_size is None else f", {d.rest_size:,} in the rest")
    return f"value {f(d.value)}, interval {ci}, bounds [{f(d.bounds[0]) if d.bounds[0] is not None else '-inf'}, {f(d.bounds[1]) if d.bounds[1] is not None else 'inf'}]{sizes}"


def check(policy: Any, target: Any = None) -> GateResult:
    """Decide every rule of ``policy`` (a path, a dict or a :class:`Policy`) on ``target``: data (any table assay reads; the
    audit of the policy runs on it at the adjusted level), a directory holding analysis.json, or an analysis.json; with no
    target, the data of the policy's audit config."""
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    doc_path = _document(target)
    if doc_path is not None:
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        level = (doc.get("settings") or {}).get("confidence_level")
        m = len(_metric_decisions(pol, doc, level or 0.95))
        warn = [f"decided from the intervals in {doc_path} (level {level}), not adjusted for the {m} decisions: the chance that a model meeting "
                "every rule fails one is up to the sum of their one-sided misses; give the data instead for a gate adjusted for all of them"]  # fmt: skip
        decided = _metric_decisions(pol, doc, level) + _task_decisions(pol, doc.get("task_metrics") or []) + _discovered(pol, doc)
        return GateResult(decided, level, pol.alpha, False, str(doc_path), warn)
    cfg = _audit_config(pol)
    from assay._config import audit_config, tasks_config

    audited, tasked = any(r.metric for r in pol.rules), any(r.task for r in pol.rules)
    counted = audit_config(cfg, data=target, bootstrap_replicates=0).to_dict() if audited else {}  # the decisions there are, without the bootstrap
    counted_tasks = [t.to_dict() for t in tasks_config(cfg.model_copy(update={"bootstrap_replicates": 0}), data=target)] if tasked else []
    m = max(1, len(_metric_decisions(pol, counted, None)) + len(_task_decisions(pol, counted_tasks)))
    level = 1 - pol.alpha / m
    replicates = pol.bootstrap_replicates or max(2000, math.ceil(40 / ((1 - level) / 2)))
    doc = audit_config(cfg, data=target, confidence_level=level, bootstrap_replicates=replicates).to_dict() if audited else {}
    decisions = _metric_decisions(pol, doc, level)
    if tasked:
        adjusted = cfg.model_copy(update={"confidence_level": level, "bootstrap_replicates": replicates})
        decisions += _task_decisions(pol, [t.to_dict() for t in tasks_config(adjusted, data=target)])
    if any(r.discovered for r in pol.rules):
        decisions += _discovered(pol, {"subgroup_discovery": _run_discovery(pol, cfg, target)})
    source = str(target) if isinstance(target, (str, Path)) else "the audit config's dataset_uri" if target is None else "a table"
    return GateResult(decisions, level, pol.alpha, True, source,
                      [f"{m} decisions, each at level 1 - {pol.alpha} / {m} = {level:.6g} (Bonferroni), {replicates:,} bootstrap replicates"])  # fmt: skip


def _document(target: Any) -> Path | None:
    if not isinstance(target, (str, Path)):  # None (the config's data) or a table
        return None
    path = Path(target)
    if path.is_dir():
        if not (path / "analysis.json").is_file():
            raise DataError(f"{path} is a directory without analysis.json; give the data, or the directory assay audit wrote")
        return path / "analysis.json"
    return path if path.name.endswith(".json") and path.is_file() and _is_analysis(path) else None


def _is_analysis(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(doc, dict) and any(k in doc for k in ("pre_training_bias_metrics", "post_training_bias_metrics", "subgroup_discovery"))


def _audit_config(pol: Policy) -> Any:
    from assay._config import load_config

    if pol.audit is None:
        raise ConfigError("the policy has no audit: name the audit config (audit: audit.yaml) or put its keys under audit:")
    if isinstance(pol.audit, dict):
        cfg = load_config(pol.audit)
        cfg._base = pol._base
        return cfg
    path = Path(pol.audit)
    return load_config(path if path.is_absolute() or pol._base is None else Path(pol._base) / path)


def _metric_decisions(pol: Policy, doc: dict[str, Any], level: float | None) -> list[Decision]:
    from assay.bias import METRICS

    out = []
    for rule in pol.rules:
        if rule.metric is None:
            continue
        spec = METRICS.get(rule.metric)
        if spec is None:
            from assay._errors import did_you_mean

            raise ConfigError(f"rule {rule.label!r}: no metric {rule.metric!r} in the registry.{did_you_mean(rule.metric, list(METRICS))}")
        stage = doc.get("pre_training_bias_metrics" if spec.stage == "pre_training" else "post_training_bias_metrics") or {}
        facets = stage.get("facets") or {}
        if rule.facet not in facets:
            raise DataError(f"rule {rule.label!r}: the audit has no facet {rule.facet!r} ({spec.stage}); it has {', '.join(facets) or 'none'}")
        groups = [g for g in facets[rule.facet] if rule.group is None or _same(g["value_or_threshold"], rule.group)]
        if not groups:
            have = ", ".join(_shown(g["value_or_threshold"]) for g in facets[rule.facet])
            raise DataError(f"rule {rule.label!r}: facet {rule.facet!r} has no group {rule.group!r}; it has {have}")
        if rule.baseline is not None:
            out += _against_baseline(pol, rule, spec, groups, level or 0.95)
            continue
        for g in groups:
            entry = next((m for m in g.get("metrics", []) if m["name"] == spec.name), None)
            if entry is None:
                out.append(Decision(rule.label, "inconclusive", f"{spec.name} was not computed for this group", bounds=rule.bounds,
                                    facet=rule.facet, group=_shown(g["value_or_threshold"]), metric=spec.name))  # fmt: skip
                continue
            state, why = decide(entry.get("ci"), rule.bounds)
            if entry.get("value") is None:
                state, why = "inconclusive", entry.get("reason") or "the metric is undefined here"
            size = g.get("group", {})
            out.append(Decision(rule.label, state, why, entry.get("value"), entry.get("ci"), rule.bounds, rule.facet, _shown(g["value_or_threshold"]),
                                spec.name, size.get("size"), size.get("rest_size")))  # fmt: skip
    return out


def _same(value: Any, group: Any) -> bool:
    return _shown(value) == _shown(group)


def _shown(value: Any) -> str:
    return " & ".join(map(str, value)) if isinstance(value, list) else str(value)


def _run_discovery(pol: Policy, cfg: Any, target: Any) -> dict[str, Any]:
    from assay._config import discover_config

    measures = {r.discovered for r in pol.rules if r.discovered}
    if len(measures) > 1:
        raise ConfigError(f"discovered rules name {sorted(measures)}; one measure per policy (the search runs once)")
    settings = dict(pol.discover or {}) | {"measure": measures.pop()}
    config = cfg.model_copy(update={"discover": type(cfg.discover).model_validate(settings)})
    return dict(discover_config(config, data=target).to_dict())


def _discovered(pol: Policy, doc: dict[str, Any]) -> list[Decision]:
    out = []
    for rule in (r for r in pol.rules if r.discovered):
        found = doc.get("subgroup_discovery")
        if not found:
            out.append(Decision(rule.label, "inconclusive", "no subgroup discovery in the results (run assay discover, or give the data)", bounds=rule.bounds))
            continue
        if found.get("measure") != rule.discovered:
            out.append(Decision(rule.label, "inconclusive", f"the discovery measured {found.get('measure')}, not {rule.discovered}", bounds=rule.bounds))
            continue
        limit = float(rule.at_most if rule.at_most is not None else math.inf)
        low = lambda s: s["confirmation"]["difference_ci"][0]  # noqa: E731
        worse = [s for s in found["subgroups"] if s.get("confirmed") and low(s) is not None and low(s) > limit]
        tested = found["hypotheses"]["tested"]
        if not worse:
            out.append(Decision(rule.label, "pass", f"no confirmed subgroup's difference from the rest is above {limit:g} with confidence "
                                f"({tested} subgroups tested, {found['hypotheses']['searched']:,} searched)", bounds=rule.bounds, metric=rule.discovered))  # fmt: skip
        for s in worse:
            c = s["confirmation"]
            out.append(Decision(rule.label, "fail", f"{s['text']}: its difference from the rest is above {limit:g} (q = {s['q_value']:.2g})",
                                c["difference"], c["difference_ci"], rule.bounds, None, s["text"], rule.discovered, c["rows"], c["rest_rows"]))  # fmt: skip
    return out


def assert_fair(data: Any = None, *, policy: Any = None, rules: list[dict[str, Any]] | None = None, audit: Any = None, alpha: float = 0.05,
                inconclusive: str = "fail", bootstrap_replicates: int | None = None) -> GateResult:  # fmt: skip
    """Raise AssertionError unless every rule passes (``inconclusive="pass"`` lets undecided rules through): the gate of
    :func:`check` for test suites. Give a ``policy`` (a path, a dict or a Policy), or ``rules`` with the ``audit`` config (a
    path or its keys); ``data`` is a table, a path, or a directory that assay audit wrote. The message names every rule that
    did not pass, with its value, interval, bounds and group sizes."""
    if inconclusive not in ("fail", "pass"):
        raise ConfigError(f"inconclusive must be fail or pass, got {inconclusive!r}")
    if (policy is None) == (rules is None):
        raise ConfigError("give a policy, or rules (with an audit config), one of them")
    if policy is None:
        policy = {"rules": rules, "alpha": alpha, "audit": audit, **({"bootstrap_replicates": bootstrap_replicates} if bootstrap_replicates else {})}
    result = check(policy, data)
    bad = [d for d in result.decisions if d.state == "fail" or (d.state == "inconclusive" and inconclusive == "fail")]
    if bad:
        c = result.counts
        head = f"fairness policy not met: {c['fail']} failed, {c['inconclusive']} inconclusive, {c['pass']} passed"
        level = f" (each interval at level {result.level:.4g})" if result.level else ""
        lines = [f"  {d.state.upper()}: {d.title}: {_detail(d)}; {d.reason}" for d in bad]
        raise AssertionError("\n".join([head + level, *lines]))
    return result


def _against_baseline(pol: Policy, rule: Rule, spec: Any, groups: list[dict[str, Any]], level: float) -> list[Decision]:
    """Each group's value against the baseline's: the change away from the metric's ideal (its difference, signed so that
    positive is worse: away from 0, or from 1 for a ratio), decided like a bound: fail when the whole interval of the change
    is above ``worse_by``, pass when it is all at or below it."""
    from assay.gate._claims import compare_claims

    path = Path(rule.baseline or "")
    if not path.is_absolute() and pol._base is not None and not path.exists():
        path = Path(pol._base) / path
    path = path / "analysis.json" if path.is_dir() else path
    if not path.is_file():
        raise DataError(f"rule {rule.label!r}: the baseline {rule.baseline} is not an analysis.json (nor a directory holding one)")
    base = json.loads(path.read_text(encoding="utf-8"))
    stage = base.get("pre_training_bias_metrics" if spec.stage == "pre_training" else "post_training_bias_metrics") or {}
    base_level = (base.get("settings") or {}).get("confidence_level", 0.95)
    ideal = 1.0 if str(spec.ideal) == "1" else 0.0
    out = []
    for g in groups:
        shown = _shown(g["value_or_threshold"])
        old = next((v for v in (stage.get("facets") or {}).get(rule.facet, []) if _shown(v["value_or_threshold"]) == shown), None)
        entry = None if old is None else next((m for m in old.get("metrics", []) if m["name"] == spec.name), None)
        bounds = (None, float(rule.worse_by or 0.0))
        if entry is None or entry.get("value") is None:
            out.append(Decision(rule.label, "inconclusive", f"the baseline has no {spec.name} for {rule.facet} = {shown}", bounds=bounds, facet=rule.facet,
                                group=shown, metric=spec.name))  # fmt: skip
            continue
        claim = {"stage": spec.stage, "facet": rule.facet, "group": shown, "metric": spec.name, "value": entry["value"], "ci": entry.get("ci")}
        (c,) = compare_claims([claim], {"settings": {"confidence_level": level}, spec.stage + "_bias_metrics": {"facets": {rule.facet: [g]}}},
                              card_level=base_level, difference_level=level)  # fmt: skip
        if c["difference"] is None:
            out.append(Decision(rule.label, "inconclusive", c["reason"], bounds=bounds, facet=rule.facet, group=shown, metric=spec.name))
            continue
        sign = 1.0 if entry["value"] >= ideal else -1.0  # away from the ideal, on the baseline's side of it
        lo, hi = sorted((sign * c["difference_ci"][0], sign * c["difference_ci"][1]))
        state, why = decide([lo, hi], bounds)
        size = g.get("group", {})
        out.append(Decision(rule.label, state, why + f" (the change from the baseline's {entry['value']:.4g}, positive: further from {ideal:g})",
                            sign * c["difference"], [lo, hi], bounds, rule.facet, shown, spec.name, size.get("size"), size.get("rest_size")))  # fmt: skip
    return out


def _task_decisions(pol: Policy, tables: list[dict[str, Any]]) -> list[Decision]:
    """Task rules decided on the task metrics by group (``assay tasks``' tables): each group's value or difference from the rest."""
    out = []
    for rule in (r for r in pol.rules if r.task):
        table = next((t for t in tables if t["metric"] == rule.task and t["group"] == rule.facet), None)
        if table is None:
            have = ", ".join(f"{t['metric']} by {t['group']}" for t in tables) or "none"
            raise DataError(f"rule {rule.label!r}: the audit config's tasks: compute no {rule.task} by {rule.facet} (they compute: {have})")
        groups = [g for g in table["groups"] if rule.group is None or g["group"] == str(rule.group)]
        if not groups:
            raise DataError(f"rule {rule.label!r}: {rule.facet} has no group {rule.group!r}; it has {', '.join(g['group'] for g in table['groups'])}")
        for g in groups:
            value, ci = (g["value"], g["ci"]) if rule.of == "value" else (g["difference"], g["difference_ci"])
            state, why = decide(ci, rule.bounds) if value is not None else ("inconclusive", g.get("reason", "undefined"))
            out.append(Decision(rule.label, state, why, value, ci, rule.bounds, rule.facet, g["group"], rule.task, g["rows"], None))
    return out
