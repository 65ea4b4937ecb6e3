"""Subgroup discovery: where a model does worse than on the rest, found on some rows and confirmed on others."""

from assay.discover._discover import MEASURES, REGISTRY, DiscoverResult, discover

__all__ = ["MEASURES", "REGISTRY", "DiscoverResult", "discover"]
