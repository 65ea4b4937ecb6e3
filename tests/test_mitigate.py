"""Mitigation: reweighing makes DPL exactly 0 and agrees with AIF360."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import assay
from assay._errors import DataError
from assay.datasets import load_adult
from assay.mitigate import reweighing_weights


@pytest.fixture(scope="module")
def train():
    return load_adult("train")


def test_reweighing_makes_dpl_exactly_zero_for_every_group_and_intersection(train):
    y = train["income"] == ">50K"
    for facets, cols in ((["sex"], ["sex"]), (["race"], ["race"]), ([["sex", "race"]], ["sex", "race"])):
        data = train.assign(w=reweighing_weights(y, train[cols]))
        before = assay.audit(train, label="income", label_values_or_threshold=[">50K"], facets=facets, bootstrap_replicates=0, pre_training_methods=["DPL"])
        after = assay.audit(data, label="income", label_values_or_threshold=[">50K"], facets=facets, sample_weight="w", bootstrap_replicates=0, pre_training_methods=["DPL"])
        name = " x ".join(cols)
        values = [v for v in after.to_frame().query("stage == 'pre_training' and metric == 'DPL'")["value"]]
        assert len(values) >= 2 and max(abs(v) for v in values) < 1e-12, (name, values)
        assert max(abs(v) for v in before.to_frame().query("metric == 'DPL'")["value"]) > 0.05  # there was something to remove
        w = data["w"].to_numpy()
        for _, part in data.groupby(cols):  # each group keeps its total weight, each class too
            assert part["w"].sum() == pytest.approx(len(part), rel=1e-12)
        assert w[y.to_numpy()].sum() == pytest.approx(y.sum(), rel=1e-12)


def test_reweighing_equals_aif360(train):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.sklearn.preprocessing import Reweighing

    y = (train["income"] == ">50K").astype(int)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(train))  # with incoming sample weights
    X = train.drop(columns="income").set_index(["race"], drop=False)
    _, theirs = Reweighing(prot_attr="race").fit_transform(X, y.set_axis(X.index), sample_weight=sw)
    np.testing.assert_allclose(reweighing_weights(y, train["race"], sample_weight=sw), theirs, rtol=1e-12)


def test_reweighing_errors_name_the_problem():
    with pytest.raises(DataError, match="sensitive_features has 3 rows and y has 2"):
        reweighing_weights([1, 0], ["a", "b", "c"])
    with pytest.raises(DataError, match="1 missing labels"):
        reweighing_weights(pd.Series([1, None, 0]), ["a", "b", "c"])
    with pytest.raises(DataError, match="sample_weight must be finite and >= 0"):
        reweighing_weights([1, 0, 1], ["a", "b", "b"], sample_weight=[1, -1, 1])
    assert list(reweighing_weights([1, 0, 1, 0], [None, None, "b", "b"])) == [1.0, 1.0, 1.0, 1.0]  # missing is a group
