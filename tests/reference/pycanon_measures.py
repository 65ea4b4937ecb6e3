"""Run inside the pycanon venv (`make test` makes .venv-pycanon): k, l and t by pycanon for each case, as JSON on stdout.

Usage: pycanon_measures.py TABLE.csv CASES.json, where CASES is a list of {"qi": [...], "sensitive": [...]}. It imports only
pycanon and pandas (pycanon pins typing_extensions==4.15.0, which assay's dependencies refuse, so the two never share a venv).
"""

import json
import sys

import pandas as pd
from pycanon import anonymity as pc

table = pd.read_csv(sys.argv[1])
with open(sys.argv[2]) as f:
    cases = json.load(f)
out = [{"k": int(pc.k_anonymity(table, c["qi"])), "l": int(pc.l_diversity(table, c["qi"], c["sensitive"])),
        "t": float(pc.t_closeness(table, c["qi"], c["sensitive"]))} for c in cases]  # fmt: skip
json.dump(out, sys.stdout)
