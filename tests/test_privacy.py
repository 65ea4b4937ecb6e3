"""Quasi-identifier risk: k, l and t by hand on a small table, rows at risk by group, bad input named. (Agreement with pycanon,
which cannot share assay's environment, is checked by benchmarks/check_pycanon.py in a venv of its own.)"""

from __future__ import annotations

import pandas as pd
import pytest

from assay._errors import ConfigError, DataError
from assay.privacy import anonymity

# three classes over (zip, sex): (1, F) x3, (1, M) x2, (2, F) x1
TABLE = pd.DataFrame({"zip": [1, 1, 1, 1, 1, 2], "sex": ["F", "F", "F", "M", "M", "F"], "disease": ["flu", "flu", "cold", "flu", "flu", "cold"],
                      "salary": [3, 4, 5, 3, 3, 5], "race": ["a", "b", "a", "a", "b", "b"]})  # fmt: skip


def test_k_l_and_t_by_hand():
    a = anonymity(TABLE, ["zip", "sex"], ["disease", "salary"], facets=["race"], k_min=2)
    assert (a.k, a.classes, a.rows) == (1, 3, 6)
    # disease: overall flu 4/6, cold 2/6; class (1, M) is all flu: one value; TV = 0.5 (|1 - 4/6| + |0 - 2/6|) = 1/3; (2, F): all cold:
    # 0.5 (4/6 + 4/6) = 2/3 -> t = 2/3
    assert a.by_sensitive["disease"]["l"] == 1 and a.by_sensitive["disease"]["t"] == pytest.approx(2 / 3, rel=1e-12)
    # salary: values 3, 4, 5 with p = (3/6, 1/6, 2/6); class (2, F) = {5}: r = (-1/2, -1/6, 2/3), cumulative |-1/2| + |-2/3| + 0
    # over m - 1 = 2: 7/12; class (1, M) = {3, 3}: r = (1/2, -1/6, -1/3): (1/2 + 1/3) / 2 = 5/12 -> t = 7/12
    assert a.by_sensitive["salary"]["t"] == pytest.approx(7 / 12, rel=1e-12) and a.by_sensitive["salary"]["distance"].startswith("earth mover")
    assert a.l == 1 and a.t == pytest.approx(2 / 3, rel=1e-12)
    # at risk with k_min 2: only the (2, F) row, whose race is b
    assert a.at_risk == 1 and {g["group"]: g["at_risk"] for g in a.by_group["race"]} == {"a": 0, "b": 1}
    assert next(g for g in a.by_group["race"] if g["group"] == "b")["share_at_risk"] == pytest.approx(1 / 3)


def test_missing_quasi_identifier_values_are_a_value_and_bad_input_is_named():
    with_missing = TABLE.assign(zip=[1, 1, 1, None, None, 2])
    assert anonymity(with_missing, ["zip"]).classes == 3
    with pytest.raises(DataError, match="no quasi-identifier column 'zp'"):
        anonymity(TABLE, ["zp"])
    with pytest.raises(ConfigError, match="k_min must be a whole number of at least 2"):
        anonymity(TABLE, ["zip"], k_min=1)
    with pytest.raises(ConfigError, match="at least one quasi-identifier"):
        anonymity(TABLE, [])
