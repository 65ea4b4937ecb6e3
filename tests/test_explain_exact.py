"""Exact TreeSHAP and linear SHAP read from the model, checked against brute-force enumeration and against shap."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, PolynomialFeatures, StandardScaler

import assay.explain as ex
from assay._errors import ConfigError
from assay.datasets import load_adult
from assay.explain._exact import exact_explainer
from assay.explain._model import as_model_function
from assay.explain._shapley import exact_shapley

FEATURES = ["age", "education-num", "hours-per-week", "capital-gain", "workclass", "relationship", "sex"]
CATEGORICAL = ["workclass", "relationship", "sex"]
NUMERIC = [c for c in FEATURES if c not in CATEGORICAL]


@pytest.fixture(scope="module")
def data():
    train = load_adult("train").sample(5000, random_state=3)
    x = train[FEATURES].copy()
    x.loc[x.index[:200], "age"] = np.nan  # missing values must follow each library's default direction
    return x.reset_index(drop=True), (train["income"] == ">50K").to_numpy(), train["hours-per-week"].to_numpy(float)


def _ordinal(cols: list[str] = CATEGORICAL):
    return make_column_transformer((OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cols), remainder="passthrough")


def _models(x: pd.DataFrame, y: np.ndarray, hours: np.ndarray):
    import catboost as cb
    import lightgbm as lgb
    import xgboost as xgb
    from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingClassifier, RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.tree import DecisionTreeClassifier

    xc = x.copy()
    for c in CATEGORICAL:
        xc[c] = xc[c].astype(str).astype("category")
    filled = x.fillna({"age": 38.0})
    ncat = len(CATEGORICAL)
    yield "lightgbm, pandas categories", lgb.LGBMClassifier(n_estimators=40, num_leaves=15, verbose=-1, random_state=0).fit(xc, y), xc, True
    yield "lightgbm regressor, zero as missing", lgb.LGBMRegressor(n_estimators=20, verbose=-1, zero_as_missing=True).fit(xc, hours), xc, False
    yield ("xgboost, native categories", xgb.XGBClassifier(n_estimators=30, max_depth=4, enable_categorical=True, tree_method="hist").fit(xc, y), xc, True)
    numeric = x[NUMERIC].astype(float)
    yield (
        "catboost, numeric columns with missing values",
        cb.CatBoostClassifier(iterations=30, depth=4, verbose=0, random_seed=0).fit(numeric, y),
        numeric,
        True,
    )
    yield "catboost regressor", cb.CatBoostRegressor(iterations=20, depth=3, verbose=0, random_seed=0).fit(numeric, hours), numeric, False
    yield ("hist gradient boosting in a pipeline",
           make_pipeline(_ordinal(), HistGradientBoostingClassifier(categorical_features=list(range(ncat)), max_iter=30, random_state=0)).fit(x, y), x, True)  # fmt: skip
    yield ("random forest on one-hot columns",
           make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), CATEGORICAL), remainder="passthrough"),
                         RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0)).fit(filled, y), filled, False)  # fmt: skip
    yield (
        "random forest regressor",
        make_pipeline(_ordinal(), RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0)).fit(filled, hours),
        filled,
        False,
    )
    yield "gradient boosting regressor", make_pipeline(_ordinal(), GradientBoostingRegressor(n_estimators=25, random_state=0)).fit(filled, hours), filled, False
    yield "decision tree with missing values", make_pipeline(_ordinal(), DecisionTreeClassifier(max_depth=7, random_state=0)).fit(x, y), x, False
    yield ("logistic regression, one-hot and scaled",
           make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), CATEGORICAL), (StandardScaler(), NUMERIC)),
                         LogisticRegression(max_iter=1000)).fit(filled, y), filled, True)  # fmt: skip
    yield "ridge", make_pipeline(_ordinal(), Ridge()).fit(filled, hours), filled, False


def test_exact_paths_equal_brute_force_enumeration(data):
    """Tree and linear attributions for the input features (through encoders) equal all-coalition enumeration."""
    x, y, hours = data
    rng = np.random.default_rng(0)
    seen = set()
    for name, model, frame, logit in _models(x, y, hours):
        fn = as_model_function(model, use_logit=logit)
        rows = frame.iloc[rng.choice(len(frame), 25, replace=False)].reset_index(drop=True)
        bg = frame.iloc[rng.choice(len(frame), 12, replace=False)].reset_index(drop=True)
        w = rng.uniform(0.5, 2.0, len(bg))  # weighted background (k-prototypes summaries carry weights)
        fx, fz = fn.predict(rows), fn.predict(bg)
        found = exact_explainer(fn, rows, bg, fx, fz)
        assert not isinstance(found, str), f"{name}: {found}"
        seen.add(found.name)
        phi = found.run(rows, bg, w)
        brute = exact_shapley(fn.predict, rows, bg, w)
        # XGBoost sums its trees in float32, so its own scores (hence the enumeration) carry ~1e-7 relative rounding
        tol = (1e-6 if name.startswith("xgboost") else 1e-9) * max(1.0, float(np.abs(brute.values).max()))
        np.testing.assert_allclose(phi, brute.values, atol=tol, err_msg=name)
        np.testing.assert_allclose(phi.sum(axis=1), fx - fz @ (w / w.sum()), atol=tol, err_msg=name)
    assert seen == {"tree", "linear"}


def test_tree_shap_equals_shap_interventional_tree_explainer():
    """On ordinal-coded Adult (shap refuses categorical splits with a background), assay equals shap to 1e-6."""
    import lightgbm as lgb
    import shap

    train, test = load_adult("train"), load_adult("test")
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]

    def codes(d: pd.DataFrame) -> pd.DataFrame:
        d = d[feats].copy()
        for c in feats:
            if not pd.api.types.is_numeric_dtype(d[c]):
                d[c] = pd.Categorical(d[c].astype(str), categories=sorted(train[c].astype(str).unique())).codes.astype(float)
        return d

    model = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, verbose=-1, random_state=0).fit(codes(train), train["income"] == ">50K")
    x, bg = codes(test).iloc[:60].reset_index(drop=True), codes(train).sample(50, random_state=0).reset_index(drop=True)
    result = ex.explain(x, model, use_logit=True, baseline=bg, pdp_features=[], bootstrap_replicates=0, max_rows=None)
    assert result.method["name"] == "tree"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = shap.TreeExplainer(model, bg, feature_perturbation="interventional", model_output="raw").shap_values(x, check_additivity=False)
    reference = reference[1] if isinstance(reference, list) else reference
    np.testing.assert_allclose(result.local.to_numpy(), reference, atol=1e-6)
    assert result.method["additivity_max_error"] < 1e-9


def test_auto_falls_back_to_sampling_with_the_reason(data):
    x, y, _ = data
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    filled = x[NUMERIC].fillna(38.0)
    mixing = make_pipeline(PolynomialFeatures(2), StandardScaler(), LogisticRegression(max_iter=300)).fit(filled, y)
    r = ex.explain(filled, mixing, use_logit=True, max_rows=20, background_size=10, pdp_features=[], bootstrap_replicates=0)
    assert r.method["name"] in ("exact", "sampling")
    assert "mixes input features" in r.method["exact_unavailable"]
    gbm = HistGradientBoostingClassifier(max_iter=10).fit(filled, y)
    r = ex.explain(filled, gbm, max_rows=20, background_size=10, pdp_features=[], bootstrap_replicates=0)  # probability: not a sum over trees
    assert "use_logit: true" in r.method["exact_unavailable"]
    import catboost as cb

    with_categories = x[NUMERIC + ["sex"]].fillna({"age": 38.0})
    ctr = cb.CatBoostClassifier(iterations=20, depth=3, verbose=0, cat_features=["sex"], random_seed=0).fit(with_categories, y)
    r = ex.explain(with_categories, ctr, use_logit=True, max_rows=20, background_size=10, pdp_features=[], bootstrap_replicates=0)
    assert r.method["name"] in ("exact", "sampling") and "target statistics (CTRs)" in r.method["exact_unavailable"]
    with pytest.raises(ConfigError, match="algorithm 'tree' does not apply: .*plain function"):
        ex.explain(filled, lambda d: d["age"].to_numpy() / 10.0, algorithm="tree", max_rows=10, pdp_features=[])
    with pytest.raises(ConfigError, match="algorithm 'linear' does not apply: the model is read as a tree model"):
        ex.explain(filled, gbm, use_logit=True, algorithm="linear", max_rows=10, pdp_features=[])
