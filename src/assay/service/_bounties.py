"""Bias bounties in the service: an owner posts a holdout and the current model; outsiders (the ``bounty`` role) submit a group and
a model that does better on it; the owner verifies; every step is in the ledger. The rule is :mod:`assay.bounty`'s.

* ``POST /bounties`` (admin, owner): ``{name, label, positive, holdout, holdout_format, model, margin, alpha, budget,
  trusted_types}``, the holdout (CSV or Parquet) and the model (skops) as base64. The holdout is kept in the database and never
  shown: a submitter sees the columns, the label, the rule and the budget.
* ``POST /bounties/{name}/submissions`` (bounty, admin, owner): ``{group, model}`` (skops, base64). Only skops files whose types
  are scikit-learn's, numpy's or the bounty's ``trusted_types`` are taken, and they are checked before anything of them is
  loaded (a pickle would run its sender's code on the server). Each submitter has at most one submission pending, and no more
  submissions are taken than the budget can still verify.
* ``POST /bounties/{name}/verify`` (admin, owner): every pending submission, in order, while the budget lasts; the decisions
  with their figures (gain, lower bound, level, group rows), which the ledger records (``bounty.verify``).
* ``GET /bounties``, ``GET /bounties/{name}``: the rule, the budget left and each submission's state; the figures only for
  admins, owners and auditors (a submitter learns accept or reject, nothing of the holdout).
* ``GET /bounties/{name}/model`` (admin, owner): the updated model (the accepted submissions as a decision list in front of the
  original model), a joblib file as ``assay bounty export`` writes.

The verification runs outside the database transaction (it scores the holdout); its decisions are written only if no other
verification of the bounty was written meanwhile (409 otherwise: ask again).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from assay._errors import AssayError, Conflict, DataError, NotFound
from assay.service import _ledger
from assay.service._db import aware, bounties, bounty_submissions, serialise, utcnow
from assay.service._deps import JSON_ERRORS, Engine, roles
from assay.service._guard import STRICT

__all__ = ["leaderboards", "router"]

NAME = "^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
SEES_FIGURES = ("admin", "owner", "auditor")


class BountyIn(BaseModel):
    model_config = STRICT
    name: str = Field(pattern=NAME, description="the bounty's name, in its URLs")
    label: str = Field(min_length=1, max_length=200, description="the holdout's label column")
    positive: list[str | int | float | bool] = Field(min_length=1, max_length=100, description="the label's positive values")
    holdout: str = Field(min_length=1, description="the holdout file, base64 (never shown to submitters)")
    holdout_format: Literal["csv", "parquet"] = "csv"
    model: str = Field(min_length=1, description="the current model, a skops file, base64")
    margin: float = Field(default=0.001, ge=0, lt=1, description="the least gain accepted: share of the group x error reduction on it")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="the chance that any submission without that gain is accepted, at most")
    budget: int = Field(default=10, ge=1, le=40, description="verifications the holdout allows, each at level alpha / 2^budget")
    trusted_types: list[str] = Field(default=[], max_length=100, description="types beyond scikit-learn's and numpy's that skops may load")


class SubmissionIn(BaseModel):
    model_config = STRICT
    group: dict[str, Any] | list[dict[str, Any]] = Field(
        description='{"column": value, ...} or a list of conditions {column, value | values | low, high | missing}'
    )
    model: str = Field(min_length=1, description="the model for the group, a skops file, base64")


def _decoded(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"{field} is not base64: send the file's bytes base64-encoded") from None


def _untrusted(blob: bytes, trusted: list[str], what: str) -> None:
    """Refuse a model whose skops file holds types outside scikit-learn, numpy and ``trusted`` (checked without loading it)."""
    from assay._optional import require

    sio = require("skops.io", feature="bias bounties in the service")
    try:
        untrusted = [t for t in sio.get_untrusted_types(data=blob) if t not in trusted]
    except Exception as e:  # noqa: BLE001  (not a zip file, no schema, a schema skops cannot read)
        raise DataError(f"{what} is not a skops file ({type(e).__name__}: {e}); save it with skops.io.dump") from None
    if untrusted:
        raise DataError(f"{what} holds types this bounty does not trust: {', '.join(untrusted)}; it trusts scikit-learn's and numpy's"
                        + (f" and {', '.join(trusted)}" if trusted else ""))  # fmt: skip


def _loaded(blob: bytes, trusted: list[str], what: str) -> Any:
    import skops.io as sio

    _untrusted(blob, trusted, what)
    try:
        return sio.loads(blob, trusted=trusted or None)
    except Exception as e:  # noqa: BLE001  (a damaged member of the archive)
        raise DataError(f"cannot load {what} from its skops file ({type(e).__name__}: {e})") from None


def _holdout(blob: bytes, kind: str) -> Any:
    from assay._tabulate import as_frame, read_dataset

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"holdout.{kind}"
        path.write_bytes(blob)
        try:
            return as_frame(read_dataset(path)).collect().to_pandas()
        except AssayError as e:  # the message names the file: here it is the request's holdout
            said = " ".join(str(e).replace(f"'{path}'", "").replace(str(path), "").split())
            raise DataError(f"the holdout (holdout_format {kind}) cannot be read: {said}") from None


def _opened(row: Any) -> Any:
    """The bounty of a stored row: its holdout and original model, no decisions yet."""
    from assay.bounty import Bounty

    s = row.settings
    return Bounty(_holdout(row.holdout, s["holdout_format"]), s["label"], s["positive"], _loaded(row.model, s["trusted_types"], "the original model"),
                  margin=s["margin"], alpha=s["alpha"], budget=s["budget"])  # fmt: skip


LISTED = (bounties.c.id, bounties.c.name, bounties.c.created_at, bounties.c.settings)  # a bounty without its two files


def _find(conn: sa.Connection, name: str, *, files: bool = False) -> Any:
    row = conn.execute((sa.select(bounties) if files else sa.select(*LISTED)).where(bounties.c.name == name)).first()
    if row is None:
        raise NotFound(f"no bounty {name!r}")
    return row


def _submissions(conn: sa.Connection, bounty_id: int) -> list[Any]:
    return list(conn.execute(sa.select(bounty_submissions).where(bounty_submissions.c.bounty_id == bounty_id).order_by(bounty_submissions.c.number)))


def _view(row: Any, subs: list[Any], figures: bool) -> dict[str, Any]:
    s = row.settings
    decided = sum(x.state != "pending" for x in subs)
    out = {"name": row.name, "created_at": aware(row.created_at).isoformat(), "label": s["label"], "positive": s["positive"], "columns": s["columns"],
           "margin": s["margin"], "alpha": s["alpha"], "budget": s["budget"], "budget_left": s["budget"] - decided,
           "level": s["alpha"] / 2.0 ** s["budget"], "state": "open" if decided < s["budget"] else "spent",
           "submissions": [{"submission": x.number, "by": x.submitted_by, "submitted_at": aware(x.submitted_at).isoformat(), "group": x.conditions,
                            "state": x.state, "decided_at": None if x.decided_at is None else aware(x.decided_at).isoformat(),
                            **({"decision": x.decision} if figures else {})} for x in subs]}  # fmt: skip
    if figures:
        out["holdout"] = {"rows": s["holdout_rows"], "sha256": s["holdout_sha256"], "format": s["holdout_format"]}
    return out


def _kind(dtype: Any) -> str:
    """A column's type as a submitter needs it: number, boolean, time or text (not a pandas dtype's name, which changes between versions)."""
    return {"i": "number", "u": "number", "f": "number", "b": "boolean", "M": "time"}.get(getattr(dtype, "kind", "O"), "text")


def create(engine: sa.Engine, body: BountyIn, actor: str) -> dict[str, Any]:
    """Store a bounty once its holdout reads, its model loads and scores the holdout, and its settings hold."""
    holdout, model = _decoded(body.holdout, "holdout"), _decoded(body.model, "model")
    frame = _holdout(holdout, body.holdout_format)
    from assay.bounty import Bounty

    bounty = Bounty(frame, body.label, body.positive, _loaded(model, body.trusted_types, "the model"), margin=body.margin, alpha=body.alpha,
                    budget=body.budget)  # fmt: skip
    bounty.model().predict(frame.head(50))  # the model scores the holdout's rows, with 0/1 decisions or the label's values
    settings = {"label": body.label, "positive": body.positive, "margin": body.margin, "alpha": body.alpha, "budget": body.budget,
                "trusted_types": body.trusted_types, "holdout_format": body.holdout_format, "holdout_rows": len(frame),
                "holdout_sha256": hashlib.sha256(holdout).hexdigest(), "model_sha256": hashlib.sha256(model).hexdigest(),
                "columns": [{"name": str(c), "type": _kind(t)} for c, t in frame.dtypes.items() if c != body.label]}  # fmt: skip
    with engine.begin() as conn:
        if conn.execute(sa.select(bounties.c.id).where(bounties.c.name == body.name)).first():
            raise Conflict(f"a bounty {body.name!r} exists; give another name")
        conn.execute(bounties.insert().values(name=body.name, created_at=utcnow(), created_by=actor, settings=settings, holdout=holdout, model=model))
        _ledger.append(conn, actor=actor, action="bounty.create", subject=f"bounty/{body.name}", payload=settings)
        row = _find(conn, body.name)
        return _view(row, [], figures=True)


def submit(engine: sa.Engine, name: str, body: SubmissionIn, actor: str) -> dict[str, Any]:
    """Take a submission (checked: the group's columns, the model's types) unless the budget is claimed or the submitter has one pending."""
    from assay.bounty import as_conditions, check_group

    model = _decoded(body.model, "model")
    conditions = as_conditions(body.group)
    with engine.begin() as conn:
        serialise(conn, "bounties")
        row = _find(conn, name)
        check_group(conditions, [c["name"] for c in row.settings["columns"]])
        _untrusted(model, row.settings["trusted_types"], "the submitted model")
        subs = _submissions(conn, row.id)
        if len(subs) >= row.settings["budget"]:
            raise Conflict(f"bounty {name!r} takes no more submissions: its {row.settings['budget']} verifications are spent or claimed by pending ones")
        if any(x.state == "pending" and x.submitted_by == actor for x in subs):
            raise Conflict(f"you have a submission to bounty {name!r} pending; submit again once it is verified")
        number = 1 + max((x.number for x in subs), default=0)
        digest = hashlib.sha256(model).hexdigest()
        conn.execute(bounty_submissions.insert().values(bounty_id=row.id, number=number, submitted_by=actor, submitted_at=utcnow(), conditions=conditions,
                                                        model=model, model_sha256=digest, state="pending"))  # fmt: skip
        _ledger.append(
            conn, actor=actor, action="bounty.submit", subject=f"bounty/{name}", payload={"submission": number, "group": conditions, "model_sha256": digest}
        )
    return {"submission": number, "state": "pending"}


def verify(engine: sa.Engine, name: str, actor: str) -> list[dict[str, Any]]:
    """Verify the pending submissions in order while the budget lasts; the decisions, with their figures."""
    with engine.connect() as conn:
        row = _find(conn, name, files=True)
        subs = _submissions(conn, row.id)
    trusted = row.settings["trusted_types"]

    def load(d: Mapping[str, Any]) -> Any:
        x = d["row"]
        if hashlib.sha256(x.model).hexdigest() != x.model_sha256:
            raise Conflict(f"submission {x.number}'s stored model changed after it was submitted (its digest is in the ledger's bounty.submit entry)")
        return _loaded(x.model, trusted, f"submission {x.number}'s model")

    bounty = _opened(row)
    decided = [x for x in subs if x.state != "pending"]
    bounty.replay([{**x.decision, "group": x.conditions, "accepted": x.state == "accepted", "row": x} for x in decided], load)
    pending = [x for x in subs if x.state == "pending"]
    decisions = bounty.verify_pending([{"submission": x.number, "group": x.conditions, "row": x} for x in pending], load)
    with engine.begin() as conn:
        serialise(conn, "bounties")
        now_decided = conn.execute(sa.select(sa.func.count()).select_from(bounty_submissions)
                                   .where(bounty_submissions.c.bounty_id == row.id, bounty_submissions.c.state != "pending")).scalar_one()  # fmt: skip
        if now_decided != len(decided):
            raise Conflict(f"another verification of bounty {name!r} was recorded meanwhile; nothing was written, ask again")
        for d, x in zip(decisions, pending):
            figures = {k: d[k] for k in ("gain", "lower_bound", "level", "group_rows")}
            conn.execute(bounty_submissions.update().where(bounty_submissions.c.id == x.id)
                         .values(state="accepted" if d["accepted"] else "rejected", decided_at=utcnow(), decision=figures))  # fmt: skip
            _ledger.append(conn, actor=actor, action="bounty.verify", subject=f"bounty/{name}",
                           payload={"submission": x.number, "by": x.submitted_by, "accepted": d["accepted"], **figures, "budget_left": d["budget_left"]})  # fmt: skip
    return [{**d, "by": x.submitted_by} for d, x in zip(decisions, pending)]


def updated_model(engine: sa.Engine, name: str) -> Any:
    """The decision list: the accepted submissions, newest first, in front of the original model."""
    with engine.connect() as conn:
        row = _find(conn, name, files=True)
        subs = _submissions(conn, row.id)
    bounty = _opened(row)
    trusted = row.settings["trusted_types"]
    bounty.replay([{**x.decision, "group": x.conditions, "accepted": x.state == "accepted", "row": x} for x in subs if x.state != "pending"],
                  lambda d: _loaded(d["row"].model, trusted, f"submission {d['row'].number}'s model"))  # fmt: skip
    return bounty.model()


def leaderboards(engine: sa.Engine) -> list[dict[str, Any]]:
    """Each bounty's standing for the pages: per submitter, how many submissions were accepted, rejected and pending (no figures)."""
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(*LISTED).order_by(bounties.c.id)))
        shown = []
        for b in rows:
            view = _view(b, _submissions(conn, b.id), figures=False)
            board: dict[str, dict[str, Any]] = {}
            for x in view["submissions"]:
                entry = board.setdefault(x["by"], {"by": x["by"], "accepted": 0, "rejected": 0, "pending": 0, "first_accepted": None})
                entry[x["state"]] += 1
                if x["state"] == "accepted" and entry["first_accepted"] is None:
                    entry["first_accepted"] = x["decided_at"]
            view["leaderboard"] = sorted(board.values(), key=lambda e: (-e["accepted"], e["first_accepted"] or "~", e["rejected"], e["by"]))
            shown.append(view)
    return shown


