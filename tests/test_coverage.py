"""Do the 95% intervals cover? 1,000 synthetic data sets with known group rates."""

from __future__ import annotations

import numpy as np
import pandas as pd

import assay


def _coverage(n_sets: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    n, share_d, rate_a, rate_d = 600, 0.3, 0.30, 0.20
    truth = {"DPL": rate_a - rate_d, "DI": None}
    pred_a, pred_d = 0.35, 0.25
    truth["DI"] = pred_d / pred_a
    hits = {"DPL": 0, "DI": 0}
    for i in range(n_sets):
        d = rng.random(n) < share_d
        y = rng.random(n) < np.where(d, rate_d, rate_a)
        p = rng.random(n) < np.where(d, pred_d, pred_a)
        df = pd.DataFrame({"g": np.where(d, "d", "a"), "y": y.astype(int), "p": p.astype(int)})
        r = assay.audit(df, label="y", label_values_or_threshold=[1], facets=[{"name_or_index": "g", "value_or_threshold": ["d"]}],
                        predicted_label="p", pre_training_methods=["DPL"], post_training_methods=["DI"], bootstrap_replicates=1000, seed=i)  # fmt: skip
        for stage, name in (("pre_training", "DPL"), ("post_training", "DI")):
            lo, hi = r.metric(stage, "g", "d", name).ci
            hits[name] += lo <= truth[name] <= hi
    return {k: v / n_sets for k, v in hits.items()}


def test_95_percent_intervals_cover_93_to_97_percent():
    cov = _coverage(1000, seed=2026)
    for name, c in cov.items():
        assert 0.93 <= c <= 0.97, (name, c)


def _value_coverage(n_sets: int, seed: int) -> dict[str, float]:
    """AUCD (DeLong) and MDL (Welch) on synthetic scores and outcomes with known group parameters."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    n, share_d = 600, 0.3
    shift_a, shift_d = 1.2, 0.8  # positives' scores are N(shift, 1), negatives' N(0, 1): AUC = Phi(shift / sqrt(2))
    truth = {"AUCD": norm.cdf(shift_a / np.sqrt(2)) - norm.cdf(shift_d / np.sqrt(2)), "MDL": 2.0}
    hits = {"AUCD": 0, "MDL": 0}
    for i in range(n_sets):
        d = rng.random(n) < share_d
        y = rng.random(n) < 0.4
        score = rng.standard_normal(n) + y * np.where(d, shift_d, shift_a)
        outcome = rng.exponential(np.where(d, 3.0, 5.0))  # skewed, means 3 and 5 (MDL = a - d = 2)
        df = pd.DataFrame({"g": np.where(d, "d", "a"), "y": y.astype(int), "s": score, "v": outcome})
        facet = [{"name_or_index": "g", "value_or_threshold": ["d"]}]
        r = assay.audit(df, label="y", label_values_or_threshold=[1], facets=facet, probability="s",
                        pre_training_methods=None, post_training_methods=["AUCD"], bootstrap_replicates=0)  # fmt: skip
        lo, hi = r.metric("post_training", "g", "d", "AUCD").ci
        hits["AUCD"] += lo <= truth["AUCD"] <= hi
        r = assay.audit(df, label="v", label_values_or_threshold=4.0, facets=facet, pre_training_methods=["MDL"],
                        post_training_methods=None, bootstrap_replicates=0)  # fmt: skip
        lo, hi = r.metric("pre_training", "g", "d", "MDL").ci
        hits["MDL"] += lo <= truth["MDL"] <= hi
    return {k: v / n_sets for k, v in hits.items()}


def test_analytic_intervals_of_score_and_regression_metrics_cover():
    cov = _value_coverage(1000, seed=7)
    for name, c in cov.items():
        assert 0.93 <= c <= 0.97, (name, c)
