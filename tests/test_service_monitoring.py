"""The service's monitoring (windows of captured predictions against a baseline, on demand and on schedule, webhooks, the
dashboard), contests, weighted consolidation, routing on a baseline's constraints, configuration changes and card approvals.
SQLite and PostgreSQL where the store matters."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
import sqlalchemy as sa


def _h(client, role):
    return {"Authorization": f"Bearer {client.tokens[role]}"}


def _baseline_doc(feats, base):
    from assay.monitor._baseline import statistics, suggest_constraints
    from assay.monitor._model import MonitorSpec, model_figures
    from assay.monitor._profile import profile
    from assay.service._monitoring import captured_importance, jsonable

    p = profile(base[feats + ["score", "predicted_label"]])
    mf = model_figures(base, MonitorSpec(label="income", label_values=">50K", predicted_label="predicted_label", facets=["sex"], replicates=300))
    mf["attribution"] = captured_importance(list(base["__expl"]), 0.95)
    return jsonable({"statistics": statistics(p), "constraints": suggest_constraints(p), "model": mf})


def _records(feats, frame, tag):
    return [{"id": f"{tag}{i}", "inputs": {k: (v.item() if hasattr(v, "item") else v) for k, v in row[feats].items()}, "score": float(row["score"]),
             "label": row["predicted_label"], "facets": {"sex": row["sex"]}, "explanation": row["__expl"]} for i, (_, row) in enumerate(frame.iterrows())]  # fmt: skip


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        _Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_monitoring_windows_on_demand_and_on_schedule_with_alerts_and_dashboard(client, scored):
    from assay.service._monitoring import Scheduler

    feats, base, cur = scored
    owner, auditor = _h(client, "owner"), _h(client, "auditor")
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"]}, headers=owner).raise_for_status()
        r = client.post("/models/adult/1/monitoring/runs", json={}, headers=owner)
        assert r.status_code == 409 and "PUT /models/adult/1/monitoring" in r.json()["detail"]
        r = client.put("/models/adult/1/monitoring", json={"every": "soon"}, headers=owner)
        assert r.status_code == 422 and "soon" in json.dumps(r.json())
        settings = {"every": "1h", "columns": {"ground_truth": "income"}, "bootstrap_replicates": 300,
                    "alerts": [{"webhook": f"http://127.0.0.1:{hook.server_port}/alert"}]}  # fmt: skip
        assert client.put("/models/adult/1/monitoring", json=settings, headers=owner).status_code == 200
        r = client.post("/models/adult/1/monitoring/runs", json={}, headers=owner)
        assert r.status_code == 409 and "no baseline" in r.json()["detail"]
        r = client.put("/models/adult/1/baseline", json={"statistics": {"dataset": {}}}, headers=owner)
        assert r.status_code == 422 and "statistics.json" in r.json()["detail"][0]["msg"]  # nothing stored
        doc = _baseline_doc(feats, base)
        r = client.put("/models/adult/1/baseline", json=doc, headers=owner)
        assert r.status_code == 200 and r.json()["rows"] == 6000 and "age" in r.json()["columns"]

        # a healthy hour, a shifted one (age + 10, predictions flipped for women, hours-per-week attributions x 5), an empty one
        shifted = cur.copy()
        shifted["age"] = shifted["age"] + 10
        women = shifted["sex"] == "Female"
        shifted.loc[women, "predicted_label"] = np.where(shifted.loc[women, "predicted_label"] == ">50K", "<=50K", ">50K")
        shifted["__expl"] = [dict(e, **{"hours-per-week": e["hours-per-week"] * 5}) for e in shifted["__expl"]]
        for frame, tag in ((cur, "a"), (shifted, "b")):
            client.post("/models/adult/1/predictions", json={"records": _records(feats, frame, tag)}, headers=owner).raise_for_status()
            client.post("/models/adult/1/ground-truth", json={"records": [{"id": f"{tag}{i}", "label": v} for i, v in enumerate(frame["income"])]},
                        headers=owner).raise_for_status()  # fmt: skip
        hour = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
        with client.app.state.engine.begin() as conn:  # captured in the next two hours
            from assay.service._db import predictions

            for tag, offset in (("a", 0), ("b", 1)):
                conn.execute(
                    predictions.update().where(predictions.c.prediction_id.like(f"{tag}%")).values(captured_at=hour + dt.timedelta(hours=offset, minutes=5))
                )
        scheduler = Scheduler(client.app.state.engine)
        runs = scheduler.run_due(now=hour + dt.timedelta(hours=3, minutes=1))
        # due: every hour that closed after the settings were made (the one they were made in included), each once
        assert [r["window_start"] for r in runs] == [(hour + dt.timedelta(hours=k)).isoformat() for k in range(-1, 3)]
        assert [r["rows"] for r in runs] == [0, 3000, 3000, 0] and runs[3]["note"].startswith("no predictions")
        runs = runs[1:]
        assert runs[0]["violations"] == []  # the healthy hour: nothing
        kinds = {(v["constraint_check_type"], v["feature_name"]) for v in runs[1]["violations"]}
        assert {("baseline_drift_check", "age"), ("baseline_drift_check", "predicted_label"), ("model_quality_check", "accuracy"),
                ("feature_attribution_drift_check", "global_importance")} <= kinds  # fmt: skip
        assert ("bias_drift_check", "sex=Female") in kinds and not any(k[1] in ("education", "race", "workclass") for k in kinds)
        changed = {c["feature"] for c in runs[1]["result"]["attribution_drift"]["feature_changes"] if c["changed"]}
        assert changed == {"hours-per-week"}
        assert scheduler.run_due(now=hour + dt.timedelta(hours=3, minutes=2)) == []  # each scheduled window once
        assert len(_Hook.received) == 1 and _Hook.received[0]["run"] == runs[1]["id"]  # one alert: the window with violations
        assert runs[1]["alerts"] == [{"webhook": settings["alerts"][0]["webhook"], "status": 204}]

        r = client.post("/models/adult/1/monitoring/runs", json={"start": hour.isoformat(), "end": (hour + dt.timedelta(hours=1)).isoformat()}, headers=owner)
        assert r.status_code == 201 and r.json()["trigger"] == "owner-user" and r.json()["rows"] == 3000 and r.json()["violations"] == []
        r = client.post("/models/adult/1/monitoring/runs", json={"start": hour.isoformat(), "end": hour.isoformat()}, headers=owner)
        assert r.status_code == 422 and "before end" in r.json()["detail"][0]["msg"]
        listed = client.get("/models/adult/1/monitoring/runs", headers=auditor).json()
        assert [x["violation_count"] for x in listed["runs"]] == [0, len(runs[1]["violations"]), 0, 0, 0]  # newest window first
        acc = listed["series"]["quality"]["accuracy"]  # oldest first: empty, healthy (scheduled, then on demand), shifted, empty
        assert acc[0] is None and acc[4] is None and acc[1] == acc[2] and acc[1]["ci"][0] <= acc[1]["value"] <= acc[1]["ci"][1]
        assert acc[3]["value"] < acc[1]["ci"][0]
        full = client.get(f"/models/adult/1/monitoring/runs/{runs[1]['id']}", headers=auditor).json()
        assert full["result"]["features"]["age"]["drift"]["drifted"] and not full["result"]["features"]["education"]["drift"]["drifted"]
        assert client.get("/models/adult/1/monitoring/runs/999", headers=auditor).status_code == 404

        ledger = client.get("/ledger", headers=_h(client, "admin")).json()["entries"]
        actions = [e["action"] for e in ledger]
        assert actions.count("monitoring.run") == 5 and actions.count("monitoring.alert") == 1 and actions.count("model.baseline") == 1
        configured = [json.loads(e["payload"]) for e in ledger if e["action"] == "model.configure"]
        assert len(configured) == 1 and configured[0]["setting"] == "monitoring" and configured[0]["previous"] is None
        assert client.get("/ledger/verify", headers=auditor).json()["ok"]

        page = client.__class__(client.app)
        page.post("/ui/login", data={"token": client.tokens["auditor"]})
        html = page.get("/ui/dashboard").text
        assert html.count('class="run"') == 5 and "<svg" in html and "feature attribution drift check" in html and "Checked every 1h" in html
    finally:
        hook.shutdown()
        hook.server_close()


def test_explanations_and_contests(client):
    owner, auditor = _h(client, "owner"), _h(client, "auditor")
    policy = {"reviewers_per_item": 1, "question": "Does this person earn more than 50K?", "answers": [">50K", "<=50K"],
              "conditions": [{"type": "score_between", "low": 0.45, "high": 0.55}]}  # fmt: skip
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"], "policy": policy},
                headers=owner).raise_for_status()  # fmt: skip
    client.post("/models", json={"name": "plain", "version": "1"}, headers=owner).raise_for_status()
    client.post("/models/plain/1/predictions", json={"records": [{"id": "z", "score": 0.9}]}, headers=owner).raise_for_status()
    recs = [{"id": f"p{i}", "inputs": {"age": 30 + i, "hours-per-week": 60, "education": "Masters"}, "score": s, "label": ">50K" if s > 0.5 else "<=50K",
             "facets": {"sex": "Female"}, "explanation": {"age": 0.02 * i, "hours-per-week": 0.21, "education": -0.3}}
            for i, s in enumerate([0.5, 0.52, 0.9, 0.91])]  # fmt: skip
    assert client.post("/models/adult/1/predictions", json={"records": recs}, headers=owner).json()["routed_to_review"] == ["p0", "p1"]
    e = client.get("/models/adult/1/predictions/p2/explanation", headers=auditor).json()
    assert e["decision"] == {"label": ">50K", "score": 0.9, "threshold": 0.5}
    assert [a["feature"] for a in e["explanation"]["attributions"]] == ["education", "hours-per-week", "age"]  # largest |attribution| first
    assert e["explanation"]["attributions"][0] == {"feature": "education", "attribution": -0.3, "input": "Masters", "direction": "against"}
    assert e["why_reviewed"] == [] and e["contests"] == []
    assert client.get("/models/adult/1/predictions/nope/explanation", headers=auditor).status_code == 404

    r = client.post("/models/adult/1/predictions/p2/contests", json={"reason": "My hours are wrong: I work 20 hours.", "on_behalf_of": "applicant-17"},
                    headers=owner)  # fmt: skip
    assert r.status_code == 201 and r.json()["status"] == "open" and r.json()["review"]["status"] == "open"
    cid = r.json()["id"]
    assert client.post("/models/adult/1/predictions/p2/contests", json={"reason": "again"}, headers=owner).status_code == 409  # one open contest
    assert client.post("/models/plain/1/predictions/z/contests", json={"reason": "x"}, headers=owner).status_code == 409  # no reviewers to ask
    assert client.post("/models/adult/1/predictions/ghost/contests", json={"reason": "x"}, headers=owner).status_code == 404
    assert client.post(f"/contests/{cid}/response", json={"message": "too early"}, headers=owner).status_code == 409

    rev = _h(client, "reviewer")
    task = client.get("/review/next", headers=rev).json()  # the contest goes before the two older routed tasks
    assert task["prediction_id"] == "p2" and task["contest_id"] == cid and task["priority"] == 100
    assert task["reasons"][0]["reason"].startswith("My hours") and task["explanation"][0]["feature"] == "education"
    done = client.post(f"/review/tasks/{task['task_id']}/answer", json={"answer": "<=50K"}, headers=rev).json()
    assert done["status"] == "complete" and done["answer"] == "<=50K"
    c = client.get(f"/contests/{cid}", headers=auditor).json()
    assert c["status"] == "overturned" and c["outcome"] == "<=50K" and c["on_behalf_of"] == "applicant-17"
    r = client.post(f"/contests/{cid}/response", json={"message": "We reviewed your case and changed the decision."}, headers=owner)
    assert r.status_code == 200 and r.json()["responded_by"] == "owner-user"
    assert client.post(f"/contests/{cid}/response", json={"message": "edit"}, headers=owner).status_code == 409  # the record is not rewritten
    e = client.get("/models/adult/1/predictions/p2/explanation", headers=auditor).json()
    assert e["ground_truth"] == "<=50K" and e["ground_truth_source"] == "review" and e["contests"][0]["response"].startswith("We reviewed")
    assert [x["id"] for x in client.get("/contests?status=overturned", headers=auditor).json()] == [cid]

    # a contest the reviewers uphold, seen on the reviewer's page
    cid2 = client.post("/models/adult/1/predictions/p3/contests", json={"reason": "I disagree."}, headers=owner).json()["id"]
    page = client.__class__(client.app)
    page.post("/ui/login", data={"token": client.tokens["reviewer"]})
    html = page.get("/ui/review").text
    assert "Contested decision" in html and "I disagree." in html and "Why the model said so" in html and "lowered the score by 0.300" in html
    tid = int(html.split('data-task-id="')[1].split('"')[0])
    assert client.post(f"/review/tasks/{tid}/answer", json={"answer": ">50K"}, headers=rev).json()["answer"] == ">50K"
    assert client.get(f"/contests/{cid2}", headers=auditor).json()["status"] == "upheld"
    # the person themselves, with the receipt handed over with the decision (no API token)
    r = client.post("/models/adult/1/predictions?receipts=true", json={"records": [dict(recs[3], id="p4")]}, headers=owner).json()
    me = {"model": "adult", "version": "1", "id": "p4", "receipt": r["receipts"]["p4"]}
    assert r["receipts"]["p4"] == client.post("/models/adult/1/predictions?receipts=true", json={"records": [dict(recs[3], id="p4")]},
                                              headers=owner).json()["receipts"]["p4"]  # the same decision, the same receipt  # fmt: skip
    mine = client.post("/decisions/explanation", json=me).json()
    assert mine["decision"]["label"] == ">50K" and mine["explanation"]["attributions"][0]["feature"] == "education" and mine["contests"] == []
    assert "facets" not in mine and "why_reviewed" not in mine
    for wrong in (dict(me, receipt="0" * 32), dict(me, id="p3"), dict(me, model="other")):  # another decision's id needs its own receipt
        assert client.post("/decisions/explanation", json=wrong).status_code == 401
    r = client.post("/decisions/contest", json=dict(me, reason="I was never asked about my hours."))
    assert (
        r.status_code == 201
        and r.json()["status"] == "open"
        and set(r.json()) == {"id", "opened_at", "reason", "status", "outcome", "response", "responded_at"}
    )
    assert client.get(f"/contests/{r.json()['id']}", headers=auditor).json()["opened_by"] == "subject"
    assert client.post("/decisions/contest", json=dict(me, reason="again")).status_code == 409

    actions = [x["action"] for x in client.get("/ledger", headers=auditor).json()["entries"]]
    assert actions.count("contest.open") == 3 and actions.count("contest.decide") == 2 and actions.count("contest.respond") == 1
    assert client.get("/ledger/verify", headers=auditor).json()["ok"]


def test_weighted_consolidation_by_hand(client):
    from assay.service import create_token
    from assay.service._review import consolidate

    assert consolidate([("a", "X"), ("b", "Y"), ("c", "Y")], {"a": 3.0, "b": 1.0, "c": 1.0}) == ("complete", "X", 0.6, {"X": 3.0, "Y": 2.0})
    assert consolidate([("a", "X"), ("b", "Y")], {"a": 0.0, "b": 0.0})[0] == "no_consensus"  # no weight anywhere: votes count equally

    owner = _h(client, "owner")
    engine = client.app.state.engine
    hs = {n: {"Authorization": f"Bearer {create_token(engine, name=n, role='reviewer')}"} for n in ("ann", "bob", "cyd")}
    policy = {"reviewers_per_item": 3, "answers": ["X", "Y"], "consolidation": "weighted", "conditions": [{"type": "score_between", "low": 0, "high": 1}]}
    client.post("/models", json={"name": "w", "version": "1", "policy": policy}, headers=owner).raise_for_status()
    client.post("/models/w/1/predictions", json={"records": [{"id": f"t{i}", "score": 0.5} for i in range(5)]}, headers=owner).raise_for_status()
    plan = [{"ann": "X", "bob": "X", "cyd": "Y"}] * 4 + [{"ann": "X", "bob": "Y", "cyd": "Y"}]  # cyd is always outvoted, then sides with bob
    results = []
    for answers in plan:
        got = {}
        for name in ("ann", "bob", "cyd"):
            t = client.get("/review/next", headers=hs[name]).json()
            got[name] = client.post(f"/review/tasks/{t['task_id']}/answer", json={"answer": answers[name]}, headers=hs[name]).json()
        results.append(got["cyd"])
    assert [r["answer"] for r in results[:4]] == ["X"] * 4
    last = [json.loads(e["payload"]) for e in client.get("/ledger", headers=_h(client, "admin")).json()["entries"] if e["action"] == "review.consolidate"][-1]
    # after four tasks: ann and bob agreed 4 of 4, p = 5/6, weight log(5); cyd 0 of 4, p = 1/6, weight max(0, log(1/5)) = 0
    assert last["weights"] == pytest.approx({"ann": math.log(5), "bob": math.log(5), "cyd": 0.0})
    assert last["tally"] == pytest.approx({"X": math.log(5), "Y": math.log(5)}) and last["status"] == "no_consensus"  # a majority would say Y
    # the policy's own weights win over the record
    client.put("/models/w/1/policy", json=dict(policy, weights={"cyd": 10.0}), headers=owner).raise_for_status()
    client.post("/models/w/1/predictions", json={"records": [{"id": "t9", "score": 0.5}]}, headers=owner).raise_for_status()
    for name, ans in (("ann", "X"), ("bob", "X"), ("cyd", "Y")):
        t = client.get("/review/next", headers=hs[name]).json()
        out = client.post(f"/review/tasks/{t['task_id']}/answer", json={"answer": ans}, headers=hs[name]).json()
    assert out["answer"] == "Y" and out["agreement"] == pytest.approx(10 / (10 + 2 * math.log(5)))
    agree = client.get("/models/w/1/review/agreement", headers=_h(client, "auditor")).json()
    assert agree["reviewers"]["cyd"] == {"answers_on_consolidated_tasks": 5, "agreed_with_consolidated": 1, "agreement_rate": 0.2, "weight": 10.0}
    assert agree["reviewers"]["ann"]["agreement_rate"] == 0.8 and agree["reviewers"]["ann"]["weight"] == pytest.approx(math.log(5 / 2))  # p = 5/7
    assert agree["consolidation"] == "weighted" and agree["krippendorff_alpha"] is not None
    changes = [json.loads(e["payload"]) for e in client.get("/ledger", headers=_h(client, "admin")).json()["entries"] if e["action"] == "model.configure"]
    assert changes[-1]["setting"] == "policy" and changes[-1]["value"]["weights"] == {"cyd": 10.0} and changes[-1]["previous"]["weights"] == {}


def test_routing_on_the_baselines_constraints(client, scored):
    feats, base, _ = scored
    owner = _h(client, "owner")
    policy = {"answers": [">50K", "<=50K"], "conditions": [{"type": "baseline_constraints"}]}
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "policy": policy}, headers=owner).raise_for_status()
    row = _records(feats, base.iloc[:1], "x")[0]
    assert client.post("/models/adult/1/predictions", json={"records": [row]}, headers=owner).json()["routed_to_review"] == []  # no baseline yet
    client.put("/models/adult/1/baseline", json=_baseline_doc(feats, base), headers=owner).raise_for_status()
    lo, hi = float(base["age"].min()), float(base["age"].max())
    ok = dict(row, id="ok")
    old = dict(row, id="old", inputs=dict(row["inputs"], age=hi + 40))
    alien = dict(row, id="alien", inputs=dict(row["inputs"], workclass="Starship"))
    neg = dict(row, id="neg", inputs=dict(row["inputs"], **{"capital-gain": -5}))
    gone = dict(row, id="gone", inputs={k: v for k, v in row["inputs"].items() if k != "age"})
    r = client.post("/models/adult/1/predictions", json={"records": [ok, old, alien, neg, gone]}, headers=owner).json()
    assert r["routed_to_review"] == ["old", "alien", "neg", "gone"]
    why = {t["prediction_id"]: t["reasons"][0] for t in _tasks(client)}
    assert why["old"]["feature"] == "age" and f"[{lo:g}, {hi:g}]" in why["old"]["why"]
    assert why["alien"]["feature"] == "workclass" and "values" in why["alien"]["why"]
    assert why["neg"]["why"].startswith("negative") and why["gone"]["why"].startswith("missing")


def _tasks(client):
    with client.app.state.engine.connect() as conn:
        from assay.service._db import review_tasks

        return [dict(r) for r in conn.execute(sa.select(review_tasks)).mappings()]


def test_signed_card_approvals_enter_the_ledger(client, tmp_path):
    from assay.cards import CardStore, generate_key, load_private_key

    owner = _h(client, "owner")
    client.post("/models", json={"name": "adult", "version": "1"}, headers=owner).raise_for_status()
    store = CardStore(tmp_path / "card")
    store.add_version({"model_overview": {"model_name": "adult-income"}, "notes": "v1"}, by="Ana")
    store.act("submit", by="Ana", reason="ready for review")
    priv, _pub = generate_key(tmp_path / "rui")
    approval = store.act("approve", by="Rui", reason="metrics within policy", key=load_private_key(priv))
    r = client.post("/models/adult/1/card-approvals", json={"card": "adult-income", "entry": approval}, headers=owner)
    assert r.status_code == 201 and r.json()["content_hash"] == approval["content_hash"] and r.json()["by"] == "Rui"
    forged = dict(approval, content_hash="sha256:" + "0" * 64)  # the signature does not cover this content
    r = client.post("/models/adult/1/card-approvals", json={"card": "adult-income", "entry": forged}, headers=owner)
    assert r.status_code == 422 and "signature does not verify" in r.json()["detail"][0]["msg"]
    assert client.post("/models/adult/1/card-approvals", json={"card": "another-card", "entry": approval}, headers=owner).status_code == 422
    entries = client.get("/ledger", headers=_h(client, "auditor")).json()["entries"]
    recorded = [json.loads(e["payload"]) for e in entries if e["action"] == "card.approval"]
    assert len(recorded) == 1 and recorded[0]["signature"] == approval["signature"] and recorded[0]["card"] == "adult-income"


def database_at(path, revision, *statements):
    """A SQLite database made by an older version: the schema of ``revision``, with ``statements`` (SQL, or (SQL, parameters)) run."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    import assay.service._db as d

    engine = d.connect(path)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(d.__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        for st in statements:
            conn.exec_driver_sql(*(st if isinstance(st, tuple) else (st,)))
    return engine


def test_a_database_of_the_previous_schema_is_upgraded_in_place(tmp_path):
    import assay.service._db as d

    engine = database_at(tmp_path / "old.db", "0003",
        "INSERT INTO models (name, version, owner, spec, created_at) VALUES ('m', '1', 'o', '{}', '2026-01-01')",
        "INSERT INTO review_tasks (model_id, prediction_id, reasons, priority, required, status, created_at) VALUES (1, 'p', '[]', 0, 1, 'open', '2026-01-01')",
        "INSERT INTO review_assignments (task_id, reviewer, assigned_at, due_at) VALUES (1, 'r', '2026-01-01', '2026-01-02')")  # fmt: skip
    d.migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT prediction_id, contest_id FROM review_tasks").all() == [("p", None)]
        assert conn.exec_driver_sql("SELECT task_id, reviewer FROM review_assignments").all() == [(1, "r")]
        assert conn.exec_driver_sql("SELECT count(*) FROM bounties").scalar() == 0  # revision 0006 added the bounties
        assert conn.exec_driver_sql("SELECT count(*) FROM card_log").scalar() == 0  # 0007 the cards, their audits and signing keys
        indexes = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list(ledger)")}
        assert {"ix_ledger_action", "ix_ledger_actor", "ix_ledger_subject", "ix_ledger_at"} <= indexes
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1 and conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0008"
    engine.dispose()


def test_dashboard_charts_in_headless_chromium(tmp_path, scored):
    import httpx
    from playwright.sync_api import sync_playwright
    from test_service import _free_port, _start

    from assay.report._report import chromium
    from assay.service import connect, create_token, migrate

    feats, base, cur = scored
    db = str(tmp_path / "assay.db")
    engine = connect(db)
    migrate(engine)
    owner, auditor = create_token(engine, name="olga", role="owner"), create_token(engine, name="audrey", role="auditor")
    engine.dispose()
    port = _free_port()
    proc = _start(db, port, tmp_path / "server.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=None, headers={"Authorization": f"Bearer {owner}"}) as http:
            http.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"]}).raise_for_status()
            http.put("/models/adult/1/baseline", json=_baseline_doc(feats, base)).raise_for_status()
            http.put("/models/adult/1/monitoring", json={"every": None, "window": "1h", "columns": {"ground_truth": "income"},
                                                        "bootstrap_replicates": 200}).raise_for_status()  # fmt: skip
            for k in range(6):  # six windows of 500 predictions; from the fourth on, ages shift and women's predictions flip
                part = cur.iloc[k * 500 : (k + 1) * 500].copy()
                if k >= 3:
                    part["age"] = part["age"] + 8
                    women = part["sex"] == "Female"
                    part.loc[women, "predicted_label"] = np.where(part.loc[women, "predicted_label"] == ">50K", "<=50K", ">50K")
                http.post("/models/adult/1/predictions", json={"records": _records(feats, part, f"w{k}-")}).raise_for_status()
                http.post(
                    "/models/adult/1/ground-truth", json={"records": [{"id": f"w{k}-{i}", "label": v} for i, v in enumerate(part["income"])]}
                ).raise_for_status()
                since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat()
                r = http.post("/models/adult/1/monitoring/runs", json={"start": since}).json()  # everything captured so far
                assert r["rows"] == 500 * (k + 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text))
            page.goto(f"{base_url}/ui/login")
            page.fill("#token", auditor)
            page.click("button[type=submit]")
            page.wait_for_selector("#todo")  # the home page
            page.goto(f"{base_url}/ui/dashboard")
            page.wait_for_selector("section.monitoring")
            bars = page.query_selector_all("section.monitoring svg[aria-label='violations per window'] rect")
            assert len(bars) == 6 and page.query_selector("svg[aria-label='Model quality: accuracy'] polygon") is not None
            counts = [int(r.get_attribute("data-violations")) for r in page.query_selector_all("tr.run")]
            assert counts[-3:] == [0, 0, 0] and counts[0] > 0  # newest first: the shifted windows have violations
            page.screenshot(path=str(tmp_path / "dashboard-monitoring.png"), full_page=True)
            browser.close()
        assert console == []
    finally:
        proc.terminate()
        proc.wait()


def test_agreement_statistics_against_published_examples_and_a_reference():
    import krippendorff

    from assay.review import fleiss_kappa, krippendorff_alpha

    # Fleiss (1971), the worked example Wikipedia reproduces: 10 subjects, 14 raters, 5 categories, kappa 0.210
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
             [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]  # fmt: skip
    cats = list("abcde")
    assert fleiss_kappa([dict(zip(cats, row)) for row in table], cats) == pytest.approx(0.20993, abs=5e-5)
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the nominal example with missing answers: alpha 0.743
    coders = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3], [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
              [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]  # fmt: skip
    units = [[str(c[u]) for c in coders if c[u] is not None] for u in range(12)]
    assert krippendorff_alpha(units) == pytest.approx(0.743421, abs=1e-6)
    rng = np.random.default_rng(3)  # and the krippendorff package on random tasks of 2 to 5 answers from 6 reviewers
    for _ in range(20):
        data = np.full((6, 40), np.nan)
        for u in range(40):
            who = rng.choice(6, size=rng.integers(2, 6), replace=False)
            truth = rng.integers(0, 3)
            data[who, u] = np.where(rng.random(len(who)) < 0.7, truth, rng.integers(0, 3, len(who)))
        ours = krippendorff_alpha([[str(int(x)) for x in data[:, u] if not np.isnan(x)] for u in range(40)])
        assert ours == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-12)
    assert krippendorff_alpha([["a", "a"], ["a", "a"]]) is None and krippendorff_alpha([["a"]]) is None  # undefined, not 1 or 0


