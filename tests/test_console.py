"""The console pages (TestClient): every page refuses the roles the API refuses for what it shows, the sign-off done through the
forms verifies from the CLI, the ledger is searched, paged, verified and exported, tokens are made and revoked with the
last-admin guard, and a violation leads to exactly the rows behind it."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assay.cli._main import app as cli

PASS = "correct horse battery staple"
INFO_YAML = "name: income-classifier\nrisk_rating: High\nintended_uses: Research on fairness tooling.\nmetrics: [DPL, DPPL, DI]\n"


def _h(client, role):
    return {"Authorization": f"Bearer {client.tokens[role]}"}


def _session(client, token):
    """A browser of its own, signed in with ``token``; (the client, the CSRF token of its session)."""
    s = TestClient(client.app)
    r = s.post("/ui/login", data={"token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = s.get("/ui/models" if "reviewer" not in token else "/ui/review").text
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    return s, m.group(1) if m else ""


@pytest.fixture
def people(client):
    from assay.service import create_token

    engine = client.app.state.engine
    client.tokens["approver"] = create_token(engine, name="bea", role="approver")
    client.tokens["bounty"] = create_token(engine, name="outsider", role="bounty")
    return client


# -- roles ------------------------------------------------------------------------------------------------------------------------
# each page, the API routes whose data it shows or whose action it takes: the page's roles must be among every one's
SHOWS = {
    "/ui/models": [("get", "/models"), ("get", "/models/{name}/{version}/card")],
    "/ui/models/{name}/{version}": [("get", "/models/{name}/{version}/card"), ("get", "/models/{name}/{version}/audit")],
    "/ui/models/{name}/{version}/card": [("get", "/models/{name}/{version}/card")],
    "/ui/models/{name}/{version}/report": [("get", "/models/{name}/{version}/audit")],
    "/ui/models/{name}/{version}/audit": [("put", "/models/{name}/{version}/audit"), ("put", "/models/{name}/{version}/card")],
    "/ui/models/{name}/{version}/runs/{run_id}": [("get", "/models/{name}/{version}/monitoring/runs/{run_id}")],
    "/ui/models/{name}/{version}/runs/{run_id}/rows": [("get", "/models/{name}/{version}/monitoring/runs/{run_id}"), ("get", "/models/{name}/{version}/predictions")],
    "/ui/models/{name}/{version}/review": [("get", "/models/{name}/{version}/review/agreement"), ("get", "/models/{name}/{version}/status")],
    "/ui/models/{name}/{version}/policy": [("put", "/models/{name}/{version}/policy")],
    "/ui/contests": [("get", "/contests")],
    "/ui/contests/{contest_id}": [("get", "/contests/{contest_id}"), ("get", "/models/{name}/{version}/predictions/{prediction_id}/explanation")],
    "/ui/contests/{contest_id}/response": [("post", "/contests/{contest_id}/response")],
    "/ui/ledger": [("get", "/ledger")],
    "/ui/ledger/verify": [("get", "/ledger/verify")],
    "/ui/ledger/export": [("get", "/ledger")],
    "/ui/tokens": [("get", "/tokens"), ("post", "/tokens")],
    "/ui/tokens/{token_id}/revoke": [("post", "/tokens/{token_id}/revoke")],
    "/ui/keys": [("put", "/keys")],
}  # fmt: skip
ACTION_API = {a: ("post", f"/models/{{name}}/{{version}}/card/{a}") for a in ("submit", "approve", "approve-signed", "reject", "archive")}


def test_no_page_admits_a_role_the_api_refuses_for_what_it_shows(people):
    from assay.service import ROLES
    from assay.service._console import ACTIONS, FORMS, PAGES, WATCHERS
    from tests.test_service import ALLOWED

    assert set(SHOWS) | {"/ui/", "/ui/models/{name}/{version}/card/{action}"} == set(PAGES), "a page was added without saying what it shows"
    for page, routes in SHOWS.items():
        for route in routes:
            assert set(PAGES[page]) <= ALLOWED[route], (page, route)
    assert set(FORMS["/ui/models"]) <= ALLOWED[("post", "/models")]
    for action, roles in ACTIONS.items():
        assert set(roles) <= ALLOWED[ACTION_API[action]], action
    assert set(WATCHERS) <= ALLOWED[("get", "/models/{name}/{version}/monitoring/runs")] & ALLOWED[("get", "/contests")]
    client = people
    client.post("/models", json={"name": "m", "version": "1"}, headers=_h(client, "owner")).raise_for_status()
    sessions = {role: _session(client, client.tokens[role]) for role in ROLES}
    routes = [(m.lower(), r.path) for r in _routes(client.app.routes) if r.path.startswith("/ui/") for m in r.methods if m != "HEAD"]
    walked = set()
    for method, path in routes:
        if path not in PAGES:
            continue
        url = (
            path.replace("{name}", "m")
            .replace("{version}", "1")
            .replace("{run_id}", "1")
            .replace("{token_id}", "999")
            .replace("{action}", "submit")
            .replace("{contest_id}", "1")
        )
        for role, (s, csrf) in sessions.items():
            allowed = ACTIONS["submit"] if "{action}" in path else FORMS.get(path, PAGES[path]) if method == "post" else PAGES[path]
            r = s.request(method, url, data={"csrf": csrf} if method == "post" else None, follow_redirects=False)
            if role in allowed:
                assert r.status_code not in (401, 403), (method, path, role, r.status_code)
            else:
                assert r.status_code == 403 or (path == "/ui/" and r.status_code == 303), (method, path, role, r.status_code)
            walked.add(path)
        anonymous = TestClient(client.app).request(method, url, follow_redirects=False)
        assert anonymous.status_code in (303, 403, 422) and anonymous.headers.get("location", "/ui/login") == "/ui/login", (method, path)
    assert walked == set(PAGES)  # every page, by every role


def _routes(routes):
    """Every route, through included routers (FastAPI 0.165 keeps them as such)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        elif hasattr(r, "methods"):
            yield r


