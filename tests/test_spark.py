"""Spark: the audit's count tensor as one Spark SQL aggregation, equal to the DuckDB path; sessions and reads with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay._errors import ConfigError, DataError
from assay.bias import METRICS


@pytest.fixture(scope="module")
def scored_file(adult_scored, tmp_path_factory):
    """Adult test scored, 4x resampled (so the data has many more rows than any tensor), with a fractional sample weight."""
    d = adult_scored.sample(4 * len(adult_scored), replace=True, random_state=0).reset_index(drop=True)
    d["w"] = 0.5 + (d["age"] % 7) / 3.0
    path = tmp_path_factory.mktemp("spark") / "scored.parquet"
    d.to_parquet(path, row_group_size=10_000)
    return path, d


AUDIT = dict(label="income", label_values_or_threshold=[">50K"], predicted_label="pred", probability="score",
             facets=["sex", "race", ["sex", "race"]], bootstrap_replicates=200, seed=3)  # fmt: skip
EXACT = {"size", "rest_size", "n", "count", "TP", "FP", "TN", "FN"}  # counts of rows: integers, whatever the order of the sum


def _compare(a, b, path="", *, exact=EXACT, rel=1e-12):
    """Equal documents: keys, strings and counts exactly; other numbers to ``rel`` (a sum of floats depends on the order of its
    terms, which differs between engines and partitionings: pandas and DuckDB differ so too)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _compare(a[k], b[k], f"{path}/{k}", exact=exact, rel=rel)
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _compare(x, y, f"{path}[{i}]", exact=exact, rel=rel)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and a != b:
        assert path.rsplit("/", 1)[-1] not in exact, (path, a, b)
        assert a == pytest.approx(b, rel=rel, abs=1e-15, nan_ok=True), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize("weighted", [False, True])
def test_an_audit_on_spark_equals_the_duckdb_audit_of_the_same_file_for_any_partitioning(spark, scored_file, weighted):
    path, rows = scored_file
    settings = AUDIT | ({"sample_weight": "w"} if weighted else {})
    exact = set() if weighted else EXACT  # weighted confusion matrices are sums of fractional weights
    no_ft = {"post_training_methods": [m for m, spec in METRICS.items() if spec.stage == "post_training" and m != "FT"]}
    duck = assay.audit(str(path), **settings, **no_ft).to_dict()  # FlipTest's sample is drawn each engine's own way
    assert duck["post_training_bias_metrics"]["facets"]["sex"][0]["group"]["size"] > 0
    runs = []
    for parts in (1, 4, 64):
        df = spark.read.parquet(str(path)).repartition(parts)
        assert df.rdd.getNumPartitions() == parts
        _compare(assay.audit(df, **settings, **no_ft).to_dict(), duck, exact=exact)
        runs.append(assay.audit(df, **settings).to_dict())
    _compare(runs[0], runs[2], exact=exact)  # with FlipTest: Spark's sample is the same rows for any partitioning
    ft = [m for fv in runs[0]["post_training_bias_metrics"]["facets"]["sex"] for m in fv["metrics"] if m["name"] == "FT"]
    assert len(ft) == 2 and all(m["value"] is not None for m in ft)
    groups = {fv["value_or_threshold"]: fv["group"] for fv in runs[1]["post_training_bias_metrics"]["facets"]["sex"]}
    assert groups["Female"]["size"] == int((rows["sex"] == "Female").sum())  # a hand count of the rows
    if weighted:
        assert groups["Female"]["weight"] == pytest.approx(float(rows.loc[rows["sex"] == "Female", "w"].sum()), rel=1e-12)


def test_the_audit_on_spark_runs_no_python_in_its_plans_and_brings_back_only_the_tensor_and_flip_tests_sample(spark, scored_file, monkeypatch):
    path, rows = scored_file
    DataFrame = type(spark.range(1))  # pyspark.sql.classic's DataFrame, which narwhals collects through
    seen = []
    for name in ("toArrow", "toPandas", "collect"):
        original = getattr(DataFrame, name)

        def recording(self, *a, _original=original, **kw):
            out = _original(self, *a, **kw)
            seen.append((self._jdf.queryExecution().executedPlan().toString(), len(out) if not hasattr(out, "num_rows") else out.num_rows))
            return out

        monkeypatch.setattr(DataFrame, name, recording)
    result = assay.audit(spark.read.parquet(str(path)), **AUDIT, fliptest={"max_rows": 2000})
    assert result.to_dict()["post_training_bias_metrics"]["facets"]["sex"][0]["group"]["size"] > 0
    python_nodes = ("PythonUDF", "BatchEvalPython", "ArrowEvalPython", "MapInPandas", "MapInArrow", "FlatMapGroupsInPandas", "PythonMapIn")
    assert seen and not [p for p, _ in seen if any(node in p for node in python_nodes)]
    samples = [n for p, n in seen if "Aggregate" not in p]  # rows, not aggregates: FlipTest's sample only
    assert len(samples) == 1 and 1500 <= samples[0] <= 2400
    tensor = [n for p, n in seen if "HashAggregate" in p and "__key_" in p]
    assert tensor and max(n for _, n in seen) < len(rows) / 10  # the count tensor (with the score's bins): cells, not rows


