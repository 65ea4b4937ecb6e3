"""The last mile: a signed card's claims re-measured on the deployer's data; data like the card's keeps every claim, a shifted
group breaks the claims about it, and a card that does not verify is not checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assay._errors import DataError
from assay.cards import CardStore, build_content, check_card, generate_key, load_private_key, load_public_key
from assay.gate import compare_claims

INFO = {"name": "income-classifier", "version": 1, "risk_rating": "High", "metrics": ["DPPL", "DI", "AD", "RD"]}
AUDIT = {"label": "income", "label_values_or_threshold": [">50K"], "predicted_label": "pred", "facet": [{"name_or_index": "sex"}, {"name_or_index": "race"}],
         "bootstrap_replicates": 1000}  # fmt: skip


@pytest.fixture(scope="module")
def halves(adult_scored):
    rng = np.random.default_rng(0)
    first = rng.random(len(adult_scored)) < 0.5
    return adult_scored[first].reset_index(drop=True), adult_scored[~first].reset_index(drop=True)


def _audit(frame):
    from assay._config import audit_config

    return audit_config(AUDIT, data=frame).to_dict()


@pytest.fixture(scope="module")
def card(halves, tmp_path_factory):
    d = tmp_path_factory.mktemp("card")
    store = CardStore(d / "store")
    private, public = generate_key(d / "rui")
    store.add_version(build_content(_audit(halves[0]), INFO), by="Ana")
    store.act("submit", by="Ana", reason="ready")
    store.act("approve", by="Rui", reason="metrics within policy", key=load_private_key(private))
    return d, load_public_key(public)


def test_on_data_drawn_like_the_cards_every_claim_holds(card, halves):
    d, key = card
    result = check_card(d / "store", _audit(halves[1]), trusted_keys=[key])
    assert result["status"] == "Approved" and result["approvals"][0]["by"] == "Rui"
    assert result["outcome"] == "holds" and result["counts"]["differs"] == 0, [r for r in result["claims"] if r["state"] != "holds"]
    assert result["counts"]["holds"] >= 20  # four metrics over the groups of sex and race


def test_on_data_with_a_shifted_group_the_claims_about_it_differ(card, halves):
    d, key = card
    shifted = halves[1].copy()
    women = (shifted["sex"] == "Female").to_numpy()
    shifted.loc[women & (np.arange(len(shifted)) % 2 == 0), "pred"] = ">50K"  # the model selects half of the women
    result = check_card(d / "store", _audit(shifted), trusted_keys=[key])
    differ = {(r["facet"], r["group"], r["metric"]) for r in result["claims"] if r["state"] == "differs"}
    assert {("sex", "Female", "DPPL"), ("sex", "Female", "DI"), ("sex", "Male", "DPPL")} <= differ
    dppl = next(r for r in result["claims"] if (r["facet"], r["group"], r["metric"]) == ("sex", "Female", "DPPL"))
    assert dppl["difference_ci"][1] < 0 and dppl["value"] == pytest.approx(dppl["card_value"] + dppl["difference"])
    assert result["outcome"] == "differs"


def test_the_difference_and_its_p_value_come_from_both_intervals():
    claims = [{"stage": "post_training", "facet": "sex", "group": "F", "metric": "DPPL", "value": 0.10, "ci": [0.08, 0.12]}]
    doc = {"settings": {"confidence_level": 0.95}, "post_training_bias_metrics": {"facets": {"sex": [
        {"value_or_threshold": "F", "group": {"size": 500}, "metrics": [{"name": "DPPL", "value": 0.16, "ci": [0.13, 0.19]}]}]}}}  # fmt: skip
    (r,) = compare_claims(claims, doc)
    se = np.hypot(0.04 / (2 * 1.959964), 0.06 / (2 * 1.959964))  # by hand: each standard error from its interval's width
    from scipy.stats import norm

    assert r["difference"] == pytest.approx(0.06) and r["p_value"] == pytest.approx(2 * norm.sf(0.06 / se), rel=1e-6) and r["state"] == "differs"
    (missing,) = compare_claims([claims[0] | {"group": "X"}], doc)
    assert missing["state"] == "inconclusive" and "no DPPL for sex = X" in missing["reason"]


def test_a_card_that_does_not_verify_is_not_checked_and_the_cli_exits_by_outcome(card, halves, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from assay.cli._main import app

    d, _ = card
    halves[1].to_parquet(tmp_path / "theirs.parquet")
    (tmp_path / "audit.json").write_text(json.dumps(AUDIT))
    r = CliRunner().invoke(app, ["card", "check", str(d / "store"), "--data", str(tmp_path / "theirs.parquet"), "--config", str(tmp_path / "audit.json"),
                                 "--trusted-key", str(d / "rui.pub"), "--json", str(tmp_path / "c.json")])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "claims hold, 0 differ" in r.output and json.loads((tmp_path / "c.json").read_text())["outcome"] == "holds"
    forged = tmp_path / "forged"
    shutil.copytree(d / "store", forged)
    version = forged / "versions" / "0001.json"
    version.write_text(version.read_text().replace('"risk_rating": "High"', '"risk_rating": "Low"'))
    with pytest.raises(DataError, match="does not verify, so its claims are not checked"):
        check_card(forged, _audit(halves[1]))
    bad = CliRunner().invoke(app, ["card", "check", str(forged), "--data", str(tmp_path / "theirs.parquet"), "--config", str(tmp_path / "audit.json")])
    assert bad.exit_code == 2 and "does not verify" in bad.output
