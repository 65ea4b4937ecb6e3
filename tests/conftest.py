from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.datasets import load_adult


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
