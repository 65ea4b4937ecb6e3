"""Bias bounties: submissions of a group and a better model for it, verified on a holdout with a bounded budget."""

from assay.bounty._bounty import Bounty, DecisionList, Verdict, lower_bound
from assay.bounty._store import BountyStore, as_conditions
from assay.discover._codes import check_group, group_mask

__all__ = ["Bounty", "BountyStore", "DecisionList", "Verdict", "as_conditions", "check_group", "group_mask", "lower_bound"]