def test_a_session_without_java_or_pyspark_names_what_to_install(spark, monkeypatch):
    import sys

    from assay._optional import MissingDependencyError
    from assay.spark import session

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ConfigError, match=r"Spark needs a Java runtime \(17 or later\).*openjdk-17-jre-headless.*JAVA_HOME"):
        session("local[1]")
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'assay\[spark\]'"):
        session("local[1]")
    with pytest.raises(ConfigError, match="spark.conf keys must be Spark property names"):
        monkeypatch.delitem(sys.modules, "pyspark")
        session("local[1]", conf={1: "x"})


def test_spark_reads_a_table_by_name_parquet_and_csv_by_path_and_names_what_it_cannot_read(spark, adult_scored, tmp_path):
    from assay.spark import read

    small = adult_scored[["sex", "race", "income", "pred"]].head(500)
    spark.createDataFrame(small).createOrReplaceTempView("adult_small")
    by_name = read("adult_small", spark)
    assert by_name.count() == 500 and by_name.columns == ["sex", "race", "income", "pred"]
    small.to_csv(tmp_path / "with_header.csv", index=False)
    small.to_csv(tmp_path / "no_header.csv", index=False, header=False)
    assert read(str(tmp_path / "with_header.csv"), spark).columns == ["sex", "race", "income", "pred"]
    named = read(str(tmp_path / "no_header.csv"), spark, headers=["s", "r", "y", "p"])
    assert named.columns == ["s", "r", "y", "p"] and named.count() == 500
    spark.createDataFrame(small).write.parquet(str(tmp_path / "as_spark_writes"))  # a directory of part files
    assert read(str(tmp_path / "as_spark_writes") + "/", spark).count() == 500
    with pytest.raises(DataError, match="Spark has no table 'adult_smal'"):
        read("adult_smal", spark)
    with pytest.raises(DataError, match="Spark cannot read .*missing.parquet"):
        read(str(tmp_path / "missing.parquet"), spark)
    same = assay.audit(by_name, label="income", label_values_or_threshold=[">50K"], predicted_label="pred", facets=["sex"],
                       bootstrap_replicates=100, seed=1, post_training_methods=["DPPL", "DI"])  # fmt: skip
    local = assay.audit(small, label="income", label_values_or_threshold=[">50K"], predicted_label="pred", facets=["sex"],
                        bootstrap_replicates=100, seed=1, post_training_methods=["DPPL", "DI"])  # fmt: skip
    _compare(same.to_dict(), local.to_dict())


