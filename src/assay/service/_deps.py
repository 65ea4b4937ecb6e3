"""What the routes depend on, in one place: the database engine, the caller (by bearer token) and the roles a route admits."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request

from assay.service._auth import hash_token
from assay.service._db import tokens

__all__ = ["Engine", "caller", "engine_of", "roles"]


def engine_of(request: Request) -> sa.Engine:
    """The service's database engine (``app.state.engine``, set by ``create_app``)."""
    return request.app.state.engine  # type: ignore[no-any-return]


Engine = Annotated[sa.Engine, Depends(engine_of)]


def caller(request: Request, engine: Engine) -> dict[str, Any]:
    """Who is calling: the name and role of an active token (401 without one)."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token: send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"})
    with engine.connect() as conn:
        row = conn.execute(sa.select(tokens.c.name, tokens.c.role, tokens.c.revoked_at).where(tokens.c.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return {"name": row.name, "role": row.role}


def roles(*allowed: str) -> Any:
    """A dependency admitting callers with one of ``allowed`` roles (403 for the others)."""

    def check(who: Annotated[dict[str, Any], Depends(caller)]) -> dict[str, Any]:
        if who["role"] not in allowed:
            raise HTTPException(403, f"role {who['role']!r} may not do this; allowed: {', '.join(allowed)}")
        return who

    return Depends(check)
