"""Routing to human review: a policy per model, written as data, evaluated on every captured prediction.

A policy::

    {"reviewers_per_item": 3, "task_hours": 24, "assignment_minutes": 60,
     "question": "Is this person's income above 50K?", "answers": [">50K", "<=50K"],
     "conditions": [
        {"type": "score_between", "low": 0.4, "high": 0.6},
        {"type": "margin_below", "value": 0.1},                    # |score - threshold| < value
        {"type": "entropy_above", "value": 0.95},                  # binary entropy of the score, in bits
        {"type": "facet_score_between", "facet": "sex", "value": "Female", "low": 0.3, "high": 0.7},
        {"type": "out_of_range", "feature": "age", "min": 17, "max": 90},
        {"type": "not_in_domain", "feature": "workclass", "values": ["Private", "Self-emp-inc"]},
        {"type": "random_sample", "percent": 2.5},                 # deterministic per id, like A2I
        {"type": "baseline_constraints"}                           # breaks the model's monitoring baseline (below)
     ]}

``baseline_constraints`` checks each input against the model's latest
baseline (``PUT /models/{name}/{version}/baseline``): a feature the baseline
always had is missing, a numeric feature is not a number, negative where the
baseline is non-negative, or outside the baseline's [min, max], a categorical
value is outside the baseline's domain. ``features`` limits it to some
features; ``range: false`` leaves out the [min, max] test.

A prediction is routed when any condition fires; every condition that fired
is stored with the task (A2I stored which conditions fired). The random sample
is a hash of the model and the prediction id, so the same id is always in or
always out, whoever captures it and however often.
"""

from __future__ import annotations

import hashlib
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from assay.service._guard import STRICT, Whole

__all__ = ["Policy", "baseline_limits", "fired"]

MAX_TASK_HOURS = 24 * 366  # durations are added to times: unbounded ones overflow the calendar
MAX_ASSIGNMENT_MINUTES = 7 * 24 * 60
#: Each condition type and the fields it needs.
NEEDS: dict[str, tuple[str, ...]] = {"score_between": ("low", "high"), "margin_below": ("value",), "entropy_above": ("value",),
                                     "facet_score_between": ("facet", "value", "low", "high"), "out_of_range": ("feature",),
                                     "not_in_domain": ("feature", "values"), "random_sample": ("percent",), "baseline_constraints": ()}  # fmt: skip
KINDS = set(NEEDS)


