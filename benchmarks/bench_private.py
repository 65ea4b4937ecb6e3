"""A differentially private audit, timed as a user runs it, against the exact audit and against OpenDP counting the rows itself.

Usage: python benchmarks/bench_private.py [--rows 15060 1000000]

Data: UCI Adult test with a rule-based prediction (education-num >= 13 or capital-gain > 5000), resampled to each number of
rows, as CSV with all its feature columns. Facets sex and race, label income, every metric, 1,000 bootstrap replicates.

1. The whole CLI process: `assay audit CONFIG` without and with `differential_privacy: {epsilon: 1, domain: ...}` (the
   private one adds the release and a bootstrap that draws noise too), time and peak memory.
2. The release alone, in one process on the same table: assay (one GROUP BY of the rows, then OpenDP's discrete Laplace on
   the 40 cells of the domain) against OpenDP's own histogram (`make_count_by_categories` over each row's cell key, then the
   same `then_laplace`): seconds, and whether the two released tables agree within the noise.
3. `assay privacy` with `privacy.epsilon_accuracy` (epsilons 0.1, 0.3, 1, 3, 10; 10 releases each), time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import _measure
import numpy as np
import pandas as pd

RACES = ["Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White"]
DOMAIN = {"sex": ["Female", "Male"], "race": RACES, "income": ["<=50K", ">50K"]}


def _data(rows: int) -> pd.DataFrame:
    from assay.datasets import load_adult

    d = load_adult("test")
    d["pred"] = np.where((d["education-num"] >= 13) | (d["capital-gain"] > 5000), ">50K", "<=50K")
    return d.sample(rows, replace=rows > len(d), random_state=0).reset_index(drop=True)


def _config(csv: str, private: bool, accuracy: bool = False) -> dict:
    c = {"dataset_uri": csv, "label": "income", "label_values_or_threshold": [">50K"], "predicted_label": "pred",
         "facet": [{"name_or_index": "sex"}, {"name_or_index": "race"}], "bootstrap_replicates": 1000}  # fmt: skip
    if private or accuracy:
        c["differential_privacy"] = {"epsilon": 1.0, "domain": DOMAIN}
    if accuracy:
        c["privacy"] = {"scan": False, "epsilon_accuracy": {"runs": 10}}
    return c


def _releases(d: pd.DataFrame) -> None:
    import narwhals as nw
    import opendp.prelude as dp

    from assay._tabulate import as_frame, tabulate
    from assay._tabulate._private import private_table

    dp.enable_features("contrib")
    keys = {"f:sex": "sex", "f:race": "race", "y": "income", "p": "pred"}
    t0 = time.perf_counter()
    table = tabulate(as_frame(d), {k: nw.col(c) for k, c in keys.items()})
    ours, rel = private_table(table, {"f:sex": DOMAIN["sex"], "f:race": RACES, "y": DOMAIN["income"], "p": DOMAIN["income"]}, 1.0)
    t_assay = time.perf_counter() - t0
    t0 = time.perf_counter()
    cell = d["sex"].astype(str) + "|" + d["race"].astype(str) + "|" + d["income"].astype(str) + "|" + d["pred"].astype(str)
    categories = [f"{s}|{r}|{y}|{p}" for s in DOMAIN["sex"] for r in RACES for y in DOMAIN["income"] for p in DOMAIN["income"]]
    hist = dp.t.make_count_by_categories(dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance(), categories, MO=dp.L1Distance[int])
    meas = hist >> dp.m.then_laplace(scale=rel.scale)
    theirs = np.clip(np.array(meas(cell.tolist())[:-1], dtype=float), 0, None)
    t_opendp = time.perf_counter() - t0
    mine = {tuple(ours.values(k)[i] for k in keys): ours.count[i] for i in range(ours.n_cells)}
    diff = np.array([mine[tuple(c.split("|"))] - theirs[j] for j, c in enumerate(categories)])
    within = np.abs(diff) <= 6 * np.sqrt(2) * rel.noise_sd  # two independent releases: the difference has twice the variance
    print(f"  release of {len(d):,} rows into {rel.cells} cells: assay {t_assay:.3f} s, OpenDP histogram {t_opendp:.3f} s "
          f"({t_opendp / t_assay:.1f}x); cells agree within the noise: {within.sum()} of {len(within)} (max |difference| {np.abs(diff).max():.0f})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[15_060, 1_000_000])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for rows in args.rows:
            d = _data(rows)
            d.to_csv(work / f"d-{rows}.csv", index=False)
            print(f"{rows:,} rows x {d.shape[1]} columns")
            for name, private in (("exact", False), ("private (epsilon 1)", True)):
                (work / "c.json").write_text(json.dumps(_config(f"d-{rows}.csv", private)))
                s, mib, _ = _measure.assay(["audit", str(work / "c.json"), "--out", str(work / f"o-{rows}-{private}"), "--format", "json"])
                print(f"  assay audit, {name}: {s:.2f} s, peak {mib:.0f} MiB")
            _releases(d)
            (work / "a.json").write_text(json.dumps(_config(f"d-{rows}.csv", False, accuracy=True)))
            s, mib, _ = _measure.assay(["privacy", str(work / "a.json"), "--out", str(work / f"a-{rows}"), "--format", "json"])
            print(f"  assay privacy, accuracy against epsilon (5 epsilons x 10 releases): {s:.2f} s, peak {mib:.0f} MiB")


if __name__ == "__main__":
    main()
