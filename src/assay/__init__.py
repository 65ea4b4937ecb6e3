"""assay: responsible-ML audits with confidence intervals.

The bias audit is one call::

    import assay
    result = assay.audit(df, label="income", label_values_or_threshold=[">50K"],
                         facets=["sex", "race", ["sex", "race"]], predicted_label="pred")
    result.to_frame()      # tidy table
    result.to_json()       # analysis.json, shaped like SageMaker Clarify's
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AssayError",
    "AuditResult",
    "ConfigError",
    "DataError",
    "Facet",
    "Label",
    "__version__",
    "audit",
    "audit_config",
    "load_config",
]

from assay._errors import AssayError, ConfigError, DataError

if TYPE_CHECKING:
    from assay._config import audit_config, load_config
    from assay.bias import AuditResult, Facet, Label, audit

_LAZY = {
    "audit": "assay.bias",
    "AuditResult": "assay.bias",
    "Facet": "assay.bias",
    "Label": "assay.bias",
    "audit_config": "assay._config",
    "load_config": "assay._config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assay' has no attribute {name!r}")
