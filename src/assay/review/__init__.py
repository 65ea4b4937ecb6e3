"""Human review, apart from any server: routing conditions (a registry of kinds), the review policy, consolidation of answers and
agreement between reviewers. The service stores tasks and answers and calls these."""

from __future__ import annotations

from assay.review._agreement import consolidate, fleiss_kappa, krippendorff_alpha, vote_weight
from assay.review._conditions import CONDITIONS, AnyCondition, Condition, Seen, baseline_limits, condition, entropy
from assay.review._policy import Policy, fired

__all__ = ["CONDITIONS", "AnyCondition", "Condition", "Policy", "Seen", "baseline_limits", "condition", "consolidate", "entropy", "fired",
           "fleiss_kappa", "krippendorff_alpha", "vote_weight"]  # fmt: skip
