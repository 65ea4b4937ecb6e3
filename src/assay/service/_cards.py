"""A model version's audit and card, kept in the service: the audit's analysis.json, the card store (the same versions and
hash-chained review log as ``assay card``'s directory, in the ``card_versions`` and ``card_log`` tables), and the approvers'
signing keys.

An approver registers an Ed25519 private key encrypted with a passphrase (``assay card keygen`` with ASSAY_KEY_PASSPHRASE
set writes one); the service keeps it as given, encrypted, and never the passphrase. Approving sends the passphrase: the key is
opened in memory, signs the approval exactly as ``assay card approve`` does, and is dropped. Every card action is also a ledger
entry naming the card log's entry hash, so ``assay ledger verify --db`` checks the card logs against the ledger, and the store
exported (``assay service card --out DIR``) verifies with ``assay card verify DIR``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from assay._errors import AssayError, ConfigError, Conflict, DataError, NotFound
from assay.service import _ledger
from assay.service._card_records import DbCards
from assay.service._db import audits, find_model, serialise, signing_keys, utcnow
from assay.service._deps import Engine, roles

__all__ = ["DbCards", "approval_request", "card_act", "card_of", "latest_audit", "record_signed_approval", "router", "store_audit", "store_card"]

READERS = ("admin", "owner", "approver", "auditor")


def _store(conn: sa.Connection, model: Any) -> Any:
    from assay.cards import CardStore

    return CardStore(records=DbCards(conn, model))


def _card(conn: sa.Connection, name: str, version: str) -> Any:
    """The card store of model ``name``/``version`` (404 when the model or its card is missing)."""
    store = _store(conn, find_model(conn, name, version))
    if not store.entries():
        raise NotFound(f"model {name}/{version} has no card yet; build one first (PUT /models/{name}/{version}/card)")
    return store


# == the audit ===================================================================================================================
def store_audit(engine: sa.Engine, name: str, version: str, analysis: dict[str, Any], actor: str) -> dict[str, Any]:
    """Keep ``analysis`` (an analysis.json document) as the model version's audit; the newest is the one its report and card use."""
    from assay.report import render_report

    if not any(k in analysis for k in ("pre_training_bias_metrics", "post_training_bias_metrics")):
        raise DataError("analysis must be an analysis.json document (`assay audit --out DIR` writes one): it has neither "
                        "pre_training_bias_metrics nor post_training_bias_metrics")  # fmt: skip
    try:
        render_report(analysis)  # refused now, not when someone opens the page
    except Exception as exc:  # noqa: BLE001 - any document the report cannot read is bad input, named
        raise DataError(f"analysis is not a document the report can render: {type(exc).__name__}: {exc}") from None
    try:
        text = json.dumps(analysis, sort_keys=True, allow_nan=False)
    except ValueError:
        raise DataError("analysis holds NaN or infinity; analysis.json writes undefined figures as null") from None
    digest = hashlib.sha256(text.encode()).hexdigest()
    with engine.begin() as conn:
        model = find_model(conn, name, version)
        row = conn.execute(audits.insert().values(model_id=model.id, created_at=utcnow(), created_by=actor, analysis=analysis, sha256=digest))
        _ledger.append(conn, actor=actor, action="model.audit", subject=f"{name}/{version}", payload={"sha256": digest})
    return {"audit": int((row.inserted_primary_key or [0])[0]), "sha256": digest}


def latest_audit(conn: sa.Connection, model: Any) -> Any:
    """The newest audit of ``model`` (a row: id, created_at, created_by, analysis, sha256), or None."""
    return conn.execute(sa.select(audits).where(audits.c.model_id == model.id).order_by(audits.c.id.desc()).limit(1)).first()