def _mm_line(pid, values, out, *, enc="CSV", event=None):
    """A record as SageMaker Model Monitor's data capture writes it."""
    import base64

    data = ",".join(map(str, values)) if enc in ("CSV", "BASE64") else json.dumps(values)
    if enc == "BASE64":
        data = base64.b64encode(data.encode()).decode()
    return {"captureData": {"endpointInput": {"observedContentType": "text/csv" if enc != "JSON" else "application/json", "mode": "INPUT",
                                              "data": data, "encoding": enc},
                            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": str(out), "encoding": "CSV"}},
            "eventMetadata": {"eventId": event or f"evt-{pid}", "inferenceId": pid, "inferenceTime": "2026-11-01T10:00:00Z"}, "eventVersion": "0"}  # fmt: skip


def test_model_monitor_data_capture_in_and_out(client, db, tmp_path):
    from typer.testing import CliRunner

    from assay.cli._main import app as cli

    owner, auditor = _h(client, "owner"), _h(client, "auditor")
    spec = {"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"], "features": ["age", "workclass", "sex"],
            "policy": {"answers": [">50K", "<=50K"], "conditions": [{"type": "score_between", "low": 0.4, "high": 0.6}]}}  # fmt: skip
    client.post("/models", json=spec, headers=owner).raise_for_status()
    lines = [_mm_line("a", [39, "State-gov", "Male"], 0.12), _mm_line("b", [50, "Private", "Female"], 0.55, enc="BASE64"),
             _mm_line("c", {"age": 28, "workclass": "Private", "sex": "Female"}, 0.81, enc="JSON")]  # fmt: skip
    r = client.post("/models/adult/1/data-capture", json={"records": lines}, headers=owner)
    assert r.status_code == 201 and r.json() == {"stored": 3, "already_stored": 0, "routed_to_review": ["b"]}
    got = {x["id"]: x for x in client.get("/models/adult/1/predictions", headers=auditor).json()["records"]}
    assert got["a"]["inputs"] == {"age": 39, "workclass": "State-gov", "sex": "Male"} and got["a"]["label"] == "<=50K" and got["a"]["score"] == 0.12
    assert got["b"]["facets"] == {"sex": "Female"} and got["c"]["label"] == ">50K"  # the label from the score and the threshold
    r = client.post("/models/adult/1/predictions", json={"records": [{"id": "z", "score": 0.1, "facets": {"sex": "Male"}, "inference_time": "2099-01-01T00:00:00Z"}]},
                    headers=owner)  # fmt: skip
    assert r.status_code == 422 and "in the future" in json.dumps(r.json())
    bad = _mm_line("d", [39, "State-gov"], 0.1)
    r = client.post("/models/adult/1/data-capture", json={"records": [lines[0], bad]}, headers=owner)
    assert r.status_code == 422 and r.json()["detail"] == [
        {"loc": ["body"], "msg": "records[1]: 2 input values but the model has 3 features", "type": "value_error"}
    ]
    r = client.post("/models/adult/1/data-capture", json={"records": [_mm_line("e", [39, "X", "Male"], 1.7)]}, headers=owner)
    assert r.status_code == 422 and "score must be a number from 0 to 1" in r.json()["detail"][0]["msg"]

    assert got["a"]["inference_time"] == "2026-11-01T10:00:00+00:00" and got["a"]["captured_at"] != got["a"]["inference_time"]
    with client.app.state.engine.connect() as conn:  # monitoring windows go by the inference time
        from assay.service._capture import find_model
        from assay.service._monitoring import ColumnsIn, window_frame

        m = find_model(conn, "adult", "1")
        at = dt.datetime(2026, 11, 1, 10, tzinfo=dt.timezone.utc)
        assert len(window_frame(conn, m, at, at + dt.timedelta(hours=1), ColumnsIn())[0]) == 3
        assert len(window_frame(conn, m, at + dt.timedelta(hours=1), at + dt.timedelta(hours=2), ColumnsIn())[0]) == 0
    truth = [{"groundTruthData": {"data": d, "encoding": "CSV"}, "eventMetadata": {"eventId": e}, "eventVersion": "0"} for e, d in (("a", "1"), ("b", "<=50K"))]
    assert client.post("/models/adult/1/data-capture/ground-truth", json={"records": truth}, headers=owner).json() == {"stored": 2}
    got = {x["id"]: x for x in client.get("/models/adult/1/predictions", headers=auditor).json()["records"]}
    assert (got["a"]["ground_truth"], got["b"]["ground_truth"], got["c"]["ground_truth"]) == (">50K", "<=50K", None)  # 1 is the first label value
    bad_truth = [dict(truth[0], groundTruthData={"data": "maybe", "encoding": "CSV"})]
    r = client.post("/models/adult/1/data-capture/ground-truth", json={"records": bad_truth}, headers=owner)
    assert r.status_code == 422 and "'maybe' is not one of the model's label values" in r.json()["detail"][0]["msg"]

    exported = client.get("/models/adult/1/data-capture", headers=auditor)
    assert exported.headers["content-type"].startswith("application/x-ndjson") and exported.headers["x-next-after"] == "3"
    out = [json.loads(x) for x in exported.text.splitlines()]
    assert [o["eventMetadata"]["inferenceId"] for o in out] == ["a", "b", "c"] and out[0]["eventVersion"] == "0"
    assert out[0]["eventMetadata"]["inferenceTime"] == "2026-11-01T10:00:00+00:00"
    client.post("/models", json=dict(spec, version="2"), headers=owner).raise_for_status()
    assert client.post("/models/adult/2/data-capture", json={"records": out}, headers=owner).json()["stored"] == 3  # what we write, we read
    again = {x["id"]: x for x in client.get("/models/adult/2/predictions", headers=auditor).json()["records"]}
    assert all((again[k]["inputs"], again[k]["score"], again[k]["label"], again[k]["facets"]) ==
               (got[k]["inputs"], got[k]["score"], got[k]["label"], got[k]["facets"]) for k in got)  # fmt: skip

    hour = tmp_path / "capture" / "2026" / "11" / "01" / "10"  # Model Monitor's folder layout
    hour.mkdir(parents=True)
    (hour / "part-1.jsonl").write_text("".join(json.dumps(_mm_line(f"f{i}", [30 + i, "Private", "Male"], i / 10)) + "\n" for i in range(10)))
    client.post("/models", json=dict(spec, version="3"), headers=owner).raise_for_status()
    r = CliRunner().invoke(cli, ["service", "import-capture", "--db", db, "--model", "adult/3", str(tmp_path / "capture")])
    assert r.exit_code == 0 and "10 predictions stored from 1 file(s), 0 already there, 3 routed to review" in " ".join(r.output.split()), r.output
    (hour / "part-2.jsonl").write_text(json.dumps(_mm_line("g", [1, "Private", "Male"], 0.2)) + "\n" + "{not json\n")
    r = CliRunner().invoke(cli, ["service", "import-capture", "--db", db, "--model", "adult/3", str(hour / "part-2.jsonl")])
    assert r.exit_code == 1 and "part-2.jsonl line 2: not JSON" in " ".join(r.output.split())
    (tmp_path / "truth.jsonl").write_text("".join(json.dumps({"groundTruthData": {"data": str(i % 2), "encoding": "CSV"}, "eventMetadata": {"eventId": f"f{i}"},
                                                            "eventVersion": "0"}) + "\n" for i in range(10)))  # fmt: skip
    r = CliRunner().invoke(cli, ["service", "import-capture", "--db", db, "--model", "adult/3", "--ground-truth", str(tmp_path / "truth.jsonl")])
    assert r.exit_code == 0 and "ground truth for 10 predictions stored" in " ".join(r.output.split()), r.output
    labels = {x["id"]: x["ground_truth"] for x in client.get("/models/adult/3/predictions", headers=auditor).json()["records"]}
    assert [labels[f"f{i}"] for i in range(4)] == ["<=50K", ">50K", "<=50K", ">50K"]
    r = CliRunner().invoke(cli, ["service", "import-capture", "--db", db, "--model", "adult/9", str(hour / "part-1.jsonl")])
    assert r.exit_code == 1 and "adult/9 is not registered" in " ".join(r.output.split())


