"""Drift checks at scale, timed as users run them: the assay CLI (`assay monitor baseline` then `assay monitor check`) against an Evidently DataDriftPreset script on the same files, in one run; optionally another assay checkout on the same files; and assay's memory on 10M vs 10M.

Usage: python benchmarks/bench_monitor.py [--rows 1000000] [--model-rows 2000000] [--big-rows 10000000] [--evidently-python PATH]
       [--compare-src DIR] [--repeat 3]

Data: the 14 columns of UCI Adult's train split (13 features and fnlwgt, which has
21,648 distinct values there, so profiles need the distinct-count sketch as real
tables' id-like and amount columns do), resampled with replacement to --rows rows
twice (reference; current with age + 5 years on 30% of rows and hours-per-week
x 1.2 for women), written to Parquet. Each tool runs as a whole process (start,
imports, reading the files, writing its output), timed from outside, with the
process's own peak resident memory (benchmarks/_measure.py). assay:
`assay monitor baseline REF --out B` and `assay monitor check CUR --baseline B
--out R` (seconds summed, memory the larger), the fastest of --repeat runs
(Evidently's, over 30 s, is one run). Evidently reads both files with pandas and runs
Report([DataDriftPreset()]). Evidently does not install next to pandas 3, so it
runs in its own environment: --evidently-python (default
benchmarks/.venv-evidently/bin/python; create it with
`python -m venv benchmarks/.venv-evidently && benchmarks/.venv-evidently/bin/pip install evidently 'pandas<3'`).
--compare-src DIR runs the same two commands with another checkout's src/ first
on PYTHONPATH (e.g. a `git worktree` of an older commit) and prints the ratio.
--model-rows: the same with a model's score and an id per row, the baseline
labelled, the current set's labels in a separate ground-truth file, and a
monitoring config (model quality, bias of sex and race). Then assay alone
checks --big-rows vs --big-rows.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import _measure
import numpy as np

FEATURES = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship", "race",
            "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country"]  # fmt: skip

EVIDENTLY = """
import sys, json, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
d = Report([DataDriftPreset()]).run(cur, ref).dict()
names = [m["metric_name"] for m in d["metrics"] if m["metric_name"].startswith("ValueDrift(") and m["value"] >= 0.1]
print(json.dumps(sorted(n.split("column=", 1)[1].split(",", 1)[0] for n in names)))
"""


MODEL_CONFIG = """label: income
label_values_or_threshold: [">50K"]
probability: score
probability_threshold: 0.5
facet: [{name_or_index: sex}, {name_or_index: race}]
id: id
ground_truth: {dataset_uri: GROUND_TRUTH, id: id, label: income}
"""


def write(path: Path, rows: int, seed: int, shift: bool, model: str = "") -> None:
    """Resampled Adult rows; with ``model``, also a model's score and an id per row, and the label: in the data
    (``"labelled"``, as a baseline has it) or in a ground-truth file beside it (``"truth"``: ``*.truth.parquet``,
    joined on the id as labels that arrive later are)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from assay.datasets import load_adult

    pool = load_adult("train")[[*FEATURES, "income"]]
    rng = np.random.default_rng(seed)
    writers: dict[str, pq.ParquetWriter] = {}

    def put(name: str, target: Path, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if name not in writers:
            writers[name] = pq.ParquetWriter(target, table.schema)
        writers[name].write_table(table)

    for start in range(0, rows, 1_000_000):
        part = pool.iloc[rng.integers(0, len(pool), min(1_000_000, rows - start))].reset_index(drop=True)
        if shift:
            older = rng.random(len(part)) < 0.3
            part.loc[older, "age"] += 5
            women = part["sex"] == "Female"
            part.loc[women, "hours-per-week"] = (part.loc[women, "hours-per-week"] * 1.2).round().astype("int64")
        if not model:
            put("data", path, part[FEATURES])
            continue
        z = 0.45 * (part["education-num"] - 10) + 0.04 * (part["age"] - 38) + 0.04 * (part["hours-per-week"] - 40) - 1.2
        part["score"] = 1 / (1 + np.exp(-(z + rng.normal(0, 0.5, len(part)))))
        part["id"] = [f"{seed}-{i}" for i in range(start, start + len(part))]
        put("data", path, part[[*FEATURES, "score", "id", *(["income"] if model == "labelled" else [])]])
        if model == "truth":
            put("truth", path.with_suffix(".truth.parquet"), part[["id", "income"]])
    for w in writers.values():
        w.close()


def assay_cli(ref: Path, cur: Path, work: Path, src: str | None = None, model: bool = False) -> dict:
    """`assay monitor baseline` then `assay monitor check`, as a user types them; src: another checkout's src/ to run instead;
    model: with a monitoring config (model quality and bias, the current set's labels from its ground-truth file)."""
    env = {**os.environ, "PYTHONPATH": src} if src else None
    work.mkdir(parents=True)
    config: list[str] = []
    if model:
        (work / "monitor.yaml").write_text(MODEL_CONFIG.replace("GROUND_TRUTH", str(cur.with_suffix(".truth.parquet"))))
        config = ["--config", str(work / "monitor.yaml")]
    t1, m1, _ = _measure.assay(["monitor", "baseline", str(ref), "--out", str(work / "base"), *config], env)
    t2, m2, _ = _measure.assay(["monitor", "check", str(cur), "--baseline", str(work / "base"), "--out", str(work / "report"), *config], env)
    violations = json.loads((work / "report" / "constraint_violations.json").read_text())["violations"]
    drifted = sorted(v["feature_name"] for v in violations if v["constraint_check_type"] == "baseline_drift_check")
    return {"seconds": t1 + t2, "baseline_s": t1, "check_s": t2, "peak_mb": max(m1, m2), "drifted": drifted}


def summary(r: dict) -> str:
    return f"{r['seconds']:.2f} s ({r['baseline_s']:.2f} + {r['check_s']:.2f}), peak {r['peak_mb']:.0f} MB, drifted {r['drifted']}"


def fastest(repeat: int, ref: Path, cur: Path, work: Path, src: str | None = None, model: bool = False) -> dict:
    """The fastest of ``repeat`` runs of :func:`assay_cli` (the first process after the files are written can wait on their write-back)."""
    return min((assay_cli(ref, cur, work / str(i), src, model) for i in range(repeat)), key=lambda r: r["seconds"])


def compare(ref: Path, cur: Path, work: Path, what: str, src: str | None, repeat: int, model: bool = False) -> dict:
    """This checkout's CLI on the two files, and another checkout's (src) on the same files when given."""
    mine = fastest(repeat, ref, cur, work / "mine", model=model)
    print(f"{what}, whole processes, fastest of {repeat}: assay monitor baseline + check {summary(mine)}")
    if src:
        other = fastest(repeat, ref, cur, work / "other", str(Path(src).resolve()), model=model)
        print(f"  assay from {src}: {summary(other)} -> this checkout takes {mine['seconds'] / other['seconds']:.2f}x its time")
    return mine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--big-rows", type=int, default=10_000_000)
    ap.add_argument("--model-rows", type=int, default=2_000_000, help="rows of the model monitoring run (0: none)")
    ap.add_argument("--evidently-python", default=str(Path(__file__).parent / ".venv-evidently" / "bin" / "python"))
    ap.add_argument("--compare-src", help="another assay checkout's src/ directory, run on the same files")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each assay measurement; the fastest is reported")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref, cur = Path(tmp) / "ref.parquet", Path(tmp) / "cur.parquet"
        write(ref, args.rows, 1, False)
        write(cur, args.rows, 2, True)
        mine = compare(
            ref, cur, Path(tmp) / "drift", f"{args.rows:,} vs {args.rows:,} rows, {len(FEATURES)} columns from Parquet", args.compare_src, args.repeat
        )
        if os.path.exists(args.evidently_python):
            script = Path(tmp) / "evidently_drift.py"
            script.write_text(EVIDENTLY)
            seconds, peak, out = _measure.measured(str(script), [str(ref), str(cur)], python=args.evidently_python)
            print(f"  Evidently DataDriftPreset (a Python script) {seconds:.2f} s, peak {peak:.0f} MB, drifted {json.loads(out.strip().splitlines()[-1])} "
                  f"-> assay {seconds / mine['seconds']:.1f}x faster")  # fmt: skip
        else:
            print(f"  Evidently not run: no {args.evidently_python} (see this script's docstring)")
        if args.model_rows:
            mref, mcur = Path(tmp) / "model_ref.parquet", Path(tmp) / "model_cur.parquet"
            write(mref, args.model_rows, 5, False, "labelled")
            write(mcur, args.model_rows, 6, True, "truth")
            compare(mref, mcur, Path(tmp) / "model", f"{args.model_rows:,} vs {args.model_rows:,} rows with a score, an id and the current "
                    "labels in a ground-truth file (model quality and bias of sex and race, --config)", args.compare_src, args.repeat, model=True)  # fmt: skip
        if args.big_rows:
            big_ref, big_cur = Path(tmp) / "big_ref.parquet", Path(tmp) / "big_cur.parquet"
            write(big_ref, args.big_rows, 3, False)
            write(big_cur, args.big_rows, 4, True)
            big = fastest(args.repeat, big_ref, big_cur, Path(tmp) / "big")
            print(f"{args.big_rows:,} vs {args.big_rows:,} rows from Parquet, fastest of {args.repeat}: assay monitor baseline + check {summary(big)}")


if __name__ == "__main__":
    main()
