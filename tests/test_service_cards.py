"""A model version's audit and card in the service: built, submitted, approved with a registered key (kept encrypted), and the
signed record verified by the CLI from the store it exports and from the database's ledger."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from assay.cli._main import app as cli

INFO = {"name": "income-classifier", "description": "Predicts income over $50K.", "owner": "Risk team", "risk_rating": "High",
        "intended_uses": "Research on fairness tooling.", "metrics": ["DPL", "DPPL", "DI"]}  # fmt: skip
PASS = "correct horse battery staple"


def _h(client, role):
    return {"Authorization": f"Bearer {client.tokens[role]}"}


@pytest.fixture
def board(client, tmp_path, monkeypatch):
    """An approver with a key registered: (their token's headers, the public key file)."""
    from assay.cards import generate_key
    from assay.service import create_token

    client.tokens["approver"] = create_token(client.app.state.engine, name="bea", role="approver")
    private, public = generate_key(tmp_path / "bea", passphrase=PASS.encode())
    r = client.put("/keys", json={"private_key": private.read_text(), "passphrase": PASS}, headers=_h(client, "approver"))
    assert r.status_code == 200, r.text
    return r.json(), public


def _model_with_card(client, analysed):
    owner = _h(client, "owner")
    client.post("/models", json={"name": "adult", "version": "1", "facets": ["sex"], "label_values": [">50K"]}, headers=owner).raise_for_status()
    doc = json.loads((analysed / "analysis.json").read_text())
    r = client.put("/models/adult/1/audit", json={"analysis": doc}, headers=owner)
    assert r.status_code == 200, r.text
    r = client.put("/models/adult/1/card", json={"info": INFO}, headers=owner)
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["status"] == "Draft", r.text
    return doc


def test_a_card_built_submitted_and_approved_in_the_service_verifies_from_the_cli(client, db, analysed, board, tmp_path):
    key, public = board
    doc = _model_with_card(client, analysed)
    owner, approver = _h(client, "owner"), _h(client, "approver")
    assert client.put("/models/adult/1/card", json={"info": INFO}, headers=owner).json()["created"] is False  # same content: no new version
    r = client.post("/models/adult/1/card/approve", json={"reason": "ok", "passphrase": PASS}, headers=approver)
    assert r.status_code == 409 and "it is Draft" in r.json()["detail"]  # not submitted yet
    assert client.post("/models/adult/1/card/submit", json={"reason": "ready for the board"}, headers=owner).json()["to_status"] == "PendingReview"
    r = client.post("/models/adult/1/card/approve", json={"reason": "ok", "passphrase": "wrong"}, headers=approver)
    assert r.status_code == 422 and "passphrase does not open" in r.json()["detail"][0]["msg"]
    r = client.post("/models/adult/1/card/approve", json={"reason": "figures checked", "passphrase": PASS}, headers=approver)
    assert r.status_code == 200, r.text
    entry = r.json()
    assert entry["to_status"] == "Approved" and entry["by"] == "bea" and entry["key_id"] == key["key_id"] and entry["signature"]
    card = client.get("/models/adult/1/card", headers=_h(client, "auditor")).json()
    assert card["status"] == "Approved" and [e["action"] for e in card["log"]] == ["create", "submit", "approve"]
    assert card["versions"][0]["content"]["model_overview"]["model_name"] == "income-classifier"
    assert client.get("/models/adult/1/audit", headers=_h(client, "auditor")).json() == doc
    assert "passphrase" not in json.dumps(client.get("/ledger", headers=_h(client, "auditor")).json())  # never recorded
    runner = CliRunner()
    out = tmp_path / "card"
    r = runner.invoke(cli, ["service", "card", "--db", db, "--model", "adult/1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["card", "verify", str(out), "--trusted-key", str(public)])
    assert r.exit_code == 0 and "1 version" in " ".join(r.output.split()), r.output
    r = runner.invoke(cli, ["ledger", "verify", "--db", db])
    assert r.exit_code == 0, r.output
    actions = [e["action"] for e in client.get("/ledger", headers=_h(client, "auditor")).json()["entries"]]
    assert actions[-6:] == ["key.register", "model.register", "model.audit", "card.create", "card.submit", "card.approve"]


def test_the_approver_may_not_be_the_submitter_and_roles_are_kept(client, analysed, board):
    from assay.cards import generate_key
    from assay.service import create_token

    _model_with_card(client, analysed)
    owner = _h(client, "owner")
    client.post("/models/adult/1/card/submit", json={"reason": "ready"}, headers=owner).raise_for_status()
    same = create_token(client.app.state.engine, name="owner-user", role="approver")  # the submitter, with an approver's token too
    h = {"Authorization": f"Bearer {same}"}
    assert client.post("/models/adult/1/card/approve", json={"reason": "mine", "passphrase": PASS}, headers=owner).status_code == 403
    r = client.post("/models/adult/1/card/approve", json={"reason": "mine", "passphrase": PASS}, headers=h)
    assert r.status_code == 409 and "has no signing key" in r.json()["detail"]
    import tempfile
    from pathlib import Path

    private, _ = generate_key(Path(tempfile.mkdtemp()) / "k", passphrase=PASS.encode())
    assert client.put("/keys", json={"private_key": private.read_text(), "passphrase": PASS}, headers=h).status_code == 200
    r = client.post("/models/adult/1/card/approve", json={"reason": "mine", "passphrase": PASS}, headers=h)
    assert r.status_code == 409 and "owner-user created or submitted version 1; a different person must approve it" in r.json()["detail"]
    r = client.post("/models/adult/1/card/reject", json={"reason": "numbers are from the wrong split"}, headers=_h(client, "approver"))
    assert r.status_code == 200 and r.json()["to_status"] == "Draft"


def test_keys_must_be_encrypted_ed25519_and_bad_cards_are_refused_naming_why(client, analysed, tmp_path):
    from assay.cards import generate_key
    from assay.service import create_token

    client.tokens["approver"] = create_token(client.app.state.engine, name="bea", role="approver")
    plain, _ = generate_key(tmp_path / "plain")
    r = client.put("/keys", json={"private_key": plain.read_text(), "passphrase": "x"}, headers=_h(client, "approver"))
    assert r.status_code == 422 and "must be an encrypted PEM private key" in r.json()["detail"][0]["msg"]
    owner = _h(client, "owner")
    client.post("/models", json={"name": "m", "version": "1"}, headers=owner).raise_for_status()
    r = client.put("/models/m/1/card", json={"info": INFO}, headers=owner)
    assert r.status_code == 409 and "has no audit yet" in r.json()["detail"]
    r = client.put("/models/m/1/audit", json={"analysis": {"version": "1.0"}}, headers=owner)
    assert r.status_code == 422 and "pre_training_bias_metrics" in r.json()["detail"][0]["msg"]
    doc = json.loads((analysed / "analysis.json").read_text())
    client.put("/models/m/1/audit", json={"analysis": doc}, headers=owner).raise_for_status()
    r = client.put("/models/m/1/card", json={"info": {**INFO, "risk": "High"}}, headers=owner)
    assert r.status_code == 422 and "unknown card info key 'risk'" in r.json()["detail"][0]["msg"]
    assert client.post("/models/m/1/card/submit", json={"reason": "x"}, headers=owner).status_code == 404  # no card yet
    assert client.get("/models/m/1/card", headers=owner).status_code == 404


def test_ledger_verify_finds_a_card_log_changed_in_the_database(client, db, analysed, board):
    _model_with_card(client, analysed)
    client.post("/models/adult/1/card/submit", json={"reason": "ready"}, headers=_h(client, "owner")).raise_for_status()
    client.post("/models/adult/1/card/approve", json={"reason": "fine", "passphrase": PASS}, headers=_h(client, "approver")).raise_for_status()
    runner = CliRunner()
    assert runner.invoke(cli, ["ledger", "verify", "--db", db]).exit_code == 0
    engine = client.app.state.engine
    from assay.service._db import card_log

    with engine.begin() as conn:  # the approval's reason rewritten in place
        row = conn.execute(sa.select(card_log).where(card_log.c.seq == 3)).first()
        conn.execute(card_log.update().where(card_log.c.seq == 3, card_log.c.model_id == row.model_id).values(entry={**row.entry, "reason": "rubber stamp"}))
    r = runner.invoke(cli, ["ledger", "verify", "--db", db])
    assert r.exit_code == 1 and "the card of model adult/1" in " ".join(r.output.split()), r.output
    with engine.begin() as conn:  # put back, then remove the approval at the end of the log
        conn.execute(card_log.update().where(card_log.c.seq == 3, card_log.c.model_id == row.model_id).values(entry=row.entry))
    assert runner.invoke(cli, ["ledger", "verify", "--db", db]).exit_code == 0
    with engine.begin() as conn:
        conn.execute(card_log.delete().where(card_log.c.seq == 3))
    r = runner.invoke(cli, ["ledger", "verify", "--db", db])
    assert r.exit_code == 1 and "ends at entry 2 but the ledger's last card action records entry 3" in " ".join(r.output.split()), r.output


def test_an_approver_signs_with_their_own_key_offline_and_the_service_checks_it(client, db, analysed, tmp_path):
    from assay.cards import generate_key
    from assay.service import create_token

    client.tokens["approver"] = create_token(client.app.state.engine, name="bea", role="approver")
    _model_with_card(client, analysed)
    owner, approver = _h(client, "owner"), _h(client, "approver")
    assert client.get("/models/adult/1/card/approval-request", headers=approver).status_code == 409  # a Draft: nothing to approve yet
    client.post("/models/adult/1/card/submit", json={"reason": "ready"}, headers=owner).raise_for_status()
    request = client.get("/models/adult/1/card/approval-request", headers=approver).json()
    assert (request["card"], request["seq"], request["by"], request["to_status"]) == ("income-classifier", 3, "bea", "Approved")
    private, public = generate_key(tmp_path / "bea", passphrase=PASS.encode())
    (tmp_path / "request.json").write_text(json.dumps(request))
    runner = CliRunner()
    r = runner.invoke(cli, ["card", "sign", str(tmp_path / "request.json"), "--reason", "figures checked offline", "--key", str(private),
                            "--out", str(tmp_path / "signed.json")], env={"ASSAY_KEY_PASSPHRASE": PASS})  # fmt: skip
    assert r.exit_code == 0, r.output
    signed = json.loads((tmp_path / "signed.json").read_text())
    forged = dict(signed, reason="rubber stamp")
    r = client.post("/models/adult/1/card/approve-signed", json={"signed": forged}, headers=approver)
    assert r.status_code == 422 and "signature does not verify" in r.json()["detail"][0]["msg"]
    r = client.post("/models/adult/1/card/approve-signed", json={"signed": dict(signed, by="someone-else")}, headers=approver)
    assert r.status_code == 422 and "by is 'someone-else'" in r.json()["detail"][0]["msg"]
    r = client.post("/models/adult/1/card/approve-signed", json={"signed": signed}, headers=approver)
    assert r.status_code == 200 and r.json()["to_status"] == "Approved" and r.json()["reason"] == "figures checked offline", r.text
    r = client.post("/models/adult/1/card/approve-signed", json={"signed": signed}, headers=approver)
    assert r.status_code == 409 and "it is Approved" in r.json()["detail"]  # replayed: refused
    out = tmp_path / "card"
    assert runner.invoke(cli, ["service", "card", "--db", db, "--model", "adult/1", "--out", str(out)]).exit_code == 0
    r = runner.invoke(cli, ["card", "verify", str(out), "--trusted-key", str(public)])
    assert r.exit_code == 0, r.output
    assert runner.invoke(cli, ["ledger", "verify", "--db", db]).exit_code == 0
    assert client.get("/keys", headers=approver).json() == []  # no key ever reached the service


def test_a_signed_request_goes_stale_when_the_card_moves_on(client, analysed, tmp_path):
    from assay.cards import generate_key, load_private_key, sign_approval
    from assay.service import create_token

    client.tokens["approver"] = create_token(client.app.state.engine, name="bea", role="approver")
    _model_with_card(client, analysed)
    owner, approver = _h(client, "owner"), _h(client, "approver")
    client.post("/models/adult/1/card/submit", json={"reason": "ready"}, headers=owner).raise_for_status()
    request = client.get("/models/adult/1/card/approval-request", headers=approver).json()
    private, _ = generate_key(tmp_path / "bea", passphrase=PASS.encode())
    signed = sign_approval(request, load_private_key(private, passphrase=PASS.encode()), "fine")
    client.post("/models/adult/1/card/reject", json={"reason": "one more figure"}, headers=approver).raise_for_status()
    client.post("/models/adult/1/card/submit", json={"reason": "added"}, headers=owner).raise_for_status()
    r = client.post("/models/adult/1/card/approve-signed", json={"signed": signed}, headers=approver)
    assert r.status_code == 422 and "seq is 3, but the card now needs 5" in r.json()["detail"][0]["msg"]
    old = sign_approval(dict(client.get("/models/adult/1/card/approval-request", headers=approver).json(), time="2020-01-01T00:00:00+00:00"),
                        load_private_key(private, passphrase=PASS.encode()), "fine")  # fmt: skip
    r = client.post("/models/adult/1/card/approve-signed", json={"signed": old}, headers=approver)
    assert r.status_code == 422 and "is not within the last 24 hours" in r.json()["detail"][0]["msg"]
