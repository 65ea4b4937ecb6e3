"""Bias bounties in simulation: real improvements are accepted and help; noise, even resubmitted adaptively, is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay._errors import ConfigError, DataError
from assay.bounty import Bounty, group_mask, lower_bound
from assay.datasets import load_adult

GROUP = [{"column": "sex", "value": "Female"}, {"column": "race", "value": "Black"}]


@pytest.fixture(scope="module")
def adult():
    from sklearn.linear_model import LogisticRegression

    train, test = load_adult("train"), load_adult("test")
    cols = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss"]
    base = LogisticRegression(max_iter=2000).fit(np.log1p(train[cols]), train["income"] == ">50K")
    good = lambda d: base.predict(np.log1p(d[cols])).astype(int)  # noqa: E731

    def flawed(d):  # the deployed model: the same, but wrong on a fixed 40% of the group's rows (by a hash of the row)
        out = good(d)
        unlucky = (pd.util.hash_pandas_object(d[cols], index=False).to_numpy() % 10 < 4) & group_mask(d, GROUP)
        return np.where(unlucky, 1 - out, out)

    half = len(test) // 2
    return test.iloc[:half].reset_index(drop=True), test.iloc[half:].reset_index(drop=True), good, flawed


def _errors(predict, frame, inside=None):
    wrong = predict(frame) != (frame["income"] == ">50K").to_numpy()
    return float(wrong[inside].mean() if inside is not None else wrong.mean())


def test_the_empirical_bernstein_bound_is_a_bound():
    rng = np.random.default_rng(0)
    misses = 0
    for _ in range(2000):  # terms in {-1, 0, 1} with mean 0.01: the 0.05-level bound is above 0.01 at most 5% of the time
        terms = rng.choice([-1.0, 0.0, 1.0], size=400, p=[0.1, 0.79, 0.11])
        misses += lower_bound(terms, 0.05) > 0.01
    assert misses / 2000 <= 0.05
    assert lower_bound(np.ones(10_000), 1e-6) > 0.99 and lower_bound(np.zeros(1), 0.05) == -np.inf


def test_a_real_improvement_is_accepted_and_the_updated_model_is_better_on_the_group_and_no_worse_overall(adult):
    holdout, fresh, good, flawed = adult
    bounty = Bounty(holdout, "income", [">50K"], flawed, margin=0.002, budget=10)
    verdict = bounty.verify(GROUP, good)
    assert verdict.accepted and verdict.budget_left == 9
    decision = bounty.decisions[0]
    assert decision.gain >= decision.lower_bound >= 0.002 and decision.group_rows == int(group_mask(holdout, GROUP).sum())
    updated = bounty.model()
    inside = group_mask(fresh, GROUP)
    assert _errors(updated.predict, fresh, inside) < _errors(flawed, fresh, inside) - 0.2  # fresh data: the group is fixed
    assert _errors(updated.predict, fresh) <= _errors(flawed, fresh)
    np.testing.assert_array_equal(updated.predict(fresh[~inside]), flawed(fresh[~inside]))  # outside g: the model as it was
    assert not bounty.verify(GROUP, good).accepted  # the same fix again gains nothing now


def test_noise_fitted_and_adaptive_resubmissions_are_not_accepted(adult):
    holdout, _, good, _ = adult
    cols = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss", "occupation"]
    key = lambda d: pd.util.hash_pandas_object(d[cols], index=False).to_numpy()  # noqa: E731

    def coin(d, seed):  # on a fixed fifth of the rows the decision is a fair coin: a model there can only be lucky
        out = good(d)
        on = key(d) % 5 == 0
        toss = (pd.util.hash_pandas_object(d[cols].assign(_s=seed), index=False).to_numpy() % 2).astype(int)
        return np.where(on, toss, out)

    groups = [[{"column": "sex", "value": s}] for s in ("Female", "Male")] + [[{"column": "race", "value": r}] for r in ("White", "Black")]
    accepted, naive, tried = 0, 0, 0
    for trial in range(30):
        bounty = Bounty(holdout, "income", [">50K"], lambda d, t=trial: coin(d, 10_000 + t), margin=0.0, budget=8)
        for attempt in range(8):  # a new coin each time, resubmitted until accepted or the budget is spent
            verdict = bounty.verify(groups[attempt % len(groups)], lambda d, t=trial, a=attempt: coin(d, 100 * t + a))
            tried += 1
            naive += bounty.decisions[-1].gain > 0  # the reference verifier's rule: a point estimate above the margin
            if verdict.accepted:
                accepted += 1
                break
    assert accepted <= 1  # at most alpha = 5% of 30 bounties, however the attempts adapt to the answers
    assert naive / tried > 0.2  # the point-estimate rule accepts a quarter of these lucky coins (63 of 240)


def test_a_spent_budget_and_bad_submissions_are_refused_with_the_reason(adult):
    holdout, _, good, flawed = adult
    bounty = Bounty(holdout, "income", [">50K"], flawed, budget=1)
    bounty.verify(GROUP, good)
    with pytest.raises(ConfigError, match="budget of 1 verifications is spent"):
        bounty.verify(GROUP, good)
    fresh = Bounty(holdout, "income", [">50K"], flawed)
    with pytest.raises(DataError, match="column 'sexx'"):
        fresh.verify([{"column": "sexx", "value": "Female"}], good)
    with pytest.raises(DataError, match=r"decisions such as \['maybe', 'maybe', 'maybe'\]; a bounty needs 0/1 decisions or the label's values"):
        fresh.verify(GROUP, lambda d: np.full(len(d), "maybe"))
    with pytest.raises(ConfigError, match="budget must be a whole number from 1 to 40"):
        Bounty(holdout, "income", [">50K"], flawed, budget=0)


def test_the_cli_runs_a_bounty_from_create_to_export_and_its_log_verifies(tmp_path):
    import joblib
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from typer.testing import CliRunner

    from assay.cli._main import app

    train, test = load_adult("train"), load_adult("test")
    cols = ["age", "education-num", "hours-per-week", "sex", "race"]
    pipe = lambda: make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["sex", "race"]), remainder="passthrough"),  # noqa: E731
                                 LogisticRegression(max_iter=2000))  # fmt: skip
    wrong = train["income"].where(~group_mask(train, GROUP), train["income"].map({">50K": "<=50K", "<=50K": ">50K"}))
    joblib.dump(pipe().fit(train[cols], wrong), tmp_path / "current.joblib")  # learnt from labels turned over for the group
    joblib.dump(pipe().fit(train[cols], train["income"]), tmp_path / "fix.joblib")
    test.iloc[: len(test) // 2].to_parquet(tmp_path / "holdout.parquet")
    runner, d = CliRunner(), str(tmp_path / "bounty")

    def cli(*args):
        r = runner.invoke(app, ["bounty", *map(str, args)])
        assert r.exit_code == 0, r.output
        return r.output

    cli(
        "create",
        d,
        "--holdout",
        tmp_path / "holdout.parquet",
        "--label",
        "income",
        "--positive",
        ">50K",
        "--model",
        tmp_path / "current.joblib",
        "--budget",
        "4",
    )
    cli("submit", d, "--group", '{"sex": "Female", "race": "Black"}', "--model", tmp_path / "fix.joblib", "--by", "outsider")
    cli("submit", d, "--group", '{"sex": "Male"}', "--model", tmp_path / "current.joblib", "--by", "outsider")  # no gain
    assert "1: pending" in cli("status", d)
    printed = cli("verify", d)
    assert "submission 1: accepted" in printed and "submission 2: rejected" in printed and "2 verifications left" in printed
    status = cli("status", d)
    assert "1: accepted" in status and "2: rejected" in status and "gain" not in status  # the submitter sees no figures
    cli("export", d, "--out", tmp_path / "updated.joblib")
    updated = joblib.load(tmp_path / "updated.joblib")
    fresh = test.iloc[len(test) // 2 :]
    inside = group_mask(fresh, GROUP)
    current = joblib.load(tmp_path / "current.joblib")
    y = (fresh["income"] == ">50K").to_numpy()
    assert (updated.predict(fresh)[inside] != y[inside]).mean() < ((current.predict(fresh[cols]) == ">50K")[inside] != y[inside]).mean()
    r = runner.invoke(app, ["ledger", "verify", str(tmp_path / "bounty" / "log.jsonl")])
    assert r.exit_code == 0 and "intact" in r.output, r.output
    bad = runner.invoke(app, ["bounty", "submit", d, "--group", "{sex: Female}", "--model", str(tmp_path / "fix.joblib"), "--by", "x"])
    assert bad.exit_code == 2 and "--group is not JSON" in bad.output
