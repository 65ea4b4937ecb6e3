"""assay on Spark against assay on DuckDB, same Parquet file, one run: the audit and a monitoring check, on local[1] and local[2].

Usage: python benchmarks/bench_spark.py [--rows 4000000] [--explain-rows 2000]

Data: scored Adult test (bench_audit's: role columns, a score and eight feature
columns) resampled to --rows rows with a row id, written to Parquet; its first half profiled
as the monitoring baseline. Each measurement is a whole Python process (start,
imports, SparkSession start where used, reading, computing, the result in
memory) run by benchmarks/_measure.py: `assay.audit(path or spark.read.parquet(path), ...)`
with facets sex, race and sex x race and 1,000 replicates, then
`assay.monitor.check(...)` of the file against the baseline, then `assay.explain.explain(...)`
of --explain-rows rows of it (a seeded sample; an Adult HistGradientBoosting
pipeline on the eight feature columns, saved with joblib; its probability is
explained by permutation sampling against 50 background rows, 2 antithetic
pairs: 44,000 model evaluations per row). In process the file is read into
pandas and the rows are explained by one process (explain's default n_jobs); on Spark the executors
explain them. The process prints
the time of each call itself too, so Spark's start-up is seen apart. The
scaling from 1 to 2 cores is the ratio of local[1] to local[2] times of the
calls (not the process, whose start-up does not scale). Spark reads the file in
4 MiB splits (the resampled file compresses to a few dozen MiB; Spark's default
128 MiB would give it one task). Peak memory is the Python process's; Spark's
JVM is a child process of its own and is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import _measure
import pyarrow as pa
import pyarrow.parquet as pq
from bench_audit import resample, scored_adult

RUN = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
engine, path, base, model_path, explain_rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
t0 = time.perf_counter()
import assay
from assay import monitor
data = path
if engine != "duckdb":
    from assay.spark import session
    spark = session(engine, conf={"spark.ui.enabled": False, "spark.sql.shuffle.partitions": 8, "spark.sql.files.maxPartitionBytes": "4m"})
    spark.sparkContext.setLogLevel("ERROR")
    data = spark.read.parquet(path)
t1 = time.perf_counter()
result = assay.audit(data, label="y", label_values_or_threshold=[1], predicted_label="yhat", probability="score",
                     facets=["sex", "race", ["sex", "race"]], bootstrap_replicates=1000, seed=0)
t2 = time.perf_counter()
checked = monitor.check(data, base)
t3 = time.perf_counter()
import joblib
from assay.explain import explain
model = joblib.load(model_path)
explained = explain(data, model, max_rows=explain_rows, background_size=50, repeats=2, pdp_top_k=0, bootstrap_replicates=100)
t4 = time.perf_counter()
sizes = [fv["group"]["size"] for fv in result.to_dict()["post_training_bias_metrics"]["facets"]["sex"]]
print(json.dumps({"start": t1 - t0, "audit": t2 - t1, "check": t3 - t2, "explain": t4 - t3, "explained": explained.method["rows_explained"], "sizes": sizes, "violations": len(checked.violations)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4_000_000)
    ap.add_argument("--explain-rows", type=int, default=2_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path, half = work / "scored.parquet", work / "half.parquet"
        data = resample(scored_adult(), args.rows)
        data.insert(0, "id", range(len(data)))  # a row id, as scored tables have: resampled rows are otherwise exact copies
        pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path, row_group_size=500_000)
        pq.write_table(pa.Table.from_pandas(data.iloc[: args.rows // 2], preserve_index=False), half, row_group_size=500_000)
        del data
        model = work / "model.joblib"
        _save_model(model)
        script = work / "run.py"
        script.write_text(RUN)
        _measure.assay(["monitor", "baseline", str(half), "--out", str(work / "base")])
        print(f"data: {args.rows:,} rows, {len(pq.read_schema(path).names)} columns, {path.stat().st_size / 2**20:.0f} MiB Parquet; {os.cpu_count()} CPUs")
        got = {}
        for engine in ("duckdb", "local[1]", "local[2]"):
            seconds, peak, out = _measure.measured(str(script), [engine, str(path), str(work / "base"), str(model), str(args.explain_rows)])
            r = got[engine] = json.loads(out.strip().splitlines()[-1])
            print(f"{engine:>9}: process {seconds:6.2f} s (start {r['start']:.2f}, audit {r['audit']:.2f} = {args.rows / r['audit']:,.0f} rows/s, "
                  f"check {r['check']:.2f} = {args.rows / r['check']:,.0f} rows/s, explain {r['explain']:.2f} = "
                  f"{r['explained'] / r['explain']:,.0f} rows/s of {r['explained']:,}), peak {peak:,.0f} MiB, group sizes {r['sizes']}, "
                  f"violations {r['violations']}")  # fmt: skip
        one, two, duck = got["local[1]"], got["local[2]"], got["duckdb"]
        print(f"scaling local[1] -> local[2]: audit {one['audit'] / two['audit']:.2f}x, check {one['check'] / two['check']:.2f}x, explain {one['explain'] / two['explain']:.2f}x; "
              f"Spark local[2] / DuckDB: audit {two['audit'] / duck['audit']:.1f}x, check {two['check'] / duck['check']:.1f}x, explain {two['explain'] / duck['explain']:.1f}x the time")  # fmt: skip


def _save_model(path: Path) -> None:
    import joblib

    from assay.datasets import adult_model, load_adult

    train = load_adult("train")
    features = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss", "workclass", "occupation", "marital-status"]
    joblib.dump(adult_model(features, max_iter=50).fit(train[features], train["income"] == ">50K"), path)


if __name__ == "__main__":
    main()
