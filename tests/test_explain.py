"""Explanations: exactness against closed forms, calibration of standard errors, by-group proxies, errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import assay.explain as ex
from assay._errors import ConfigError, DataError
from assay.datasets import adult_model, load_adult
from assay.explain._shapley import exact_shapley, sampled_shapley

NUMERIC = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss"]


@pytest.fixture(scope="module")
def adult():
    return load_adult("train"), load_adult("test")


def test_exact_enumeration_equals_linear_shap_closed_form(adult):
    from sklearn.linear_model import LogisticRegression

    train, test = adult
    model = LogisticRegression(max_iter=2000).fit(np.log1p(train[NUMERIC]), train["income"] == ">50K")
    x = np.log1p(test[NUMERIC].iloc[:30]).reset_index(drop=True)
    bg = np.log1p(train[NUMERIC].sample(40, random_state=0)).reset_index(drop=True)
    est = exact_shapley(model.decision_function, x, bg, np.ones(len(bg)))
    closed = model.coef_[0] * (x.to_numpy() - bg.to_numpy().mean(axis=0))  # interventional SHAP of a linear model
    np.testing.assert_allclose(est.values, closed, atol=1e-10)
    assert est.expected_value == pytest.approx(model.decision_function(bg).mean(), abs=1e-12)


@pytest.fixture(scope="module")
def small_model(adult):
    from sklearn.ensemble import HistGradientBoostingClassifier

    train, test = adult
    cols = NUMERIC + ["race"]
    enc = {v: i for i, v in enumerate(sorted(train["race"].unique()))}
    prep = lambda d: d[cols].assign(race=d["race"].map(enc).astype(float))  # noqa: E731
    model = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(prep(train), train["income"] == ">50K")
    return model, prep(train), prep(test)


def test_sampling_is_additive_unbiased_and_its_standard_errors_are_calibrated(small_model):
    model, train, test = small_model
    f = model.decision_function
    x = test.iloc[:40].reset_index(drop=True)
    bg = train.sample(50, random_state=1).reset_index(drop=True)
    w = np.ones(len(bg))
    exact = exact_shapley(f, x, bg, w)
    z, errs = [], []
    for seed in range(6):
        est = sampled_shapley(f, x, bg, w, repeats=3, rng=np.random.default_rng(seed))
        np.testing.assert_allclose(est.values.sum(axis=1), est.prediction - est.expected_value, atol=1e-9)
        err = est.values - exact.values
        errs.append(err)
        z.append(np.abs(err)[est.se > 0] / est.se[est.se > 0])
    z = np.concatenate(z)
    assert 0.92 <= np.mean(z <= 2) <= 0.98  # about 95% within 2 SE
    assert 0.62 <= np.mean(z <= 1) <= 0.80  # about 68% within 1 SE (a little more: the small-df widening)
    bias = np.mean(errs, axis=0)  # averaged over seeds: no systematic error
    assert np.abs(bias).mean() < 0.5 * np.abs(errs[0]).mean()
    assert est.model_rows < exact.model_rows


@pytest.fixture(scope="module")
def pipeline_without_sex(adult):
    train, _ = adult
    features = [c for c in train.columns if c not in ("income", "fnlwgt", "sex")]
    model = adult_model(features, max_iter=60)
    return model.fit(train[features], train["income"] == ">50K"), features


def test_explain_a_pipeline_by_group_shows_proxies_of_a_removed_facet(adult, pipeline_without_sex):
    _, test = adult
    model, features = pipeline_without_sex
    r = ex.explain(test, model, use_logit=True, facets=["sex", "race"], max_rows=150, bootstrap_replicates=200, pdp_top_k=2)
    assert r.features == features  # from the pipeline's feature_names_in_; sex is not among them
    assert r.method["output"] == "log_odds" and r.method["name"] == "tree"  # exact TreeSHAP through the encoder
    assert r.method["additivity_max_error"] < 1e-9
    sex = r.by_group["sex"]
    assert sex["facet_is_feature"] is False
    assert sex["proxies"][0]["feature"] == "relationship"  # husband / wife: the strongest proxy of sex in Adult
    race = {v["value"]: v for v in r.by_group["race"]["values"]}
    assert race["White"]["small_group"] is False and race["Black"]["small_group"] is (race["Black"]["rows"] < 30)
    assert race["Other"]["small_group"] is True and any("fewer than 30 explained rows" in w and "race=Other" in w for w in r.warnings)
    female = next(v for v in sex["values"] if v["value"] == "Female")
    carried = female["carried_by_facet_and_proxies"]
    assert 0 < carried["d"] < 1 and carried["ci"][0] <= carried["difference"] <= carried["ci"][1]
    imp = r.global_importance["mean_abs"]
    assert all(imp[f]["ci"][0] <= imp[f]["value"] <= imp[f]["ci"][1] for f in features)
    local = r.local_frame()
    np.testing.assert_allclose(local[features].sum(axis=1) + local["expected_value"], local["prediction"], atol=1e-9)
    assert len(r.pdp) == 2 and len(r.pdp[0]["model_predictions"]) == len(r.pdp[0]["feature_values"])
    doc = json.loads(json.dumps(r.to_dict()))
    assert set(doc["kernel_shap"]["label0"]["global_shap_values"]) == set(features)


def test_explain_errors_name_the_problem(adult, pipeline_without_sex):
    _, test = adult
    model, _ = pipeline_without_sex
    with pytest.raises(DataError, match=r"expects feature column\(s\) 'relationship'"):
        ex.explain(test.drop(columns=["relationship"]), model, max_rows=20)
    with pytest.raises(ConfigError, match="agg_method must be one of mean_abs, median, mean_sq"):
        ex.explain(test, model, agg_method="mean")
    with pytest.raises(DataError, match=r"returned shape \(5, 3\) for 5 rows"):
        ex.explain(test[NUMERIC], lambda d: np.zeros((len(d), 3)), max_rows=20)
    with pytest.raises(DataError, match="could not score the data's feature columns .*ValueError: boom"):
        ex.explain(test[NUMERIC], lambda d: (_ for _ in ()).throw(ValueError("boom")), max_rows=20)
    with pytest.raises(DataError, match="facet 'gender' is not a column"):
        ex.explain(test, model, facets=["gender"], max_rows=20)


def test_load_model_prefers_skops_and_warns_on_pickles(tmp_path, small_model):
    import joblib
    import skops.io as sio

    model, _, test = small_model
    joblib.dump(model, tmp_path / "m.joblib")
    with pytest.warns(UserWarning, match="runs code stored in it"):
        loaded = ex.load_model(str(tmp_path / "m.joblib"))
    np.testing.assert_allclose(loaded.predict_proba(test.iloc[:5]), model.predict_proba(test.iloc[:5]))
    sio.dump(model, tmp_path / "m.skops")
    with pytest.raises(ConfigError, match="types that skops does not trust by default: .*TreePredictor"):
        ex.load_model(str(tmp_path / "m.skops"))
    trusted = sio.get_untrusted_types(file=tmp_path / "m.skops")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pickle warning for skops
        loaded = ex.load_model(str(tmp_path / "m.skops"), trusted=trusted)
    np.testing.assert_allclose(loaded.predict_proba(test.iloc[:5]), model.predict_proba(test.iloc[:5]))
    fn = ex.load_model("numpy:ones_like")
    assert fn is np.ones_like
    with pytest.raises(ConfigError, match="does not exist"):
        ex.load_model(str(tmp_path / "missing.skops"))


def test_cli_explain_adds_to_analysis_json_and_writes_local_values(tmp_path, adult):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from typer.testing import CliRunner

    from assay.cli._main import app

    train, test = adult
    model = LogisticRegression(max_iter=2000).fit(train[NUMERIC], train["income"] == ">50K")
    sio.dump(model, tmp_path / "model.skops")
    test.iloc[:400].to_parquet(tmp_path / "data.parquet", index=False)
    (tmp_path / "explain.yaml").write_text(
        "dataset_uri: data.parquet\nlabel: income\nmodel: model.skops\nfacet: [{name_or_index: sex}]\n"
        "methods:\n  shap: {use_logit: true, agg_method: median, num_clusters: 5}\n  pdp: {top_k_features: 2}\n"
        "explain: {max_rows: 100, bootstrap_replicates: 100}\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "analysis.json").write_text(json.dumps({"version": "1.0", "pre_training_bias_metrics": {"label": "income"}}))
    r = CliRunner().invoke(app, ["explain", str(tmp_path / "explain.yaml"), "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "analysis.json").read_text())
    assert doc["pre_training_bias_metrics"] == {"label": "income"}  # what was there is kept
    e = doc["explanations"]
    assert e["agg_method"] == "median" and e["method"]["rows_explained"] == 100
    assert e["method"]["name"] == "linear" and e["method"]["background_rows"] == 5  # exact, against 5 k-prototypes centres
    assert set(e["kernel_shap"]["label0"]["global_shap_values"]) == set(NUMERIC)
    local = pd.read_csv(out / "explanations_shap" / "out.csv")
    assert len(local) == 100
    np.testing.assert_allclose(local[NUMERIC].sum(axis=1) + local["expected_value"], local["prediction"], atol=1e-9)
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("assay").joinpath("schemas/analysis.schema.json").read_text())
    fresh = tmp_path / "fresh"
    assert CliRunner().invoke(app, ["explain", str(tmp_path / "explain.yaml"), "--out", str(fresh), "-q"]).exit_code == 0
    jsonschema.validate(json.loads((fresh / "analysis.json").read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema does check: a method name it does not know
        broken = json.loads((fresh / "analysis.json").read_text())
        broken["explanations"]["method"]["name"] = "kernel"
        jsonschema.validate(broken, schema)
    bad = CliRunner().invoke(app, ["explain", str(tmp_path / "explain.yaml"), "--out", str(out), "--data", str(tmp_path / "nope.parquet")])
    assert bad.exit_code == 2 and "does not exist" in bad.output


def test_kprototypes_baseline_keeps_categories_and_finds_planted_clusters():
    from assay.explain._baseline import kprototypes

    rng = np.random.default_rng(4)
    sizes = [600, 300, 100]
    parts = [
        pd.DataFrame({"x": rng.normal(mu, 1.0, n), "colour": rng.choice(cols, n, p=[0.9, 0.1]), "flag": flag})
        for n, mu, cols, flag in zip(sizes, (0.0, 10.0, 20.0), (["red", "blue"], ["green", "red"], ["blue", "green"]), (True, False, True))
    ]
    frame = pd.concat(parts, ignore_index=True)
    centres, weights = kprototypes(frame, 3, rng=np.random.default_rng(0))
    order = np.argsort(centres["x"].to_numpy())
    np.testing.assert_allclose(weights[order], np.array(sizes) / 1000, atol=0.01)  # weights are the cluster shares
    assert list(centres["colour"].iloc[order]) == ["red", "green", "blue"]  # modes, real categories, not averaged codes
    assert list(centres["flag"].iloc[order]) == [True, False, True]
    np.testing.assert_allclose(centres["x"].iloc[order], [p["x"].mean() for p in parts], atol=0.2)
    with pytest.raises(ValueError, match="at least 1"):
        kprototypes(frame, 0, rng=np.random.default_rng(0))


def test_explain_with_a_weighted_kprototypes_baseline(pipeline_without_sex, adult):
    model, _ = pipeline_without_sex
    train, test = adult
    r = ex.explain(test, model, use_logit=True, num_clusters=8, max_rows=50, pdp_features=[], bootstrap_replicates=0)
    assert r.method["background_rows"] == 8 and "k-prototypes" in r.method["baseline"]
    assert r.method["name"] == "tree" and r.method["additivity_max_error"] < 1e-9
    centres, weights = r.background, r.background_weights
    assert len(centres) == 8 and weights.sum() == pytest.approx(1.0) and len(set(weights)) > 1
    assert set(centres["relationship"]) <= set(train["relationship"])  # categories stay categories that exist
    assert r.expected_value == pytest.approx(float(model.decision_function(centres) @ weights), abs=1e-9)  # the weighted game
    with pytest.raises(ConfigError, match="num_clusters must be a whole number"):
        ex.explain(test, model, num_clusters="eight")


def test_rows_split_over_processes_give_the_same_values(small_model):
    model, train, test = small_model
    f = model.decision_function  # a plain function: sampling
    seen = []
    runs = [ex.explain(test, f, features=list(train.columns), n_jobs=jobs, max_rows=200, background_size=100, pdp_features=[],
                       bootstrap_replicates=0, on_rows=lambda done, total: seen.append((done, total)))
            for jobs in (1, 2)]  # fmt: skip
    assert runs[0].method["name"] == "sampling" and runs[1].method["n_jobs"] == 2
    np.testing.assert_array_equal(runs[0].local.to_numpy(), runs[1].local.to_numpy())  # seeded per block of rows
    np.testing.assert_array_equal(runs[0].se.to_numpy(), runs[1].se.to_numpy())
    assert seen[-1] == (200, 200) and len(seen) > 2  # progress after each block


def test_use_logit_on_a_plain_function_explains_its_log_odds(adult):
    """Clarify's black box: the endpoint returns probabilities; ``use_logit`` explains their log-odds and says so."""
    train, test = adult
    w = np.array([0.04, 0.3, 0.02])
    cols = ["age", "education-num", "hours-per-week"]

    def endpoint(frame):
        z = frame[cols].to_numpy(dtype=float) @ w - 5.0
        return 1 / (1 + np.exp(-z))

    x = test[cols].iloc[:20]
    r = ex.explain(x, endpoint, features=cols, baseline=train[cols].iloc[:30], algorithm="exact", bootstrap_replicates=50, max_rows=None,
                   use_logit=True)  # fmt: skip
    assert r.method["output"] == "log_odds" and "log-odds" in r.method["model"]
    closed = w * (x.to_numpy(dtype=float) - train[cols].iloc[:30].to_numpy(dtype=float).mean(axis=0))
    np.testing.assert_allclose(r.local.to_numpy(), closed, atol=1e-9)  # linear in the log-odds: exact
    plain = ex.explain(x, endpoint, features=cols, baseline=train[cols].iloc[:30], algorithm="exact", bootstrap_replicates=50, max_rows=None,
                       use_logit=False)  # fmt: skip
    assert plain.method["output"] == "raw" and not np.allclose(plain.local.to_numpy(), closed, atol=1e-3)

    def scores(frame):
        return frame["age"].to_numpy(dtype=float)  # not probabilities

    with pytest.raises(DataError, match=r"use_logit: the callable .*scores returned .*not a probability strictly between 0 and 1"):
        ex.explain(x, scores, features=cols, baseline=train[cols].iloc[:30], use_logit=True, algorithm="exact", bootstrap_replicates=50)


