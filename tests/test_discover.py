"""Subgroup discovery: planted subgroups are found, noise is not reported, the statistics match hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from assay._errors import ConfigError, DataError
from assay.datasets import load_adult
from assay.discover import discover
from assay.stats import greater_proportion, newcombe_difference, wilson_interval

PLANTED = [  # (definition, extra flip probability): depth 1 to 3, 2% to 5% of Adult train's rows
    ({"education": "Masters"}, 0.25),
    ({"sex": "Female", "race": "Black"}, 0.2),
    ({"marital-status": "Never-married", "occupation": "Sales", "sex": "Male"}, 0.35),
]


def test_wilson_and_newcombe_intervals_equal_the_published_examples():
    # Newcombe (1998), Statistics in Medicine 17: Wilson's interval for 81/263 is 0.2553 to 0.3662 (Table I), and the hybrid
    # score interval (method 10) for 56/70 - 48/80 is 0.0524 to 0.3339 (Table II)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert newcombe_difference(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 0) == (None, None)
    from scipy.stats import fisher_exact

    assert greater_proportion(30, 100, 50, 400) == pytest.approx(fisher_exact([[30, 70], [50, 350]], alternative="greater").pvalue, rel=1e-9)
    assert greater_proportion(3, 3, 0, 3) == pytest.approx(1 / 20, rel=1e-12)  # by hand: 1 of the C(6, 3) = 20 ways to place 3 errors
    assert greater_proportion(1, 0, 5, 10) is None


def _scored(frame, seed, planted=None):
    """Decisions that err on 15% of the rows at random, and with ``planted`` (definition, p) also on a further share p of that
    subgroup's rows; the true error probability of every row."""
    rng = np.random.default_rng(1000 + seed)
    y = (frame["income"] == ">50K").to_numpy()
    err = rng.random(len(frame)) < 0.15
    truth = np.full(len(frame), 0.15)
    if planted is not None:
        definition, p = planted
        inside = np.logical_and.reduce([(frame[c] == v).to_numpy() for c, v in definition.items()])
        err = np.where(inside & (rng.random(len(frame)) < p), ~err, err)
        truth = np.where(inside, 0.15 * (1 - p) + 0.85 * p, truth)
    return frame.assign(pred=np.where(y != err, ">50K", "<=50K")), truth


def _members(frame, subgroup):
    inside = np.ones(len(frame), dtype=bool)
    for c in subgroup["conditions"]:
        col = frame[c["column"]]
        if "value" in c:
            inside &= (col == c["value"]).to_numpy()
        elif "low" in c:
            x = col.to_numpy(dtype=float)
            if c["low"] is not None:
                inside &= (x > c["low"]) if not c["low_inclusive"] else (x >= c["low"])
            if c["high"] is not None:
                inside &= x < c["high"]
        else:
            raise AssertionError(c)
    return inside


SETTINGS = dict(label="income", label_values_or_threshold=[">50K"], predicted_label="pred", max_depth=3)


def test_planted_subgroups_are_found_and_almost_everything_reported_is_really_worse():
    adult = load_adult("train").drop(columns=["fnlwgt"])
    found, reported, false = 0, 0, 0
    runs = [(planted, seed) for planted in PLANTED for seed in range(4)]
    for planted, seed in runs:
        frame, truth = _scored(adult, seed, planted)
        result = discover(frame, **SETTINGS, seed=seed)
        want = {(c, str(v)) for c, v in planted[0].items()}
        found += any({(c["column"], str(c.get("value"))) for c in s["conditions"]} == want for s in result.found)
        for s in result.found:  # a false discovery: a subgroup whose true error rate is not above the rest's
            inside = _members(frame, s)
            assert inside.sum() >= s["confirmation"]["rows"]
            reported += 1
            false += truth[inside].mean() <= truth[~inside].mean() + 1e-12
    assert found / len(runs) >= 0.95, (found, len(runs))
    assert reported > 3 * len(runs) and false / reported <= 0.05, (false, reported)


