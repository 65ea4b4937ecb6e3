"""Post-processing on many rows: assay's group thresholds against Fairlearn's ThresholdOptimizer and AIF360's
reject-option search, in one run.

Usage: python benchmarks/bench_mitigate.py [--rows 1000000] [--roc-rows 100000]

Scores: a HistGradientBoosting model trained on UCI Adult train, scored on the
test split, resampled with replacement to --rows rows (with sex as the
group). assay and Fairlearn fit equalized-odds, demographic-parity and
equal-opportunity thresholds on the same rows; printed: fit time, the ratio,
and the expected accuracy of each rule, then the time to apply the fitted
rule to every row. Then what only assay fits (predictive parity, reject
option, ten sex x race groups) on the same rows, and reject-option
classification against AIF360's RejectOptionClassifierCV on --roc-rows rows
(different searches: AIF360 cross-validates a 0.05-step grid of threshold and
margin; assay sweeps 101 x 51 pairs on the count tensor without folds).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def main() -> None:
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.base import BaseEstimator, ClassifierMixin

    from assay.datasets import adult_model, load_adult
    from assay.mitigate import fit_group_thresholds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--roc-rows", type=int, default=100_000)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    train, test = load_adult("train"), load_adult("test")
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]
    model = adult_model(feats)
    model.fit(train[feats], train["income"] == ">50K")
    score = model.predict_proba(test[feats])[:, 1]
    idx = np.random.default_rng(0).integers(0, len(test), args.rows)
    s, y, g = score[idx], (test["income"].to_numpy() == ">50K")[idx].astype(int), test["sex"].to_numpy()[idx]
    both = test[["sex", "race"]].iloc[idx].reset_index(drop=True)

    class Score(BaseEstimator, ClassifierMixin):
        def fit(self, X, y):
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, X):
            v = np.asarray(X, dtype=float)[:, 0]
            return np.c_[1 - v, v]

    frame = pd.DataFrame({"score": s})
    print(f"{args.rows:,} rows, groups: sex")
    for constraint in ("equalized_odds", "demographic_parity", "true_positive_rate_parity"):
        t0 = time.perf_counter()
        mine = fit_group_thresholds(s, y, g, constraint=constraint)
        t_mine = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = ThresholdOptimizer(estimator=Score().fit(None, None), constraints=constraint, prefit=True, predict_method="predict_proba")
        theirs.fit(frame, y, sensitive_features=g)
        t_theirs = time.perf_counter() - t0
        t0 = time.perf_counter()
        p_mine = mine.positive_probability(s, g)
        a_mine = time.perf_counter() - t0
        t0 = time.perf_counter()
        p_theirs = theirs._pmf_predict(frame, sensitive_features=g)[:, 1]
        a_theirs = time.perf_counter() - t0
        acc = lambda p: float((p * y + (1 - p) * (1 - y)).mean())  # noqa: E731
        print(f"{constraint}: fit assay {t_mine:.2f} s, Fairlearn ThresholdOptimizer {t_theirs:.2f} s -> {t_theirs / t_mine:.1f}x; "
              f"apply assay {a_mine:.2f} s, Fairlearn {a_theirs:.2f} s -> {a_theirs / a_mine:.1f}x; "
              f"expected accuracy assay {acc(p_mine):.4f}, Fairlearn {acc(p_theirs):.4f}")  # fmt: skip
    from assay.mitigate import fit_reject_option

    for what, fit in (("predictive_parity", lambda: fit_group_thresholds(s, y, g, constraint="predictive_parity")),
                      ("reject_option (demographic_parity, bound 0.05)", lambda: fit_reject_option(s, y, g)),
                      ("equalized_odds on sex x race (10 groups)", lambda: fit_group_thresholds(s, y, both, constraint="equalized_odds"))):  # fmt: skip
        t0 = time.perf_counter()
        r = fit()
        print(f"assay only, {what}: fit {time.perf_counter() - t0:.2f} s, expected accuracy {r.accuracy:.4f}")
    n = args.roc_rows
    from aif360.sklearn.postprocessing import RejectOptionClassifierCV

    probas = pd.DataFrame({"0": 1 - s[:n], "1": s[:n]}, index=pd.Index(g[:n], name="sex"))
    t0 = time.perf_counter()
    aif = RejectOptionClassifierCV("sex", scoring="statistical_parity", step=0.05).fit(probas, pd.Series(y[:n], index=probas.index), priv_group="Male")
    t_aif = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = fit_reject_option(s[:n], y[:n], g[:n], constraint="demographic_parity", bound=0.1, objective="balanced_accuracy")
    t_ours = time.perf_counter() - t0
    print(f"reject option on {n:,} rows: AIF360 RejectOptionClassifierCV ({len(aif.cv_results_['params'])} pairs x 5 folds) {t_aif:.2f} s; "
          f"assay fit_reject_option (101 x 51 pairs) {t_ours:.2f} s -> {t_aif / t_ours:.1f}x; chosen: AIF360 {aif.best_params_}, "
          f"assay threshold {r.operating_point['threshold']:.3f} margin {r.operating_point['margin']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
