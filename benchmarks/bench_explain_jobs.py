"""Splitting explained rows over processes: assay explain with n_jobs=1 against n_jobs=2, in one run.

Usage: python benchmarks/bench_explain_jobs.py [--rows 10000]

Model: a scikit-learn random forest (50 trees, depth 10, n_jobs=1) on five
numeric Adult columns, called as a plain function so that assay samples
(the case where processes help: one single-threaded model). Printed: time per
setting, the speed-up, and whether the values are identical (they must be:
draws are seeded per block of rows).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def main() -> None:
    from sklearn.ensemble import RandomForestClassifier

    from assay.datasets import load_adult
    from assay.explain import explain

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    train = load_adult("train")
    cols = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss"]
    forest = RandomForestClassifier(n_estimators=50, max_depth=10, n_jobs=1, random_state=0).fit(train[cols], train["income"] == ">50K")
    f = lambda d: forest.predict_proba(d)[:, 1]  # noqa: E731
    print(f"{args.rows:,} rows, {len(cols)} features, 100 background rows, sampling; {os.cpu_count()} cores")
    runs = {}
    for jobs in (1, 2):
        t0 = time.perf_counter()
        r = explain(train[cols], f, max_rows=args.rows, n_jobs=jobs, algorithm="sampling", pdp_features=[], bootstrap_replicates=0)
        runs[jobs] = (time.perf_counter() - t0, r.local.to_numpy())
        print(f"n_jobs={jobs}: {runs[jobs][0]:.1f} s")
    print(f"speed-up with 2 processes: {runs[1][0] / runs[2][0]:.2f}x; identical values: {np.array_equal(runs[1][1], runs[2][1])}")


if __name__ == "__main__":
    main()