def test_on_errors_at_random_nothing_is_reported_in_at_least_95_percent_of_seeds():
    adult = load_adult("test").drop(columns=["fnlwgt"])
    any_found = []
    for seed in range(40):
        frame, _ = _scored(adult, seed)
        result = discover(frame, **(SETTINGS | {"max_depth": 2}), seed=seed)
        assert result.hypotheses["tested"] <= 100 and result.hypotheses["searched"] > 500
        any_found.append(bool(result.found))
    assert np.mean(any_found) <= 0.05, np.flatnonzero(any_found)


def test_the_reported_figures_are_the_counts_of_the_confirmation_rows():
    adult = load_adult("test").drop(columns=["fnlwgt"])
    frame, _ = _scored(adult, 3, PLANTED[1])
    result = discover(frame, **SETTINGS, seed=3)
    doc = result.to_dict()
    assert doc["overall"]["discovery_rows"] + doc["overall"]["confirmation_rows"] == len(frame)
    top = result.found[0]
    confirm = np.random.default_rng([3, 7]).random(len(frame)) < 0.5  # the split, as documented
    inside = _members(frame, top) & confirm
    bad = (frame["pred"] != frame["income"]).to_numpy()
    n, k = inside.sum(), bad[inside].sum()
    rest_n, rest_k = (confirm & ~inside).sum(), bad[confirm & ~inside].sum()
    c = top["confirmation"]
    assert (c["rows"], c["rest_rows"]) == (n, rest_n)
    assert c["value"] == pytest.approx(k / n, rel=1e-12) and c["rest_value"] == pytest.approx(rest_k / rest_n, rel=1e-12)
    assert c["ci"] == pytest.approx(list(wilson_interval(k, n)), rel=1e-12)
    assert c["p_value"] == pytest.approx(greater_proportion(k, n, rest_k, rest_n), rel=1e-12)
    assert top["q_value"] <= 0.05 and len(top["text"]) > 5


def test_selection_rate_is_worse_when_lower_and_the_other_rates_on_their_rows():
    adult = load_adult("test").drop(columns=["fnlwgt"])
    frame, _ = _scored(adult, 0)
    frame.loc[(frame["race"] == "Black").to_numpy(), "pred"] = "<=50K"  # never selected
    result = discover(frame, **(SETTINGS | {"max_depth": 1}), measure="selection_rate")
    top = result.found[0]
    assert top["text"] == "race = Black" and top["confirmation"]["value"] == 0.0
    assert top["confirmation"]["difference"] < 0 and top["confirmation"]["difference_ci"][1] < 0
    fnr = discover(frame, **(SETTINGS | {"max_depth": 1}), measure="false_negative_rate")
    assert fnr.found[0]["confirmation"]["value"] == 1.0 and "race = Black" in [s["text"] for s in fnr.found]


def test_bad_settings_and_columns_are_named():
    adult = load_adult("test").iloc[:2000]
    frame, _ = _scored(adult, 0)
    with pytest.raises(ConfigError, match="measure must be one of .*error_rate.*got 'eror_rate'"):
        discover(frame, **SETTINGS, measure="eror_rate")
    with pytest.raises(DataError, match="no column 'sexx'"):
        discover(frame, **SETTINGS, columns=["sexx"])
    with pytest.raises(ConfigError, match="max_depth must be a whole number from 1 to 6"):
        discover(frame, **(SETTINGS | {"max_depth": 0}))
    with pytest.raises(ConfigError, match="predicted_label, or its scores as probability"):
        discover(frame, label="income", label_values_or_threshold=[">50K"])


