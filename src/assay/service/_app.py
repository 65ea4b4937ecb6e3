"""The assay service (FastAPI): models, prediction capture, ground truth, configuration, card approvals, the ledger.

Every route needs a bearer token (``Authorization: Bearer <token>``) but the
two a person uses with their decision's receipt (``_contests``); tokens are
stored as SHA-256 hashes and carry one role, and each route names the roles it
admits (admin, owner, reviewer, auditor: the table is in docs/service.md and
tests/test_service.py walks every route of the OpenAPI schema against it). This
module holds tokens, models, capture (with routing to review), ground truth,
policy changes, card approvals and the ledger's routes; review
(``_review``), monitoring (``_monitoring``), contests (``_contests``) and the
pages (``_pages``) add theirs.

Every write and its ledger entry commit in one transaction: an acknowledged
request is stored and recorded, or neither. Bad input gets a 4xx with the
field and what was expected; tokens never appear in logs or responses after
creation.
"""


import datetime as _dt
import hashlib
import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay._errors import AssayError, ConfigError, Conflict, DataError, NotFound, status_of
from assay.service import _ledger
from assay.service._auth import ROLES, LastAdminError, create_token, hash_token, revoke_tokens
from assay.service._datacapture import CAPTURE_RECORD, TRUTH_RECORD, from_capture, to_capture, truth_from_capture
from assay.service._db import aware, connect, migrate, utcnow, models, predictions, review_tasks, tokens
from assay.service._guard import STRICT, BodyGuard, Unexpected
from assay.review import Policy, fired

__all__ = ["ROLES", "create_app", "create_token", "revoke_tokens"]

MAX_BATCH = 10_000
MAX_SEQ = 2**62  # sequence numbers and ids beyond this cannot exist (and would overflow the database's integers)



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


# == request bodies ================================================================
class _Strict(BaseModel):
    model_config = STRICT


class ModelIn(_Strict):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")
    version: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    facets: list[str] = Field(default_factory=list, max_length=50)
    label_values: list[str] = Field(default_factory=list, max_length=100)
    threshold: float = Field(default=0.5, ge=0.0, le=1.0, strict=True)
    features: list[str] = Field(default_factory=list, max_length=2000)
    baseline: str | None = Field(default=None, max_length=1000, description="where the model's audit lives (e.g. the path of its analysis.json)")
    policy: Policy | None = None


class PredictionIn(_Strict):
    id: str = Field(min_length=1, max_length=200)
    inputs: dict[str, Any] = Field(default_factory=dict)
    score: float | None = Field(default=None, ge=0.0, le=1.0, strict=True, description="a number from 0 to 1 (a string such as \"0.9\" is refused)")
    label: str | None = Field(default=None, max_length=200)
    facets: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    explanation: dict[str, float] | None = Field(default=None, max_length=2000, description="feature -> attribution (e.g. SHAP values) of this prediction")
    inference_time: _dt.datetime | None = Field(default=None, strict=False, json_schema_extra={"pattern": "^(19[7-9][0-9]|2[0-9]{3})-"},
                                                description="when the model decided, from 1970 to a day from now (monitoring windows use it; "
                                                            "default: the capture time)")  # fmt: skip

    @field_validator("inference_time")
    @classmethod
    def _utc_time(cls, v: _dt.datetime | None) -> _dt.datetime | None:
        if v is None:
            return None
        if v.year < 1970:
            raise ValueError(f"inference_time {v.isoformat()} is before 1970; send the time the model decided")
        v = aware(v)
        if v > utcnow() + _dt.timedelta(days=1):
            raise ValueError(f"inference_time {v.isoformat()} is in the future")
        return v


class CaptureIn(_Strict):
    records: list[PredictionIn] = Field(min_length=1, max_length=MAX_BATCH)

    @field_validator("records")
    @classmethod
    def _unique(cls, v: list[PredictionIn]) -> list[PredictionIn]:
        seen: set[str] = set()
        dup = [r.id for r in v if r.id in seen or seen.add(r.id)]  # type: ignore[func-returns-value]
        if dup:
            raise ValueError(f"ids repeated within the batch: {', '.join(dup[:5])}")
        return v


class DataCaptureIn(_Strict):
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH, json_schema_extra={"items": CAPTURE_RECORD},
                                          description="Model Monitor capture records (the lines of its files)")  # fmt: skip


