"""assay explain against shap, in one run, on the same model and rows.

Usage: python benchmarks/bench_explain.py [--rows 100] [--tree-rows 1000] [--trees 200]

Model: LightGBM (200 trees x 31 leaves) on UCI Adult train, 13 features
with the categorical ones ordinal-coded (shap's interventional TreeExplainer
refuses categorical splits when given a background), explained in log-odds on
Adult test rows against 100 background rows drawn from train.

1. Tree models: assay's exact interventional TreeSHAP against shap's
   TreeExplainer(feature_perturbation="interventional"): time and largest
   difference, on 100 and 1,000 rows.
2. Black box: the same model called only through its prediction function.
   shap's PermutationExplainer with its defaults and assay's antithetic
   sampling at several budgets, each against the exact values: time, relative
   RMSE, and (assay) how often the true error is within 2 reported standard
   errors. Printed: assay's speed-up at no more error than shap's, and its
   error reduction at no more time.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def _codes(frame: pd.DataFrame, train: pd.DataFrame, feats: list[str]) -> pd.DataFrame:
    d = frame[feats].copy()
    for c in feats:
        if not pd.api.types.is_numeric_dtype(d[c]):
            d[c] = pd.Categorical(d[c].astype(str), categories=sorted(train[c].astype(str).unique())).codes.astype(float)
    return d


def main() -> None:
    import lightgbm as lgb
    import shap

    from assay.datasets import load_adult
    from assay.explain import explain
    from assay.explain._shapley import sampled_shapley

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100, help="rows explained by both")
    ap.add_argument("--tree-rows", type=int, default=1000, help="rows for the second TreeSHAP timing")
    ap.add_argument("--trees", type=int, default=200)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    train, test = load_adult("train"), load_adult("test")
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]
    xtrain = _codes(train, train, feats)
    model = lgb.LGBMClassifier(n_estimators=args.trees, num_leaves=31, verbose=-1, random_state=0).fit(xtrain, train["income"] == ">50K")
    bg = xtrain.sample(100, random_state=0).reset_index(drop=True)
    x = _codes(test, train, feats).iloc[: args.rows].reset_index(drop=True)
    f = lambda d: model.predict(d, raw_score=True)  # noqa: E731  (the black box: log-odds out, nothing else known)
    print(f"Adult LightGBM {args.trees} trees, {len(feats)} features, {len(x)} rows explained, {len(bg)} background rows, log-odds")

    # 1. exact TreeSHAP, at two sizes
    print("\n1. exact interventional TreeSHAP")
    explain(x.iloc[:5], model, use_logit=True, baseline=bg, max_rows=None, pdp_features=[], bootstrap_replicates=0)  # warm-up
    for rows in (x, _codes(test, train, feats).iloc[: args.tree_rows].reset_index(drop=True)):
        t0 = time.perf_counter()
        mine = explain(rows, model, use_logit=True, baseline=bg, max_rows=None, pdp_features=[], bootstrap_replicates=0)
        t_assay = time.perf_counter() - t0
        assert mine.method["name"] == "tree"
        t0 = time.perf_counter()
        ref = shap.TreeExplainer(model, bg, feature_perturbation="interventional", model_output="raw").shap_values(rows, check_additivity=False)
        t_shap = time.perf_counter() - t0
        ref = np.asarray(ref[1] if isinstance(ref, list) else ref)
        print(f"   {len(rows):,} rows: assay {t_assay:.3f} s (reading the model and checking it included), shap {t_shap:.3f} s: "
              f"assay {t_shap / t_assay:.1f}x faster; largest difference {np.abs(mine.local.to_numpy() - ref).max():.2e}; "
              f"assay additivity error {mine.method['additivity_max_error']:.1e}")  # fmt: skip
        if len(rows) == len(x):
            exact = mine.local.to_numpy()

    # 2. black box
    scale = float(np.sqrt((exact**2).mean()))
    print("\n2. black box (prediction function only), error against the exact values")
    t0 = time.perf_counter()
    np.random.seed(0)  # shap draws its permutations from numpy's global generator
    explainer = shap.PermutationExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)))
    sv = explainer(x, silent=True).values
    t_perm = time.perf_counter() - t0
    e_perm = float(np.sqrt(((sv - exact) ** 2).mean()) / scale)
    print(f"   shap PermutationExplainer (defaults): {t_perm:6.2f} s, relative RMSE {e_perm:.4f}")
    runs = []
    for repeats in (2, 3, 5, 10, 20, 50):
        t0 = time.perf_counter()
        est = sampled_shapley(f, x, bg, np.ones(len(bg)), repeats=repeats, rng=np.random.default_rng(repeats))
        secs = time.perf_counter() - t0
        err = est.values - exact
        e = float(np.sqrt((err**2).mean()) / scale)
        cover = float(np.mean(np.abs(err) <= 2 * est.se))
        runs.append((repeats, secs, e))
        print(f"   assay sampling, repeats={repeats:2d}:        {secs:6.2f} s, relative RMSE {e:.4f}, within 2 SE {cover:.3f}, "
              f"{est.model_rows / len(x):,.0f} distinct model rows per row")  # fmt: skip
    at_error = [r for r in runs if r[2] <= e_perm]
    at_time = [r for r in runs if r[1] <= t_perm]
    if at_error:
        r = min(at_error, key=lambda r: r[1])
        print(f"   at no more error than shap: assay repeats={r[0]} is {t_perm / r[1]:.1f}x faster")
    if at_time:
        r = min(at_time, key=lambda r: r[2])
        print(f"   at no more time than shap: assay repeats={r[0]} has {e_perm / r[2]:.1f}x lower error")


if __name__ == "__main__":
    main()
