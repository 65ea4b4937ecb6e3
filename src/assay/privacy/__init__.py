"""Privacy checks before a model ships: quasi-identifier risk (k-anonymity, l-diversity, t-closeness) with the rows at risk by
group; membership inference of a trained model, overall and per group; an offline scan for personal data; what differential
privacy costs an audit (``assay.audit(..., differential_privacy=)`` releases one), epsilon by epsilon."""

from assay.privacy._anonymity import Anonymity, anonymity
from assay.privacy._membership import membership_inference
from assay.privacy._minimise import minimisation
from assay.privacy._private import epsilon_accuracy
from assay.privacy._scan import KINDS, scan

__all__ = ["KINDS", "Anonymity", "anonymity", "epsilon_accuracy", "membership_inference", "minimisation", "scan"]
