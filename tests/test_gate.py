"""The fairness gate: decisions from intervals (pass, fail, inconclusive), Bonferroni over the decisions, exit codes, JUnit and JSON."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from assay._errors import ConfigError, DataError
from assay.gate import check, decide, load_policy


def test_a_decision_is_pass_inside_fail_outside_and_inconclusive_across_a_bound():
    assert decide([0.85, 1.1], (0.8, 1.25))[0] == "pass"
    assert decide([0.5, 0.7], (0.8, 1.25))[0] == "fail" and decide([1.3, 2.0], (0.8, 1.25))[0] == "fail"
    assert decide([0.7, 0.9], (0.8, 1.25)) == ("inconclusive", "the interval straddles a bound: the data cannot tell whether the rule holds")
    assert decide([0.01, 0.04], (None, 0.05))[0] == "pass" and decide([0.06, 0.07], (None, 0.05))[0] == "fail"
    assert decide([None, None], (0.8, 1.25))[0] == "inconclusive" and decide(None, (None, 1.0))[0] == "inconclusive"


@pytest.fixture(scope="module")
def scored(tmp_path_factory, adult_scored):
    d = tmp_path_factory.mktemp("gate")
    adult_scored.to_parquet(d / "scored.parquet")
    (d / "audit.yaml").write_text("dataset_uri: scored.parquet\nlabel: income\nlabel_values_or_threshold: ['>50K']\npredicted_label: pred\n"
                                  "facet: [{name_or_index: sex}, {name_or_index: race}]\nbootstrap_replicates: 500\n")  # fmt: skip
    return d


POLICY = {"alpha": 0.05, "bootstrap_replicates": 4000, "rules": [
    {"metric": "DI", "facet": "sex", "group": "Female", "within": [0.05, 20]},  # far from DI's value: passes
    {"metric": "DI", "facet": "sex", "group": "Female", "within": [0.8, 1.25]},  # Adult's DI for women is about 0.33: fails
    {"metric": "AD", "facet": "race", "group": "Other", "within": [-0.05, 0.05]}]}  # 122 rows: the data cannot tell  # fmt: skip


def test_the_gate_runs_the_audit_at_the_bonferroni_level_and_decides_each_rule(scored, adult_scored):
    result = check(load_policy(POLICY | {"audit": str(scored / "audit.yaml")}), scored / "scored.parquet")
    states = [d.state for d in result.decisions]
    assert states == ["pass", "fail", "inconclusive"] and result.outcome == "fail" and result.adjusted
    assert result.level == pytest.approx(1 - 0.05 / 3)  # three decisions
    women = (adult_scored["sex"] == "Female").to_numpy()
    sel = (adult_scored["pred"] == ">50K").to_numpy()
    fail = result.decisions[1]
    assert fail.value == pytest.approx(sel[women].mean() / sel[~women].mean(), rel=1e-12)  # DI by hand
    assert fail.ci[0] < fail.value < fail.ci[1] < 0.8 and fail.group_size == women.sum() and fail.rest_size == (~women).sum()
    other = result.decisions[2]
    assert other.ci[0] < -0.05 or other.ci[1] > 0.05  # straddles: inconclusive, not a coin flip
    assert other.group_size == int((adult_scored["race"] == "Other").sum())


def test_assay_check_exits_by_the_outcome_and_writes_junit_and_json(scored, tmp_path):
    from typer.testing import CliRunner

    from assay.cli._main import app

    run = lambda rules, *extra: CliRunner().invoke(app, ["check", str(scored / "scored.parquet"), "--policy", _write(tmp_path, scored, rules), *extra])  # noqa: E731
    passed = run(POLICY["rules"][:1])
    assert passed.exit_code == 0, passed.output
    assert "PASS" in passed.output and "each at level 1 - 0.05 / 1" in passed.output
    unsure = run(POLICY["rules"][2:], "--junit", str(tmp_path / "j.xml"), "--json", str(tmp_path / "d.json"))
    assert unsure.exit_code == 3, unsure.output
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("1", "0", "1")
    assert "inconclusive" in suite.find("testcase/skipped").get("message")
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["outcome"] == "inconclusive" and doc["decisions"][0]["group"] == "Other" and doc["decisions"][0]["group_size"] == 122
    assert run(POLICY["rules"][2:], "--inconclusive", "fail").exit_code == 1 and run(POLICY["rules"][2:], "--inconclusive", "pass").exit_code == 0
    failed = run(POLICY["rules"], "--junit", str(tmp_path / "f.xml"))
    assert failed.exit_code == 1 and ET.parse(tmp_path / "f.xml").getroot().get("failures") == "1"


def _write(tmp_path, scored, rules):
    import yaml

    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"audit": str(scored / "audit.yaml"), "bootstrap_replicates": 2000, "rules": rules}))
    return str(path)


def test_a_directory_from_assay_audit_is_decided_from_its_own_intervals_and_says_so(scored, tmp_path):
    from assay._config import audit_config

    out = tmp_path / "out"
    out.mkdir()
    (out / "analysis.json").write_text(json.dumps(audit_config(scored / "audit.yaml").to_dict()))
    result = check(load_policy({"rules": POLICY["rules"]}), out)
    assert [d.state for d in result.decisions][:2] == ["pass", "fail"] and not result.adjusted and result.level == 0.95
    assert "not adjusted for the 3 decisions" in result.warnings[0]


def test_bad_policies_name_the_key_metric_facet_or_group(scored):
    with pytest.raises(ConfigError, match="rulez"):
        load_policy({"rulez": []})
    with pytest.raises(ConfigError, match="one of within"):
        load_policy({"rules": [{"metric": "DI", "facet": "sex"}]})
    audit = str(scored / "audit.yaml")
    for rule, message in (({"metric": "DII", "facet": "sex", "at_least": 0.8}, "no metric 'DII'"), ({"metric": "DI", "facet": "age", "at_least": 0.8}, "no facet 'age'"),
                          ({"metric": "DI", "facet": "sex", "group": "F", "at_least": 0.8}, "no group 'F'; it has Female, Male")):  # fmt: skip
        with pytest.raises((ConfigError, DataError), match=message):
            check(load_policy({"audit": audit, "rules": [rule]}), scored / "scored.parquet")


def test_with_a_planted_gap_the_discovered_rule_fails_naming_the_subgroup(tmp_path):
    from test_discover import PLANTED, _scored

    from assay.datasets import load_adult

    frame, _ = _scored(load_adult("test").drop(columns=["fnlwgt"]), 0, PLANTED[1])
    frame[["sex", "race", "education", "income", "pred"]].to_parquet(tmp_path / "s.parquet")
    policy = {"audit": {"dataset_uri": str(tmp_path / "s.parquet"), "label": "income", "label_values_or_threshold": [">50K"], "predicted_label": "pred",
                        "facet": [{"name_or_index": "sex"}]}, "discover": {"max_depth": 2},
              "rules": [{"discovered": "error_rate", "at_most": 0.05}]}  # fmt: skip
    result = check(load_policy(policy))
    failed = [d for d in result.decisions if d.state == "fail"]
    assert failed and set(failed[0].group.split(" and ")) == {"race = Black", "sex = Female"}
    assert failed[0].value > failed[0].ci[0] > 0.05 and failed[0].group_size > 200  # the planted 0.2 more errors, with its rows


def test_the_pytest_plugin_fails_a_test_with_the_figures_and_passes_a_fair_one(scored, tmp_path):
    import subprocess
    import sys

    (tmp_path / "test_model.py").write_text(f"""
