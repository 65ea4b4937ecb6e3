"""The service's domain: registered models, prediction capture (with routing to review), ground truth, settings, the request models.

Every route needs a bearer token (``Authorization: Bearer <token>``) but the
two a person uses with their decision's receipt (``_contests``); tokens are
stored as SHA-256 hashes and carry one role, and each route names the roles it
admits (admin, owner, reviewer, approver, auditor, bounty: the table is in docs/service.md and
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

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field, field_validator

from assay._errors import AssayError, Conflict, DataError, NotFound
from assay.review import Policy, fired
from assay.service import _ledger
from assay.service._datacapture import CAPTURE_RECORD, TRUTH_RECORD, from_capture, truth_from_capture
from assay.service._db import aware, find_model, predictions, review_tasks, utcnow
from assay.service._guard import STRICT

__all__ = [
    "CaptureIn",
    "ModelIn",
    "PredictionIn",
    "TruthIn",
    "capture",
    "find_model",
    "route_preview",
    "ImportStopped",
    "capture_files",
    "import_capture",
    "store_truth",
    "validation_message",
]

MAX_BATCH = 10_000
MAX_SEQ = 2**62  # sequence numbers and ids beyond this cannot exist (and would overflow the database's integers)


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
    score: float | None = Field(default=None, ge=0.0, le=1.0, strict=True, description='a number from 0 to 1 (a string such as "0.9" is refused)')
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
    role: str = Field(pattern="^(admin|owner|reviewer|approver|auditor|bounty)$")


APPROVAL_FIELDS = ("content_hash", "by", "reason", "time", "key_id", "public_key", "signature")


class CardApprovalIn(_Strict):
    card: str = Field(min_length=1, max_length=400, description="the card's name (its model_overview.model_name)")
    entry: dict[str, Any] = Field(description="the approve line of the card store's log.jsonl, as `assay card approve` wrote it",
                                  json_schema_extra={"required": ["action", *APPROVAL_FIELDS], "properties": {"action": {"const": "approve"},
                                                     **{k: {"type": "string"} for k in APPROVAL_FIELDS}}})  # fmt: skip


def store_truth(engine: sa.Engine, name: str, version: str, records: list[TruthIn], actor: str) -> dict[str, Any]:
    """Ground truth for captured predictions by id, recorded; an unknown id is a 404 and nothing is stored."""
    with engine.begin() as conn:
        m = find_model(conn, name, version)
        ids = [r.id for r in records]
        known = {r[0] for r in conn.execute(sa.select(predictions.c.prediction_id).where(predictions.c.model_id == m.id, predictions.c.prediction_id.in_(ids)))}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise NotFound(f"no captured prediction with id(s) {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}; nothing was stored")
        from assay.service._truth import set_truth

        set_truth(conn, m, [(r.id, r.label) for r in records], "api", utcnow())
        _ledger.append(conn, actor=actor, action="ground_truth.batch", subject=f"{name}/{version}",
                       payload={"records": len(ids), "sha256": hashlib.sha256(json.dumps([r.model_dump() for r in records], sort_keys=True).encode()).hexdigest()})  # fmt: skip
    return {"stored": len(ids)}


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


def _firing(conn: sa.Connection, m: Any, policy: Policy) -> Any:
    """The policy's conditions as one function of a captured record (id, inputs, score, facets): the conditions that fire."""
    threshold = float(m.spec.get("threshold", 0.5))
    limits = None
    if any(c.type == "baseline_constraints" for c in policy.conditions):
        from assay.service._monitoring import limits_of

        limits = limits_of(conn, m)  # None without a baseline: the condition cannot fire
    return lambda record: fired(policy, record, model=f"{m.name}/{m.version}", threshold=threshold, limits=limits)


