"""Bad input gets one clear error that names the column, key or value."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import assay
from assay import ConfigError, DataError


@pytest.fixture
def df() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame({
        "sex": rng.choice(["Female", "Male"], n), "race": rng.choice(["A", "B", "C"], n),
        "income": rng.choice(["<=50K", ">50K"], n), "pred": rng.choice(["<=50K", ">50K"], n), "age": rng.integers(18, 80, n),
    })  # fmt: skip


def run(df, **kw):
    base = {"label": "income", "label_values_or_threshold": [">50K"], "facets": ["sex"], "bootstrap_replicates": 0}
    base.update(kw)
    return assay.audit(df, **base)


def test_facet_not_a_column(df):
    with pytest.raises(DataError, match=r"facet 'gender' is not a column.*Columns: sex, race"):
        run(df, facets=["gender"])
    with pytest.raises(DataError, match=r"Did you mean 'sex'"):
        run(df, facets=["Sex"])


def test_label_not_a_column(df):
    with pytest.raises(DataError, match=r"label 'incme' is not a column.*Did you mean 'income'"):
        run(df, label="incme")


def test_label_with_one_class_is_a_warning_and_what_is_defined_is_computed(df):
    """A sample (a monitoring window) can hold one outcome only: Clarify accepts it; metrics of both outcomes are null with the reason."""
    df["income"] = ">50K"
    r = run(df, predicted_label="pred")
    assert any("label 'income' has one class only ('>50K')" in w for w in r.warnings)
    get = lambda st, n: r.metric(st, "sex", "Female", n)  # noqa: E731
    d = df["sex"] == "Female"
    rate = lambda m: (df.loc[m, "pred"] == ">50K").mean()  # noqa: E731
    assert get("post_training", "DPPL").value == pytest.approx(rate(~d) - rate(d))
    assert get("post_training", "RD").value == pytest.approx(rate(~d) - rate(d))  # every label positive: recall is the predicted-positive rate
    assert get("post_training", "FPRD").value is None and "no observed negative labels" in get("post_training", "FPRD").reason
    assert get("post_training", "SD").value is None and "no observed negative labels" in get("post_training", "SD").reason
    assert get("pre_training", "DPL").value == 0.0


def test_positive_value_never_occurs_is_a_warning_and_what_is_defined_is_computed(df):
    """Clarify accepts a positive value that never occurs; assay warns with the nearest value and computes what is defined."""
    r = run(df, label_values_or_threshold=[">50k"], predicted_label="pred")
    assert any(re.search(r"positive label value '>50k' never occurs in 'income'.*Did you mean '>50K'", w) for w in r.warnings)
    assert any("no row of 'income' has a positive label value" in w for w in r.warnings)
    get = lambda st, n: r.metric(st, "sex", "Female", n)  # noqa: E731
    assert get("pre_training", "DPL").value == 0.0  # no positives in either group: 0 - 0
    assert get("pre_training", "CI").value == pytest.approx(((df.sex == "Male").sum() - (df.sex == "Female").sum()) / len(df))
    assert get("post_training", "DI").value is None and get("post_training", "DI").reason  # no predicted positives: 0/0
    assert get("post_training", "RD").value is None and "no observed positive labels" in get("post_training", "RD").reason
    both = run(df, label_values_or_threshold=[">50K", "rich"])
    assert any("'rich' never occurs" in w for w in both.warnings) and not any("no row of" in w for w in both.warnings)
    assert both.metric("pre_training", "sex", "Female", "DPL").value == pytest.approx(run(df).metric("pre_training", "sex", "Female", "DPL").value)


def test_facet_value_never_occurs(df):
    with pytest.raises(DataError, match=r"facet value 'female' never occurs in 'sex'.*Did you mean 'Female'"):
        run(df, facets=[{"name_or_index": "sex", "value_or_threshold": ["female"]}])


def test_nan_in_facet(df):
    df.loc[[3, 7], "sex"] = None
    with pytest.raises(DataError, match=r"facet 'sex' has 2 missing values"):
        run(df)


def test_facet_with_one_value_has_no_group_to_compare(df):
    df["sex"] = "Female"
    with pytest.raises(DataError, match=r"facet 'sex' has one value only"):
        run(df)


def test_threshold_that_empties_a_group(df):
    with pytest.raises(DataError, match=r"facet 'age': no row is above the threshold 200"):
        run(df, facets=[{"name_or_index": "age", "value_or_threshold": [200]}])


def test_misspelt_config_key():
    from assay._config import load_config

    with pytest.raises(ConfigError, match=r"unknown config key 'lable'.*Did you mean 'label'"):
        load_config({"lable": "income"})
    with pytest.raises(ConfigError, match=r"unknown key methods.pre_training_bais.*Did you mean 'pre_training_bias'"):
        load_config({"methods": {"pre_training_bais": {}}})


def test_unknown_metric(df):
    with pytest.raises(ConfigError, match=r"pre_training metric 'DLP' does not exist. Did you mean .*'DPL'"):
        run(df, pre_training_methods=["DLP"])


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=r"cannot read .*broken.parquet' as parquet"):
        run(str(bad))
    with pytest.raises(FileNotFoundError, match=r"does not exist"):
        run(str(tmp_path / "nope.csv"))
    empty = tmp_path / "empty.csv"
    empty.write_text("sex,income\n")
    with pytest.raises(DataError, match=r"no rows"):
        run(str(empty))
    zero = tmp_path / "zero.csv"
    zero.write_bytes(b"")
    with pytest.raises(DataError, match=r"dataset file '.*zero.csv' is empty \(0 bytes\)"):
        run(str(zero))


def test_negative_weights(df):
    df["w"] = 1.0
    df.loc[0, "w"] = -1.0
    with pytest.raises(DataError, match=r"sample weight column 'w' has 1 negative values"):
        run(df, sample_weight="w")


def test_undefined_is_null_with_reason(df):
    df["pred"] = "<=50K"  # nobody predicted positive
    r = run(df, predicted_label="pred")
    di = r.metric("post_training", "sex", "Female", "DI")
    assert di.value is None and "no predicted positives" in di.reason
    assert di.significant is None
    assert any("no row is predicted positive" in w for w in r.warnings)


def test_small_groups_are_flagged(df):
    r = run(df, facets=["race"], min_group_size=100)
    fv = r.facet_value("pre_training", "race", "A")
    assert fv.group.small is True
    assert any("below the minimum group size 100" in w for w in r.warnings)


# -- issue 14: no silent coercions, no silent choices -------------------------------------------------------
def _small_frame():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame({"y": rng.integers(0, 2, 400), "flag": rng.integers(0, 2, 400).astype(float), "s": rng.random(400)})


def test_a_threshold_on_a_float_facet_is_a_threshold_however_few_its_values():
    import assay

    df = _small_frame()
    r = assay.audit(df, label="y", label_values_or_threshold=[1], facets=[{"name_or_index": "flag", "value_or_threshold": [0]}],
                    pre_training_methods=["CI"], post_training_methods=None, bootstrap_replicates=0)  # fmt: skip
    (fv,) = r.pre_training.facets["flag"]
    assert fv.group.size == int((df["flag"] > 0).sum())  # Clarify's d = (0, 1]: the rows with flag 1.0, not the complement
    with pytest.raises(DataError, match="declare type: categorical"):
        assay.audit(df, label="y", label_values_or_threshold=[1], facets=[{"name_or_index": "flag", "value_or_threshold": [1.0]}], bootstrap_replicates=0)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("bootstrap_replicates", 2.5, "bootstrap_replicates must be a whole number"),
    ("bootstrap_replicates", True, "bootstrap_replicates must be a whole number"),
    ("min_group_size", -1, "min_group_size must be a whole number >= 0"),
    ("confidence_level", "0.9", "confidence_level must be a number"),
])  # fmt: skip
def test_settings_are_never_coerced(key, value, message):
    import assay

    with pytest.raises(ConfigError, match=message):
        assay.audit(_small_frame(), label="y", label_values_or_threshold=[1], facets=["flag"], **{key: value})
    cfg = {"dataset_uri": "unused.csv", "label": "y", "label_values_or_threshold": [1], "facet": [{"name_or_index": "flag"}], key: value}
    with pytest.raises(ConfigError, match=message.split(" >=")[0]):
        assay.audit_config(cfg, data=_small_frame())


def test_a_score_outside_0_1_needs_its_threshold():
    import assay

    df = _small_frame().assign(s=lambda d: d["s"] * 4 - 2)
    with pytest.raises(DataError, match=r"probability column 's' ranges from -[0-9.]+ to [0-9.]+, outside \[0, 1\].*probability_threshold"):
        assay.audit(df, label="y", label_values_or_threshold=[1], facets=["flag"], probability="s", bootstrap_replicates=0)
    r = assay.audit(df, label="y", label_values_or_threshold=[1], facets=["flag"], probability="s", probability_threshold=0.0, bootstrap_replicates=0)
    assert r.settings["probability_threshold"] == 0.0


def test_duplicate_column_names_are_refused(tmp_path):
    import pandas as pd

    import assay

    (tmp_path / "d.csv").write_text("y,g,g\n" + "\n".join(f"{i % 2},{i % 3},{i % 2}" for i in range(60)))
    with pytest.raises(DataError, match="header row of .*d.csv' has the column name 'g' more than once"):
        assay.audit(str(tmp_path / "d.csv"), label="y", label_values_or_threshold=[1], facets=["g"])
    df = pd.DataFrame([[0, 1, 2]] * 10, columns=["y", "g", "g"])
    with pytest.raises(DataError, match="the data has the column name 'g' more than once"):
        assay.audit(df, label="y", label_values_or_threshold=[1], facets=["g"])


def test_a_thread_count_that_is_not_a_number_is_refused_naming_the_variable(df, monkeypatch):
    monkeypatch.setenv("ASSAY_THREADS", "two")
    with pytest.raises(ConfigError, match=r"ASSAY_THREADS must be a whole number of threads of at least 1, got 'two'"):
        run(df, predicted_label="pred", facets=["sex", "race"])
    monkeypatch.setenv("ASSAY_THREADS", "0")
    with pytest.raises(ConfigError, match=r"ASSAY_THREADS .* got '0'"):
        run(df, predicted_label="pred", facets=["sex", "race"])


def test_fliptest_is_the_same_on_one_thread_and_on_many(df, monkeypatch):
    """The comparisons' neighbour searches run at once on a thread pool: what each finds does not depend on how many threads."""
    kw = {"predicted_label": "pred", "facets": ["sex", "race", ["sex", "race"]]}

    def fts():
        r = run(df, **kw)
        return [(fv.value_or_threshold, m.value, tuple(m.ci)) for fvs in r.post_training.facets.values() for fv in fvs for m in fv.metrics if m.name == "FT"]

    monkeypatch.setenv("ASSAY_THREADS", "1")
    one = fts()
    monkeypatch.setenv("ASSAY_THREADS", "4")
    many = fts()
    assert len(one) == 2 + 3 + 6 and all(v is not None for _, v, _ in one)
    assert one == many
