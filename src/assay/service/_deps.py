"""What the routes depend on, in one place: the database engine, the caller (by bearer token), the roles a route admits, and the
errors every route may answer with (one shape, ``{"detail": ...}``, documented on each operation)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field

from assay.service._auth import hash_token
from assay.service._db import tokens

__all__ = ["ERROR_RESPONSES", "JSON_ERRORS", "Engine", "ErrorOut", "caller", "engine_of", "roles"]


class ErrorOut(BaseModel):
    detail: str = Field(description="what was wrong, in one line")


#: The errors any route may answer with (documented on every operation of the OpenAPI schema).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing, unknown or revoked token"},
    403: {"model": ErrorOut, "description": "the token's role may not do this"},
    404: {"model": ErrorOut, "description": "no such model, prediction, task, run or contest"},
    409: {"model": ErrorOut, "description": "conflicts with what is stored (already registered, captured with other content, still open...)"},
    413: {"model": ErrorOut, "description": "the request body is larger than 16 MiB"},
    429: {"model": ErrorOut, "description": "too many attempts from this client (receipt routes)"},
    503: {"model": ErrorOut, "description": "the database is unavailable; nothing was stored"},
    500: {"model": ErrorOut, "description": "an unexpected error, logged with its traceback under the id it names"},
}

#: ERROR_RESPONSES for a route whose answer is not JSON: its errors still are.
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": r["description"], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    for code, r in ERROR_RESPONSES.items()} | {
    422: {"description": "Validation Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}}  # fmt: skip


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
