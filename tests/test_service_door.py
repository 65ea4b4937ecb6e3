"""The service's door: what would have been a 500 (then or later) is refused at once with a 4xx naming the field, and nothing stored
breaks a later request. Monitoring a window it cannot check records the failure instead of failing every tick."""

from __future__ import annotations

import json

import pytest


def _h(client, role):
    return {"Authorization": f"Bearer {client.tokens[role]}"}


POLICY = {"answers": [">50K", "<=50K"], "conditions": [{"type": "score_between", "low": 0.4, "high": 0.6}]}


def _raw(client, method, url, text, role="owner"):
    return client.request(method, url, content=text, headers={**_h(client, role), "content-type": "application/json"})


@pytest.mark.parametrize("policy, field", [
    ({**POLICY, "assignment_minutes": 1e300}, "assignment_minutes"),
    ({**POLICY, "task_hours": 1e300}, "task_hours"),
    ({**POLICY, "conditions": [{"type": "margin_below", "value": "near"}]}, "finite number as value"),
    ({**POLICY, "conditions": [{"type": "entropy_above", "value": True}]}, "finite number as value"),
    ({**POLICY, "conditions": [{"type": "score_between", "low": "0.4", "high": 0.6}]}, "low"),
])  # fmt: skip
def test_a_policy_that_would_break_review_later_is_refused(client, policy, field):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "label_values": [">50K", "<=50K"]}, headers=owner).raise_for_status()
    r = client.put("/models/m/1/policy", json=policy, headers=owner)
    assert r.status_code == 422 and field in json.dumps(r.json()), r.text
    other = client.post("/models", json={"name": "n", "version": "1", "label_values": [">50K", "<=50K"], "policy": POLICY}, headers=owner)
    assert other.status_code == 201
    assert client.post("/models/n/1/predictions", json={"records": [{"id": "a", "score": 0.5}]}, headers=owner).status_code == 201
    assert client.get("/review/next", headers=_h(client, "reviewer")).status_code in (200, 204)


def test_nan_in_a_condition_is_refused_not_stored_as_null(client):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "label_values": [">50K", "<=50K"]}, headers=owner).raise_for_status()
    body = '{"answers": [">50K", "<=50K"], "conditions": [{"type": "score_between", "low": NaN, "high": 0.6}]}'
    r = _raw(client, "PUT", "/models/m/1/policy", body)
    assert r.status_code == 422 and "NaN is not a JSON number" in r.json()["detail"][0]["msg"]
    assert client.get("/models", headers=owner).json()[0].get("policy") is None  # nothing stored


@pytest.mark.parametrize("text, why", [
    ('{"records": [{"id": "a", "score": Infinity}]}', "Infinity is not a JSON number"),
    ('{"records": [{"id": "a", "score": NaN}]}', "NaN is not a JSON number"),
    ('{"records": [{"id": "a", "score": 0.5, "facets": {"sex": "\\ud800"}}]}', "lone surrogate"),
    ('{"records": [{"id": "a", "inputs": {"x": ' + "[" * 5000 + "]" * 5000 + "}}]}", "nested more than"),
])  # fmt: skip
def test_bodies_that_cannot_be_stored_and_given_back_are_refused(client, text, why):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    r = _raw(client, "POST", "/models/m/1/predictions", text)
    assert r.status_code == 422 and why in r.json()["detail"][0]["msg"], r.text
    assert client.get("/models/m/1/predictions", headers=owner).json()["records"] == []
    assert client.get("/ui/login").status_code == 200


def test_a_string_score_is_refused_not_coerced(client):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    r = client.post("/models/m/1/predictions", json={"records": [{"id": "a", "score": "0.9"}]}, headers=owner)
    assert r.status_code == 422 and "score" in json.dumps(r.json())
    assert client.post("/models/m/1/predictions", json={"records": [{"id": "a", "score": 1}]}, headers=owner).status_code == 201


