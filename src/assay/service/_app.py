"""The assay service (FastAPI): the application, its error handlers, and the routers of every area.

Every route needs a bearer token (``Authorization: Bearer <token>``) but the
two a person uses with their decision's receipt (``_contests``); tokens are
stored as SHA-256 hashes and carry one role, and each route names the roles it
admits (admin, owner, reviewer, approver, auditor, bounty: the table is in docs/service.md and
tests/test_service.py walks every route of the OpenAPI schema against it).
Routes: tokens, models, capture and the ledger (``_routes``), audits, cards and signing keys (``_cards``), review
(``_review``), monitoring (``_monitoring``), contests (``_contests``), bias
bounties (``_bounties``) and the pages (``_pages``). The library's errors are answered by one handler
(NotFound 404, Conflict 409, other bad input 422).

Every write and its ledger entry commit in one transaction: an acknowledged
request is stored and recorded, or neither. Bad input gets a 4xx with the
field and what was expected; tokens never appear in logs or responses after
creation.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay._errors import AssayError, status_of
from assay.service._auth import ROLES, create_token
from assay.service._db import connect, migrate
from assay.service._deps import ERROR_RESPONSES
from assay.service._guard import BodyGuard, Unexpected

__all__ = ["ROLES", "create_app", "create_token"]


def create_app(db: str, *, engine: sa.Engine | None = None, schedule_tick: float | None = 30.0) -> FastAPI:
    """The service over database ``db`` (a SQLite path or a postgresql:// URL); the schema is migrated on start. While it serves,
    scheduled monitoring checks run every ``schedule_tick`` seconds (None: only on demand)."""
    from contextlib import asynccontextmanager

    from assay.service._monitoring import Scheduler

    engine = engine or connect(db)
    migrate(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        scheduler = Scheduler(engine, schedule_tick) if schedule_tick else None
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(title="assay service", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES,
                  description="Prediction capture, human review, monitoring over time, contests and a tamper-evident record for deployed models.")  # fmt: skip
    app.state.engine = engine
    app.add_middleware(BodyGuard)  # type: ignore[arg-type]
    app.add_middleware(Unexpected)  # type: ignore[arg-type]  # outside BodyGuard: an error anywhere within is answered
    from assay.service._contests import RECEIPT_ATTEMPTS, RECEIPT_SECONDS, receipt_key
    from assay.service._guard import RateLimit

    app.state.receipt_key = receipt_key(engine)
    app.state.receipt_attempts = RateLimit(RECEIPT_ATTEMPTS, RECEIPT_SECONDS)  # per client, for the routes a receipt opens

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Any:
        """A 422 has FastAPI's documented shape (a list of errors, each with loc, msg and type), whoever raised it."""
        if exc.status_code == 422 and isinstance(exc.detail, str):
            return JSONResponse({"detail": [{"loc": ["body"], "msg": exc.detail, "type": "value_error"}]}, status_code=422, headers=exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(AssayError)
    async def _domain_error(request: Request, exc: AssayError) -> Any:
        """The library's errors, answered by kind (NotFound 404, Conflict 409, bad input 422) in the shape of the service's own."""
        return await _http_error(request, StarletteHTTPException(status_of(exc), str(exc)))

    @app.exception_handler(sa.exc.OperationalError)
    async def _db_down(_request: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        return JSONResponse({"detail": "the database is unavailable; nothing was stored, retry the request"}, status_code=503)

    from assay.service import _bounties, _cards, _console, _contests, _monitoring, _pages, _review
    from assay.service._routes import ROUTERS

    for router in (*ROUTERS, _cards.router, _review.router, _monitoring.router, _contests.router, _bounties.router, _pages.router, _console.router):
        app.include_router(router)
    return app
