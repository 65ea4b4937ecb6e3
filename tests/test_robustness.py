"""assay.robustness: the counterfactual flip test against brute-force enumeration, the FlipTest by optimal transport against
planted flips (and the nearest-neighbour FlipTest, which misses them), stability under perturbations against its closed form."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from assay._errors import AssayError
from assay.datasets import load_adult
from assay.robustness import check_robustness, decision_function, flippable, fliptest_ot, parse_changes, perturbation_stability
from assay.robustness._changes import read_model

FEATURES = ["age", "hours-per-week", "education-num", "sex", "marital-status"]
NUMERIC = ["age", "hours-per-week", "education-num"]


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult("train").sample(4000, random_state=1).reset_index(drop=True)


def _pipeline(est):
    pre = ColumnTransformer([("n", StandardScaler(), NUMERIC), ("c", OneHotEncoder(handle_unknown="ignore"), ["sex", "marital-status"])])
    return make_pipeline(pre, est)


def _fit(model, frame):
    return model.fit(frame[FEATURES], (frame["income"] == ">50K").astype(int))


def _brute_force(rows, decide, changes):
    """Every allowed value of every change (integers in each range, every category), scored by the model itself."""
    own = decide(rows)
    out = np.zeros(len(rows), dtype=bool)
    for i in range(len(rows)):
        axes = []
        for c in changes:
            if c.values is not None:
                axes.append(list(c.values))
            else:
                lo, hi = c.box(np.array([float(rows[c.column].iloc[i])]))
                axes.append(list(np.arange(lo[0], hi[0] + 1)))
        combos = list(itertools.product(*axes))
        hybrid = rows.iloc[[i] * len(combos)].reset_index(drop=True)
        for j, c in enumerate(changes):
            col = [v[j] for v in combos]
            hybrid[c.column] = np.asarray(col, dtype=np.int64) if c.values is None else col
        out[i] = (decide(hybrid) != own[i]).any()
    return own, out


MODELS = {
    "decision tree": lambda: DecisionTreeClassifier(max_depth=6, random_state=0),
    "random forest": lambda: RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0),
    "gradient boosting": lambda: GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
    "logistic regression": lambda: LogisticRegression(max_iter=1000),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_the_exact_flip_test_equals_brute_force_enumeration_on_every_row(adult, name):
    model = _fit(_pipeline(MODELS[name]()), adult)
    rows = adult[FEATURES].iloc[:150].reset_index(drop=True)
    changes = parse_changes(rows, "sex", [{"column": "age", "within": 4}, {"column": "hours-per-week", "within": 3}, "marital-status"])
    decide, score = decision_function(model)
    reading = read_model(model, rows, changes, score(rows))
    assert reading.kind == ("linear" if name == "logistic regression" else "tree"), reading.reason
    own, found, capped = flippable(rows, decide, changes, reading)
    own_b, truth = _brute_force(rows, decide, changes)
    assert capped == 0
    np.testing.assert_array_equal(own, own_b)
    np.testing.assert_array_equal(found, truth)
    assert 0 < truth.sum() < len(rows)  # the test has both kinds of rows to tell apart


def test_a_continuous_range_finds_every_flip_a_dense_grid_finds(adult):
    frame = adult.copy()
    frame["hours"] = frame["hours-per-week"] + np.random.default_rng(0).uniform(-0.5, 0.5, len(frame))
    feats = ["age", "hours", "education-num"]
    model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0))
    model.fit(frame[feats], (frame["income"] == ">50K").astype(int))
    rows = frame[feats].iloc[:200].reset_index(drop=True)
    changes = parse_changes(rows.assign(s=frame["sex"].iloc[:200].to_numpy()), "s", [{"column": "hours", "within": 2.5}])[1:]
    decide, score = decision_function(model)
    reading = read_model(model, rows, changes, score(rows))
    assert reading.kind == "tree"
    own, found, _ = flippable(rows, decide, changes, reading)
    grid = np.linspace(-2.5, 2.5, 2001)
    dense = np.zeros(len(rows), dtype=bool)
    for i in range(len(rows)):
        hybrid = rows.iloc[[i] * len(grid)].reset_index(drop=True)
        hybrid["hours"] = np.clip(rows["hours"].iloc[i] + grid, changes[0].low, changes[0].high)
        dense[i] = (decide(hybrid) != own[i]).any()
    assert (dense <= found).all()  # exact finds all the grid finds (and every row it reports was scored flipping)
    assert dense.sum() > 10


def test_an_unreadable_model_is_sampled_and_never_reports_a_flip_that_is_not_there(adult):
    fitted = _fit(_pipeline(GradientBoostingClassifier(n_estimators=20, random_state=0)), adult)

    def black_box(frame):  # a plain function: its structure cannot be read
        return fitted.predict_proba(frame)[:, 1]

    rows = adult[FEATURES].iloc[:80].reset_index(drop=True)
    changes = parse_changes(rows, "sex", [{"column": "age", "within": 4}])
    decide, score = decision_function(black_box)
    reading = read_model(black_box, rows, changes, score(rows))
    assert reading.kind == "sampled" and "plain function" in reading.reason
    _, found, _ = flippable(rows, decide, changes, reading, draws=5)
    _, truth = _brute_force(rows, decide, changes)
    assert (found <= truth).all()


def test_check_robustness_reports_by_group_with_intervals(adult):
    model = _fit(_pipeline(GradientBoostingClassifier(n_estimators=20, random_state=0)), adult)
    r = check_robustness(adult, model, sensitive="sex", features=FEATURES, proxies=[{"column": "age", "within": 3}], max_rows=600, replicates=4)
    assert r["flips"]["exact"] and r["rows"] == 600
    alone, proxies = r["flips"]["sets"]
    assert [g["group"] for g in alone["by_group"]] == ["Female", "Male"]
    for s in (alone, proxies):
        for g in s["by_group"]:
            f = g["flip_rate"]
            assert f["ci"][0] <= f["value"] <= f["ci"][1] and f["rows"] == g["rows"]
            assert g["helped"]["rows"] + g["hurt"]["rows"] == g["rows"]
    # with the proxy, every row the attribute alone flips still flips: the sets are nested
    for a, b in zip(alone["by_group"], proxies["by_group"]):
        assert b["flip_rate"]["flipped"] >= a["flip_rate"]["flipped"]
    assert {"Female", "Male"} == {g["group"] for g in r["stability"]["by_group"]["sex"]}


def test_a_model_that_does_not_read_the_attribute_is_said_so(adult):
    feats = ["age", "hours-per-week", "education-num"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(adult[feats], adult["income"] == ">50K")
    r = check_robustness(adult, model, sensitive="sex", features=feats, max_rows=300, replicates=2, fliptest=False)
    assert r["flips"]["sets"] == [] and "reads none of 'sex'" in r["flips"]["reason"]
    r = check_robustness(adult, model, sensitive="sex", features=feats, proxies=[{"column": "age", "within": 5}], max_rows=300, replicates=2,
                         fliptest=False)  # fmt: skip
    (only,) = r["flips"]["sets"]
    assert only["changes"].startswith("proxies alone")


@pytest.mark.parametrize(
    ("proxies", "message"),
    [
        ([{"column": "age"}], "give within"),
        ([{"column": "sex", "within": 2}], "already a change"),
        ([{"column": "marital-status", "within": 2}], "applies to a numeric column"),
        ([{"column": "age", "within": -1}], "positive number"),
        ([{"column": "zip", "within": 1}], "no column 'zip'"),
        ([{"column": "marital-status", "values": ["Wed"]}], "'Wed' is not a value of column 'marital-status'"),
        ([{"column": "age", "range": 3}], "unknown keys ['range']"),
    ],
)
def test_bad_changes_are_refused_naming_the_column(adult, proxies, message):
    with pytest.raises(AssayError, match=None) as e:
        parse_changes(adult, "sex", proxies)
    assert message in str(e.value)


def _shifted_groups(n=1500, seed=0):
    """Two groups whose features are the same people's shifted by +2 SD in group a (another scale, say); the model decides on
    the latent score, except that it rejects members of d with a latent score in (0, 0.6): the planted flips."""
    rng = np.random.default_rng(seed)
    u_d, u_a = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    x = np.vstack([u_d, u_a + 2.0])
    group = np.array(["d"] * n + ["a"] * n)
    latent = np.vstack([u_d, u_a]).sum(axis=1) / np.sqrt(2)
    decision = latent > 0
    planted = (group == "d") & (latent > 0) & (latent < 0.6)
    decision[planted] = False
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "g": group}), decision, planted


def test_the_optimal_transport_fliptest_recovers_planted_flips_the_nearest_neighbour_one_misses():
    frame, decision, planted = _shifted_groups()
    (row,) = [r for r in fliptest_ot(frame, decision, facet="g", features=["x1", "x2"], max_rows=1500) if r["group"] == "d"]
    n_planted = planted.sum()
    ot, nn = row["optimal_transport"], row["nearest_neighbours"]
    # F+ by transport holds nearly all planted rows and little else (a d row's counterpart is its quantile in a)
    assert ot["F+"]["rows"] >= 0.8 * n_planted
    assert ot["F+"]["rows"] <= 1.25 * n_planted
    assert ot["F-"]["share"] < 0.05
    # the nearest neighbour in a of a d row is someone with a latent score 2 SD lower: it misses the planted rows and reports
    # rows of d with a positive decision as flips against d's favour
    assert nn["F+"]["rows"] < 0.2 * n_planted
    assert nn["F-"]["share"] > 0.2
    assert ot["FT"]["ci"][0] > 0 > nn["FT"]["value"]
    assert ot["profile"][0]["kind"] == "number" and ot["profile"][0]["mean_difference_sd"] > 0.5


def test_the_transport_plan_is_the_optimal_assignment_for_equal_groups():
    from scipy.optimize import linear_sum_assignment

    from assay.robustness import transport_counterparts

    rng = np.random.default_rng(3)
    x_d, x_a = rng.normal(size=(60, 3)), rng.normal(size=(60, 3)) + 1
    plan = transport_counterparts(x_d, x_a)
    cost = ((x_d[:, None, :] - x_a[None, :, :]) ** 2).sum(axis=2)
    r, c = linear_sum_assignment(cost)
    np.testing.assert_allclose((plan * cost).sum() / len(x_d), cost[r, c].mean(), rtol=1e-9)
    np.testing.assert_allclose(plan.sum(axis=1), 1.0)


def test_stability_equals_its_closed_form_and_shows_the_more_fragile_group():
    rng = np.random.default_rng(5)
    n = 3000
    group = np.where(rng.random(n) < 0.5, "near", "far")
    x = np.where(group == "near", rng.normal(0, 0.3, n), rng.normal(0, 2.0, n))
    frame = pd.DataFrame({"x": x, "g": group})
    sd = x.std()

    def decide(t):
        return np.asarray(t["x"]) > 0

    r = perturbation_stability(frame, decide, features=["x"], facets=["g"], noise=0.2, swap_rate=0.0, replicates=40, seed=1)
    by = {g["group"]: g for g in r["by_group"]["g"]}
    for name, g in by.items():
        m = group == name
        lo_x, hi_x = x[m].min(), x[m].max()
        expected = norm.cdf(-np.abs(x[m]) / (0.2 * sd)).mean()  # clipping at the column's range hardly matters here
        assert g["ci"][0] <= expected <= g["ci"][1], (name, expected, g)
        assert lo_x < 0 < hi_x
    assert by["near"]["difference"]["ci"][0] > 0  # the group nearer the threshold is the more fragile, and it is shown
    still = perturbation_stability(frame, decide, features=["x"], facets=["g"], noise=0.0, swap_rate=0.0, replicates=3)
    assert still["overall"]["flip_rate"] == 0 and still["overall"]["ci"][0] == 0 and still["overall"]["ci"][1] > 0


def test_category_swaps_change_the_value_at_the_declared_rate():
    frame = pd.DataFrame({"c": ["a", "b", "c", "d"] * 500})
    seen = []

    def decide(t):
        seen.append(t["c"].to_numpy())
        return np.zeros(len(t), dtype=bool)

    perturbation_stability(frame, decide, features=["c"], facets=[], swap_rate=0.25, replicates=10, seed=0)
    swapped = np.concatenate(seen[1:]) != np.tile(frame["c"].to_numpy(), 10)
    assert abs(swapped.mean() - 0.25) < 0.02


def test_a_scaled_forest_is_read_exactly_by_the_tree_path(adult):
    """scikit-learn's trees compare their input cast to float32: assay's reader does the same, so a forest behind a scaler
    is explained exactly (it was once refused as 'does not reproduce the model's scores')."""
    from assay.explain import explain

    model = _fit(_pipeline(RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0)), adult)
    result = explain(adult[FEATURES].iloc[:300], model, max_rows=100, seed=0)
    assert result.method["name"] == "tree", result.method


