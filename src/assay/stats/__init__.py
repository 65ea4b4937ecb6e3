"""Uncertainty: bootstrap intervals, hypothesis tests, multiple-testing control."""

from assay.stats._bootstrap import percentile_interval
from assay.stats._multiple import benjamini_hochberg
from assay.stats._tests import chi2_independence, fisher_exact, two_proportions

__all__ = [
    "benjamini_hochberg",
    "chi2_independence",
    "fisher_exact",
    "percentile_interval",
    "two_proportions",
]
