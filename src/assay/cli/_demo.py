"""`assay demo`: a real audit of UCI Adult, end to end, with embedded defaults."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from assay._analysis import AnalysisDocument, write_atomic

DEMO_CONFIG = """\
# assay audit config written by `assay demo`. Clarify's analysis_config keys,
# plus assay's extensions (confidence_level, bootstrap_replicates, seed, min_group_size).
dataset_uri: adult_test_scored.parquet
dataset_type: application/x-parquet
label: income
label_values_or_threshold: [">50K"]
probability: score                  # the model's score: predicted positive is score > 0.5
probability_threshold: 0.5
excluded_columns: [predicted_income] # not a feature (FlipTest's neighbours use the other columns)
facet:
  - name_or_index: sex
  - name_or_index: race
  - name_or_index: [sex, race]        # intersectional: every observed sex x race combination
  - name_or_index: age
    value_or_threshold: [40]          # continuous: group d is age > 40
group_variable: education            # strata for CDDL / CDDPL
methods:
  pre_training_bias: {methods: all}
  post_training_bias: {methods: all}
confidence_level: 0.95
bootstrap_replicates: {replicates}
seed: 0
min_group_size: 30
"""


EXPLAIN_CONFIG = """\
# assay explain config written by `assay demo`. Clarify's methods.shap / methods.pdp keys,
# plus assay's extensions (model, model_trusted_types, explain).
dataset_uri: adult_test_scored.parquet
label: income
model: model.skops                  # saved with skops: loading it runs no code
model_trusted_types:                # types skops asks you to confirm; listed because this file was written by assay demo
  - functools.partial
  - sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor
  - sklearn.utils.validation.check_array
facet:
  - name_or_index: sex
  - name_or_index: race
methods:
  shap:
    use_logit: true                 # log-odds: exact TreeSHAP (probabilities are not a sum over trees)
    num_clusters: 20                # baseline: 20 k-prototypes centres of the data, weighted by cluster size
    agg_method: mean_abs
    save_local_shap_values: true
    seed: 0
  pdp:
    top_k_features: 4
    grid_resolution: 15
explain:
  max_rows: 2000                    # a seeded sample of the test rows
  bootstrap_replicates: 1000
"""


MITIGATE_CONFIG = """\
# assay mitigate config written by `assay demo`: each method and the unmitigated model are trained on the
# training split, predict the test split and are audited there (accuracy against disparity, with intervals).
dataset_uri: adult_train.parquet
test_dataset_uri: adult_test.parquet
label: income
label_values_or_threshold: [">50K"]
facet:
  - name_or_index: sex              # the first facet: the groups the mitigators act on
  - name_or_index: [sex, race]
excluded_columns: [fnlwgt]
model: assay.datasets:adult_model   # module:function returning an unfitted classifier (mitigation retrains it)
mitigate:
  metric: EqOddsD                   # the disparity on the Pareto plot
  folds: 5                          # post-processing: thresholds fitted on out-of-fold scores of the training split
  bootstrap_replicates: {replicates}
  methods:
    - reweighing
    - {name: thresholds, constraint: demographic_parity}
    - {name: thresholds, constraint: equalized_odds}
    - {name: reject_option, constraint: demographic_parity, bound: 0.05}
    # slower, with Fairlearn (pip install 'assay[mitigate]'):
    # - {name: exponentiated_gradient, constraint: equalized_odds, eps: 0.02}