import pandas as pd

AUDIT = {str(scored / "audit.yaml")!r}
DATA = pd.read_parquet({str(scored / "scored.parquet")!r})


def test_loose(assert_fair):
    assert_fair(DATA, audit=AUDIT, rules=[{{"metric": "DI", "facet": "sex", "group": "Female", "within": [0.05, 20]}}], bootstrap_replicates=2000)


def test_strict(assert_fair):
    assert_fair(DATA, audit=AUDIT, rules=[{{"metric": "DI", "facet": "sex", "group": "Female", "within": [0.8, 1.25]}}], bootstrap_replicates=2000)


def test_policy(assert_fair, assay_policy):
    assert_fair({str(scored / "scored.parquet")!r}, policy=assay_policy)
""")
    (tmp_path / "policy.yaml").write_text(
        f"audit: {scored / 'audit.yaml'}\nbootstrap_replicates: 2000\nrules:\n  - {{metric: AD, facet: race, group: Other, within: [-0.05, 0.05]}}\n"
    )
    run = lambda *extra: subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore", str(tmp_path / "test_model.py"), *extra],  # noqa: E731
                                        capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    r = run("--assay-policy", str(tmp_path / "policy.yaml"))  # the plugin comes from the installed entry point, not -p
    assert r.returncode == 1 and "2 failed, 1 passed" in r.stdout, r.stdout[-3000:]
    assert re.search(
        r"FAIL: DI of sex = Female within \[0.8, 1.25\]: value 0\.\d+, interval \[0\.\d+, 0\.\d+\], bounds \[0.8, 1.25\]; 4,913 rows in the group", r.stdout
    )
    assert (
        "INCONCLUSIVE: AD of race = Other within [-0.05, 0.05]: value" in r.stdout and "122 rows in the group" in r.stdout and "straddles a bound" in r.stdout
    )
    lenient = run("--assay-policy", str(tmp_path / "policy.yaml"), "--assay-inconclusive", "pass", "-k", "policy")
    assert lenient.returncode == 0, lenient.stdout[-2000:]
    missing = run("-k", "policy")
    assert missing.returncode != 0 and "needs --assay-policy PATH" in missing.stdout + missing.stderr


def test_a_baseline_rule_fails_when_a_metric_moves_away_from_its_ideal(scored, adult_scored, tmp_path):
    from assay._config import audit_config

    base = tmp_path / "base"
    base.mkdir()
    (base / "analysis.json").write_text(json.dumps(audit_config(scored / "audit.yaml").to_dict()))
    rule = {"metric": "DPPL", "facet": "sex", "group": "Female", "baseline": str(base), "worse_by": 0.03}
    policy = load_policy({"audit": str(scored / "audit.yaml"), "bootstrap_replicates": 2000, "rules": [rule]})
    same = check(policy, scored / "scored.parquet").decisions[0]
    assert same.state == "pass" and same.value == pytest.approx(0.0, abs=1e-12) and same.ci[1] <= 0.03
    worse = adult_scored.copy()
    women = (worse["sex"] == "Female") & (worse["pred"] == ">50K")
    worse.loc[women[women].index[::2], "pred"] = "<=50K"  # half of the women selected before are not now: DPPL moves away from 0
    moved = check(policy, worse).decisions[0]
    assert moved.state == "fail" and moved.ci[0] > 0.03 and "further from 0" in moved.reason
    with pytest.raises(ConfigError, match="a baseline rule names a metric, a facet, the baseline and worse_by"):
        load_policy({"rules": [{"metric": "DPPL", "facet": "sex", "baseline": str(base), "at_most": 0.1}]})


def test_task_rules_decide_a_groups_wer_from_its_speaker_level_interval(tmp_path):
    import pandas as pd
    from test_tasks import _transcripts

    refs, hyps = _transcripts(400, 5)
    speaker = np.arange(400) // 10
    frame = pd.DataFrame({"ref": refs, "hyp": hyps, "speaker": speaker, "dialect": np.where(speaker % 2 == 0, "north", "south")})
    frame.loc[frame["dialect"] == "south", "hyp"] = "um " + frame.loc[frame["dialect"] == "south", "hyp"]  # one more error per utterance
    frame.to_parquet(tmp_path / "asr.parquet")
    audit = {
        "dataset_uri": str(tmp_path / "asr.parquet"),
        "tasks": [{"metric": "wer", "group": "dialect", "unit": "speaker", "reference": "ref", "hypothesis": "hyp"}],
    }
    rules = [{"task": "wer", "facet": "dialect", "of": "difference", "within": [-0.05, 0.05]}]
    result = check(load_policy({"audit": audit, "bootstrap_replicates": 2000, "rules": rules}))
    south = next(d for d in result.decisions if d.group == "south")
    assert south.state == "fail" and south.ci[0] > 0.05 and result.level == pytest.approx(1 - 0.05 / 2)  # two groups: two decisions
    with pytest.raises(DataError, match="compute no cer by dialect"):
        check(load_policy({"audit": audit, "rules": [{"task": "cer", "facet": "dialect", "at_most": 0.2}]}))
