"""Explanations of single decisions and contests: a person affected by a decision asks why, disputes it, and gets a recorded answer.

* ``GET /models/{name}/{version}/predictions/{id}/explanation``: the decision
  (label, score, threshold), the features that pushed it most (the explanation
  captured with the prediction, largest |attribution| first), whether it was
  reviewed and with what outcome, its ground truth and its contests.
* ``POST /models/{name}/{version}/predictions/{id}/contests`` (an operator,
  on the person's behalf: ``on_behalf_of`` names them): the reason; the
  contest becomes a review task ahead of every routed task (priority 100),
  answered by the model's reviewers with the policy's question and answers.
  When the task is consolidated the contest is ``upheld`` (the reviewers agree
  with the model), ``overturned`` (they do not; their answer becomes the
  ground truth) or ``no_consensus``.
* ``POST /contests/{id}/response``: the operator's answer to the person, once
  the contest is decided; ``GET /contests``, ``GET /contests/{id}``.
* The person themselves, without an API token: the capture returns a receipt
  per decision on request (``?receipts=true``: an HMAC of model, version and
  id under the service's key), which the deploying application hands to the
  person with the decision; ``POST /decisions/explanation`` and ``POST
  /decisions/contest`` take model, version, id and receipt (in the body, so
  it stays out of URLs and logs) and show only the person's own decision,
  its explanation and their contests, without staff names. The receipt is
  checked in constant time before anything is read; each client may call
  these routes 30 times a minute (then 429 with Retry-After).

Every step is in the ledger (``contest.open``, ``contest.decide``,
``contest.respond``).
"""

import datetime as _dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from assay._errors import Conflict, NotFound
from assay.review import Policy
from assay.service import _ledger
from assay.service._db import aware, contests, find_model, models, predictions, review_tasks, utcnow
from assay.service._deps import Engine, roles
from assay.service._guard import STRICT

__all__ = ["RECEIPT_ATTEMPTS", "RECEIPT_SECONDS", "contest_view", "contest_views", "decide", "decision_of", "receipt", "receipt_key", "respond_to"]

RECEIPT_ATTEMPTS, RECEIPT_SECONDS = 30, 60.0  # calls per client to the receipt routes, per minute

PRIORITY = 100  # contests are reviewed before routed predictions
PUBLIC_CONTEST = ("id", "opened_at", "reason", "status", "outcome", "response", "responded_at")  # what the person sees of a contest


class ContestIn(BaseModel):
    model_config = STRICT
    reason: str = Field(min_length=1, max_length=5000, description="why the person disputes the decision, in their words")
    on_behalf_of: str | None = Field(default=None, max_length=200, description="who contests (a reference, not their personal data)")


class DecisionIn(BaseModel):
    model_config = STRICT
    model: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=100)
    id: str = Field(min_length=1, max_length=200)
    receipt: str = Field(pattern="^[0-9a-f]{32}$", description="the receipt given with the decision")


class DecisionContestIn(DecisionIn):
    reason: str = Field(min_length=1, max_length=5000)


def receipt_key(engine: sa.Engine) -> bytes:
    """The service's key for decision receipts (made once, kept in the database so every process and restart agrees)."""
    import secrets

    from assay.service._db import service_secrets

    try:
        with engine.begin() as conn:
            if conn.execute(sa.select(service_secrets.c.name).where(service_secrets.c.name == "receipts")).first() is None:
                conn.execute(service_secrets.insert().values(name="receipts", value=secrets.token_hex(32)))
    except sa.exc.IntegrityError:  # another process made it at the same moment: theirs is the key
        pass
    with engine.connect() as conn:
        return bytes.fromhex(conn.execute(sa.select(service_secrets.c.value).where(service_secrets.c.name == "receipts")).scalar_one())


def receipt(key: bytes, model: str, version: str, prediction_id: str) -> str:
    """The receipt of one decision: an HMAC of model, version and id (128 bits), given to the person with the decision."""
    import hashlib
    import hmac

    return hmac.new(key, f"{model}/{version}\x00{prediction_id}".encode(), hashlib.sha256).hexdigest()[:32]


