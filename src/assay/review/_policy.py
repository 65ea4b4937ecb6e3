"""A model's review policy, written as data: who reviews, how many, for how long, the question, and when a prediction is routed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from assay._strict import STRICT, Whole
from assay.review._conditions import CONDITIONS, AnyCondition, Seen

__all__ = ["MAX_ASSIGNMENT_MINUTES", "MAX_TASK_HOURS", "Policy", "fired"]

MAX_TASK_HOURS = 24 * 366  # durations are added to times: unbounded ones overflow the calendar
MAX_ASSIGNMENT_MINUTES = 7 * 24 * 60


class Policy(BaseModel):
    """A model's routing and review policy::

        {"reviewers_per_item": 3, "task_hours": 24, "assignment_minutes": 60,
         "question": "Is this person's income above 50K?", "answers": [">50K", "<=50K"],
         "conditions": [{"type": "score_between", "low": 0.4, "high": 0.6}, {"type": "random_sample", "percent": 2.5}]}

    A prediction is routed when any condition fires (the registry :data:`assay.review.CONDITIONS` lists the kinds)."""

    model_config = STRICT
    reviewers_per_item: Whole = Field(default=1, ge=1, le=10)
    task_hours: float = Field(default=72, gt=0, le=MAX_TASK_HOURS, description="a task not complete within this many hours expires (at most a year)")
    assignment_minutes: float = Field(default=60, gt=0, le=MAX_ASSIGNMENT_MINUTES,
                                      description="a reviewer's claim on a task lapses after this many minutes (at most a week)")  # fmt: skip
    question: str = Field(default="What is the correct outcome?", max_length=2000)
    answers: list[str] = Field(min_length=2, max_length=20)
    conditions: list[AnyCondition] = Field(min_length=1, max_length=50)
    consolidation: Literal["majority", "weighted"] = "majority"
    weights: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict, max_length=1000,
                                                              description="reviewer -> vote weight (weighted consolidation), finite and at least 0")  # fmt: skip

    @classmethod
    def stored(cls, policy: dict[str, Any]) -> Policy:
        """A policy as stored by the service: before each kind had its own model, a condition could carry fields of other kinds
        (accepted, never used); they are left out when it is read back."""
        conditions = []
        for c in policy.get("conditions") or []:
            kind = CONDITIONS.get(str(c.get("type"))) if isinstance(c, dict) else None
            conditions.append({k: v for k, v in c.items() if k in kind.model_fields} if kind is not None else c)
        return cls.model_validate({**policy, "conditions": conditions})


def fired(policy: Policy, record: dict[str, Any], *, model: str, threshold: float, limits: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The conditions that fire for one captured record (empty: not routed), each with the value that made it fire
    (``limits``: the model's baseline, for ``baseline_constraints``)."""
    seen = Seen(id=str(record["id"]), model=model, score=record.get("score"), inputs=record.get("inputs") or {}, facets=record.get("facets") or {},
                threshold=threshold, limits=limits)  # fmt: skip
    out = []
    for c in policy.conditions:
        hit = c.fires(seen)
        if hit is not None:
            out.append({"condition": c.model_dump(exclude_none=True), **hit})
    return out