def test_an_approver_sees_the_card_but_not_the_monitoring_of_a_model(people, analysed):
    client = people
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"]}, headers=_h(client, "owner")).raise_for_status()
    client.put("/models/adult/1/audit", json={"analysis": json.loads((analysed / "analysis.json").read_text())}, headers=_h(client, "owner")).raise_for_status()
    board, _ = _session(client, client.tokens["approver"])
    html = board.get("/ui/models/adult/1").text
    assert 'id="card"' in html and 'id="monitoring"' not in html and 'id="captured"' not in html and "Open reviews" not in board.get("/ui/models").text
    owner, _ = _session(client, client.tokens["owner"])
    html = owner.get("/ui/models/adult/1").text
    assert 'id="monitoring"' in html and 'id="captured"' in html


# -- sign-off through the forms ---------------------------------------------------------------------------------------------------
def test_the_card_is_built_submitted_and_signed_through_the_pages_and_verifies_from_the_cli(people, db, analysed, tmp_path):
    from assay.cards import generate_key

    client = people
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K"]}, headers=_h(client, "owner")).raise_for_status()
    owner, csrf = _session(client, client.tokens["owner"])
    files = {
        "analysis": ("analysis.json", (analysed / "analysis.json").read_bytes(), "application/json"),
        "info": ("card.yaml", INFO_YAML.encode(), "text/yaml"),
    }
    r = owner.post("/ui/models/adult/1/audit", data={"csrf": "forged"}, files=files)
    assert r.status_code == 403  # CSRF
    r = owner.post("/ui/models/adult/1/audit", data={"csrf": csrf}, files={"info": ("card.yaml", b"name: x\nrisk: High\n", "text/yaml")})
    assert r.status_code == 409 and "has no audit yet" in r.text  # named, and the page is still there
    r = owner.post("/ui/models/adult/1/audit", data={"csrf": csrf}, files=files)
    assert r.status_code == 200 and "card version 1 stored as Draft" in r.text and 'id="card-status">Draft' in r.text
    forged = owner.get("/ui/models/adult/1?notice=Your+session+expired%2C+sign+in+at+evil.example&sig=" + "0" * 32).text
    assert "evil.example" not in forged  # a notice shows only when this session's redirect signed it
    r = owner.post("/ui/models/adult/1/card/submit", data={"csrf": csrf, "reason": ""})
    assert r.status_code == 422 and "give a reason" in r.text
    r = owner.post("/ui/models/adult/1/card/submit", data={"csrf": csrf, "reason": "ready for the board"})
    assert 'id="card-status">PendingReview' in r.text and 'id="approve-form"' not in r.text  # owners do not approve
    board, bcsrf = _session(client, client.tokens["approver"])
    assert 'id="approve-form"' in board.get("/ui/models/adult/1").text and "adult/1" in board.get("/ui/").text  # waiting on the home page
    r = board.post("/ui/models/adult/1/card/approve", data={"csrf": bcsrf, "reason": "checked", "passphrase": PASS})
    assert r.status_code == 409 and "no signing key registered" in r.text
    private, public = generate_key(tmp_path / "bea", passphrase=PASS.encode())
    r = board.post("/ui/keys", data={"csrf": bcsrf, "private_key": private.read_text(), "passphrase": "wrong"})
    assert r.status_code == 422 and "passphrase does not open" in r.text
    r = board.post("/ui/keys", data={"csrf": bcsrf, "private_key": private.read_text(), "passphrase": PASS})
    assert r.status_code == 200 and "registered" in r.text
    r = board.post("/ui/models/adult/1/card/approve", data={"csrf": bcsrf, "reason": "figures checked", "passphrase": "wrong"})
    assert r.status_code == 422 and "passphrase does not open" in r.text and 'id="card-status">PendingReview' in r.text
    r = board.post("/ui/models/adult/1/card/approve", data={"csrf": bcsrf, "reason": "figures checked", "passphrase": PASS})
    assert r.status_code == 200 and 'id="card-status">Approved' in r.text and "signed with key" in r.text
    card_html = board.get("/ui/models/adult/1/card").text
    assert "income-classifier" in card_html and "Approved" in card_html and "bea" in card_html
    assert "<script" not in card_html and "default-src 'none'" in board.get("/ui/models/adult/1/report").headers["content-security-policy"]
    runner = CliRunner()
    r = runner.invoke(cli, ["service", "card", "--db", db, "--model", "adult/1", "--out", str(tmp_path / "card")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["card", "verify", str(tmp_path / "card"), "--trusted-key", str(public)])
    assert r.exit_code == 0, r.output
    assert runner.invoke(cli, ["ledger", "verify", "--db", db]).exit_code == 0


# -- the ledger -------------------------------------------------------------------------------------------------------------------
def test_the_ledger_is_searched_paged_verified_against_an_anchor_and_exported(people, db, tmp_path):
    from assay.ledger import verify_file

    client = people
    for v in range(60):
        client.post("/models", json={"name": "m", "version": str(v)}, headers=_h(client, "owner")).raise_for_status()
    auditor, csrf = _session(client, client.tokens["auditor"])
    page = auditor.get("/ui/ledger?action=model.register").text
    seqs = [int(x) for x in re.findall(r'class="entry" id="e\d+" data-seq="(\d+)"', page)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True) and 'data-action="token.create"' not in page
    older = re.search(r'href="(/ui/ledger\?[^"]+before=\d+)"', page).group(1).replace("&amp;", "&")
    rest = [int(x) for x in re.findall(r'data-seq="(\d+)"', auditor.get(older).text)]
    assert len(rest) == 10 and max(rest) < min(seqs)  # the next page: the ten oldest registrations
    by_subject = auditor.get("/ui/ledger?subject=m/7").text
    assert re.findall(r'data-action="([^"]+)"', by_subject) == ["model.register"]
    assert "owner-user" in auditor.get("/ui/ledger?actor=owner-user").text and "data-seq" not in auditor.get("/ui/ledger?actor=nobody").text
    assert auditor.get("/ui/ledger?since=yesterday").status_code == 422
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert "data-seq" not in auditor.get(f"/ui/ledger?since={future}").text
    n = len(client.get("/ledger", headers=_h(client, "auditor")).json()["entries"])
    r = _verified(auditor, csrf)
    assert 'class="ok"' in r.text and f"Intact: {n} entries" in r.text and n == 6 + 60 + 1  # tokens, registrations, the sign-in
    head = _anchor(client)
    r = _verified(auditor, csrf, json.dumps(head))
    assert 'class="ok"' in r.text and f"entry {head['seq']}" in r.text
    with client.app.state.engine.begin() as conn:  # the newest entries removed: only the anchor shows it
        conn.exec_driver_sql(f"DELETE FROM ledger WHERE seq > {head['seq'] - 3}")
    assert 'class="ok"' in _verified(auditor, csrf).text
    r = _verified(auditor, csrf, json.dumps(head))
    assert 'class="error"' in r.text and "Broken" in r.text
    assert auditor.post("/ui/ledger/verify", data={"csrf": csrf, "anchor": "not json"}).status_code == 422
    export = auditor.get("/ui/ledger/export")
    (tmp_path / "ledger.jsonl").write_bytes(export.content)
    assert export.headers["content-type"].startswith("application/x-ndjson") and verify_file(tmp_path / "ledger.jsonl").ok
    assert len(export.text.splitlines()) == head["seq"] - 3


def _verified(browser, csrf, anchor=""):
    """Start "verify now" and reload the page until the check has finished (it runs in the background; no deadline)."""
    import time

    r = browser.post("/ui/ledger/verify", data={"csrf": csrf, "anchor": anchor}, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    while 'data-running="true"' in (page := browser.get(url)).text:
        time.sleep(0.05)
    check = int(re.search(r"check=(\d+)", url).group(1))
    assert f'data-check="{check}" data-running="false"' in page.text and browser.get("/ui/ledger").text.count(f'data-check="{check}"') == 1  # the latest, kept
    return page


def _anchor(client):
    from assay.service import ledger_anchor

    with client.app.state.engine.connect() as conn:
        return {k: v for k, v in ledger_anchor(conn).items() if k != "at"}


# -- tokens -----------------------------------------------------------------------------------------------------------------------
def test_an_admin_makes_and_revokes_tokens_and_cannot_revoke_the_last_admin(people):
    client = people
    admin, csrf = _session(client, client.tokens["admin"])
    r = admin.post("/ui/tokens", data={"csrf": csrf, "name": "rita", "role": "chief"})
    assert r.status_code == 422 and "role must be one of" in r.text
    r = admin.post("/ui/tokens", data={"csrf": csrf, "name": "rita", "role": "reviewer"})
    token = re.search(r'id="token-value">([^<]+)<', r.text).group(1)
    assert token.startswith("assay_") and token not in admin.get("/ui/tokens").text  # shown once
    rita = TestClient(client.app)
    assert rita.post("/ui/login", data={"token": token}, follow_redirects=False).headers["location"] == "/ui/review"
    rid = re.search(r'data-id="(\d+)" data-name="rita"', admin.get("/ui/tokens").text).group(1)
    r = admin.post(f"/ui/tokens/{rid}/revoke", data={"csrf": csrf})
    assert r.status_code == 200 and f"token {rid} of rita (reviewer) revoked" in r.text
    assert rita.get("/ui/review", follow_redirects=False).headers["location"] == "/ui/login"  # her session ended with it
    mine = re.search(r'data-id="(\d+)" data-name="admin-user"', r.text).group(1)
    r = admin.post(f"/ui/tokens/{mine}/revoke", data={"csrf": csrf})
    assert r.status_code == 409 and "last active admin" in r.text
    assert admin.post("/ui/tokens/999/revoke", data={"csrf": csrf}).status_code == 404


# -- a violation and its rows -----------------------------------------------------------------------------------------------------
def test_a_violation_leads_to_exactly_the_rows_behind_it(people, scored):
    from tests.test_service_monitoring import _baseline_doc, _records

    client = people
    feats, base, cur = scored
    owner = _h(client, "owner")
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"]}, headers=owner).raise_for_status()
    client.put("/models/adult/1/monitoring", json={"columns": {"ground_truth": "income"}, "bootstrap_replicates": 200}, headers=owner).raise_for_status()
    client.put("/models/adult/1/baseline", json=_baseline_doc(feats, base), headers=owner).raise_for_status()
    records = _records(feats, cur.iloc[:1000], "r")
    gone = {f"r{i}" for i in np.random.default_rng(3).choice(1000, 120, replace=False)}
    for rec in records:
        if rec["id"] in gone:
            rec["inputs"]["hours-per-week"] = None  # 12% missing where the baseline has none
    client.post("/models/adult/1/predictions", json={"records": records}, headers=owner).raise_for_status()
    now = dt.datetime.now(dt.timezone.utc)
    run = client.post("/models/adult/1/monitoring/runs", json={"start": (now - dt.timedelta(hours=1)).isoformat(), "end": (now + dt.timedelta(minutes=1)).isoformat()},
                      headers=owner).json()  # fmt: skip
    kinds = [(v["constraint_check_type"], v["feature_name"]) for v in run["violations"]]
    number = kinds.index(("completeness_check", "hours-per-week"))
    officer, _ = _session(client, client.tokens["auditor"])
    page = officer.get(f"/ui/models/adult/1/runs/{run['id']}").text
    assert f'rows?violation={number}"' in page and 'data-check="completeness_check" data-feature="hours-per-week"' in page
    seen, url = [], f"/ui/models/adult/1/runs/{run['id']}/rows?violation={number}"
    while url:
        html = officer.get(url).text
        seen += re.findall(r'class="row-behind" data-id="([^"]+)"', html)
        nxt = re.search(r'href="(\?violation=\d+&amp;after=\d+)"', html)
        url = f"/ui/models/adult/1/runs/{run['id']}/rows" + nxt.group(1).replace("&amp;", "&") if nxt else None
    assert len(seen) == 120 and set(seen) == gone  # three pages: every row behind it, none other, none twice
    assert officer.get(f"/ui/models/adult/1/runs/{run['id']}/rows?violation=999").status_code == 404
    assert officer.get("/ui/models/adult/1/runs/999").status_code == 404
    model_page = officer.get("/ui/models/adult/1").text
    assert f'id="run-{run["id"]}"' in model_page and "the figures" in model_page  # each chart with its table


# -- review operations and contests ------------------------------------------------------------------------------------------------
POLICY = {
    "reviewers_per_item": 2,
    "question": "Income above 50K?",
    "answers": [">50K", "<=50K"],
    "conditions": [{"type": "score_between", "low": 0.4, "high": 0.6}],
}


def _captured(client, n=400):
    rng = np.random.default_rng(11)
    scores = rng.uniform(0, 1, n)
    sexes = np.where(rng.uniform(size=n) < 0.4, "Female", "Male")
    recs = [{"id": f"p{i}", "inputs": {"age": int(20 + i % 50)}, "score": float(scores[i]), "label": ">50K" if scores[i] > 0.5 else "<=50K",
             "facets": {"sex": str(sexes[i])}, "explanation": {"age": 0.1}} for i in range(n)]  # fmt: skip
    owner = _h(client, "owner")
    client.post(
        "/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K"], "policy": POLICY}, headers=owner
    ).raise_for_status()
    client.post("/models/adult/1/predictions", json={"records": recs}, headers=owner).raise_for_status()
    return scores, sexes


