"""The one registry of bias metrics, with the metadata that docs and reports use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from assay.bias._cells import Cells

__all__ = ["METRICS", "FromDistance", "Metric", "MetricValue", "Stage", "is_all", "metrics_for", "parity_value", "register"]

Stage = Literal["pre_training", "post_training"]
Test = Callable[[Cells], tuple[float | None, str]]
Parts = Callable[[Cells], "np.ndarray | None"]
FromDistance = Literal["identity", "square", "exp_neg"]


@dataclass
class MetricValue:
    """A value computed outside the count tensor, with its own interval."""

    value: float | None
    ci: tuple[float | None, float | None] = (None, None)
    p_value: float | None = None
    test: str | None = None
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Metric:
    """A registered bias metric.

    ``compute`` is a pure function of a :class:`Cells` and is vectorised over
    bootstrap replicates; metrics that need more than counts (FlipTest,
    regression moments, scores) set ``evaluate`` instead, which takes the
    per-comparison object named by ``context`` and returns a
    :class:`MetricValue` with its own interval.

    A metric whose parity value is the edge of its range (a distance, a
    maximum of distances, a min/max ratio) sets ``parts``: signed, smooth
    quantities (..., K) with ``value = from_distance(max_k |part_k|)``
    (``identity``, ``square`` for a signed root, ``exp_neg`` for
    ``exp(-x)``: a min/max ratio from a log ratio), so that its interval can reach parity
    (:func:`assay.stats.max_abs_interval`). ``parts`` returns ``None`` where
    the metric has no such form (a divergence over more than two label
    classes); the interval then starts at parity whenever the metric's test
    does not reject it.
    """

    name: str
    stage: Stage
    description: str
    formula: str
    range: tuple[str, str]
    ideal: str
    reference: str
    compute: Callable[[Cells], np.ndarray] | None = None
    evaluate: Callable[[Any], MetricValue] | None = None
    test: Test | None = None
    test_name: str | None = None
    needs: frozenset[str] = field(default_factory=frozenset)
    label_kinds: frozenset[str] = frozenset({"binary", "multiclass", "continuous"})
    clarify: bool = False
    per_class: bool = False
    aliases: tuple[str, ...] = ()
    smclarify: str | None = None
    context: str | None = None
    parts: Parts | None = None
    from_distance: FromDistance = "identity"

    def to_dict(self) -> dict[str, Any]:
        """What `assay metrics --format json` lists: name, stage, description, formula, range, ideal value, reference, test, and the
        label kinds it applies to."""
        return {"name": self.name, "stage": self.stage, "description": self.description, "formula": self.formula, "range": list(self.range),
                "ideal": self.ideal, "reference": self.reference, "test": self.test_name, "label_kinds": sorted(self.label_kinds),
                "clarify": self.clarify}  # fmt: skip


METRICS: dict[str, Metric] = {}


def register(
    name: str,
    stage: Stage,
    *,
    description: str,
    formula: str,
    range: tuple[str, str],
    ideal: str,
    reference: str,
    test: Test | None = None,
    test_name: str | None = None,
    needs: tuple[str, ...] = (),
    label_kinds: tuple[str, ...] = ("binary", "multiclass", "continuous"),
    clarify: bool = False,
    per_class: bool = False,
    aliases: tuple[str, ...] = (),
    smclarify: str | None = None,
    kind: Literal["counts", "evaluate"] = "counts",
    context: Literal["fliptest", "score", "regression"] | None = None,
    parts: Parts | None = None,
    from_distance: FromDistance = "identity",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a metric function (decorator)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        METRICS[name] = Metric(
            name=name,
            stage=stage,
            description=description,
            formula=formula,
            range=range,
            ideal=ideal,
            reference=reference,
            compute=fn if kind == "counts" else None,
            evaluate=fn if kind == "evaluate" else None,
            test=test,
            test_name=test_name,
            needs=frozenset(needs),
            label_kinds=frozenset(label_kinds),
            clarify=clarify,
            per_class=per_class,
            aliases=aliases,
            smclarify=smclarify,
            context=context if kind == "evaluate" else None,
            parts=parts,
            from_distance=from_distance,
        )
        return fn

    return deco


def parity_value(name: str) -> float:
    """The value of metric ``name`` at parity (0 for differences, 1 for ratios); 0 for a name the registry does not know."""
    metric = METRICS.get(name)
    try:
        return float(metric.ideal) if metric is not None else 0.0
    except ValueError:
        return 0.0


def metrics_for(stage: Stage) -> Iterator[Metric]:
    """Registered metrics of one stage, in registration order."""
    return (m for m in METRICS.values() if m.stage == stage)


def is_all(names: object) -> bool:
    """``"all"`` (or ``["all"]``): every metric of a stage."""
    return names == "all" or (isinstance(names, (list, tuple)) and list(names) == ["all"])


def resolve(names: list[str] | str, stage: Stage) -> list[Metric]:
    """Metrics named in a config (``"all"`` or a list; Clarify's spellings accepted)."""
    from assay._errors import ConfigError, did_you_mean

    pool = list(metrics_for(stage))
    if is_all(names):
        return pool
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    lookup: dict[str, Metric] = {}
    for m in pool:
        lookup[m.name.upper()] = m
        for a in m.aliases:
            lookup[a.upper()] = m
    out: list[Metric] = []
    for n in names:
        found = lookup.get(str(n).upper())
        if found is None:
            raise ConfigError(
                f'{stage} metric {n!r} does not exist.{did_you_mean(str(n), [x.name for x in pool], n=2)} Known: {", ".join(x.name for x in pool)}, or "all".'
            )
        if found not in out:
            out.append(found)
    return out
