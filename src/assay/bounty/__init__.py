"""Bias bounties: submissions of a group and a better model for it, verified on a holdout with a bounded budget."""

from assay.bounty._bounty import Bounty, DecisionList, Verdict, group_mask, lower_bound

__all__ = ["Bounty", "DecisionList", "Verdict", "group_mask", "lower_bound"]
