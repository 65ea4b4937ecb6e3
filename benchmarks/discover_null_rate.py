"""How often assay discover reports anything when a model's errors are at random (15% of Adult test's rows), per correction and depth.

Usage: python benchmarks/discover_null_rate.py [--seeds 300]   (the figures in docs/discovery.md's guarantees)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_discover import SETTINGS, _scored  # noqa: E402  (the tests' simulation of errors)

from assay.datasets import load_adult  # noqa: E402
from assay.discover import discover  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=300)
    args = ap.parse_args()
    adult = load_adult("test").drop(columns=["fnlwgt"])
    for correction in ("bh", "by"):
        for depth in (1, 2):
            hits = [bool(discover(_scored(adult, s)[0], **(SETTINGS | {"max_depth": depth}), correction=correction, seed=s).found) for s in range(args.seeds)]
            print(f"correction {correction}, depth {depth}: a subgroup reported in {np.mean(hits):.1%} of {args.seeds} seeds")


if __name__ == "__main__":
    main()
