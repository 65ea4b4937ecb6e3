"""The MLflow evaluator plugin: a run made through mlflow.models.evaluate(..., evaluators=["assay"]) holds the audit's metrics,
analysis.json and report.html (a local SQLite tracking store)."""

from __future__ import annotations

import json

import pytest

mlflow = pytest.importorskip("mlflow", reason="mlflow-skinny is in the test extra")  # the package's extra, installed by make test


def test_an_mlflow_run_through_the_plugin_holds_the_metrics_and_artifacts(tmp_path, adult_scored, monkeypatch):
    import warnings

    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")  # a local file: the database backend MLflow 3 keeps up to date
    data = adult_scored[["age", "sex", "race", "income", "pred"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own deprecation notices (the file store, pydantic) are not assay's
        with mlflow.start_run() as run:
            result = mlflow.models.evaluate(data=data, targets="income", predictions="pred", model_type="classifier", evaluators=["assay"],
                                            evaluator_config={"assay": {"facets": ["sex", "race"], "positive": [">50K"], "bootstrap_replicates": 200}})  # fmt: skip
    women = (data["sex"] == "Female").to_numpy()
    sel = (data["pred"] == ">50K").to_numpy()
    assert result.metrics["assay.DI.sex.Female"] == pytest.approx(sel[women].mean() / sel[~women].mean(), rel=1e-12)
    logged = mlflow.get_run(run.info.run_id).data.metrics
    assert logged["assay.DI.sex.Female"] == pytest.approx(result.metrics["assay.DI.sex.Female"])
    assert logged["assay.DI.sex.Female.ci_low"] < logged["assay.DI.sex.Female"] < logged["assay.DI.sex.Female.ci_high"]
    assert any(k.startswith("assay.RD.race.") for k in logged)
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "assay")}
    assert {"assay/analysis.json", "assay/report.html"} <= artifacts
    from pathlib import Path

    doc = json.loads(Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="assay/analysis.json")).read_text())
    assert "post_training_bias_metrics" in doc and doc["settings"]["bootstrap_replicates"] == 200