# == the card ====================================================================================================================
def store_card(engine: sa.Engine, name: str, version: str, info: dict[str, Any], actor: str) -> dict[str, Any]:
    """Build the card from the newest audit and ``info`` (the human parts, as ``assay card init`` lists them); a new Draft version
    unless the content equals the latest."""
    from assay.cards import build_content

    with engine.begin() as conn:
        serialise(conn, "ledger")
        model = find_model(conn, name, version)
        audit = latest_audit(conn, model)
        if audit is None:
            raise Conflict(f"model {name}/{version} has no audit yet; store its analysis.json first (PUT /models/{name}/{version}/audit)")
        content = build_content(audit.analysis, info)
        store = _store(conn, model)
        number, created = store.add_version(content, by=actor)
        if created:
            entry = store.entries()[-1]
            _ledger.append(conn, actor=actor, action="card.create", subject=f"{name}/{version}", payload=_entry_payload(store.name, entry, audit.sha256))
        return {"card": store.name, "version": number, "created": created, "status": store.status(number), "content_hash": store.read(number)["content_hash"]}


def card_act(engine: sa.Engine, name: str, version: str, action: str, actor: str, reason: str, passphrase: str | None = None) -> dict[str, Any]:
    """Record a review action on the card's latest version; an approval is signed with ``actor``'s registered key, opened with
    ``passphrase``. The card log's entry."""
    with engine.begin() as conn:
        serialise(conn, "ledger")
        store = _card(conn, name, version)
        key = _open_key(conn, actor, passphrase) if action == "approve" else None
        try:
            entry = store.act(action, by=actor, reason=reason, key=key)
        except AssayError as exc:  # not allowed in the card's state, or the approver submitted it: a conflict with what is stored
            raise (exc if isinstance(exc, ConfigError) else Conflict(str(exc))) from None
        _ledger.append(conn, actor=actor, action=f"card.{action}", subject=f"{name}/{version}", payload=_entry_payload(store.name, entry))
    return entry


def approval_request(engine: sa.Engine, name: str, version: str, actor: str) -> dict[str, Any]:
    """What ``actor`` signs with ``assay card sign`` to approve the card's latest version without giving the service a key."""
    with engine.connect() as conn:
        store = _card(conn, name, version)
        try:
            return dict(store.approval_request(actor))
        except AssayError as exc:
            raise (exc if isinstance(exc, ConfigError) else Conflict(str(exc))) from None


def record_signed_approval(engine: sa.Engine, name: str, version: str, actor: str, signed: dict[str, Any]) -> dict[str, Any]:
    """Record an approval that ``actor`` signed with their own key (``assay card sign``): checked against the log as it stands."""
    with engine.begin() as conn:
        serialise(conn, "ledger")
        store = _card(conn, name, version)
        try:
            entry = store.append_approval(signed, by=actor)
        except AssayError as exc:  # bad content is a DataError (422); not approvable now, a conflict with what is stored
            raise (exc if isinstance(exc, (ConfigError, DataError)) else Conflict(str(exc))) from None
        _ledger.append(conn, actor=actor, action="card.approve", subject=f"{name}/{version}", payload=_entry_payload(store.name, entry))
    return entry


def _entry_payload(card: str, entry: dict[str, Any], audit_sha256: str | None = None) -> dict[str, Any]:
    out = {"card": card, "card_seq": entry["seq"], "card_version": entry["version"], "content_hash": entry["content_hash"], "entry_hash": entry["hash"],
           "to_status": entry["to_status"]}  # fmt: skip
    if entry.get("signature"):
        out |= {"key_id": entry["key_id"], "signature": entry["signature"]}
    if audit_sha256 is not None:
        out["audit_sha256"] = audit_sha256
    return out


def card_of(conn: sa.Connection, model: Any, *, versions: bool = True) -> dict[str, Any] | None:
    """The whole card store of ``model``: name, latest version and status, every version (unless ``versions`` is false: a page that
    shows the record only) and the review log (None: no card)."""
    store = _store(conn, model)
    entries = store.entries()
    if not entries:
        return None
    latest = store.latest(entries)
    return {"card": store.name, "latest": latest, "status": store.status(latest, entries),
            "versions": [store.records.read(v) for v in store.records.versions()] if versions else None, "log": entries}  # fmt: skip


