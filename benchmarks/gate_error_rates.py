"""How often `assay check` fails a model that meets its rule, and one that does not, against a point-estimate gate (the
TFMA / Giskard kind: the value inside the bounds) with the same bounds, in one run.

Usage: python benchmarks/gate_error_rates.py [--seeds 200] [--rows 4000]

Data: two groups, A (60% of the rows) and B; labels with a base rate of 0.3 in both; the model selects A's rows with
probability 0.3 and B's with 0.3 x DI, so the true disparate impact of B against A is DI. Rule: DI of group B within
[0.8, 1.25] (alpha 0.05). Scenarios: DI 1.0 (fair), 0.85 (fair, near the bound), 0.8 (on the bound: a model that just meets
the rule), 0.6 (biased), and 0.85 with only 60 rows in B (a small group). For each: the share of seeds in which each gate
fails, and in which assay's is inconclusive.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from assay.gate import check, load_policy

AUDIT = {"label": "y", "label_values_or_threshold": [1], "predicted_label": "yhat", "facet": [{"name_or_index": "g"}], "bootstrap_replicates": 0}
RULE = {"metric": "DI", "facet": "g", "group": "B", "within": [0.8, 1.25]}


def sample(rows: int, share_b: float, di: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    b = rng.random(rows) < share_b
    y = (rng.random(rows) < 0.3).astype(int)
    yhat = (rng.random(rows) < np.where(b, 0.3 * di, 0.3)).astype(int)
    return pd.DataFrame({"g": np.where(b, "B", "A"), "y": y, "yhat": yhat})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--rows", type=int, default=4000)
    args = ap.parse_args()
    policy = load_policy({"audit": AUDIT, "alpha": 0.05, "rules": [RULE]})
    scenarios = [("fair, DI 1.0", 1.0, 0.4), ("fair, DI 0.85", 0.85, 0.4), ("on the bound, DI 0.8", 0.8, 0.4), ("biased, DI 0.6", 0.6, 0.4),
                 ("fair, DI 0.85, 60 rows in B", 0.85, 60 / args.rows)]  # fmt: skip
    print(f"{args.seeds} seeds, {args.rows:,} rows, rule: DI of B within [0.8, 1.25], alpha 0.05")
    print(f"{'scenario':32} {'assay fails':>12} {'inconclusive':>13} {'point gate fails':>17}")
    for name, di, share in scenarios:
        fails = unsure = point = 0
        for seed in range(args.seeds):
            d = check(policy, sample(args.rows, share, di, 10_000 + seed)).decisions[0]
            fails += d.state == "fail"
            unsure += d.state == "inconclusive"
            point += d.value is None or not 0.8 <= d.value <= 1.25
        n = args.seeds
        print(f"{name:32} {fails / n:>12.1%} {unsure / n:>13.1%} {point / n:>17.1%}")


if __name__ == "__main__":
    main()