def test_a_profile_on_spark_equals_the_in_process_profile_and_its_sketches_merge_with_ones_made_in_process(spark, tmp_path):
    from assay.datasets import load_adult
    from assay.monitor import profile
    from assay.monitor._baseline import suggest_constraints
    from assay.monitor._check import check

    d = load_adult("train")
    rng = np.random.default_rng(0)
    d["ratio"] = np.where(rng.random(len(d)) < 0.05, np.nan, d["capital-gain"] / d["hours-per-week"])  # fractional, with NaN
    d.loc[:9, "ratio"] = np.inf
    d["id"] = [f"r{i % 9000}" for i in range(len(d))]  # text with more distinct values than the exact counts keep
    d["married"] = d["marital-status"].str.startswith("Married")
    d.to_parquet(tmp_path / "train.parquet")
    local = profile(d)
    for parts in (1, 4):
        remote = profile(spark.read.parquet(str(tmp_path / "train.parquet")).repartition(parts))
        assert remote.rows == local.rows == len(d)
        for name, a in local.columns.items():
            b = remote.columns[name]
            assert (b.kind, b.missing, b.integral, b.fractional, b.string, b.n) == (a.kind, a.missing, a.integral, a.fractional, a.string, a.n), name
            for field in ("total", "mean", "m2", "minimum", "maximum"):
                assert getattr(b, field) == pytest.approx(getattr(a, field), rel=1e-9), (name, field)
            assert b.values == a.values, name
    assert local.columns["fnlwgt"].values is None and local.columns["id"].values is None  # the sketched paths are taken
    assert local.columns["ratio"].missing == int(d["ratio"].isna().sum()) and local.columns["ratio"].n == local.columns["ratio"].present - 10
    for name, truth in (("fnlwgt", d["fnlwgt"].nunique()), ("id", 9000)):
        b = remote.columns[name]
        assert abs(b.distinct - truth) / truth < 0.05  # lg k 12: 1.6% standard error
        # the same values hashed the same way: the union with the in-process sketch is the union of a sketch with itself
        assert local.merge(remote).columns[name].distinct == local.merge(local).columns[name].distinct, name
    counts, rest = remote.columns["id"].category_counts()
    assert counts == {} and rest == len(d)  # 9,000 ids of 3 or 4 rows each: none is frequent for a sketch of 768 items
    d["skewed"] = np.where(rng.random(len(d)) < 0.5, d["education"], d["id"])  # a few frequent texts among 9,000 rare ones
    d.to_parquet(tmp_path / "skewed.parquet")
    counts, rest = profile(spark.read.parquet(str(tmp_path / "skewed.parquet")), columns=["skewed"]).columns["skewed"].category_counts()
    truth, slack = d["skewed"].value_counts(), 3.5 / 1024 * len(d)  # DataSketches' a-priori error of a 1,024-entry map
    assert set(counts) == {k for k in set(d["education"]) if truth[k] > slack} and all(truth[k] - slack - 1 < c <= truth[k] - slack for k, c in counts.items())
    assert rest == len(d) - sum(counts.values())
    grid = np.linspace(0.05, 0.95, 19)
    x = np.sort(d["fnlwgt"].to_numpy())
    ranks = np.searchsorted(x, remote.columns["fnlwgt"].quantiles(grid), side="right") / len(x)
    assert np.max(np.abs(ranks - grid)) < 0.01  # Spark's KLL (k = 1000): rank error about 0.3%
    assert check(remote, local, suggest_constraints(local))["violations"] == []  # the same data, profiled two ways


def test_monitor_baseline_and_check_of_spark_dataframes_and_what_is_not_yet_computed_there(spark, tmp_path):
    from assay import monitor
    from assay.datasets import load_adult

    train, test = load_adult("train"), load_adult("test")
    shifted = test.assign(age=test["age"] + np.where(np.random.default_rng(1).random(len(test)) < 0.3, 5, 0))
    for name, frame in (("train", train), ("test", test), ("shifted", shifted)):
        frame.to_parquet(tmp_path / f"{name}.parquet")
    read = lambda name: spark.read.parquet(str(tmp_path / f"{name}.parquet"))  # noqa: E731
    monitor.baseline(read("train"), tmp_path / "base")
    same = monitor.check(read("test"), tmp_path / "base", tmp_path / "out")
    assert same.violations == [] and same.profile.rows == len(test)
    local = monitor.check(str(tmp_path / "shifted.parquet"), tmp_path / "base")
    remote = monitor.check(read("shifted"), tmp_path / "base")
    drifted = lambda c: sorted(v["feature_name"] for v in c.violations if v["constraint_check_type"] == "baseline_drift_check")  # noqa: E731
    assert drifted(remote) == drifted(local) == ["age"]
    age = remote.result["features"]["age"]["drift"]
    assert age["distance"] == pytest.approx(local.result["features"]["age"]["drift"]["distance"], rel=1e-12)  # exact counts: one KS


def _without_times(doc):
    """A monitoring document less what differs between any two runs (when it ran), and the drift of each column (columns of
    thousands of distinct values are sketched, each engine's sketch within its stated error: see the profile test; checked
    apart by _same_drift)."""
    if isinstance(doc, dict):
        return {k: _without_times(v) for k, v in doc.items() if k not in ("analysis_time", "created", "time", "features", "drift")}
    if isinstance(doc, list):
        return [_without_times(v) for v in doc]
    return doc


def _same_drift(there, here):
    """The same columns drift, by distances within the sketches' error (exactly equal where the values are counted exactly)."""
    assert there["features"].keys() == here["features"].keys()
    for name, f in here["features"].items():
        a, b = there["features"][name].get("drift") or {}, f.get("drift") or {}
        assert a.get("drifted") == b.get("drifted"), name
        assert a.get("distance") == pytest.approx(b.get("distance"), abs=0.01), name


