"""Bias mitigation: pre-processing (reweighing) and post-processing (group thresholds); in-processing is to come (issue 5)."""

from assay.mitigate._reweighing import reweighing_weights
from assay.mitigate._thresholds import CONSTRAINTS, GroupThresholds, fit_group_thresholds

__all__ = ["CONSTRAINTS", "GroupThresholds", "fit_group_thresholds", "reweighing_weights"]
