"""Bias metrics before training (data) and after (predictions), from one count tensor."""

from assay.bias._audit import audit
from assay.bias._registry import METRICS, Metric, MetricValue, parity_value
from assay.bias._results import AuditResult, FacetValueResult, GroupStats, MetricResult, StageResult
from assay.bias._spec import Facet, Label

__all__ = [
    "AuditResult",
    "Facet",
    "FacetValueResult",
    "GroupStats",
    "Label",
    "METRICS",
    "Metric",
    "MetricResult",
    "MetricValue",
    "StageResult",
    "audit",
    "parity_value",
]
