"""Every metric for sex, race and sex x race on scored Adult equals a row-level computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import assay
from tests.reference_impl import confusion, masks, reference_metrics


@pytest.fixture(scope="module")
def result(adult_scored):
    return assay.audit(
        adult_scored, label="income", label_values_or_threshold=[">50K"],
        facets=["sex", "race", ["sex", "race"]], predicted_label="pred", group_variable="education",
        bootstrap_replicates=1000, seed=1, post_training_methods=[m for m in assay.bias.METRICS if m != "FT" and assay.bias.METRICS[m].stage == "post_training"],
    )  # fmt: skip


@pytest.mark.parametrize("facet", ["sex", "race", ["sex", "race"]])
def test_every_metric_matches_row_level_computation(result, adult_scored, facet):
    y = adult_scored["y"].to_numpy()
    p = adult_scored["yhat"].to_numpy()
    strata = adult_scored["education"].to_numpy()
    name = facet if isinstance(facet, str) else " x ".join(facet)
    checked = 0
    for value, d in masks(adult_scored, facet).items():
        expected = reference_metrics(y, p, d, strata)
        shown = value if isinstance(value, str) else list(value)
        for stage in ("pre_training", "post_training"):
            fv = result.facet_value(stage, name, shown)
            assert fv.group.size == int(d.sum())
            assert fv.group.rest_size == int((~d).sum())
            for m in fv.metrics:
                if m.name not in expected:
                    continue
                exp = expected[m.name]
                if not math.isfinite(exp):
                    assert m.value is None and m.reason, (name, value, m.name)
                    continue
                assert m.value == pytest.approx(exp, abs=1e-7, rel=0), (name, value, m.name)
                lo, hi = m.ci
                assert lo is not None and lo <= m.value + 1e-12 and m.value - 1e-12 <= hi, (name, value, m.name, m.ci)
                checked += 1
        post = result.facet_value("post_training", name, shown)
        assert post.confusion_matrix == confusion(y[d], p[d])
        assert post.rest_confusion_matrix == confusion(y[~d], p[~d])
    assert checked > 20


def test_demographic_numbers_match_published_adult_reference():
    """fairness_libs.md 9.2: adult.test, all 16,281 rows: P(>50K|male) 0.2998, female 0.1088, SPD -0.1910."""
    from assay.datasets import load_adult

    df = load_adult("test", drop_missing=False)
    assert len(df) == 16281
    r = assay.audit(df, label="income", label_values_or_threshold=[">50K"], facets=["sex"], bootstrap_replicates=0)
    fv = r.facet_value("pre_training", "sex", "Female")
    assert fv.group.label_positive_rate == pytest.approx(0.1088, abs=5e-5)
    assert fv.group.rest_label_positive_rate == pytest.approx(0.2998, abs=5e-5)
    assert r.metric("pre_training", "sex", "Female", "DPL").value == pytest.approx(0.1910, abs=5e-5)


def test_no_bootstrap_gives_null_intervals(adult_scored):
    r = assay.audit(adult_scored, label="income", label_values_or_threshold=[">50K"], facets=["sex"], bootstrap_replicates=0)
    m = r.metric("pre_training", "sex", "Female", "DPL")
    assert m.ci == [None, None] and m.p_value is not None


def test_fliptest_equals_a_nearest_neighbour_computation_with_scikit_learn():
    """FlipTest (Black et al.): each row of d against the majority prediction of its k nearest rows of a (standardised features)."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.exponential(size=n), "g": rng.choice(["A", "B"], n, p=[0.3, 0.7])})
    df["yhat"] = ((df["x1"] + 0.5 * df["x2"] + 0.4 * (df["g"] == "B") + rng.normal(0, 0.5, n)) > 0.6).astype(int)
    df["y"] = ((df["x1"] + rng.normal(0, 1, n)) > 0).astype(int)
    r = assay.audit(df, label="y", label_values_or_threshold=[1], predicted_label="yhat", facets=["g"], pre_training_methods=None,
                    post_training_methods=["FT"], bootstrap_replicates=0)  # fmt: skip
    x = df[["x1", "x2"]].to_numpy()
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    pred = df["yhat"].to_numpy().astype(bool)
    for value in ("A", "B"):
        d = (df["g"] == value).to_numpy()
        idx = NearestNeighbors(n_neighbors=5).fit(x[~d]).kneighbors(x[d], return_distance=False)
        counter = pred[~d][idx].mean(axis=1) > 0.5
        flips = (counter & ~pred[d]).astype(float) - (~counter & pred[d]).astype(float)
        assert r.metric("post_training", "g", value, "FT").value == pytest.approx(flips.mean(), abs=1e-12), value


