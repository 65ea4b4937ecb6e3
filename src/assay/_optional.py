"""Import optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from assay._errors import AssayError

_EXTRAS = {
    "polars": "polars",
    "skops": "explain",
    "fairlearn": "mitigate",
    "fastapi": "service",
    "sqlalchemy": "service",
    "alembic": "service",
    "uvicorn": "service",
    "psycopg": "service",
    "pyspark": "spark",
    "ot": "robustness",
    "opendp": "privacy",
}


class MissingDependencyError(AssayError, ImportError):
    """An optional dependency is needed for the requested feature."""


def require(module: str, *, feature: str) -> ModuleType:
    """Import ``module`` or raise an error naming ``pip install 'assay[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on environment
        top = module.split(".")[0]
        extra = _EXTRAS.get(top)
        hint = f"pip install 'assay[{extra}]'" if extra else f"pip install {top}"
        raise MissingDependencyError(f"{feature} needs the package '{top}', which is not installed. Run: {hint}") from exc
