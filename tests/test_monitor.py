"""Monitoring: profiles merge exactly, injected shifts are found without false alarms, Model Monitor's files work."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from assay._errors import ConfigError, DataError
from assay.cli._main import app
from assay.datasets import load_adult
from assay.monitor import Profile, profile
from assay.monitor._baseline import baseline_from_documents, load_baseline, statistics, suggest_constraints, write_baseline
from assay.monitor._check import check

FEATURES = [
    "age",
    "workclass",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
]  # fmt: skip  (Adult's 13 features)


@pytest.fixture(scope="module")
def adult():
    return load_adult("train")


def test_profiles_of_ten_partitions_merge_into_the_profile_of_the_whole(adult, tmp_path):
    whole = profile(adult)
    merged = None
    for idx in np.array_split(np.random.default_rng(0).permutation(len(adult)), 10):
        part = profile(adult.iloc[idx])
        merged = part if merged is None else merged.merge(part)
    assert merged.rows == whole.rows == len(adult)
    for name, a in whole.columns.items():
        b = merged.columns[name]
        assert (a.rows, a.missing, a.integral, a.fractional, a.string, a.n) == (b.rows, b.missing, b.integral, b.fractional, b.string, b.n)
        assert a.values == b.values, name  # exact value counts (every column but fnlwgt)
        assert (a.hll is None) == (b.hll is None) == (a.values is not None), name  # a HyperLogLog only beyond the exact counts
        assert a.mean == pytest.approx(b.mean, rel=1e-12) and a.m2 == pytest.approx(b.m2, rel=1e-9) and (a.minimum, a.maximum) == (b.minimum, b.maximum)
        if a.kll is not None:  # the KLL sketch merges within its rank error
            assert a.kll.n == b.kll.n
            grid = np.linspace(0.01, 0.99, 99)
            sorted_x = np.sort(adult[name].to_numpy(dtype=float))
            q = np.asarray(b.kll.get_quantiles(list(grid)))
            lo, hi = np.searchsorted(sorted_x, q, side="left") / len(sorted_x), np.searchsorted(sorted_x, q, side="right") / len(sorted_x)
            eps = b.kll.normalized_rank_error(False)  # each returned quantile's true rank range holds the asked rank, within the error
            assert ((lo - eps <= grid) & (grid <= hi + eps)).all(), name
    truth = adult["fnlwgt"].nunique()
    for fn in (whole.columns["fnlwgt"], merged.columns["fnlwgt"]):  # HLL: 1.6% standard error, whole or merged from ten parts
        assert fn.values is None and abs(fn.distinct - truth) / truth < 0.05
        assert fn.hll.get_lower_bound(3) <= truth <= fn.hll.get_upper_bound(3)
    assert {k: c.distinct for k, c in whole.columns.items() if c.values is not None} == {
        k: adult[k].nunique() for k in adult if whole.columns[k].values is not None
    }
    back = Profile.from_dict(json.loads(json.dumps(whole.to_dict())))  # JSON round trip
    assert back.columns["age"].values == whole.columns["age"].values and back.columns["fnlwgt"].kll.n == whole.columns["fnlwgt"].kll.n
    assert back.columns["fnlwgt"].distinct == whole.columns["fnlwgt"].distinct
    adult.to_parquet(tmp_path / "a.parquet", row_group_size=5000)
    streamed = profile(tmp_path / "a.parquet", batch_rows=7000)  # five batches, merged
    assert streamed.columns["education"].values == whole.columns["education"].values and streamed.rows == whole.rows


def test_injected_shifts_are_found_and_unshifted_columns_are_not(adult):
    pool = adult[FEATURES]
    null_seeds, false_alarms, found = 0, 0, {"age": 0, "hours-per-week": 0}
    for seed in range(20):
        rng = np.random.default_rng(seed)
        base = pool.iloc[rng.integers(0, len(pool), len(pool))].reset_index(drop=True)
        cur = pool.iloc[rng.integers(0, len(pool), len(pool))].reset_index(drop=True)
        bp = profile(base)
        cons = suggest_constraints(bp)
        null = check(profile(cur), bp, cons)
        null_seeds += any(v["constraint_check_type"] == "baseline_drift_check" for v in null["violations"])
        shifted = cur.copy()
        older = rng.random(len(shifted)) < 0.3
        shifted.loc[older, "age"] += 5  # age + 5 years on 30% of rows
        women = shifted["sex"] == "Female"
        shifted.loc[women, "hours-per-week"] = (shifted.loc[women, "hours-per-week"] * 1.2).round().astype("int64")  # x1.2 for women
        flagged = {v["feature_name"] for v in check(profile(shifted), bp, cons)["violations"] if v["constraint_check_type"] == "baseline_drift_check"}
        for k in found:
            found[k] += k in flagged
        false_alarms += len(flagged - set(found))
    print(f"20 seeds x 13 columns: {null_seeds} seeds with a false alarm on unshifted data, {false_alarms} false alarms beside the shifts; found {found}")
    # The bounds follow from the check's rule, not from these seeds. Unshifted data: Benjamini-Hochberg at alpha = 0.05 over the
    # columns keeps P(any drift) <= 0.05 under the complete null, so the seeds with one are at most Binomial(20, 0.05):
    # P(>= 7) < 1e-4. Beside the shifts, BH keeps the expected share of false discoveries <= 0.05 of those flagged (2 a seed),
    # about 0.1 a seed and 2 in 20 expected; a sum of 20 small independent counts is near Poisson(2): P(> 10) is about 1e-5.
    assert null_seeds <= 6 and false_alarms <= 10
    # Power: age + 5 on 30% of rows moves the age CDF by 0.045 (hours x 1.2 for women: 0.185) against a threshold of 0.02; the
    # sampling error of a KS distance at 15,060 rows a side is about 0.006, so a miss is a 4-sigma event in any seed.
    assert found == {"age": 20, "hours-per-week": 20}


def test_drift_reports_effect_and_significance_and_respects_sample_size(adult):
    base = profile(adult[["age", "sex"]])
    cons = suggest_constraints(base)
    small = adult[["age", "sex"]].sample(60, random_state=1)
    d = check(profile(small), base, cons)["features"]["age"]["drift"]
    assert d["ks_distance"] > 0.05 and d["p_value"] > 0.05 and not d["drifted"]  # a big-looking gap on 60 rows is noise here
    big = adult[["age", "sex"]].assign(age=adult["age"] + 1)  # one year older: small effect, huge sample
    d = check(profile(big), base, cons)["features"]["age"]["drift"]
    assert d["p_value"] < 1e-10 and d["drifted"] and d["wasserstein_in_std"] == pytest.approx(1 / adult["age"].std(), rel=0.02)
    cons["monitoring_config"]["distribution_constraints"]["comparison_threshold"] = 0.5  # the user's effect threshold is honoured
    assert not check(profile(big), base, cons)["features"]["age"]["drift"]["drifted"]
    # by hand: the KS distance of exact value counts is the largest CDF gap
    a, b = adult["age"].to_numpy(), big["age"].to_numpy()
    xs = np.union1d(a, b)
    by_hand = np.abs(np.searchsorted(np.sort(a), xs, side="right") / len(a) - np.searchsorted(np.sort(b), xs, side="right") / len(b)).max()
    assert d["ks_distance"] == pytest.approx(by_hand, abs=1e-12)


def test_model_monitor_constraints_file_is_accepted(adult, tmp_path):
    write_baseline(profile(adult), tmp_path)
    # a constraints.json as Model Monitor's suggest_baseline writes it (its field names, LInfinity, threshold 0.1)
    mm = {"version": 0.0,
          "features": [{"name": "age", "inferred_type": "Integral", "completeness": 1.0, "num_constraints": {"is_non_negative": True}},
                       {"name": "sex", "inferred_type": "String", "completeness": 1.0, "string_constraints": {"domains": ["Female", "Male"]}},
                       {"name": "hours-per-week", "inferred_type": "Integral", "completeness": 1.0, "num_constraints": {"is_non_negative": True}}],
          "monitoring_config": {"evaluate_constraints": "Enabled", "emit_metrics": "Enabled", "datatype_check_threshold": 1.0,
                                "domain_content_threshold": 1.0,
                                "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
                                                             "comparison_method": "Robust", "categorical_comparison_threshold": 0.1,
                                                             "categorical_drift_method": "LInfinity"}}}  # fmt: skip
    (tmp_path / "constraints.json").write_text(json.dumps(mm))
    base, cons = load_baseline(tmp_path)
    bad = adult.assign(age=-adult["age"], scanner_id=1).head(500)
    kinds = {(v["feature_name"], v["constraint_check_type"]) for v in check(profile(bad), base, cons)["violations"]}
    assert ("age", "non_negative_check") in kinds and ("age", "baseline_drift_check") in kinds
    assert ("scanner_id", "extra_column_check") in kinds and not any(k[0] == "workclass" for k in kinds)  # in the baseline, not constrained
    # Model Monitor's statistics.json (no assay_profile): its buckets stand in for the distributions
    stats = statistics(base)
    del stats["assay_profile"]
    (tmp_path / "statistics.json").write_text(json.dumps(stats))
    base2, _ = load_baseline(tmp_path)
    d = check(profile(adult.assign(age=adult["age"] + 10)), base2, cons)["features"]["age"]["drift"]
    assert d["drifted"] and d["sketch_error"] > 0
    (tmp_path / "constraints.json").write_text(json.dumps({**mm, "monitoring_config": {"distribution_constraints": {"categorical_drift_method": "Hellinger"}}}))
    with pytest.raises(ConfigError, match="categorical_drift_method must be LInfinity or ChiSquared"):
        load_baseline(tmp_path)


def test_cli_baseline_and_check_name_each_violation(adult, tmp_path):
    adult.to_parquet(tmp_path / "train.parquet")
    cur = load_adult("test")
    bad = cur.assign(age=cur["age"] + 5).drop(columns="race").assign(extra=1)
    bad["workclass"] = bad["workclass"].where(bad.index % 5 != 0, "Robot")  # 20% outside the domain
    bad["hours-per-week"] = bad["hours-per-week"].astype(float).where(bad.index % 4 != 0, 40.5)  # 25% not whole numbers
    bad["education"] = bad["education"].where(bad.index % 10 != 0, None)
    bad.to_parquet(tmp_path / "bad.parquet")
    runner = CliRunner()
    r = runner.invoke(app, ["monitor", "baseline", str(tmp_path / "train.parquet"), "--out", str(tmp_path / "base")])
    assert r.exit_code == 0, r.output
    stats = json.loads((tmp_path / "base" / "statistics.json").read_text())
    age = next(f for f in stats["features"] if f["name"] == "age")
    assert age["inferred_type"] == "Integral" and age["numerical_statistics"]["common"]["num_present"] == len(adult)
    assert (
        age["numerical_statistics"]["mean"] == pytest.approx(adult["age"].mean()) and len(age["numerical_statistics"]["distribution"]["kll"]["buckets"]) == 10
    )
    r = runner.invoke(
        app, ["monitor", "check", str(tmp_path / "bad.parquet"), "--baseline", str(tmp_path / "base"), "--out", str(tmp_path / "chk"), "--fail-on-violation"]
    )
    assert r.exit_code == 1, r.output
    v = json.loads((tmp_path / "chk" / "constraint_violations.json").read_text())["violations"]
    kinds = {(x["feature_name"], x["constraint_check_type"]) for x in v}
    assert kinds >= {("race", "missing_column_check"), ("extra", "extra_column_check"), ("workclass", "categorical_values_check"),
                     ("hours-per-week", "data_type_check"), ("education", "completeness_check"), ("age", "baseline_drift_check")}  # fmt: skip
    assert all(x["feature_name"] not in ("sex", "occupation", "capital-gain") for x in v)
    r = runner.invoke(app, ["monitor", "check", str(tmp_path / "bad.parquet"), "--baseline", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "statistics.json does not exist" in r.output
    r = runner.invoke(app, ["monitor", "baseline", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "y")])
    assert r.exit_code == 2 and "no file matches" in r.output
    r = runner.invoke(app, ["monitor", "baseline", str(tmp_path / "train.parquet"), "--out", str(tmp_path / "z"), "-c", "agee"])
    assert r.exit_code == 2 and "has no column(s) 'agee'. Did you mean 'age'?" in r.output and not (tmp_path / "z").exists()


def test_model_quality_matches_scikit_learn_and_intervals_cover():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    from assay.monitor._quality import model_quality

    rng = np.random.default_rng(0)
    y = rng.random(20000) < 0.3
    s = np.clip(0.3 + 0.3 * (y - 0.3) + rng.normal(0, 0.2, len(y)), 0, 1)
    q = model_quality(y, s > 0.5, score=s, replicates=500)["metrics"]
    for name, ref in (("accuracy", accuracy_score), ("precision", precision_score), ("recall", recall_score), ("f1", f1_score)):
        assert q[name]["value"] == pytest.approx(ref(y, s > 0.5), abs=1e-12), name
        assert q[name]["ci"][0] < q[name]["value"] < q[name]["ci"][1]
    assert q["auc"]["value"] == pytest.approx(roc_auc_score(y, s), abs=2e-4)  # 2,000 bins of the score
    # coverage: the 95% interval of accuracy holds the true accuracy of the process (0.5) in about 95% of samples
    hits = 0
    for seed in range(200):
        r = np.random.default_rng(seed)
        yy = r.random(400) < 0.3
        pp = np.where(r.random(400) < 0.5, yy, ~yy)  # right half the time
        ci = model_quality(yy, pp, replicates=400, seed=seed)["metrics"]["accuracy"]["ci"]
        hits += ci[0] <= 0.5 <= ci[1]
    assert 0.91 <= hits / 200 <= 0.99, hits
    reg = model_quality(np.arange(100.0), np.arange(100.0) + 1.0, task="regression")["metrics"]
    assert (
        reg["mae"]["value"] == pytest.approx(1.0)
        and reg["rmse"]["value"] == pytest.approx(1.0)
        and reg["r2"]["value"] == pytest.approx(1 - 1 / np.var(np.arange(100.0)))
    )


def test_cli_model_quality_and_bias_drift_with_late_ground_truth(adult, tmp_path):
    from assay.datasets import adult_model

    test = load_adult("test")
    feats = [c for c in adult.columns if c not in ("income", "fnlwgt")]
    model = adult_model(feats).fit(adult[feats], adult["income"] == ">50K")

    def scored(d, tag):
        d = d.copy()
        d["prediction"] = np.where(model.predict_proba(d[feats])[:, 1] > 0.5, ">50K", "<=50K")
        d["id"] = [f"{tag}-{i}" for i in range(len(d))]
        return d

    base, cur = scored(test.iloc[:7000], "b"), scored(test.iloc[7000:], "c")
    base.to_parquet(tmp_path / "base.parquet")
    cur[["id", "income"]].to_parquet(tmp_path / "gt.parquet")  # labels arrive later, by id
    cur.drop(columns="income").to_parquet(tmp_path / "ok.parquet")
    worse = cur.drop(columns="income")
    flip = (worse["sex"] == "Female") & (np.random.default_rng(0).random(len(worse)) < 0.3)  # the model goes wrong for women
    worse.loc[flip, "prediction"] = np.where(worse.loc[flip, "prediction"] == ">50K", "<=50K", ">50K")
    worse.to_parquet(tmp_path / "worse.parquet")
    (tmp_path / "monitor.yaml").write_text("""