def test_model_quality_bias_and_time_windows_on_spark_equal_the_in_process_ones(spark, adult_scored, tmp_path):
    from assay import monitor

    rows = adult_scored.iloc[:9000].reset_index(drop=True)
    rows["id"] = [f"r{i}" for i in range(len(rows))]
    rng = np.random.default_rng(2)
    rows["ts"] = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 3 * 86400, len(rows)), "s")
    rows.iloc[:4000].drop(columns=["id", "ts"]).to_parquet(tmp_path / "base.parquet")  # before the model errs
    late = (rows["ts"] >= pd.Timestamp("2026-11-03", tz="UTC")).to_numpy() & (rows["sex"] == "Female").to_numpy() & (rng.random(len(rows)) < 0.4)
    rows.loc[late, "pred"] = np.where(rows.loc[late, "pred"] == ">50K", "<=50K", ">50K")  # the third day, the model errs for women
    rows[["id", "income"]].to_parquet(tmp_path / "gt.parquet")
    rows.drop(columns="income").to_parquet(tmp_path / "stream.parquet")
    config = {"label": "income", "label_values_or_threshold": [">50K"], "predicted_label": "pred", "probability": "score",
              "facet": [{"name_or_index": "sex"}, {"name_or_index": "race"}], "id": "id", "timestamp": "ts",
              "ground_truth": {"dataset_uri": str(tmp_path / "gt.parquet"), "id": "id", "label": "income"},
              "monitor": {"window": "1D", "bootstrap_replicates": 200}}  # fmt: skip
    base_config = {k: v for k, v in config.items() if k not in ("id", "timestamp", "ground_truth")}
    monitor.baseline(str(tmp_path / "base.parquet"), tmp_path / "here", config=base_config)
    monitor.baseline(spark.read.parquet(str(tmp_path / "base.parquet")).repartition(5), tmp_path / "there", config=base_config)
    model_here = json.loads((tmp_path / "here" / "model.json").read_text())
    model_there = json.loads((tmp_path / "there" / "model.json").read_text())
    assert model_here["quality"]["metrics"]["accuracy"]["ci"][0] is not None and len(model_here["bias"]) > 20
    _compare(_without_times(model_there), _without_times(model_here), rel=1e-9)  # every quality metric and bias metric, intervals too

    stream = spark.read.parquet(str(tmp_path / "stream.parquet")).repartition(4)
    here = monitor.check(str(tmp_path / "stream.parquet"), tmp_path / "here", config=config)
    there = monitor.check(stream, tmp_path / "here", config=config)
    assert here.result["model"]["labelled_rows"] == there.result["model"]["labelled_rows"] == len(rows)
    _compare(_without_times(there.result), _without_times(here.result), rel=1e-9)
    _same_drift(there.result, here.result)

    windows_here, _ = monitor.run(str(tmp_path / "stream.parquet"), tmp_path / "here", config)
    windows_there, _ = monitor.run(stream, tmp_path / "here", config)
    assert [w["rows"] for w in windows_there["windows"]] == [w["rows"] for w in windows_here["windows"]] and len(windows_here["windows"]) == 3
    flagged = [sorted({b["metric"] for b in w["result"]["bias_drift"] if b["drifted"]}) for w in windows_there["windows"]]
    assert "FPRD" in flagged[2] and "FPRD" not in flagged[0] + flagged[1]  # the third day's errors for women are found
    _compare(_without_times(windows_there), _without_times(windows_here), rel=1e-9)
    for a, b in zip(windows_there["windows"], windows_here["windows"]):
        _same_drift(a["result"], b["result"])
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    cols = ["age", "education-num", "hours-per-week"]
    sio.dump(LogisticRegression(max_iter=1000).fit(rows[cols], rows["income"] == ">50K"), tmp_path / "model.skops")
    with_model = base_config | {"model": str(tmp_path / "model.skops"), "monitor": {"attribution_rows": 300, "bootstrap_replicates": 100}}
    monitor.baseline(spark.read.parquet(str(tmp_path / "base.parquet")).repartition(3), tmp_path / "attr", config=with_model)
    attribution = json.loads((tmp_path / "attr" / "model.json").read_text())["attribution"]
    assert 200 < attribution["rows_explained"] < 400 and set(attribution["global_importance"]) == set(cols)  # a hash sample of 4,000
    checked = monitor.check(stream, tmp_path / "attr", config=with_model | {k: config[k] for k in ("id", "timestamp", "ground_truth")})
    assert checked.result["attribution_drift"]["ndcg"] > 0.9  # the same model on rows like the baseline's
    with pytest.raises(DataError, match="has 1 values that are not times"):
        import pyspark.sql.functions as F

        monitor.run(stream.withColumn("ts", F.when(F.col("id") == "r7", F.lit("soon")).otherwise(F.col("ts").cast("string"))), tmp_path / "here", config)


def test_the_documented_spark_example_runs_as_written(spark, tmp_path, monkeypatch, capsys):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "spark.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "docs/spark.md", "exec"), {})  # the session() call joins the tests' local Spark
    printed = capsys.readouterr().out
    assert "DPL" in printed and "Female" in printed and printed.strip().endswith("violations")
    assert (tmp_path / "base" / "statistics.json").exists() and (tmp_path / "out" / "constraint_violations.json").exists()