def test_review_operations_show_the_queue_and_preview_a_policy_with_counts_by_group(people):
    client = people
    scores, sexes = _captured(client)
    from assay.service import create_token

    for name in ("rita", "raj"):
        client.tokens[name] = create_token(client.app.state.engine, name=name, role="reviewer")
    for name, answer in (("rita", ">50K"), ("raj", ">50K")):
        task = client.get("/review/next", headers=_h(client, name)).json()
        client.post(f"/review/tasks/{task['task_id']}/answer", json={"answer": answer}, headers=_h(client, name)).raise_for_status()
    owner, csrf = _session(client, client.tokens["owner"])
    page = owner.get("/ui/models/adult/1/review").text
    routed = int(((scores >= 0.4) & (scores <= 0.6)).sum())
    assert f'id="queue-open">{routed - 1}<' in page  # every routed prediction is a task; one is answered by both reviewers
    assert 'data-reviewer="rita"' in page and 'data-reviewer="raj"' in page
    wider = dict(POLICY, conditions=[{"type": "score_between", "low": 0.3, "high": 0.7}])
    r = owner.post("/ui/models/adult/1/policy", data={"csrf": csrf, "policy": json.dumps(wider), "intent": "preview"})
    hit = (scores >= 0.3) & (scores <= 0.7)
    assert r.status_code == 200 and f"would have routed {hit.sum()} of 400 predictions" in r.text and f"Routed then by the stored policy: {routed}" in r.text
    for g in ("Female", "Male"):
        row = re.search(rf'data-group="{g}"><th scope="row">{g}</th><td>(\d+)</td><td>(\d+)</td>', r.text)
        assert (int(row.group(1)), int(row.group(2))) == ((sexes == g).sum(), (hit & (sexes == g)).sum())
    r = owner.post("/ui/models/adult/1/policy", data={"csrf": csrf, "policy": "answers: [yes]\nconditions: []", "intent": "save"})
    assert r.status_code == 422 and "answers" in r.text and "conditions" in r.text  # both named; nothing stored
    assert client.get("/models", headers=_h(client, "owner")).json()[0]["policy"]["conditions"][0]["low"] == 0.4
    r = owner.post("/ui/models/adult/1/policy", data={"csrf": csrf, "policy": json.dumps(wider), "intent": "save"}, follow_redirects=True)
    assert "policy saved" in r.text and client.get("/models", headers=_h(client, "owner")).json()[0]["policy"]["conditions"][0]["low"] == 0.3
    auditor, acsrf = _session(client, client.tokens["auditor"])
    assert "<textarea" not in auditor.get("/ui/models/adult/1/review").text  # auditors read the policy, never edit it
    assert auditor.post("/ui/models/adult/1/policy", data={"csrf": acsrf, "policy": json.dumps(POLICY), "intent": "save"}).status_code == 403


