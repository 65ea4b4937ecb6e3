"""assay robustness, timed as a user runs it, and its exact flip test against brute-force enumeration, one run.

Usage: python benchmarks/bench_robustness.py [--rows 15060 100000] [--brute-rows 300]

Model: a scikit-learn Pipeline (one-hot encoder, then a GradientBoostingClassifier of 100 trees of depth 3) trained on
UCI Adult train's 13 feature columns, saved with skops. Data: Adult test resampled to each number of rows, as CSV.

1. The whole CLI process: `assay robustness CONFIG --out DIR` (sex; proxies age within 3 and marital-status; the default
   5,000 rows tested, 20 perturbations each, the FlipTest on up to 2,000 rows per group), its time and peak memory.
2. The flip test on --brute-rows rows of Adult test with the changes sex, age within 3, hours-per-week within 3 and
   marital-status: assay's exact search (one value per interval between the trees' thresholds) against scoring every allowed
   combination (every integer in each range, every category): seconds, combinations scored, and whether they agree on every
   row.
3. The FlipTest on Adult test (sex): assay's (optimal transport and 5 nearest neighbours, on the same sample) against
   smclarify's FT (numeric features only: it refuses categories), seconds and values.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import _measure
import numpy as np
import pandas as pd

FEATURES = ["age", "workclass", "education-num", "marital-status", "occupation", "relationship", "race", "sex", "capital-gain",
            "capital-loss", "hours-per-week", "native-country", "fnlwgt"]  # fmt: skip


def _model(train: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    cats = [c for c in FEATURES if not pd.api.types.is_numeric_dtype(train[c])]
    pre = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), cats)], remainder="passthrough")
    return make_pipeline(pre, GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)).fit(train[FEATURES], train["income"] == ">50K")


def _cli(model_path: Path, trusted: list[str], test: pd.DataFrame, rows: int, work: Path) -> tuple[float, float]:
    data = test.sample(rows, replace=rows > len(test), random_state=0).reset_index(drop=True)
    data.to_csv(work / f"data-{rows}.csv", index=False)
    config = {"dataset_uri": f"data-{rows}.csv", "label": "income", "label_values_or_threshold": [">50K"], "facet": [{"name_or_index": "sex"}],
              "model": str(model_path), "model_trusted_types": trusted, "features": FEATURES,
              "robustness": {"proxies": [{"column": "age", "within": 3}, "marital-status"]}}  # fmt: skip
    (work / f"c-{rows}.json").write_text(json.dumps(config))
    seconds, mib, out = _measure.assay(["robustness", str(work / f"c-{rows}.json"), "--out", str(work / f"out-{rows}"), "--format", "json"])
    doc = json.loads(out)
    pct = lambda x: f"{x['value'] if isinstance(x, dict) else x:.1%}"  # noqa: E731
    for s in doc["flips"]["sets"]:
        print(f"     flips, {s['changes']}: " + ", ".join(f"{g['group']} {pct(g['flip_rate'])}" for g in s["by_group"]))
    print(
        "     stability: " + ", ".join(f"{g['group']} {pct(g['flip_rate'])} [{g['ci'][0]:.1%}, {g['ci'][1]:.1%}]" for g in doc["stability"]["by_group"]["sex"])
    )
    return seconds, mib


def _brute(rows: pd.DataFrame, decide, changes) -> tuple[np.ndarray, int]:
    own = decide(rows)
    found, scored = np.zeros(len(rows), dtype=bool), 0
    for i in range(len(rows)):
        axes = [list(c.values) if c.values is not None else list(np.arange(*(lambda b: (b[0][0], b[1][0] + 1))(c.box(np.array([float(rows[c.column].iloc[i])])))))
                for c in changes]  # fmt: skip
        combos = list(itertools.product(*axes))
        hybrid = rows.iloc[[i] * len(combos)].reset_index(drop=True)
        for j, c in enumerate(changes):
            col = [v[j] for v in combos]
            hybrid[c.column] = np.asarray(col, dtype=np.int64) if c.values is None else col
        found[i] = (decide(hybrid) != own[i]).any()
        scored += len(combos)
    return found, scored


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[15060, 100000])
    parser.add_argument("--brute-rows", type=int, default=300)
    args = parser.parse_args()
    import skops.io as sio

    from assay.datasets import load_adult
    from assay.robustness import decision_function, flippable, fliptest_ot, parse_changes
    from assay.robustness._changes import read_model

    train, test = load_adult("train"), load_adult("test")
    model = _model(train)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sio.dump(model, work / "m.skops")
        trusted = sio.get_untrusted_types(file=work / "m.skops")
        print("1. assay robustness CONFIG --out DIR (whole process, 2 cores)")
        for rows in args.rows:
            seconds, mib = _cli(work / "m.skops", trusted, test, rows, work)
            print(f"   {rows:>9,} rows: {seconds:6.1f} s, {mib:,.0f} MiB peak")
    rows = test[FEATURES].iloc[: args.brute_rows].reset_index(drop=True)
    changes = parse_changes(rows, "sex", [{"column": "age", "within": 3}, {"column": "hours-per-week", "within": 3}, "marital-status"])
    decide, score = decision_function(model)
    t = time.perf_counter()
    reading = read_model(model, rows, changes, score(rows))
    _, exact, _ = flippable(rows, decide, changes, reading)
    t_exact = time.perf_counter() - t
    t = time.perf_counter()
    truth, scored = _brute(rows, decide, changes)
    t_brute = time.perf_counter() - t
    print(f"2. flip test on {len(rows)} rows ({reading.kind}): assay {t_exact:.2f} s, brute force {t_brute:.2f} s ({scored:,} combinations), "
          f"ratio {t_brute / t_exact:.1f}x; agree on {int((exact == truth).sum())} of {len(rows)} rows; {int(truth.sum())} rows flip")  # fmt: skip
    from smclarify.bias.metrics.posttraining import FT

    predicted = decide(test[FEATURES])
    women = (test["sex"] == "Female").to_numpy()
    print(f"   (the difference in positive rates, men - women: {predicted[~women].mean() - predicted[women].mean():+.3f})")
    t = time.perf_counter()
    (female,) = [g for g in fliptest_ot(test, predicted, facet="sex", features=FEATURES, max_rows=2000) if g["group"] == "Female"]
    t_ours = time.perf_counter() - t
    numeric = [c for c in FEATURES if pd.api.types.is_numeric_dtype(test[c])]
    t = time.perf_counter()
    theirs = FT(test[numeric].reset_index(drop=True), (test["sex"] == "Female").reset_index(drop=True), pd.Series(predicted))
    t_theirs = time.perf_counter() - t
    print(f"3. FlipTest, sex = Female: assay {t_ours:.2f} s (transport FT {female['optimal_transport']['FT']['value']:+.3f}, "
          f"nearest neighbours {female['nearest_neighbours']['FT']['value']:+.3f}, on {female['sampled_d']:,} + {female['sampled_a']:,} rows); "
          f"smclarify FT {t_theirs:.2f} s ({theirs:+.3f}, numeric features only, every row, its sign reversed from its documentation)")  # fmt: skip


if __name__ == "__main__":
    main()
