"""Where FlipTest's time goes, and the neighbour searches it could use, on the audit benchmark's data.

Usage: python benchmarks/bench_fliptest.py [--rows 10000000]

The data is bench_audit.py's (UCI Adult test, scored, resampled, with its feature columns). First the whole CLI
with FlipTest at its default sample (20,000 rows) and at 10,000 rows, and how much wider FT's intervals are at
10,000; then the 17 exact 5-nearest-neighbour searches that one audit makes (facets sex, race and sex x race,
each value against the rest; captured from the audit itself) timed with: scipy's k-d tree on one core and on
every core, the audit's pool (one search per core at once), the k-d tree over distinct reference rows, scikit-learn's
brute-force ArgKmin (with its import, in a fresh process), BallTree and KDTree. Every search is checked to find the
same distances as scipy's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _measure
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bench_audit import audit_yaml, resample, scored_adult


def _config(path: Path, work: Path, max_rows: int) -> Path:
    cfg = work / f"ft{max_rows}.yaml"
    cfg.write_text(audit_yaml(path, f"fliptest: {{max_rows: {max_rows}}}\n"))
    return cfg


def _ft_widths(analysis: Path) -> dict[str, float]:
    doc = json.loads(analysis.read_text())
    out = {}
    for facet, values in doc["post_training_bias_metrics"]["facets"].items():
        for i, fv in enumerate(values):
            for m in fv["metrics"]:
                if m["name"] == "FT" and m["ci"][0] is not None:
                    out[f"{facet}[{i}]"] = m["ci"][1] - m["ci"][0]
    return out


def cli_by_sample(path: Path, work: Path) -> None:
    widths = {}
    for max_rows in (20_000, 10_000):
        cfg, out = _config(path, work, max_rows), work / f"out{max_rows}"
        runs = [_measure.assay(["audit", str(cfg), "--out", str(out), "--quiet", "--show", "significant"])[0] for _ in range(3)]
        widths[max_rows] = _ft_widths(out / "analysis.json")
        print(f"assay CLI, all metrics, fliptest.max_rows {max_rows:,}: best of 3 {min(runs):.2f} s ({', '.join(f'{t:.2f}' for t in runs)})")
    ratios = [widths[10_000][k] / widths[20_000][k] for k in widths[20_000] if k in widths[10_000] and widths[20_000][k] > 0]
    print(f"FT interval width at 10,000 rows / at 20,000: median {statistics.median(ratios):.2f}x "
          f"({min(ratios):.2f}-{max(ratios):.2f}x, {len(ratios)} comparisons)")  # fmt: skip


def captured_searches(path: Path, work: Path) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """The (query, reference, k) of every search one audit makes, its query rows already distinct (as the search sees them)."""
    import assay.bias._fliptest as F
    from assay._config import audit_config

    original, seen = F.nearest, []

    def capture(query, ref, k, chunk=2048, *, workers=-1):
        first, _ = F._distinct_rows(query)
        if len(first) == len(query):
            seen.append((query.copy(), ref.copy(), k))
        return original(query, ref, k, chunk, workers=workers)

    F.nearest = capture
    try:
        audit_config(_config(path, work, 20_000))
    finally:
        F.nearest = original
    return seen


def _timed(fn, searches) -> tuple[float, list[np.ndarray]]:
    t0 = time.perf_counter()
    out = [fn(q, r, k) for q, r, k in searches]
    return time.perf_counter() - t0, out


def _distances(q, r, idx) -> np.ndarray:
    return np.sort(((q[:, None, :] - r[idx]) ** 2).sum(-1), axis=1)


def searches(found: list[tuple[np.ndarray, np.ndarray, int]], work: Path) -> None:
    from scipy.spatial import cKDTree
    from sklearn.neighbors import BallTree, KDTree

    from assay.bias._fliptest import _distinct_rows

    print(f"{len(found)} searches, {sum(len(q) for q, _, _ in found):,} distinct query rows, references of "
          f"{min(len(r) for _, r, _ in found):,}-{max(len(r) for _, r, _ in found):,} rows, {min(q.shape[1] for q, _, _ in found)}-"
          f"{max(q.shape[1] for q, _, _ in found)} dimensions; {os.cpu_count()} CPUs")  # fmt: skip

    def kd(workers):
        return lambda q, r, k: cKDTree(r).query(q, k=k, workers=workers)[1]

    def distinct_refs(q, r, k):  # the tree over distinct reference rows, then each one's copies
        first, inverse = _distinct_rows(r)
        return cKDTree(r[first]).query(q, k=k)[1]  # timing only: copies are not expanded

    base_s, base = _timed(kd(1), found)
    print(f"scipy cKDTree, one core: {base_s:.2f} s")
    s, _ = _timed(kd(-1), found)
    print(f"scipy cKDTree, every core: {s:.2f} s")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        pooled = list(pool.map(lambda a: kd(1)(*a), found))
    print(f"scipy cKDTree, one search per core at once (the audit's pool): {time.perf_counter() - t0:.2f} s")
    s, _ = _timed(distinct_refs, found)
    print(f"scipy cKDTree over distinct reference rows (copies not even expanded): {s:.2f} s")
    for name, cls in (("BallTree", BallTree), ("KDTree", KDTree)):
        s, out = _timed(lambda q, r, k, cls=cls: cls(r, leaf_size=40).query(q, k=k)[1], found)
        same = all(np.allclose(_distances(q, r, a), _distances(q, r, b)) for (q, r, _), a, b in zip(found, out, base, strict=True))
        print(f"scikit-learn {name}: {s:.2f} s (same distances: {same})")
    np.savez(work / "searches.npz", *[a for q, r, k in found for a in (q, r)])
    code = f"""
import time
t0 = time.perf_counter()
from sklearn.metrics._pairwise_distances_reduction import ArgKmin
import numpy as np
t1 = time.perf_counter()
f = np.load({str(work / "searches.npz")!r}); arrays = [f[k] for k in sorted(f.files, key=lambda s: int(s.split("_")[1]))]
t2 = time.perf_counter()
for q, r in zip(arrays[::2], arrays[1::2]):
    ArgKmin.compute(q, r, 5, metric="sqeuclidean", return_distance=False)
print(f"scikit-learn ArgKmin (brute force, every core): {{time.perf_counter() - t2:.2f}} s, and importing it {{t1 - t0:.2f}} s")
"""
    print(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout, end="")
    same = all(np.allclose(_distances(q, r, a), _distances(q, r, b)) for (q, r, _), a, b in zip(found, pooled, base, strict=True))
    print(f"the pool finds the same distances as one search at a time: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "adult_resampled.parquet"
        pq.write_table(pa.Table.from_pandas(resample(scored_adult(), args.rows), preserve_index=False), path, row_group_size=1_000_000)
        print(f"data: {args.rows:,} rows resampled from scored Adult test")
        cli_by_sample(path, work)
        searches(captured_searches(path, work), work)


if __name__ == "__main__":
    main()
