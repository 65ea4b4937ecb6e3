"""Typed results of an audit, and their JSON (Clarify-shaped) and DataFrame forms."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AuditResult", "FacetValueResult", "GroupStats", "MetricResult", "StageResult", "SCHEMA_VERSION"]

#: Version of the analysis.json schema (``schemas/analysis.schema.json``).
SCHEMA_VERSION = "1.3.0"


def document_header() -> dict[str, Any]:
    """The fields every analysis.json starts with: Clarify's version, the schema version, and what wrote it."""
    from assay import __version__

    return {"version": "1.0", "schema_version": SCHEMA_VERSION, "generator": {"name": "assay", "version": __version__}}


@dataclass
class MetricResult:
    """One metric for one facet value: value, interval, test and, if undefined, why."""

    name: str
    description: str
    value: float | None
    ci: list[float | None]
    p_value: float | None = None
    q_value: float | None = None
    significant: bool | None = None
    test: str | None = None
    reason: str | None = None
    note: str | None = None
    label_value: Any = None
    ci_method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {k: _clean(v) for k, v in asdict(self).items()}
        for key in ("reason", "note", "label_value", "test", "ci_method"):
            if d[key] is None:
                del d[key]
        return d


@dataclass
class GroupStats:
    """Sizes of facet d (this value) and of a (the rest)."""

    size: int
    weight: float
    proportion: float
    rest_size: int
    rest_weight: float
    small: bool
    label_positive_rate: float | None = None
    predicted_positive_rate: float | None = None
    rest_label_positive_rate: float | None = None
    rest_predicted_positive_rate: float | None = None


@dataclass
class FacetValueResult:
    value_or_threshold: Any
    group: GroupStats
    metrics: list[MetricResult]
    facet_values: dict[str, Any] = field(default_factory=dict)
    confusion_matrix: dict[str, float] | None = None
    rest_confusion_matrix: dict[str, float] | None = None
    value_stats: dict[str, dict[str, Any]] | None = None

    @property
    def name(self) -> str:
        """The group as text: its value, or an intersection's values joined by " & "."""
        return _display(self.value_or_threshold)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "value_or_threshold": _clean(self.value_or_threshold),
            "facet_values": {k: _clean(v) for k, v in self.facet_values.items()},
            "group": {k: _clean(v) for k, v in asdict(self.group).items()},
        }
        if self.confusion_matrix is not None:
            d["confusion_matrix"] = {k: _clean(v) for k, v in self.confusion_matrix.items()}
            d["rest_confusion_matrix"] = {k: _clean(v) for k, v in (self.rest_confusion_matrix or {}).items()}
        if self.value_stats is not None:
            d["value_stats"] = _clean(self.value_stats)
        d["metrics"] = [m.to_dict() for m in self.metrics]
        return d


@dataclass
class StageResult:
    label: str
    label_value_or_threshold: str
    facets: dict[str, list[FacetValueResult]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "label_value_or_threshold": self.label_value_or_threshold,
            "facets": {name: [v.to_dict() for v in vals] for name, vals in self.facets.items()},
        }


@dataclass
class AuditResult:
    """Everything an audit found; ``to_dict`` gives analysis.json."""

    pre_training: StageResult | None
    post_training: StageResult | None
    dataset: dict[str, Any]
    settings: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """Rich display in notebooks: the same page as ``assay report``."""
        from assay._display import notebook_html

        return notebook_html(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = document_header() | {
            "dataset": {k: _clean(v) for k, v in self.dataset.items()},
            "settings": {k: _clean(v) for k, v in self.settings.items()},
            "warnings": list(self.warnings),
        }
        if self.pre_training is not None:
            out["pre_training_bias_metrics"] = self.pre_training.to_dict()
        if self.post_training is not None:
            out["post_training_bias_metrics"] = self.post_training.to_dict()
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per (stage, facet, facet value, metric[, class]): a tidy table."""
        import pandas as pd

        rows = []
        for stage_name, stage in (("pre_training", self.pre_training), ("post_training", self.post_training)):
            if stage is None:
                continue
            for facet, values in stage.facets.items():
                for fv in values:
                    for m in fv.metrics:
                        rows.append(
                            {
                                "stage": stage_name,
                                "facet": facet,
                                "value_or_threshold": _display(fv.value_or_threshold),
                                "size": fv.group.size,
                                "rest_size": fv.group.rest_size,
                                "small": fv.group.small,
                                "metric": m.name,
                                "label_value": m.label_value,
                                "value": m.value,
                                "ci_low": m.ci[0],
                                "ci_high": m.ci[1],
                                "p_value": m.p_value,
                                "q_value": m.q_value,
                                "significant": m.significant,
                                "reason": m.reason,
                            }
                        )
        return pd.DataFrame(rows)

    def metric(self, stage: str, facet: str, value: Any, name: str, label_value: Any = None) -> MetricResult:
        """Look up one metric result (raises KeyError naming what exists)."""
        st = self.pre_training if stage.startswith("pre") else self.post_training
        if st is None:
            raise KeyError(f"the audit has no {stage} results")
        if facet not in st.facets:
            raise KeyError(f"facet {facet!r} not in results; facets: {', '.join(st.facets)}")
        for fv in st.facets[facet]:
            if _display(fv.value_or_threshold) == _display(value):
                for m in fv.metrics:
                    if m.name == name and m.label_value == label_value:
                        return m
                raise KeyError(f"metric {name!r} not in results for {facet}={value!r}")
        raise KeyError(f"value {value!r} not in results for facet {facet!r}; values: {[_display(v.value_or_threshold) for v in st.facets[facet]]}")

    def facet_value(self, stage: str, facet: str, value: Any) -> FacetValueResult:
        st = self.pre_training if stage.startswith("pre") else self.post_training
        assert st is not None
        for fv in st.facets[facet]:
            if _display(fv.value_or_threshold) == _display(value):
                return fv
        raise KeyError(f"value {value!r} not in results for facet {facet!r}")


def _display(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return " & ".join(str(x) for x in v)
    return str(v)


def _clean(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if hasattr(v, "item") and not isinstance(v, (list, tuple)):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return v
