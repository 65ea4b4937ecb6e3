"""Config files as models: the shipped JSON Schema is the models', files the SageMaker SDK wrote run unchanged, a bad key or value
is named with what was expected, and the audit's settings are checked by one set of fields whether given as a config or as arguments."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

import assay
from assay._config import AnalysisConfig, audit_config, config_schema, load_config
from assay._errors import ConfigError

SDK = Path(__file__).parent / "data" / "clarify_sdk"
SDK_CONFIGS = sorted(SDK.glob("*.json"))


def shipped_schema() -> dict:
    return json.loads(resources.files("assay").joinpath("schemas/config.schema.json").read_text())


def test_the_shipped_schema_is_the_models():
    assert shipped_schema() == config_schema(), "regenerate it: python -m assay._config"


@pytest.fixture(scope="module")
def adult():
    from assay.datasets import load_adult

    df = load_adult("test")
    df["predicted"] = (df["education-num"] >= 13).map({True: ">50K", False: "<=50K"}).astype(object)  # a fixed rule: predictions known exactly
    return df


def test_there_are_sdk_written_configs():
    assert len(SDK_CONFIGS) >= 8 and "sagemaker 2." in (SDK / "VERSION").read_text()


@pytest.mark.parametrize("path", SDK_CONFIGS, ids=lambda p: p.stem)
def test_configs_the_sagemaker_sdk_wrote_are_valid_and_audit(path, adult):
    raw = json.loads(path.read_text())
    jsonschema.validate(raw, shipped_schema())
    cfg = load_config(path)
    assert cfg.label == "income" and cfg.headers == [c for c in adult.columns if c != "predicted"]
    if "facet" not in raw:  # an explainability job: no bias to audit
        with pytest.raises(ConfigError, match="the config has no 'facet'"):
            audit_config(path, data=adult)
        return
    frame = adult if cfg.predicted_label else adult.drop(columns="predicted")
    result = audit_config(path, data=frame, bootstrap_replicates=0)
    stage = result.pre_training if "pre_training_bias" in raw["methods"] else result.post_training
    assert set(stage.facets) == {f["name_or_index"] if isinstance(f["name_or_index"], str) else " x ".join(f["name_or_index"]) for f in raw["facet"]}
    asked = raw["methods"].get("pre_training_bias", {}).get("methods")
    if isinstance(asked, list):
        assert [m.name for m in stage.facets["sex"][0].metrics] == asked
    if "report" in raw["methods"]:
        assert any("methods.report is ignored" in w for w in result.warnings)
    if "segment_config" in raw:
        assert any("'segment_config' is not supported yet" in w for w in result.warnings)
    if "predictor" in raw and not cfg.predicted_label:
        assert result.post_training is None and any("'predictor' endpoint" in w for w in result.warnings)


def test_an_sdk_config_gives_the_hand_computed_values(adult):
    r = audit_config(SDK / "bias_pre_training_all.json", data=adult.drop(columns="predicted"), bootstrap_replicates=0)
    (fv,) = r.pre_training.facets["sex"]
    assert fv.value_or_threshold == "Female"
    d, a = adult[adult["sex"] == "Female"], adult[adult["sex"] != "Female"]
    q = lambda g: (g["income"] == ">50K").mean()  # noqa: E731
    assert next(m for m in fv.metrics if m.name == "DPL").value == pytest.approx(q(a) - q(d), abs=1e-12)
    assert next(m for m in fv.metrics if m.name == "CI").value == pytest.approx((len(a) - len(d)) / len(adult), abs=1e-12)
    assert next(m for m in fv.metrics if m.name == "CDDL").value is not None  # group_variable race, as the SDK wrote it
    r = audit_config(SDK / "bias_pre_training_age_threshold.json", data=adult.drop(columns="predicted"), bootstrap_replicates=0)
    (fv,) = r.pre_training.facets["age"]
    n_d = int((adult["age"] > 40).sum())  # Clarify's threshold: d is age in (40, max]
    assert fv.group.size == n_d and next(m for m in fv.metrics if m.name == "CI").value == pytest.approx((len(adult) - 2 * n_d) / len(adult), abs=1e-12)
    r = audit_config(SDK / "bias_post_training_predicted_label.json", data=adult, bootstrap_replicates=0)
    fv = next(v for v in r.post_training.facets["sex"] if v.value_or_threshold == "Female")
    p = lambda g: (g["predicted"] == ">50K").mean()  # noqa: E731
    assert next(m for m in fv.metrics if m.name == "DPPL").value == pytest.approx(p(a) - p(d), abs=1e-12)


def test_the_sdk_explainability_settings_are_read():
    cfg = load_config(SDK / "explainability_shap_pdp.json")
    shap, pdp = cfg.methods.shap, cfg.methods.pdp
    assert (shap.seed, shap.num_samples, shap.agg_method, shap.save_local_shap_values) == (7, 100, "mean_abs", False)
    assert len(shap.baseline[0]) == 13 and (pdp.grid_resolution, pdp.top_k_features, pdp.features) == (10, 10, ["age", "hours-per-week"])
    cfg = load_config(SDK / "bias_and_explainability.json")
    assert (cfg.methods.shap.num_clusters, cfg.methods.shap.agg_method) == (3, "median")


BAD = [
    ({"lable": "income"}, "unknown config key 'lable'. Did you mean 'label'?"),
    ({"explain": {"repeat": 2}}, "unknown key explain.repeat. Did you mean 'repeats'?"),
    ({"monitor": {"alpah": 0.1}}, "unknown key monitor.alpah. Did you mean 'alpha'?"),
    ({"fliptest": {"max_row": 10}}, "unknown key fliptest.max_row. Did you mean 'max_rows'?"),
    ({"facet": [{"name_or_index": "sex", "value_or_treshold": [1]}]}, "unknown key facet[0].value_or_treshold. Did you mean 'value_or_threshold'?"),
    ({"methods": {"shap": {"agg_method": "mean"}}}, "methods.shap.agg_method must be one of mean_abs, median, mean_sq, got 'mean'"),
    ({"methods": {"pdp": {"grid_resolution": "15"}}}, "methods.pdp.grid_resolution must be a whole number, got '15'"),
    ({"mitigate": {"folds": 1}}, "mitigate.folds must be a whole number >= 2, got 1"),
    ({"mitigate": {"methods": [{"constraint": "equalized_odds"}]}}, "mitigate.methods[0] must be a method name, or {name: METHOD"),
    ({"monitor": {"alerts": [{"webhook": "ftp://host/x"}]}}, "monitor.alerts[0].webhook must be a string matching ^https?://, got 'ftp://host/x'"),
    ({"monitor": {"alerts": [{"command": []}]}}, "monitor.alerts[0].command must be a command line, or a list [program, args...], got []"),
    ({"confidence_level": 1.5}, "confidence_level must be a number < 1, got 1.5"),
    ({"bootstrap_replicates": True}, "bootstrap_replicates must be a whole number, got True"),
    ({"seed": -3}, "seed must be a whole number >= 0, got -3"),
    ({"label": 2.5}, "label must be a column name or index, got 2.5"),
    ({"facet": "sex", "label_distribution": "binary"}, "label_distribution must be 'classes' (every label class) or 'positive'"),
    ({"probability_threshold": math.nan}, "probability_threshold must be a finite number, got nan"),
    ({"headers": "a,b,c"}, "headers must be a list, got 'a,b,c'"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "message"), BAD, ids=[m.split(" ")[0] if not m.startswith("unknown") else m.split(" ")[2] for _, m in BAD])
def test_a_bad_config_is_refused_by_the_models_and_by_the_shipped_schema(raw, message):
    with pytest.raises(ConfigError) as info:
        load_config(raw)
    assert message in str(info.value)
    if not any(isinstance(v, float) and math.isnan(v) for v in raw.values()):  # JSON has no NaN; YAML's .nan is the models' to refuse
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(raw, shipped_schema())


def test_a_yaml_file_is_checked_the_same_way(tmp_path):
    path = tmp_path / "audit.yaml"
    path.write_text("label: income\nmonitor:\n  min_quality_change: -1\n")
    with pytest.raises(ConfigError, match=r"monitor.min_quality_change must be a number >= 0, got -1"):
        load_config(path)
    path.write_text("label: income\nground_truth: {dataset_uri: gt.csv}\n")
    with pytest.raises(ConfigError, match=r"ground_truth is joined on an id: name the id column"):
        load_config(path)


SHARED = ["confidence_level", "bootstrap_replicates", "seed", "min_group_size", "label_type", "label_distribution", "probability_threshold"]
VALUES = [0, 1, -1, 2.5, 5.0, 0.5, True, "3", None, "auto", "positive", [1], math.inf]


@pytest.mark.parametrize("key", SHARED)
def test_the_audit_and_its_config_check_a_setting_alike(key):
    """The config's field for an audit setting and audit()'s are one: the same value passes both or fails both, with one message."""
    from assay.bias._settings import spec_of

    for value in VALUES:
        try:
            load_config({key: value})
            config_error = None
        except ConfigError as exc:
            config_error = str(exc)
        try:
            spec_of({"label": "y", "facets": ["s"], key: value})
            audit_error = None
        except ConfigError as exc:
            audit_error = str(exc)
        if value is None and key != "probability_threshold":
            continue  # an absent setting: a config leaves the key out, audit() takes its default
        assert config_error == audit_error, (key, value)


def test_monitoring_thresholds_are_one_model_for_the_cli_and_the_service():
    from pydantic import ValidationError

    from assay._config._models import MonitorOptions, MonitorThresholds
    from assay.service._monitoring import MonitoringIn

    assert issubclass(MonitoringIn, MonitorThresholds) and issubclass(MonitorOptions, MonitorThresholds)
    for bad in ({"alpha": 1.5}, {"confidence_level": 0}, {"min_quality_change": -0.1}, {"alpha": "0.1"}):
        with pytest.raises(ConfigError):
            load_config({"monitor": bad})
        with pytest.raises(ValidationError):
            MonitoringIn.model_validate(bad)
    assert MonitoringIn.model_validate({"alpha": 0.2}).alpha == load_config({"monitor": {"alpha": 0.2}}).monitor.alpha == 0.2


def test_public_load_config_returns_the_model():
    cfg = assay.load_config({"label": "income", "facet": ["sex", {"name_or_index": ["sex", "race"]}]})
    assert isinstance(cfg, AnalysisConfig) and cfg.base is None
    assert [f.name_or_index for f in cfg.facet] == ["sex", ["sex", "race"]]
    assert cfg.given("label") and not cfg.given("seed") and cfg.seed == 0


def test_a_missing_positive_label_is_named_not_misread():
    with pytest.raises(ConfigError, match=r"^label_values_or_threshold is required: the positive value\(s\) of label 'y'"):
        assay.audit({"y": [0, 1], "s": ["a", "b"]}, label="y", facets=["s"], label_values_or_threshold=None)
    assert load_config({"label_values_or_threshold": None}).label_values_or_threshold is None