# == signing keys ================================================================================================================
def _unlock(pem: bytes, passphrase: str, what: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode())
    except (ValueError, TypeError):
        raise DataError(f"{what}: the passphrase does not open the key (or it is not a PEM private key)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DataError(f"{what}: the key is a {type(key).__name__}; approvals are signed with Ed25519 keys (assay card keygen)")
    return key


def register_key(engine: sa.Engine, actor: str, pem: str, passphrase: str) -> dict[str, Any]:
    """Keep ``actor``'s Ed25519 private key as given, encrypted (PEM); ``passphrase`` opens it once, to check it and read its public
    key, and is not kept. An earlier key of theirs is retired (approvals it signed still verify)."""
    from cryptography.hazmat.primitives import serialization

    from assay.cards import key_id

    data = pem.encode()
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in data:
        raise DataError("private_key must be an encrypted PEM private key (-----BEGIN ENCRYPTED PRIVATE KEY-----): the service keeps keys "
                        "only encrypted; make one with ASSAY_KEY_PASSPHRASE set: assay card keygen --out NAME")  # fmt: skip
    public = _unlock(data, passphrase, "private_key").public_key()
    kid = key_id(public)
    pub_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with engine.begin() as conn:
        if conn.execute(sa.select(signing_keys.c.id).where(signing_keys.c.key_id == kid)).first():
            raise Conflict(f"key {kid} is already registered")
        now = utcnow()
        conn.execute(signing_keys.update().where(signing_keys.c.name == actor, signing_keys.c.retired_at.is_(None)).values(retired_at=now))
        conn.execute(signing_keys.insert().values(name=actor, key_id=kid, public_key=pub_pem, private_key=pem, created_at=now))
        _ledger.append(conn, actor=actor, action="key.register", subject=actor, payload={"key_id": kid, "public_key": pub_pem})
    return {"name": actor, "key_id": kid, "public_key": pub_pem}


def _open_key(conn: sa.Connection, actor: str, passphrase: str | None) -> Any:
    row = conn.execute(sa.select(signing_keys).where(signing_keys.c.name == actor, signing_keys.c.retired_at.is_(None))).first()
    if row is None:
        raise Conflict(f"{actor} has no signing key registered; register one first (PUT /keys, or the console's Keys page)")
    if not passphrase:
        raise DataError("passphrase is required: it opens your registered signing key")
    return _unlock(row.private_key.encode(), passphrase, f"key {row.key_id}")


def keys_of(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every registered key (public parts only), oldest first."""
    rows = conn.execute(sa.select(signing_keys.c.name, signing_keys.c.key_id, signing_keys.c.public_key, signing_keys.c.created_at,
                                  signing_keys.c.retired_at).order_by(signing_keys.c.id))  # fmt: skip
    return [{"name": r.name, "key_id": r.key_id, "public_key": r.public_key, "created_at": str(r.created_at),
             "retired_at": None if r.retired_at is None else str(r.retired_at)} for r in rows]  # fmt: skip


# == routes ======================================================================================================================
class AuditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    analysis: dict[str, Any] = Field(description="the audit's analysis.json (assay audit --out DIR writes it)")


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    info: dict[str, Any] = Field(description="the card's human parts: name, intended uses, risk rating... (assay card init writes a template)")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="why; recorded with the action")


class ApproveIn(ActionIn):
    passphrase: str = Field(min_length=1, max_length=1000, description="opens your registered signing key; never stored")


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    private_key: str = Field(max_length=10_000, description="your Ed25519 private key, PEM, encrypted (assay card keygen with ASSAY_KEY_PASSPHRASE)")
    passphrase: str = Field(min_length=1, max_length=1000, description="opens it once, to check it; never stored")


router = APIRouter()


@router.put("/models/{name}/{version}/audit", summary="Store the model version's audit (analysis.json); its report and card use the newest")
def put_audit(engine: Engine, name: str, version: str, body: AuditIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    return store_audit(engine, name, version, body.analysis, who["name"])


@router.get("/models/{name}/{version}/audit", summary="The model version's newest audit (analysis.json)")
def get_audit(engine: Engine, name: str, version: str, _who: Annotated[dict[str, Any], roles(*READERS)]) -> dict[str, Any]:
    with engine.connect() as conn:
        row = latest_audit(conn, find_model(conn, name, version))
    if row is None:
        raise NotFound(f"model {name}/{version} has no audit")
    return dict(row.analysis)


@router.put("/models/{name}/{version}/card", summary="Build the card from the newest audit and its human parts: a new Draft version")
def put_card(engine: Engine, name: str, version: str, body: CardIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    return store_card(engine, name, version, body.info, who["name"])


@router.get("/models/{name}/{version}/card", summary="The card store: every version and the hash-chained review log (verify it with assay card verify)")
def get_card(engine: Engine, name: str, version: str, _who: Annotated[dict[str, Any], roles(*READERS)]) -> dict[str, Any]:
    with engine.connect() as conn:
        card = card_of(conn, find_model(conn, name, version))
    if card is None:
        raise NotFound(f"model {name}/{version} has no card")
    return card


@router.post("/models/{name}/{version}/card/submit", summary="Submit the card's latest version for review (Draft -> PendingReview)")
def post_submit(engine: Engine, name: str, version: str, body: ActionIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    return card_act(engine, name, version, "submit", who["name"], body.reason)


@router.post("/models/{name}/{version}/card/reject", summary="Send the card back to its owner (PendingReview -> Draft)")
def post_reject(engine: Engine, name: str, version: str, body: ActionIn, who: Annotated[dict[str, Any], roles("approver")]) -> dict[str, Any]:
    return card_act(engine, name, version, "reject", who["name"], body.reason)


@router.post("/models/{name}/{version}/card/archive", summary="Archive the card (final: no more versions)")
def post_archive(engine: Engine, name: str, version: str, body: ActionIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    return card_act(engine, name, version, "archive", who["name"], body.reason)


@router.post("/models/{name}/{version}/card/approve", summary="Approve the card, signed with your registered key (PendingReview -> Approved)")
def post_approve(engine: Engine, name: str, version: str, body: ApproveIn, who: Annotated[dict[str, Any], roles("approver")]) -> dict[str, Any]:
    return card_act(engine, name, version, "approve", who["name"], body.reason, body.passphrase)


class SignedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signed: dict[str, Any] = Field(description="the approval signed with assay card sign (from GET .../card/approval-request)")


@router.get(
    "/models/{name}/{version}/card/approval-request", summary="The approval to sign with your own key (assay card sign), for approving without a registered key"
)
def get_approval_request(engine: Engine, name: str, version: str, who: Annotated[dict[str, Any], roles("approver")]) -> dict[str, Any]:
    return approval_request(engine, name, version, who["name"])


@router.post("/models/{name}/{version}/card/approve-signed", summary="Approve the card with an approval you signed yourself (assay card sign)")
def post_approve_signed(engine: Engine, name: str, version: str, body: SignedIn, who: Annotated[dict[str, Any], roles("approver")]) -> dict[str, Any]:
    return record_signed_approval(engine, name, version, who["name"], body.signed)


@router.put("/keys", summary="Register your signing key (kept encrypted; the passphrase is not kept)")
def put_key(engine: Engine, body: KeyIn, who: Annotated[dict[str, Any], roles("approver")]) -> dict[str, Any]:
    return register_key(engine, who["name"], body.private_key, body.passphrase)


@router.get("/keys", summary="Registered signing keys (public parts): the keys to trust when verifying cards")
def get_keys(engine: Engine, _who: Annotated[dict[str, Any], roles(*READERS)]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return keys_of(conn)
