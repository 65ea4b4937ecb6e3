"""Differentially private audits: OpenDP's noise at the scale epsilon asks for, every cell of the public domain released, intervals
that include the noise (coverage against the population, beside the interval that ignores it), the exact audit recovered as
epsilon grows, bad input named, and the accuracy-against-epsilon table. OpenDP's sampler cannot be seeded (by design), so the
statistical checks use bounds several standard errors wide."""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import pytest

import assay
from assay._errors import ConfigError
from assay._tabulate import as_frame, tabulate
from assay._tabulate._private import discrete_laplace, private_bootstrap, private_table
from assay.datasets import load_adult
from assay.privacy import epsilon_accuracy

DOMAIN = {"g": ["a", "d"], "y": ["neg", "pos"]}


def _population(seed: int, n: int = 2000) -> pd.DataFrame:
    """Group d is 20% of the rows; P(pos) is 0.5 in a and 0.3 in d: DPL = 0.2, CI = 0.6."""
    rng = np.random.default_rng(seed)
    g = rng.random(n) < 0.2
    y = rng.random(n) < np.where(g, 0.3, 0.5)
    return pd.DataFrame({"g": np.where(g, "d", "a"), "y": np.where(y, "pos", "neg")})


def _table(df: pd.DataFrame):
    return tabulate(as_frame(df), {k: nw.col(k) for k in df.columns})


def test_opendp_noise_has_the_scale_epsilon_asks_for_on_every_cell_of_the_domain():
    levels = [f"v{i:05d}" for i in range(20_000)]
    df = pd.DataFrame({"k": np.repeat(levels[:10_000], 100)})  # half the domain holds 100 rows per value, half is empty
    t = _table(df)
    released, rel = private_table(t, {"k": levels}, 0.5)
    assert (rel.scale, rel.sensitivity, rel.cells) == (2.0, 1, 20_000) and released.n_cells == 20_000
    assert released.values("k") == levels  # the empty half is released too
    full = released.count[:10_000] - 100
    # discrete Laplace with scale 2: variance 2q / (1 - q)^2, q = exp(-1/2) -> sd 2.77; 10,000 cells: the sample sd within 4%
    assert rel.noise_sd == pytest.approx(np.sqrt(2 * np.exp(-0.5)) / (1 - np.exp(-0.5)), rel=1e-12)
    assert full.std() == pytest.approx(rel.noise_sd, rel=0.04) and abs(full.mean()) < 4 * rel.noise_sd / 100
    empty = released.count[10_000:]
    assert (empty >= 0).all() and 0.2 < (empty > 0).mean() < 0.5  # clipped at zero: P(noise > 0) = q / (1 + q) = 0.38
    changed, rel2 = private_table(t, {"k": levels}, 0.5, neighbouring="change")
    assert (rel2.scale, rel2.sensitivity) == (4.0, 2)
    # the bootstrap's own discrete Laplace has the same law
    z = discrete_laplace(np.random.default_rng(0), 2.0, (200_000,))
    assert z.std() == pytest.approx(rel.noise_sd, rel=0.01) and (z == np.round(z)).all()


def test_rows_outside_the_domain_are_left_out_and_counted_in_their_own_noisy_cell():
    df = pd.DataFrame({"g": ["a"] * 500 + ["d"] * 300 + ["x"] * 200, "y": ["pos", "neg"] * 500})
    released, rel = private_table(_table(df), DOMAIN, 1e6)  # negligible noise
    assert released.count.sum() == 800 and rel.outside_domain == 200


def test_intervals_include_the_noise_and_cover_the_population_value():
    # at epsilon 0.05 the noise (sd 28 per cell) is as large as the sampling error of a 400-row group: an interval that ignores it
    # covers DPL = 0.2 in about 65% of samples; the parametric bootstrap of the release (sampling + noise) in about 95%
    def dpl(t):  # cells: (a, neg), (a, pos), (d, neg), (d, pos)
        with np.errstate(invalid="ignore", divide="ignore"):
            return t[..., 1] / (t[..., 0] + t[..., 1]) - t[..., 3] / (t[..., 2] + t[..., 3])

    covered = {"noise-aware": 0, "noise ignored": 0}
    seeds = 300
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        released, rel = private_table(_table(_population(seed)), DOMAIN, 0.05)
        assert released.values("g") == ["a", "a", "d", "d"] and released.values("y") == ["neg", "pos", "neg", "pos"]
        for name, draws in (("noise-aware", private_bootstrap(released, rel, 1000, rng)), ("noise ignored", released.bootstrap(1000, rng))):
            lo, hi = np.nanquantile(dpl(draws), [0.025, 0.975])
            covered[name] += lo <= 0.2 <= hi
    # binomial se at 0.95 over 300: 0.013; bounds 4 se away
    assert covered["noise-aware"] / seeds >= 0.90 and covered["noise ignored"] / seeds <= 0.80


