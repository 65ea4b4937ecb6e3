"""Post-processing on many rows: assay's group thresholds against Fairlearn's ThresholdOptimizer, in one run.

Usage: python benchmarks/bench_mitigate.py [--rows 1000000]

Scores: a HistGradientBoosting model trained on UCI Adult train, scored on the
test split, resampled with replacement to --rows rows (with sex as the
group). Both fit equalized-odds and demographic-parity thresholds on the same
rows; printed: fit time, the ratio, and the expected accuracy of each rule.
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
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    train, test = load_adult("train"), load_adult("test")
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]
    model = adult_model(feats)
    model.fit(train[feats], train["income"] == ">50K")
    score = model.predict_proba(test[feats])[:, 1]
    idx = np.random.default_rng(0).integers(0, len(test), args.rows)
    s, y, g = score[idx], (test["income"].to_numpy() == ">50K")[idx].astype(int), test["sex"].to_numpy()[idx]

    class Score(BaseEstimator, ClassifierMixin):
        def fit(self, X, y):
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, X):
            v = np.asarray(X, dtype=float)[:, 0]
            return np.c_[1 - v, v]

    frame = pd.DataFrame({"score": s})
    print(f"{args.rows:,} rows, groups: sex")
    for constraint in ("equalized_odds", "demographic_parity"):
        t0 = time.perf_counter()
        mine = fit_group_thresholds(s, y, g, constraint=constraint)
        t_mine = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = ThresholdOptimizer(estimator=Score().fit(None, None), constraints=constraint, prefit=True, predict_method="predict_proba")
        theirs.fit(frame, y, sensitive_features=g)
        t_theirs = time.perf_counter() - t0
        p_mine = mine.positive_probability(s, g)
        p_theirs = theirs._pmf_predict(frame, sensitive_features=g)[:, 1]
        acc = lambda p: float((p * y + (1 - p) * (1 - y)).mean())  # noqa: E731
        print(f"{constraint}: assay {t_mine:.2f} s, Fairlearn ThresholdOptimizer {t_theirs:.2f} s -> {t_theirs / t_mine:.1f}x; "
              f"expected accuracy assay {acc(p_mine):.4f}, Fairlearn {acc(p_theirs):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
