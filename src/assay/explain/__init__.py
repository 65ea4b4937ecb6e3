"""Explanations: interventional Shapley values for any model, with standard errors, by group."""

from assay.explain._explain import ExplainResult, explain
from assay.explain._model import ModelFunction, as_model_function, load_model

__all__ = ["ExplainResult", "ModelFunction", "as_model_function", "explain", "load_model"]