label: income
label_values_or_threshold: [">50K"]
predicted_label: prediction
facet: [{name_or_index: sex}]
id: id
ground_truth: {dataset_uri: gt.parquet, id: id, label: income}
monitor: {bootstrap_replicates: 400}
""")
    runner, cfg = CliRunner(), str(tmp_path / "monitor.yaml")
    r = runner.invoke(app, ["monitor", "baseline", str(tmp_path / "base.parquet"), "--out", str(tmp_path / "b"), "--config", cfg])
    assert r.exit_code == 0, r.output
    mb = json.loads((tmp_path / "b" / "model.json").read_text())
    y = base["income"] == ">50K"
    assert mb["quality"]["metrics"]["accuracy"]["value"] == pytest.approx(float(((base["prediction"] == ">50K") == y).mean()), abs=1e-12)
    r = runner.invoke(
        app, ["monitor", "check", str(tmp_path / "ok.parquet"), "--baseline", str(tmp_path / "b"), "--out", str(tmp_path / "c1"), "--config", cfg]
    )
    assert r.exit_code == 0, r.output
    ok = json.loads((tmp_path / "c1" / "constraint_violations.json").read_text())
    assert ok["violations"] == [], ok["violations"]  # same model, same population: nothing fires (id not tested, label arrives later)
    assert ok["model"]["labelled_rows"] == len(cur) and ok["features"]["id"]["drift"]["tested"] is False
    r = runner.invoke(
        app, ["monitor", "check", str(tmp_path / "worse.parquet"), "--baseline", str(tmp_path / "b"), "--out", str(tmp_path / "c2"), "--config", cfg]
    )
    bad = json.loads((tmp_path / "c2" / "constraint_violations.json").read_text())
    kinds = {(v["constraint_check_type"], v["feature_name"]) for v in bad["violations"]}
    assert ("model_quality_check", "accuracy") in kinds and ("baseline_drift_check", "prediction") in kinds
    eo = [d for d in bad["bias_drift"] if d["metric"] == "EqOddsD" and d["value"] == "Female"][0]
    assert eo["drifted"] and eo["current"] > eo["baseline"] and eo["q_value"] < 0.05
    for swap, message in (("predicted_label: prediction", "probability: prediction"), ("bootstrap_replicates: 400", "bootstrap_replicates: lots")):
        (tmp_path / "bad.yaml").write_text((tmp_path / "monitor.yaml").read_text().replace(*((swap, message))))
        r = runner.invoke(app, ["monitor", "check", str(tmp_path / "ok.parquet"), "--baseline", str(tmp_path / "b"), "--out", str(tmp_path / "c3"),
                                "--config", str(tmp_path / "bad.yaml")])  # fmt: skip
        assert r.exit_code == 2 and ("must hold numeric scores" in r.output or "must be a whole number, got 'lots'" in r.output), r.output
        acc = next(q for q in bad["model_quality"] if q["metric"] == "accuracy")
    by_hand = float(((worse["prediction"] == ">50K").to_numpy() == (cur["income"] == ">50K").to_numpy()).mean())
    assert acc["current"] == pytest.approx(by_hand, abs=1e-12) and acc["worse"]


def test_windows_series_alerts_and_report(adult, tmp_path):
    import http.server
    import sys
    import threading

    from assay.datasets import adult_model

    test = load_adult("test")
    feats = [c for c in adult.columns if c not in ("income", "fnlwgt")]
    model = adult_model(feats).fit(adult[feats], adult["income"] == ">50K")
    test["prediction"] = np.where(model.predict_proba(test[feats])[:, 1] > 0.5, ">50K", "<=50K")
    test.iloc[:5000].to_parquet(tmp_path / "base.parquet")
    pool = test.iloc[5000:].reset_index(drop=True)
    parts = []
    for day in range(6):  # days 0-2 healthy; from day 3 the model errs for women; from day 4 ages shift by 6 years
        d = pool.sample(2500, random_state=day).copy()
        d["ts"] = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(day, "D") + pd.to_timedelta(np.random.default_rng(day).integers(0, 86400, len(d)), "s")
        if day >= 3:
            flip = (d["sex"] == "Female").to_numpy() & (np.random.default_rng(day).random(len(d)) < 0.4)
            d.loc[flip, "prediction"] = np.where(d.loc[flip, "prediction"] == ">50K", "<=50K", ">50K")
        if day >= 4:
            d["age"] = d["age"] + 6
        d["id"] = [f"d{day}-{i}" for i in range(len(d))]
        parts.append(d)
    stream = pd.concat(parts).sample(frac=1.0, random_state=0).reset_index(drop=True)  # out of time order
    stream[["id", "income"]].to_parquet(tmp_path / "gt.parquet")
    stream.drop(columns="income").to_parquet(tmp_path / "stream.parquet", row_group_size=4000)  # windows span batches
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sink = tmp_path / "alerts.jsonl"
    (tmp_path / "monitor.yaml").write_text(f"""
