"""Privacy checks before a model ships: quasi-identifier risk (k-anonymity, l-diversity, t-closeness) with the rows at risk by
group; membership inference of a trained model, overall and per group."""

from assay.privacy._anonymity import Anonymity, anonymity
from assay.privacy._membership import membership_inference

__all__ = ["Anonymity", "anonymity", "membership_inference"]
