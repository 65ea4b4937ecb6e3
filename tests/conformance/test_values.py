"""Score and regression metrics against row-level computations, scikit-learn and SciPy."""

from __future__ import annotations

import math
import re
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp, ttest_ind
from sklearn.metrics import brier_score_loss, roc_auc_score

import assay
from assay.datasets import load_adult

Z95 = NormalDist().inv_cdf(0.975)


def delong(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """AUC and DeLong's variance, row by row (ties count one half)."""
    pos, neg = np.sort(s[y == 1]), np.sort(s[y == 0])
    v10 = (np.searchsorted(neg, s[y == 1], "left") + np.searchsorted(neg, s[y == 1], "right")) / 2 / len(neg)
    v01 = (len(pos) - (np.searchsorted(pos, s[y == 0], "left") + np.searchsorted(pos, s[y == 0], "right")) / 2) / len(pos)
    return float(v10.mean()), float(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))


def ece(y: np.ndarray, s: np.ndarray) -> float:
    b = np.minimum((s * 10).astype(int), 9)
    frame = pd.DataFrame({"b": b, "y": y, "s": s}).groupby("b").agg(n=("y", "size"), y=("y", "mean"), s=("s", "mean"))
    return float((frame["n"] / len(y) * (frame["s"] - frame["y"]).abs()).sum())


@pytest.fixture(scope="module")
def scored(adult_scored: pd.DataFrame) -> pd.DataFrame:
    out = adult_scored[["sex", "race", "y", "income"]].copy()
    out["score"] = adult_scored["score"].round(3)  # at most 1,001 distinct values: histograms are exact
    out["raw_score"] = adult_scored["score"]
    return out


def _audit_scores(df: pd.DataFrame, score: str, **kw):
    return assay.audit(df, label="y", label_values_or_threshold=[1], facets=["sex", "race", ["sex", "race"]], probability=score,
                       pre_training_methods=None, post_training_methods=["AUCD", "BSD", "CalD", "DPPL"], **kw)  # fmt: skip


def test_auc_brier_calibration_equal_row_level(scored):
    r = _audit_scores(scored, "score", bootstrap_replicates=0)
    y, s = scored["y"].to_numpy(), scored["score"].to_numpy()
    for facet in ("sex", "race", "sex x race"):
        for fv in r.post_training.facets[facet]:
            d = np.logical_and.reduce([(scored[col] == v).to_numpy() for col, v in fv.facet_values.items()])
            if min(d.sum(), (~d).sum()) < 2 or y[d].min() == y[d].max():
                assert next(x for x in fv.metrics if x.name == "AUCD").value is None
                continue
            auc_a, var_a = delong(y[~d], s[~d])
            auc_d, var_d = delong(y[d], s[d])
            assert auc_a == pytest.approx(roc_auc_score(y[~d], s[~d]), abs=1e-12)
            m = {x.name: x for x in fv.metrics}
            assert m["AUCD"].value == pytest.approx(auc_a - auc_d, abs=1e-12)
            half = Z95 * math.sqrt(var_a + var_d)
            assert m["AUCD"].ci == pytest.approx([auc_a - auc_d - half, auc_a - auc_d + half], abs=1e-9)
            assert "note" not in m["AUCD"].to_dict()  # exact: no binning bound
            assert m["BSD"].value == pytest.approx(brier_score_loss(y[d], s[d]) - brier_score_loss(y[~d], s[~d]), abs=1e-12)
            gap = lambda mask: s[mask].mean() - y[mask].mean()  # noqa: E731
            assert m["CalD"].value == pytest.approx(gap(~d) - gap(d), abs=1e-12)
            # the variance of a mean of (s - y)^2 and of (s - y): sample variance over n
            e2 = lambda mask: (s[mask] - y[mask]) ** 2  # noqa: E731
            se = math.sqrt(e2(d).var(ddof=1) / d.sum() + e2(~d).var(ddof=1) / (~d).sum())
            assert m["BSD"].ci[1] - m["BSD"].value == pytest.approx(Z95 * se, rel=1e-9)
            stats = fv.value_stats
            assert stats["d"]["auc"] == pytest.approx(auc_d, abs=1e-12)
            assert stats["d"]["ece"] == pytest.approx(ece(y[d], s[d]), abs=1e-12)
            assert stats["rest"]["brier"] == pytest.approx(brier_score_loss(y[~d], s[~d]), abs=1e-12)
            table = stats["d"]["calibration"]
            assert sum(row["rows"] for row in table) == d.sum()