label: income
label_values_or_threshold: [">50K"]
predicted_label: prediction
facet: [{{name_or_index: sex}}]
id: id
timestamp: ts
ground_truth: {{dataset_uri: gt.parquet, id: id, label: income}}
monitor:
  window: 1D
  bootstrap_replicates: 300
  alerts:
    - {{webhook: "http://127.0.0.1:{server.server_port}/hook"}}
    - {{command: [{sys.executable!r}, "-c", "import sys; open({str(sink)!r}, 'a').write(sys.stdin.read() + chr(10))"]}}
    - {{webhook: "http://127.0.0.1:9/nowhere"}}
""")
    runner, cfg = CliRunner(), str(tmp_path / "monitor.yaml")
    assert runner.invoke(app, ["monitor", "baseline", str(tmp_path / "base.parquet"), "--out", str(tmp_path / "b"), "--config", cfg]).exit_code == 0
    r = runner.invoke(app, ["monitor", "run", str(tmp_path / "stream.parquet"), "--baseline", str(tmp_path / "b"), "--config", cfg,
                            "--out", str(tmp_path / "m"), "--report", "--batch-rows", "3000"])  # fmt: skip
    server.shutdown()
    server.server_close()
    assert r.exit_code == 0, r.output
    mon = json.loads((tmp_path / "m" / "analysis.json").read_text())["monitoring"]
    assert [w["rows"] for w in mon["windows"]] == [2500] * 6
    kinds = [{v["constraint_check_type"] for v in w["result"]["violations"]} for w in mon["windows"]]
    assert kinds[:3] == [set(), set(), set()], kinds  # healthy days: nothing fires
    assert all("model_quality_check" in k and "bias_drift_check" in k for k in kinds[3:]), kinds
    drifted = [{v["feature_name"] for v in w["result"]["violations"] if v["constraint_check_type"] == "baseline_drift_check"} for w in mon["windows"]]
    assert drifted[3] == {"prediction"} and all(d == {"prediction", "age"} for d in drifted[4:]), drifted  # predictions from day 3, age from day 4
    acc = mon["series"]["quality"]["accuracy"]
    assert all(a["ci"][0] < a["value"] < a["ci"][1] for a in acc) and acc[0]["value"] - acc[5]["value"] > 0.05
    assert len(received) == 3 and {x["window"]["start"][:10] for x in received} == {"2026-11-04", "2026-11-05", "2026-11-06"}
    assert all(x["violations"] and x["source"] == "assay monitor" for x in received)  # the JSON body: what fired, where, when
    assert len(sink.read_text().splitlines()) == 3
    outcomes = mon["windows"][3]["alerts"]
    assert outcomes[0]["status"] == 204 and outcomes[1]["returncode"] == 0 and "error" in outcomes[2]  # a failed alert is recorded
    import jsonschema

    from assay import __file__ as pkg

    jsonschema.validate(json.loads((tmp_path / "m" / "analysis.json").read_text()),
                        json.loads((Path(pkg).parent / "schemas" / "analysis.schema.json").read_text()))  # fmt: skip
    html = (tmp_path / "m" / "report.html").read_text()
    assert 'id="monitoring"' in html and "accuracy per window" in html and "Violations per window" in html


def test_attribution_drift_ndcg_by_hand():
    from assay.monitor._model import compare_attribution

    base = {"global_importance": {"a": {"value": 3.0, "ci": [2.9, 3.1]}, "b": {"value": 2.0, "ci": [1.9, 2.1]}, "c": {"value": 1.0, "ci": [0.9, 1.1]}}}
    cur = {"global_importance": {"a": {"value": 1.5, "ci": [1.4, 1.6]}, "b": {"value": 2.0, "ci": [1.9, 2.1]}, "c": {"value": 1.0, "ci": [0.9, 1.1]}}}
    r = compare_attribution(cur, base, 0.9)
    dcg = 2 / np.log2(2) + 3 / np.log2(3) + 1 / np.log2(4)  # Model Monitor: baseline values in the window's order
    idcg = 3 / np.log2(2) + 2 / np.log2(3) + 1 / np.log2(4)
    assert r["ndcg"] == pytest.approx(dcg / idcg, abs=1e-12) and r["spearman"] == pytest.approx(0.5)
    assert r["changed_features"] == ["a"] and r["drifted"] and not r["ndcg_below"]  # a halved, far outside both intervals


def test_cli_feature_attribution_drift(adult, tmp_path):
    import skops.io as sio

    from assay.datasets import adult_model

    test = load_adult("test")
    feats = [c for c in adult.columns if c not in ("income", "fnlwgt")]
    model = adult_model(feats).fit(adult[feats], (adult["income"] == ">50K").astype(int))
    sio.dump(model, tmp_path / "model.skops")
    test["prediction"] = np.where(model.predict_proba(test[feats])[:, 1] > 0.5, ">50K", "<=50K")
    test.iloc[:5000].to_parquet(tmp_path / "base.parquet")
    test.iloc[5000:].to_parquet(tmp_path / "ok.parquet")
    test.iloc[5000:].assign(age=22, **{"marital-status": "Never-married", "relationship": "Own-child", "capital-gain": 0}).to_parquet(
        tmp_path / "young.parquet"
    )
    trusted = ", ".join(sio.get_untrusted_types(file=tmp_path / "model.skops"))
    (tmp_path / "monitor.yaml").write_text(f"""