def test_a_scheduled_window_is_checked_again_when_its_ground_truth_has_arrived(client, scored):
    from assay.service._db import predictions
    from assay.service._monitoring import Scheduler

    feats, base, cur = scored
    owner = _h(client, "owner")
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"]}, headers=owner).raise_for_status()
    client.put("/models/adult/1/baseline", json=_baseline_doc(feats, base), headers=owner).raise_for_status()
    r = client.put("/models/adult/1/monitoring", json={"every": "1D", "recheck_after": "soon"}, headers=owner)
    assert r.status_code == 422 and "recheck_after" in json.dumps(r.json())
    client.put("/models/adult/1/monitoring", json={"every": "1D", "recheck_after": "2D", "columns": {"ground_truth": "income"}, "bootstrap_replicates": 200},
               headers=owner).raise_for_status()  # fmt: skip
    worse = cur.iloc[:1500].copy()
    worse["predicted_label"] = np.where(worse["predicted_label"] == ">50K", "<=50K", ">50K")  # a model gone wrong: only ground truth shows it
    client.post("/models/adult/1/predictions", json={"records": _records(feats, worse, "d")}, headers=owner).raise_for_status()
    day = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    with client.app.state.engine.begin() as conn:
        conn.execute(predictions.update().values(captured_at=day + dt.timedelta(hours=9)))
    scheduler = Scheduler(client.app.state.engine)
    first = [r for r in scheduler.run_due(now=day + dt.timedelta(days=1, hours=1)) if r["rows"]]
    assert [(r["trigger"], r["rows"]) for r in first] == [("schedule", 1500)]
    assert first[0]["result"]["model"]["quality"] is None and not any(v["constraint_check_type"] == "model_quality_check" for v in first[0]["violations"])
    client.post("/models/adult/1/ground-truth", json={"records": [{"id": f"d{i}", "label": v} for i, v in enumerate(worse["income"])]},
                headers=owner).raise_for_status()  # fmt: skip
    assert [r for r in scheduler.run_due(now=day + dt.timedelta(days=2, hours=1)) if r["rows"]] == []  # not yet two days after it closed
    again = [r for r in scheduler.run_due(now=day + dt.timedelta(days=3, minutes=1)) if r["rows"]]
    assert [(r["trigger"], r["rows"], r["window_end"]) for r in again] == [("schedule-recheck", 1500, (day + dt.timedelta(days=1)).isoformat())]
    assert again[0]["result"]["model"]["labelled_rows"] == 1500 and ("model_quality_check", "accuracy") in {
        (v["constraint_check_type"], v["feature_name"]) for v in again[0]["violations"]}  # fmt: skip
    assert [r for r in scheduler.run_due(now=day + dt.timedelta(days=3, minutes=2)) if r["rows"]] == []  # once


