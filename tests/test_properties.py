"""Invariances every registered metric must keep, checked metric by metric on real data (UCI Adult, scored): renaming the groups,
reordering the rows, scaling the weights, and swapping the group with the rest (each metric's own symmetry)."""

from __future__ import annotations

import numpy as np
import pytest

import assay
from assay.bias import METRICS

SAMPLE = 4000
KW = {
    "label": "income",
    "label_values_or_threshold": [">50K"],
    "predicted_label": "pred",
    "probability": "score",
    "group_variable": "race",
    "bootstrap_replicates": 0,
}
# How a metric of "d against the rest" changes when d and the rest trade places (a binary facet: Female against Male).
ANTISYMMETRIC = {"CI", "DPL", "CDDL", "DPPL", "DCAcc", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "EqOppD", "AOD", "FPRD", "FNRD",
                 "FDRD", "FORD", "AUCD", "BSD", "CalD"}  # fmt: skip  # a difference a - d: its sign flips
SYMMETRIC = {"JS", "LP", "TVD", "KS", "DPR", "EqOddsD", "EqOddsR", "KS2P", "GE"}  # a distance, a min/max ratio, or one of the whole model
RECIPROCAL = {"DI"}  # a ratio d / a
ONE_WAY = {"KL": "KL(P_a || P_d) is not symmetric", "FT": "the neighbours of d among a are not the neighbours of a among d"}


@pytest.fixture(scope="module")
def data(adult_scored):
    df = adult_scored.sample(SAMPLE, random_state=7).reset_index(drop=True)
    return df.assign(w=np.random.default_rng(3).uniform(0.5, 2.0, len(df)))


def _values(r, facet="sex"):
    out = {}
    for stage in (r.pre_training, r.post_training):
        for fv in stage.facets[facet]:
            for m in fv.metrics:
                out[(str(fv.value_or_threshold), m.name, m.label_value)] = m.value
    return out


def test_every_registered_metric_has_a_symmetry_here_and_a_value_on_adult():
    classified = ANTISYMMETRIC | SYMMETRIC | RECIPROCAL | set(ONE_WAY)
    binary = {m for m, info in METRICS.items() if "binary" in info.label_kinds}
    assert binary - classified == set(), "a metric was registered without its symmetry in this test"


def test_renaming_the_groups_and_reordering_the_rows_change_no_metric(data):
    base = _values(assay.audit(data, facets=["sex"], **KW))
    assert {name for (_, name, _), v in base.items() if v is not None} >= {m for m, i in METRICS.items() if "binary" in i.label_kinds}
    renamed = data.assign(sex=data["sex"].map({"Female": "F", "Male": "M"}))
    got = _values(assay.audit(renamed, facets=["sex"], **KW))
    mapped = {({"F": "Female", "M": "Male"}[g], n, lv): v for (g, n, lv), v in got.items()}
    assert mapped.keys() == base.keys()
    for k, v in base.items():
        assert (mapped[k] is None) if v is None else mapped[k] == pytest.approx(v, rel=1e-12, abs=1e-12), k
    shuffled = data.sample(frac=1.0, random_state=11).reset_index(drop=True)
    again = _values(assay.audit(shuffled, facets=["sex"], **KW))
    for k, v in base.items():
        if k[1] == "FT":  # neighbours at equal distance are taken in row order: FlipTest may count a tie differently
            continue
        assert (again[k] is None) if v is None else again[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def test_scaling_every_weight_changes_no_metric(data):
    one = _values(assay.audit(data, facets=["sex"], sample_weight="w", **KW))
    scaled = _values(assay.audit(data.assign(w=data["w"] * 3.7), facets=["sex"], sample_weight="w", **KW))
    assert one.keys() == scaled.keys()
    for k, v in one.items():
        assert (scaled[k] is None) if v is None else scaled[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def test_swapping_the_group_and_the_rest_changes_each_metric_by_its_symmetry(data):
    r = _values(assay.audit(data, facets=["sex"], **KW))
    checked = set()
    for (group, name, label_value), v in r.items():
        if group != "Female" or v is None or name in ONE_WAY:
            continue
        w = r[("Male", name, label_value)]
        if name in ANTISYMMETRIC:
            assert w == pytest.approx(-v, rel=1e-9, abs=1e-12), name
        elif name in SYMMETRIC:
            assert w == pytest.approx(v, rel=1e-9, abs=1e-12), name
        elif name in RECIPROCAL:
            assert w == pytest.approx(1 / v, rel=1e-9), name
        checked.add(name)
    assert checked == (ANTISYMMETRIC | SYMMETRIC | RECIPROCAL) & {n for (_, n, _), v in r.items() if v is not None}