label: income
label_values_or_threshold: [">50K"]
predicted_label: prediction
facet: [{{name_or_index: sex}}]
model: model.skops
model_trusted_types: [{trusted}]
methods: {{shap: {{use_logit: true}}}}
monitor: {{bootstrap_replicates: 300, attribution_rows: 300}}
""")
    runner, cfg = CliRunner(), str(tmp_path / "monitor.yaml")
    assert runner.invoke(app, ["monitor", "baseline", str(tmp_path / "base.parquet"), "--out", str(tmp_path / "b"), "--config", cfg]).exit_code == 0
    base = json.loads((tmp_path / "b" / "model.json").read_text())["attribution"]
    assert base["method"] == "tree" and base["rows_explained"] == 300 and len(base["background"]) > 0
    results = {}
    for name in ("ok", "young"):
        runner.invoke(
            app, ["monitor", "check", str(tmp_path / f"{name}.parquet"), "--baseline", str(tmp_path / "b"), "--out", str(tmp_path / name), "--config", cfg]
        )
        results[name] = json.loads((tmp_path / name / "constraint_violations.json").read_text())
    ok, young = results["ok"]["attribution_drift"], results["young"]["attribution_drift"]
    assert not ok["drifted"] and ok["ndcg"] > 0.99 and ok["spearman"] > 0.9
    assert young["drifted"] and "age" in young["changed_features"]
    assert any(v["constraint_check_type"] == "feature_attribution_drift_check" for v in results["young"]["violations"])


def test_count_tensors_merge_and_audit_like_the_rows():
    import assay
    from assay.monitor._model import MonitorSpec, bias_from_tensor, count_tensor, merge_tensors

    d = load_adult("test")
    d["pred"] = np.where(np.random.default_rng(0).random(len(d)) < 0.25, ">50K", "<=50K")
    spec = MonitorSpec(label="income", label_values=[">50K"], predicted_label="pred", facets=["sex", ["sex", "race"], {"name_or_index": "age", "value_or_threshold": [40]}],
                       replicates=300, seed=4)  # fmt: skip
    whole = count_tensor(d, spec)
    halves = merge_tensors(count_tensor(d.iloc[:7000], spec), json.loads(json.dumps(count_tensor(d.iloc[7000:], spec))))  # via JSON
    key = lambda t: sorted(map(tuple, t["cells"]))  # noqa: E731
    assert key(halves) == key(whole) and len(whole["cells"]) < 2000  # a few hundred cells stand for 15,060 rows
    from_cells = bias_from_tensor(halves, spec).to_frame()
    rows = assay.audit(d.assign(y=(d["income"] == ">50K").astype(int), p=(d["pred"] == ">50K").astype(int)), label="y", label_values_or_threshold=[1],
                       predicted_label="p", facets=spec.facets, pre_training_methods=None, post_training_methods=list(from_cells["metric"].unique()),
                       bootstrap_replicates=300, seed=4).to_frame()  # fmt: skip
    cols = ["facet", "value_or_threshold", "metric", "size", "rest_size", "value", "ci_low", "ci_high", "p_value"]
    pd.testing.assert_frame_equal(from_cells[cols].reset_index(drop=True), rows[cols].reset_index(drop=True), rtol=1e-9)


def test_cli_applies_model_quality_thresholds_and_settings_of_the_config(tmp_path):
    """The monitoring settings survive the column loop: thresholds, min_quality_change; Model Monitor's metric names, others refused."""
    rng = np.random.default_rng(5)
    y = rng.normal(10, 2, 4000)
    base = pd.DataFrame({"x": rng.normal(size=4000), "y": y, "pred": y + rng.normal(0, 0.3, 4000)})
    cur = base.assign(pred=base["y"] + rng.normal(0, 0.58, 4000))
    base.to_parquet(tmp_path / "base.parquet")
    cur.to_parquet(tmp_path / "cur.parquet")

    def config(constraints: str, monitor: str = "{bootstrap_replicates: 200}") -> str:
        (tmp_path / "m.yaml").write_text(f"label: y\npredicted_label: pred\nmodel_quality_constraints: {constraints}\nmonitor: {monitor}\n")
        return str(tmp_path / "m.yaml")

    runner = CliRunner()
    r = runner.invoke(app, ["monitor", "baseline", str(tmp_path / "base.parquet"), "--out", str(tmp_path / "b"), "--config", config("{}")])
    assert r.exit_code == 0, r.output
    aws = json.dumps({"version": 0.0, "regression_constraints": {"rmse": {"threshold": 0.1, "comparison_operator": "GreaterThanThreshold"},
                                                                 "mse": {"threshold": 1.0, "comparison_operator": "GreaterThanThreshold"}}})  # fmt: skip
    r = runner.invoke(app, ["monitor", "check", str(tmp_path / "cur.parquet"), "--baseline", str(tmp_path / "b"), "--out", str(tmp_path / "c"),
                            "--config", config(aws, "{bootstrap_replicates: 200, min_quality_change: 5.0}")])  # fmt: skip
    out = json.loads((tmp_path / "c" / "constraint_violations.json").read_text())
    rows = {q["metric"]: q for q in out["model_quality"]}
    rmse = float(np.sqrt(((cur["pred"] - cur["y"]) ** 2).mean()))
    assert rows["rmse"]["current"] == pytest.approx(rmse, abs=1e-12) and rows["rmse"]["threshold"]["crossed"]
    assert rows["mse"]["current"] == pytest.approx(rmse**2, abs=1e-12) and not rows["mse"]["threshold"]["crossed"]  # 0.34 is not > 1
    assert not rows["rmse"]["worse"], "min_quality_change 5.0 from the config applies: worse by 0.3 is not a change"
    fired = {v["feature_name"] for v in out["violations"] if v["constraint_check_type"] == "model_quality_check"}
    assert fired == {"rmse"}, out["violations"]
    for bad, message in (("{mse2: {threshold: 1}}", "'mse2' is not a regression metric. Did you mean 'mse'?"),
                         ("{accuracy: {threshold: 0.8}}", "'accuracy' is not a regression metric. (a binary metric"),
                         ("{rmse: {threshold: .nan}}", "model_quality_constraints.rmse.threshold must be a finite number"),
                         ("{rmse: {threshold: 1, comparison_operator: Above}}", "comparison_operator must be one of")):  # fmt: skip
        r = runner.invoke(app, ["monitor", "check", str(tmp_path / "cur.parquet"), "--baseline", str(tmp_path / "b"), "--out", str(tmp_path / "c"),
                                "--config", config(bad)])  # fmt: skip
        assert r.exit_code == 2 and message in " ".join(r.output.split()), r.output


