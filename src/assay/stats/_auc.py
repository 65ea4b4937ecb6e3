"""ROC AUC and DeLong's variance from score histograms (Hanley and McNeil 1982; DeLong, DeLong and Clarke-Pearson 1988).

The scores of each class are counted in bins ordered by score; a positive and
a negative in the same bin count as half a win (the AUC of tied scores), so
the AUC is exact when every bin holds one distinct score and otherwise off by
at most half the share of pairs that share a bin.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["binned_auc"]


def binned_auc(pos: np.ndarray, neg: np.ndarray, n_pos: float, n_neg: float) -> tuple[float, float] | None:
    """AUC and DeLong's variance from the (weighted) counts of positives and negatives per bin, in increasing score.

    ``n_pos`` and ``n_neg`` are the classes' (effective) sizes for the variance;
    the variance is NaN below two of either. None when a class is empty.
    """
    w1, w0 = float(pos.sum()), float(neg.sum())
    if w1 <= 0 or w0 <= 0:
        return None
    v10 = (np.cumsum(neg) - neg + 0.5 * neg) / w0  # for a positive in each bin: the share of negatives ranked below it
    v01 = (w1 - np.cumsum(pos) + 0.5 * pos) / w1  # for a negative: the share of positives ranked above it
    auc = float((pos * v10).sum() / w1)
    s10 = float((pos * (v10 - auc) ** 2).sum() / w1)
    s01 = float((neg * (v01 - auc) ** 2).sum() / w0)
    var = s10 / (n_pos - 1) + s01 / (n_neg - 1) if n_pos > 1 and n_neg > 1 else math.nan
    return auc, var
