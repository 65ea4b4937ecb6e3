"""Privacy checks before a model ships: quasi-identifier risk (k-anonymity, l-diversity, t-closeness) with the rows at risk by
group."""

from assay.privacy._anonymity import Anonymity, anonymity

__all__ = ["Anonymity", "anonymity"]