def test_binary_quality_has_model_monitors_metrics():
    from assay.monitor._quality import CONSTRAINT_METRICS, model_quality

    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 0])
    p = np.array([1, 0, 1, 1, 0, 0, 0, 0, 1, 0])  # tp 3, fn 1, fp 1, tn 5
    m = model_quality(y, p, replicates=0)["metrics"]
    assert set(CONSTRAINT_METRICS["binary"]) - {"auc"} <= set(m)
    f = lambda b: (1 + b * b) * 3 / ((1 + b * b) * 3 + b * b * 1 + 1)  # noqa: E731  F-beta = (1+b^2)tp / ((1+b^2)tp + b^2 fn + fp)
    assert m["f0_5"]["value"] == pytest.approx(f(0.5)) and m["f2"]["value"] == pytest.approx(f(2.0)) and m["f1"]["value"] == pytest.approx(0.75)
    assert m["true_negative_rate"]["value"] == pytest.approx(5 / 6) and m["true_positive_rate"]["value"] == pytest.approx(0.75)
    assert m["precision_best_constant_classifier"]["value"] == pytest.approx(0.4) and m["accuracy_best_constant_classifier"]["value"] == pytest.approx(0.6)
    assert m["f1_best_constant_classifier"]["value"] == pytest.approx(2 * 0.4 / 1.4) and m["recall_best_constant_classifier"]["value"] == 1.0


