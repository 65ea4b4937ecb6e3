"""Files a Clarify user already has render, and damaged inputs to the CLI get one line, not a traceback."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from test_cli import assay

DATA = Path(__file__).parent / "data"


def test_a_clarify_analysis_json_renders_as_a_report_and_builds_a_card(tmp_path):
    out = tmp_path / "clarify"
    out.mkdir()
    shutil.copy(DATA / "clarify" / "analysis.json", out / "analysis.json")
    doc = json.loads((out / "analysis.json").read_text())
    r = assay("report", str(out))
    assert r.returncode == 0, r.stderr
    html = (out / "report.html").read_text()
    for m in doc["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]:
        if m["value"] is not None:
            assert f"{m['value']:.3f}" in html, m["name"]
    assert "Group variable is empty or not provided" in html  # Clarify's error is the reason
    assert "computes none" in html and "No metric is significant" not in html  # no tests: not "nothing significant"
    assert "feature_0" in html and "0.022" in html and "0.508" in html  # global SHAP and the expected value
    assert assay("card", "init", "--out", str(tmp_path / "info.yaml")).returncode == 0
    r = assay("card", "build", str(out), "--info", str(tmp_path / "info.yaml"), "--store", str(tmp_path / "cards"), "--by", "ana")
    assert r.returncode == 0, r.stderr
    card = assay("card", "export", str(tmp_path / "cards"), "--format", "sagemaker").stdout
    content = json.loads(card)["Content"]
    analyses = content["additional_information"]["custom_details"]["quantitative_analyses"]
    di = next(a for a in analyses if a["metric"] == "DI")
    assert di["value"] == 0.711340206185567 and di["group_size"] is None and di["ci"] == [None, None]
    assert [g["feature"] for g in content["additional_information"]["custom_details"]["explanations"]["global_importance"]] == [
        "feature_0",
        "feature_1",
        "feature_2",
    ]


def _one_line(r, *needles):
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    text = " ".join(r.stderr.split())
    for n in needles:
        assert n in text, text


def test_damaged_models_data_and_logs_get_one_line(tmp_path):
    (tmp_path / "bad.skops").write_bytes(b"garbage")
    with zipfile.ZipFile(tmp_path / "noschema.skops", "w") as z:
        z.writestr("x.txt", "hi")
    (tmp_path / "models").mkdir()
    adult = Path(__file__).parents[1] / "src" / "assay" / "datasets" / "adult.test"
    for model, why in (("bad.skops", "cannot read model 'bad.skops' as a skops file (BadZipFile"),
                       ("noschema.skops", "no item named 'schema.json'"), ("models", "is a directory")):  # fmt: skip
        (tmp_path / "cfg.yaml").write_text(f"dataset_uri: {adult}\nlabel: income\nmodel: {model}\n")
        _one_line(assay("explain", str(tmp_path / "cfg.yaml"), "--out", str(tmp_path / "o")), why)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1garbagePAR1")
    _one_line(assay("monitor", "baseline", str(tmp_path / "bad.parquet"), "--out", str(tmp_path / "b")), "cannot read", "as Parquet")
    _one_line(assay("monitor", "baseline", str(adult), "--out", str(tmp_path / "b"), "--batch-rows", "0"), "batch_rows must be a whole number")
    store = tmp_path / "store"
    store.mkdir()
    (store / "log.jsonl").write_bytes(bytes(range(256)))
    r = assay("card", "verify", str(store))
    assert r.returncode == 1 and "Traceback" not in r.stderr and "line 1 is not JSON text" in " ".join((r.stdout + r.stderr).split())