def test_an_operator_answers_a_decided_contest_from_the_queue(people):
    from assay.service import create_token

    client = people
    _captured(client, 50)
    owner = _h(client, "owner")
    r = client.post("/models/adult/1/predictions/p3/contests", json={"reason": "My income is above 50K", "on_behalf_of": "case 17"}, headers=owner)
    cid = r.json()["id"]
    operator, csrf = _session(client, client.tokens["owner"])
    queue = operator.get("/ui/contests").text
    assert f'data-id="{cid}" data-status="open"' in queue
    page = operator.get(f"/ui/contests/{cid}").text
    assert "My income is above 50K" in page and "Still under review" in page and 'id="respond-form"' not in page
    assert operator.post(f"/ui/contests/{cid}/response", data={"csrf": csrf, "message": "too soon"}).status_code == 409
    for name in ("rita", "raj"):  # the contest's priority task is served first
        client.tokens[name] = create_token(client.app.state.engine, name=name, role="reviewer")
        task = client.get("/review/next", headers=_h(client, name)).json()
        assert task["contest_id"] == cid
        client.post(f"/review/tasks/{task['task_id']}/answer", json={"answer": ">50K"}, headers=_h(client, name)).raise_for_status()
    assert "1 contest(s) decided and waiting for the answer" in operator.get("/ui/").text
    page = operator.get(f"/ui/contests/{cid}").text
    assert 'id="respond-form"' in page and page.count('class="answer"') == 2 and 'id="explanation"' in page
    assert f'data-id="{cid}"' not in operator.get("/ui/contests").text  # no longer open
    assert f'data-id="{cid}"' in operator.get("/ui/contests?status=decided").text
    r = operator.post(
        f"/ui/contests/{cid}/response", data={"csrf": csrf, "message": "A reviewer agreed with you; the decision is changed."}, follow_redirects=True
    )
    assert 'id="response-text">A reviewer agreed with you' in r.text and "cannot be changed" in r.text
    assert operator.post(f"/ui/contests/{cid}/response", data={"csrf": csrf, "message": "again"}).status_code == 409  # written once
    assert f'data-id="{cid}"' in operator.get("/ui/contests?status=answered").text
    auditor, acsrf = _session(client, client.tokens["auditor"])
    assert 'id="respond-form"' not in auditor.get(f"/ui/contests/{cid}").text