def test_a_capture_string_nested_5000_deep_and_an_inference_time_of_year_1(client):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "features": ["x"]}, headers=owner).raise_for_status()
    deep = "[" * 5000 + "]" * 5000
    line = {"captureData": {"endpointInput": {"data": deep, "encoding": "JSON"}}, "eventMetadata": {"eventId": "e1"}}
    r = client.post("/models/m/1/data-capture", json={"records": [line]}, headers=owner)
    assert r.status_code == 422 and "nested more than" in r.json()["detail"][0]["msg"], r.text
    r = client.post("/models/m/1/predictions", json={"records": [{"id": "a", "inference_time": "0001-01-01T00:00:00+14:00"}]}, headers=owner)
    assert r.status_code == 422 and "before 1970" in json.dumps(r.json())


def test_instances_with_features_are_read_as_a_row_of_values(client):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "features": ["age", "hours"], "label_values": ["1", "0"]}, headers=owner).raise_for_status()
    line = {"captureData": {"endpointInput": {"data": json.dumps({"instances": [{"features": [39, 40]}]}), "encoding": "JSON", "observedContentType": "application/json"},
                            "endpointOutput": {"data": json.dumps({"predictions": [{"score": 0.8, "predicted_label": 1}]}), "encoding": "JSON"}},
            "eventMetadata": {"eventId": "e1"}}  # fmt: skip
    client.post("/models/m/1/data-capture", json={"records": [line]}, headers=owner).raise_for_status()
    rec = client.get("/models/m/1/predictions", headers=owner).json()["records"][0]
    assert rec["inputs"] == {"age": 39, "hours": 40} and rec["score"] == 0.8 and rec["label"] == "1"


def test_a_body_over_the_limit_is_a_413(client):
    from assay.service._guard import MAX_BODY_BYTES

    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    big = '{"records": [{"id": "a", "inputs": {"x": "' + "y" * (MAX_BODY_BYTES + 10) + '"}}]}'
    r = _raw(client, "POST", "/models/m/1/predictions", big)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    assert client.get("/models/m/1/predictions", headers=owner).json()["records"] == []