@pytest.mark.parametrize("dims, categories", [(3, 0), (4, 40)])
def test_nearest_neighbours_have_the_k_smallest_distances(dims, categories):
    from assay.bias._fliptest import nearest as _nearest

    rng = np.random.default_rng(dims)

    def rows(n):
        num = rng.normal(size=(n, dims)).round(1)
        cats = np.eye(categories)[rng.integers(0, categories, n)] if categories else np.zeros((n, 0))
        return np.c_[num, cats]

    ref, query = rows(2000), rows(700)
    idx = _nearest(query, ref, 5)
    got = np.sort(((query[:, None, :] - ref[idx]) ** 2).sum(-1), axis=1)
    want = np.sort(((query[:, None, :] - ref[None, :, :]) ** 2).sum(-1), axis=1)[:, :5]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_distinct_rows_group_exactly_even_when_projections_collide():
    from assay.bias._fliptest import _distinct_rows

    rng = np.random.default_rng(5)
    x = np.c_[rng.integers(0, 3, (3000, 2)).astype(float), np.eye(4)[rng.integers(0, 4, 3000)]]
    first, inverse = _distinct_rows(x)
    assert len(first) == len(np.unique(x, axis=0)) and np.array_equal(x[first][inverse], x)
    w = np.random.default_rng(0).uniform(1.0, 2.0, 2)  # the projection's own weights: two distinct rows that project alike
    y = np.array([[w[1], 0.0], [0.0, w[0]], [w[1], 0.0]])
    assert y[0] @ w == pytest.approx(y[1] @ w)
    first, inverse = _distinct_rows(y)
    assert len(first) == 2 and np.array_equal(y[first][inverse], y)


def test_design_matrix_from_arrow_buffers_equals_the_one_from_python_values():
    """FlipTest reads its sample's feature columns from the Arrow buffers: the same matrix as from the values one by one,
    for numbers with nulls and NaN, booleans, decimals, text with nulls (and a literal "None"), dictionary-encoded text and
    a sliced, chunked column; and without importing pandas."""
    import subprocess
    import sys

    script = r'''
import sys
import duckdb, numpy as np, pyarrow as pa, pyarrow.compute as pc
from assay.bias._fliptest import _arrow_column, design_matrix
# the data from DuckDB (building Arrow arrays from Python values imports pandas)
con = duckdb.connect()
con.sql("CREATE TYPE mood AS ENUM ('q', 'r', 's')")
table = con.sql("""SELECT * FROM (VALUES
    (0, 0.0, 0::SMALLINT, false, 0.00::DECIMAL(5, 2), 'drop', 'drop', 'q'::mood),
    (1, 1.5, 1::SMALLINT, true, 1.10::DECIMAL(5, 2), 'b', 'x', 'q'::mood),
    (2, NULL, 2::SMALLINT, false, NULL, NULL, 'y', 'r'::mood),
    (3, 3.0, NULL, NULL, 2.50::DECIMAL(5, 2), 'a', 'x', 'q'::mood),
    (4, 'NaN'::DOUBLE, 4::SMALLINT, true, 0.00::DECIMAL(5, 2), 'None', NULL, 's'::mood),
    (5, 7.25, 5::SMALLINT, true, 9.99::DECIMAL(5, 2), 'b', 'z', NULL)
) v(i, num, int, flag, dec, text, large, dict) ORDER BY i""").to_arrow_table().slice(1)  # sliced: the buffers start at an offset
chunked = pa.concat_tables([table.slice(0, 2), table.slice(2)])  # two chunks
cols = {c: chunked.column(c) for c in ("num", "int", "flag", "dec", "text", "large", "dict")}
at_offset = table.column("num").chunks[0]  # its buffers and bitmap start at offset 1
assert at_offset.offset == 1 and at_offset.null_count == 1
from assay.bias._fliptest import _buffer, _valid
assert _valid(at_offset).tolist() == [True, False, True, True, True] and _buffer(at_offset, np.float64)[[0, 2, 4]].tolist() == [1.5, 3.0, 7.25]
cols["large"] = pa.chunked_array([pc.cast(ch, pa.large_string()) for ch in cols["large"].chunks])
assert pa.types.is_dictionary(cols["dict"].type) and pa.types.is_decimal(cols["dec"].type)
take = np.array([4, 0, 2, 3])
for t in (None, take):
    fast, fast_groups = design_matrix({c: _arrow_column(a, t) for c, a in cols.items()}, rows=5 if t is None else 4)
    assert "pandas" not in sys.modules
    def values(a):
        v = a.to_pylist()
        return v if t is None else [v[i] for i in t]
    slow, slow_groups = design_matrix({c: values(a) for c, a in cols.items()}, rows=5 if t is None else 4)
    assert fast_groups == slow_groups, (fast_groups, slow_groups)
    np.testing.assert_allclose(fast, slow, atol=1e-12)
print("ok")
'''
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