router = APIRouter()  # create_app includes it


@router.post("/bounties", status_code=201, summary="Open a bias bounty over a holdout and the current model")
def post_bounty(engine: Engine, body: BountyIn, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> dict[str, Any]:
    return create(engine, body, who["name"])


@router.get("/bounties", summary="Bias bounties: the rule, the budget left and each submission's state")
def get_bounties(engine: Engine, who: Annotated[dict[str, Any], roles("admin", "owner", "auditor", "bounty")]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [_view(b, _submissions(conn, b.id), who["role"] in SEES_FIGURES) for b in conn.execute(sa.select(*LISTED).order_by(bounties.c.id))]


@router.get("/bounties/{name}", summary="One bounty: its rule, columns, budget and submissions (figures for admins, owners and auditors)")
def get_bounty(engine: Engine, name: str, who: Annotated[dict[str, Any], roles("admin", "owner", "auditor", "bounty")]) -> dict[str, Any]:
    with engine.connect() as conn:
        row = _find(conn, name)
        return _view(row, _submissions(conn, row.id), who["role"] in SEES_FIGURES)


@router.post("/bounties/{name}/submissions", status_code=201, summary="Submit a group and a model (skops) that does better on it")
def post_submission(engine: Engine, name: str, body: SubmissionIn, who: Annotated[dict[str, Any], roles("admin", "owner", "bounty")]) -> dict[str, Any]:
    return submit(engine, name, body, who["name"])


@router.post("/bounties/{name}/verify", summary="Verify the pending submissions on the holdout, in order, while the budget lasts")
def post_verify(engine: Engine, name: str, who: Annotated[dict[str, Any], roles("admin", "owner")]) -> list[dict[str, Any]]:
    return verify(engine, name, who["name"])


@router.get("/bounties/{name}/model", summary="The updated model (joblib): the accepted submissions in front of the original model",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}, **JSON_ERRORS})  # fmt: skip
def get_model(engine: Engine, name: str, _who: Annotated[dict[str, Any], roles("admin", "owner")]) -> Response:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(updated_model(engine, name), buffer)
    return Response(buffer.getvalue(), media_type="application/octet-stream", headers={"Content-Disposition": f'attachment; filename="{name}.joblib"'})