# -- quality by group from counted ground truth -----------------------------------------------------------------------------------
def _hand_quality(client, positive=">50K"):
    """Model quality by sex from the rows themselves, as the dashboard computed it before the counts."""
    from assay.monitor._quality import model_quality
    from assay.service._db import predictions

    with client.app.state.engine.connect() as conn:
        rows = conn.execute(predictions.select().where(predictions.c.ground_truth.is_not(None), predictions.c.label.is_not(None))).all()
    y = np.array([r.ground_truth == positive for r in rows])
    p = np.array([r.label == positive for r in rows])
    sex = np.array([str(r.facets.get("sex")) for r in rows])
    out = {"all": (len(rows), model_quality(y, p, replicates=500)["metrics"]["accuracy"])}
    for g in sorted(set(sex)):
        out[g] = (int((sex == g).sum()), model_quality(y[sex == g], p[sex == g], replicates=500)["metrics"]["accuracy"])
    return out, sum(r.ground_truth_source == "review" for r in rows)


def test_quality_by_group_follows_every_ground_truth_write_without_reading_the_rows(people):
    from assay.service import create_token

    client = people
    scores, sexes = _captured(client)
    owner = _h(client, "owner")
    rng = np.random.default_rng(5)
    first = [{"id": f"p{i}", "label": ">50K" if rng.uniform() < 0.4 else "<=50K"} for i in range(0, 300)]
    client.post("/models/adult/1/ground-truth", json={"records": first}, headers=owner).raise_for_status()
    again = [{"id": f"p{i}", "label": "<=50K"} for i in range(0, 300, 3)]  # a later upload replaces a third of them
    client.post("/models/adult/1/ground-truth", json={"records": again}, headers=owner).raise_for_status()
    for name in ("rita", "raj"):  # and a consolidated review replaces one more
        client.tokens[name] = create_token(client.app.state.engine, name=name, role="reviewer")
        task = client.get("/review/next", headers=_h(client, name)).json()
        client.post(f"/review/tasks/{task['task_id']}/answer", json={"answer": ">50K"}, headers=_h(client, name)).raise_for_status()
    status = client.get("/models/adult/1/status", headers=_h(client, "auditor")).json()
    hand, from_review = _hand_quality(client)
    assert status["with_ground_truth"] == hand["all"][0] and status["ground_truth_from_review"] == from_review == 1
    assert status["quality"]["accuracy"] == hand["all"][1]  # the same cells: the same value and the same bootstrap interval
    for g in ("Female", "Male"):
        assert (status["by_facet"]["sex"][g]["n"], status["by_facet"]["sex"][g]["accuracy"]) == hand[g]
    from assay.service._db import predictions

    with client.app.state.engine.begin() as conn:  # the counts alone are read: rows changed behind the service's back do not show
        conn.execute(predictions.update().values(ground_truth=None))
    assert client.get("/models/adult/1/status", headers=_h(client, "auditor")).json()["with_ground_truth"] == hand["all"][0]


