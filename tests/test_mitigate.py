"""Mitigation: reweighing makes DPL exactly 0 and agrees with AIF360."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay._errors import DataError
from assay.datasets import adult_model, load_adult
from assay.mitigate import reweighing_weights


@pytest.fixture(scope="module")
def train():
    return load_adult("train")


def test_reweighing_makes_dpl_exactly_zero_for_every_group_and_intersection(train):
    y = train["income"] == ">50K"
    for facets, cols in ((["sex"], ["sex"]), (["race"], ["race"]), ([["sex", "race"]], ["sex", "race"])):
        data = train.assign(w=reweighing_weights(y, train[cols]))
        before = assay.audit(train, label="income", label_values_or_threshold=[">50K"], facets=facets, bootstrap_replicates=0, pre_training_methods=["DPL"])
        after = assay.audit(
            data, label="income", label_values_or_threshold=[">50K"], facets=facets, sample_weight="w", bootstrap_replicates=0, pre_training_methods=["DPL"]
        )
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
    with pytest.raises(DataError, match="sensitive_features has 3 rows and the data has 2"):
        reweighing_weights([1, 0], ["a", "b", "c"])
    with pytest.raises(DataError, match="1 missing labels"):
        reweighing_weights(pd.Series([1, None, 0]), ["a", "b", "c"])
    with pytest.raises(DataError, match="sample_weight must be finite and >= 0"):
        reweighing_weights([1, 0, 1], ["a", "b", "b"], sample_weight=[1, -1, 1])
    assert list(reweighing_weights([1, 0, 1, 0], [None, None, "b", "b"])) == [1.0, 1.0, 1.0, 1.0]  # missing is a group


@pytest.fixture(scope="module")
def scored(train):
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]
    model = adult_model(feats)
    model.fit(train[feats], train["income"] == ">50K")
    test = load_adult("test").sample(frac=1.0, random_state=0).reset_index(drop=True)
    test["score"] = model.predict_proba(test[feats])[:, 1]
    test["y"] = (test["income"] == ">50K").astype(int)
    return test


def _audit_predictions(frame, q):
    """Audit decisions given as each row's probability of a positive decision (0/1 for a deterministic rule)."""
    data = frame.assign(q=q)
    r = assay.audit(data, label="income", label_values_or_threshold=[">50K"], decision_probability="q", facets=["sex"],
                    bootstrap_replicates=1000, seed=1)  # fmt: skip
    f = r.to_frame().query("value_or_threshold == 'Female'").set_index("metric")
    y = (data["income"] == ">50K").to_numpy()
    return f, float((q * y + (1 - q) * ~y).mean())


def test_post_processing_meets_the_issue_targets_on_adult_test(scored):
    from assay.mitigate import fit_group_thresholds

    _, base_acc = _audit_predictions(scored, (scored["score"] > 0.5).astype(float).to_numpy())
    eo = fit_group_thresholds(scored["score"], scored["y"], scored["sex"], constraint="equalized_odds")
    f, acc = _audit_predictions(scored, eo.positive_probability(scored["score"], scored["sex"]))
    # the randomised rule judged by its expected decisions: its own rates, without the noise of one draw of the coins
    print(
        f"equalized odds: EqOddsD {f.loc['EqOddsD', 'value']:.4f} [{f.loc['EqOddsD', 'ci_low']:.4f}, {f.loc['EqOddsD', 'ci_high']:.4f}], "
        f"accuracy {acc:.4f} (unmitigated {base_acc:.4f})"
    )  # shown with pytest -s
    assert f.loc["EqOddsD", "value"] < 0.02 and f.loc["EqOddsD", "ci_high"] < 0.05, f.loc["EqOddsD"]
    assert base_acc - acc <= 0.02
    realised = eo.predict(scored["score"], scored["sex"], random_state=0).astype(float)  # one draw of the coins, audited as labels
    g, _ = _audit_predictions(scored, realised)
    print(f"  one draw of its decisions: EqOddsD {g.loc['EqOddsD', 'value']:.4f} [{g.loc['EqOddsD', 'ci_low']:.4f}, {g.loc['EqOddsD', 'ci_high']:.4f}]")
    assert g.loc["EqOddsD", "value"] < 0.02
    dp = fit_group_thresholds(scored["score"], scored["y"], scored["sex"], constraint="demographic_parity")
    f, acc = _audit_predictions(scored, dp.positive_probability(scored["score"], scored["sex"]))
    print(f"demographic parity: DI {f.loc['DI', 'value']:.4f} [{f.loc['DI', 'ci_low']:.4f}, {f.loc['DI', 'ci_high']:.4f}], accuracy {acc:.4f}")
    assert f.loc["DI", "value"] > 0.9 and base_acc - acc <= 0.03


