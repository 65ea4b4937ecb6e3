"""Routing conditions: one model per kind, in a registry; a policy's conditions are their union, told apart by ``type``.

A condition looks at one captured prediction (:class:`Seen`) and, when it
fires, says why (the value that made it fire). A new kind is one class:

    @condition
    class ScoreAbove(Condition):
        '''Routed when the score is above ``value``.'''
        type: Literal["score_above"]
        value: float

        def fires(self, seen: Seen) -> dict[str, Any] | None:
            return {"score": seen.score} if seen.score is not None and seen.score > self.value else None

Its fields are its request schema (the service's OpenAPI lists one variant
per kind) and what the policy stores.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from assay._errors import did_you_mean
from assay._strict import STRICT

__all__ = ["CONDITIONS", "AnyCondition", "Condition", "Seen", "baseline_limits", "condition", "entropy"]


@dataclass(frozen=True)
class Seen:
    """What a condition looks at: one captured prediction, its model, the model's decision threshold and baseline limits."""

    id: str
    model: str
    score: float | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    facets: dict[str, Any] = field(default_factory=dict)
    threshold: float = 0.5
    limits: dict[str, dict[str, Any]] | None = None  # baseline_limits of the model's baseline


class Condition(BaseModel):
    """A kind of routing condition (subclass it, give ``type`` a Literal, register it with :func:`condition`)."""

    model_config = STRICT
    type: str

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        """Why this prediction goes to review (the values that made the condition fire), or None."""
        raise NotImplementedError


CONDITIONS: dict[str, type[Condition]] = {}


def condition(cls: type[Condition]) -> type[Condition]:
    """Register a condition kind under its ``type`` literal."""
    (kind,) = cls.model_fields["type"].annotation.__args__  # type: ignore[union-attr]
    CONDITIONS[kind] = cls
    return cls