def test_a_wrong_receipt_is_refused_before_anything_is_read_and_attempts_are_limited(client):
    import sqlalchemy as sa

    from assay.service._contests import RECEIPT_ATTEMPTS

    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    r = client.post("/models/m/1/predictions?receipts=true", json={"records": [{"id": "p1", "inputs": {"x": "y" * 100_000}, "score": 0.3}]}, headers=owner)
    good = r.json()["receipts"]["p1"]
    statements: list[str] = []
    listen = lambda conn, cursor, statement, *a: statements.append(statement)  # noqa: E731
    sa.event.listen(client.app.state.engine, "before_cursor_execute", listen)
    try:
        wrong = client.post("/decisions/explanation", json={"model": "m", "version": "1", "id": "p1", "receipt": "0" * 32})
        unknown = client.post("/decisions/explanation", json={"model": "m", "version": "1", "id": "nobody", "receipt": "0" * 32})
        assert wrong.status_code == unknown.status_code == 401 and wrong.json() == unknown.json()
        assert not [s for s in statements if "predictions" in s or "models" in s], statements  # nothing was read
        assert client.post("/decisions/explanation", json={"model": "m", "version": "1", "id": "p1", "receipt": good}).status_code == 200
        assert any("predictions" in s for s in statements)
    finally:
        sa.event.remove(client.app.state.engine, "before_cursor_execute", listen)
    codes = [client.post("/decisions/explanation", json={"model": "m", "version": "1", "id": "p1", "receipt": good}).status_code
             for _ in range(RECEIPT_ATTEMPTS)]  # fmt: skip
    assert codes[: RECEIPT_ATTEMPTS - 3] == [200] * (RECEIPT_ATTEMPTS - 3) and codes[-1] == 429
    r = client.post("/decisions/contest", json={"model": "m", "version": "1", "id": "p1", "receipt": good, "reason": "wrong"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "too many attempts" in r.json()["detail"]


def test_the_last_admin_token_cannot_be_revoked(client, db):
    from typer.testing import CliRunner

    from assay.cli import app as cli

    admin = _h(client, "admin")
    tokens = client.get("/tokens", headers=admin).json()
    (mine,) = [t["id"] for t in tokens if t["role"] == "admin"]
    r = client.post(f"/tokens/{mine}/revoke", headers=admin)
    assert r.status_code == 409 and "last active admin token" in r.json()["detail"]
    assert client.get("/tokens", headers=admin).status_code == 200  # still an admin
    r = CliRunner().invoke(cli, ["service", "revoke", "--db", db, "--name", "admin-user"])
    assert r.exit_code != 0 and "last active admin token" in str(r.exception)
    second = client.post("/tokens", json={"name": "second", "role": "admin"}, headers=admin).json()
    assert client.post(f"/tokens/{mine}/revoke", headers=admin).status_code == 200
    assert client.get("/tokens", headers={"Authorization": f"Bearer {second['token']}"}).status_code == 200


def test_login_from_another_site_is_refused(client):
    tok = client.tokens["reviewer"]
    r = client.post("/ui/login", data={"token": tok}, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and "another site" in r.text and "set-cookie" not in r.headers
    r = client.post("/ui/login", data={"token": tok}, headers={"Referer": "https://evil.example/page"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/ui/login", data={"token": tok}, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303 and "set-cookie" in r.headers


def test_the_ledger_anchor_finds_removed_entries_and_verify_checks_the_rows(client, db, tmp_path):
    import sqlalchemy as sa
    from typer.testing import CliRunner

    from assay.cli import app as cli
    from assay.service._db import ledger, predictions

    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    client.post("/models/m/1/predictions", json={"records": [{"id": f"p{i}", "score": 0.1} for i in range(5)]}, headers=owner).raise_for_status()
    run = lambda *a: CliRunner().invoke(cli, ["ledger", *a])  # noqa: E731
    anchor = tmp_path / "anchor.json"
    r = run("anchor", "--db", db, "--out", str(anchor))
    assert r.exit_code == 0, r.output
    assert run("verify", "--db", db, "--anchor", str(anchor)).exit_code == 0
    client.post("/models/m/1/predictions", json={"records": [{"id": "late", "score": 0.2}]}, headers=owner).raise_for_status()
    assert run("verify", "--db", db, "--anchor", str(anchor)).exit_code == 0  # entries after the anchor are fine
    engine = client.app.state.engine
    with engine.begin() as conn:  # an insider deletes the newest capture: its ledger entries and its row
        top = conn.execute(sa.select(sa.func.max(ledger.c.seq))).scalar_one()
        conn.execute(ledger.delete().where(ledger.c.seq == top))
        conn.execute(predictions.delete().where(predictions.c.prediction_id == "late"))
    assert run("verify", "--db", db).exit_code == 0  # the chain alone cannot tell
    first = client.get("/ledger", headers=_h(client, "admin")).json()["entries"]
    assert first  # the service still answers
    with engine.begin() as conn:
        conn.execute(predictions.delete().where(predictions.c.prediction_id == "p0"))
    r = run("verify", "--db", db)
    assert r.exit_code == 1 and "model m/1: the ledger records 5 captured predictions but the database holds 4" in " ".join(r.output.split())
    with engine.begin() as conn:
        conn.execute(ledger.delete().where(ledger.c.seq >= json.loads(anchor.read_text())["seq"]))
    r = run("verify", "--db", db, "--anchor", str(anchor))
    assert r.exit_code == 1 and "were removed" in " ".join(r.output.split())


def test_ledger_commands_on_a_database_or_directory_that_does_not_exist(tmp_path):
    from typer.testing import CliRunner

    from assay.cli import app as cli

    missing = tmp_path / "none.db"
    r = CliRunner().invoke(cli, ["ledger", "verify", "--db", str(missing)])
    assert r.exit_code == 2 and "does not exist" in " ".join(r.output.split()) and not missing.exists()
    r = CliRunner().invoke(cli, ["ledger", "export", "--db", str(missing), "--out", str(tmp_path / "no" / "dir" / "l.jsonl")])
    assert r.exit_code == 2 and "does not exist" in " ".join(r.output.split()) and not missing.exists()


@pytest.mark.parametrize("body, ok", [
    ({**POLICY, "reviewers_per_item": 2.0}, True),  # JSON has one number type: 2.0 is the integer 2
    ({**POLICY, "reviewers_per_item": 2.5}, False),
    ({**POLICY, "reviewers_per_item": "2"}, False),
    ({**POLICY, "weights": {"ana": -1.0}}, False),
])  # fmt: skip
def test_counts_are_whole_numbers_not_coerced_text(client, body, ok):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    r = client.put("/models/m/1/policy", json=body, headers=owner)
    assert r.status_code == (200 if ok else 422), r.text
    if ok:
        assert r.json()["reviewers_per_item"] == 2 and isinstance(r.json()["reviewers_per_item"], int)


@pytest.mark.parametrize("settings, ok", [
    ({"every": "366D"}, True), ({"every": "8784h", "delay": "0s"}, True), ({"every": "367D"}, False), ({"every": "1.5h"}, False),
    ({"every": "01h"}, False), ({"every": "1 day"}, False), ({"every": None}, False), ({"every": None, "window": "1h"}, True),
    ({"delay": "0min"}, True), ({"recheck_after": "0min"}, False), ({"bootstrap_replicates": 200.0}, True), ({"bootstrap_replicates": "200"}, False),
])  # fmt: skip
def test_monitoring_durations_follow_the_grammar_the_schema_states(client, settings, ok):
    """What the OpenAPI pattern says (a whole number and s, min, h or D, at most 366 days) is exactly what is accepted."""
    import re

    from assay.service._monitoring import DELAY, DURATION

    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    r = client.put("/models/m/1/monitoring", json=settings, headers=owner)
    assert r.status_code == (200 if ok else 422), r.text
    for key, v in settings.items():
        if key in ("every", "window", "recheck_after", "delay") and v is not None:
            assert bool(re.fullmatch(DELAY if key == "delay" else DURATION, v)) == ok
    if not ok and isinstance(settings.get("every"), str):
        assert "whole number and a unit" in r.json()["detail"][0]["msg"]


def test_every_422_is_a_list_of_errors_and_json_lines_say_so(client):
    """A 422 raised by a route has FastAPI's documented shape; the data-capture export is served as application/x-ndjson."""
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "facets": ["sex"]}, headers=owner).raise_for_status()
    r = client.post("/models/m/1/predictions", json={"records": [{"id": "a", "score": 0.5}]}, headers=owner)
    assert r.status_code == 422 and r.json()["detail"] == [{"loc": ["body"], "msg": "every record needs the model's facets sex; missing sex",
                                                            "type": "value_error"}]  # fmt: skip
    r = client.get("/models/m/1/data-capture", headers=owner)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    schema = client.get("/openapi.json").json()["paths"]["/models/{name}/{version}/data-capture"]["get"]["responses"]
    assert list(schema["200"]["content"]) == ["application/x-ndjson"] and list(schema["404"]["content"]) == ["application/json"]


def test_monitoring_settings_stored_before_the_grammar_are_still_read():
    import datetime as dt

    from pydantic import ValidationError

    from assay.service._monitoring import MonitoringIn

    with pytest.raises(ValidationError, match="whole number and a unit"):
        MonitoringIn(every="1 day")
    assert MonitoringIn.stored({"every": "1 day", "delay": "5 minutes"}).span() == dt.timedelta(days=1)


@pytest.mark.parametrize("edit", [
    {"score": 0.9}, {"label": "yes"}, {"inputs": {"age": 41}}, {"facets": {"sex": "Male"}}, {"explanation": {"age": 0.5}},
])  # fmt: skip
def test_verify_finds_a_captured_prediction_edited_in_place(client, db, edit):
    """A decision changed in the database (same count, same ids): the capture batch's ledger entry holds the digest of its rows."""
    from typer.testing import CliRunner

    from assay.cli import app as cli
    from assay.service._db import predictions

    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "facets": ["sex"]}, headers=owner).raise_for_status()
    records = [{"id": f"p{i}", "score": 0.1 * i, "label": "no", "inputs": {"age": 40 + i, "hours": 40.5}, "facets": {"sex": "Female"},
                "explanation": {"age": 0.01 * i}, "inference_time": "2026-11-30T23:00:00.123456-05:00"} for i in range(4)]  # fmt: skip
    client.post("/models/m/1/predictions", json={"records": records}, headers=owner).raise_for_status()
    client.post("/models/m/1/predictions", json={"records": records[:2]}, headers=owner).raise_for_status()  # a retry stores nothing
    client.post("/models/m/1/ground-truth", json={"records": [{"id": "p1", "label": "yes"}]}, headers=owner).raise_for_status()
    run = lambda: CliRunner().invoke(cli, ["ledger", "verify", "--db", db])  # noqa: E731
    assert run().exit_code == 0, run().output  # ground truth arriving later is not an edit of the decision
    with client.app.state.engine.begin() as conn:
        conn.execute(predictions.update().where(predictions.c.prediction_id == "p2").values(**edit))
    r = run()
    assert r.exit_code == 1 and "captured by ledger entry" in r.output and "were changed in the database" in " ".join(r.output.split()), r.output


def test_verify_finds_a_review_answer_changed_in_place(client, db):
    """Each review.answer entry records the reviewer and the answer; an answer rewritten in the database (same count) is found."""
    from typer.testing import CliRunner

    from assay.cli import app as cli
    from assay.service._db import review_assignments

    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "policy": POLICY}, headers=owner).raise_for_status()
    client.post("/models/m/1/predictions", json={"records": [{"id": "a", "score": 0.5}]}, headers=owner).raise_for_status()
    task = client.get("/review/next", headers=_h(client, "reviewer")).json()
    client.post(f"/review/tasks/{task['task_id']}/answer", json={"answer": ">50K"}, headers=_h(client, "reviewer")).raise_for_status()
    run = lambda: CliRunner().invoke(cli, ["ledger", "verify", "--db", db])  # noqa: E731
    assert run().exit_code == 0, run().output
    with client.app.state.engine.begin() as conn:
        conn.execute(review_assignments.update().values(answer="<=50K"))
    r = run()
    assert r.exit_code == 1 and "the answer of reviewer-user to task" in r.output and "'>50K'" in r.output, r.output


