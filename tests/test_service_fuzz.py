"""Schemathesis over the service's OpenAPI schema: no generated request gets a 5xx (SQLite; admin token, a registered model)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from fastapi.testclient import TestClient

    from assay.service import create_app, create_token

    app = create_app(str(tmp_path_factory.mktemp("fuzz") / "assay.db"))
    token = create_token(app.state.engine, name="root", role="admin")
    c = TestClient(app)
    h = {"Authorization": f"Bearer {token}"}
    c.post("/models", json={"name": "m", "version": "1", "facets": [], "policy": {"answers": ["yes", "no"], "conditions": [{"type": "random_sample", "percent": 50}]}},
           headers=h).raise_for_status()  # fmt: skip
    c.post("/models/m/1/predictions", json={"records": [{"id": f"p{i}", "score": 0.5} for i in range(5)]}, headers=h).raise_for_status()
    app.state.fuzz_headers = h
    yield app
    app.state.engine.dispose()


def test_no_generated_request_gets_a_server_error(api):
    from hypothesis import given

    loaded = schemathesis.openapi.from_asgi("/openapi.json", api)
    operations = [op.ok() for op in loaded.get_all_operations()]
    operations.sort(key=lambda op: op.path.endswith("/revoke"))  # last: a generated id may be the fuzzing admin's own token
    assert len(operations) == 33  # every operation in the schema (the test of roles checks the same list)
    failures: list[str] = []
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call(headers=api.state.fuzz_headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        run()
    assert failures == []


def test_every_status_code_answered_is_documented(api):
    """schemathesis' status-code conformance: every code a generated request gets is in the operation's OpenAPI responses."""
    from hypothesis import given
    from schemathesis.specs.openapi.checks import status_code_conformance

    loaded = schemathesis.openapi.from_asgi("/openapi.json", api)
    operations = sorted((op.ok() for op in loaded.get_all_operations()), key=lambda op: op.path.endswith("/revoke"))
    failures: list[str] = []
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            try:
                case.call_and_validate(headers=api.state.fuzz_headers, checks=[status_code_conformance])
            except BaseException as exc:  # noqa: BLE001  (schemathesis' failure group)
                failures.append(f"{case.method} {case.formatted_path}: {str(exc).strip().splitlines()[0][:200]}")

        run()
    assert failures == []
