"""assay discover against sliceline on the same search, one run: time, peak memory, and whether they find the same subgroups.

Usage: python benchmarks/bench_discover.py [--sizes 20000x20 50000x30 1000000x50] [--depth 3] [--support 0.01] [--sliceline-up-to 100000]

Data: UCI Adult (train and test) with an Adult HistGradientBoosting model's
errors (its decision differs from the label), resampled to the number of rows.
Columns: Adult's 13 feature columns, then as many more as asked, each a copy of
one of them taken from a random other row (columns that look like real ones and
carry no signal). Numbers are cut into 4 quantile bins beforehand, so both tools
search the same categorical columns (sliceline needs categories). Written to
Parquet; each tool runs as a whole Python process that reads it (the peak memory
is that process's own):

- assay: `assay.discover.discover(path, ..., max_depth=depth, min_support=support / 2)`
  (its search runs on the discovery half of the rows, so half the support);
- sliceline 0.3.0: `Slicefinder(alpha=0.95, k=10, max_l=depth, min_sup=support).fit(X, errors)`
  (it has no p-values: it ranks by its score).

Agreement: how many of sliceline's 10 top slices assay confirms (the same
conditions), and the reverse for assay's 10 best. sliceline runs only up to
--sliceline-up-to rows (its float64 one-hot grows with rows x values).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import _measure
import numpy as np
import pandas as pd

ASSAY = """
import json, sys, time
from assay.discover import discover
path, depth, support = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = time.perf_counter()
r = discover(path, label="y", label_values_or_threshold=[1], predicted_label="yhat", max_depth=depth, min_support=support // 2, max_tests=200)
top = [sorted([c["column"], str(c["value"])] for c in s["conditions"]) for s in r.found]
print(json.dumps({"seconds": time.perf_counter() - t, "found": top, "searched": r.hypotheses["searched"], "tested": r.hypotheses["tested"]}))
"""

SLICELINE = """
import json, sys, time
import pandas as pd
from sliceline import Slicefinder
path, depth, support = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = time.perf_counter()
d = pd.read_parquet(path)
errors = (d["y"] != d["yhat"]).to_numpy(dtype=float)
X = d.drop(columns=["y", "yhat"])
sf = Slicefinder(alpha=0.95, k=10, max_l=depth, min_sup=support, verbose=False).fit(X, errors)
top = [sorted([c, str(v)] for c, v in zip(X.columns, row) if v is not None) for row in sf.top_slices_]
print(json.dumps({"seconds": time.perf_counter() - t, "found": top}))
"""


def table(rows: int, columns: int, seed: int = 0) -> pd.DataFrame:
    from assay.datasets import adult_model, load_adult

    adult = pd.concat([load_adult("train"), load_adult("test")], ignore_index=True)
    features = [c for c in adult.columns if c not in ("income", "fnlwgt")]
    half = len(adult) // 2
    model = adult_model(features, max_iter=60).fit(adult[features].iloc[:half], adult["income"].iloc[:half] == ">50K")
    y = (adult["income"] == ">50K").to_numpy()
    out = pd.DataFrame({"y": y.astype(np.int8), "yhat": model.predict(adult[features]).astype(np.int8)})
    for c in features:
        col = adult[c]
        out[c] = pd.qcut(col, 4, duplicates="drop").astype(str) if pd.api.types.is_numeric_dtype(col) and col.nunique() > 4 else col.astype(str)
    rng = np.random.default_rng(seed)
    out = out.iloc[rng.integers(0, len(out), rows)].reset_index(drop=True)
    for i in range(columns - len(features)):
        source = features[i % len(features)]
        out[f"{source}_other_{i}"] = out[source].to_numpy()[rng.permutation(rows)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["20000x20", "50000x30", "1000000x50"])
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--support", type=float, default=0.01, help="min support as a share of the rows")
    ap.add_argument("--sliceline-up-to", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "assay_run.py").write_text(ASSAY)
        (work / "sliceline_run.py").write_text(SLICELINE)
        for size in args.sizes:
            rows, cols = (int(x) for x in size.split("x"))
            path = work / f"{size}.parquet"
            table(rows, cols).to_parquet(path)
            support = max(10, int(args.support * rows))
            a_s, a_mb, a_out = _measure.measured(str(work / "assay_run.py"), [str(path), str(args.depth), str(support)])
            a = json.loads(a_out.strip().splitlines()[-1])
            print(f"{size} depth {args.depth} support {support}: assay {a_s:.1f} s (search and tests {a['seconds']:.1f} s), peak {a_mb:,.0f} MiB; "
                  f"{a['searched']:,} subgroups searched, {a['tested']} tested, {len(a['found'])} confirmed")  # fmt: skip
            if rows > args.sliceline_up_to:
                print(f"  sliceline not run at {rows:,} rows (--sliceline-up-to {args.sliceline_up_to:,})")
                continue
            try:
                s_s, s_mb, s_out = _measure.measured(str(work / "sliceline_run.py"), [str(path), str(args.depth), str(support)])
            except SystemExit as exc:  # killed: out of memory, as its float64 one-hot grows
                print(f"  sliceline failed: {str(exc).splitlines()[0]} (-9: killed, out of memory)")
                continue
            s = json.loads(s_out.strip().splitlines()[-1])
            confirmed = [x for x in s["found"] if x in a["found"]]
            reverse = [x for x in a["found"][:10] if x in s["found"]]
            print(f"  sliceline {s_s:.1f} s (fit {s['seconds']:.1f} s), peak {s_mb:,.0f} MiB; time ratio sliceline / assay {s_s / a_s:.1f}x, "
                  f"memory {s_mb / a_mb:.1f}x; of sliceline's {len(s['found'])} top slices assay confirms {len(confirmed)}; "
                  f"of assay's 10 best, {len(reverse)} are in sliceline's top 10")  # fmt: skip
            print(f"  sliceline's top 3: {s['found'][:3]}; assay's: {a['found'][:3]}")


if __name__ == "__main__":
    main()
