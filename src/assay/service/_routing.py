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
        {"type": "random_sample", "percent": 2.5}                  # deterministic per id, like A2I
     ]}

A prediction is routed when any condition fires; every condition that fired
is stored with the task (A2I stored which conditions fired). The random sample
is a hash of the model and the prediction id, so the same id is always in or
always out, whoever captures it and however often.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Policy", "fired"]

KINDS = {"score_between", "margin_below", "entropy_above", "facet_score_between", "out_of_range", "not_in_domain", "random_sample"}


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
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

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        need = {"score_between": ("low", "high"), "margin_below": ("value",), "entropy_above": ("value",),
                "facet_score_between": ("facet", "value", "low", "high"), "out_of_range": ("feature",),
                "not_in_domain": ("feature", "values"), "random_sample": ("percent",)}  # fmt: skip
        if self.type not in need:
            raise ValueError(f"condition type must be one of {', '.join(sorted(KINDS))}, got {self.type!r}")
        missing = [k for k in need[self.type] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"condition {self.type} needs {', '.join(missing)}")
        if self.type == "out_of_range" and self.min is None and self.max is None:
            raise ValueError("condition out_of_range needs min, max or both")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reviewers_per_item: int = Field(default=1, ge=1, le=10)
    task_hours: float = Field(default=72, gt=0)
    assignment_minutes: float = Field(default=60, gt=0)
    question: str = Field(default="What is the correct outcome?", max_length=2000)
    answers: list[str] = Field(min_length=2, max_length=20)
    conditions: list[Condition] = Field(min_length=1, max_length=50)


def _entropy(p: float) -> float:
    if p <= 0 or p >= 1:
        return 0.0
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def _sampled(model: str, pid: str, percent: float) -> bool:
    h = int.from_bytes(hashlib.sha256(f"{model}\x00{pid}".encode()).digest()[:8], "big")
    return (h % 1_000_000) < percent * 10_000


def fired(policy: Policy, record: dict[str, Any], *, model: str, threshold: float) -> list[dict[str, Any]]:
    """The conditions that fire for one captured record (empty: not routed), each with the value that made it fire."""
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
        if hit is not None:
            out.append({"condition": c.model_dump(exclude_none=True), **hit})
    return out