def test_the_server_checks_due_windows_by_itself(tmp_path, scored):
    import time

    import httpx
    from test_service import _free_port, _start

    from assay.service import connect, create_token, migrate

    feats, base, cur = scored
    db = str(tmp_path / "assay.db")
    engine = connect(db)
    migrate(engine)
    owner = create_token(engine, name="olga", role="owner")
    engine.dispose()
    port = _free_port()
    proc = _start(db, port, tmp_path / "server.log", "--schedule-tick", "0.5")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=None, headers={"Authorization": f"Bearer {owner}"}) as http:
            http.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"]}).raise_for_status()
            http.put("/models/adult/1/baseline", json=_baseline_doc(feats, base)).raise_for_status()
            http.put("/models/adult/1/monitoring", json={"every": "2s", "columns": {"ground_truth": "income"}, "bootstrap_replicates": 100}).raise_for_status()
            http.post("/models/adult/1/predictions", json={"records": _records(feats, cur.iloc[:200], "s")}).raise_for_status()
            runs: list = []
            while proc.poll() is None and not any(r["rows"] for r in runs):  # no deadline: a loaded machine ticks late
                time.sleep(0.5)
                runs = http.get("/models/adult/1/monitoring/runs").json()["runs"]
        scheduled = [r for r in runs if r["rows"]]
        assert scheduled and all(r["trigger"] == "schedule" for r in runs) and sum(r["rows"] for r in scheduled) == 200
        ends = sorted(r["window_end"] for r in runs)
        assert len(ends) == len(set(ends)) and all(dt.datetime.fromisoformat(e).second % 2 == 0 for e in ends)  # each 2 s window once, on the grid
    finally:
        proc.terminate()
        proc.wait()


