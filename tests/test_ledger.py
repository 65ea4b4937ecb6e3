"""One hash chain under every record: the canonical JSON and digest, the walk, and `assay ledger verify` on a card store, a database
and an exported ledger, through the same code."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from assay.ledger import GENESIS, canonical, canonical_finite, digest, finite, verify_file, walk

JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)  # fmt: skip


def chain(n: int, prev: str = "prev") -> list[dict]:
    out, link = [], GENESIS
    for i in range(1, n + 1):
        e = {"seq": i, "action": "act", "payload": {"i": i}, prev: link}
        e["hash"] = digest(e)
        out.append(e)
        link = e["hash"]
    return out


@given(JSON)
def test_canonical_json_is_a_fixed_point_and_independent_of_key_order(obj):
    text = canonical(obj)
    assert canonical(json.loads(text)) == text  # re-reading what was recorded gives the same bytes, so the same digest
    if isinstance(obj, dict):
        assert canonical(dict(reversed(list(obj.items())))) == text


def test_digest_is_sha256_of_the_canonical_json_without_the_hash_by_hand():
    entry = {"seq": 1, "b": "é", "a": [1, 2.5, None], "prev": GENESIS, "hash": "ignored"}
    by_hand = '{"a":[1,2.5,null],"b":"é","prev":"' + GENESIS + '","seq":1}'
    assert digest(entry) == hashlib.sha256(by_hand.encode("utf-8")).hexdigest()
    assert finite({"x": [math.nan, 1.0, math.inf]}) == {"x": [None, 1.0, None]}
    with pytest.raises(ValueError):
        canonical({"x": math.nan})  # NaN has no canonical JSON: finite() first
    assert canonical_finite({"x": [math.nan, 1.0]}) == canonical({"x": [None, 1.0]}) and canonical_finite(entry) == canonical(entry)


@pytest.mark.parametrize("tamper, expected", [
    ("edit", "entry 3 was edited"),
    ("remove", "entry 3 is missing"),
    ("swap", "entry 3 is missing"),
    ("relink", "entry 4 does not follow entry 3"),
])  # fmt: skip
def test_walk_names_the_first_broken_entry(tamper, expected):
    entries = chain(6)
    assert walk(entries).ok and walk(entries).head == entries[-1]["hash"] and walk(entries).entries == 6
    if tamper == "edit":
        entries[2]["payload"] = {"i": 99}
    elif tamper == "remove":
        del entries[2]
    elif tamper == "swap":
        entries[2], entries[3] = entries[3], entries[2]
    else:  # entry 4 rehashed onto a forged entry 3: its link no longer matches
        entries[3]["prev"] = "f" * 64
        entries[3]["hash"] = digest(entries[3])
    result = walk(entries)
    assert not result.ok and expected in result.problems[0], result.problems


def test_an_anchor_finds_entries_removed_from_the_end_and_a_rewritten_chain():
    entries = chain(5)
    anchor = {"seq": 4, "hash": entries[3]["hash"]}
    assert walk(entries, anchor=anchor).ok
    cut = walk(entries[:3], anchor=anchor)
    assert not cut.ok and "entries 4 to 4 were removed" in cut.problem
    rebuilt = chain(5)
    rebuilt[1]["payload"] = {"i": "rewritten"}
    for i in range(1, 5):  # rehash from entry 2 on: self-consistent, but not the anchored chain
        rebuilt[i]["prev"] = rebuilt[i - 1]["hash"]
        rebuilt[i]["hash"] = digest(rebuilt[i])
    assert walk(rebuilt).ok
    assert "not the one the anchor records" in walk(rebuilt, anchor=anchor).problem


def _legacy(e):
    return hashlib.sha256("\n".join(str(e[k]) for k in ("seq", "at", "actor", "action", "subject", "payload", "prev_hash")).encode()).hexdigest()


def _rows(n, scheme, start=1, link=GENESIS):
    out = []
    for i in range(start, start + n):
        e = {"seq": i, "at": f"2026-01-01T00:00:0{i % 10}+00:00", "actor": "a", "action": "x", "subject": "s", "payload": f'{{"i":{i}}}', "prev_hash": link}
        e["hash"] = scheme(e)
        out.append(e)
        link = e["hash"]
    return out


def test_a_database_begun_by_assay_0_1_still_verifies_and_its_old_digest_ends_where_the_new_begins(tmp_path):
    from assay.ledger._sql import SCHEMES

    old = _rows(3, _legacy)
    both = old + _rows(2, digest, start=4, link=old[-1]["hash"])
    assert walk(both, prev="prev_hash", schemes=SCHEMES).ok
    assert not walk(both, prev="prev_hash").ok  # without the old scheme its entries read as edited
    late = both + _rows(1, _legacy, start=6, link=both[-1]["hash"])
    bad = walk(late, prev="prev_hash", schemes=SCHEMES)  # an old-digest entry after a new one is not one assay 0.1 wrote
    assert not bad.ok and "entry 6 was edited" in bad.problem


def _service_db(tmp_path):
    from assay.service import connect, create_token, migrate
    from assay.service._capture import capture

    db = tmp_path / "svc.db"
    engine = connect(str(db))
    migrate(engine)
    create_token(engine, name="ana", role="admin")
    with engine.begin() as conn:
        from assay.service._db import models, utcnow

        conn.execute(models.insert().values(name="m", version="1", owner="ana", spec={"facets": []}, created_at=utcnow()))
    from assay.service._capture import CaptureIn

    capture(engine, "m", "1", CaptureIn(records=[{"id": f"p{i}", "score": i / 10} for i in range(4)]).records, "ana")
    return db, engine


def test_assay_ledger_verify_takes_a_database_an_export_of_it_and_a_card_store_and_reports_them_alike(tmp_path, analysed):
    from assay.cli import app

    run = lambda *a: CliRunner().invoke(app, ["ledger", *map(str, a)])  # noqa: E731
    db, engine = _service_db(tmp_path)
    r = run("verify", db)
    assert r.exit_code == 0 and "ledger intact: 2 entries" in r.output, r.output
    export = tmp_path / "ledger.jsonl"
    assert run("export", "--db", db, "--out", export).exit_code == 0
    r = run("verify", export)  # offline: the file alone, no database
    assert r.exit_code == 0 and "ledger intact: 2 entries" in r.output, r.output
    lines = export.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["payload"] = edited["payload"].replace('"stored":4', '"stored":3')
    assert edited["payload"] != json.loads(lines[1])["payload"]
    export.write_text(lines[0] + "\n" + json.dumps(edited) + "\n")
    r = run("verify", export)
    assert r.exit_code == 1 and "ledger broken at entry 2: entry 2 was edited" in " ".join(r.output.split()), r.output
    with engine.begin() as conn:  # the database: a captured row removed outside the service
        conn.execute(sa.text("DELETE FROM predictions WHERE prediction_id = 'p1'"))
    r = run("verify", "--db", db)
    assert r.exit_code == 1 and "the ledger records 4 captured predictions but the database holds 3" in " ".join(r.output.split()), r.output
    engine.dispose()
    # a card store, through the same command and the same report
    card = CliRunner().invoke(app, ["card", "init", "--out", str(tmp_path / "card.yaml")])
    assert card.exit_code == 0
    store = tmp_path / "store"
    assert CliRunner().invoke(app, ["card", "build", str(analysed), "--info", str(tmp_path / "card.yaml"), "--store", str(store), "--by", "Ana"]).exit_code == 0
    r = run("verify", store)
    assert r.exit_code == 0 and "card store intact: 1 entries" in r.output and "1 versions" in r.output, r.output
    log = store / "log.jsonl"
    entry = json.loads(log.read_text())
    entry["by"] = "Mallory"
    log.write_text(json.dumps(entry) + "\n")
    r = run("verify", store)
    assert r.exit_code == 1 and "card store broken at entry 1: entry 1 (create of version 1) was edited" in " ".join(r.output.split()), r.output
    assert run("verify").exit_code == 2 and run("verify", store, "--db", db).exit_code == 2
    assert run("verify", db, "--trusted-key", tmp_path / "none.pub").exit_code == 2  # a database has no approvals to check
    other = tmp_path / "data.csv"
    other.write_text("a,b\n1,2\n")
    r = run("verify", other)  # not a database: refused, and left as it was (opening it would have migrated it into one)
    assert r.exit_code == 2 and "is not a SQLite database" in " ".join(r.output.split()) and other.read_text() == "a,b\n1,2\n"
    log.write_text(json.dumps(json.loads(log.read_text()) | {"by": "Ana"}) + "\n")
    anchor = tmp_path / "card-anchor.json"
    anchor.write_text(json.dumps({"seq": 2, "hash": "0" * 64}))  # the store had two entries when the anchor was taken
    r = run("verify", store, "--anchor", anchor)
    assert r.exit_code == 1 and "the anchor records 2 entries but the record has 1" in " ".join(r.output.split()), r.output


def test_verify_file_reads_a_card_log_and_refuses_what_is_not_a_ledger(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in chain(3)))
    assert verify_file(log).ok and verify_file(log).entries == 3
    log.write_text("not json\n")
    assert "line 1 is not JSON text" in verify_file(log).problem
    from assay._errors import ConfigError

    with pytest.raises(ConfigError, match="is not a file"):
        verify_file(tmp_path)