def test_the_cli_discovers_from_a_config_and_keeps_what_analysis_json_had(tmp_path):
    import json

    from typer.testing import CliRunner

    from assay.cli._main import app

    frame, _ = _scored(load_adult("train").drop(columns=["fnlwgt"]), 1, PLANTED[1])
    frame.to_parquet(tmp_path / "scored.parquet")
    (tmp_path / "discover.yaml").write_text("dataset_uri: scored.parquet\nlabel: income\nlabel_values_or_threshold: ['>50K']\npredicted_label: pred\n"
                                            "discover: {max_depth: 2, columns: [age, workclass, education, race, sex, hours-per-week]}\n")  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    (out / "analysis.json").write_text(json.dumps({"version": "1.0", "explanations": {"kept": True}}))
    r = CliRunner().invoke(app, ["discover", str(tmp_path / "discover.yaml"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    alone = tmp_path / "alone"
    r2 = CliRunner().invoke(app, ["discover", str(tmp_path / "discover.yaml"), "--out", str(alone), "--report"])
    assert r2.exit_code == 0, r2.output
    page = (alone / "report.html").read_text()
    assert "Subgroups where the model does worse" in page
    import re

    shown = re.search(r'data-subgroup="race = Black and sex = Female" data-v="([^"]+)"', page)
    top = json.loads((alone / "analysis.json").read_text())["subgroup_discovery"]["subgroups"][0]
    assert top["text"] == "race = Black and sex = Female" and float(shown.group(1)) == top["confirmation"]["value"]  # the page shows the file
    doc = json.loads((out / "analysis.json").read_text())
    assert doc["explanations"] == {"kept": True}
    section = doc["subgroup_discovery"]
    assert section["settings"]["max_depth"] == 2 and section["hypotheses"]["tested"] >= 1
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("assay").joinpath("schemas/analysis.schema.json").read_text())
    mine = {k: v for k, v in doc.items() if k != "explanations"}  # the explanation placed there by hand is no real one
    jsonschema.validate(mine, schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema does check the section
        jsonschema.validate(mine | {"subgroup_discovery": section | {"measure": "accuracy"}}, schema)
    direct = discover(frame, **(SETTINGS | {"max_depth": 2}), columns=["age", "workclass", "education", "race", "sex", "hours-per-week"])
    assert section["subgroups"] == json.loads(json.dumps(direct.to_dict()["subgroups"]))  # the CLI is the library call
    assert section["subgroups"][0]["text"] == "race = Black and sex = Female" and "subgroup(s) with a worse error_rate" in r.output
    (tmp_path / "bad.yaml").write_text("dataset_uri: scored.parquet\nlabel: income\nlabel_values_or_threshold: ['>50K']\npredicted_label: pred\n"
                                       "discover: {max_dept: 2}\n")  # fmt: skip
    bad = CliRunner().invoke(app, ["discover", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "max_dept" in bad.output and "max_depth" in bad.output


def _probabilities(frame, seed, shifted=None, low=0.02, high=0.5):
    """Scores s drawn at random in [low, high] and labels drawn from them (calibrated: P(y = 1 | s) = s), except in the
    ``shifted`` subgroup, where labels are drawn from s + 0.15 (the scores under-predict there by 0.15)."""
    rng = np.random.default_rng(2000 + seed)
    s = rng.uniform(low, high, len(frame))
    truth = s.copy()
    if shifted is not None:
        truth = np.where(np.logical_and.reduce([(frame[c] == v).to_numpy() for c, v in shifted.items()]), s + 0.15, s)
    return frame.assign(income=np.where(rng.random(len(frame)) < truth, ">50K", "<=50K"), score=s)


MEANS = dict(label="income", label_values_or_threshold=[">50K"], probability="score", max_depth=2)


def test_mean_measures_find_where_the_scores_are_miscalibrated_and_match_welch_by_hand():
    from scipy import stats

    adult = load_adult("test").drop(columns=["fnlwgt"])
    frame = _probabilities(adult, 0, {"sex": "Female", "race": "Black"})
    cal = discover(frame, **MEANS, measure="calibration_error", seed=5)
    top = cal.found[0]
    assert top["text"] == "race = Black and sex = Female" and top["confirmation"]["value"] == pytest.approx(0.15, abs=0.06)
    confirm = np.random.default_rng([5, 7]).random(len(frame)) < 0.5
    inside = _members(frame, top) & confirm
    r = (frame["income"] == ">50K").to_numpy() - frame["score"].to_numpy()  # observed minus predicted, per row
    welch = stats.ttest_ind(r[inside], r[confirm & ~inside], equal_var=False)
    c = top["confirmation"]
    assert c["value"] == pytest.approx(r[inside].mean(), rel=1e-12) and c["rest_value"] == pytest.approx(r[confirm & ~inside].mean(), rel=1e-12)
    assert c["p_value"] == pytest.approx(welch.pvalue, rel=1e-9) and c["difference_ci"] == pytest.approx(list(welch.confidence_interval()), rel=1e-9)
    assert c["ci"] == pytest.approx(list(stats.ttest_1samp(r[inside], 0).confidence_interval()), rel=1e-9)
    for measure, loss in (("log_loss", lambda y, p: -(y * np.log(p) + (1 - y) * np.log(1 - p))), ("brier_score", lambda y, p: (p - y) ** 2)):
        result = discover(frame, **MEANS, measure=measure, seed=5)
        best = result.found[0]
        assert best["text"] == "race = Black and sex = Female", (measure, [s["text"] for s in result.found])
        rows = _members(frame, best) & confirm
        y = (frame["income"] == ">50K").to_numpy()
        assert best["confirmation"]["value"] == pytest.approx(loss(y, frame["score"].to_numpy())[rows].mean(), rel=1e-9)
        assert best["confirmation"]["difference"] > 0 and best["confirmation"]["difference_ci"][0] > 0
    from sklearn.metrics import log_loss

    assert discover(frame, **MEANS, measure="log_loss").overall["value"] == pytest.approx(log_loss(frame["income"] == ">50K", frame["score"]), rel=1e-9)


def test_on_calibrated_scores_no_calibration_error_is_reported_in_most_seeds():
    adult = load_adult("test").drop(columns=["fnlwgt"])
    any_found = [bool(discover(_probabilities(adult, seed, low=0.05, high=0.95), **MEANS, measure="calibration_error", seed=seed).found)
                 for seed in range(20)]  # fmt: skip
    assert np.mean(any_found) <= 0.1, np.flatnonzero(any_found)


def test_mean_measures_need_probabilities_in_zero_one():
    frame = _probabilities(load_adult("test").iloc[:3000], 0)
    with pytest.raises(ConfigError, match="measure brier_score needs the model's probabilities"):
        discover(frame.assign(pred="<=50K"), label="income", label_values_or_threshold=[">50K"], predicted_label="pred", measure="brier_score")
    with pytest.raises(DataError, match=r"probability column 'score' has values outside \[0, 1\] \(such as 1.5\)"):
        discover(frame.assign(score=np.where(np.arange(len(frame)) == 7, 1.5, frame["score"])), **MEANS, measure="log_loss")


def test_registry_metrics_search_as_the_rate_they_are_a_difference_of():
    adult = load_adult("test").drop(columns=["fnlwgt"])
    labels = discover(adult, label="income", label_values_or_threshold=[">50K"], measure="DPL", max_depth=1, seed=2)  # no model at all
    assert labels.measure == "label_rate"
    women = next(s for s in labels.found if s["text"] == "sex = Female")
    confirm = np.random.default_rng([2, 7]).random(len(adult)) < 0.5
    inside = (adult["sex"] == "Female").to_numpy() & confirm
    rich = (adult["income"] == ">50K").to_numpy()
    c = women["confirmation"]
    assert c["value"] == pytest.approx(rich[inside].mean(), rel=1e-12) and c["rest_value"] == pytest.approx(rich[confirm & ~inside].mean(), rel=1e-12)
    assert c["difference"] < -0.15  # Clarify's DPL for this facet is the same difference, turned around (q_a - q_d)
    frame, _ = _scored(adult, 0)
    omission = discover(frame, **(SETTINGS | {"max_depth": 1}), measure="DRR", seed=2)
    assert omission.measure == "false_omission_rate" and omission.overall["rows"] == int((frame["pred"] == "<=50K").sum())
    with pytest.raises(ConfigError, match="metric DI is not a difference of rates .* DPPL \\(selection_rate\\)"):
        discover(frame, **SETTINGS, measure="DI")
