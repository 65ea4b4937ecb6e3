"""Write the analysis configs of this folder with the SageMaker Python SDK itself (not with assay).

Run by hand, in an environment of its own: ``pip install 'sagemaker<3'`` (2.257.7 wrote the files here), then
``python tests/data/clarify_sdk/generate.py``. Each file is what ``SageMakerClarifyProcessor`` uploads as the Clarify job's
``analysis_config.json`` (``_AnalysisConfigGenerator``), for columns of UCI Adult, so that assay's tests can run them on it.
"""

import json
import os
from pathlib import Path

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

import sagemaker  # noqa: E402
from sagemaker.clarify import (  # noqa: E402
    BiasConfig,
    DataConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    SegmentationConfig,
    SHAPConfig,
    _AnalysisConfigGenerator,
)

HERE = Path(__file__).parent
ADULT = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship", "race", "sex",
         "capital-gain", "capital-loss", "hours-per-week", "native-country", "income"]  # fmt: skip
BASE = {"s3_data_input_path": "s3://bucket/adult/test.csv", "s3_output_path": "s3://bucket/clarify-output", "label": "income"}
MODEL = ModelConfig(model_name="adult-xgb", instance_count=1, instance_type="ml.m5.xlarge", accept_type="text/csv", content_type="text/csv")


def data(**kw):
    return DataConfig(**{**BASE, "headers": ADULT, "dataset_type": "text/csv", **kw})


configs = {
    "bias_pre_training_all": _AnalysisConfigGenerator.bias_pre_training(
        data(), BiasConfig(label_values_or_threshold=[">50K"], facet_name="sex", facet_values_or_threshold=["Female"], group_name="race"), "all"),
    "bias_pre_training_list_two_facets": _AnalysisConfigGenerator.bias_pre_training(
        data(), BiasConfig(label_values_or_threshold=[">50K"], facet_name=["sex", "race"], facet_values_or_threshold=[["Female"], None]),
        ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"]),
    "bias_pre_training_age_threshold": _AnalysisConfigGenerator.bias_pre_training(
        data(), BiasConfig(label_values_or_threshold=[">50K"], facet_name="age", facet_values_or_threshold=[40]), "all"),
    "bias_post_training_predicted_label": _AnalysisConfigGenerator.bias_post_training(
        data(predicted_label="predicted"), BiasConfig(label_values_or_threshold=[">50K"], facet_name="sex"), None, "all", None),
    "bias_both_endpoint": _AnalysisConfigGenerator.bias(
        data(excluded_columns=["fnlwgt"]), BiasConfig(label_values_or_threshold=[">50K"], facet_name="sex", group_name="education"),
        MODEL, ModelPredictedLabelConfig(probability_threshold=0.6), "all", "all"),
    "bias_segments": _AnalysisConfigGenerator.bias_pre_training(
        data(segmentation_config=[SegmentationConfig(name_or_index="age", segments=[["[17, 40)", "[40, 90]"]], config_name="by_age")]),
        BiasConfig(label_values_or_threshold=[">50K"], facet_name="sex"), "all"),
    "explainability_shap_pdp": _AnalysisConfigGenerator.explainability(
        data(excluded_columns=["fnlwgt"]), MODEL, ModelPredictedLabelConfig(probability=0),
        [SHAPConfig(baseline=[[39, "State-gov", "Bachelors", 13, "Never-married", "Adm-clerical", "Not-in-family", "White", "Male", 2174, 0, 40,
                               "United-States"]], num_samples=100, agg_method="mean_abs", use_logit=False, save_local_shap_values=False, seed=7),
         PDPConfig(features=["age", "hours-per-week"], grid_resolution=10)]),
    "bias_and_explainability": _AnalysisConfigGenerator.bias_and_explainability(
        data(predicted_label="predicted"), MODEL, ModelPredictedLabelConfig(),
        SHAPConfig(num_clusters=3, agg_method="median", save_local_shap_values=True),
        BiasConfig(label_values_or_threshold=[">50K"], facet_name="sex"), "all", ["DPPL", "DI", "DCAcc", "FT"]),
}  # fmt: skip

for name, cfg in configs.items():
    (HERE / f"{name}.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
(HERE / "VERSION").write_text(f"written by sagemaker {sagemaker.__version__} (tests/data/clarify_sdk/generate.py)\n", encoding="utf-8")
print(f"wrote {len(configs)} configs with sagemaker {sagemaker.__version__}")