class ResponseIn(BaseModel):
    model_config = STRICT
    message: str = Field(min_length=1, max_length=10_000)


def _iso(t: _dt.datetime | None) -> str | None:
    return None if t is None else aware(t).isoformat()


def contest_views(conn: sa.Connection, *where: Any, newest_first: bool = False, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Contests matching ``where`` with their model and review task, in one query."""
    t = review_tasks
    q = (sa.select(contests, models.c.name.label("model_name"), models.c.version.label("model_version"), t.c.id.label("task_id"),
                   t.c.status.label("task_status"), t.c.answer.label("task_answer"), t.c.agreement.label("task_agreement"), t.c.priority.label("task_priority"))
         .join(models, models.c.id == contests.c.model_id).outerjoin(t, t.c.contest_id == contests.c.id)
         .where(*where).order_by(contests.c.id.desc() if newest_first else contests.c.id).limit(limit).offset(offset))  # fmt: skip
    out = []
    for c in conn.execute(q):
        status = "expired" if c.status == "open" and c.task_status == "expired" else c.status
        out.append({"id": c.id, "model": f"{c.model_name}/{c.model_version}", "prediction_id": c.prediction_id, "opened_at": _iso(c.opened_at),
                    "opened_by": c.opened_by, "on_behalf_of": c.on_behalf_of, "reason": c.reason, "status": status, "outcome": c.outcome,
                    "review": None if c.task_id is None else {"task_id": c.task_id, "status": c.task_status, "answer": c.task_answer,
                                                              "agreement": c.task_agreement, "priority": c.task_priority},
                    "response": c.response, "responded_at": _iso(c.responded_at), "responded_by": c.responded_by})  # fmt: skip
    return out


def contest_view(conn: sa.Connection, contest_id: int) -> dict[str, Any]:
    """One contest (404 when there is none)."""
    views = contest_views(conn, contests.c.id == contest_id)
    if not views:
        raise NotFound(f"no contest {contest_id}")
    return views[0]


def decide(conn: sa.Connection, task: Any, status: str, answer: str | None) -> None:
    """A contest's review task was consolidated: upheld, overturned or no consensus (called inside the consolidation's transaction)."""
    p = conn.execute(sa.select(predictions.c.label).where(predictions.c.model_id == task.model_id, predictions.c.prediction_id == task.prediction_id)).one()
    outcome = "no_consensus" if answer is None else ("upheld" if answer == p.label else "overturned")
    conn.execute(contests.update().where(contests.c.id == task.contest_id).values(status=outcome, outcome=answer))
    _ledger.append(conn, actor="assay", action="contest.decide", subject=f"contest/{task.contest_id}",
                   payload={"status": outcome, "reviewed_answer": answer, "model_label": p.label, "task": task.id, "consolidation": status})  # fmt: skip


def decision_of(conn: sa.Connection, model: str, prediction_id: str) -> dict[str, Any]:
    """The decision ``prediction_id`` of ``model`` ("name/version"): its label and score, inputs, explanation, reviews, contests."""
    name, _, version = model.partition("/")
    m = find_model(conn, name, version)
    return _decision(conn, m, _prediction(conn, m, prediction_id))


def _prediction(conn: sa.Connection, m: Any, pid: str) -> Any:
    p = conn.execute(sa.select(predictions).where(predictions.c.model_id == m.id, predictions.c.prediction_id == pid)).first()
    if p is None:
        raise NotFound(f"model {m.name}/{m.version} has no captured prediction {pid!r}")
    return p


def _decision(conn: sa.Connection, m: Any, p: Any) -> dict[str, Any]:
    tasks = conn.execute(sa.select(review_tasks).where(review_tasks.c.model_id == m.id, review_tasks.c.prediction_id == p.prediction_id)
                         .order_by(review_tasks.c.id)).all()  # fmt: skip
    cs = contest_views(conn, contests.c.model_id == m.id, contests.c.prediction_id == p.prediction_id)
    expl = p.explanation or {}
    ranked = sorted(expl.items(), key=lambda kv: -abs(kv[1]))
    return {"model": f"{m.name}/{m.version}", "prediction_id": p.prediction_id, "captured_at": _iso(p.captured_at),
            "inference_time": _iso(p.inference_time),
            "decision": {"label": p.label, "score": p.score, "threshold": m.spec.get("threshold", 0.5)}, "inputs": p.inputs, "facets": p.facets,
            "explanation": None if not expl else {"attributions": [{"feature": f, "attribution": v, "input": (p.inputs or {}).get(f),
                                                                    "direction": "towards" if v > 0 else "against" if v < 0 else "none"} for f, v in ranked],
                                                  "note": "attributions sent with the prediction; positive values pushed the score up"},
            "why_reviewed": [{"task_id": t.id, "reasons": t.reasons, "status": t.status, "answer": t.answer, "contest_id": t.contest_id} for t in tasks],
            "ground_truth": p.ground_truth, "ground_truth_source": p.ground_truth_source, "contests": cs}  # fmt: skip


def open_contest_for(engine: sa.Engine, name: str, version: str, prediction_id: str, body: ContestIn, actor: str) -> dict[str, Any]:
    """Open a contest of one decision: a priority review task by the model's policy, recorded in the ledger; the contest."""
    now = utcnow()
    with engine.begin() as conn:
        m = find_model(conn, name, version)
        _prediction(conn, m, prediction_id)
        if not m.spec.get("policy"):
            raise Conflict(f"model {name}/{version} has no review policy (question, answers, reviewers): PUT /models/{name}/{version}/policy first")
        if conn.execute(sa.select(contests.c.id).where(contests.c.model_id == m.id, contests.c.prediction_id == prediction_id,
                                                       contests.c.status == "open")).first():  # fmt: skip
            raise Conflict(f"prediction {prediction_id!r} already has an open contest")
        policy = Policy.stored(m.spec["policy"])
        cid = conn.execute(contests.insert().values(model_id=m.id, prediction_id=prediction_id, opened_at=now, opened_by=actor,
                                                    on_behalf_of=body.on_behalf_of, reason=body.reason, status="open")).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        conn.execute(review_tasks.insert().values(model_id=m.id, prediction_id=prediction_id, reasons=[{"condition": {"type": "contest"}, "reason": body.reason}],
                                                  priority=PRIORITY, required=policy.reviewers_per_item, status="open", created_at=now,
                                                  expires_at=now + _dt.timedelta(hours=policy.task_hours), contest_id=cid))  # fmt: skip
        _ledger.append(conn, actor=actor, action="contest.open", subject=f"{name}/{version}",
                       payload={"contest": cid, "prediction_id": prediction_id, "on_behalf_of": body.on_behalf_of, "reason": body.reason})  # fmt: skip
        return contest_view(conn, cid)


