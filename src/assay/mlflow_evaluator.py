"""assay as an MLflow evaluator (entry point ``mlflow.model_evaluator`` ``assay``): ``mlflow.models.evaluate(...,
evaluators=["assay"])`` audits the model's predictions by group and logs the metrics, analysis.json and report.html to the run.

    mlflow.models.evaluate(data=frame, targets="income", predictions="pred", model_type="classifier", evaluators=["assay"],
                           evaluator_config={"assay": {"facets": ["sex", "race"], "positive": [">50K"]}})

``evaluator_config``: ``facets`` (columns of the data, required), ``positive`` (the label's positive values, or a threshold),
``bootstrap_replicates`` (1,000), ``confidence_level`` (0.95), ``seed``, ``metrics`` (the registry's names to log; default
DPPL, DI, AD, RD, EqOddsD). Each logged metric is named ``assay.<metric>.<facet>.<group>`` with ``.ci_low``, ``.ci_high``;
a metric that is undefined for a group is not logged (analysis.json says why).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from mlflow.models.evaluation import EvaluationResult, ModelEvaluator

__all__ = ["AssayEvaluator"]

LOGGED = ("DPPL", "DI", "AD", "RD", "EqOddsD")


class AssayEvaluator(ModelEvaluator):
    @classmethod
    def can_evaluate(cls, *, model_type: Any, evaluator_config: Any, **kwargs: Any) -> bool:
        return model_type == "classifier"

    def evaluate(self, *, model_type: Any, dataset: Any, run_id: Any, evaluator_config: Any, model: Any = None, predictions: Any = None,
                 **kwargs: Any) -> EvaluationResult:  # fmt: skip
        from mlflow.tracking import MlflowClient

        import assay
        from assay._errors import ConfigError

        config = dict(evaluator_config or {})
        facets = config.get("facets")
        if not facets:
            raise ConfigError("evaluator_config needs facets: the columns of the data to audit by (e.g. {'facets': ['sex']})")
        frame = dataset.features_data.copy()
        frame["__label"] = dataset.labels_data
        frame["__prediction"] = model.predict(dataset.features_data) if model is not None else dataset.predictions_data
        result = assay.audit(frame, label="__label", label_values_or_threshold=config.get("positive", [1]), predicted_label="__prediction",
                             facets=list(facets), bootstrap_replicates=int(config.get("bootstrap_replicates", 1000)),
                             confidence_level=float(config.get("confidence_level", 0.95)), seed=int(config.get("seed", 0)))  # fmt: skip
        doc = result.to_dict()
        metrics = _metrics(doc, tuple(config.get("metrics", LOGGED)))
        client = MlflowClient()
        for name, value in metrics.items():
            client.log_metric(run_id, name, value)
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "assay"
            out.mkdir()
            import json

            (out / "analysis.json").write_text(json.dumps(doc, indent=2))
            from assay.report import write_report

            write_report(out)
            client.log_artifacts(run_id, str(out), artifact_path="assay")
        return EvaluationResult(metrics=metrics, artifacts={}, run_id=run_id)


def _metrics(doc: dict[str, Any], wanted: tuple[str, ...]) -> dict[str, float]:
    """``assay.<metric>.<facet>.<group>`` (and its interval) for every defined metric of ``wanted``; names MLflow accepts."""
    out: dict[str, float] = {}
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for facet, groups in ((doc.get(key) or {}).get("facets") or {}).items():
            for g in groups:
                value = g["value_or_threshold"]
                shown = " & ".join(map(str, value)) if isinstance(value, list) else str(value)
                for m in g.get("metrics", []):
                    if m["name"] not in wanted or m.get("value") is None:
                        continue
                    base = "assay." + ".".join(re.sub(r"[^A-Za-z0-9_\-. /]", "_", part) for part in (m["name"], facet, shown))
                    out[base] = float(m["value"])
                    if m.get("ci") and m["ci"][0] is not None:
                        out[base + ".ci_low"], out[base + ".ci_high"] = float(m["ci"][0]), float(m["ci"][1])
    return out
