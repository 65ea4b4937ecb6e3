"""The service's own routes, one router per area: tokens, models (registration, policy, card approvals), capture (predictions,
Model Monitor's data-capture and ground-truth records) and the ledger. Review, monitoring, contests and the pages add theirs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request

from assay._errors import Conflict, DataError, NotFound
from assay.review import Policy
from assay.service import _ledger
from assay.service._auth import LastAdminError, create_token, revoke_tokens
from assay.service._capture import (
    APPROVAL_FIELDS,
    MAX_SEQ,
    CaptureIn,
    CardApprovalIn,
    DataCaptureIn,
    GroundTruthIn,
    ModelIn,
    NdjsonResponse,
    TokenIn,
    TruthCaptureIn,
    TruthIn,
    capture,
    find_model,
    from_capture_records,
    store_truth,  # fmt: skip
    validation_message,
)
from assay.service._datacapture import to_capture, truth_from_capture
from assay.service._db import aware, models, predictions, tokens, utcnow
from assay.service._deps import JSON_ERRORS, Engine, roles
from assay.service._settings import configure

__all__ = ["ROUTERS", "register_model"]

tokens_router, models_router, capture_router, ledger_router = APIRouter(), APIRouter(), APIRouter(), APIRouter()


@tokens_router.post("/tokens", status_code=201, summary="Create an API token (shown once)")
def post_token(engine: Engine, body: TokenIn, who: Annotated[dict[str, Any], roles("admin")]) -> dict[str, Any]:
    return {"name": body.name, "role": body.role, "token": create_token(engine, name=body.name, role=body.role, actor=who["name"])}


@tokens_router.get("/tokens", summary="API tokens: who, which role, when made and revoked (never the tokens)")
def get_tokens(engine: Engine, _who: Annotated[dict[str, Any], roles("admin")]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.created_at, tokens.c.revoked_at).order_by(tokens.c.id)).all()
    return [{"id": r.id, "name": r.name, "role": r.role, "created_at": str(r.created_at), "revoked_at": None if r.revoked_at is None else str(r.revoked_at)}
            for r in rows]  # fmt: skip


@tokens_router.post("/tokens/{token_id}/revoke", summary="Revoke a token at once (its holder's page sessions end too)")
def post_revoke(engine: Engine, token_id: Annotated[int, Path(ge=1, le=MAX_SEQ)], who: Annotated[dict[str, Any], roles("admin")]) -> dict[str, Any]:
    try:
        done = revoke_tokens(engine, actor=who["name"], token_id=token_id)
    except LastAdminError as exc:
        raise Conflict(str(exc)) from None
    if not done:
        raise NotFound(f"no active token {token_id}")
    return done[0]


@models_router.post("/models", status_code=201, summary="Register a model version")
def post_model(engine: Engine, body: ModelIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    return register_model(engine, body, who["name"])


def register_model(engine: sa.Engine, body: ModelIn, actor: str) -> dict[str, Any]:
    """Register a model version (``actor`` owns it); a version registered before is a conflict."""
    spec = body.model_dump(exclude={"name", "version"}, exclude_none=True)
    with engine.begin() as conn:
        if conn.execute(sa.select(models.c.id).where(models.c.name == body.name, models.c.version == body.version)).first():
            raise Conflict(f"model {body.name}/{body.version} is already registered; register a new version")
        conn.execute(models.insert().values(name=body.name, version=body.version, owner=actor, spec=spec, created_at=utcnow()))
        _ledger.append(conn, actor=actor, action="model.register", subject=f"{body.name}/{body.version}", payload=spec)
    return {"name": body.name, "version": body.version, **spec}


@models_router.put("/models/{name}/{version}/policy", summary="Change the model's routing policy (recorded in the ledger)")
def put_policy(engine: Engine, name: str, version: str, body: Policy, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    value = body.model_dump(exclude_none=True)
    configure(engine, name, version, who["name"], "policy", value)
    return value


@models_router.post("/models/{name}/{version}/card-approvals", status_code=201, summary="Record a signed model-card approval in the ledger")
def post_card_approval(
    engine: Engine, name: str, version: str, body: CardApprovalIn, who: Annotated[dict[str, Any], roles("admin", "owner")]
) -> dict[str, Any]:
    from assay.cards._store import approval_is_signed

    e = body.entry
    if e.get("action") != "approve":
        raise DataError(f"entry.action must be 'approve' (an approval line of the card's log.jsonl), got {e.get('action')!r}")
    if not approval_is_signed(body.card, e):
        raise DataError(f"the approval's signature does not verify for card {body.card!r}: the entry was altered, names another card, "
                                 "or was not signed by the key it names")  # fmt: skip
    record = {"card": body.card, **{k: e.get(k) for k in ("version", *APPROVAL_FIELDS)}}
    with engine.begin() as conn:
        find_model(conn, name, version)
        entry = _ledger.append(conn, actor=who["name"], action="card.approval", subject=f"{name}/{version}", payload=record)
    return {"ledger_seq": entry["seq"], **record}


@models_router.get("/models", summary="Registered models")
def get_models(engine: Engine, _who: Annotated[dict[str, Any], roles("admin", "owner", "reviewer", "approver", "auditor")]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [{"name": r.name, "version": r.version, "owner": r.owner, **r.spec} for r in conn.execute(sa.select(models).order_by(models.c.id))]


@capture_router.post("/models/{name}/{version}/predictions", status_code=201, summary="Capture predictions (one or a batch)")
def post_predictions(engine: Engine, request: Request, name: str, version: str, body: CaptureIn, who: Annotated[dict[str, Any], roles("admin", "owner")],
                     receipts: Annotated[bool, Query(description="return each decision's receipt, for the person it is about")] = False) -> dict[str, Any]:  # fmt: skip
    out = capture(engine, name, version, body.records, who["name"])
    if receipts:
        from assay.service._contests import receipt

        out["receipts"] = {r.id: receipt(request.app.state.receipt_key, name, version, r.id) for r in body.records}
    return out


@capture_router.post("/models/{name}/{version}/data-capture", status_code=201, summary="Capture SageMaker Model Monitor data-capture records")
def post_data_capture(engine: Engine, name: str, version: str, body: DataCaptureIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    with engine.connect() as conn:
        m = find_model(conn, name, version)
    return capture(engine, name, version, from_capture_records(body.records, m.spec), who["name"])


@capture_router.get("/models/{name}/{version}/data-capture", summary="Captured predictions as Model Monitor data-capture records (JSON Lines)",
         response_class=NdjsonResponse, responses=JSON_ERRORS)  # fmt: skip
def get_data_capture(engine: Engine, name: str, version: str, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")],
                     after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> NdjsonResponse:  # fmt: skip
    with engine.connect() as conn:
        m = find_model(conn, name, version)
        rows = conn.execute(sa.select(predictions).where(predictions.c.model_id == m.id, predictions.c.seq > after)
                            .order_by(predictions.c.seq).limit(limit)).mappings().all()  # fmt: skip
    text = "".join(json.dumps(to_capture(r)) + "\n" for r in rows)
    return NdjsonResponse(text, headers={"X-Next-After": str(rows[-1]["seq"] if rows else after)})


@capture_router.post("/models/{name}/{version}/ground-truth", summary="Ground truth for captured predictions, by id")
def post_truth(engine: Engine, name: str, version: str, body: GroundTruthIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    return store_truth(engine, name, version, body.records, who["name"])


@capture_router.post("/models/{name}/{version}/data-capture/ground-truth", summary="Ground truth as Model Monitor's ground-truth records (groundTruthData)")
def post_mm_truth(engine: Engine, name: str, version: str, body: TruthCaptureIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    with engine.connect() as conn:
        m = find_model(conn, name, version)
    from pydantic import ValidationError

    try:
        records = [TruthIn(**truth_from_capture(line, m.spec, f"records[{i}]")) for i, line in enumerate(body.records)]
    except ValidationError as exc:
        raise DataError(validation_message(exc)) from None
    except ValueError as exc:
        raise DataError(str(exc)) from None
    return store_truth(engine, name, version, records, who["name"])


@capture_router.get("/models/{name}/{version}/predictions", summary="Captured predictions, in capture order")
def get_predictions(engine: Engine, name: str, version: str, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")],
                    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:  # fmt: skip
    with engine.connect() as conn:
        m = find_model(conn, name, version)
        rows = conn.execute(sa.select(predictions).where(predictions.c.model_id == m.id, predictions.c.seq > after)
                            .order_by(predictions.c.seq).limit(limit)).mappings().all()  # fmt: skip
    out = [{"seq": r["seq"], "id": r["prediction_id"], "inputs": r["inputs"], "score": r["score"], "label": r["label"], "facets": r["facets"],
            "captured_at": aware(r["captured_at"]).isoformat(),
            "inference_time": None if r["inference_time"] is None else aware(r["inference_time"]).isoformat(),
            "ground_truth": r["ground_truth"]} for r in rows]  # fmt: skip
    return {"records": out, "next_after": out[-1]["seq"] if out else after}


@ledger_router.get("/ledger", summary="The ledger, for auditors")
def get_ledger(engine: Engine, _who: Annotated[dict[str, Any], roles("admin", "auditor")], after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
               limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:  # fmt: skip
    with engine.connect() as conn:
        rows = list(_ledger.entries(conn, after=max(0, after), limit=max(1, min(limit, 10_000))))
    return {"entries": rows}


@ledger_router.get("/ledger/verify", summary="Check the hash chain")
def get_verify(engine: Engine, _who: Annotated[dict[str, Any], roles("admin", "auditor")]) -> dict[str, Any]:
    with engine.connect() as conn:
        return _ledger.verify(conn).to_dict()


ROUTERS = (tokens_router, models_router, capture_router, ledger_router)
