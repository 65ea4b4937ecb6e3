"""Time the full bias audit: assay's CLI on a 10M-row Parquet file against AIF360 and Fairlearn.

Usage: python benchmarks/bench_audit.py [--rows 10000000] [--peer-rows 1000000] [--fairlearn-rows 300000]

The data is UCI Adult's test split, scored by a logistic regression and
resampled with replacement to the requested size, with its feature columns
(age, education, hours, capital gain and loss, workclass, occupation, marital
status) and the score beside the role columns, as a real table has them. The
floor: DuckDB's bare GROUP BY of the role columns on the same file, timed in this process and as a whole process (Python
started, DuckDB imported, the query run) as assay's CLI is timed. The audit: facets sex, race
and sex x race (each value against the rest), every pre- and post-training
metric, 1,000 bootstrap replicates (assay only: the peers have no intervals); and once more without FlipTest, the one metric
that reads rows (a nearest-neighbour search on a 20,000-row sample), not counts, to show what it costs.
The peers compute the comparable subset (AIF360: SPD, DI, EOD, AOD, FPR/FNR
differences per comparison; Fairlearn: a MetricFrame of count, base rate,
selection rate, TPR, FPR, TNR, FNR, accuracy and precision, the per-group
quantities behind DPL, DPPL, DI, DPR, EqOdds, EqOpp, FPRD, FNRD, AD and DAR,
with differences and ratios). Rows per second are
compared, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import _measure
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def scored_adult() -> pd.DataFrame:
    from sklearn.linear_model import LogisticRegression

    from assay.datasets import load_adult

    train, test = load_adult("train"), load_adult("test")
    cols = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss"]
    model = LogisticRegression(max_iter=2000).fit(np.log1p(train[cols]), train["income"] == ">50K")
    return pd.DataFrame({
        "sex": test["sex"], "race": test["race"], "y": (test["income"] == ">50K").astype(np.int8),
        "yhat": model.predict(np.log1p(test[cols])).astype(np.int8),
        "score": model.predict_proba(np.log1p(test[cols]))[:, 1],
        # the feature columns a real table has beside the role columns (FlipTest searches neighbours in them)
        **{c: test[c] for c in ("age", "education-num", "hours-per-week", "capital-gain", "capital-loss", "workclass", "occupation", "marital-status")},
    }).reset_index(drop=True)  # fmt: skip


def resample(df: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    idx = np.random.default_rng(seed).integers(0, len(df), n)
    return df.iloc[idx].reset_index(drop=True)


def audit_yaml(path: Path, extra: str = "") -> str:
    """The benchmark's audit: facets sex, race and sex x race, every metric, 1,000 replicates; ``extra`` adds keys."""
    return (
        f"dataset_uri: {path}\nlabel: y\nlabel_values_or_threshold: [1]\npredicted_label: yhat\nprobability: score\n"
        "facet:\n  - name_or_index: sex\n  - name_or_index: race\n  - name_or_index: [sex, race]\n"
        "bootstrap_replicates: 1000\nseed: 0\n" + extra
    )


def time_assay_cli(path: Path, workdir: Path, *, fliptest: bool = True) -> tuple[float, float]:
    """The whole ``assay audit`` process; without FlipTest (the one metric that reads rows, not counts), every other metric."""
    from assay.bias._registry import resolve

    cfg = workdir / ("audit.yaml" if fliptest else "audit-without-ft.yaml")
    others = ", ".join(m.name for m in resolve("all", "post_training") if m.name != "FT")
    methods = "" if fliptest else f"methods:\n  post_training_bias: {{methods: [{others}]}}\n"
    cfg.write_text(audit_yaml(path, methods))
    elapsed, rss, _ = _measure.assay(["audit", str(cfg), "--out", str(workdir / "out"), "--quiet", "--show", "significant"])
    return elapsed, rss


_PHASES = """
import sys, time
t0 = time.perf_counter()
from assay._config import audit_config
last = [time.perf_counter()]
print(f"  phase: imports {last[0] - t0:.2f} s")
def step(msg):
    now = time.perf_counter(); print(f"  phase: {now - last[0]:.2f} s, then: {msg}"); last[0] = now
audit_config(sys.argv[1], progress=step)
print(f"  phase: {time.perf_counter() - last[0]:.2f} s (FlipTest and the metrics with their intervals); in all {time.perf_counter() - t0:.2f} s")
"""


def _group_by_sql(path: Path) -> str:
    return f"SELECT sex, race, y, yhat, count(*) AS n FROM read_parquet('{path}') GROUP BY ALL"


def time_duckdb_group_by(path: Path) -> float:
    """DuckDB's bare GROUP BY of the role columns on the same file, in this process: the floor for one pass over the data."""
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    con.sql(_group_by_sql(path)).fetchall()
    return time.perf_counter() - t0


def time_duckdb_process(path: Path) -> float:
    """The same GROUP BY as a whole process (Python started, DuckDB imported, the query run), timed as assay's CLI is."""
    script = path.with_name("duckdb_group_by.py")
    script.write_text(f"import duckdb\nduckdb.connect().sql({_group_by_sql(path)!r}).fetchall()\n")
    elapsed, _, _ = _measure.measured(str(script), [])
    return elapsed


