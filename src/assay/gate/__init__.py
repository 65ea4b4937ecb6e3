"""Fairness gates: a policy of rules over the audit's metrics and discovered subgroups, each decided from intervals into pass,
fail or inconclusive (``assay check``)."""

from assay.gate._claims import compare_claims
from assay.gate._gate import Decision, GateResult, assert_fair, check, decide
from assay.gate._policy import Policy, Rule, load_policy

__all__ = ["Decision", "GateResult", "Policy", "Rule", "assert_fair", "check", "compare_claims", "decide", "load_policy"]