def test_an_unexpected_error_is_a_json_500_and_the_connection_stays_open(tmp_path, caplog):
    """A fault no route handles (here a route made to fail) is logged under an id and answered; the client's keep-alive
    connection still serves the next request, through a real uvicorn server."""
    import http.client
    import socket
    import threading
    import time

    import uvicorn

    from assay.service import create_app

    app = create_app(str(tmp_path / "assay.db"), schedule_tick=None)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a fault the routes do not expect")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/boom")
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500 and r.getheader("content-type") == "application/json" and body["detail"].startswith("unexpected error ")
        ref = body["detail"].split()[2].rstrip(";")
        assert any(ref in rec.getMessage() and rec.exc_info for rec in caplog.records)
        sock = conn.sock
        conn.request("GET", "/openapi.json")  # the same connection
        r = conn.getresponse()
        assert r.status == 200 and conn.sock is sock and "500" in json.loads(r.read())["paths"]["/models"]["get"]["responses"]
        conn.close()
    finally:
        server.should_exit = True
        thread.join()
        app.state.engine.dispose()


def _unstorable(v, depth=0):
    """The rule, written recursively: a value deeper than MAX_DEPTH, or a string or key that is not valid Unicode."""
    from assay.service._guard import MAX_DEPTH

    def bad(s):
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False

    if depth > MAX_DEPTH:
        return True
    if isinstance(v, str):
        return bad(v)
    if isinstance(v, dict):
        return any(bad(k) or _unstorable(x, depth + 1) for k, x in v.items())
    if isinstance(v, list):
        return any(_unstorable(x, depth + 1) for x in v)
    return False


