"""Drift checks at scale: assay monitor against Evidently's DataDriftPreset on the same files, in one run; and assay's memory on 10M vs 10M.

Usage: python benchmarks/bench_monitor.py [--rows 1000000] [--big-rows 10000000] [--evidently-python PATH]

Data: the 13 features of UCI Adult (train split), resampled with replacement to
--rows rows twice (reference; current with age + 5 years on 30% of rows and
hours-per-week x 1.2 for women), written to Parquet. assay profiles both files
(streamed in batches) and checks the current against the reference; Evidently
reads both with pandas and runs Report([DataDriftPreset()]). Evidently does not
install next to pandas 3, so it runs in its own environment: --evidently-python
(default benchmarks/.venv-evidently/bin/python; create it with
`python -m venv benchmarks/.venv-evidently && benchmarks/.venv-evidently/bin/pip install evidently 'pandas<3'`).
Then assay alone checks --big-rows vs --big-rows from Parquet in a child process
whose peak resident memory is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FEATURES = ["age", "workclass", "education", "education-num", "marital-status", "occupation", "relationship", "race", "sex",
            "capital-gain", "capital-loss", "hours-per-week", "native-country"]  # fmt: skip

EVIDENTLY = """
import sys, time, json, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
t0 = time.perf_counter()
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
snap = Report([DataDriftPreset()]).run(cur, ref)
d = snap.dict()
elapsed = time.perf_counter() - t0
drifted = [m["metric_name"] for m in d["metrics"] if "ValueDrift" in m["metric_name"] and m["value"] >= 0.1]
import resource
print(json.dumps({"seconds": elapsed, "drifted": drifted, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

ASSAY = """
import sys, time, json, resource
from assay.monitor import profile
from assay.monitor._baseline import suggest_constraints
from assay.monitor._check import check
t0 = time.perf_counter()
base = profile(sys.argv[1]); cur = profile(sys.argv[2])
r = check(cur, base, suggest_constraints(base))
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "drifted": sorted(v["feature_name"] for v in r["violations"] if v["constraint_check_type"] == "baseline_drift_check"),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write(path: Path, rows: int, seed: int, shift: bool) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from assay.datasets import load_adult

    pool = load_adult("train")[FEATURES]
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(path, pa.Schema.from_pandas(pool, preserve_index=False)) as w:
        for start in range(0, rows, 1_000_000):
            part = pool.iloc[rng.integers(0, len(pool), min(1_000_000, rows - start))].reset_index(drop=True)
            if shift:
                older = rng.random(len(part)) < 0.3
                part.loc[older, "age"] += 5
                women = part["sex"] == "Female"
                part.loc[women, "hours-per-week"] = (part.loc[women, "hours-per-week"] * 1.2).round().astype("int64")
            w.write_table(pa.Table.from_pandas(pd.DataFrame(part), schema=w.schema, preserve_index=False))


def run(python: str, code: str, ref: Path, cur: Path) -> dict:
    out = subprocess.run([python, "-c", code, str(ref), str(cur)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--big-rows", type=int, default=10_000_000)
    ap.add_argument("--evidently-python", default=str(Path(__file__).parent / ".venv-evidently" / "bin" / "python"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref, cur = Path(tmp) / "ref.parquet", Path(tmp) / "cur.parquet"
        write(ref, args.rows, 1, False)
        write(cur, args.rows, 2, True)
        mine = run(sys.executable, ASSAY, ref, cur)
        print(
            f"{args.rows:,} vs {args.rows:,} rows, 13 columns: assay monitor {mine['seconds']:.2f} s, peak {mine['peak_mb']:.0f} MB, drifted {mine['drifted']}"
        )
        if os.path.exists(args.evidently_python):
            theirs = run(args.evidently_python, EVIDENTLY, ref, cur)
            print(f"  Evidently DataDriftPreset {theirs['seconds']:.2f} s, peak {theirs['peak_mb']:.0f} MB, drifted {theirs['drifted']} "
                  f"-> assay {theirs['seconds'] / mine['seconds']:.1f}x faster")  # fmt: skip
        else:
            print(f"  Evidently not run: no {args.evidently_python} (see this script's docstring)")
        if args.big_rows:
            big_ref, big_cur = Path(tmp) / "big_ref.parquet", Path(tmp) / "big_cur.parquet"
            write(big_ref, args.big_rows, 3, False)
            write(big_cur, args.big_rows, 4, True)
            big = run(sys.executable, ASSAY, big_ref, big_cur)
            print(f"{args.big_rows:,} vs {args.big_rows:,} rows from Parquet: assay monitor {big['seconds']:.2f} s, peak resident memory "
                  f"{big['peak_mb']:.0f} MB, drifted {big['drifted']}")  # fmt: skip
    _ = resource


if __name__ == "__main__":
    main()
