"""Task metrics by group: WER and CER equal jiwer's, regression and ranking metrics equal hand computations, and the cluster
bootstrap covers where a row bootstrap does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay._errors import ConfigError, DataError
from assay.tasks import by_group

WORDS = "the a cat dog sat ran on under mat log house tree river bank money river stone".split()


def _transcripts(n, seed):
    rng = np.random.default_rng(seed)
    refs, hyps = [], []
    for _ in range(n):
        ref = list(rng.choice(WORDS, rng.integers(1, 15)))
        hyp = []
        for w in ref:
            r = rng.random()
            if r < 0.08:
                continue  # a deletion
            hyp.append(str(rng.choice(WORDS)) if r < 0.2 else w)
            if rng.random() < 0.05:
                hyp.append(str(rng.choice(WORDS)))  # an insertion
        refs.append(" ".join(ref))
        hyps.append("  ".join(hyp) + (" " if rng.random() < 0.3 else ""))  # extra spaces: the same words
    return refs, hyps


def test_group_wer_and_cer_equal_jiwers_on_the_same_transcripts():
    import jiwer

    refs, hyps = _transcripts(600, 0)
    frame = pd.DataFrame({"ref": refs, "hyp": hyps, "dialect": np.array(["north", "south", "west"])[np.arange(600) % 3]})
    for metric, reference in (("wer", jiwer.wer), ("cer", jiwer.cer)):
        result = by_group(frame, metric=metric, group="dialect", reference="ref", hypothesis="hyp", replicates=0)
        for g in result.groups:
            rows = frame["dialect"] == g["group"]
            assert g["value"] == pytest.approx(reference(frame.loc[rows, "ref"].tolist(), frame.loc[rows, "hyp"].tolist()), abs=1e-9), (metric, g)
        assert result.overall["value"] == pytest.approx(reference(refs, hyps), abs=1e-9)


def test_regression_and_ranking_metrics_equal_hand_computations():
    rng = np.random.default_rng(1)
    f = pd.DataFrame({"y": rng.normal(size=300), "p": rng.normal(size=300), "g": np.where(rng.random(300) < 0.3, "a", "b")})
    a = f[f["g"] == "a"]
    got = {m: by_group(f, metric=m, group="g", label="y", prediction="p", replicates=50).groups[0] for m in ("mae", "rmse", "mean_error")}
    assert got["mae"]["value"] == pytest.approx(np.abs(a.y - a.p).mean(), rel=1e-12)
    assert got["rmse"]["value"] == pytest.approx(np.sqrt(((a.y - a.p) ** 2).mean()), rel=1e-12)
    b = f[f["g"] == "b"]
    assert got["mean_error"]["difference"] == pytest.approx((a.y - a.p).mean() - (b.y - b.p).mean(), rel=1e-12)
    from sklearn.metrics import ndcg_score

    queries = pd.DataFrame({"q": np.repeat(np.arange(40), 8), "rel": rng.integers(0, 4, 320), "score": rng.random(320)})
    queries["user"] = np.where(queries["q"] % 2 == 0, "new", "returning")
    result = by_group(queries, metric="ndcg", group="user", query="q", relevance="rel", score="score", k=5, replicates=100)
    for g in result.groups:
        qs = queries[queries["user"] == g["group"]]
        per = [ndcg_score([x["rel"].to_numpy()], [x["score"].to_numpy()], k=5) for _, x in qs.groupby("q") if x["rel"].sum() > 0]
        assert g["value"] == pytest.approx(np.mean(per), rel=1e-9) and g["units"] == 20
    assert result.unit == "q"  # a query's rows are resampled together


def test_the_cluster_bootstrap_covers_where_a_row_bootstrap_undercovers():
    """Speakers differ in how often the recogniser errs (errors of one speaker's utterances are correlated): 30 speakers, 20
    utterances of 10 words each, a speaker's error rate drawn from Beta(2, 18) (mean 0.1). The group's WER is errors over
    words, here the mean of errors / 10 (mae against 0 has the same ratio of sums)."""
    covered = {"speaker": 0, None: 0}
    sims = 300
    for s in range(sims):
        rng = np.random.default_rng(500 + s)
        rate = rng.beta(2, 18, 30)
        errors = rng.binomial(10, np.repeat(rate, 20))
        frame = pd.DataFrame({"wer": errors / 10, "zero": 0.0, "speaker": np.repeat(np.arange(30), 20), "g": "all"})
        for unit in covered:
            lo, hi = by_group(frame, metric="mae", group="g", label="wer", prediction="zero", unit=unit, replicates=400, seed=s).overall["ci"]
            covered[unit] += lo <= 0.1 <= hi
    assert 0.90 <= covered["speaker"] / sims <= 0.98, covered
    assert covered[None] / sims < 0.75, covered  # rows resampled as independent: intervals far too narrow


def test_bad_input_names_the_column_or_metric():
    f = pd.DataFrame({"y": [1.0, 2.0], "p": [1.0, None], "g": ["a", "b"]})
    with pytest.raises(ConfigError, match="metric must be one of .* got 'wr'"):
        by_group(f, metric="wr", group="g")
    with pytest.raises(ConfigError, match="metric wer needs the columns reference, hypothesis"):
        by_group(f, metric="wer", group="g")
    with pytest.raises(DataError, match="no group column 'gg'"):
        by_group(f, metric="mae", group="gg", label="y", prediction="p")
    with pytest.raises(DataError, match="'p' has 1 values that are not numbers"):
        by_group(f, metric="mae", group="g", label="y", prediction="p")
    user = by_group(pd.DataFrame({"y": [1, 0, 1, 1], "g": list("aabb")}), metric=lambda d: d["y"].mean(), group="g", replicates=20)
    assert [g["value"] for g in user.groups] == [0.5, 1.0] and user.metric == "<lambda>"


def test_assay_tasks_writes_task_metrics_into_analysis_json_and_the_report(tmp_path):
    import json
    from importlib import resources

    import jsonschema
    from typer.testing import CliRunner

    from assay.cli._main import app

    refs, hyps = _transcripts(300, 3)
    frame = pd.DataFrame({"ref": refs, "hyp": hyps, "speaker": np.arange(300) // 10, "dialect": np.where(np.arange(300) // 10 % 3 == 0, "north", "south")})
    frame.to_parquet(tmp_path / "asr.parquet")
    (tmp_path / "tasks.yaml").write_text("dataset_uri: asr.parquet\nbootstrap_replicates: 300\n"
                                         "tasks: [{metric: wer, group: dialect, unit: speaker, reference: ref, hypothesis: hyp}]\n")  # fmt: skip
    r = CliRunner().invoke(app, ["tasks", str(tmp_path / "tasks.yaml"), "--out", str(tmp_path / "out"), "--report"])
    assert r.exit_code == 0, r.output
    assert "wer by dialect" in r.output and "bootstrap over 30 speaker units" in r.output
    doc = json.loads((tmp_path / "out" / "analysis.json").read_text())
    schema = json.loads(resources.files("assay").joinpath("schemas/analysis.schema.json").read_text())
    jsonschema.validate(doc, schema)
    north = next(g for g in doc["task_metrics"][0]["groups"] if g["group"] == "north")
    direct = by_group(frame, metric="wer", group="dialect", unit="speaker", reference="ref", hypothesis="hyp", replicates=300)
    assert north == json.loads(json.dumps(direct.groups[0])) and north["units"] == 10
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Task metrics by group" in page and f'data-task="wer" data-group="north" data-v="{north["value"]}"' in page
    bad = CliRunner().invoke(app, ["tasks", str(tmp_path / "tasks.yaml"), "--out", str(tmp_path / "x"), "--data", str(tmp_path / "nope.parquet")])
    assert bad.exit_code == 2 and "nope.parquet" in bad.output