def _model_monitor_only(stats: dict) -> dict:
    """statistics.json as Model Monitor writes it: no assay_profile, only its own fields."""
    return {k: v for k, v in stats.items() if k != "assay_profile"}


def test_statistics_are_written_as_model_monitor_writes_them(adult):
    stats = statistics(profile(adult[["age", "hours-per-week"]]))
    age = next(f for f in stats["features"] if f["name"] == "age")["numerical_statistics"]
    assert age["std_dev"] == pytest.approx(float(adult["age"].std(ddof=0)), rel=1e-12)  # the population SD
    buckets = age["distribution"]["kll"]["buckets"]
    edges = np.linspace(adult["age"].min(), adult["age"].max(), 11)
    assert [b["lower_bound"] for b in buckets] == pytest.approx(list(edges[:-1])) and buckets[-1]["upper_bound"] == adult["age"].max()
    by_hand = np.histogram(adult["age"], bins=edges)[0]  # numpy's last bin is closed, as Model Monitor's
    assert [b["count"] for b in buckets] == pytest.approx(list(by_hand))
    sketch = age["distribution"]["kll"]["sketch"]
    weights = sum(len(items) << level for level, items in enumerate(sketch["data"]))
    assert weights == len(adult) and set(sketch["parameters"]) == {"c", "k"}