def test_binned_auc_stays_within_its_stated_bound(scored):
    r = _audit_scores(scored, "raw_score", bootstrap_replicates=0)
    assert scored["raw_score"].nunique() > 2000
    y, s = scored["y"].to_numpy(), scored["raw_score"].to_numpy()
    for fv in r.post_training.facets["race"]:
        d = (scored["race"] == fv.value_or_threshold).to_numpy()
        m = next(x for x in fv.metrics if x.name == "AUCD")
        exact = roc_auc_score(y[~d], s[~d]) - roc_auc_score(y[d], s[d])
        bound = float(re.search(r"exact to within ([0-9.e-]+)", m.note).group(1))
        assert abs(m.value - exact) <= bound * 1.01
        bsd = next(x for x in fv.metrics if x.name == "BSD")  # moments are exact whatever the bins
        assert bsd.value == pytest.approx(brier_score_loss(y[d], s[d]) - brier_score_loss(y[~d], s[~d]), abs=1e-12)


def test_auc_is_rank_based_and_calibration_needs_probabilities(scored):
    df = scored.assign(logit=np.log(scored["score"].clip(1e-4, 1 - 1e-4) / (1 - scored["score"].clip(1e-4, 1 - 1e-4))))
    a = _audit_scores(df, "score", bootstrap_replicates=0)
    b = _audit_scores(df.assign(score=df["logit"]), "score", bootstrap_replicates=0, probability_threshold=0.0)  # logit(0.5): the same decisions
    ma = a.metric("post_training", "sex", "Female", "AUCD")
    mb = b.metric("post_training", "sex", "Female", "AUCD")
    assert mb.value == pytest.approx(ma.value, abs=1e-12)  # the clip keeps the order of scores rounded to 0.001
    bsd = b.metric("post_training", "sex", "Female", "BSD")
    assert bsd.value is None and "outside [0, 1]" in bsd.reason


def test_score_metrics_named_without_a_score_are_null_with_reason(scored):
    r = assay.audit(scored, label="y", label_values_or_threshold=[1], facets=["sex"], predicted_label="y",
                    pre_training_methods=None, post_training_methods=["DPPL", "AUCD"], bootstrap_replicates=0)  # fmt: skip
    m = r.metric("post_training", "sex", "Female", "AUCD")
    assert m.value is None and "needs a score" in m.reason
    everything = assay.audit(scored, label="y", label_values_or_threshold=[1], facets=["sex"], predicted_label="y", bootstrap_replicates=0)
    names = {x.name for x in everything.post_training.facets["sex"][0].metrics}
    assert "AUCD" not in names and "MDP" not in names and "DPPL" in names  # "all" leaves out what does not apply


@pytest.fixture(scope="module")
def regression() -> pd.DataFrame:
    from sklearn.linear_model import Ridge

    train, test = load_adult("train"), load_adult("test")
    cols = ["age", "education-num", "occupation", "marital-status"]
    x_train = pd.get_dummies(train[cols], dtype=float)
    x_test = pd.get_dummies(test[cols], dtype=float).reindex(columns=x_train.columns, fill_value=0.0)
    model = Ridge().fit(x_train, train["hours-per-week"])
    return pd.DataFrame({
        "sex": test["sex"].astype(object), "race": test["race"].astype(object), "hours": test["hours-per-week"],
        "pred": model.predict(x_test).round(1),  # a few hundred distinct values: exact histograms
    })  # fmt: skip


def test_regression_metrics_equal_scipy(regression):
    r = assay.audit(regression, label="hours", label_values_or_threshold=40, facets=["sex", "race"], predicted_label="pred",
                    post_training_methods=["MDP", "MRD", "MAED", "RMSED", "KS2P", "DPPL"], bootstrap_replicates=200)  # fmt: skip
    assert r.dataset["label_type"] == "continuous"
    y, p = regression["hours"].to_numpy(float), regression["pred"].to_numpy(float)
    e = p - y
    for facet in ("sex", "race"):
        for pre, post in zip(r.pre_training.facets[facet], r.post_training.facets[facet], strict=True):
            d = (regression[facet] == pre.value_or_threshold).to_numpy()
            if d.sum() < 2:
                continue
            m = {x.name: x for x in pre.metrics + post.metrics}
            welch = ttest_ind(y[~d], y[d], equal_var=False)
            assert m["MDL"].value == pytest.approx(y[~d].mean() - y[d].mean(), abs=1e-10)
            assert m["MDL"].p_value == pytest.approx(welch.pvalue, rel=1e-6, abs=1e-300)
            assert m["MDL"].ci == pytest.approx(list(welch.confidence_interval(0.95)), rel=1e-9)
            ks = ks_2samp(y[~d], y[d], method="asymp")
            assert m["KS2L"].value == pytest.approx(ks.statistic, abs=1e-12)
            assert m["KS2L"].p_value == pytest.approx(ks.pvalue, rel=1e-6, abs=1e-300)
            assert None not in m["KS2L"].ci and m["KS2L"].value <= m["KS2L"].ci[1]  # the bootstrap KS is biased upward
            assert m["KS2P"].value == pytest.approx(ks_2samp(p[~d], p[d]).statistic, abs=1e-12)
            assert m["MDP"].value == pytest.approx(p[~d].mean() - p[d].mean(), abs=1e-10)
            assert m["MRD"].value == pytest.approx(e[~d].mean() - e[d].mean(), abs=1e-10)
            assert m["MAED"].value == pytest.approx(np.abs(e[d]).mean() - np.abs(e[~d]).mean(), abs=1e-10)
            rmse = lambda mask: math.sqrt((e[mask] ** 2).mean())  # noqa: E731
            assert m["RMSED"].value == pytest.approx(rmse(d) - rmse(~d), abs=1e-10)
            assert post.value_stats["d"]["mae"] == pytest.approx(np.abs(e[d]).mean(), abs=1e-10)


