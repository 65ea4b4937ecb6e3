"""The service's record: every action appended to the hash-chained ledger table (:class:`assay.ledger.SqlLog`).

Entry n carries the digest of its fields (sequence number, time, actor,
action, subject, canonical JSON payload) with the hash of entry n - 1, so
editing, removing or reordering any entry breaks the chain from there on,
and ``verify`` says where. Appends are serialised (PostgreSQL: a
transaction-level advisory lock; SQLite: the write lock ``BEGIN IMMEDIATE``
takes), so concurrent writers never fork the chain. Besides the chain,
``verify`` checks the rows it counts: every capture batch's predictions
(their number and the digest of their content), every review answer, the
bounties' files and states, and every card store's log (its own chain and
signatures, ending where the ledger's last card action says).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from assay.ledger import GENESIS, Verification, canonical_finite
from assay.ledger._sql import SqlLog
from assay.service._db import ledger, serialise

__all__ = ["GENESIS", "anchor", "append", "content_digest", "entries", "verify"]

LOG = SqlLog(ledger, lock=lambda conn: serialise(conn, "ledger"))


def content_digest(rows: list[dict[str, Any]]) -> str:
    """SHA-256 of captured predictions as stored (id, inputs, score, label, facets, explanation, inference time in UTC), in id order:
    what a capture batch's ledger entry records and ``verify`` recomputes from the rows."""
    from assay.service._db import aware

    def one(r: dict[str, Any]) -> list[Any]:
        t = aware(r["inference_time"])
        return [r["prediction_id"], r["inputs"], r["score"], r["label"], r["facets"], r["explanation"], None if t is None else t.isoformat()]

    return hashlib.sha256(canonical_finite(sorted((one(r) for r in rows), key=lambda x: x[0]))).hexdigest()


def append(conn: sa.Connection, *, actor: str, action: str, subject: str, payload: Any) -> dict[str, Any]:
    """Append one entry inside the caller's transaction (so the action and its record commit together)."""
    return LOG.append(conn, actor=actor, action=action, subject=subject, payload=payload)