@pytest.mark.parametrize("rows", [3000, 200_000], ids=["exact", "compacted"])
def test_data_never_drifts_from_a_model_monitor_baseline_of_itself(tmp_path, rows):
    """A Model Monitor statistics.json (KLL sketch, headerless CSV named _c0, _c1, ...) checked against the data it describes."""
    rng = np.random.default_rng(rows)
    data = pd.DataFrame({"a": rng.gamma(2.0, 3.0, rows), "b": rng.integers(0, 50, rows), "c": rng.choice(["x", "y", "z"], rows)})
    data.to_csv(tmp_path / "data.csv", header=False, index=False)
    assert list(profile(str(tmp_path / "data.csv")).columns) == ["_c0", "_c1", "_c2"]
    base = tmp_path / "base"
    base.mkdir()
    stats = _model_monitor_only(statistics(profile(str(tmp_path / "data.csv"))))
    (base / "statistics.json").write_text(json.dumps(stats))
    compacted = len(stats["features"][0]["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]) > 1
    assert compacted == (rows > 100_000)
    r = CliRunner().invoke(app, ["monitor", "check", str(tmp_path / "data.csv"), "--baseline", str(base), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    out = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())
    assert out["violations"] == [], out["violations"]
    drift = out["features"]["_c0"]["drift"]
    assert (drift["sketch_error"] > 0) == compacted and drift["distance"] == 0.0
    shifted = data.assign(a=data["a"] * 1.3)
    shifted.to_csv(tmp_path / "shifted.csv", header=False, index=False)
    r = CliRunner().invoke(app, ["monitor", "check", str(tmp_path / "shifted.csv"), "--baseline", str(base), "--out", str(tmp_path / "out2")])
    kinds = {(v["constraint_check_type"], v["feature_name"]) for v in json.loads((tmp_path / "out2" / "constraint_violations.json").read_text())["violations"]}
    assert kinds == {("baseline_drift_check", "_c0")}


def test_a_deequ_sketch_is_read_with_its_level_weights(tmp_path):
    """Model Monitor's sketch keeps level i's items with weight 2**i: its CDF is the weighted items' CDF."""
    from assay.monitor._baseline import baseline_from_documents

    sketch = {"parameters": {"c": 0.64, "k": 2048.0}, "data": [[1.0, 2.0, 3.0], [4.0, 5.0], [6.0]]}  # weights 1, 1, 1, 2, 2, 4: 11 rows
    doc = {"version": 0.0, "dataset": {"item_count": 11}, "features": [{"name": "_c0", "inferred_type": "Fractional", "numerical_statistics": {
        "common": {"num_present": 11, "num_missing": 0}, "mean": 48 / 11, "sum": 48.0, "std_dev": 2.0, "min": 1.0, "max": 6.0,
        "distribution": {"kll": {"buckets": [], "sketch": sketch}}}}]}  # fmt: skip
    prof, _ = baseline_from_documents(doc, None)
    col = prof.columns["_c0"]
    assert list(col.cdf(np.array([3.0, 4.0, 5.0, 6.0]))) == pytest.approx([3 / 11, 5 / 11, 7 / 11, 1.0])
    assert col.std == pytest.approx(2.0 * math.sqrt(11 / 10)) and col.rank_error() > 0  # population SD read back; compacted: an error bound


def test_a_string_column_that_turns_numeric_fails_the_type_check():
    base = profile(pd.DataFrame({"code": ["a", "b", "c", "d"] * 50}))
    cur = profile(pd.DataFrame({"code": ["a", "b"] * 20 + ["1", "2", "3.5"] * 20}))
    out = check(cur, base, suggest_constraints(base))
    (v,) = [v for v in out["violations"] if v["constraint_check_type"] == "data_type_check"]
    assert v["feature_name"] == "code" and v["value"] == pytest.approx(60 / 100) and "String" in v["description"]
    assert not [v for v in check(base, base, suggest_constraints(base))["violations"] if v["constraint_check_type"] == "data_type_check"]


def test_binned_auc_and_its_variance_are_delongs_when_every_bin_holds_one_score():
    from sklearn.metrics import roc_auc_score

    from assay.monitor._quality import model_quality

    rng = np.random.default_rng(3)
    y = rng.random(3000) < 0.4
    s = np.round(np.clip(0.4 + 0.25 * (y - 0.4) + rng.normal(0, 0.2, len(y)), 0, 1), 3)  # a grid of 1/1000: one score per bin, many ties
    auc = model_quality(y, s > 0.5, score=s, replicates=0)["metrics"]["auc"]
    assert auc["value"] == pytest.approx(roc_auc_score(y, s), abs=1e-12) and "note" not in auc
    pos, neg = s[y], s[~y]  # DeLong's structural components, by hand: each score's share of the other class below it (ties half)
    v10 = np.array([(neg < x).mean() + 0.5 * (neg == x).mean() for x in pos])
    v01 = np.array([(pos > x).mean() + 0.5 * (pos == x).mean() for x in neg])
    se = math.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    assert auc["se"] == pytest.approx(se, rel=1e-9)
    assert auc["ci"] == pytest.approx([auc["value"] - 1.959963984540054 * se, auc["value"] + 1.959963984540054 * se], rel=1e-9)
    cont = rng.random(3000)  # continuous scores share bins: the note bounds the error, and the error is within it
    got = model_quality(y, cont > 0.5, score=cont, replicates=0)["metrics"]["auc"]
    bound = float(got["note"].split("within ")[1].split(";")[0])
    assert abs(got["value"] - roc_auc_score(y, cont)) <= bound and bound < 1e-3


def test_model_figures_stream_from_files_in_batches_as_from_memory(tmp_path):
    from assay.monitor._model import ModelRows, MonitorSpec, figures, model_figures, stream_summary

    d = load_adult("test")
    rng = np.random.default_rng(1)
    d["score"] = np.clip(0.25 + 0.4 * (d["income"] == ">50K") + rng.normal(0, 0.2, len(d)), 0, 1)
    d["pred"] = np.where(d["score"] > 0.5, ">50K", "<=50K")
    d["rid"] = np.arange(len(d))
    d[["rid", "income"]].sample(frac=0.6, random_state=0).to_csv(tmp_path / "truth.csv", index=False)  # late labels for 60% of rows
    d.drop(columns="income").to_parquet(tmp_path / "window.parquet", row_group_size=1000)
    spec = MonitorSpec(label="income", label_values=[">50K"], predicted_label="pred", probability="score", facets=["sex", ["sex", "race"]],
                       id="rid", ground_truth={"dataset_uri": str(tmp_path / "truth.csv")}, replicates=200)  # fmt: skip
    streamed = figures(stream_summary(tmp_path / "window.parquet", spec, batch_rows=1000), spec)
    truth = pd.read_csv(tmp_path / "truth.csv")
    whole = model_figures(d.drop(columns="income").merge(truth, on="rid", how="left"), spec)
    assert streamed["rows"] == len(d) and streamed["labelled_rows"] == len(truth) == whole["labelled_rows"]
    assert streamed["quality"] == whole["quality"] and streamed["bias"] == whole["bias"]  # the same tables, so the same bootstrap
    key = lambda t: sorted(map(tuple, t["cells"]))  # noqa: E731
    assert key(streamed["count_tensor"]) == key(whole["count_tensor"])
    labelled = d[d["rid"].isin(truth["rid"])]
    tp = int(((labelled["pred"] == ">50K") & (labelled["income"] == ">50K")).sum())
    assert streamed["quality"]["confusion_matrix"]["tp"] == tp
    # the rows kept for attributions: a uniform sample of the data that does not depend on the batches
    sampled = dataclasses.replace(spec, model="unused.skops", attribution_rows=300)
    small, large = (stream_summary(tmp_path / "window.parquet", sampled, batch_rows=b).sample for b in (700, 20000))
    assert len(small) == 300 and small["rid"].tolist() == large["rid"].tolist()
    assert 0.4 < small["rid"].mean() / len(d) < 0.6 and small["rid"].is_monotonic_increasing
    reader = ModelRows(spec, list(d.drop(columns="income").columns))
    with pytest.raises(DataError, match="probability column 'score' must hold numeric scores"):
        reader.prepare(d.drop(columns="income").assign(score="high"))
    with pytest.raises(DataError, match="no column\\(s\\) 'pred'"):
        ModelRows(spec, ["rid", "score", "sex", "race"])


def test_a_baseline_stored_in_profile_format_1_still_loads_and_checks(adult, tmp_path):
    old, cons = load_baseline(Path(__file__).parent / "data" / "assay_format1")  # written by assay's own HyperLogLog registers
    fn = old.columns["fnlwgt"]
    assert fn.hll is None and fn.values is None and fn.distinct == pytest.approx(20501.118, abs=0.01)  # that code's estimate, as stored
    assert old.columns["education"].distinct == adult["education"].nunique()  # exact counts need no sketch
    new = profile(adult[["fnlwgt", "education", "age"]])
    assert new.to_dict()["format"] == 2 and abs(new.columns["fnlwgt"].distinct - adult["fnlwgt"].nunique()) / adult["fnlwgt"].nunique() < 0.05
    report = check(new, old, cons)  # a current profile checks against it: same data, no violation
    assert report["violations"] == [] and report["features"]["fnlwgt"]["drift"]["drifted"] is False
    with pytest.raises(DataError, match=r"'fnlwgt'.*profile format 1.*assay monitor baseline"):
        old.merge(new)
    with pytest.raises(ValueError, match="profile format 3 is not one this assay reads"):
        Profile.from_dict({**new.to_dict(), "format": 3})


@pytest.mark.parametrize("stored", [None, 3, "x", [], {"rows": 1, "columns": [None]}, {"rows": 1, "columns": ["age"]}, {"format": 3, "rows": 1, "columns": []}])
def test_a_statistics_document_whose_assay_profile_is_malformed_gets_a_data_error(stored):
    """The service's PUT /models/{m}/{v}/baseline hands these documents straight in: each is an error naming the key, not a crash."""
    with pytest.raises(DataError, match="statistics.json: assay_profile is not a profile assay wrote"):
        baseline_from_documents({"assay_profile": stored}, None)
