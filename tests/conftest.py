from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay.datasets import adult_model, load_adult


@pytest.fixture(scope="session")
def adult_scored() -> pd.DataFrame:
    """Adult test split with a deterministic logistic-regression score and prediction."""
    from sklearn.linear_model import LogisticRegression

    train, test = load_adult("train"), load_adult("test")
    cols = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss"]
    model = LogisticRegression(max_iter=2000).fit(np.log1p(train[cols]), train["income"] == ">50K")
    out = test.copy()
    out["score"] = model.predict_proba(np.log1p(test[cols]))[:, 1]
    out["pred"] = np.where(out["score"] > 0.5, ">50K", "<=50K")
    out["y"] = (out["income"] == ">50K").astype(int)
    out["yhat"] = (out["pred"] == ">50K").astype(int)
    return out


@pytest.fixture(scope="session")
def analysed(tmp_path_factory) -> Path:
    """Audit (score, intersectional facet, continuous facet) and explanation of a real model, in one analysis.json."""
    from assay.explain import explain

    train, test = load_adult("train"), load_adult("test").sample(6000, random_state=0).reset_index(drop=True)
    features = [c for c in train.columns if c not in ("income", "fnlwgt", "sex")]
    model = adult_model(features, max_iter=50).fit(train[features], train["income"] == ">50K")
    test["score"] = model.predict_proba(test[features])[:, 1]
    result = assay.audit(test, label="income", label_values_or_threshold=[">50K"], probability="score", group_variable="education",
                         facets=["sex", "race", ["sex", "race"], assay.Facet(("age",), threshold=40)], bootstrap_replicates=200)  # fmt: skip
    doc = json.loads(result.to_json())
    ex = explain(test, model, use_logit=True, facets=["sex", "race"], max_rows=300, bootstrap_replicates=200, pdp_top_k=3)
    doc["explanations"] = json.loads(json.dumps(ex.to_dict()))
    out = tmp_path_factory.mktemp("report")
    (out / "analysis.json").write_text(json.dumps(doc))
    return out
