"""A fairness policy: the audit to run and the rules its results must meet, read from YAML with every bad key named.

audit: audit.yaml            # the audit config (a path, relative to the policy, or the config's keys inline)
alpha: 0.05                  # the chance, at most, that a model which meets every rule fails one (family-wise)
rules:
  - {metric: DI, facet: sex, within: [0.8, 1.25]}             # every group of the facet, or group: Female
  - {metric: RD, facet: race, group: Black, at_most: 0.05}    # at_least, at_most, or within [low, high]
  - {discovered: error_rate, at_most: 0.1}                    # no confirmed subgroup whose error rate exceeds the rest's by more
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from assay._errors import ConfigError
from assay._strict import STRICT, Whole, checked

__all__ = ["Policy", "Rule", "load_policy"]


class Rule(BaseModel):
    model_config = STRICT
    metric: str | None = Field(default=None, description="a metric of the registry (DI, DPPL, RD, AD, ...)")
    facet: str | None = Field(default=None, description="the facet's name as the audit names it ('sex', or 'sex x race' for an intersection)")
    group: str | int | float | bool | None = Field(default=None, description="one group of the facet (default: every group)")
    discovered: str | None = Field(default=None, description="a measure of assay discover: no confirmed subgroup worse by more than the bound")
    task: str | None = Field(default=None, description="a task metric of the audit config's tasks: (wer, ndcg, rmse, ...), by its group column as facet")
    of: Literal["value", "difference"] = Field(default="value", description="task rules: the group's value, or its difference from the rest")
    within: list[float] | None = Field(default=None, min_length=2, max_length=2)
    at_most: float | None = None
    at_least: float | None = None
    baseline: str | None = Field(default=None, description="an analysis.json (or the directory holding it) to compare with")
    worse_by: float | None = Field(default=None, ge=0, description="with baseline: how much further from the metric's ideal the value may be")
    name: str | None = Field(default=None, description="how reports name the rule (default: made from it)")

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if sum(x is not None for x in (self.metric, self.discovered, self.task)) != 1:
            raise ValueError("a rule names a metric (with a facet), a discovered measure, or a task metric (with its group column as facet), one of them")
        if (self.metric or self.task) is not None and self.facet is None:
            raise ValueError(f"the rule on {self.metric or self.task} needs a facet")
        bounds = [b for b in (self.within, self.at_most, self.at_least) if b is not None]
        if self.baseline is not None or self.worse_by is not None:
            if self.baseline is None or self.worse_by is None or bounds or self.metric is None:
                raise ValueError("a baseline rule names a metric, a facet, the baseline and worse_by (and no within, at_most or at_least)")
            return self
        if len(bounds) != 1:
            raise ValueError("a rule needs one of within: [low, high], at_most or at_least")
        if self.within is not None and self.within[0] > self.within[1]:
            raise ValueError(f"within's low end {self.within[0]} is above its high end {self.within[1]}")
        if self.discovered is not None and self.at_most is None:
            raise ValueError("a discovered rule takes at_most: the largest difference from the rest a subgroup may have")
        return self

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        if self.within is not None:
            return self.within[0], self.within[1]
        return self.at_least, self.at_most

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.baseline is not None:
            return (
                f"{self.metric} of {self.facet}{'' if self.group is None else f' = {self.group}'} no worse than {self.baseline} by more than {self.worse_by:g}"
            )
        lo, hi = self.bounds
        limit = f"within [{lo:g}, {hi:g}]" if lo is not None and hi is not None else f"at most {hi:g}" if hi is not None else f"at least {lo:g}"
        if self.discovered is not None:
            return f"no subgroup's {self.discovered} above the rest's by more than {hi:g}"
        if self.task is not None:
            what = self.task if self.of == "value" else f"{self.task} difference from the rest"
            return f"{what} by {self.facet}{'' if self.group is None else f' = {self.group}'} {limit}"
        return f"{self.metric} of {self.facet}{'' if self.group is None else f' = {self.group}'} {limit}"


class Policy(BaseModel):
    model_config = STRICT
    audit: str | dict[str, Any] | None = Field(default=None, description="the audit config: a path (relative to the policy) or its keys")
    alpha: float = Field(default=0.05, gt=0, lt=1)
    bootstrap_replicates: Whole | None = Field(default=None, ge=100, description="default: enough for the adjusted level's tails (at least 2,000)")
    discover: dict[str, Any] | None = Field(default=None, description="settings of the search for discovered rules (assay discover's discover:)")
    rules: list[Rule] = Field(min_length=1)
    _base: str | None = None


def load_policy(source: str | Path | dict[str, Any]) -> Policy:
    """A policy from a YAML or JSON file (or a dict), checked: an unknown key or a bad value is a ConfigError naming it."""
    if isinstance(source, dict):
        return checked(Policy, source, top="policy key")
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"policy file {str(path)!r} does not exist")
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001  (yaml.YAMLError and friends)
        raise ConfigError(f"cannot parse policy {str(path)!r}: {str(exc).strip().splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"policy {str(path)!r} must be a mapping with rules:, got {type(raw).__name__}")
    policy = checked(Policy, raw, top="policy key")
    policy._base = str(path.parent)
    return policy
