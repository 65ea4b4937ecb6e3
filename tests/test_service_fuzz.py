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


def _operations(api):
    """Every operation of the schema; the token revocation last (a generated id may be the fuzzing admin's own token)."""
    loaded = schemathesis.openapi.from_asgi("/openapi.json", api)
    return sorted((op.ok() for op in loaded.get_all_operations()), key=lambda op: op.path.endswith("/revoke"))


def test_no_generated_request_gets_a_server_error(api):
    from hypothesis import given

    operations = _operations(api)
    assert len(operations) == 51  # every operation in the schema (the test of roles checks the same list)
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


#: What a schema-valid body may still be refused for (a 422), by route: rules that JSON Schema cannot state, each with why.
SEMANTIC = {
    ("/predictions", "ids repeated within the batch"): "uniqueness of a property across items (uniqueItems compares whole items)",
    ("/predictions", "is in the future"): "inference_time is compared with the clock",
    ("/predictions", "every record needs the model's facets"): "depends on the registered model",
    ("/card-approvals", "signature does not verify"): "an Ed25519 signature over the entry",
    ("/data-capture", "records["): "the data inside a capture record (CSV, JSON or base64 text) is read against the model's features",
    ("/data-capture/ground-truth", "records["): "the data inside a ground-truth record is read against the model's label values",
    ("/baseline", "statistics.json"): "a baseline file's content is read by the monitoring engine",
}


def test_responses_conform_to_the_schema_and_valid_bodies_are_accepted(api):
    """schemathesis with all its checks (status codes, content types, response schemas and headers, schema-valid bodies accepted...);
    a schema-valid body refused with a 422 passes only when every error names one of the SEMANTIC rules."""
    import json

    from hypothesis import given
    from schemathesis.specs.openapi.checks import RejectedPositiveData

    operations = _operations(api)
    failures: list[str] = []
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call(headers=api.state.fuzz_headers)
            try:
                case.validate_response(response)
            except BaseException as exc:  # noqa: BLE001  (schemathesis' failure group)
                for e in getattr(exc, "exceptions", [exc]):
                    if isinstance(e, RejectedPositiveData) and response.status_code == 422:
                        msgs = [d["msg"] for d in json.loads(response.text)["detail"]]
                        rules = [r for (route, r) in SEMANTIC if op.path.endswith(route)]
                        if all(any(r in m for r in rules) for m in msgs):
                            continue
                    failures.append(f"{case.method} {case.formatted_path}: {type(e).__name__}: {str(e).strip().splitlines()[0][:200]} "
                                    f"({response.status_code} {response.text[:200]})")  # fmt: skip

        run()
    assert failures == []