def test_the_cli_audits_on_spark_from_a_config_or_the_command_line_as_duckdb_does(spark, scored_file, tmp_path):
    from typer.testing import CliRunner

    from assay.cli._main import app

    path, _ = scored_file
    spark.read.parquet(str(path)).createOrReplaceTempView("scored")
    base = (f"dataset_uri: {path}\nlabel: income\nlabel_values_or_threshold: ['>50K']\npredicted_label: pred\nfacet: [{{name_or_index: sex}}]\n"
            "bootstrap_replicates: 200\nseed: 4\nmethods: {post_training_bias: {methods: [DPPL, DI, FT]}}\n")  # fmt: skip
    (tmp_path / "duck.yaml").write_text(base)
    (tmp_path / "table.yaml").write_text(base + "spark: {table: scored, app_name: ignored-the-session-exists}\n")
    runner = CliRunner()
    docs = {}
    for name, args in (("duck", ["duck.yaml"]), ("flag", ["duck.yaml", "--engine", "spark"]), ("master", ["duck.yaml", "--spark-master", "local[2]"]),
                       ("table", ["table.yaml"])):  # fmt: skip
        r = runner.invoke(app, ["audit", str(tmp_path / args[0]), *args[1:], "--out", str(tmp_path / name), "--quiet"])
        assert r.exit_code == 0, r.output
        docs[name] = json.loads((tmp_path / name / "analysis.json").read_text())
    strip = lambda d: [[(m["name"], m["value"]) for m in fv["metrics"] if m["name"] != "FT"] for fv in d["post_training_bias_metrics"]["facets"]["sex"]]  # noqa: E731
    assert strip(docs["flag"]) == strip(docs["master"]) == strip(docs["table"])
    _compare(strip(docs["flag"]), strip(docs["duck"]))
    r = runner.invoke(app, ["audit", str(tmp_path / "duck.yaml"), "--engine", "sparc", "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "--engine must be spark" in r.output
    (tmp_path / "bad.yaml").write_text(base + "spark: {masterr: 'local[2]'}\n")
    r = runner.invoke(app, ["audit", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "y")])
    assert r.exit_code != 0 and "masterr" in r.output and "master" in r.output


# == explanations: attributions computed by Spark's executors ==================================================
@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    """A fitted Adult pipeline (without sex), 1,500 Adult test rows as Parquet, and 30 background rows."""
    from assay.datasets import adult_model, load_adult

    train, test = load_adult("train"), load_adult("test")
    features = [c for c in train.columns if c not in ("income", "fnlwgt", "sex")]
    model = adult_model(features, max_iter=30).fit(train[features], train["income"] == ">50K")
    path = tmp_path_factory.mktemp("explain") / "rows.parquet"
    test.iloc[:1500].to_parquet(path)
    return model, path, train[features].sample(30, random_state=0).reset_index(drop=True)


def _rows_sorted(local):
    """The attributions row by row, in an order of their own (the rows of a repartitioned DataFrame come back in another order)."""
    values = local.to_numpy()
    return values[np.lexsort(values.T[::-1])]


def test_an_explanation_on_spark_equals_the_one_in_process_row_for_row_for_any_partitioning(spark, explained):
    from assay.explain import explain

    model, path, bg = explained
    settings = dict(baseline=bg, max_rows=None, repeats=2, facets=["sex"], bootstrap_replicates=100, pdp_top_k=2, seed=5)
    here = explain(str(path), model, **settings)
    assert here.method["name"] == "sampling" and here.method["exact_unavailable"].startswith("HistGradientBoostingClassifier's probability")
    df = spark.read.parquet(str(path))
    there = explain(df, model, **settings)
    assert df.rdd.getNumPartitions() == 1 and there.method.pop("partitions") == 4 and there.method.pop("engine") == "spark"  # 2 per core
    doc_here, doc_there = here.to_dict(), there.to_dict()
    for doc in (doc_here, doc_there):  # blocks in process, batches on Spark: the same rows evaluated, counted per block
        doc["method"].pop("model_rows_evaluated"), doc["method"].pop("n_jobs", None)
    _compare(doc_there, doc_here)  # the same rows in the same order: every value, interval and group, to the last bits of a sum
    np.testing.assert_array_equal(there.local.to_numpy(), here.local.to_numpy())
    np.testing.assert_array_equal(there.se.to_numpy(), here.se.to_numpy())
    assert there.method["model_rows_evaluated"] == pytest.approx(here.method["model_rows_evaluated"], rel=0.01)
    for parts in (4, 64):  # each row's draws are its own: the same attributions whichever partition a row lands in
        again = explain(df.repartition(parts), model, **settings)
        np.testing.assert_array_equal(_rows_sorted(again.local), _rows_sorted(here.local))
        for f in here.features:
            assert again.global_importance["mean_abs"][f]["value"] == pytest.approx(here.global_importance["mean_abs"][f]["value"], rel=1e-12)


def test_exact_attributions_on_spark_and_rows_the_exact_method_does_not_reproduce(spark, explained, tmp_path):
    from sklearn.linear_model import LinearRegression

    from assay.explain import explain

    model, path, bg = explained
    df = spark.read.parquet(str(path))
    here = explain(str(path), model, baseline=bg, max_rows=None, use_logit=True, pdp_top_k=0, bootstrap_replicates=50)
    there = explain(df.repartition(3), model, baseline=bg, max_rows=None, use_logit=True, pdp_top_k=0, bootstrap_replicates=50)
    assert here.method["name"] == there.method["name"] == "tree"
    np.testing.assert_allclose(_rows_sorted(there.local), _rows_sorted(here.local), rtol=0, atol=1e-12)

    class Quirky(LinearRegression):  # linear, except on rows of age 80 and over: the probe (the first rows) cannot tell
        def predict(self, x):
            return super().predict(x) + 0.5 * (np.asarray(x["age"]) >= 80)

    rows = pd.read_parquet(path)
    rows = rows.iloc[np.argsort(rows["age"].to_numpy() >= 80, kind="stable")].reset_index(drop=True)  # the old ones last
    assert (rows["age"].iloc[:1000] < 80).all() and (rows["age"] >= 80).sum() > 0
    cols = ["age", "education-num", "hours-per-week"]
    quirky = Quirky().fit(rows[cols], rows["capital-gain"])
    rows.to_parquet(tmp_path / "sorted.parquet")
    settings = dict(features=cols, baseline=rows[cols].iloc[:20], max_rows=None, pdp_top_k=0, bootstrap_replicates=50)
    here = explain(rows, quirky, **settings)
    there = explain(spark.read.parquet(str(tmp_path / "sorted.parquet")).repartition(1), quirky, **settings)
    assert here.method["name"] == there.method["name"] == "exact"  # three features: enumeration is cheaper than sampling
    assert "does not reproduce the model's scores (largest difference 0.5)" in there.method["exact_unavailable"]
    np.testing.assert_allclose(there.local.to_numpy(), here.local.to_numpy(), rtol=0, atol=1e-12)


def test_explaining_a_spark_sample_and_a_model_that_fails_on_an_executor(spark, explained):
    from assay.explain import explain

    model, path, bg = explained
    df = spark.read.parquet(str(path))
    cols = ["age", "education-num", "hours-per-week"]
    linear = lambda d: 0.01 * d["age"].to_numpy() + 0.1 * d["education-num"].to_numpy()  # noqa: E731
    samples = [explain(df.repartition(p), linear, features=cols, baseline=bg[cols], max_rows=400, pdp_top_k=1, bootstrap_replicates=20)
               for p in (1, 5)]  # fmt: skip
    assert samples[0].method["rows_explained"] == samples[1].method["rows_explained"]
    assert 300 < samples[0].method["rows_explained"] < 500 and "seeded hash sample of about 400 of 1,500 rows" in samples[0].warnings[0]
    np.testing.assert_array_equal(samples[0].local.to_numpy(), samples[1].local.to_numpy())  # the sample and its order are the same

    def fails_on_old_rows(d):
        if (d["age"] >= 85).any():
            raise ValueError("no scores for ages of 85 and over")
        return 0.01 * d["age"].to_numpy()

    df = df.orderBy("age")  # the old rows last: the checks on the first rows, on the driver, pass
    with pytest.raises(
        DataError, match=r"^explaining the rows on Spark failed: the model failed to score [\d,]+ rows: ValueError: no scores for ages of 85 and over$"
    ):
        explain(df, fails_on_old_rows, features=cols, baseline=bg[cols], max_rows=None, pdp_top_k=0)
    with pytest.raises(DataError, match="'__assay_x' starts with '__assay_'"):
        explain(df.withColumnRenamed("age", "__assay_x"), linear, features=["__assay_x"], max_rows=None)


def test_the_cli_explains_on_spark_as_in_process(spark, explained, tmp_path):
    import jsonschema
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from typer.testing import CliRunner

    from assay.cli._main import app

    _, path, _ = explained
    rows = pd.read_parquet(path)
    cols = ["age", "education-num", "hours-per-week", "capital-gain"]
    sio.dump(LogisticRegression(max_iter=2000).fit(rows[cols], rows["income"] == ">50K"), tmp_path / "model.skops")
    (tmp_path / "explain.yaml").write_text(
        f"dataset_uri: {path}\nlabel: income\nmodel: model.skops\nfacet: [{{name_or_index: sex}}]\n"
        "methods:\n  shap: {use_logit: true, num_clusters: 4}\n  pdp: {top_k_features: 1}\nexplain: {max_rows: null, bootstrap_replicates: 50}\n"
    )
    docs = {}
    for name, extra in (("here", []), ("spark", ["--engine", "spark"])):
        r = CliRunner().invoke(app, ["explain", str(tmp_path / "explain.yaml"), "--out", str(tmp_path / name), "-q", *extra])
        assert r.exit_code == 0, r.output
        docs[name] = json.loads((tmp_path / name / "analysis.json").read_text())
    schema = json.loads((Path(assay.__file__).parent / "schemas" / "analysis.schema.json").read_text())
    jsonschema.validate(docs["spark"], schema)
    here, there = docs["here"]["explanations"], docs["spark"]["explanations"]
    assert there["method"]["engine"] == "spark" and there["method"]["partitions"] >= 1 and "n_jobs" not in there["method"]
    assert here["method"]["name"] == there["method"]["name"] == "linear" and there["method"]["rows_explained"] == 1500
    _compare(there["global_importance"], here["global_importance"], rel=1e-9)  # the same rows in the file's order
    _compare(there["by_group"], here["by_group"], rel=1e-9)
    local_here = pd.read_csv(tmp_path / "here" / "explanations_shap" / "out.csv")
    local_there = pd.read_csv(tmp_path / "spark" / "explanations_shap" / "out.csv")
    np.testing.assert_allclose(local_there.to_numpy(), local_here.to_numpy(), rtol=1e-9, atol=1e-12)


def test_the_cli_monitors_on_spark_as_in_process(spark, adult_scored, tmp_path):
    from typer.testing import CliRunner

    from assay.cli._main import app

    rows = adult_scored.iloc[:6000].reset_index(drop=True)
    rows.iloc[:3000].to_parquet(tmp_path / "base.parquet")
    rows["ts"] = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(np.arange(len(rows)) * 20, "s")  # a day and a bit
    rows.to_parquet(tmp_path / "stream.parquet")
    (tmp_path / "monitor.yaml").write_text("label: income\nlabel_values_or_threshold: ['>50K']\npredicted_label: pred\nfacet: [{name_or_index: sex}]\n"
                                           "timestamp: ts\nmonitor: {window: 1D, bootstrap_replicates: 100}\n")  # fmt: skip
    cfg, runner = str(tmp_path / "monitor.yaml"), CliRunner()

    def cli(*args):
        r = runner.invoke(app, ["monitor", *map(str, args)])
        assert r.exit_code == 0, r.output
        return r.output

    for name, engine in (("here", []), ("there", ["--engine", "spark"])):
        cli("baseline", tmp_path / "base.parquet", "--out", tmp_path / name / "base", "--config", cfg, *engine)
        cli("check", tmp_path / "stream.parquet", "-b", tmp_path / "here" / "base", "-o", tmp_path / name / "check", "--config", cfg, *engine)
        printed = cli("run", tmp_path / "stream.parquet", "-b", tmp_path / "here" / "base", "--config", cfg, "-o", tmp_path / name / "run",
                      *(["--spark-master", "local[2]"] if engine else []))  # fmt: skip
        assert "2 windows of 1D" in printed
    read = lambda *p: json.loads(tmp_path.joinpath(*p).read_text())  # noqa: E731
    _compare(_without_times(read("there", "base", "model.json")), _without_times(read("here", "base", "model.json")), rel=1e-9)
    there, here = read("there", "check", "constraint_violations.json"), read("here", "check", "constraint_violations.json")
    _compare(_without_times(there), _without_times(here), rel=1e-9)
    _same_drift(there, here)
    windows = [read(n, "run", "analysis.json")["monitoring"]["windows"] for n in ("there", "here")]
    assert [w["rows"] for w in windows[0]] == [w["rows"] for w in windows[1]] == [4320, 1680]
    _compare(_without_times(windows[0]), _without_times(windows[1]), rel=1e-9)
    bad = runner.invoke(app, ["monitor", "check", str(tmp_path / "nope.parquet"), "-b", str(tmp_path / "here" / "base"), "-o", str(tmp_path / "x"),
                              "--engine", "spark"])  # fmt: skip
    assert bad.exit_code == 2 and "Spark cannot read" in bad.output and "nope.parquet" in bad.output


def test_a_ten_million_row_audit_on_spark_equals_the_duckdb_audit(spark, adult_scored, tmp_path):
    """The issue's scale check: Adult test, resampled to 10M rows with a sample weight, audited from one Parquet file by DuckDB
    and by Spark (its own partitioning, and 64 partitions); about a minute."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(adult_scored.assign(w=0.5 + (adult_scored["age"] % 7) / 3.0), preserve_index=False)
    index = np.random.default_rng(10).integers(0, len(adult_scored), 10_000_000)
    path = tmp_path / "ten_million.parquet"
    with pq.ParquetWriter(path, table.schema) as writer:
        for start in range(0, len(index), 1_000_000):
            writer.write_table(table.take(pa.array(index[start : start + 1_000_000])), row_group_size=250_000)
    no_ft = {"post_training_methods": [m for m, spec in METRICS.items() if spec.stage == "post_training" and m != "FT"]}
    for settings, exact in ((AUDIT, EXACT), (AUDIT | {"sample_weight": "w"}, set())):
        duck = assay.audit(str(path), **settings, **no_ft).to_dict()
        assert duck["post_training_bias_metrics"]["facets"]["sex"][0]["group"]["size"] + duck["post_training_bias_metrics"]["facets"]["sex"][0][
            "group"]["rest_size"] == 10_000_000  # fmt: skip
        for df in (spark.read.parquet(str(path)), spark.read.parquet(str(path)).repartition(64)):
            # 1e-9: Spark adds 10M scores (and weights) in an order that changes from run to run; a bound near zero that is a
            # difference of two such sums differs by 1e-12 of itself (seen: 1.5e-12)
            _compare(assay.audit(df, **settings, **no_ft).to_dict(), duck, exact=exact, rel=1e-9)


def test_subgroup_discovery_on_spark_finds_the_planted_subgroup_and_counts_every_confirmation_row(spark):
    import pyspark.sql.functions as F
    from test_discover import PLANTED, SETTINGS, _members, _scored

    from assay.datasets import load_adult
    from assay.discover import discover

    frame, _ = _scored(load_adult("train").drop(columns=["fnlwgt"]), 2, PLANTED[1])
    cols = ["age", "workclass", "education", "marital-status", "race", "sex", "hours-per-week"]
    frame = frame[[*cols, "income", "pred"]]
    df = spark.createDataFrame(frame).repartition(3)
    result = discover(df, **(SETTINGS | {"max_depth": 2}), seed=4)
    top = result.found[0]
    assert top["text"] == "race = Black and sex = Female" and result.settings["engine"] == "spark"
    used = ["income", "pred", *cols]  # the documented split: a seeded xxhash64 of the row's values
    split = df.select(*used, (F.pmod(F.xxhash64(*used, F.lit(4), F.lit(7)), F.lit(1 << 30)) < int(0.5 * (1 << 30))).alias("confirm"))
    local = split.toArrow().to_pandas()
    confirm = local["confirm"].to_numpy()
    inside = _members(local, top) & confirm
    bad = (local["pred"] != local["income"]).to_numpy()
    c = top["confirmation"]
    assert (c["rows"], c["rest_rows"]) == (inside.sum(), (confirm & ~inside).sum())  # every confirmation row, exactly
    assert c["value"] == pytest.approx(bad[inside].mean(), rel=1e-12) and c["rest_value"] == pytest.approx(bad[confirm & ~inside].mean(), rel=1e-12)
    assert result.overall["rows"] == len(frame) and result.overall["discovery_rows"] == (~confirm).sum()
    sampled = discover(df, **(SETTINGS | {"max_depth": 2}), seed=4, max_discovery_rows=6000)  # the search on a sample, the test on all
    assert sampled.found[0]["text"] == "race = Black and sex = Female" and "sample of about 6,000" in sampled.warnings[0]
    assert sampled.found[0]["confirmation"]["rows"] == c["rows"] and sampled.settings["discovery_rows_searched"] < 7000
    with pytest.raises(DataError, match="no column 'sexx'"):
        discover(df, **SETTINGS, columns=["sexx"])


def test_assay_discover_engine_spark_reads_the_file_with_spark(spark, tmp_path):
    from test_discover import PLANTED, _scored
    from typer.testing import CliRunner

    from assay.cli._main import app
    from assay.datasets import load_adult

    frame, _ = _scored(load_adult("test").drop(columns=["fnlwgt"]), 1, PLANTED[1])
    frame[["race", "sex", "education", "income", "pred"]].to_parquet(tmp_path / "scored.parquet")
    (tmp_path / "d.yaml").write_text("dataset_uri: scored.parquet\nlabel: income\nlabel_values_or_threshold: ['>50K']\npredicted_label: pred\n"
                                     "discover: {max_depth: 2}\n")  # fmt: skip
    r = CliRunner().invoke(app, ["discover", str(tmp_path / "d.yaml"), "--out", str(tmp_path / "out"), "--engine", "spark", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output[r.output.index("{") :])
    assert doc["settings"]["engine"] == "spark" and doc["subgroups"][0]["text"] == "race = Black and sex = Female"
