"""Config files: their models (:mod:`assay._config._models`), and running the audit, explanation and mitigation they ask for."""

from assay._config._models import AnalysisConfig
from assay._config._run import (
    audit_config,
    audit_spec,
    discover_config,
    explain_config,
    load_config,
    mitigate_config,
    privacy_config,
    robustness_config,
    tasks_config,
)

__all__ = [
    "AnalysisConfig",
    "audit_config",
    "audit_spec",
    "config_schema",
    "discover_config",
    "explain_config",
    "load_config",
    "mitigate_config",
    "privacy_config",
    "robustness_config",
    "tasks_config",
]


def config_schema() -> dict:
    """The JSON Schema of a config file (shipped as ``schemas/config.schema.json``)."""
    schema = AnalysisConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://assay.dev/schemas/config"
    return schema
