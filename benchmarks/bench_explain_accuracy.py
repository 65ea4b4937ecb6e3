"""Accuracy, cost and standard-error calibration of assay's sampled Shapley values against exact enumeration.

Usage: python benchmarks/bench_explain_accuracy.py [--rows 20]

Model: LightGBM, 200 trees x 31 leaves, on UCI Adult train with 12 features
(categoricals as pandas categories), explained in log-odds against 100
background rows. Exact values: all 2^12 coalitions against every background
row (about a minute). For each `repeats`, five seeds: relative RMSE, model
rows per explained row, and the share of errors within 1 and 2 standard errors.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def main() -> None:
    import lightgbm as lgb

    from assay.datasets import load_adult
    from assay.explain._shapley import exact_shapley, sampled_shapley

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    train, test = load_adult("train"), load_adult("test")
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]

    def prep(d: pd.DataFrame) -> pd.DataFrame:
        d = d[feats].copy()
        for c in feats:
            if not pd.api.types.is_numeric_dtype(d[c]):
                d[c] = pd.Categorical(d[c].astype(str), categories=sorted(train[c].astype(str).unique()))
        return d

    model = lgb.LGBMClassifier(n_estimators=200, num_leaves=31, verbose=-1, random_state=0).fit(prep(train), train["income"] == ">50K")
    f = lambda d: model.predict(d, raw_score=True)  # noqa: E731
    bg = prep(train).sample(100, random_state=0).reset_index(drop=True)
    x = prep(test).iloc[: args.rows].reset_index(drop=True)
    w = np.ones(len(bg))
    t0 = time.perf_counter()
    exact = exact_shapley(f, x, bg, w)
    print(f"exact enumeration: {time.perf_counter() - t0:.1f} s, {exact.model_rows / len(x):,.0f} model rows per explained row")
    scale = np.sqrt((exact.values**2).mean())
    for repeats in (2, 3, 5):
        errs, zs, secs = [], [], []
        for seed in range(5):
            t0 = time.perf_counter()
            est = sampled_shapley(f, x, bg, w, repeats=repeats, rng=np.random.default_rng(seed))
            secs.append(time.perf_counter() - t0)
            err = est.values - exact.values
            errs.append(err)
            zs.append(np.abs(err) / est.se)
        e, z = np.array(errs), np.array(zs)
        print(f"sampling repeats={repeats}: {np.mean(secs):.2f} s, {est.model_rows / len(x):,.0f} model rows per row, "
              f"relative RMSE {np.sqrt((e**2).mean()) / scale:.4f}, within 1 SE {np.mean(z <= 1):.3f}, within 2 SE {np.mean(z <= 2):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