def test_the_private_audit_covers_the_population_and_reports_how_it_was_released():
    hits = {"DPL": 0, "CI": 0}
    truth = {"DPL": 0.2, "CI": 0.6}
    seeds = 200
    for seed in range(seeds):
        r = assay.audit(_population(seed), label="y", label_values_or_threshold=["pos"], facets=[{"name_or_index": "g", "value_or_threshold": ["d"]}],
                        pre_training_methods=["DPL", "CI"], post_training_methods=None, bootstrap_replicates=400, seed=seed,
                        differential_privacy={"epsilon": 0.1, "domain": DOMAIN})  # fmt: skip
        for m in r.pre_training.facets["g"][0].metrics:
            hits[m.name] += m.ci[0] <= truth[m.name] <= m.ci[1]
            assert m.p_value is None and m.significant is None  # tests on noisy counts would be wrong: none are given
    assert all(h / seeds >= 0.88 for h in hits.values()), hits  # 95% nominal; se 0.015
    dp = r.settings["differential_privacy"]
    assert dp["epsilon"] == 0.1 and dp["delta"] == 0 and dp["scale"] == 10.0 and dp["cells_released"] == 4
    assert dp["domain"] == {"g": ["a", "d"], "y": ["neg", "pos"]} and "parametric bootstrap" in r.settings["ci_method"]


def test_a_large_epsilon_gives_the_exact_audit_and_metrics_that_need_rows_say_so():
    d = load_adult("test")
    d["pred"] = np.where((d["education-num"] >= 13) | (d["capital-gain"] > 5000), ">50K", "<=50K")
    settings = dict(label="income", label_values_or_threshold=[">50K"], facets=["sex", "race"], predicted_label="pred", bootstrap_replicates=50)
    exact = assay.audit(d, **settings)
    races = sorted(d["race"].unique())
    private = assay.audit(d, **settings, differential_privacy={"epsilon": 1e6, "domain": {"sex": ["Female", "Male"], "race": races,
                                                                                         "income": ["<=50K", ">50K"]}})  # fmt: skip
    for stage in ("pre_training", "post_training"):
        for facet in ("sex", "race"):
            ours = {(fv.value_or_threshold, m.name): m.value for fv in getattr(private, stage).facets[facet] for m in fv.metrics}
            theirs = {(fv.value_or_threshold, m.name): m.value for fv in getattr(exact, stage).facets[facet] for m in fv.metrics}
            for key, v in theirs.items():
                if key[1] == "FT":
                    assert key not in ours  # "all" leaves out what cannot be computed
                elif v is not None:
                    assert ours[key] == pytest.approx(v, rel=1e-12, abs=1e-15), key
    asked = assay.audit(d, **{**settings, "post_training_methods": ["FT", "DPPL"]}, differential_privacy={"epsilon": 1, "domain": {
        "sex": ["Female", "Male"], "race": races, "income": ["<=50K", ">50K"]}})  # fmt: skip
    ft = asked.post_training.facets["sex"][0].metrics[0]
    assert ft.name == "FT" and ft.value is None and "needs the rows, which a differentially private audit does not read" in ft.reason
    assert private.dataset["rows"] == exact.dataset["rows"] == 15060