def test_constraints_hold_exactly_in_expectation(scored):
    from assay.mitigate import fit_group_thresholds

    y = scored["y"].to_numpy().astype(bool)
    groups = scored["race"].to_numpy()  # five groups, some small
    for constraint, rate_of in (("demographic_parity", lambda p, g: p[g].mean()),
                                ("true_positive_rate_parity", lambda p, g: p[g & y].mean()),
                                ("equalized_odds", lambda p, g: (p[g & y].mean(), p[g & ~y].mean())),
                                ("predictive_parity", lambda p, g: (p * y)[g].sum() / p[g].sum())):  # fmt: skip
        th = fit_group_thresholds(scored["score"], y, groups, constraint=constraint)
        p = th.positive_probability(scored["score"], groups)
        rates = np.array([rate_of(p, groups == g) for g in th.groups])
        np.testing.assert_allclose(rates, np.broadcast_to(rates[0], rates.shape), atol=1e-9, err_msg=constraint)
        expected_accuracy = float((p * y + (1 - p) * ~y).mean())
        assert th.accuracy == pytest.approx(expected_accuracy, abs=1e-9)
        assert all(abs(sum(prob for _, prob in rule) - 1.0) < 1e-9 for rule in th.rules)  # each rule is a probability mixture
    both = scored[["sex", "race"]]  # intersectional groups: ten of them, the smallest with 30-odd rows
    th = fit_group_thresholds(scored["score"], y, both, constraint="equalized_odds", objective="balanced_accuracy")
    assert len(th.groups) == 10 and "Female & Black" in th.groups
    p = th.positive_probability(scored["score"], both)
    keys = scored["sex"] + " & " + scored["race"]
    tpr = [p[(keys == g).to_numpy() & y].mean() for g in th.groups]
    np.testing.assert_allclose(tpr, tpr[0], atol=1e-9)
    balanced = 0.5 * p[y].mean() + 0.5 * (1 - p[~y].mean())
    assert th.objective_value == pytest.approx(balanced, abs=1e-9)


def test_reject_option_classification_follows_its_definition(scored):
    from assay.mitigate import fit_reject_option

    s, y, sex = scored["score"].to_numpy(), scored["y"].to_numpy().astype(bool), scored["sex"].to_numpy()
    plain = {g: float((s[sex == g] > 0.5).mean()) for g in ("Female", "Male")}
    for constraint in ("demographic_parity", "equalized_odds"):
        roc = fit_reject_option(s, y, sex, constraint=constraint, bound=0.05, max_bins=len(s))  # a bin per distinct score: exact
        c, m = roc.operating_point["threshold"], roc.operating_point["margin"]
        assert roc.operating_point["bound_met"] == 1.0 and m > 0
        # by hand: in [c - m, c + m] women (the deprived group here) are accepted and men refused; elsewhere score > c
        critical = (s >= c - m) & (s <= c + m)
        decision = np.where(critical, sex == "Female", s > c)
        np.testing.assert_array_equal(roc.predict(s, sex), decision.astype(int))
        sel = {g: decision[sex == g].mean() for g in ("Female", "Male")}
        tpr = {g: decision[(sex == g) & y].mean() for g in ("Female", "Male")}
        fpr = {g: decision[(sex == g) & ~y].mean() for g in ("Female", "Male")}
        gap = abs(sel["Female"] - sel["Male"]) if constraint == "demographic_parity" else \
            max(abs(tpr["Female"] - tpr["Male"]), abs(fpr["Female"] - fpr["Male"]))  # fmt: skip
        assert gap <= 0.05
        assert roc.accuracy == pytest.approx(float((decision == y).mean()), abs=1e-12)
        assert roc.group_rates["Female"]["selection_rate"] == pytest.approx(sel["Female"], abs=1e-12)
    assert plain["Male"] - plain["Female"] > 0.1  # there was a gap to close


