"""The mitigators as scikit-learn estimators: the estimator checks, metadata routing in a Pipeline and a grid search, and
conformance with Fairlearn's reductions and correlation remover."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from assay._errors import DataError
from assay.datasets import load_adult
from assay.mitigate import CorrelationRemover, GroupThresholdClassifier, ReductionsClassifier, ReductionsRegressor, ReweighingClassifier  # fmt: skip

RESAMPLE = "resampling draws rows at random, so weight 2 is not the same as a repeated row"


@parametrize_with_checks(
    [
        GroupThresholdClassifier(LogisticRegression()),
        GroupThresholdClassifier(LogisticRegression(), constraint="equalized_odds", objective="balanced_accuracy"),
        GroupThresholdClassifier(LogisticRegression(), method="reject_option"),
        GroupThresholdClassifier(LogisticRegression(), constraint="predictive_parity", cv=3),
        ReweighingClassifier(LogisticRegression()),
        ReweighingClassifier(LogisticRegression(), method="resample"),
        CorrelationRemover(),
        ReductionsClassifier(LogisticRegression(), max_iter=10),
        ReductionsClassifier(LogisticRegression(), method="grid_search", grid_size=4),
        ReductionsRegressor(LinearRegression(), eps=1.0, max_iter=10),
    ],
    expected_failed_checks=lambda est: (
        {"check_sample_weight_equivalence_on_dense_data": RESAMPLE, "check_sample_weight_equivalence_on_sparse_data": RESAMPLE}
        if isinstance(est, ReweighingClassifier) and est.method == "resample"
        else {}
    ),
)
def test_scikit_learn_estimator_checks(estimator, check, monkeypatch):
    # the check of NumPy input under array-API dispatch skips itself unless this is set; scipy read it at import, so it only
    # unlocks the check (which the mitigators pass: they hand NumPy arrays to NumPy code)
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no sensitive_features")  # the checks know nothing of groups
        check(estimator)


@pytest.fixture(scope="module")
def adult():
    df = load_adult("train").sample(8000, random_state=0).reset_index(drop=True)
    X = df[["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]].astype(float)
    return X, (df["income"] == ">50K").astype(int), df["sex"]


def _gap(pred, group, y=None):
    rates = pd.Series(pred).groupby(np.asarray(group)).mean() if y is None else pd.Series(pred[y == 1]).groupby(np.asarray(group)[y == 1]).mean()
    return float(rates.max() - rates.min())


def test_metadata_routing_in_a_pipeline_and_a_grid_search(adult):
    X, y, sex = adult
    with sklearn.config_context(enable_metadata_routing=True):
        post = GroupThresholdClassifier(LogisticRegression(max_iter=500), constraint="demographic_parity")
        post.set_fit_request(sensitive_features=True).set_predict_request(sensitive_features=True).set_predict_proba_request(sensitive_features=True)
        post.set_score_request(sensitive_features=True)
        pipe = make_pipeline(StandardScaler(), post)
        pipe.fit(X, y, sensitive_features=sex)
        pred = pipe.predict(X, sensitive_features=sex)
        assert _gap(pred, sex) < 0.02  # realised decisions: the expected gap is 0, the coins add about 1/sqrt(n)
        assert _gap(pipe.predict_proba(X, sensitive_features=sex)[:, 1], sex) < 1e-9

        search = GridSearchCV(make_pipeline(StandardScaler(), post), {"groupthresholdclassifier__objective": ["accuracy", "balanced_accuracy"]}, cv=3)
        search.fit(X, y, sensitive_features=sex)
        assert search.best_params_["groupthresholdclassifier__objective"] in ("accuracy", "balanced_accuracy")
        assert len(search.cv_results_["mean_test_score"]) == 2 and np.isfinite(search.cv_results_["mean_test_score"]).all()

        rew = ReweighingClassifier(LogisticRegression(max_iter=500)).set_fit_request(sensitive_features=True)
        plain = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
        fair = make_pipeline(StandardScaler(), rew).fit(X, y, sensitive_features=sex)
        assert _gap(fair.predict(X), sex) < _gap(plain.predict(X), sex)  # training on balanced data narrows the selection gap


def test_sensitive_columns_of_a_dataframe_and_errors(adult):
    X, y, sex = adult
    Xs = X.assign(sex=sex.to_numpy())
    clf = GroupThresholdClassifier(make_pipeline(_DropSex(), LogisticRegression(max_iter=500)), sensitive_columns="sex").fit(Xs, y)
    assert clf.thresholds_.groups == ["Female", "Male"]
    with pytest.raises(DataError, match="sensitive column\\(s\\) 'gender' are not in X"):
        GroupThresholdClassifier(LogisticRegression(), sensitive_columns="gender").fit(X, y)
    with pytest.raises(DataError, match="group value\\(s\\) 'Other' were not seen"):
        clf.predict(Xs.assign(sex="Other").head(3))
    with pytest.warns(UserWarning, match="no sensitive_features and no sensitive_columns"):
        GroupThresholdClassifier(LogisticRegression(max_iter=500)).fit(X, y)


class _DropSex(sklearn.base.TransformerMixin, sklearn.base.BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X.drop(columns="sex")


def test_row_coins_make_decisions_independent_of_batch_and_order(adult):
    X, y, sex = adult
    clf = GroupThresholdClassifier(LogisticRegression(max_iter=500), constraint="equalized_odds").fit(X, y, sensitive_features=sex)
    whole = clf.predict(X, sensitive_features=sex)
    order = np.random.default_rng(0).permutation(len(X))[:500]
    np.testing.assert_array_equal(clf.predict(X.iloc[order], sensitive_features=sex.iloc[order]), whole[order])
    p = clf.predict_proba(X, sensitive_features=sex)[:, 1]
    mixed = (p > 0) & (p < 1)
    assert mixed.sum() > 100 and abs(whole[mixed].mean() - p[mixed].mean()) < 4 * np.sqrt(0.25 / mixed.sum())  # coins are fair


def test_reductions_agree_with_fairlearn_on_the_same_inputs(adult):
    from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient, GridSearch

    X, y, sex = adult
    for constraint, moment in (("demographic_parity", DemographicParity), ("equalized_odds", EqualizedOdds)):
        ours = ReductionsClassifier(LogisticRegression(max_iter=500), constraint=constraint, eps=0.02, max_iter=30).fit(X, y, sensitive_features=sex)
        theirs = ExponentiatedGradient(LogisticRegression(max_iter=500), moment(difference_bound=0.02), eps=0.02, max_iter=30)
        theirs.fit(X, y, sensitive_features=sex)
        np.testing.assert_allclose(ours.predict_proba(X)[:, 1], theirs._pmf_predict(X)[:, 1], atol=1e-9)
        plain = LogisticRegression(max_iter=500).fit(X, y).predict(X)
        p = ours.predict_proba(X)[:, 1]
        if constraint == "demographic_parity":
            assert _gap(p, sex) < 0.5 * _gap(plain, sex)  # 0.029 against 0.080 (eps 0.02 is met only up to the solver's tolerance)
        else:
            assert _gap(p, sex, y.to_numpy()) < _gap(plain, sex, y.to_numpy())
    ours = ReductionsClassifier(LogisticRegression(max_iter=500), method="grid_search", grid_size=7).fit(X, y, sensitive_features=sex)
    theirs = GridSearch(LogisticRegression(max_iter=500), DemographicParity(), grid_size=7).fit(X, y, sensitive_features=sex)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_bounded_group_loss_regression(adult):
    X, y, sex = adult
    target = X["hours-per-week"].to_numpy()
    feats = X.drop(columns="hours-per-week")
    plain = LinearRegression().fit(feats, target)
    loss = lambda pred: pd.Series((pred - target) ** 2).groupby(sex.to_numpy()).mean()  # noqa: E731
    worst = float(loss(plain.predict(feats)).max())  # men: 145.3 (women 133.3)
    bound = worst - 2.0
    fair = ReductionsRegressor(LinearRegression(), eps=bound, max_iter=30).fit(feats, target, sensitive_features=sex)
    after = loss(fair.predict(feats))
    assert float(after.max()) <= bound  # the worst group's loss is brought under the bound (142.4: about the minimax loss here)


def test_correlation_remover_zeroes_group_means_and_matches_fairlearn(adult):
    from fairlearn.preprocessing import CorrelationRemover as Theirs

    X, _, sex = adult
    Xs = X.assign(female=(sex == "Female").astype(float).to_numpy())
    out = CorrelationRemover(sensitive_columns="female").fit_transform(Xs)
    means = pd.DataFrame(out).groupby(Xs["female"].to_numpy()).mean()
    np.testing.assert_allclose(means.iloc[0], means.iloc[1], atol=1e-8)  # no linear trace of the group left
    theirs = Theirs(sensitive_feature_ids=["female"]).fit_transform(Xs)
    np.testing.assert_allclose(out, theirs, atol=1e-8)
    half = CorrelationRemover(sensitive_columns="female", alpha=0.5).fit_transform(Xs)
    np.testing.assert_allclose(half, 0.5 * out + 0.5 * X.to_numpy(), atol=1e-8)
    with pytest.raises(DataError, match="column\\(s\\) 'sex' are not numeric"):
        CorrelationRemover(sensitive_columns="female").fit(Xs.assign(sex=sex.to_numpy()))


def test_any_dataframe_polars_and_pyarrow(adult):
    import polars as pl
    import pyarrow as pa

    X, y, sex = adult
    Xs = X.assign(sex=sex.to_numpy())
    model = make_pipeline(_DropSex(), LogisticRegression(max_iter=500))
    ref = GroupThresholdClassifier(model, sensitive_columns="sex").fit(Xs, y)
    for frame in (pl.from_pandas(Xs), pa.Table.from_pandas(Xs)):
        clf = GroupThresholdClassifier(model, sensitive_columns="sex").fit(frame, y)
        np.testing.assert_array_equal(clf.predict(frame), ref.predict(Xs))  # same rule, same per-row coins
        np.testing.assert_allclose(
            CorrelationRemover(sensitive_columns="sex").fit_transform(frame), CorrelationRemover(sensitive_columns="sex").fit_transform(Xs), atol=1e-10
        )
        rw = ReweighingClassifier(LogisticRegression(max_iter=500)).fit(pl.from_pandas(X), y, sensitive_features=pl.Series(sex.to_numpy()))
        assert rw.predict(pl.from_pandas(X)).shape == (len(X),)


def test_out_of_fold_thresholds_equal_thresholds_fitted_on_cross_fitted_scores(adult):
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from assay.mitigate import fit_group_thresholds

    X, y, sex = adult
    clf = GroupThresholdClassifier(LogisticRegression(max_iter=500), constraint="equalized_odds", cv=4, random_state=7).fit(X, y, sensitive_features=sex)
    oof = cross_val_predict(LogisticRegression(max_iter=500), X, y, cv=StratifiedKFold(4, shuffle=True, random_state=7), method="predict_proba")[:, 1]
    by_hand = fit_group_thresholds(oof, y, sex, constraint="equalized_odds")
    assert clf.thresholds_.rules == by_hand.rules and clf.thresholds_.operating_point == by_hand.operating_point
    np.testing.assert_allclose(clf.estimator_.coef_, LogisticRegression(max_iter=500).fit(X, y).coef_)  # the model itself sees all rows
    with pytest.raises(ValueError, match="prefit=True .* or cv"):
        GroupThresholdClassifier(clf.estimator_, prefit=True, cv=3).fit(X, y, sensitive_features=sex)