def test_the_door_check_agrees_with_the_rule_and_names_the_place():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from assay.service._guard import problem

    text = st.text(alphabet=st.sampled_from(["a", "é", "\ud800", "\udfff", "z"]), max_size=3)
    leaf = st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | text

    def deep(n):
        return st.recursive(leaf, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(text, kids, max_size=3), max_leaves=n)

    @given(v=deep(20), wrap=st.integers(0, 70))
    @settings(max_examples=300, deadline=None, database=None)
    def run(v, wrap):
        for _ in range(wrap):
            v = [v]
        assert (problem(v) is not None) == _unstorable(v)

    run()
    assert problem({"records": [{"id": "a"}, {"facets": {"sex": "\ud800"}}]}).startswith("records[1].facets.sex: a string holds a lone surrogate")
    assert problem({"a": [{"b": [1]}]}) is None and problem({"a\udc00": 1}).startswith("the body: a key holds a lone surrogate")


def test_a_misspelt_condition_type_is_named_with_the_likely_one(client):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    r = client.put("/models/m/1/policy", json={**POLICY, "conditions": [{"type": "score_betwen", "low": 0.1, "high": 0.2}]}, headers=owner)
    assert r.status_code == 422 and "got 'score_betwen'. Did you mean 'score_between'?" in r.json()["detail"][0]["msg"], r.text