def test_group_thresholds_agree_with_fairlearn_threshold_optimizer(scored):
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.base import BaseEstimator, ClassifierMixin

    from assay.mitigate import fit_group_thresholds

    class Score(BaseEstimator, ClassifierMixin):  # hands the score column to Fairlearn as a prefit classifier
        def fit(self, X, y):
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, X):
            s = np.asarray(X, dtype=float)[:, 0]
            return np.c_[1 - s, s]

    fit_half, eval_half = scored.iloc[: len(scored) // 2], scored.iloc[len(scored) // 2 :]
    y = eval_half["y"].to_numpy().astype(bool)
    for constraint in ("demographic_parity", "equalized_odds", "true_positive_rate_parity"):
        theirs = ThresholdOptimizer(estimator=Score().fit(None, None), constraints=constraint, prefit=True, predict_method="predict_proba")
        theirs.fit(fit_half[["score"]], fit_half["y"], sensitive_features=fit_half["sex"])
        mine = fit_group_thresholds(fit_half["score"], fit_half["y"], fit_half["sex"], constraint=constraint)
        p_theirs = theirs._pmf_predict(eval_half[["score"]], sensitive_features=eval_half["sex"])[:, 1]
        p_mine = mine.positive_probability(eval_half["score"], eval_half["sex"])
        acc = lambda p: float((p * y + (1 - p) * ~y).mean())  # noqa: E731  (expected accuracy: no randomisation noise)
        assert acc(p_mine) == pytest.approx(acc(p_theirs), abs=0.004), constraint
        for g in ("Female", "Male"):
            d = (eval_half["sex"] == g).to_numpy()
            for mask in (d, d & y, d & ~y):  # selection rate, TPR, FPR per group
                assert p_mine[mask].mean() == pytest.approx(p_theirs[mask].mean(), abs=0.02), (constraint, g)


def test_group_threshold_errors_name_the_problem(scored):
    from assay._errors import ConfigError
    from assay.mitigate import fit_group_thresholds

    with pytest.raises(ConfigError, match="constraint must be one of demographic_parity, equalized_odds, true_positive_rate_parity"):
        fit_group_thresholds(scored["score"], scored["y"], scored["sex"], constraint="parity")
    with pytest.raises(DataError, match="y must be binary"):
        fit_group_thresholds([0.1, 0.2, 0.3], [0, 1, 2], ["a", "a", "b"])
    with pytest.raises(DataError, match="'b' have only one class in y"):
        fit_group_thresholds([0.1, 0.2, 0.3, 0.4], [0, 1, 1, 1], ["a", "a", "b", "b"])
    th = fit_group_thresholds(scored["score"], scored["y"], scored["sex"])
    with pytest.raises(DataError, match="group value\\(s\\) 'Other' were not seen"):
        th.predict([0.5], ["Other"])


def test_cli_mitigate_writes_the_trade_off_into_analysis_json_and_the_report(tmp_path, train):
    import json
    import re

    import jsonschema
    from typer.testing import CliRunner

    from assay.cli._main import app

    test = load_adult("test")
    train.to_parquet(tmp_path / "train.parquet")
    test.to_parquet(tmp_path / "test.parquet")
    (tmp_path / "mitigate.yaml").write_text("""
dataset_uri: train.parquet
test_dataset_uri: test.parquet
label: income
label_values_or_threshold: [">50K"]
facet: [{name_or_index: sex}, {name_or_index: [sex, race]}]
excluded_columns: [fnlwgt]
model: assay.datasets:adult_model
mitigate:
  bootstrap_replicates: 200
  methods: [reweighing, {name: thresholds, constraint: equalized_odds}, {name: reject_option, bound: 0.05}, {name: grid_search, grid_size: 3}]
""")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["mitigate", str(tmp_path / "mitigate.yaml"), "--out", str(out), "--report", "-q"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "analysis.json").read_text())
    schema = json.loads((Path(assay.__file__).parent / "schemas" / "analysis.schema.json").read_text())
    jsonschema.validate(doc, schema)
    rows = {r["title"]: r for r in doc["mitigation"]["results"]}
    assert list(rows) == ["none", "reweighing", "thresholds (equalized_odds)", "reject_option (0.05)", "grid_search (3)"]
    # the unmitigated row is the plain model, retrained here independently and scored by hand
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]
    plain = adult_model(feats).fit(train[feats], (train["income"] == ">50K").astype(int)).predict(test[feats])
    y = (test["income"] == ">50K").to_numpy().astype(int)
    assert rows["none"]["accuracy"]["value"] == pytest.approx(float((plain == y).mean()), abs=1e-12)
    female = test["sex"] == "Female"
    by_hand = plain[female & (y == 1)].mean() - plain[~female & (y == 1)].mean(), plain[female & (y == 0)].mean() - plain[~female & (y == 0)].mean()
    eo = rows["none"]["disparities"]["sex"]["EqOddsD"]
    assert eo["value"] == pytest.approx(max(abs(v) for v in by_hand), abs=1e-12) and eo["size"] + eo["rest_size"] == len(test)
    lo, hi = eo["ci"]
    assert lo <= eo["value"] <= hi
    post = rows["thresholds (equalized_odds)"]["disparities"]["sex"]["EqOddsD"]
    print(
        f"held-out EqOddsD: unmitigated {eo['value']:.4f}, thresholds {post['value']:.4f} [{post['ci'][0]:.4f}, {post['ci'][1]:.4f}]; accuracy "
        f"{rows['none']['accuracy']['value']:.4f} -> {rows['thresholds (equalized_odds)']['accuracy']['value']:.4f}"
    )
    # the issue's targets, on data the thresholds never saw; the interval is simultaneous over the TPR and FPR gaps near parity
    # (it reaches 0, which the percentile bootstrap could not), so its upper end is a little wider than the old one's 0.044
    assert post["value"] < 0.02 and post["ci"][0] == 0.0 and post["ci"][1] < 0.055
    assert rows["none"]["accuracy"]["value"] - rows["thresholds (equalized_odds)"]["accuracy"]["value"] <= 0.02
    assert "sex x race" in rows["none"]["disparities"]
    front = [t for t, r in rows.items() if r["pareto"]]
    assert front and all(
        not (
            rows[a]["accuracy"]["value"] >= rows[b]["accuracy"]["value"]
            and abs(rows[a]["disparities"]["sex"]["EqOddsD"]["value"]) < abs(rows[b]["disparities"]["sex"]["EqOddsD"]["value"])
        )
        for a in rows
        for b in front
        if a != b
    )  # fmt: skip  (nothing dominates a front point)
    html = (out / "report.html").read_text()
    assert 'aria-labelledby="pareto-t pareto-d"' in html
    for title, r in rows.items():
        cell = re.search(rf'data-method="{re.escape(title)}" data-metric="accuracy" data-v="([^"]+)"', html)
        assert cell and float(cell.group(1)) == r["accuracy"]["value"], title
    assert "report.html" in "".join(res.output.split())  # the command says where it wrote the report
    bad = tmp_path / "bad.yaml"
    bad.write_text((tmp_path / "mitigate.yaml").read_text().replace("reweighing,", "reweighting,"))
    res = CliRunner().invoke(app, ["mitigate", str(bad), "--out", str(out)])
    assert res.exit_code != 0 and "unknown mitigation method 'reweighting'. Did you mean 'reweighing'?" in res.output
    assert json.loads((out / "analysis.json").read_text()) == doc  # nothing stored is lost to a bad config


