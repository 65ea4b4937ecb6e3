"""The CLI as a user runs it: a subprocess, real files, Clarify's own config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def assay(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def clarify_csv(adult_scored, tmp_path_factory) -> Path:
    """Adult in the shape of Clarify's documentation example: a header-less CSV, Target/Age/Gender/Income/Occupation."""
    d = tmp_path_factory.mktemp("clarify")
    df = adult_scored.assign(Target=adult_scored["y"], Gender=(adult_scored["sex"] == "Female").astype(int))
    df = df[["Target", "age", "Gender", "capital-gain", "occupation"]]
    df.to_csv(d / "train.csv", index=False, header=False)
    return d / "train.csv"


def test_clarify_docs_config_runs_unchanged(clarify_csv, tmp_path):
    out = tmp_path / "out"
    r = assay("audit", str(DATA / "clarify_analysis_config.json"), "--data", str(clarify_csv), "--out", str(out), "--replicates", "200")
    assert r.returncode == 0, r.stderr
    result = json.loads((out / "analysis.json").read_text())
    pre = result["pre_training_bias_metrics"]
    assert pre["label"] == "Target" and pre["label_value_or_threshold"] == "1"
    [gender] = pre["facets"]["Gender"]
    assert gender["value_or_threshold"] == 1
    names = [m["name"] for m in gender["metrics"]]
    assert names == ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
    assert all(m["value"] is not None and m["ci"][0] is not None for m in gender["metrics"])
    # no predictions in the data: post-training is skipped, and the reason is said
    assert "post_training_bias_metrics" not in result
    assert any("predictor" in w for w in result["warnings"])
    assert "DPL" in r.stdout and "Wrote" in r.stdout


def test_json_format_and_python_api_agree(adult_scored, tmp_path):
    import assay as lib

    path = tmp_path / "scored.parquet"
    adult_scored.to_parquet(path)
    cfg = tmp_path / "audit.yaml"
    cfg.write_text(
        f"dataset_uri: {path}\nlabel: income\nlabel_values_or_threshold: ['>50K']\npredicted_label: pred\n"
        "facet:\n  - name_or_index: sex\n  - name_or_index: [sex, race]\nbootstrap_replicates: 100\nseed: 7\n"
    )
    r = assay("audit", str(cfg), "--out", str(tmp_path / "o"), "--format", "json")
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    api = lib.audit_config(cfg).to_dict()
    assert cli["post_training_bias_metrics"] == api["post_training_bias_metrics"]
    inter = cli["post_training_bias_metrics"]["facets"]["sex x race"]
    assert len(inter) == 10 and inter[0]["value_or_threshold"] == ["Female", "Amer-Indian-Eskimo"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("label: incme\nlabel_values_or_threshold: ['>50K']\nfacet: [{name_or_index: sex}]\n", "label 'incme' is not a column"),
        ("lable: income\n", "unknown config key 'lable'. Did you mean 'label'?"),
        (
            "label: income\nlabel_values_or_threshold: ['>50K']\nfacet: [{name_or_index: sex}]\nlabel_distribution: binary\n",
            "label_distribution must be 'classes'",
        ),
        ("label: income\nlabel_values_or_threshold: ['>50K']\nfacet: [{name_or_index: Sex}]\n", "facet 'Sex' is not a column"),
        (
            "label: income\nlabel_values_or_threshold: ['>50K']\nfacet: [{name_or_index: sex}]\nbootstrap_replicates: many\n",
            "bootstrap_replicates must be a whole number",
        ),
        ("label: [unclosed\n", "cannot parse config"),
    ],
)
def test_bad_input_is_one_clear_line(adult_scored, tmp_path, config, message):
    path = tmp_path / "d.parquet"
    adult_scored.head(500).to_parquet(path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config)
    out = tmp_path / "out"
    out.mkdir()
    (out / "analysis.json").write_text("previous result")
    r = assay("audit", str(cfg), "--data", str(path), "--out", str(out))
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert (out / "analysis.json").read_text() == "previous result"  # nothing stored is lost


def test_missing_data_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset_uri: nowhere.parquet\nlabel: y\nlabel_values_or_threshold: [1]\nfacet: [{name_or_index: g}]\n")
    r = assay("audit", str(cfg), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_metrics_listing():
    r = assay("metrics", "--format", "json")
    assert r.returncode == 0
    names = [m["name"] for m in json.loads(r.stdout)]
    for n in ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL", "DPPL", "DI", "DCAcc", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "GE", "FT",
              "EqOddsD", "EqOddsR", "EqOppD", "AOD", "FPRD", "FNRD", "FDRD", "FORD", "DPR"]:  # fmt: skip
        assert n in names