"""


def run_demo(out: Path, *, replicates: int, console: Console) -> None:
    import numpy as np

    from assay._config import audit_config
    from assay.cli._render import render_audit
    from assay.datasets import adult_model, load_adult

    out.mkdir(parents=True, exist_ok=True)
    console.print("[bold]assay demo[/]: UCI Adult (census income), bundled with assay; provenance in assay/datasets/PROVENANCE.md")
    train, test = load_adult("train"), load_adult("test")
    features = [c for c in train.columns if c not in ("income", "fnlwgt")]
    t0 = time.perf_counter()
    model = adult_model(features)
    model.fit(train[features], (train["income"] == ">50K").astype(int))
    proba = model.predict_proba(test[features])[:, 1]
    scored = test.copy()
    scored["score"] = proba
    scored["predicted_income"] = np.where(proba > 0.5, ">50K", "<=50K")
    accuracy = float((scored["predicted_income"] == scored["income"]).mean())
    console.print(
        f"trained HistGradientBoostingClassifier on {len(train):,} train rows in {time.perf_counter() - t0:.1f} s; "
        f"test accuracy {accuracy:.4f} on {len(test):,} rows"
    )
    data_path = out / "adult_test_scored.parquet"
    scored.to_parquet(data_path, index=False)
    config_path = out / "audit.yaml"
    config_path.write_text(DEMO_CONFIG.replace("{replicates}", str(replicates)), encoding="utf-8")
    t0 = time.perf_counter()
    result = audit_config(config_path, progress=lambda msg: console.print(f"[dim]{msg}...[/]"))
    elapsed = time.perf_counter() - t0
    document = AnalysisDocument(out)
    target = write_atomic(document.path, result.to_json())  # the demo starts the document afresh
    frame = result.to_frame()
    frame.to_csv(out / "metrics.csv", index=False)
    render_audit(result, console, show="significant")
    console.print(f"\naudit took {elapsed:.2f} s. The table shows the metrics with at least one significant disparity; all are in the files.\n")

    import skops.io as sio

    from assay._config import explain_config
    from assay.cli._render import render_explain

    sio.dump(model, out / "model.skops")
    explain_path = out / "explain.yaml"
    explain_path.write_text(EXPLAIN_CONFIG, encoding="utf-8")
    t0 = time.perf_counter()
    explained, _ = explain_config(explain_path, progress=lambda msg: console.print(f"[dim]{msg}...[/]"))
    elapsed = time.perf_counter() - t0
    document.add_explanations(explained, save_local=True)
    render_explain(explained, console)
    console.print(f"\nexplanations took {elapsed:.2f} s.")
    from assay._config import mitigate_config
    from assay.cli._render import render_mitigation

    train.to_parquet(out / "adult_train.parquet", index=False)
    test.to_parquet(out / "adult_test.parquet", index=False)
    mitigate_path = out / "mitigate.yaml"
    mitigate_path.write_text(MITIGATE_CONFIG.replace("{replicates}", str(replicates)), encoding="utf-8")
    console.print()
    t0 = time.perf_counter()
    mitigation = mitigate_config(mitigate_path, progress=lambda msg: console.print(f"[dim]{msg}...[/]"))
    elapsed = time.perf_counter() - t0
    document.set("mitigation", mitigation)
    render_mitigation(mitigation, console)
    console.print(f"\nmitigation took {elapsed:.2f} s.")
    from assay.report import write_report

    write_report(out, title="assay demo: UCI Adult income model")
    console.print("[bold]Outputs[/]:")
    for path, what in (
        (data_path, "the test split with the model's score and predicted label"),
        (config_path, "the audit config (Clarify's keys); rerun with: assay audit " + str(config_path) + " --out " + str(out)),
        (out / "model.skops", "the trained model (skops: safe to load)"),
        (explain_path, "the explain config; rerun with: assay explain " + str(explain_path) + " --out " + str(out)),
        (mitigate_path, "the mitigation config; rerun with: assay mitigate " + str(mitigate_path) + " --out " + str(out)),
        (
            target,
            "analysis.json: every metric with value, 95% CI, p-value, q-value, group sizes, confusion matrices, per-group AUC and "
            "calibration; 'explanations': global importance with CIs, importance by group, PDP/ICE; and 'mitigation': each method's "
            "accuracy and disparities on the test split",
        ),
        (out / "report.html", "the report: open it in a browser (tables with intervals, plots, definitions, limits; no network needed)"),
        (out / "metrics.csv", "the same results as a tidy table, one row per metric"),
        (out / "explanations_shap" / "out.csv", "one row of Shapley values per explained row (local_shap.parquet adds standard errors)"),
    ):
        console.print(f"  {path}  [dim]{what}[/]")