def test_integer_weights_give_the_values_of_repeated_rows(scored, regression):
    rng = np.random.default_rng(5)
    for df, kw, names in (
        (scored.sample(3000, random_state=1).reset_index(drop=True), {"label": "y", "label_values_or_threshold": [1], "probability": "score"}, ["AUCD", "BSD", "CalD"]),
        (regression.sample(3000, random_state=1).reset_index(drop=True), {"label": "hours", "label_values_or_threshold": 40, "predicted_label": "pred"}, ["MDP", "MAED", "RMSED", "KS2P"]),
    ):  # fmt: skip
        w = rng.integers(1, 4, len(df))
        weighted = assay.audit(df.assign(w=w), facets=["sex"], sample_weight="w", bootstrap_replicates=0, **kw)
        repeated = assay.audit(df.loc[df.index.repeat(w)].reset_index(drop=True), facets=["sex"], bootstrap_replicates=0, **kw)
        for name in names:
            a = weighted.metric("post_training", "sex", "Female", name).value
            b = repeated.metric("post_training", "sex", "Female", name).value
            assert a == pytest.approx(b, abs=1e-10), name


def test_decisions_and_their_score_in_one_audit(scored):
    """predicted_label gives the decisions actually made (here a threshold of 0.3), probability the score's AUC and calibration."""
    df = scored.assign(decision=(scored["raw_score"] > 0.3).astype(int))
    both = assay.audit(df, label="y", label_values_or_threshold=[1], facets=["sex"], predicted_label="decision", probability="score",
                       post_training_methods=["DPPL", "RD", "AUCD", "CalD"], pre_training_methods=None, bootstrap_replicates=0)  # fmt: skip
    labels = assay.audit(df, label="y", label_values_or_threshold=[1], facets=["sex"], predicted_label="decision",
                         post_training_methods=["DPPL", "RD"], pre_training_methods=None, bootstrap_replicates=0)  # fmt: skip
    scores = assay.audit(df, label="y", label_values_or_threshold=[1], facets=["sex"], probability="score",
                         post_training_methods=["DPPL", "AUCD", "CalD"], pre_training_methods=None, bootstrap_replicates=0)  # fmt: skip
    get = lambda r, n: r.metric("post_training", "sex", "Female", n).value  # noqa: E731
    assert get(both, "DPPL") == pytest.approx(get(labels, "DPPL"), abs=1e-12) and get(both, "RD") == pytest.approx(get(labels, "RD"), abs=1e-12)
    assert get(both, "DPPL") != pytest.approx(get(scores, "DPPL"), abs=1e-3)  # not the score at 0.5
    assert get(both, "AUCD") == pytest.approx(get(scores, "AUCD"), abs=1e-12) and get(both, "CalD") == pytest.approx(get(scores, "CalD"), abs=1e-12)
    d = df["sex"] == "Female"
    assert get(both, "DPPL") == pytest.approx(df.loc[~d, "decision"].mean() - df.loc[d, "decision"].mean(), abs=1e-12)
    assert both.settings["decisions"] == "decision" and scores.settings["decisions"] == "score > 0.5"
    with pytest.raises(assay.ConfigError, match="probability_threshold turns scores into decisions, but the decisions are predicted_label 'decision'"):
        assay.audit(df, label="y", label_values_or_threshold=[1], facets=["sex"], predicted_label="decision", probability="score", probability_threshold=0.3)