def comparisons(df: pd.DataFrame):
    for col in ("sex", "race"):
        for v in sorted(df[col].unique()):
            yield (df[col] == v).to_numpy()
    for (s, r), _ in df.groupby(["sex", "race"]):
        yield ((df["sex"] == s) & (df["race"] == r)).to_numpy()


def time_aif360(df: pd.DataFrame) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.sklearn import metrics as am
    t0 = time.perf_counter()
    for d in comparisons(df):
        y = pd.Series(df["y"].to_numpy(), index=pd.Index(np.where(d, "d", "a"), name="g"))
        p = df["yhat"].to_numpy()
        kw = {"prot_attr": "g", "priv_group": "a", "pos_label": 1}
        am.statistical_parity_difference(y, p, **kw)
        am.disparate_impact_ratio(y, p, **kw)
        am.equal_opportunity_difference(y, p, **kw)
        am.average_odds_difference(y, p, **kw)
        am.difference(am.specificity_score, y, p, **kw)
        am.difference(am.precision_score if hasattr(am, "precision_score") else am.sensitivity_score, y, p, **kw)
    return time.perf_counter() - t0


def time_fairlearn(df: pd.DataFrame) -> float:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,  # fmt: skip
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    def base_rate(y_true, y_pred):  # DPL's rate: the share of positive labels
        return float(np.mean(y_true))

    metrics = {"count": count, "base_rate": base_rate, "selection_rate": selection_rate, "tpr": true_positive_rate,
               "fpr": false_positive_rate, "tnr": true_negative_rate, "fnr": false_negative_rate,
               "accuracy": accuracy_score, "precision": precision_score}  # fmt: skip
    t0 = time.perf_counter()
    for sf in (df["sex"], df["race"], df[["sex", "race"]]):
        mf = MetricFrame(metrics=metrics, y_true=df["y"], y_pred=df["yhat"], sensitive_features=sf)
        mf.difference()
        mf.ratio()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--peer-rows", type=int, default=1_000_000)
    ap.add_argument("--fairlearn-rows", type=int, default=300_000)
    ap.add_argument("--phases", action="store_true", help="also time each phase of one audit in a fresh process (where the time goes)")
    args = ap.parse_args()
    base = scored_adult()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "adult_resampled.parquet"
        big = resample(base, args.rows)
        pq.write_table(pa.Table.from_pandas(big, preserve_index=False), path, row_group_size=1_000_000)
        del big
        print(f"data: {args.rows:,} rows resampled from scored Adult test; {path.stat().st_size / 2**20:.0f} MiB Parquet; {os.cpu_count()} CPUs")
        runs = [time_assay_cli(path, work) for _ in range(3)]
        assay_s, rss = min(t for t, _ in runs), max(m for _, m in runs)
        print(f"assay CLI (startup + read + audit, all metrics incl. FlipTest over {len(base.columns) - 5} feature columns, 1,000 replicates; "
              f"best of 3, {', '.join(f'{t:.2f}' for t, _ in runs)} s): {assay_s:.2f} s, peak RSS {rss:.0f} MiB, {args.rows / assay_s:,.0f} rows/s")  # fmt: skip
        if args.phases:
            print(subprocess.run([sys.executable, "-c", _PHASES, str(work / "audit.yaml")], capture_output=True, text=True).stdout, end="")
        duck_s = min(time_duckdb_group_by(path) for _ in range(3))
        print(f"DuckDB bare GROUP BY of the role columns, in process (best of 3): {duck_s:.2f} s; assay CLI / DuckDB = {assay_s / duck_s:.1f}x")
        duck_p = min(time_duckdb_process(path) for _ in range(3))
        print(f"DuckDB bare GROUP BY as a whole process like the CLI (python, best of 3): {duck_p:.2f} s; "
              f"assay CLI / DuckDB process = {assay_s / duck_p:.1f}x")  # fmt: skip
        no_ft = min(time_assay_cli(path, work, fliptest=False)[0] for _ in range(3))
        print(f"assay CLI without FlipTest (every other metric, 1,000 replicates; best of 3): {no_ft:.2f} s; / DuckDB in process = "
              f"{no_ft / duck_s:.1f}x, / DuckDB process = {no_ft / duck_p:.1f}x; FlipTest adds {assay_s - no_ft:.2f} s")  # fmt: skip
        peer = resample(base, args.peer_rows, seed=1)
        aif_s = time_aif360(peer)
        print(f"AIF360 ({args.peer_rows:,} rows, subset of metrics, no intervals): {aif_s:.2f} s, {args.peer_rows / aif_s:,.0f} rows/s")
        fl = resample(base, args.fairlearn_rows, seed=2)
        fl_s = time_fairlearn(fl)
        print(f"Fairlearn ({args.fairlearn_rows:,} rows, MetricFrame, no intervals): {fl_s:.2f} s, {args.fairlearn_rows / fl_s:,.0f} rows/s")
        ours = args.rows / assay_s
        print(f"ratio of rows/s: assay / AIF360 = {ours / (args.peer_rows / aif_s):,.0f}x; assay / Fairlearn = {ours / (args.fairlearn_rows / fl_s):,.0f}x")


if __name__ == "__main__":
    main()
