"""Uncertainty: bootstrap intervals, hypothesis tests, multiple-testing control."""

from assay.stats._auc import binned_auc
from assay.stats._bootstrap import percentile_bounds, percentile_interval
from assay.stats._boundary import max_abs_interval, sup_interval
from assay.stats._multiple import benjamini_hochberg, benjamini_yekutieli
from assay.stats._tests import (
    chi2_independence,
    fisher_exact,
    greater_proportion,
    mean_interval,
    newcombe_difference,
    two_proportions,
    welch,
    wilson_interval,
)

__all__ = [
    "benjamini_hochberg",
    "benjamini_yekutieli",
    "binned_auc",
    "chi2_independence",
    "fisher_exact",
    "greater_proportion",
    "max_abs_interval",
    "mean_interval",
    "newcombe_difference",
    "percentile_bounds",
    "percentile_interval",
    "sup_interval",
    "two_proportions",
    "welch",
    "wilson_interval",
]