def from_capture_records(lines: list[Any], spec: dict[str, Any], where: str = "records") -> list[PredictionIn]:
    """Model Monitor capture records as predictions to capture; a 422 naming the record and field that is wrong."""
    from pydantic import ValidationError

    out = []
    try:
        for i, line in enumerate(lines):
            out.append(prediction_from_capture(line, spec, f"{where}[{i}]"))
        return CaptureIn(records=out).records
    except ValidationError as exc:
        raise DataError(f"{where}: {validation_message(exc)}") from None
    except ValueError as exc:
        raise DataError(str(exc)) from None


def validation_message(exc: Any) -> str:
    """A pydantic error in one line: each field's path and what was wrong."""
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())


def prediction_from_capture(line: Any, spec: dict[str, Any], where: str) -> PredictionIn:
    """One Model Monitor capture record as a prediction to capture; ValueError naming ``where`` and the field."""
    from pydantic import ValidationError

    try:
        return PredictionIn(**from_capture(line, spec, where))
    except ValidationError as exc:
        raise ValueError(f"{where}: {validation_message(exc)}") from None


class TruthCaptureIn(_Strict):
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH, json_schema_extra={"items": TRUTH_RECORD},
                                          description="Model Monitor ground-truth records (the lines of its files)")  # fmt: skip


class NdjsonResponse(PlainTextResponse):
    media_type = "application/x-ndjson"


class TruthIn(_Strict):
    id: str = Field(min_length=1, max_length=200)
    label: str = Field(min_length=1, max_length=200)


class GroundTruthIn(_Strict):
    records: list[TruthIn] = Field(min_length=1, max_length=MAX_BATCH)


class TokenIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(admin|owner|reviewer|auditor)$")


APPROVAL_FIELDS = ("content_hash", "by", "reason", "time", "key_id", "public_key", "signature")


class CardApprovalIn(_Strict):
    card: str = Field(min_length=1, max_length=400, description="the card's name (its model_overview.model_name)")
    entry: dict[str, Any] = Field(description="the approve line of the card store's log.jsonl, as `assay card approve` wrote it",
                                  json_schema_extra={"required": ["action", *APPROVAL_FIELDS], "properties": {"action": {"const": "approve"},
                                                     **{k: {"type": "string"} for k in APPROVAL_FIELDS}}})  # fmt: skip


def configure(engine: sa.Engine, name: str, version: str, actor: str, key: str, value: Any, *, extra: dict[str, Any] | None = None) -> None:
    """Change one of a model's settings (policy, monitoring) with a ``model.configure`` ledger entry holding the old and new value."""
    with engine.begin() as conn:
        m = find_model(conn, name, version)
        spec = {**m.spec, key: value, **(extra or {})}
        conn.execute(models.update().where(models.c.id == m.id).values(spec=spec))
        _ledger.append(conn, actor=actor, action="model.configure", subject=f"{name}/{version}", payload={"setting": key, "value": value,
                                                                                                          "previous": m.spec.get(key)})  # fmt: skip


def store_truth(engine: sa.Engine, name: str, version: str, records: list["TruthIn"], actor: str) -> dict[str, Any]:
    """Ground truth for captured predictions by id, recorded; an unknown id is a 404 and nothing is stored."""
    with engine.begin() as conn:
        m = find_model(conn, name, version)
        ids = [r.id for r in records]
        known = {r[0] for r in conn.execute(sa.select(predictions.c.prediction_id).where(predictions.c.model_id == m.id, predictions.c.prediction_id.in_(ids)))}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise NotFound(f"no captured prediction with id(s) {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}; nothing was stored")
        now = utcnow()
        for r in records:
            conn.execute(predictions.update().where(predictions.c.model_id == m.id, predictions.c.prediction_id == r.id)
                         .values(ground_truth=r.label, ground_truth_at=now, ground_truth_source="api"))  # fmt: skip
        _ledger.append(conn, actor=actor, action="ground_truth.batch", subject=f"{name}/{version}",
                       payload={"records": len(ids), "sha256": hashlib.sha256(json.dumps([r.model_dump() for r in records], sort_keys=True).encode()).hexdigest()})  # fmt: skip
    return {"stored": len(ids)}


def find_model(conn: sa.Connection, name: str, version: str) -> Any:
    """The registered model ``name``/``version`` (404 when there is none)."""
    row = conn.execute(sa.select(models).where(models.c.name == name, models.c.version == version)).first()
    if row is None:
        raise NotFound(f"model {name}/{version} is not registered")
    return row


