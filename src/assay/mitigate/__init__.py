"""Bias mitigation at every stage, as functions and as scikit-learn estimators.

* pre-processing: :func:`reweighing_weights`, :func:`resample_indices`,
  :class:`ReweighingClassifier`, :class:`CorrelationRemover`;
* in-processing: :class:`ReductionsClassifier`, :class:`ReductionsRegressor`
  (Fairlearn's exponentiated gradient and grid search);
* post-processing: :func:`fit_group_thresholds`, :func:`fit_reject_option`,
  :class:`GroupThresholdClassifier`.
"""

from assay.mitigate._estimators import CorrelationRemover, GroupThresholdClassifier, ReductionsClassifier, ReductionsRegressor, ReweighingClassifier
from assay.mitigate._reweighing import resample_indices, reweighing_weights
from assay.mitigate._thresholds import CONSTRAINTS, OBJECTIVES, GroupThresholds, fit_group_thresholds, fit_reject_option

__all__ = [
    "CONSTRAINTS",
    "OBJECTIVES",
    "CorrelationRemover",
    "GroupThresholdClassifier",
    "GroupThresholds",
    "ReductionsClassifier",
    "ReductionsRegressor",
    "ReweighingClassifier",
    "fit_group_thresholds",
    "fit_reject_option",
    "resample_indices",
    "reweighing_weights",
]