def _by_receipt(conn: sa.Connection, body: DecisionIn, request: Request, attempts: Any) -> tuple[Any, Any]:
    """The decision a receipt opens. The receipt is checked (in constant time) before anything is read, so a wrong one costs
    the same whether or not the decision exists and however large it is; attempts per client are limited."""
    import hmac

    attempts.check(request.client.host if request.client else "unknown")
    if not hmac.compare_digest(receipt(request.app.state.receipt_key, body.model, body.version, body.id), body.receipt):
        raise HTTPException(401, "no decision with this model, version, id and receipt")
    m = conn.execute(sa.select(models).where(models.c.name == body.model, models.c.version == body.version)).first()
    p = None if m is None else conn.execute(sa.select(predictions).where(predictions.c.model_id == m.id, predictions.c.prediction_id == body.id)).first()
    if p is None:  # one answer for an unknown decision and a wrong receipt: nothing to learn by guessing
        raise HTTPException(401, "no decision with this model, version, id and receipt")
    return m, p


def _public(view: dict[str, Any]) -> dict[str, Any]:
    """What the person sees: their decision, its explanation, the review outcome and their contests (no staff names)."""
    return {"model": view["model"], "prediction_id": view["prediction_id"], "decided_at": view["inference_time"] or view["captured_at"], "decision": view["decision"],
            "inputs": view["inputs"], "explanation": view["explanation"],
            "contests": [{k: c[k] for k in PUBLIC_CONTEST} for c in view["contests"]]}  # fmt: skip


