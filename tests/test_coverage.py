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
