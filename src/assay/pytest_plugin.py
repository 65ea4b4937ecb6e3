"""assay's pytest plugin (registered as the ``pytest11`` entry point ``assay``): fairness assertions in a test suite.

    def test_the_model_is_fair(assert_fair, scored):
        assert_fair(scored, audit="audit.yaml", rules=[{"metric": "DI", "facet": "sex", "within": [0.8, 1.25]}])

    def test_the_policy_holds(assert_fair, assay_policy):      # pytest --assay-policy policy.yaml
        assert_fair(policy=assay_policy)

``assert_fair`` is :func:`assay.gate.assert_fair` (the engine of ``assay check``): the test fails naming every rule that did
not pass, with its value, interval, bounds and group sizes. ``--assay-inconclusive pass`` lets rules the data cannot decide
through (default: they fail the test).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("assay", "fairness assertions (assay)")
    group.addoption("--assay-policy", default=None, help="a fairness policy file for the assay_policy fixture (docs/gates.md)")
    group.addoption("--assay-inconclusive", default="fail", choices=("fail", "pass"), help="what a rule the data cannot decide does to a test")


@pytest.fixture
def assert_fair(request: Any) -> Any:
    """:func:`assay.gate.assert_fair`, with ``inconclusive`` from ``--assay-inconclusive``."""
    from assay.gate import assert_fair as run

    return functools.partial(run, inconclusive=request.config.getoption("assay_inconclusive"))


@pytest.fixture
def assay_policy(request: Any) -> Any:
    """The policy named by ``--assay-policy`` (loaded and checked)."""
    from assay.gate import load_policy

    path = request.config.getoption("assay_policy")
    if path is None:
        raise pytest.UsageError("the assay_policy fixture needs --assay-policy PATH (a fairness policy, docs/gates.md)")
    return load_policy(path)