router = APIRouter()  # the contests routes (create_app includes it)


@router.get("/models/{name}/{version}/predictions/{prediction_id}/explanation", summary="Why the model decided as it did, for one prediction")
def explanation(
    engine: Engine, name: str, version: str, prediction_id: str, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")]
) -> dict[str, Any]:
    with engine.connect() as conn:
        m = find_model(conn, name, version)
        return _decision(conn, m, _prediction(conn, m, prediction_id))


@router.post("/models/{name}/{version}/predictions/{prediction_id}/contests", status_code=201, summary="Contest a decision: a priority review task")
def open_contest(
    engine: Engine, name: str, version: str, prediction_id: str, body: ContestIn, who: Annotated[dict[str, Any], roles("admin", "owner")]
) -> dict[str, Any]:
    return open_contest_for(engine, name, version, prediction_id, body, who["name"])


# -- the person the decision is about: no API token, the decision's receipt ------------------------------------------


@router.post("/decisions/explanation", summary="For the person a decision is about: its explanation and contests (authenticated by the receipt)")
def my_decision(engine: Engine, body: DecisionIn, request: Request) -> dict[str, Any]:
    with engine.connect() as conn:
        m, p = _by_receipt(conn, body, request, request.app.state.receipt_attempts)
        return _public(_decision(conn, m, p))


@router.post("/decisions/contest", status_code=201, summary="For the person a decision is about: contest it (authenticated by the receipt)")
def contest_my_decision(engine: Engine, body: DecisionContestIn, request: Request) -> dict[str, Any]:
    with engine.connect() as conn:
        _by_receipt(conn, body, request, request.app.state.receipt_attempts)
    view = open_contest_for(engine, body.model, body.version, body.id, ContestIn(reason=body.reason), "subject")
    return {k: view[k] for k in PUBLIC_CONTEST}


@router.get("/contests", summary="Contests, newest first")
def list_contests(engine: Engine, _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")],
                  status: Annotated[str | None, Query(pattern="^(open|upheld|overturned|no_consensus)$")] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:  # fmt: skip
    with engine.connect() as conn:
        return contest_views(conn, *([contests.c.status == status] if status else []), newest_first=True, limit=limit)


@router.get("/contests/{contest_id}", summary="One contest: the reason, the review, the outcome and the response")
def get_contest(
    engine: Engine, contest_id: Annotated[int, Path(ge=1, le=2**62)], _who: Annotated[dict[str, Any], roles("admin", "owner", "auditor")]
) -> dict[str, Any]:
    with engine.connect() as conn:
        return contest_view(conn, contest_id)


@router.post("/contests/{contest_id}/response", summary="Record the answer given to the person who contested")
def respond(
    engine: Engine, contest_id: Annotated[int, Path(ge=1, le=2**62)], body: ResponseIn, who: Annotated[dict[str, Any], roles("admin", "owner")]
) -> dict[str, Any]:
    return respond_to(engine, contest_id, body.message, who["name"])


def respond_to(engine: sa.Engine, contest_id: int, message: str, actor: str) -> dict[str, Any]:
    """Record the answer given to the person who contested, once the contest is decided; written once."""
    with engine.begin() as conn:
        c = contest_view(conn, contest_id)
        if c["status"] == "open":
            raise Conflict(f"contest {contest_id} is still under review; respond once it is decided")
        if c["response"] is not None:
            raise Conflict(f"contest {contest_id} was already answered on {c['responded_at']}; the record is not rewritten")
        conn.execute(contests.update().where(contests.c.id == contest_id).values(response=message, responded_at=utcnow(), responded_by=actor))
        _ledger.append(conn, actor=actor, action="contest.respond", subject=f"contest/{contest_id}", payload={"message": message})
        return contest_view(conn, contest_id)