def test_an_older_database_has_its_ground_truth_counted_when_upgraded(tmp_path):
    import assay.service._db as d
    from assay.service._dashboard import model_status
    from tests.test_service_monitoring import database_at

    rows = [("y", "y", "F", "api"), ("y", "n", "F", "review"), ("n", "n", "M", "api"), ("n", None, "M", None), (None, "y", "M", "api")]
    engine = database_at(tmp_path / "old.db", "0006",
        """INSERT INTO models (name, version, owner, spec, created_at) VALUES ('m', '1', 'o', '{"facets": ["sex"], "label_values": ["y"]}', '2026-01-01')""",
        *[("INSERT INTO predictions (model_id, prediction_id, inputs, label, facets, captured_at, ground_truth, ground_truth_source) "
           f"VALUES (1, 'p{i}', '{{}}', ?, ?, '2026-01-01', ?, ?)", (label, json.dumps({"sex": sex}), truth, source))
          for i, (label, truth, sex, source) in enumerate(rows)])  # fmt: skip
    d.migrate(engine)
    with engine.connect() as conn:
        m = d.find_model(conn, "m", "1")
    s = model_status(engine, m)
    assert (s["with_ground_truth"], s["ground_truth_from_review"]) == (3, 1)  # labelled by the model and by the truth
    assert s["quality"]["accuracy"]["value"] == pytest.approx(2 / 3) and s["by_facet"]["sex"]["F"]["n"] == 2 and s["by_facet"]["sex"]["M"]["n"] == 1
    engine.dispose()


