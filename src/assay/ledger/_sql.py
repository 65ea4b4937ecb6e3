"""A record in a database table (the service's ``ledger``): appended inside the caller's transaction, one writer at a time.

Each row is an entry: ``seq``, ``at`` (ISO 8601 UTC), ``actor``, ``action``,
``subject``, ``payload`` (its canonical JSON text), ``prev_hash`` and
``hash`` (:func:`assay.ledger.digest` of the rest). Databases begun before
the one digest (assay 0.1's service) hashed ``seq``, ``at``, ``actor``,
``action``, ``subject``, ``payload`` and ``prev_hash`` joined by newlines;
:data:`SCHEMES` still reads those entries, up to the first of the current
kind.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from assay.ledger._chain import GENESIS, Verification, canonical_finite, digest, walk

__all__ = ["SCHEMES", "SqlLog", "ledger_table"]


def _joined(e: Mapping[str, Any]) -> str:
    """The digest of assay 0.1's service ledger (read, never written)."""
    body = "\n".join([str(e["seq"]), str(e["at"]), str(e["actor"]), str(e["action"]), str(e["subject"]), str(e["payload"]), str(e["prev_hash"])])
    return hashlib.sha256(body.encode()).hexdigest()


SCHEMES = (digest, _joined)
FIELDS = ("seq", "at", "actor", "action", "subject", "payload", "prev_hash", "hash")


def ledger_table(metadata: sa.MetaData) -> sa.Table:
    """The ledger table, in ``metadata`` (the service's, whose migrations create it)."""
    return sa.Table(
        "ledger", metadata,
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),  # ISO 8601 UTC, as hashed
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),  # canonical JSON, as hashed
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Index("ix_ledger_action", "action", "seq"),  # the console's search: by action, actor or subject, newest first
        sa.Index("ix_ledger_actor", "actor", "seq"),
        sa.Index("ix_ledger_subject", "subject", "seq"),
        sa.Index("ix_ledger_at", "at"),
    )  # fmt: skip


class SqlLog:
    """Append to, read and walk a ledger table; ``lock(conn)`` serialises writers (the service: an advisory lock on PostgreSQL)."""

    def __init__(self, table: sa.Table, lock: Callable[[sa.Connection], None] | None = None) -> None:
        self.table, self.lock = table, lock

    def append(self, conn: sa.Connection, *, actor: str, action: str, subject: str, payload: Any) -> dict[str, Any]:
        """Append one entry inside the caller's transaction (so the action and its record commit together); the row."""
        if self.lock is not None:
            self.lock(conn)
        t = self.table
        last = conn.execute(sa.select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
        row: dict[str, Any] = {
            "seq": 1 if last is None else int(last.seq) + 1,
            "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
            "actor": actor, "action": action, "subject": subject,
            "payload": canonical_finite(payload).decode("utf-8"),
            "prev_hash": GENESIS if last is None else str(last.hash),
        }  # fmt: skip
        row["hash"] = digest(row)
        conn.execute(t.insert().values(**row))
        return row

    def entries(self, conn: sa.Connection, *, after: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Entries in sequence order after ``after`` (at most ``limit``)."""
        t = self.table
        q = sa.select(t).where(t.c.seq > after).order_by(t.c.seq)
        for r in conn.execute(q.limit(limit) if limit else q).mappings():
            yield {k: r[k] for k in FIELDS}

    def anchor(self, conn: sa.Connection) -> dict[str, Any]:
        """The head of the chain (count, hash, time), to keep apart from the database: a later walk with it finds removed entries."""
        t = self.table
        last = conn.execute(sa.select(t.c.seq, t.c.hash, t.c.at).order_by(t.c.seq.desc()).limit(1)).first()
        if last is None:
            return {"seq": 0, "hash": GENESIS, "at": None}
        return {"seq": int(last.seq), "hash": str(last.hash), "at": str(last.at)}

    def walk(self, conn: sa.Connection, *, anchor: Mapping[str, Any] | None = None,
             visit: Callable[[Mapping[str, Any]], None] | None = None) -> Verification:  # fmt: skip
        """:func:`assay.ledger.walk` over the table."""
        return walk(self.entries(conn), prev="prev_hash", anchor=anchor, schemes=SCHEMES, visit=visit)