def test_bad_private_audits_are_refused_naming_what_is_wrong():
    df = _population(0).assign(score=np.linspace(0, 1, 2000), w=1.0, age=np.arange(2000))
    base = dict(label="y", label_values_or_threshold=["pos"], facets=["g"], post_training_methods=None, bootstrap_replicates=20)
    with pytest.raises(ConfigError, match=r"every value of label 'y', so they must be public: give them in differential_privacy.domain"):
        assay.audit(df, **base, differential_privacy={"epsilon": 1, "domain": {"g": ["a", "d"]}})
    with pytest.raises(ConfigError, match=r"differential_privacy.domain names 'h', which is not a facet"):
        assay.audit(df, **base, differential_privacy={"epsilon": 1, "domain": {**DOMAIN, "h": [1]}})
    with pytest.raises(ConfigError, match=r"domain of 'age': 'old' is not a value of its type"):
        assay.audit(df, **{**base, "facets": [{"name_or_index": "age", "type": "categorical"}]},
                    differential_privacy={"epsilon": 1, "domain": {"age": ["old"], "y": ["neg", "pos"]}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"predicted label 'p01' \(Int64\) does not hold the label's values"):
        assay.audit(df.assign(p01=(df["y"] == "pos").astype(int)), **{**base, "post_training_methods": ["DPPL"]}, predicted_label="p01",
                    differential_privacy={"epsilon": 1, "domain": DOMAIN})  # fmt: skip
    with pytest.raises(ConfigError, match="epsilon must be a number > 0, got 0"):
        assay.audit(df, **base, differential_privacy={"epsilon": 0, "domain": DOMAIN})
    with pytest.raises(ConfigError, match="sample_weight"):
        assay.audit(df, **base, sample_weight="w", differential_privacy={"epsilon": 1, "domain": DOMAIN})
    # a continuous facet's bins come from its threshold (the config), not the data: no domain needed for it
    r = assay.audit(df, **{**base, "facets": [{"name_or_index": "age", "value_or_threshold": 1000}]},
                    differential_privacy={"epsilon": 1e6, "domain": {"y": ["neg", "pos"]}})  # fmt: skip
    assert r.settings["differential_privacy"]["domain"]["age"] == [0, 1]
    assert r.pre_training.facets["age"][0].group.size == 999


def test_accuracy_against_epsilon_shrinks_with_epsilon_and_the_private_intervals_hold_the_exact_values():
    d = load_adult("test")
    d["pred"] = np.where((d["education-num"] >= 13) | (d["capital-gain"] > 5000), ">50K", "<=50K")
    table = epsilon_accuracy(d, domain={"sex": ["Female", "Male"], "income": ["<=50K", ">50K"]}, epsilons=[0.05, 1.0, 100.0], runs=8,
                             label="income", label_values_or_threshold=[">50K"], facets=["sex"], predicted_label="pred", bootstrap_replicates=200)  # fmt: skip
    rows = {(r["epsilon"], r["metric"]): r for r in table["rows"]}
    for metric in ("DPL", "DPPL", "AD", "DI", "EqOddsD"):
        small, mid, large = rows[(0.05, metric)], rows[(1.0, metric)], rows[(100.0, metric)]
        assert small["median_abs_error"] > mid["median_abs_error"] >= large["median_abs_error"] == 0.0, metric
        assert small["median_ci_width"] > mid["median_ci_width"] and large["median_ci_width"] == pytest.approx(large["exact_median_ci_width"], rel=0.1)
        assert small["exact_in_interval"] >= 0.75 and large["exact_in_interval"] == 1.0
    assert rows[(0.05, "FT")]["undefined_share"] == 1.0 and "CDDL" not in {m for _, m in rows}  # FT needs rows; CDDL a group variable
    assert table["runs"] == 8 and "not itself a private release" in table["note"]
    with pytest.raises(ConfigError, match="epsilons must be a non-empty list of positive numbers"):
        epsilon_accuracy(d, domain={}, epsilons=[0], label="income", label_values_or_threshold=[">50K"], facets=["sex"])


def test_a_private_audit_and_its_epsilon_table_from_the_cli_into_the_schema_and_the_report(tmp_path):
    import json
    from importlib import resources

    import jsonschema
    from typer.testing import CliRunner

    from assay.cli._main import app

    d = load_adult("test")
    d["pred"] = np.where((d["education-num"] >= 13) | (d["capital-gain"] > 5000), ">50K", "<=50K")
    d.to_csv(tmp_path / "scored.csv", index=False)
    (tmp_path / "c.yaml").write_text(
        "dataset_uri: scored.csv\nlabel: income\nlabel_values_or_threshold: ['>50K']\npredicted_label: pred\nfacet: [{name_or_index: sex}]\n"
        "bootstrap_replicates: 200\ndifferential_privacy: {epsilon: 0.5, domain: {sex: [Female, Male], income: ['<=50K', '>50K']}}\n"
        "privacy: {scan: false, epsilon_accuracy: {epsilons: [0.1, 10], runs: 3, bootstrap_replicates: 100}}\n")  # fmt: skip
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["audit", str(tmp_path / "c.yaml"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "differentially private release: epsilon 0.5" in text and "no p-values" in text
    r = CliRunner().invoke(app, ["privacy", str(tmp_path / "c.yaml"), "--out", str(out), "--report"])
    assert r.exit_code == 0, r.output
    assert "what differential privacy costs the audit" in " ".join(r.output.split())
    doc = json.loads((out / "analysis.json").read_text())
    jsonschema.validate(doc, json.loads(resources.files("assay").joinpath("schemas/analysis.schema.json").read_text()))
    dp = doc["settings"]["differential_privacy"]
    assert dp["epsilon"] == 0.5 and dp["scale"] == 2.0 and dp["cells_released"] == 8  # sex x income x pred
    rows = {(x["epsilon"], x["metric"]): x for x in doc["privacy"]["epsilon_accuracy"]["rows"]}
    assert rows[(0.1, "DPPL")]["median_abs_error"] > rows[(10.0, "DPPL")]["median_abs_error"]
    page = (out / "report.html").read_text()
    assert "What differential privacy costs this audit" in page and 'data-eps="DPPL|0.1"' in page
    assert "Differential privacy</th><td>epsilon 0.500 (add/remove one row)" in page
    from assay.cards._content import build_content, to_html, to_markdown

    card = build_content(doc, {"name": "adult-rule"})
    assert card["additional_information"]["custom_details"]["privacy"]["differential_privacy"]["epsilon"] == 0.5
    assert "an epsilon-differentially private release: epsilon 0.5, delta 0" in to_markdown(card)
    html = to_html(card)
    assert 'data-dp="0.5"' in html and "Personal data found by the offline scan" not in html  # the config turned the scan off
    (tmp_path / "bad.yaml").write_text((tmp_path / "c.yaml").read_text().replace("income: ['<=50K', '>50K']", "incme: [x]"))
    bad = CliRunner().invoke(app, ["audit", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "differential_privacy.domain names 'incme'" in " ".join(bad.output.split())