def test_assay_robustness_and_privacy_membership_from_the_command_line(tmp_path, adult):
    """Both commands on one saved model: the sections the schema takes, the report's and the card's sections, and the figures
    equal to the library's on the same rows."""
    import json
    from importlib import resources

    import jsonschema
    import skops.io as sio
    from typer.testing import CliRunner

    from assay.cards._content import build_content, to_html, to_markdown
    from assay.cli._main import app

    train, test = adult.iloc[:2500], adult.iloc[2500:]
    model = _fit(_pipeline(GradientBoostingClassifier(n_estimators=20, random_state=0)), train)
    sio.dump(model, tmp_path / "m.skops")
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    trusted = sio.get_untrusted_types(file=tmp_path / "m.skops")
    config = {"dataset_uri": "test.csv", "test_dataset_uri": "test.csv", "label": "income", "label_values_or_threshold": [">50K"],
              "facet": [{"name_or_index": "sex"}], "model": "m.skops", "model_trusted_types": trusted, "features": FEATURES,
              "robustness": {"proxies": [{"column": "age", "within": 2}], "max_rows": 400, "replicates": 3, "fliptest_rows": 300},
              "privacy": {"scan": False, "quasi_identifiers": ["age", "sex"], "membership": {"members": "train.csv", "replicates": 50}}}  # fmt: skip
    (tmp_path / "c.json").write_text(json.dumps(config))
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["robustness", str(tmp_path / "c.json"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "exact: one value per interval between the trees' thresholds" in said and "FlipTest of sex" in said
    r = CliRunner().invoke(app, ["privacy", str(tmp_path / "c.json"), "--out", str(out), "--report"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "membership inference" in said and "data minimisation" in said
    doc = json.loads((out / "analysis.json").read_text())
    jsonschema.validate(doc, json.loads(resources.files("assay").joinpath("schemas/analysis.schema.json").read_text()))
    direct = check_robustness(test.reset_index(drop=True), model, sensitive="sex", features=FEATURES, proxies=[{"column": "age", "within": 2}],
                              facets=["sex"], max_rows=400, replicates=3, fliptest_rows=300)  # fmt: skip
    assert doc["robustness"]["flips"] == json.loads(json.dumps(direct["flips"]))
    assert doc["robustness"]["stability"] == json.loads(json.dumps(direct["stability"]))
    mia = doc["privacy"]["membership"]
    assert mia["overall"]["members"] == 2500 and mia["overall"]["non_members"] == len(test)
    assert [g["group"] for g in mia["by_group"]["sex"]] == ["Female", "Male"]
    assert {r["column"] for r in doc["privacy"]["minimisation"]} == {"age", "sex"}
    page = (out / "report.html").read_text()
    female = doc["robustness"]["flips"]["sets"][0]["by_group"][0]["flip_rate"]["value"]
    assert f'data-flip="sensitive attribute alone|Female|flip_rate" data-v="{json.dumps(female)}"' in page
    assert 'data-mia="sex=Female"' in page and "FlipTest: optimal transport beside nearest neighbours" in page
    card = build_content(doc, {"name": "adult-gbm"})
    md, html = to_markdown(card), to_html(card)
    assert "## Privacy" in md and "## Robustness" in md and "Membership inference" in md
    assert 'data-flip="sensitive attribute alone|Female">' in html and 'id="robustness"' in html
    bad = dict(config, robustness={"proxies": [{"column": "age"}]})
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    r = CliRunner().invoke(app, ["robustness", str(tmp_path / "bad.json"), "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "proxies[0]: 'age' is numeric" in " ".join(r.output.split()) and "Traceback" not in r.output
    bad = dict(config, privacy={"membership": {"members": "train.csv"}}, test_dataset_uri=None)
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    r = CliRunner().invoke(app, ["privacy", str(tmp_path / "bad.json"), "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "needs rows the model never saw" in " ".join(r.output.split())