def entries(conn: sa.Connection, *, after: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Entries in sequence order after ``after`` (at most ``limit``)."""
    return LOG.entries(conn, after=after, limit=limit)


def anchor(conn: sa.Connection) -> dict[str, Any]:
    """The head of the chain (count and hash), to keep apart from the database: ``verify(anchor=...)`` then finds removed entries."""
    return LOG.anchor(conn)


def verify(conn: sa.Connection, *, anchor: dict[str, Any] | None = None) -> Verification:
    """Walk the chain; every broken entry and why (edited, removed, reordered or inserted), or ok with the count.

    With ``anchor`` (an earlier head: ``{"seq", "hash"}``, kept apart from the database), entries removed from the end or a chain
    rebuilt from some entry on are found too. When the chain holds, the rows it counts are checked against it: every capture batch's
    stored predictions and every review answer must still be there, and nothing the ledger does not record.
    """
    stored: dict[str, int] = {}
    digests: dict[int, tuple[str, str]] = {}  # capture.batch seq -> (model, digest of its rows)
    answers: dict[tuple[str, str], Any] = {}  # (task, reviewer) -> the answer recorded
    bounty_files: dict[str, tuple[str, str]] = {}  # bounty -> digests of its holdout and model
    submitted: dict[tuple[str, int], dict[str, Any]] = {}  # (bounty, number) -> model digest, group, state
    card_heads: dict[str, tuple[int, str]] = {}  # model -> the card log's last (seq, entry hash) the ledger records

    def count(e: Mapping[str, Any]) -> None:
        if e["action"] == "capture.batch":
            payload = json.loads(e["payload"])
            stored[e["subject"]] = stored.get(e["subject"], 0) + int(payload.get("stored", 0))
            if "content_sha256" in payload:
                digests[int(e["seq"])] = (e["subject"], payload["content_sha256"])
        elif e["action"] == "review.answer":
            answers[(e["subject"].removeprefix("task/"), e["actor"])] = json.loads(e["payload"]).get("answer")
        elif e["action"].startswith("card.") and e["action"] != "card.approval":
            payload = json.loads(e["payload"])
            card_heads[e["subject"]] = (int(payload["card_seq"]), payload["entry_hash"])
        elif e["action"].startswith("bounty."):
            payload, name = json.loads(e["payload"]), e["subject"].removeprefix("bounty/")
            if e["action"] == "bounty.create":
                bounty_files[name] = (payload["holdout_sha256"], payload["model_sha256"])
            elif e["action"] == "bounty.submit":
                submitted[(name, int(payload["submission"]))] = {"model": payload["model_sha256"], "group": payload["group"], "state": "pending"}
            elif e["action"] == "bounty.verify" and (name, int(payload["submission"])) in submitted:
                submitted[(name, int(payload["submission"]))]["state"] = "accepted" if payload["accepted"] else "rejected"

    result = LOG.walk(conn, anchor=anchor, visit=count)
    if result.ok:
        problem = (_rows_problem(conn, stored, answers) or _content_problem(conn, digests) or _bounty_problem(conn, bounty_files, submitted)
                   or _card_problem(conn, card_heads))  # fmt: skip
        if problem is not None:
            result.add(problem)
    return result


def _rows_problem(conn: sa.Connection, stored: dict[str, int], answers: dict[tuple[str, str], Any]) -> str | None:
    """Rows counted by the ledger that are gone, rows it never recorded, and review answers that are not the ones it records."""
    from assay.service._db import models, predictions, review_assignments

    have = {f"{r.name}/{r.version}": int(r.n) for r in conn.execute(
        sa.select(models.c.name, models.c.version, sa.func.count(predictions.c.seq).label("n"))
        .select_from(models.outerjoin(predictions, predictions.c.model_id == models.c.id)).group_by(models.c.id, models.c.name, models.c.version))}  # fmt: skip
    for subject in sorted(set(stored) | {k for k, v in have.items() if v}):
        if have.get(subject, 0) != stored.get(subject, 0):
            return (f"model {subject}: the ledger records {stored.get(subject, 0):,} captured predictions but the database holds "
                    f"{have.get(subject, 0):,} (rows were removed or added outside the service)")  # fmt: skip
    held = {(str(r.task_id), r.reviewer): r.answer for r in conn.execute(
        sa.select(review_assignments.c.task_id, review_assignments.c.reviewer, review_assignments.c.answer).where(review_assignments.c.answer.is_not(None)))}  # fmt: skip
    if len(held) != len(answers):
        return (f"the ledger records {len(answers):,} review answers but the database holds {len(held):,} "
                "(answers were removed or added outside the service)")  # fmt: skip
    changed = sorted(k for k in answers if held.get(k) != answers[k])
    if changed:
        task, reviewer = changed[0]
        return (f"the answer of {reviewer} to task {task} is {held.get(changed[0])!r} in the database but the ledger records "
                f"{answers[changed[0]]!r} (changed outside the service)")  # fmt: skip
    return None


def _content_problem(conn: sa.Connection, digests: dict[int, tuple[str, str]]) -> str | None:
    """Captured predictions edited in place: a batch's rows whose digest is no longer the one its ledger entry records."""
    from assay.service._db import predictions

    cols = [predictions.c.ledger_seq, predictions.c.prediction_id, predictions.c.inputs, predictions.c.score, predictions.c.label,
            predictions.c.facets, predictions.c.explanation, predictions.c.inference_time]  # fmt: skip
    batch: list[dict[str, Any]] = []
    seen: set[int] = set()

    def problem(seq: int) -> str | None:
        seen.add(seq)
        subject, want = digests.get(seq, (None, None))
        if want is not None and content_digest(batch) != want:
            ids = ", ".join(sorted(r["prediction_id"] for r in batch)[:3])
            return (f"model {subject}: predictions captured by ledger entry {seq} (ids {ids}{' ...' if len(batch) > 3 else ''}) were changed "
                    "in the database: their content no longer has the digest the ledger records")  # fmt: skip
        return None

    current: int | None = None
    for r in conn.execute(sa.select(*cols).where(predictions.c.ledger_seq.is_not(None)).order_by(predictions.c.ledger_seq)).mappings():
        if r["ledger_seq"] != current:
            if current is not None and (found := problem(current)):
                return found
            current, batch = int(r["ledger_seq"]), []
        batch.append(dict(r))
    if current is not None and (found := problem(current)):
        return found
    emptied = sorted(s for s, (_, want) in digests.items() if s not in seen and want != content_digest([]))
    if emptied:
        return f"model {digests[emptied[0]][0]}: the predictions captured by ledger entry {emptied[0]} are no longer in the database"
    return None


def _bounty_problem(conn: sa.Connection, files: dict[str, tuple[str, str]], submitted: dict[tuple[str, int], dict[str, Any]]) -> str | None:
    """Bounties whose stored holdout or model, or whose submissions' models, groups and states, are not the ones the ledger records."""
    from assay.service._db import bounties, bounty_submissions

    held = {r.name: r for r in conn.execute(sa.select(bounties.c.id, bounties.c.name, bounties.c.holdout, bounties.c.model))}
    if set(held) != set(files):
        return f"the ledger records the bounties {sorted(files)} but the database holds {sorted(held)} (added or removed outside the service)"
    for name, (holdout, model) in sorted(files.items()):
        if (hashlib.sha256(held[name].holdout).hexdigest(), hashlib.sha256(held[name].model).hexdigest()) != (holdout, model):
            return f"bounty {name}: its holdout or model in the database is not the file the ledger's bounty.create entry records"
    names = {r.id: r.name for r in held.values()}
    rows = {(names[r.bounty_id], r.number): r for r in conn.execute(sa.select(bounty_submissions))}
    if set(rows) != set(submitted):
        return (f"the ledger records {len(submitted):,} bounty submissions but the database holds {len(rows):,} "
                "(added or removed outside the service)")  # fmt: skip
    for (name, number), want in sorted(submitted.items()):
        r = rows[(name, number)]
        if hashlib.sha256(r.model).hexdigest() != want["model"] or r.conditions != want["group"] or r.state != want["state"]:
            return (f"bounty {name}, submission {number}: its model, group or state ({r.state}) in the database is not what the ledger "
                    f"records ({want['state']}); changed outside the service")  # fmt: skip
    return None


def _card_problem(conn: sa.Connection, heads: dict[str, tuple[int, str]]) -> str | None:
    """Card stores whose log does not verify (hashes, links, transitions, signatures, version contents), or does not end at the entry
    the ledger's last card action records."""
    from assay.cards import CardStore
    from assay.service._card_records import DbCards
    from assay.service._db import card_log, models

    held = {f"{r.name}/{r.version}": r for r in conn.execute(sa.select(models).where(models.c.id.in_(sa.select(card_log.c.model_id).distinct())))}
    if set(held) != set(heads):
        return f"the ledger records card actions on {sorted(heads)} but the database holds card logs of {sorted(held)} (changed outside the service)"
    for subject, (seq, entry_hash) in sorted(heads.items()):
        store = CardStore(records=DbCards(conn, held[subject]))
        check = store.verify()
        if not check.ok:
            return f"the card of model {subject}: {check.problems[0]}"
        if (check.entries, check.head) != (seq, entry_hash):  # an intact chain numbers its entries 1..n and ends at its head
            return (f"the card of model {subject}: its log ends at entry {check.entries} but the ledger's last card action records entry {seq} "
                    f"(entries added or removed outside the service)")  # fmt: skip
    return None