def route_preview(conn: sa.Connection, m: Any, policy: Policy, *, days: float = 7, most: int = 200_000) -> dict[str, Any]:
    """What ``policy`` would have routed of the predictions of the last ``days`` (the newest ``most`` of them at most): how many, by
    condition and by group of every facet, beside what was routed then."""
    from assay.service._monitoring import WHEN

    since = utcnow() - _dt.timedelta(days=days)
    rows = conn.execute(sa.select(predictions.c.prediction_id, predictions.c.inputs, predictions.c.score, predictions.c.facets)
                        .where(predictions.c.model_id == m.id, WHEN >= since).order_by(predictions.c.seq.desc()).limit(most)).all()  # fmt: skip
    fires = _firing(conn, m, policy)
    facets = list(m.spec.get("facets", []))
    seen: dict[str, dict[str, list[int]]] = {f: {} for f in facets}
    by_condition: dict[str, int] = {}
    routed = 0
    for r in rows:
        hits = fires({"id": r.prediction_id, "inputs": r.inputs, "score": r.score, "facets": r.facets})
        routed += bool(hits)
        for h in hits:
            by_condition[h["condition"]["type"]] = by_condition.get(h["condition"]["type"], 0) + 1
        for f in facets:
            cell = seen[f].setdefault(str((r.facets or {}).get(f)), [0, 0])
            cell[0] += 1
            cell[1] += bool(hits)
    then = conn.execute(sa.select(sa.func.count()).select_from(review_tasks).join(predictions, sa.and_(
        predictions.c.model_id == review_tasks.c.model_id, predictions.c.prediction_id == review_tasks.c.prediction_id))
        .where(review_tasks.c.model_id == m.id, review_tasks.c.contest_id.is_(None), WHEN >= since)).scalar_one()  # fmt: skip
    return {"days": days, "evaluated": len(rows), "capped": len(rows) == most, "routed": routed, "share": routed / len(rows) if rows else None,
            "by_condition": by_condition, "routed_then": int(then),
            "by_group": {f: [{"group": g, "predictions": n, "routed": k, "share": k / n} for g, (n, k) in sorted(cells.items())] for f, cells in seen.items()}}  # fmt: skip


def _route(conn: sa.Connection, m: Any, new: list[PredictionIn], now: _dt.datetime, actor: str, subject: str) -> list[str]:
    """Evaluate the model's policy on the new records; a review task (with the conditions that fired) for each routed one."""
    if not m.spec.get("policy") or not new:
        return []
    policy = Policy.stored(m.spec["policy"])
    fires = _firing(conn, m, policy)
    tasks: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for r in new:
        hits = fires(r.model_dump())
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


class ImportStopped(DataError):
    """A file of an import could not be read; ``stored`` records of the batches before it were stored (each batch is one transaction)."""

    def __init__(self, message: str, stored: int) -> None:
        super().__init__(message)
        self.stored = stored


def capture_files(paths: list[Any]) -> list[Any]:
    """The JSON Lines files of ``paths`` (files, or folders searched for *.jsonl), sorted; a DataError when one is missing or none is
    found."""
    from pathlib import Path

    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    files = sorted({f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.jsonl")))})
    if missing or not files:
        raise DataError("no such file: " + ", ".join(missing) if missing else "no *.jsonl files under " + ", ".join(map(str, paths)))
    return files


def import_capture(engine: sa.Engine, name: str, version: str, files: list[Any], *, batch: int = 1000, ground_truth: bool = False,
                   actor: str = "cli") -> dict[str, int]:  # fmt: skip
    """Capture SageMaker Model Monitor data-capture files (as ``POST .../data-capture`` does: routed and recorded), ``batch`` records
    per transaction; with ``ground_truth``, its ground-truth files (labels by eventId). The counts stored, already there and routed;
    an unreadable line stops the import with :class:`ImportStopped` naming the file and line (earlier batches stay stored)."""
    from pydantic import ValidationError

    counts = {"stored": 0, "already_stored": 0, "routed": 0}
    pending: list[Any] = []

    def flush() -> None:
        if not pending:
            return
        if ground_truth:
            counts["stored"] += store_truth(engine, name, version, list(pending), actor)["stored"]
        else:
            try:
                records = CaptureIn(records=pending).records
            except ValidationError as exc:
                raise DataError(validation_message(exc)) from None
            done = capture(engine, name, version, records, actor)
            counts["stored"] += done["stored"]
            counts["already_stored"] += done["already_stored"]
            counts["routed"] += len(done["routed_to_review"])
        pending.clear()

    try:
        with engine.connect() as conn:
            spec = find_model(conn, name, version).spec
        for f in files:
            with open(f, encoding="utf-8") as fh:
                for n, text in enumerate(fh, 1):
                    if text.strip():
                        pending.append(_capture_line(text, f"{f} line {n}", spec, ground_truth))
                        if len(pending) >= batch:
                            flush()
        flush()
    except (AssayError, ValueError) as exc:
        raise ImportStopped(str(exc), counts["stored"]) from None
    return counts


def _capture_line(text: str, where: str, spec: dict[str, Any], ground_truth: bool) -> Any:
    from pydantic import ValidationError

    try:
        line = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not JSON ({exc.msg})") from None
    try:
        return TruthIn(**truth_from_capture(line, spec, where)) if ground_truth else prediction_from_capture(line, spec, where)
    except ValidationError as exc:
        raise DataError(f"{where}: {validation_message(exc)}") from None