def test_demo_runs(tmp_path):
    r = assay("demo", "--out", str(tmp_path / "demo"), "--replicates", "100")
    assert r.returncode == 0, r.stderr
    assert "Outputs" in r.stdout
    from importlib import resources

    import jsonschema

    doc = json.loads((tmp_path / "demo" / "analysis.json").read_text())
    jsonschema.validate(doc, json.loads(resources.files("assay").joinpath("schemas/analysis.schema.json").read_text()))
    assert doc["pre_training_bias_metrics"]["facets"] and doc["post_training_bias_metrics"]["facets"]
    e = doc["explanations"]
    assert e["method"]["name"] == "tree" and e["method"]["background_rows"] == 20 and e["method"]["additivity_max_error"] < 1e-9
    assert set(e["by_group"]) == {"sex", "race"} and len(e["pdp"]) == 4
    assert "UCI Adult income model" in (tmp_path / "demo" / "report.html").read_text()
    rerun = assay("explain", str(tmp_path / "demo" / "explain.yaml"), "--out", str(tmp_path / "demo"), "-q")  # what the demo tells the user
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((tmp_path / "demo" / "analysis.json").read_text())["explanations"]["global_importance"] == e["global_importance"]
    m = doc["mitigation"]
    assert [r["title"] for r in m["results"]] == ["none", "reweighing", "thresholds (demographic_parity)", "thresholds (equalized_odds)",
                                                  "reject_option (demographic_parity, 0.05)"]  # fmt: skip
    assert 'id="mitigation"' in (tmp_path / "demo" / "report.html").read_text()
    rerun = assay("mitigate", str(tmp_path / "demo" / "mitigate.yaml"), "--out", str(tmp_path / "demo"), "-q")
    assert rerun.returncode == 0, rerun.stderr
    again = json.loads((tmp_path / "demo" / "analysis.json").read_text())
    assert [r["accuracy"] for r in again["mitigation"]["results"]] == [r["accuracy"] for r in m["results"]]  # seeded: the same decisions
    assert again["explanations"] == json.loads(json.dumps(e))  # the rest of the file is kept


def test_clarify_json_lines_with_a_features_jmespath(clarify_csv, tmp_path):
    """Clarify's JSON Lines dataset: {"features": [...], "label": y} per line, features named by headers (label last)."""
    import pandas as pd

    names = ["Target", "Age", "Gender", "Income", "Occupation"]
    df = pd.read_csv(clarify_csv, header=None, names=names)
    lines = [json.dumps({"data": {"features": [int(r.Age), int(r.Gender), int(r.Income), r.Occupation]}, "label": int(r.Target)}) for r in df.itertuples()]
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n")
    cfg = {"dataset_type": "application/jsonlines", "headers": ["Age", "Gender", "Income", "Occupation", "Target"], "features": "data.features",
           "label": "label", "label_values_or_threshold": [1], "facet": [{"name_or_index": "Gender", "value_or_threshold": [1]}],
           "methods": {"pre_training_bias": {"methods": "all"}}, "bootstrap_replicates": 0}  # fmt: skip
    (tmp_path / "jsonl.json").write_text(json.dumps({**cfg, "dataset_uri": str(tmp_path / "train.jsonl")}))
    csv_cfg = {"dataset_type": "text/csv", "headers": names, "label": "Target", "label_values_or_threshold": [1],
               "facet": [{"name_or_index": "Gender", "value_or_threshold": [1]}], "methods": {"pre_training_bias": {"methods": "all"}},
               "bootstrap_replicates": 0, "dataset_uri": str(clarify_csv)}  # fmt: skip
    (tmp_path / "csv.json").write_text(json.dumps(csv_cfg))
    for name in ("jsonl", "csv"):
        r = assay("audit", str(tmp_path / f"{name}.json"), "--out", str(tmp_path / name), "--quiet")
        assert r.returncode == 0, r.stderr
    get = lambda name: {
        m["name"]: m["value"]
        for m in json.loads((tmp_path / name / "analysis.json").read_text())["pre_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]
    }  # noqa: E731
    ours, ref = get("jsonl"), get("csv")
    assert ours == ref and ours["DPL"] is not None
    (tmp_path / "bad.json").write_text(json.dumps({**cfg, "features": "data.missing", "dataset_uri": str(tmp_path / "train.jsonl")}))
    r = assay("audit", str(tmp_path / "bad.json"), "--out", str(tmp_path / "bad"))
    assert r.returncode == 2 and "features 'data.missing' gives NoneType, not a list" in " ".join(r.stderr.split())