@pytest.mark.parametrize("route, record, why", [
    ("data-capture/ground-truth", {"groundTruthData": {"data": "", "encoding": "CSV"}, "eventMetadata": {"eventId": "a"}}, "is not one of the model's label values"),
    ("data-capture/ground-truth", {"groundTruthData": {"data": "1\n0", "encoding": "CSV"}, "eventMetadata": {"eventId": "a"}}, "2 CSV lines"),
    ("data-capture", {"captureData": {"endpointInput": {"data": "1,2\n3,4", "encoding": "CSV"}}, "eventMetadata": {"eventId": "b"}}, "2 CSV lines"),
    ("data-capture", {"captureData": {"endpointInput": {"data": "1,2", "encoding": "CSV"}, "endpointOutput": {"data": "0.4\n0.6", "encoding": "CSV"}},
                      "eventMetadata": {"eventId": "b"}}, "endpointOutput.data: 2 CSV lines"),
])  # fmt: skip
def test_model_monitor_csv_data_that_is_empty_or_several_lines_is_a_422(client, route, record, why):
    """Found by the fuzzer: an empty CSV field indexed into nothing (a 500); several rows in one record cannot be one prediction."""
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "features": ["x", "y"], "label_values": ["1", "0"]}, headers=owner).raise_for_status()
    client.post("/models/m/1/predictions", json={"records": [{"id": "a", "score": 0.5}]}, headers=owner).raise_for_status()
    r = client.post(f"/models/m/1/{route}", json={"records": [record]}, headers=owner)
    assert r.status_code == 422 and why in r.json()["detail"][0]["msg"], r.text


def test_an_empty_csv_output_is_no_score_and_no_label(client):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1", "features": ["x"]}, headers=owner).raise_for_status()
    rec = {
        "captureData": {"endpointInput": {"data": "7", "encoding": "CSV"}, "endpointOutput": {"data": "", "encoding": "CSV"}},
        "eventMetadata": {"eventId": "e"},
    }
    assert client.post("/models/m/1/data-capture", json={"records": [rec]}, headers=owner).status_code == 201
    (p,) = client.get("/models/m/1/predictions", headers=owner).json()["records"]
    assert (p["inputs"], p["score"], p["label"]) == ({"x": 7}, None, None)