def capture(engine: sa.Engine, name: str, version: str, records: list[PredictionIn], actor: str) -> dict[str, Any]:
    """Store new records (retries of stored ones are harmless; the same id with other content is a 409), record the batch, and route the new
    records by the model's policy; one transaction."""
    with engine.begin() as conn:
        m = find_model(conn, name, version)
        ids = [r.id for r in records]
        existing = {r.prediction_id: r for r in conn.execute(sa.select(predictions.c.prediction_id, predictions.c.inputs, predictions.c.score,
                                                                                  predictions.c.label, predictions.c.facets, predictions.c.explanation,
                                                                                  predictions.c.inference_time)
                                                                        .where(predictions.c.model_id == m.id, predictions.c.prediction_id.in_(ids)))}  # fmt: skip
        conflicts = [r.id for r in records if r.id in existing and (existing[r.id].inputs, existing[r.id].score, existing[r.id].label,
                                                                     existing[r.id].facets, existing[r.id].explanation, aware(existing[r.id].inference_time))
                     != (r.inputs, r.score, r.label, r.facets, r.explanation, r.inference_time)]  # fmt: skip
        if conflicts:
            raise Conflict(f"ids already captured with different content: {', '.join(conflicts[:5])}")
        new = [r for r in records if r.id not in existing]
        missing_facets = [f for f in m.spec.get("facets", []) if any(f not in r.facets for r in new)]
        if missing_facets:
            raise DataError(f"every record needs the model's facets {', '.join(m.spec['facets'])}; missing {', '.join(missing_facets)}")
        now = utcnow()
        rows = [{"model_id": m.id, "prediction_id": r.id, "inputs": r.inputs, "score": r.score, "label": r.label, "facets": r.facets,
                 "explanation": r.explanation, "inference_time": r.inference_time, "captured_at": now} for r in new]  # fmt: skip
        digest = hashlib.sha256(json.dumps([r.model_dump() for r in new], sort_keys=True, default=str).encode()).hexdigest()
        entry = _ledger.append(conn, actor=actor, action="capture.batch", subject=f"{name}/{version}",
                               payload={"stored": len(new), "already_stored": len(records) - len(new), "first_id": ids[0], "last_id": ids[-1],
                                        "sha256": digest, "content_sha256": _ledger.content_digest(rows)})  # fmt: skip
        if rows:
            conn.execute(predictions.insert(), [{**row, "ledger_seq": entry["seq"]} for row in rows])
        routed = _route(conn, m, new, now, actor, f"{name}/{version}")
    return {"stored": len(new), "already_stored": len(records) - len(new), "routed_to_review": routed}


def _route(conn: sa.Connection, m: Any, new: list[PredictionIn], now: _dt.datetime, actor: str, subject: str) -> list[str]:
    """Evaluate the model's policy on the new records; a review task (with the conditions that fired) for each routed one."""
    if not m.spec.get("policy") or not new:
        return []
    policy = Policy.stored(m.spec["policy"])
    threshold = float(m.spec.get("threshold", 0.5))
    limits = None
    if any(c.type == "baseline_constraints" for c in policy.conditions):
        from assay.service._monitoring import limits_of

        limits = limits_of(conn, m)  # None without a baseline: the condition cannot fire
    tasks: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for r in new:
        hits = fired(policy, r.model_dump(), model=f"{m.name}/{m.version}", threshold=threshold, limits=limits)
        if hits:
            tasks.append({"model_id": m.id, "prediction_id": r.id, "reasons": hits, "priority": 0, "required": policy.reviewers_per_item,
                          "status": "open", "created_at": now, "expires_at": now + _dt.timedelta(hours=policy.task_hours)})  # fmt: skip
            for h in hits:
                counts[h["condition"]["type"]] = counts.get(h["condition"]["type"], 0) + 1
    if tasks:
        conn.execute(review_tasks.insert(), tasks)
    _ledger.append(conn, actor=actor, action="routing.decisions", subject=subject,
                   payload={"evaluated": len(new), "routed": len(tasks), "by_condition": counts,
                            "routed_ids_sha256": hashlib.sha256("\n".join(t["prediction_id"] for t in tasks).encode()).hexdigest()})  # fmt: skip
    return [t["prediction_id"] for t in tasks]