class Condition(BaseModel):
    model_config = STRICT
    type: str
    low: float | None = None
    high: float | None = None
    value: Any = None
    facet: str | None = None
    feature: str | None = None
    min: float | None = None
    max: float | None = None
    values: list[Any] | None = None
    percent: float | None = Field(default=None, ge=0, le=100)
    features: list[str] | None = Field(default=None, max_length=2000)
    range: bool | None = None  # baseline_constraints: test the [min, max] range too (default yes)

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        if self.type not in NEEDS:
            from assay._errors import did_you_mean

            raise ValueError(f"condition type must be one of {', '.join(sorted(KINDS))}, got {self.type!r}.{did_you_mean(self.type, KINDS)}")
        missing = [k for k in NEEDS[self.type] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"condition {self.type} needs {', '.join(missing)}")
        if self.type in ("margin_below", "entropy_above") and (isinstance(self.value, bool) or not isinstance(self.value, (int, float))
                                                               or not math.isfinite(self.value)):  # fmt: skip
            raise ValueError(f"condition {self.type} needs a finite number as value, got {self.value!r}")
        if self.type == "out_of_range" and self.min is None and self.max is None:
            raise ValueError("condition out_of_range needs min, max or both")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """The schema says what ``_complete`` checks: one variant per type, each requiring (non-null) what that type needs."""
        ref = handler(core_schema)
        schema = handler.resolve_ref_schema(ref)
        props = schema["properties"]
        props["type"] = {"type": "string", "enum": sorted(KINDS), "title": "Type"}
        number, scalar = {"type": "number"}, {"type": ["string", "number", "boolean"]}
        variants = []
        for kind, need in sorted(NEEDS.items()):
            given = {k: number if k == "value" and kind != "facet_score_between" else scalar if k == "value" else _not_null(props[k]) for k in need}
            variant: dict[str, Any] = {"properties": {"type": {"const": kind}, **given}, "required": ["type", *need]}
            if kind == "out_of_range":
                variant["anyOf"] = [{"properties": {b: number}, "required": [b]} for b in ("min", "max")]
            variants.append(variant)
        schema["oneOf"] = variants
        return ref


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without its null alternative (pydantic writes ``X | None`` as anyOf [X, null])."""
    alts = [a for a in prop.get("anyOf", [prop]) if a.get("type") != "null"]
    return {k: v for k, v in prop.items() if k not in ("anyOf", "default")} | (alts[0] if len(alts) == 1 else {"anyOf": alts})


class Policy(BaseModel):
    model_config = STRICT
    reviewers_per_item: Whole = Field(default=1, ge=1, le=10)
    task_hours: float = Field(default=72, gt=0, le=MAX_TASK_HOURS, description="a task not complete within this many hours expires (at most a year)")
    assignment_minutes: float = Field(default=60, gt=0, le=MAX_ASSIGNMENT_MINUTES,
                                      description="a reviewer's claim on a task lapses after this many minutes (at most a week)")  # fmt: skip
    question: str = Field(default="What is the correct outcome?", max_length=2000)
    answers: list[str] = Field(min_length=2, max_length=20)
    conditions: list[Condition] = Field(min_length=1, max_length=50)
    consolidation: Literal["majority", "weighted"] = "majority"
    weights: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict, max_length=1000,
                                                              description="reviewer -> vote weight (weighted consolidation), finite and at least 0")  # fmt: skip


def _entropy(p: float) -> float:
    if p <= 0 or p >= 1:
        return 0.0
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def _sampled(model: str, pid: str, percent: float) -> bool:
    h = int.from_bytes(hashlib.sha256(f"{model}\x00{pid}".encode()).digest()[:8], "big")
    return (h % 1_000_000) < percent * 10_000


def baseline_limits(statistics: dict[str, Any], constraints: dict[str, Any], *, outputs: frozenset[str] | set[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """Per feature of a baseline (but not the model's ``outputs``: label, score, ground truth): numeric or not, always present,
    non-negative, the domain of categories, the range seen."""
    stats = {f.get("name"): f for f in statistics.get("features", []) if isinstance(f, dict)}
    out = {}
    for f in constraints.get("features", []):
        name = f["name"]
        if name in outputs:
            continue
        num = (stats.get(name) or {}).get("numerical_statistics") or {}
        out[name] = {"numeric": f.get("inferred_type") in ("Integral", "Fractional"), "complete": float(f.get("completeness", 0)) >= 1.0,
                     "non_negative": bool((f.get("num_constraints") or {}).get("is_non_negative")),
                     "domain": set(map(str, (f.get("string_constraints") or {}).get("domains") or [])) or None,
                     "min": num.get("min"), "max": num.get("max")}  # fmt: skip
    return out


def _breaks(c: Condition, inputs: dict[str, Any], facets: dict[str, Any], limits: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The baseline constraints an input breaks: feature, value and why (a column the inputs lack may be one of the facets)."""
    out: list[dict[str, Any]] = []
    for name, lim in limits.items():
        if c.features is not None and name not in c.features:
            continue
        v = inputs.get(name, facets.get(name))
        if v is None:
            if lim["complete"]:
                out.append({"feature": name, "value": None, "why": "missing; the baseline always has it"})
            continue
        if lim["numeric"]:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                out.append({"feature": name, "value": v, "why": "not a number"})
            elif lim["non_negative"] and v < 0:
                out.append({"feature": name, "value": v, "why": "negative; the baseline is never negative"})
            elif c.range is not False and ((lim["min"] is not None and v < lim["min"]) or (lim["max"] is not None and v > lim["max"])):
                out.append({"feature": name, "value": v, "why": f"outside the baseline's range [{lim['min']:g}, {lim['max']:g}]"})
        elif lim["domain"] is not None and str(v) not in lim["domain"]:
            out.append({"feature": name, "value": v, "why": "not among the baseline's values"})
    return out


def fired(policy: Policy, record: dict[str, Any], *, model: str, threshold: float, limits: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The conditions that fire for one captured record (empty: not routed), each with the value that made it fire
    (``limits``: the model's baseline, for ``baseline_constraints``)."""
    out = []
    score = record.get("score")
    inputs = record.get("inputs") or {}
    facets = record.get("facets") or {}
    for c in policy.conditions:
        hit: dict[str, Any] | None = None
        if c.type == "score_between" and score is not None and c.low is not None and c.high is not None and c.low <= score <= c.high:
            hit = {"score": score}
        elif c.type == "margin_below" and score is not None and abs(score - threshold) < float(c.value):
            hit = {"margin": abs(score - threshold)}
        elif c.type == "entropy_above" and score is not None and _entropy(score) > float(c.value):
            hit = {"entropy": _entropy(score)}
        elif (c.type == "facet_score_between" and score is not None and str(facets.get(c.facet or "")) == str(c.value)
              and c.low is not None and c.high is not None and c.low <= score <= c.high):  # fmt: skip
            hit = {"facet": c.facet, "facet_value": c.value, "score": score}
        elif c.type == "out_of_range" and c.feature in inputs:
            v = inputs[c.feature]
            try:
                x = float(v)
            except (TypeError, ValueError):
                hit = {"feature": c.feature, "value": v, "why": "not a number"}
            else:
                if (c.min is not None and x < c.min) or (c.max is not None and x > c.max):
                    hit = {"feature": c.feature, "value": x}
        elif c.type == "not_in_domain" and c.feature in inputs and inputs[c.feature] not in (c.values or []):
            hit = {"feature": c.feature, "value": inputs[c.feature]}
        elif c.type == "random_sample" and _sampled(model, str(record["id"]), float(c.percent or 0)):
            hit = {"percent": c.percent}
        elif c.type == "baseline_constraints" and limits:
            broken = _breaks(c, inputs, facets, limits)
            if broken:
                hit = {"feature": broken[0]["feature"], "value": broken[0]["value"], "why": broken[0]["why"], "broken": broken}
        if hit is not None:
            out.append({"condition": c.model_dump(exclude_none=True), **hit})
    return out
