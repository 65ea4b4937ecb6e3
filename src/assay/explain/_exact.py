"""Exact attributions for models whose structure assay can read: tree ensembles and linear models.

A model is taken apart into an optional column-wise transform (the steps of
a scikit-learn Pipeline before the estimator: encoders, scalers, imputers in
a ColumnTransformer) and the estimator. Which input feature each transformed
column comes from is found by probing: changing one input column of the
explained and background rows must change only the columns that come from it.
A transform that mixes inputs (polynomial features, PCA) is refused, and the
model is explained by sampling instead. Before any exact value is returned,
the estimator read by assay must reproduce the model's own scores on every
explained and background row; if it does not, sampling is used and the reason
is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.explain._model import ModelFunction
from assay.explain._tree import read_ensemble, tree_shap

__all__ = ["ExactExplainer", "exact_explainer"]


@dataclass
class ExactExplainer:
    name: str  # "tree" or "linear"
    description: str
    run: Callable[[Any, Any, np.ndarray], np.ndarray]  # (x, background, weights) -> (n, M) attributions


def exact_explainer(fn: ModelFunction, x: Any, bg: Any, fx: np.ndarray, fz: np.ndarray) -> ExactExplainer | str:
    """An exact explainer for ``fn`` checked on these rows, or the reason there is none."""
    model = fn.model
    if model is None or not hasattr(model, "predict"):
        return "the model is a plain function: its structure cannot be read"
    steps = getattr(model, "steps", None)
    pre, final = (model[:-1], model[-1]) if steps else (None, model)
    feats = list(x.columns)
    classifier = hasattr(final, "classes_") or hasattr(final, "predict_proba")
    if hasattr(final, "coef_") and hasattr(final, "intercept_"):
        kind = "linear"
        if classifier and fn.output != "log_odds":
            return "a linear classifier's probability is not linear in the features; use_logit: true explains its log-odds exactly"
        coef = np.asarray(final.coef_, dtype=np.float64)
        if coef.ndim == 2 and coef.shape[0] != 1:
            return f"{type(final).__name__} has {coef.shape[0]} outputs; exact linear attributions need one"
        coef, intercept = coef.ravel(), float(np.ravel(final.intercept_)[0])
    else:
        read = read_ensemble(final, fn.output)
        if isinstance(read, str):
            return read
        ens, kind = read, "tree"
    matrix = _matrix_function(pre, final)
    try:
        v_x, v_z = matrix(x), matrix(bg)
    except (TypeError, ValueError) as e:
        return f"cannot form the estimator's numeric input ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    column_feature = _column_features(matrix, x, bg, v_x, v_z) if pre is not None else np.arange(len(feats))
    if isinstance(column_feature, str):
        return column_feature
    if kind == "linear":
        if v_x.shape[1] != len(coef):
            return f"the estimator has {len(coef)} coefficients for {v_x.shape[1]} columns"
        mine_x, mine_z = v_x @ coef + intercept, v_z @ coef + intercept
    else:
        mine_x, mine_z = ens.predict(v_x), ens.predict(v_z)
    scale = max(1.0, float(np.abs(fx).max(initial=0.0)), float(np.abs(fz).max(initial=0.0)))
    gap = max(float(np.abs(mine_x - fx).max(initial=0.0)), float(np.abs(mine_z - fz).max(initial=0.0)))
    if not gap <= 1e-6 * scale:
        return f"the {kind} structure read from {type(final).__name__} does not reproduce the model's scores (largest difference {gap:.3g})"
    m = len(feats)
    prefix = "a pipeline's column-wise transform, then " if pre is not None else ""
    if kind == "linear":

        def linear(x_: Any, bg_: Any, w: np.ndarray) -> np.ndarray:
            vx, vz = matrix(x_), matrix(bg_)
            centred = (vx - (w / w.sum()) @ vz) * coef
            out = np.zeros((len(vx), m + 1))
            np.add.at(out.T, column_feature, centred.T)
            return out[:, :m]

        what = f"exact interventional SHAP for a linear model ({prefix}{type(final).__name__}): coefficient times the difference from the background mean"
        return ExactExplainer("linear", what, linear)

    def tree(x_: Any, bg_: Any, w: np.ndarray) -> np.ndarray:
        out = tree_shap(ens, matrix(x_), matrix(bg_), w, column_feature, m)
        if isinstance(out, str):
            raise ValueError(out)
        return out

    what = f"exact interventional TreeSHAP ({prefix}{ens.description}), against every background row"
    return ExactExplainer("tree", what, tree)


def _matrix_function(pre: Any, final: Any) -> Callable[[Any], np.ndarray]:
    """The numeric matrix the estimator's splits or coefficients apply to."""
    categories = _lightgbm_categories(final)

    def matrix(frame: Any) -> np.ndarray:
        out = pre.transform(frame) if pre is not None else frame
        if hasattr(out, "toarray"):
            out = out.toarray()
        if hasattr(out, "columns"):
            return _frame_to_numeric(out, categories)
        return np.asarray(out, dtype=np.float64)

    return matrix


def _lightgbm_categories(final: Any) -> list[list[Any]] | None:
    booster = getattr(final, "booster_", final)
    return getattr(booster, "pandas_categorical", None) if type(booster).__module__.startswith("lightgbm") else None


def _frame_to_numeric(frame: Any, categories: list[list[Any]] | None) -> np.ndarray:
    """Columns as float; pandas categoricals as their codes (LightGBM's own category lists when it has them)."""
    import pandas as pd

    cols = []
    cat_index = 0
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            if categories is not None and cat_index < len(categories):
                codes = pd.Categorical(col, categories=categories[cat_index]).codes
            else:
                codes = col.cat.codes.to_numpy()
            cat_index += 1
            cols.append(np.where(codes < 0, np.nan, codes).astype(np.float64))
        else:
            cols.append(pd.to_numeric(col, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


def _column_features(matrix: Callable[[Any], np.ndarray], x: Any, bg: Any, v_x: np.ndarray, v_z: np.ndarray) -> np.ndarray | str:
    """For each transformed column, the input feature it comes from (len(features) for a constant column)."""
    import pandas as pd

    probe = pd.concat([x.iloc[:1000], bg], ignore_index=True)
    base = matrix(probe)
    m = probe.shape[1]
    owner = np.full(base.shape[1], -1, dtype=np.int64)
    for j, name in enumerate(probe.columns):
        shifted = probe.copy()
        shifted[name] = np.roll(shifted[name].to_numpy(), 1)
        changed = ~np.isclose(matrix(shifted), base, equal_nan=True).all(axis=0)
        clash = changed & (owner >= 0)
        if clash.any():
            return f"the pipeline's transform mixes input features (output column {int(np.flatnonzero(clash)[0])} depends on several), so attributions cannot be exact"
        owner[changed] = j
    both = np.vstack([v_x, v_z])
    loose = (owner < 0) & ~np.isclose(both, both[:1], equal_nan=True).all(axis=0)
    if loose.any():
        return "a transformed column could not be traced to one input feature"
    owner[owner < 0] = m
    return owner
