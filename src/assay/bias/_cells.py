"""Counts of one comparison (facet d against the rest, a), and the rates built from them.

A :class:`Cells` wraps a tensor ``t[..., s, g, k, j]``: stratum ``s`` of the
group variable, group ``g`` (0 = a, the rest; 1 = d, the facet value), label
class ``k`` and predicted class ``j``. Leading axes (``...``) are bootstrap
replicates, so every metric written against this class computes the point
estimate and all replicates in one vectorised call.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["Cells"]

A, D = 0, 1


class Cells:
    """The counts of one comparison and helpers for metrics.

    Parameters
    ----------
    t : ndarray, shape (..., S, 2, K, J)
        Weighted counts.
    positive_label, positive_pred : bool arrays of shape (K,) and (J,)
        Which label / predicted classes are the positive outcome.
    has_pred : whether predicted labels are present (post-training).
    collapse_label : the label distribution is positive against the rest
        (Clarify's form of KL, JS, LP, TVD, KS), not over all K classes.
    reasons : a list to collect the reasons a point estimate is undefined,
        or ``None`` for bootstrap replicates.
    extra : named per-group quantities that are not counts (regression
        moments, FlipTest), available to metrics that need them.
    """

    def __init__(
        self,
        t: np.ndarray,
        *,
        positive_label: np.ndarray,
        positive_pred: np.ndarray,
        has_pred: bool,
        label_values: list[Any],
        label_ordered: bool,
        has_strata: bool,
        collapse_label: bool = False,
        reasons: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.t = t
        self.positive_label = positive_label
        self.positive_pred = positive_pred
        self.has_pred = has_pred
        self.label_values = label_values
        self.label_ordered = label_ordered
        self.has_strata = has_strata
        self.collapse_label = collapse_label
        self.reasons = reasons
        self.extra = extra or {}

    # -- undefined values -------------------------------------------------
    def undefined(self, why: str) -> None:
        """Record why the point estimate is undefined (no-op for replicates)."""
        if self.reasons is not None and why not in self.reasons:
            self.reasons.append(why)

    def div(self, num: np.ndarray, den: np.ndarray, why: str) -> np.ndarray:
        """``num / den`` with NaN (undefined, not zero, not infinity) where ``den == 0``."""
        num = np.asarray(num, dtype=np.float64)
        den = np.asarray(den, dtype=np.float64)
        zero = den == 0
        if zero.any():
            self.undefined(why)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(zero, np.nan, num / np.where(zero, 1.0, den))

    # -- marginal tables ----------------------------------------------------
    @cached_property
    def label_dist(self) -> np.ndarray:
        """Weighted counts by group and label class: shape (..., 2, K); (..., 2, 2) as [rest, positive] with ``collapse_label``."""
        if self.collapse_label:
            return self.strata.sum(axis=(-4, -1))
        return self.t.sum(axis=(-4, -1))

    @cached_property
    def binary(self) -> np.ndarray:
        """Counts by group, binary label and binary prediction: (..., 2, 2, 2) as [g, y, yhat]."""
        return self.strata.sum(axis=-4)

    @cached_property
    def strata(self) -> np.ndarray:
        """Counts by stratum, group, binary label, binary prediction: (..., S, 2, 2, 2)."""
        t = self.t
        y1 = t[..., self.positive_label, :].sum(axis=-2)
        y0 = t[..., ~self.positive_label, :].sum(axis=-2)
        yy = np.stack([y0, y1], axis=-2)
        p1 = yy[..., self.positive_pred].sum(axis=-1)
        p0 = yy[..., ~self.positive_pred].sum(axis=-1)
        return np.stack([p0, p1], axis=-1)

    # -- sizes and counts, indexed by group g -------------------------------
    def n(self, g: int) -> np.ndarray:
        return self.binary[..., g, :, :].sum(axis=(-2, -1))

    def label_pos(self, g: int) -> np.ndarray:
        return self.binary[..., g, 1, :].sum(axis=-1)

    def label_neg(self, g: int) -> np.ndarray:
        return self.binary[..., g, 0, :].sum(axis=-1)

    def pred_pos(self, g: int) -> np.ndarray:
        return self.binary[..., g, :, 1].sum(axis=-1)

    def pred_neg(self, g: int) -> np.ndarray:
        return self.binary[..., g, :, 0].sum(axis=-1)

    def tp(self, g: int) -> np.ndarray:
        return self.binary[..., g, 1, 1]

    def fp(self, g: int) -> np.ndarray:
        return self.binary[..., g, 0, 1]

    def tn(self, g: int) -> np.ndarray:
        return self.binary[..., g, 0, 0]

    def fn(self, g: int) -> np.ndarray:
        return self.binary[..., g, 1, 0]

    # -- rates -------------------------------------------------------------
    def label_rate(self, g: int) -> np.ndarray:
        return self.div(self.label_pos(g), self.n(g), f"facet {_name(g)} is empty")

    def pred_rate(self, g: int) -> np.ndarray:
        return self.div(self.pred_pos(g), self.n(g), f"facet {_name(g)} is empty")

    def tpr(self, g: int) -> np.ndarray:
        return self.div(self.tp(g), self.label_pos(g), f"facet {_name(g)} has no observed positive labels")

    def fnr(self, g: int) -> np.ndarray:
        return self.div(self.fn(g), self.label_pos(g), f"facet {_name(g)} has no observed positive labels")

    def tnr(self, g: int) -> np.ndarray:
        return self.div(self.tn(g), self.label_neg(g), f"facet {_name(g)} has no observed negative labels")

    def fpr(self, g: int) -> np.ndarray:
        return self.div(self.fp(g), self.label_neg(g), f"facet {_name(g)} has no observed negative labels")

    def ppv(self, g: int) -> np.ndarray:
        return self.div(self.tp(g), self.pred_pos(g), f"facet {_name(g)} has no predicted positives")

    def fdr(self, g: int) -> np.ndarray:
        return self.div(self.fp(g), self.pred_pos(g), f"facet {_name(g)} has no predicted positives")

    def npv(self, g: int) -> np.ndarray:
        return self.div(self.tn(g), self.pred_neg(g), f"facet {_name(g)} has no predicted negatives")

    def for_(self, g: int) -> np.ndarray:
        return self.div(self.fn(g), self.pred_neg(g), f"facet {_name(g)} has no predicted negatives")

    def accuracy(self, g: int) -> np.ndarray:
        return self.div(self.tp(g) + self.tn(g), self.n(g), f"facet {_name(g)} is empty")

    def label_probs(self, g: int) -> np.ndarray:
        """Label distribution of group g over all K classes: (..., K)."""
        dist = self.label_dist[..., g, :]
        total = dist.sum(axis=-1, keepdims=True)
        if (total == 0).any():
            self.undefined(f"facet {_name(g)} is empty")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total == 0, np.nan, dist / np.where(total == 0, 1.0, total))


def _name(g: int) -> str:
    return "d" if g == D else "a (the rest)"
