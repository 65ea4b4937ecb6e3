"""Routing conditions as a registry, the review policy, and the statistics of review: without a server."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from assay.review import CONDITIONS, Policy, baseline_limits, consolidate, entropy, fired, vote_weight

ANSWERS = [">50K", "<=50K"]


def _policy(*conditions):
    return Policy.model_validate({"answers": ANSWERS, "conditions": list(conditions)})


def test_every_registered_kind_is_one_variant_of_the_policy_schema_with_its_own_required_fields():
    schema = Policy.model_json_schema()
    mapping = schema["properties"]["conditions"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(CONDITIONS) == {"score_between", "margin_below", "entropy_above", "facet_score_between", "out_of_range",
                                               "not_in_domain", "random_sample", "baseline_constraints"}  # fmt: skip
    required = {kind: set(schema["$defs"][ref.split("/")[-1]].get("required", [])) - {"type"} for kind, ref in mapping.items()}
    assert required["score_between"] == {"low", "high"} and required["facet_score_between"] == {"facet", "value", "low", "high"}
    assert required["baseline_constraints"] == set() and required["not_in_domain"] == {"feature", "values"}


@pytest.mark.parametrize("condition, record, hit", [
    ({"type": "score_between", "low": 0.4, "high": 0.6}, {"score": 0.6}, {"score": 0.6}),
    ({"type": "score_between", "low": 0.4, "high": 0.6}, {"score": 0.61}, None),
    ({"type": "margin_below", "value": 0.1}, {"score": 0.55}, {"margin": pytest.approx(0.05)}),
    ({"type": "margin_below", "value": 0.1}, {"score": 0.65}, None),
    ({"type": "entropy_above", "value": 0.99}, {"score": 0.5}, {"entropy": 1.0}),
    ({"type": "entropy_above", "value": 0.99}, {"score": 0.9}, None),  # H(0.9) = 0.469 bits
    ({"type": "facet_score_between", "facet": "sex", "value": "Female", "low": 0.3, "high": 0.7}, {"score": 0.5, "facets": {"sex": "Female"}},
     {"facet": "sex", "facet_value": "Female", "score": 0.5}),
    ({"type": "facet_score_between", "facet": "sex", "value": "Female", "low": 0.3, "high": 0.7}, {"score": 0.5, "facets": {"sex": "Male"}}, None),
    ({"type": "out_of_range", "feature": "age", "min": 17}, {"inputs": {"age": 15}}, {"feature": "age", "value": 15.0}),
    ({"type": "out_of_range", "feature": "age", "max": 90}, {"inputs": {"age": "old"}}, {"feature": "age", "value": "old", "why": "not a number"}),
    ({"type": "out_of_range", "feature": "age", "max": 90}, {"inputs": {}}, None),
    ({"type": "not_in_domain", "feature": "workclass", "values": ["Private"]}, {"inputs": {"workclass": "Never-worked"}},
     {"feature": "workclass", "value": "Never-worked"}),
    ({"type": "random_sample", "percent": 100}, {}, {"percent": 100.0}),
    ({"type": "random_sample", "percent": 0}, {}, None),
])  # fmt: skip
def test_each_condition_fires_as_its_definition_says(condition, record, hit):
    got = fired(_policy(condition), {"id": "p1", **record}, model="m/1", threshold=0.5)
    assert (got[0] if got else None) == (None if hit is None else {"condition": condition | ({"percent": float(condition["percent"])}
                                                                                              if "percent" in condition else {}), **hit})  # fmt: skip


def test_a_random_sample_is_the_same_for_an_id_and_near_its_percent_over_many():
    p = _policy({"type": "random_sample", "percent": 10})
    picked = [bool(fired(p, {"id": str(i)}, model="m/1", threshold=0.5)) for i in range(20_000)]
    assert picked == [bool(fired(p, {"id": str(i)}, model="m/1", threshold=0.5)) for i in range(20_000)]
    assert abs(sum(picked) / len(picked) - 0.10) < 4 * math.sqrt(0.1 * 0.9 / 20_000)  # binomial, 4 SD


def test_baseline_constraints_read_the_model_monitor_files():
    statistics = {"features": [{"name": "age", "numerical_statistics": {"min": 17, "max": 90}}]}
    constraints = {"features": [{"name": "age", "inferred_type": "Integral", "completeness": 1.0, "num_constraints": {"is_non_negative": True}},
                                {"name": "workclass", "inferred_type": "String", "completeness": 0.9, "string_constraints": {"domains": ["Private"]}},
                                {"name": "income", "inferred_type": "String", "completeness": 1.0}]}  # fmt: skip
    limits = baseline_limits(statistics, constraints, outputs={"income"})
    assert set(limits) == {"age", "workclass"}
    p = _policy({"type": "baseline_constraints"})
    hits = fired(p, {"id": "1", "inputs": {"age": 95, "workclass": "Never-worked"}}, model="m/1", threshold=0.5, limits=limits)
    assert [b["why"] for b in hits[0]["broken"]] == ["outside the baseline's range [17, 90]", "not among the baseline's values"]
    assert fired(p, {"id": "1", "inputs": {"workclass": None}}, model="m/1", threshold=0.5, limits=limits)[0]["why"] == "missing; the baseline always has it"
    no_range = _policy({"type": "baseline_constraints", "range": False})
    assert fired(no_range, {"id": "1", "inputs": {"age": 95}}, model="m/1", threshold=0.5, limits=limits) == []
    assert fired(p, {"id": "1", "inputs": {"age": 95}}, model="m/1", threshold=0.5, limits=None) == []  # no baseline: nothing to break


def test_a_condition_takes_only_its_own_fields_but_a_stored_policy_with_others_still_reads():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        _policy({"type": "score_between", "low": 0.1, "high": 0.2, "feature": "age"})
    with pytest.raises(ValidationError, match="Did you mean 'score_between'"):
        _policy({"type": "score_betwen", "low": 0.1, "high": 0.2})
    with pytest.raises(ValidationError, match="needs min, max or both"):
        _policy({"type": "out_of_range", "feature": "age"})
    old = Policy.stored({"answers": ANSWERS, "conditions": [{"type": "score_between", "low": 0.1, "high": 0.2, "feature": "age"}]})
    assert old.conditions[0].model_dump(exclude_none=True) == {"type": "score_between", "low": 0.1, "high": 0.2}


def test_consolidation_and_vote_weights_by_hand():
    assert consolidate([("a", "X"), ("b", "X"), ("c", "Y")], {"a": 1, "b": 1, "c": 1}) == ("complete", "X", pytest.approx(2 / 3), {"X": 2.0, "Y": 1.0})
    assert consolidate([("a", "X"), ("b", "Y")], {"a": 1, "b": 1})[:2] == ("no_consensus", None)
    assert consolidate([("a", "X"), ("b", "Y"), ("c", "Y")], {"a": 3.0, "b": 1.0, "c": 1.0})[:2] == ("complete", "X")
    assert vote_weight(0, 0, 2) == 1.0
    assert vote_weight(8, 7, 2) == pytest.approx(math.log(4))  # p = 8/10: log(0.8 / 0.2)
    assert vote_weight(8, 1, 2) == 0.0  # worse than chance: no say
    assert vote_weight(8, 7, 3) == pytest.approx(math.log(0.8 * 2 / 0.2))
    assert entropy(0.5) == 1.0 and entropy(0.0) == 0.0 and entropy(0.9) == pytest.approx(0.4690, abs=1e-4)
