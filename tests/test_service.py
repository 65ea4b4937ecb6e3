"""The service on SQLite and on a real PostgreSQL server: authentication on every route, capture, ground truth, the ledger."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa


def _h(client, role):
    return {"Authorization": f"Bearer {client.tokens[role]}"}


ALLOWED = {("post", "/tokens"): {"admin"}, ("get", "/tokens"): {"admin"}, ("post", "/tokens/{token_id}/revoke"): {"admin"}, ("post", "/models"): {"admin", "owner"}, ("get", "/models"): {"admin", "owner", "reviewer", "approver", "auditor"},
           ("post", "/models/{name}/{version}/predictions"): {"admin", "owner"}, ("post", "/models/{name}/{version}/ground-truth"): {"admin", "owner"},
           ("get", "/models/{name}/{version}/predictions"): {"admin", "owner", "auditor"}, ("get", "/ledger"): {"admin", "auditor"},
           ("get", "/ledger/verify"): {"admin", "auditor"}, ("get", "/review/next"): {"reviewer"}, ("post", "/review/tasks/{task_id}/answer"): {"reviewer"},
           ("get", "/review/tasks"): {"reviewer"}, ("get", "/review/tasks/{task_id}/output"): {"admin", "owner", "auditor"},
           ("get", "/models/{name}/{version}/review/agreement"): {"admin", "owner", "auditor"},
           ("get", "/models/{name}/{version}/status"): {"admin", "owner", "auditor"},
           ("put", "/models/{name}/{version}/policy"): {"admin", "owner"}, ("post", "/models/{name}/{version}/card-approvals"): {"admin", "owner"},
           ("put", "/models/{name}/{version}/baseline"): {"admin", "owner"}, ("put", "/models/{name}/{version}/monitoring"): {"admin", "owner"},
           ("post", "/models/{name}/{version}/monitoring/runs"): {"admin", "owner"},
           ("get", "/models/{name}/{version}/monitoring/runs"): {"admin", "owner", "auditor"},
           ("get", "/models/{name}/{version}/monitoring/runs/{run_id}"): {"admin", "owner", "auditor"},
           ("get", "/models/{name}/{version}/predictions/{prediction_id}/explanation"): {"admin", "owner", "auditor"},
           ("post", "/models/{name}/{version}/predictions/{prediction_id}/contests"): {"admin", "owner"},
           ("get", "/contests"): {"admin", "owner", "auditor"}, ("get", "/contests/{contest_id}"): {"admin", "owner", "auditor"},
           ("post", "/contests/{contest_id}/response"): {"admin", "owner"},
           ("post", "/models/{name}/{version}/data-capture"): {"admin", "owner"}, ("get", "/models/{name}/{version}/data-capture"): {"admin", "owner", "auditor"},
           ("post", "/models/{name}/{version}/data-capture/ground-truth"): {"admin", "owner"},
           ("post", "/bounties"): {"admin", "owner"}, ("get", "/bounties"): {"admin", "owner", "auditor", "bounty"},
           ("get", "/bounties/{name}"): {"admin", "owner", "auditor", "bounty"}, ("post", "/bounties/{name}/submissions"): {"admin", "owner", "bounty"},
           ("post", "/bounties/{name}/verify"): {"admin", "owner"}, ("get", "/bounties/{name}/model"): {"admin", "owner"},
           ("put", "/models/{name}/{version}/audit"): {"admin", "owner"}, ("get", "/models/{name}/{version}/audit"): {"admin", "owner", "approver", "auditor"},
           ("put", "/models/{name}/{version}/card"): {"admin", "owner"}, ("get", "/models/{name}/{version}/card"): {"admin", "owner", "approver", "auditor"},
           ("post", "/models/{name}/{version}/card/submit"): {"admin", "owner"}, ("post", "/models/{name}/{version}/card/archive"): {"admin", "owner"},
           ("post", "/models/{name}/{version}/card/approve"): {"approver"}, ("post", "/models/{name}/{version}/card/reject"): {"approver"},
           ("put", "/keys"): {"approver"}, ("get", "/keys"): {"admin", "owner", "approver", "auditor"},
           ("get", "/models/{name}/{version}/card/approval-request"): {"approver"}, ("post", "/models/{name}/{version}/card/approve-signed"): {"approver"}}  # fmt: skip


# the person a decision is about: no token, the decision's receipt (a wrong or missing one is refused, whatever token comes with it)
PUBLIC = {("post", "/decisions/explanation"), ("post", "/decisions/contest")}


def test_every_route_refuses_missing_wrong_and_underprivileged_tokens(client):
    from assay.service import ROLES, create_token

    client.tokens["bounty"] = create_token(client.app.state.engine, name="outsider", role="bounty")
    client.tokens["approver"] = create_token(client.app.state.engine, name="board", role="approver")
    schema = client.get("/openapi.json").json()  # the schema itself is public (it holds no data)
    routes = [(m, p) for p, ops in schema["paths"].items() for m in ops]
    assert set(routes) == set(ALLOWED) | PUBLIC, "a route was added without a role rule in this test"
    client.post("/models", json={"name": "m", "version": "1"}, headers=_h(client, "owner")).raise_for_status()
    client.post("/models/m/1/predictions", json={"records": [{"id": "1"}]}, headers=_h(client, "owner")).raise_for_status()
    for method, path in PUBLIC:
        for headers in ({}, _h(client, "admin")):
            body = {"model": "m", "version": "1", "id": "1", "receipt": "0" * 32, **({"reason": "x"} if path.endswith("contest") else {})}
            r = client.request(method, path, headers=headers, json=body)
            assert r.status_code == 401, (method, path, r.status_code)
    for method, path in [r for r in routes if r not in PUBLIC]:
        url = path.replace("{name}", "m").replace("{version}", "1")
        for key in ("task_id", "run_id", "prediction_id", "contest_id"):
            url = url.replace("{" + key + "}", "1")
        url = url.replace("{token_id}", "999")  # not the admin's own token: revoking it would end the walk
        for headers in ({}, {"Authorization": "Bearer assay_not-a-token"}, {"Authorization": "Basic abc"}):
            r = client.request(method, url, headers=headers, json={})
            assert r.status_code == 401, (method, path, headers, r.status_code)
        for role in ROLES:
            r = client.request(method, url, headers=_h(client, role), json={})
            if role in ALLOWED[(method, path)]:
                assert r.status_code not in (401, 403), (method, path, role, r.status_code)
            else:
                assert r.status_code == 403 and role in r.json()["detail"], (method, path, role, r.status_code)


def test_capture_ground_truth_and_the_ledger(client, db):
    owner, auditor = _h(client, "owner"), _h(client, "auditor")
    assert client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K"]}, headers=owner).status_code == 201
    assert client.post("/models", json={"name": "adult", "version": "1"}, headers=owner).status_code == 409
    recs = [{"id": f"r{i}", "inputs": {"age": 20 + i}, "score": i / 10, "facets": {"sex": "Female" if i % 2 else "Male"}} for i in range(10)]
    r = client.post("/models/adult/1/predictions", json={"records": recs}, headers=owner)
    assert r.status_code == 201 and r.json() == {"stored": 10, "already_stored": 0, "routed_to_review": []}  # no policy: nothing routed
    assert client.post("/models/adult/1/predictions", json={"records": recs[:3]}, headers=owner).json()["already_stored"] == 3  # retry: idempotent
    changed = dict(recs[0], score=0.99)
    r = client.post("/models/adult/1/predictions", json={"records": [changed]}, headers=owner)
    assert r.status_code == 409 and "r0" in r.json()["detail"]
    r = client.post("/models/adult/1/predictions", json={"records": [{"id": "x", "facets": {}}]}, headers=owner)
    assert r.status_code == 422 and "sex" in r.json()["detail"][0]["msg"]
    r = client.post("/models/adult/1/predictions", json={"records": [{"id": "y", "score": 1.5, "facets": {"sex": "Male"}}]}, headers=owner)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "score"
    r = client.post("/models/nope/1/predictions", json={"records": recs[:1]}, headers=owner)
    assert r.status_code == 404 and "nope/1" in r.json()["detail"]
    r = client.post("/models/adult/1/ground-truth", json={"records": [{"id": "r1", "label": ">50K"}, {"id": "ghost", "label": "<=50K"}]}, headers=owner)
    assert r.status_code == 404 and "ghost" in r.json()["detail"]
    assert client.post("/models/adult/1/ground-truth", json={"records": [{"id": "r1", "label": ">50K"}]}, headers=owner).json() == {"stored": 1}
    got = client.get("/models/adult/1/predictions?limit=4", headers=auditor).json()
    assert [x["id"] for x in got["records"]] == ["r0", "r1", "r2", "r3"] and got["records"][1]["ground_truth"] == ">50K"
    assert got["records"][0]["inputs"] == {"age": 20} and got["records"][0]["facets"] == {"sex": "Male"}
    assert client.get("/ledger/verify", headers=auditor).json()["ok"]
    actions = [e["action"] for e in client.get("/ledger", headers=auditor).json()["entries"]]
    assert actions == ["token.create"] * 4 + ["model.register", "capture.batch", "capture.batch", "ground_truth.batch"]  # refused requests left no trace


@pytest.mark.parametrize("tamper", ["edit", "remove", "reorder"])
def test_ledger_verify_detects_edited_removed_or_reordered_entries(client, db, tamper):
    from typer.testing import CliRunner

    from assay.cli._main import app as cli

    owner = _h(client, "owner")
    for v in range(3):
        client.post("/models", json={"name": "m", "version": str(v)}, headers=owner)
    runner = CliRunner()
    ok = runner.invoke(cli, ["ledger", "verify", "--db", db])
    assert ok.exit_code == 0 and "7 entries" in ok.output
    engine = client.app.state.engine
    with engine.begin() as conn:
        if tamper == "edit":
            conn.execute(sa.text("UPDATE ledger SET payload = :p WHERE seq = 6"), {"p": json.dumps({"facets": ["race"]})})
        elif tamper == "remove":
            conn.execute(sa.text("DELETE FROM ledger WHERE seq = 5"))
        else:  # swap the contents of two entries, keeping their sequence numbers
            rows = {r.seq: r for r in conn.execute(sa.text("SELECT * FROM ledger WHERE seq IN (5, 6)"))}
            for a, b in ((5, 6), (6, 5)):
                r = rows[b]
                conn.execute(sa.text("UPDATE ledger SET at=:at, actor=:actor, action=:action, subject=:subject, payload=:payload, prev_hash=:prev, hash=:hash WHERE seq=:seq"),
                             {"at": r.at, "actor": r.actor, "action": r.action, "subject": r.subject, "payload": r.payload, "prev": r.prev_hash, "hash": r.hash, "seq": a})  # fmt: skip
    bad = runner.invoke(cli, ["ledger", "verify", "--db", db])
    assert bad.exit_code == 1
    expected = {"edit": "entry 6 was edited", "remove": "entry 5 is missing", "reorder": "entry 5 does not follow entry 4"}[tamper]
    assert expected in bad.output, bad.output


def test_concurrent_writers_never_fork_the_chain(client, db):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner)
    errors: list[str] = []

    def load(k: int) -> None:
        for j in range(10):
            r = client.post("/models/m/1/predictions", json={"records": [{"id": f"{k}-{j}"}]}, headers=owner)
            if r.status_code != 201:
                errors.append(f"{r.status_code} {r.text}")

    threads = [threading.Thread(target=load, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    v = client.get("/ledger/verify", headers=_h(client, "auditor")).json()
    assert v["ok"] and v["entries"] == 4 + 1 + 80
    assert len(client.get("/models/m/1/predictions?limit=1000", headers=owner).json()["records"]) == 80


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(db: str, port: int, log: Path, *extra: str) -> subprocess.Popen:
    with log.open("ab") as fh:  # the child keeps its own descriptor
        proc = subprocess.Popen([sys.executable, "-m", "assay.cli", "serve", "--db", db, "--port", str(port), *extra], stdout=fh, stderr=fh)
    while proc.poll() is None:  # no deadline: a loaded machine starts it late, a failed start ends the process
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start: " + log.read_text()[-2000:])


def test_a_killed_server_loses_no_acknowledged_prediction(db, tmp_path):
    import httpx

    from assay.service import connect, create_token, migrate

    engine = connect(db)
    migrate(engine)
    tok = create_token(engine, name="capture", role="owner")
    engine.dispose()
    port = _free_port()
    proc = _start(db, port, tmp_path / "server.log")
    h = {"Authorization": f"Bearer {tok}"}
    base = f"http://127.0.0.1:{port}"
    httpx.post(f"{base}/models", json={"name": "adult", "version": "1"}, headers=h).raise_for_status()
    acked: list[str] = []

    def load() -> None:
        for b in range(400):
            batch = [{"id": f"{b}-{i}", "inputs": {"i": i}} for i in range(25)]
            try:
                r = httpx.post(f"{base}/models/adult/1/predictions", json={"records": batch}, headers=h, timeout=None)
            except httpx.HTTPError:
                return
            if r.status_code == 201:
                acked.extend(x["id"] for x in batch)

    t = threading.Thread(target=load)
    t.start()
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)  # mid-load
    t.join()
    proc.wait()
    assert 0 < len(acked) < 10_000
    print(f"{len(acked):,} predictions acknowledged before SIGKILL")
    proc = _start(db, port, tmp_path / "server.log")
    try:
        stored: set[str] = set()
        after = 0
        while True:
            page = httpx.get(f"{base}/models/adult/1/predictions?after={after}&limit=10000", headers=h).json()
            if not page["records"]:
                break
            stored.update(x["id"] for x in page["records"])
            after = page["next_after"]
        assert set(acked) <= stored  # every acknowledged prediction survived
        assert len(stored) % 25 == 0  # and batches are whole: all of a batch or none of it
    finally:
        proc.terminate()
        proc.wait()
    from typer.testing import CliRunner

    from assay.cli._main import app as cli

    assert CliRunner().invoke(cli, ["ledger", "verify", "--db", db]).exit_code == 0


POLICY = {"reviewers_per_item": 3, "question": "Does this person earn more than 50K?", "answers": [">50K", "<=50K"],
          "conditions": [{"type": "score_between", "low": 0.45, "high": 0.55},
                         {"type": "facet_score_between", "facet": "sex", "value": "Female", "low": 0.4, "high": 0.6},
                         {"type": "random_sample", "percent": 1.0}]}  # fmt: skip


def _expected_routing(ids, scores, sexes) -> set[str]:
    """The policy, written again independently: which rows should go to review."""
    import hashlib

    out = set()
    for i, s, sex in zip(ids, scores, sexes):
        sampled = int.from_bytes(hashlib.sha256(f"adult/1\x00{i}".encode()).digest()[:8], "big") % 1_000_000 < 1.0 * 10_000
        if 0.45 <= s <= 0.55 or (sex == "Female" and 0.4 <= s <= 0.6) or sampled:
            out.add(i)
    return out


def test_end_to_end_routing_review_and_ground_truth_against_a_real_server(db, tmp_path):
    import httpx
    import numpy as np

    from assay.datasets import adult_model, load_adult
    from assay.service import connect, create_token, migrate

    train, test = load_adult("train"), load_adult("test").head(10_000)
    feats = [c for c in train.columns if c not in ("income", "fnlwgt")]
    model = adult_model(feats).fit(train[feats], train["income"] == ">50K")
    scores = model.predict_proba(test[feats])[:, 1]
    engine = connect(db)
    migrate(engine)
    owner = create_token(engine, name="capture", role="owner")
    auditor = create_token(engine, name="audit", role="auditor")
    reviewers = [create_token(engine, name=f"reviewer-{k}", role="reviewer") for k in range(3)]
    engine.dispose()
    port = _free_port()
    proc = _start(db, port, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=None) as http:
            h = {"Authorization": f"Bearer {owner}"}
            http.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"], "policy": POLICY},
                      headers=h).raise_for_status()  # fmt: skip
            ids = [f"t{i}" for i in range(len(test))]
            routed: list[str] = []
            for start in range(0, len(test), 1000):
                part = test.iloc[start : start + 1000]
                recs = [{"id": ids[start + j], "inputs": {c: (v.item() if hasattr(v, "item") else v) for c, v in row.items()}, "score": float(scores[start + j]),
                         "label": ">50K" if scores[start + j] > 0.5 else "<=50K", "facets": {"sex": row["sex"]}}
                        for j, (_, row) in enumerate(part[feats].iterrows())]  # fmt: skip
                r = http.post("/models/adult/1/predictions", json={"records": recs}, headers=h)
                assert r.status_code == 201, r.text
                routed += r.json()["routed_to_review"]
            expected = _expected_routing(ids, scores, test["sex"].to_numpy())
            assert set(routed) == expected and 100 < len(expected) < 2000  # exactly the rows the policy names
            truth = dict(zip(ids, test["income"].to_numpy()))
            rng = np.random.default_rng(0)
            answered = 0
            for k, tok in enumerate(reviewers):  # reviewer 2 is wrong a third of the time; the majority still holds
                rh = {"Authorization": f"Bearer {tok}"}
                while True:
                    r = http.get("/review/next", headers=rh)
                    if r.status_code == 204:
                        break
                    task = r.json()
                    assert task["question"] == POLICY["question"] and task["reasons"] and "inputs" in task["input"]
                    ans = truth[task["prediction_id"]]
                    if k == 2 and rng.random() < 1 / 3:
                        ans = "<=50K" if ans == ">50K" else ">50K"
                    assert http.post(f"/review/tasks/{task['task_id']}/answer", json={"answer": ans}, headers=rh).status_code == 200
                    answered += 1
            assert answered == 3 * len(expected)
            ah = {"Authorization": f"Bearer {auditor}"}
            got, after = {}, 0
            while True:
                page = http.get(f"/models/adult/1/predictions?after={after}&limit=10000", headers=ah).json()
                if not page["records"]:
                    break
                got.update({x["id"]: x["ground_truth"] for x in page["records"]})
                after = page["next_after"]
            assert {i: got[i] for i in expected} == {i: truth[i] for i in expected}  # consolidated answers arrived as ground truth
            assert all(got[i] is None for i in ids if i not in expected)
            status = http.get("/models/adult/1/status", headers=ah).json()
            routed_rows = test.assign(id=ids, score=scores).set_index("id").loc[sorted(expected)]
            pred_pos = routed_rows["score"] > 0.5
            for sex in ("Female", "Male"):  # model quality by facet on the reviewed rows, by hand
                part = routed_rows["sex"] == sex
                by_hand = float((pred_pos[part] == (routed_rows["income"][part] == ">50K")).mean())
                got_q = status["by_facet"]["sex"][sex]
                assert got_q["n"] == int(part.sum()) and got_q["accuracy"]["value"] == pytest.approx(by_hand, abs=1e-12)
                assert got_q["accuracy"]["ci"][0] <= by_hand <= got_q["accuracy"]["ci"][1]
            assert status["with_ground_truth"] == status["ground_truth_from_review"] == len(expected)
            agree = http.get("/models/adult/1/review/agreement", headers=ah).json()
            assert agree["tasks_by_status"] == {"complete": len(expected)} and 0.3 < agree["fleiss_kappa"] < 0.9
            out = http.get("/review/tasks/1/output", headers=ah).json()
            assert len(out["humanAnswers"]) == 3 and out["conditionsMatched"] and out["inputContent"]["modelOutput"]["score"] is not None
            assert http.get("/ledger/verify", headers=ah).json()["ok"]
    finally:
        proc.terminate()
        proc.wait()


def test_twenty_concurrent_reviewers_never_overfill_a_task(client):
    owner = _h(client, "owner")
    policy = dict(POLICY, conditions=[{"type": "score_between", "low": 0.0, "high": 1.0}])  # every prediction is reviewed
    client.post("/models", json={"name": "m", "version": "1", "policy": policy}, headers=owner).raise_for_status()
    client.post("/models/m/1/predictions", json={"records": [{"id": f"p{i}", "score": 0.5} for i in range(40)]}, headers=owner).raise_for_status()
    from assay.service import create_token

    toks = [create_token(client.app.state.engine, name=f"r{k}", role="reviewer") for k in range(20)]
    errors: list[str] = []

    def work(tok: str) -> None:
        h = {"Authorization": f"Bearer {tok}"}
        while True:
            r = client.get("/review/next", headers=h)
            if r.status_code == 204:
                return
            if r.status_code != 200:
                errors.append(r.text)
                return
            a = client.post(f"/review/tasks/{r.json()['task_id']}/answer", json={"answer": ">50K"}, headers=h)
            if a.status_code != 200:
                errors.append(a.text)

    threads = [threading.Thread(target=work, args=(t,)) for t in toks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with client.app.state.engine.connect() as conn:
        per_task = dict(conn.execute(sa.text("SELECT task_id, COUNT(answer) FROM review_assignments GROUP BY task_id")).all())
        status = dict(conn.execute(sa.text("SELECT status, COUNT(*) FROM review_tasks GROUP BY status")).all())
    assert len(per_task) == 40 and set(per_task.values()) == {3}  # none lost, none answered more than three times
    assert status == {"complete": 40}


def _reviewable(client, n: int = 3) -> None:
    owner = _h(client, "owner")
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "policy": dict(POLICY, reviewers_per_item=1,
                conditions=[{"type": "score_between", "low": 0.0, "high": 1.0}])}, headers=owner).raise_for_status()  # fmt: skip
    recs = [{"id": f"p{i}", "inputs": {"age": 30 + i, "occupation": "Tech-support"}, "score": 0.4 + i / 100, "label": "<=50K", "facets": {"sex": "Female"}}
            for i in range(n)]  # fmt: skip
    client.post("/models/adult/1/predictions", json={"records": recs}, headers=owner).raise_for_status()


def test_reviewer_pages_need_a_session_and_a_csrf_token(client):
    _reviewable(client)
    r = client.get("/ui/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    r = client.post("/ui/review/1", data={"answer": ">50K"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    other = client.__class__(client.app)  # an owner signs in to the dashboard, not the review pages
    assert other.post("/ui/login", data={"token": client.tokens["owner"]}, follow_redirects=False).headers["location"] == "/ui/"  # the home page
    r = other.get("/ui/review")
    assert r.status_code == 403 and "for reviewers" in r.text
    assert client.post("/ui/login", data={"token": "assay_wrong"}).status_code == 401
    r = client.post("/ui/login", data={"token": client.tokens["reviewer"]}, follow_redirects=False)
    assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    page = client.get("/ui/review")
    assert page.status_code == 200 and 'data-task-id="1"' in page.text and "Tech-support" in page.text and "score between" in page.text
    assert "<script" not in page.text and "default-src 'none'" in page.headers["content-security-policy"]
    assert client.post("/ui/review/1", data={"answer": ">50K", "csrf": "forged"}).status_code == 403  # cross-site form: refused
    import re

    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/ui/review/1", data={"answer": ">50K", "csrf": csrf}, follow_redirects=True)
    assert r.status_code == 200 and 'data-task-id="2"' in r.text and "recorded (task 1)" in r.text  # the next task appears
    assert client.get("/review/tasks/1/output", headers=_h(client, "auditor")).json()["humanAnswers"][0]["answerContent"] == {"answer": ">50K"}


def test_reviewer_page_in_headless_chromium(db, tmp_path):
    from playwright.sync_api import sync_playwright

    from assay.report._report import chromium
    from assay.service import connect, create_token, migrate

    engine = connect(db)
    migrate(engine)
    owner = create_token(engine, name="capture", role="owner")
    reviewer = create_token(engine, name="rita", role="reviewer")
    auditor = create_token(engine, name="audrey", role="auditor")
    engine.dispose()
    port = _free_port()
    proc = _start(db, port, tmp_path / "server.log")
    try:
        import httpx

        h = {"Authorization": f"Bearer {owner}"}
        base = f"http://127.0.0.1:{port}"
        httpx.post(f"{base}/models", json={"name": "adult", "version": "1", "facets": ["sex"], "policy": dict(POLICY, reviewers_per_item=1,
                   conditions=[{"type": "score_between", "low": 0.0, "high": 1.0}])}, headers=h).raise_for_status()  # fmt: skip
        recs = [{"id": f"p{i}", "inputs": {"age": 30 + i, "education": "Bachelors", "hours-per-week": 45}, "score": 0.5 + i / 100, "label": ">50K",
                 "facets": {"sex": "Female"}, "explanation": {"age": -0.04, "education": 0.12, "hours-per-week": 0.03}} for i in range(2)]  # fmt: skip
        httpx.post(f"{base}/models/adult/1/predictions", json={"records": recs}, headers=h).raise_for_status()
        console: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.on("console", lambda m: console.append(m.text))
            page.goto(f"{base}/ui/review")
            assert page.url.endswith("/ui/login")
            page.fill("#token", reviewer)
            page.click("button[type=submit]")
            page.wait_for_selector("#task")
            assert page.get_attribute("#task", "data-task-id") == "1" and "Bachelors" in page.inner_text("#task ~ .card:last-of-type")
            assert page.inner_text("#explanation tbody tr:first-child") == "education = Bachelors\traised the score by 0.120"
            page.screenshot(path=str(tmp_path / "review-task.png"), full_page=True)
            page.click("button[value='>50K']")
            page.wait_for_selector("#done")
            assert page.get_attribute("#task", "data-task-id") == "2"  # the next task appears
            page.click("button[value='<=50K']")
            page.wait_for_selector("#empty")
            page.screenshot(path=str(tmp_path / "review-empty.png"), full_page=True)
            dash = browser.new_page(viewport={"width": 1100, "height": 800})
            dash.on("console", lambda m: console.append(m.text))
            dash.goto(f"{base}/ui/login")
            dash.fill("#token", auditor)
            dash.click("button[type=submit]")
            dash.wait_for_selector("#todo")  # the home page
            dash.goto(f"{base}/ui/dashboard")
            dash.wait_for_selector(".model")
            rows = {r.get_attribute("data-value"): r.inner_text() for r in dash.query_selector_all("tr.facet")}
            assert set(rows) == {"Female"} and "\t2\t" in rows["Female"]  # quality by facet from the two reviewed answers
            dash.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            browser.close()
        assert console == []
    finally:
        proc.terminate()
        proc.wait()


def test_sign_out_and_expired_sessions_end_access(client):
    import re

    _reviewable(client)
    client.post("/ui/login", data={"token": client.tokens["reviewer"]})
    page = client.get("/ui/review")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert client.post("/ui/logout", data={"csrf": "forged"}).status_code == 403  # signing out takes the CSRF token too
    r = client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    assert client.get("/ui/review", follow_redirects=False).headers["location"] == "/ui/login"
    client.post("/ui/login", data={"token": client.tokens["reviewer"]})
    assert client.get("/ui/review").status_code == 200
    with client.app.state.engine.begin() as conn:  # the session's eight hours are over
        conn.execute(sa.text("UPDATE sessions SET expires_at = :t"), {"t": "2000-01-01 00:00:00"})
    assert client.get("/ui/review", follow_redirects=False).headers["location"] == "/ui/login"


def test_revoked_tokens_and_their_sessions_stop_working(client, db):
    from typer.testing import CliRunner

    from assay.cli._main import app as cli
    from assay.service import create_token

    admin = _h(client, "admin")
    listed = client.get("/tokens", headers=admin).json()
    assert {t["name"] for t in listed} == {"admin-user", "owner-user", "reviewer-user", "auditor-user"} and all("hash" not in str(t) for t in listed)
    client.post("/ui/login", data={"token": client.tokens["reviewer"]})
    assert client.get("/ui/review").status_code == 200
    rid = next(t["id"] for t in listed if t["name"] == "reviewer-user")
    r = client.post(f"/tokens/{rid}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["name"] == "reviewer-user"
    assert client.get("/review/tasks", headers=_h(client, "reviewer")).status_code == 401  # the token, at once
    assert client.get("/ui/review", follow_redirects=False).headers["location"] == "/ui/login"  # and the page session
    assert client.post(f"/tokens/{rid}/revoke", headers=admin).status_code == 404  # already revoked
    extra = create_token(client.app.state.engine, name="temp", role="auditor")
    r = CliRunner().invoke(cli, ["service", "revoke", "--db", db, "--name", "temp"])
    assert r.exit_code == 0 and "Revoked 1 token(s) of temp" in r.output
    assert client.get("/ledger", headers={"Authorization": f"Bearer {extra}"}).status_code == 401
    r = CliRunner().invoke(cli, ["service", "revoke", "--db", db, "--name", "temp"])
    assert r.exit_code == 1 and "no active token" in r.output
    revoked = [e for e in client.get("/ledger", headers=admin).json()["entries"] if e["action"] == "token.revoke"]
    assert [e["subject"] for e in revoked] == ["reviewer-user", "temp"] and [e["actor"] for e in revoked] == ["admin-user", "cli"]