# == the app =======================================================================
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
    from assay.service._contests import receipt_key

    app.state.receipt_key = receipt_key(engine)

    def caller(request: Request) -> dict[str, Any]:
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
        def check(who: Annotated[dict[str, Any], Depends(caller)]) -> dict[str, Any]:
            if who["role"] not in allowed:
                raise HTTPException(403, f"role {who['role']!r} may not do this; allowed: {', '.join(allowed)}")
            return who

        return Depends(check)

    model_row = find_model

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

    @app.post("/tokens", status_code=201, summary="Create an API token (shown once)")
    def post_token(body: TokenIn, who: Annotated[dict[str, Any], roles("admin")]) -> dict[str, Any]:
        return {"name": body.name, "role": body.role, "token": create_token(engine, name=body.name, role=body.role, actor=who["name"])}

    @app.get("/tokens", summary="API tokens: who, which role, when made and revoked (never the tokens)")
    def get_tokens(_who: Annotated[dict[str, Any], roles("admin")]) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.created_at, tokens.c.revoked_at).order_by(tokens.c.id)).all()
        return [{"id": r.id, "name": r.name, "role": r.role, "created_at": str(r.created_at), "revoked_at": None if r.revoked_at is None else str(r.revoked_at)}
                for r in rows]  # fmt: skip

    @app.post("/tokens/{token_id}/revoke", summary="Revoke a token at once (its holder's page sessions end too)")
    def post_revoke(token_id: Annotated[int, Path(ge=1, le=MAX_SEQ)], who: Annotated[dict[str, Any], roles("admin")]) -> dict[str, Any]:
        try:
            done = revoke_tokens(engine, actor=who["name"], token_id=token_id)
        except LastAdminError as exc:
            raise Conflict(str(exc)) from None
        if not done:
            raise NotFound(f"no active token {token_id}")
        return done[0]

    @app.post("/models", status_code=201, summary="Register a model version")
    def post_model(body: ModelIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
        spec = body.model_dump(exclude={"name", "version"}, exclude_none=True)
        with engine.begin() as conn:
            if conn.execute(sa.select(models.c.id).where(models.c.name == body.name, models.c.version == body.version)).first():
                raise Conflict(f"model {body.name}/{body.version} is already registered; register a new version")
            conn.execute(models.insert().values(name=body.name, version=body.version, owner=who["name"], spec=spec, created_at=utcnow()))
            _ledger.append(conn, actor=who["name"], action="model.register", subject=f"{body.name}/{body.version}", payload=spec)
        return {"name": body.name, "version": body.version, **spec}

    @app.put("/models/{name}/{version}/policy", summary="Change the model's routing policy (recorded in the ledger)")
    def put_policy(name: str, version: str, body: Policy, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
        value = body.model_dump(exclude_none=True)
        configure(engine, name, version, who["name"], "policy", value)
        return value

    @app.post("/models/{name}/{version}/card-approvals", status_code=201, summary="Record a signed model-card approval in the ledger")
    def post_card_approval(name: str, version: str, body: CardApprovalIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
        from assay.cards._store import approval_is_signed

        e = body.entry
        if e.get("action") != "approve":
            raise DataError(f"entry.action must be 'approve' (an approval line of the card's log.jsonl), got {e.get('action')!r}")
        if not approval_is_signed(body.card, e):
            raise DataError(f"the approval's signature does not verify for card {body.card!r}: the entry was altered, names another card, "
                                     "or was not signed by the key it names")  # fmt: skip
        record = {"card": body.card, **{k: e.get(k) for k in ("version", *APPROVAL_FIELDS)}}
        with engine.begin() as conn:
            model_row(conn, name, version)
            entry = _ledger.append(conn, actor=who["name"], action="card.approval", subject=f"{name}/{version}", payload=record)
        return {"ledger_seq": entry["seq"], **record}

    @app.get("/models", summary="Registered models")
    def get_models(_who: Annotated[dict[str, Any], roles("admin", "owner", "reviewer", "auditor")]) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return [{"name": r.name, "version": r.version, "owner": r.owner, **r.spec} for r in conn.execute(sa.select(models).order_by(models.c.id))]

    @app.post("/models/{name}/{version}/predictions", status_code=201, summary="Capture predictions (one or a batch)")
    def post_predictions(name: str, version: str, body: CaptureIn, who: Annotated[dict[str, Any], roles("admin", "owner")],
                         receipts: Annotated[bool, Query(description="return each decision's receipt, for the person it is about")] = False) -> dict[str, Any]:  # fmt: skip
        out = capture(engine, name, version, body.records, who["name"])
        if receipts:
            from assay.service._contests import receipt

            out["receipts"] = {r.id: receipt(app.state.receipt_key, name, version, r.id) for r in body.records}
        return out

    @app.post("/models/{name}/{version}/data-capture", status_code=201, summary="Capture SageMaker Model Monitor data-capture records")
    def post_data_capture(name: str, version: str, body: DataCaptureIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
        with engine.connect() as conn:
            m = model_row(conn, name, version)
        return capture(engine, name, version, from_capture_records(body.records, m.spec), who["name"])

    @app.get("/models/{name}/{version}/data-capture", summary="Captured predictions as Model Monitor data-capture records (JSON Lines)",
             response_class=NdjsonResponse, responses=JSON_ERRORS)  # fmt: skip
    def get_data_capture(name: str, version: str, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")],
                         after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> NdjsonResponse:  # fmt: skip
        with engine.connect() as conn:
            m = model_row(conn, name, version)
            rows = conn.execute(sa.select(predictions).where(predictions.c.model_id == m.id, predictions.c.seq > after)
                                .order_by(predictions.c.seq).limit(limit)).mappings().all()  # fmt: skip
        text = "".join(json.dumps(to_capture(r)) + "\n" for r in rows)
        return NdjsonResponse(text, headers={"X-Next-After": str(rows[-1]["seq"] if rows else after)})

    @app.post("/models/{name}/{version}/ground-truth", summary="Ground truth for captured predictions, by id")
    def post_truth(name: str, version: str, body: GroundTruthIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
        return store_truth(engine, name, version, body.records, who["name"])

    @app.post("/models/{name}/{version}/data-capture/ground-truth", summary="Ground truth as Model Monitor's ground-truth records (groundTruthData)")
    def post_mm_truth(name: str, version: str, body: TruthCaptureIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
        with engine.connect() as conn:
            m = model_row(conn, name, version)
        from pydantic import ValidationError

        try:
            records = [TruthIn(**truth_from_capture(line, m.spec, f"records[{i}]")) for i, line in enumerate(body.records)]
        except ValidationError as exc:
            raise DataError(validation_message(exc)) from None
        except ValueError as exc:
            raise DataError(str(exc)) from None
        return store_truth(engine, name, version, records, who["name"])

    @app.get("/models/{name}/{version}/predictions", summary="Captured predictions, in capture order")
    def get_predictions(name: str, version: str, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")],
                        after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:  # fmt: skip
        with engine.connect() as conn:
            m = model_row(conn, name, version)
            rows = conn.execute(sa.select(predictions).where(predictions.c.model_id == m.id, predictions.c.seq > after)
                                .order_by(predictions.c.seq).limit(limit)).mappings().all()  # fmt: skip
        out = [{"seq": r["seq"], "id": r["prediction_id"], "inputs": r["inputs"], "score": r["score"], "label": r["label"], "facets": r["facets"],
                "captured_at": aware(r["captured_at"]).isoformat(),
                "inference_time": None if r["inference_time"] is None else aware(r["inference_time"]).isoformat(),
                "ground_truth": r["ground_truth"]} for r in rows]  # fmt: skip
        return {"records": out, "next_after": out[-1]["seq"] if out else after}

    @app.get("/ledger", summary="The ledger, for auditors")
    def get_ledger(_who: Annotated[dict[str, Any], roles("admin", "auditor")], after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                   limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:  # fmt: skip
        with engine.connect() as conn:
            rows = list(_ledger.entries(conn, after=max(0, after), limit=max(1, min(limit, 10_000))))
        return {"entries": rows}

    @app.get("/ledger/verify", summary="Check the hash chain")
    def get_verify(_who: Annotated[dict[str, Any], roles("admin", "auditor")]) -> dict[str, Any]:
        with engine.connect() as conn:
            return _ledger.verify(conn).to_dict()

    from assay.service._contests import add_contest_routes
    from assay.service._monitoring import add_monitoring_routes
    from assay.service._pages import add_pages
    from assay.service._review import add_review_routes

    add_review_routes(app, engine, roles, model_row)
    add_monitoring_routes(app, engine, roles, model_row)
    add_contest_routes(app, engine, roles, model_row)
    add_pages(app, engine)
    return app