def test_an_approver_signs_offline_through_the_page_without_giving_the_service_a_key(people, analysed, tmp_path):
    import html

    from assay.cards import generate_key, load_private_key, sign_approval

    client = people
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"]}, headers=_h(client, "owner")).raise_for_status()
    client.put("/models/adult/1/audit", json={"analysis": json.loads((analysed / "analysis.json").read_text())}, headers=_h(client, "owner")).raise_for_status()
    client.put("/models/adult/1/card", json={"info": {"name": "income-classifier"}}, headers=_h(client, "owner")).raise_for_status()
    client.post("/models/adult/1/card/submit", json={"reason": "ready"}, headers=_h(client, "owner")).raise_for_status()
    board, csrf = _session(client, client.tokens["approver"])
    page = board.get("/ui/models/adult/1").text
    request = json.loads(html.unescape(re.search(r'<pre id="approval-request">(.*?)</pre>', page, re.S).group(1)))
    private, _ = generate_key(tmp_path / "bea", passphrase=PASS.encode())
    signed = sign_approval(request, load_private_key(private, passphrase=PASS.encode()), "checked on my own machine")
    r = board.post("/ui/models/adult/1/card/approve-signed", data={"csrf": csrf, "signed": "not json"})
    assert r.status_code == 422 and "paste the JSON that assay card sign printed" in r.text
    r = board.post("/ui/models/adult/1/card/approve-signed", data={"csrf": csrf, "signed": json.dumps(signed)})
    assert r.status_code == 200 and 'id="card-status">Approved' in r.text and signed["key_id"] in r.text
