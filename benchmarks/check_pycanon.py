"""assay.privacy.anonymity against pycanon on the same data: k, l and t for several quasi-identifier sets and sensitive columns.

pycanon pins typing_extensions==4.15.0, which assay's other dependencies (pydantic) refuse, so it runs in a venv of its own:

    python -m venv /tmp/pycanon && /tmp/pycanon/bin/pip install pycanon -e .
    /tmp/pycanon/bin/python benchmarks/check_pycanon.py

Data: UCI Adult test, ages cut into decades for the coarser sets. Prints each comparison and exits 1 on any disagreement.
"""

from __future__ import annotations

import sys

from pycanon import anonymity as pc

from assay.datasets import load_adult
from assay.privacy import anonymity


def main() -> int:
    d = load_adult("test")
    d["age_decade"] = (d["age"] // 10 * 10).astype(int)
    cases = [(["age", "sex", "race", "marital-status"], ["income"]), (["age", "sex", "race", "marital-status"], ["occupation", "hours-per-week"]),
             (["sex", "race"], ["income"]), (["age_decade", "sex"], ["occupation"]), (["age_decade", "sex", "race"], ["hours-per-week", "income"])]  # fmt: skip
    bad = 0
    for qi, sa in cases:
        a = anonymity(d, qi, sa)
        ref = (pc.k_anonymity(d, qi), pc.l_diversity(d, qi, sa), float(pc.t_closeness(d, qi, sa)))
        same = (a.k, a.l) == ref[:2] and abs(a.t - ref[2]) <= 1e-12
        bad += not same
        print(f"{'same' if same else 'DIFFERENT'}  QI {qi}, sensitive {sa}: assay k={a.k} l={a.l} t={a.t:.12f}; pycanon k={ref[0]} l={ref[1]} t={ref[2]:.12f}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
