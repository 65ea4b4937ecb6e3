"""Bias mitigation: pre-processing (reweighing); in- and post-processing are to come (issue 5)."""

from assay.mitigate._reweighing import reweighing_weights

__all__ = ["reweighing_weights"]