def test_reject_option_rule_equals_aif360s_for_the_same_threshold_and_margin(scored):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.sklearn.postprocessing import RejectOptionClassifier

    from assay.mitigate import fit_reject_option

    s, y, sex = scored["score"].to_numpy(), scored["y"].to_numpy(), scored["sex"].to_numpy()
    roc = fit_reject_option(s, y, sex, constraint="demographic_parity", bound=0.05, max_bins=len(s))
    c, m = roc.operating_point["threshold"], roc.operating_point["margin"]
    probas = pd.DataFrame({"0": 1 - s, "1": s}, index=pd.Index(sex, name="sex"))
    theirs = RejectOptionClassifier(prot_attr="sex", threshold=c, margin=m).fit(probas, pd.Series(y, index=probas.index), priv_group="Male")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_theirs = theirs.predict(probas)
    mine = roc.predict(s, sex)
    # AIF360's critical region is open, ours closed: they may differ only on scores exactly at c - m, c or c + m
    on_edge = np.isclose(s, c - m, rtol=0, atol=1e-12) | np.isclose(s, c, rtol=0, atol=1e-12) | np.isclose(s, c + m, rtol=0, atol=1e-12)
    assert (mine != p_theirs)[~on_edge].sum() == 0 and on_edge.sum() <= 3