def test_clarifys_positional_baseline_rows_name_the_data_columns(tmp_path, adult):
    """Clarify's methods.shap.baseline is rows of feature values in the data's column order (less label and excluded columns)."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from assay._config import explain_config

    train, test = adult
    model = LogisticRegression(max_iter=2000).fit(train[NUMERIC], train["income"] == ">50K")
    sio.dump(model, tmp_path / "model.skops")
    test[["income", *NUMERIC]].iloc[:60].to_parquet(tmp_path / "data.parquet", index=False)
    bg = train[NUMERIC].iloc[:7]
    base = {"dataset_uri": str(tmp_path / "data.parquet"), "label": "income", "model": str(tmp_path / "model.skops"),
            "explain": {"max_rows": None, "bootstrap_replicates": 20}}  # fmt: skip
    positional, _ = explain_config({**base, "methods": {"shap": {"baseline": bg.to_numpy().tolist(), "use_logit": True}}})
    records, _ = explain_config({**base, "methods": {"shap": {"baseline": bg.to_dict("records"), "use_logit": True}}})
    assert positional.method["background_rows"] == 7
    np.testing.assert_allclose(positional.local.to_numpy(), records.local.to_numpy(), atol=1e-12)
    closed = model.coef_[0] * (test[NUMERIC].iloc[:60].to_numpy() - bg.to_numpy().mean(axis=0))
    np.testing.assert_allclose(positional.local[NUMERIC].to_numpy(), closed, atol=1e-9)
    with pytest.raises(ConfigError, match=r"baseline row 0 has 4 values but the data has 5 feature columns \(age, education-num"):
        explain_config({**base, "methods": {"shap": {"baseline": [r[:4] for r in bg.to_numpy().tolist()]}}})


def test_explain_settings_are_never_coerced(tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from assay._config import explain_config

    sio.dump(LogisticRegression().fit([[1.0], [2.0]], [0, 1]), tmp_path / "m.skops")
    cfg = {"dataset_uri": "x.parquet", "label": "y", "model": str(tmp_path / "m.skops")}
    for extra, why in (({"methods": {"shap": {"use_logit": "false"}}}, "methods.shap.use_logit must be true or false, got 'false'"),
                       ({"explain": {"repeats": 2.5}}, "explain.repeats must be a whole number, got 2.5"),
                       ({"methods": {"pdp": {"grid_resolution": "15"}}}, "methods.pdp.grid_resolution must be a whole number"),
                       ({"methods": {"shap": {"seed": "5"}}}, "methods.shap.seed must be a whole number, got '5'"),
                       ({"min_group_size": "30"}, "min_group_size must be a whole number, got '30'")):  # fmt: skip
        with pytest.raises(ConfigError, match=why.replace(".", r"\.").replace("(", r"\(")):
            explain_config({**cfg, **extra}, data=pd.DataFrame({"y": [0, 1], "a": [1.0, 2.0]}))
