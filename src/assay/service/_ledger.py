"""The record: every action appended to a hash-chained ledger.

Entry n carries the SHA-256 of its canonical form (sequence number, time,
actor, action, subject, canonical JSON payload) together with the hash of entry
n - 1, so editing, removing or reordering any entry breaks the chain from there
on, and ``verify`` says where. Appends are serialised (PostgreSQL: a
transaction-level advisory lock; SQLite: the write lock ``BEGIN IMMEDIATE``
takes), so concurrent writers never fork the chain.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from assay.service._db import ledger, serialise

__all__ = ["GENESIS", "append", "entries", "verify"]

GENESIS = "0" * 64


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _digest(seq: int, at: str, actor: str, action: str, subject: str, payload: str, prev: str) -> str:
    body = "\n".join([str(seq), at, actor, action, subject, payload, prev])
    return hashlib.sha256(body.encode()).hexdigest()


def append(conn: sa.Connection, *, actor: str, action: str, subject: str, payload: Any) -> dict[str, Any]:
    """Append one entry inside the caller's transaction (so the action and its record commit together)."""
    serialise(conn, "ledger")
    last = conn.execute(sa.select(ledger.c.seq, ledger.c.hash).order_by(ledger.c.seq.desc()).limit(1)).first()
    seq = 1 if last is None else int(last.seq) + 1
    prev = GENESIS if last is None else str(last.hash)
    at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")
    body = _canonical(payload)
    h = _digest(seq, at, actor, action, subject, body, prev)
    row = {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "payload": body, "prev_hash": prev, "hash": h}
    conn.execute(ledger.insert().values(**row))
    return row


def entries(conn: sa.Connection, *, after: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Entries in sequence order after ``after`` (at most ``limit``)."""
    q = sa.select(ledger).where(ledger.c.seq > after).order_by(ledger.c.seq)
    for r in conn.execute(q.limit(limit) if limit else q).mappings():
        yield dict(r)


def verify(conn: sa.Connection) -> dict[str, Any]:
    """Walk the chain; the first broken entry and why (edited, removed, reordered or inserted), or ok with the count."""
    prev, expected_seq, n = GENESIS, 1, 0
    for e in entries(conn):
        n += 1
        if int(e["seq"]) != expected_seq:
            return {"ok": False, "entries": n, "seq": int(e["seq"]),
                    "problem": f"entry {expected_seq} is missing (the next entry is {e['seq']}): removed"}  # fmt: skip
        if e["prev_hash"] != prev:
            return {"ok": False, "entries": n, "seq": int(e["seq"]),
                    "problem": f"entry {e['seq']} does not follow entry {expected_seq - 1} (its previous hash differs): removed, inserted or reordered"}  # fmt: skip
        h = _digest(int(e["seq"]), e["at"], e["actor"], e["action"], e["subject"], e["payload"], e["prev_hash"])
        if h != e["hash"]:
            return {"ok": False, "entries": n, "seq": int(e["seq"]), "problem": f"entry {e['seq']} was edited (its content no longer has its hash)"}
        prev, expected_seq = e["hash"], expected_seq + 1
    return {"ok": True, "entries": n, "head": prev}
