"""One code path: pandas, polars, pyarrow, numpy, CSV, Parquet and JSON Lines give the same audit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assay
from assay.bias import METRICS

KW = {"label": "income", "label_values_or_threshold": [">50K"], "facets": ["sex", ["sex", "race"]],
      "predicted_label": "pred", "bootstrap_replicates": 50, "seed": 3}  # fmt: skip


@pytest.fixture(scope="module")
def small(adult_scored) -> pd.DataFrame:
    return adult_scored[["sex", "race", "income", "pred", "age", "score"]].head(3000).reset_index(drop=True)


def _values(r):
    f = r.to_frame()
    return (
        f[["stage", "facet", "value_or_threshold", "metric", "value", "ci_low", "ci_high", "p_value"]]
        .sort_values(["stage", "facet", "value_or_threshold", "metric"])
        .reset_index(drop=True)
    )


def test_engines_agree(small, tmp_path):
    import polars as pl

    expected = _values(assay.audit(small, **KW))
    small.to_parquet(tmp_path / "d.parquet")
    small.to_csv(tmp_path / "d.csv", index=False)
    small.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    half = len(small) // 2
    small.iloc[:half].to_parquet(tmp_path / "part-0.parquet")
    small.iloc[half:].to_parquet(tmp_path / "part-1.parquet")
    sources = {
        "polars": pl.from_pandas(small),
        "polars-lazy": pl.from_pandas(small).lazy(),
        "pyarrow": pa.Table.from_pandas(small),
        "dict": {c: small[c].to_numpy() for c in small.columns},
        "parquet": str(tmp_path / "d.parquet"),
        "csv": str(tmp_path / "d.csv"),
        "jsonl": str(tmp_path / "d.jsonl"),
        "glob": str(tmp_path / "part-*.parquet"),
    }
    for name, src in sources.items():
        got = _values(assay.audit(src, **KW))
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, obj=name)


def test_numpy_array_with_headers(small):
    arr = small[["sex", "income", "pred"]].to_numpy()
    r = assay.audit(
        arr,
        headers=["sex", "income", "pred"],
        label="income",
        label_values_or_threshold=[">50K"],
        facets=["sex"],
        predicted_label="pred",
        bootstrap_replicates=0,
    )
    ref = assay.audit(small, label="income", label_values_or_threshold=[">50K"], facets=["sex"], predicted_label="pred", bootstrap_replicates=0)
    assert r.metric("post_training", "sex", "Female", "DI").value == ref.metric("post_training", "sex", "Female", "DI").value


def test_integer_weights_equal_repeated_rows(small):
    w = (np.arange(len(small)) % 3 + 1).astype(float)
    weighted = assay.audit(small.assign(w=w), sample_weight="w", **{**KW, "bootstrap_replicates": 0})
    repeated = assay.audit(small.loc[small.index.repeat(w.astype(int))], **{**KW, "bootstrap_replicates": 0})
    a, b = _values(weighted), _values(repeated)
    a, b = a[a.metric != "FT"], b[b.metric != "FT"]  # FlipTest works on rows and does not use weights
    np.testing.assert_allclose(a["value"].astype(float), b["value"].astype(float), rtol=1e-12)
    fv = weighted.facet_value("post_training", "sex", "Female")
    assert fv.group.weight == pytest.approx(float(w[(small["sex"] == "Female").to_numpy()].sum()))


def test_probability_threshold_and_continuous_facet(small):
    r = assay.audit(small, label="income", label_values_or_threshold=[">50K"], facets=[{"name_or_index": "age", "value_or_threshold": [40]}],
                    probability="score", probability_threshold=0.3, bootstrap_replicates=0)  # fmt: skip
    d = (small["age"] > 40).to_numpy()  # right-closed (40, max]: 40 itself is not in d
    p = (small["score"] > 0.3).to_numpy()
    fv = r.facet_value("post_training", "age", f"(40, {small['age'].max()}]")
    assert fv.group.size == int(d.sum())
    assert fv.confusion_matrix["TP"] == int((p & d & (small["income"] == ">50K").to_numpy()).sum())
    assert r.metric("post_training", "age", f"(40, {small['age'].max()}]", "DPPL").value == pytest.approx(p[~d].mean() - p[d].mean())


def test_bins_and_continuous_label(small):
    r = assay.audit(small, label="age", label_values_or_threshold=[50], facets=["sex"], bootstrap_replicates=0)
    assert r.dataset["label_type"] == "continuous"
    y = (small["age"] > 50).to_numpy()
    d = (small["sex"] == "Female").to_numpy()
    assert r.metric("pre_training", "sex", "Female", "DPL").value == pytest.approx(y[~d].mean() - y[d].mean())
    # a continuous label (the score, thresholded at 0.5) and a binned continuous facet together
    r = assay.audit(small, label="score", label_values_or_threshold=[0.5], facets=[{"name_or_index": "age", "bins": [30]}], bootstrap_replicates=0)
    assert r.dataset["label_type"] == "continuous"
    y, d = (small["score"] > 0.5).to_numpy(), (small["age"] <= 30).to_numpy()
    assert r.metric("pre_training", "age", "(-inf, 30]", "DPL").value == pytest.approx(y[~d].mean() - y[d].mean())
    assert r.facet_value("pre_training", "age", "(30, inf)").group.size == int((~d).sum())
    r = assay.audit(small, label="income", label_values_or_threshold=[">50K"], facets=[{"name_or_index": "age", "bins": [30, 50]}], bootstrap_replicates=0)
    sizes = {fv.value_or_threshold: fv.group.size for fv in r.pre_training.facets["age"]}
    assert sizes == {
        "(-inf, 30]": int((small["age"] <= 30).sum()),
        "(30, 50]": int(((small["age"] > 30) & (small["age"] <= 50)).sum()),
        "(50, inf)": int((small["age"] > 50).sum()),
    }


def test_multiclass_label_distribution_and_per_class(small):
    df = small.assign(band=pd.cut(small["age"], [0, 30, 50, 200], labels=["young", "mid", "old"]).astype(str))
    r = assay.audit(df, label="band", label_values_or_threshold=["old"], facets=["sex"], bootstrap_replicates=0)
    assert r.dataset["label_type"] == "multiclass"
    d = (df["sex"] == "Female").to_numpy()
    pa_ = df.loc[~d, "band"].value_counts(normalize=True).sort_index()
    pd_ = df.loc[d, "band"].value_counts(normalize=True).sort_index()
    assert r.metric("pre_training", "sex", "Female", "TVD").value == pytest.approx(0.5 * (pa_ - pd_).abs().sum())
    assert r.metric("pre_training", "sex", "Female", "KS").value is None  # unordered classes
    for cls in ("young", "mid", "old"):
        exp = (df.loc[~d, "band"] == cls).mean() - (df.loc[d, "band"] == cls).mean()
        assert r.metric("pre_training", "sex", "Female", "DPL", label_value=cls).value == pytest.approx(exp)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("xyz"), st.booleans(), st.booleans()), min_size=8, max_size=60))
def test_properties_swap_and_ranges(rows):
    df = pd.DataFrame(rows, columns=["g", "y", "p"]).astype({"y": int, "p": int})
    if df["g"].nunique() < 2 or df["y"].nunique() < 2:
        return
    r = assay.audit(df, label="y", label_values_or_threshold=[1], facets=["g"], predicted_label="p", bootstrap_replicates=20)
    for fv in r.pre_training.facets["g"] + r.post_training.facets["g"]:
        for m in fv.metrics:
            if m.value is None:
                assert m.reason
                continue
            lo, hi = METRICS[m.name].range
            if lo not in ("-inf",):
                assert m.value >= float(lo) - 1e-12, m.name
            if hi not in ("inf", "ln 2", "sqrt 2"):
                assert m.value <= float(hi) + 1e-12, m.name
    # relabelling the groups (d <-> a) flips the sign of DPL
    vals = sorted(df["g"].unique())
    if len(vals) == 2:
        a, b = (r.metric("pre_training", "g", v, "DPL").value for v in vals)
        assert a == pytest.approx(-b)


def test_json_validates_against_schema(small):
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("assay").joinpath("schemas/analysis.schema.json").read_text())
    r = assay.audit(small, group_variable="race", **KW)
    jsonschema.validate(json.loads(r.to_json()), schema)


def test_a_parquet_row_sample_is_seeded_spread_over_the_files_and_about_the_size_asked(tmp_path):
    """FlipTest's sample of a large Parquet dataset: each row kept by a seeded hash of its file and row number (no full read)."""
    import pyarrow.parquet as pq

    from assay._tabulate import as_frame, read_dataset, row_sample

    n = 200_000
    for part in range(2):  # two files: row numbers restart in each
        pq.write_table(pa.table({"i": np.arange(part * n, (part + 1) * n), "x": np.arange(n) % 7}), tmp_path / f"p{part}.parquet", row_group_size=20_000)
    frame = read_dataset(str(tmp_path / "*.parquet"))
    got = row_sample(frame, 4_000, 2 * n, 0).collect().to_native()["i"].to_numpy()  # type: ignore[union-attr]
    assert abs(len(got) - 4_000) < 4 * np.sqrt(4_000)  # a Bernoulli sample of p = 1/100: size within 4 SD
    assert len(np.unique(got)) == len(got)
    counts, _ = np.histogram(got, bins=20, range=(0, 2 * n))  # every part of both files is sampled, none in clusters
    assert counts.min() > 120 and counts.max() < 280
    again = row_sample(frame, 4_000, 2 * n, 0).collect().to_native()["i"].to_numpy()  # type: ignore[union-attr]
    other = row_sample(frame, 4_000, 2 * n, 1).collect().to_native()["i"].to_numpy()  # type: ignore[union-attr]
    assert np.array_equal(np.sort(got), np.sort(again)) and len(np.intersect1d(got, other)) < len(got) * 0.05
    assert row_sample(as_frame(pd.DataFrame({"i": [1]})), 1, 1, 0) is None  # not a file read_dataset read