def test_a_window_whose_ground_truth_has_one_class_is_checked_and_a_failing_window_is_recorded(client, scored, monkeypatch):
    from assay.service import _monitoring
    from assay.service._monitoring import Scheduler

    feats, base, cur = scored
    owner = _h(client, "owner")
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K", "<=50K"]}, headers=owner).raise_for_status()
    client.put("/models/adult/1/baseline", json=_baseline_doc(feats, base), headers=owner).raise_for_status()
    client.put("/models/adult/1/monitoring", json={"every": "1h", "columns": {"ground_truth": "income"}, "bootstrap_replicates": 100},
               headers=owner).raise_for_status()  # fmt: skip
    part = cur.iloc[:300]
    client.post("/models/adult/1/predictions", json={"records": _records(feats, part, "a")}, headers=owner).raise_for_status()
    client.post("/models/adult/1/ground-truth", json={"records": [{"id": f"a{i}", "label": "<=50K"} for i in range(len(part))]},
                headers=owner).raise_for_status()  # fmt: skip
    r = client.post("/models/adult/1/monitoring/runs", json={}, headers=owner)
    assert r.status_code == 201, r.text
    res = r.json()["result"]
    assert "failed" not in res, res.get("note")
    quality = res["model"]["quality"]["metrics"]
    assert quality["accuracy"]["value"] == pytest.approx((part["predicted_label"] == "<=50K").mean())
    assert quality["recall"]["value"] is None and quality["recall"]["reason"]  # no positive in the ground truth: undefined, said so

    def broken(*_a, **_k):
        raise RuntimeError("the engine failed")

    monkeypatch.setattr(_monitoring, "check_window", broken)
    scheduler = Scheduler(client.app.state.engine)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    runs = scheduler.run_due(now=later)
    assert runs and all(run["rows"] == 0 and run["note"].startswith("the check of this window failed: RuntimeError: the engine failed") for run in runs)
    assert scheduler.run_due(now=later) == []  # recorded once, not retried forever
    stored = client.get("/models/adult/1/monitoring/runs", headers=owner).json()["runs"]
    assert any((s["note"] or "").startswith("the check of this window failed") for s in stored)
    r = client.post("/models/adult/1/monitoring/runs", json={}, headers=owner)
    assert r.status_code == 201 and r.json()["note"].startswith("the check of this window failed")