def entropy(p: float) -> float:
    """The binary entropy of a score, in bits (0 at 0 and 1)."""
    if p <= 0 or p >= 1:
        return 0.0
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def _finite_value(cls: Any, v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        kind = cls.model_fields["type"].annotation.__args__[0]
        raise ValueError(f"condition {kind} needs a finite number as value, got {v!r}")
    return v


@condition
class ScoreBetween(Condition):
    """The score is in [low, high]."""

    type: Literal["score_between"]
    low: float
    high: float

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        return {"score": seen.score} if seen.score is not None and self.low <= seen.score <= self.high else None


@condition
class MarginBelow(Condition):
    """|score - threshold| < value: the decision was close."""

    type: Literal["margin_below"]
    value: float
    _finite = field_validator("value", mode="before")(classmethod(_finite_value))

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        return {"margin": abs(seen.score - seen.threshold)} if seen.score is not None and abs(seen.score - seen.threshold) < self.value else None


@condition
class EntropyAbove(Condition):
    """The binary entropy of the score is above value (bits; 1 at a score of 0.5)."""

    type: Literal["entropy_above"]
    value: float
    _finite = field_validator("value", mode="before")(classmethod(_finite_value))

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        return {"entropy": entropy(seen.score)} if seen.score is not None and entropy(seen.score) > self.value else None


@condition
class FacetScoreBetween(Condition):
    """A member of one group (facet = value) with a score in [low, high]."""

    type: Literal["facet_score_between"]
    facet: str
    value: str | float | bool
    low: float
    high: float

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        if seen.score is not None and str(seen.facets.get(self.facet)) == str(self.value) and self.low <= seen.score <= self.high:
            return {"facet": self.facet, "facet_value": self.value, "score": seen.score}
        return None


@condition
class OutOfRange(Condition):
    """A numeric input outside [min, max] (either bound may be left out), or not a number."""

    model_config = STRICT | {"json_schema_extra": {"anyOf": [{"properties": {b: {"type": "number"}}, "required": [b]} for b in ("min", "max")]}}
    type: Literal["out_of_range"]
    feature: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> OutOfRange:
        if self.min is None and self.max is None:
            raise ValueError("condition out_of_range needs min, max or both")
        return self

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        if self.feature not in seen.inputs:
            return None
        v = seen.inputs[self.feature]
        try:
            x = float(v)
        except (TypeError, ValueError):
            return {"feature": self.feature, "value": v, "why": "not a number"}
        if (self.min is not None and x < self.min) or (self.max is not None and x > self.max):
            return {"feature": self.feature, "value": x}
        return None


@condition
class NotInDomain(Condition):
    """A categorical input that is not one of ``values``."""

    type: Literal["not_in_domain"]
    feature: str
    values: list[Any]

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        if self.feature in seen.inputs and seen.inputs[self.feature] not in self.values:
            return {"feature": self.feature, "value": seen.inputs[self.feature]}
        return None


@condition
class RandomSample(Condition):
    """A share of predictions chosen by a hash of the model and the prediction id (the same id always in or always out, as A2I)."""

    type: Literal["random_sample"]
    percent: float = Field(ge=0, le=100)

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        h = int.from_bytes(hashlib.sha256(f"{seen.model}\x00{seen.id}".encode()).digest()[:8], "big")
        return {"percent": self.percent} if (h % 1_000_000) < self.percent * 10_000 else None


@condition
class BaselineConstraints(Condition):
    """The input breaks the model's monitoring baseline: a feature it always had is missing, a numeric one is not a number, negative
    where the baseline never is, or outside its [min, max] (``range: false`` leaves that out), a category outside its domain."""

    type: Literal["baseline_constraints"]
    features: list[str] | None = Field(default=None, max_length=2000)
    range: bool | None = None

    def fires(self, seen: Seen) -> dict[str, Any] | None:
        broken = self.broken(seen) if seen.limits else []
        return {"feature": broken[0]["feature"], "value": broken[0]["value"], "why": broken[0]["why"], "broken": broken} if broken else None

    def broken(self, seen: Seen) -> list[dict[str, Any]]:
        """The baseline constraints an input breaks: feature, value and why (a column the inputs lack may be one of the facets)."""
        out: list[dict[str, Any]] = []
        for name, lim in (seen.limits or {}).items():
            if self.features is not None and name not in self.features:
                continue
            v = seen.inputs.get(name, seen.facets.get(name))
            if v is None:
                if lim["complete"]:
                    out.append({"feature": name, "value": None, "why": "missing; the baseline always has it"})
                continue
            if lim["numeric"]:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    out.append({"feature": name, "value": v, "why": "not a number"})
                elif lim["non_negative"] and v < 0:
                    out.append({"feature": name, "value": v, "why": "negative; the baseline is never negative"})
                elif self.range is not False and ((lim["min"] is not None and v < lim["min"]) or (lim["max"] is not None and v > lim["max"])):
                    out.append({"feature": name, "value": v, "why": f"outside the baseline's range [{lim['min']:g}, {lim['max']:g}]"})
            elif lim["domain"] is not None and str(v) not in lim["domain"]:
                out.append({"feature": name, "value": v, "why": "not among the baseline's values"})
        return out


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


def _known(v: Any) -> Any:
    """A condition of a kind that is not registered is named with the likely one (before the union tries every kind)."""
    if isinstance(v, dict) and v.get("type") not in CONDITIONS:
        kinds = sorted(CONDITIONS)
        raise ValueError(f"condition type must be one of {', '.join(kinds)}, got {v.get('type')!r}.{did_you_mean(str(v.get('type')), kinds)}")
    return v


if TYPE_CHECKING:
    AnyCondition = Condition
else:  #: Any registered condition, chosen by its ``type``.
    AnyCondition = Annotated[Union[tuple(CONDITIONS.values())], Field(discriminator="type"), BeforeValidator(_known)]  # noqa: UP007
