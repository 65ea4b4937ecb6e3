"""API tokens: made (shown once, stored as their SHA-256), revoked (never the last admin), each act recorded in the ledger."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa

from assay._errors import ConfigError
from assay.service import _ledger
from assay.service._db import serialise, sessions, tokens, utcnow

__all__ = ["ROLES", "LastAdminError", "create_token", "hash_token", "revoke_tokens"]

ROLES = ("admin", "owner", "reviewer", "approver", "auditor", "bounty")
# approver: signs off model cards (the review board); bounty: an outsider who submits to bias bounties, and nothing else


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: sa.Engine, *, name: str, role: str, actor: str = "cli") -> str:
    """A new API token for ``name`` with ``role``; only its hash is stored, the token is returned once."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    token = "assay_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(tokens.insert().values(name=name, role=role, token_hash=hash_token(token), created_at=utcnow()))
        _ledger.append(conn, actor=actor, action="token.create", subject=name, payload={"role": role})
    return token


class LastAdminError(ConfigError):
    """Revoking these tokens would leave no active admin."""


def revoke_tokens(engine: sa.Engine, *, actor: str, token_id: int | None = None, name: str | None = None) -> list[dict[str, Any]]:
    """Revoke one token (by id) or every active token of ``name``; their holders' page sessions end too. The revoked tokens."""
    with engine.begin() as conn:
        serialise(conn, "ledger")  # two revocations at once must not both see the other's admin still active
        q = sa.select(tokens.c.id, tokens.c.name, tokens.c.role).where(tokens.c.revoked_at.is_(None))
        rows = conn.execute(q.where(tokens.c.id == token_id) if token_id is not None else q.where(tokens.c.name == name)).all()
        admins = conn.execute(sa.select(sa.func.count()).select_from(tokens).where(tokens.c.revoked_at.is_(None), tokens.c.role == "admin")).scalar_one()
        if rows and admins and admins == sum(r.role == "admin" for r in rows):
            raise LastAdminError("this would revoke the last active admin token, and nobody could manage tokens any more; "
                                 "create another admin token first (assay service token --db DB --name NAME --role admin)")  # fmt: skip
        now = utcnow()
        for r in rows:
            conn.execute(tokens.update().where(tokens.c.id == r.id).values(revoked_at=now))
            conn.execute(sessions.delete().where(sessions.c.name == r.name, sessions.c.role == r.role))
            _ledger.append(conn, actor=actor, action="token.revoke", subject=r.name, payload={"token": r.id, "role": r.role})
    return [{"id": r.id, "name": r.name, "role": r.role, "revoked_at": now.isoformat()} for r in rows]