def test_audit_of_expected_decisions(scored):
    from assay.mitigate import fit_group_thresholds

    y = scored["y"].to_numpy().astype(bool)
    hard = (scored["score"] > 0.5).astype(int)
    kw = dict(label="y", label_values_or_threshold=[1], facets=["sex"], pre_training_methods=None, bootstrap_replicates=300, seed=3)
    a = assay.audit(scored.assign(pred=hard), predicted_label="pred", **kw).to_frame()
    b = assay.audit(scored.assign(q=hard.astype(float)), decision_probability="q", **kw).to_frame()
    keep = ["metric", "value_or_threshold", "value", "ci_low", "ci_high"]
    a = a[a["metric"] != "FT"]  # FlipTest flips hard predictions; it is not computed for expected decisions
    pd.testing.assert_frame_equal(
        a[keep].dropna(subset=["value"]).reset_index(drop=True), b[keep].dropna(subset=["value"]).reset_index(drop=True), rtol=1e-12
    )  # 0/1 probabilities: the hard audit
    th = fit_group_thresholds(scored["score"], y, scored["sex"], constraint="equalized_odds")
    q = th.positive_probability(scored["score"], scored["sex"])
    r = assay.audit(scored.assign(q=q), decision_probability="q", **kw).to_frame().set_index(["value_or_threshold", "metric"])
    f = (scored["sex"] == "Female").to_numpy()
    qr = np.round(q, 4)  # the audit counts probabilities to 4 decimals
    by_hand = qr[f & y].mean() - qr[~f & y].mean(), qr[f & ~y].mean() - qr[~f & ~y].mean()
    assert r.loc[("Female", "EqOddsD"), "value"] == pytest.approx(max(map(abs, by_hand)), abs=1e-12)
    assert r.loc[("Female", "EqOddsD"), "value"] < 1e-4  # the rule is exact in expectation; rounding leaves < 1e-4
    dppl = qr[~f].mean() - qr[f].mean()
    assert r.loc[("Female", "DPPL"), "value"] == pytest.approx(dppl, abs=1e-12)
    with pytest.raises(DataError, match="must hold probabilities in \\[0, 1\\]"):
        assay.audit(scored.assign(q=q * 2), decision_probability="q", **kw)
