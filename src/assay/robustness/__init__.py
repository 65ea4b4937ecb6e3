"""Robustness checks before a model ships, per group: counterfactual flips of the sensitive attribute and its declared proxies
(exact for tree ensembles and linear models that assay reads), stability under realistic perturbations, and a FlipTest by
optimal transport beside Clarify's nearest-neighbour FlipTest."""

from assay.robustness._api import check_robustness, decision_function
from assay.robustness._changes import Change, parse_changes
from assay.robustness._flips import counterfactual_flips, flippable
from assay.robustness._fliptest import fliptest_ot, transport_counterparts
from assay.robustness._stability import perturbation_stability

__all__ = [
    "Change",
    "check_robustness",
    "counterfactual_flips",
    "decision_function",
    "fliptest_ot",
    "flippable",
    "parse_changes",
    "perturbation_stability",
    "transport_counterparts",
]
