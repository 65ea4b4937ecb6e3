"""The console: server-rendered pages for the people who sign off, watch and check (no scripts; the pages' CSP, session and CSRF
rules of ``_pages``). A home page per role; models with their status at a glance; a page per model version with its card (rendered
as ``assay card export --format html`` renders it), its audit report, its sign-off (submit, approve with the approver's registered
key, reject) and its monitoring history; the ledger, searchable, with "verify now" and an export; tokens (create, revoke) and
signing keys.

Each page admits the roles that the API admits for what it shows (``PAGES``; tests walk every page with every role), and a
section whose data another route guards is shown only to that route's roles (an approver sees a model's card, not its
monitoring). Lists are paginated in SQL (keyset on the ledger's sequence numbers, offsets on models and runs), so a model with a
million captured predictions renders without reading them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from assay._errors import AssayError, status_of
from assay.service import _ledger
from assay.service._auth import ROLES, LastAdminError, create_token, revoke_tokens
from assay.service._cards import READERS, card_act, card_of, keys_of, latest_audit, register_key, store_audit, store_card
from assay.service._db import contests, find_model, ledger, models, monitoring_runs, predictions, review_tasks, tokens
from assay.service._deps import Engine
from assay.service._pages import checked, render, signed_in

__all__ = ["FORMS", "PAGES", "router"]

WATCHERS = ("admin", "owner", "auditor")  # GET .../monitoring/runs, .../status, /contests
PAGES: dict[str, tuple[str, ...]] = {  # page -> the roles that may open it (each a subset of the API's for what it shows)
    "/ui/": ROLES,
    "/ui/models": READERS,  # POST (register a model version): admin, owner
    "/ui/models/{name}/{version}": READERS,
    "/ui/models/{name}/{version}/card": READERS,
    "/ui/models/{name}/{version}/report": READERS,
    "/ui/models/{name}/{version}/audit": ("admin", "owner"),
    "/ui/models/{name}/{version}/card/{action}": ("admin", "owner", "approver"),  # each action checks its own (submit: owner; approve: approver)
    "/ui/models/{name}/{version}/runs/{run_id}": WATCHERS,
    "/ui/models/{name}/{version}/runs/{run_id}/rows": WATCHERS,
    "/ui/models/{name}/{version}/review": WATCHERS,
    "/ui/models/{name}/{version}/policy": ("admin", "owner"),
    "/ui/contests": WATCHERS,
    "/ui/contests/{contest_id}": WATCHERS,
    "/ui/contests/{contest_id}/response": ("admin", "owner"),
    "/ui/ledger": ("admin", "auditor"),
    "/ui/ledger/verify": ("admin", "auditor"),
    "/ui/ledger/export": ("admin", "auditor"),
    "/ui/tokens": ("admin",),
    "/ui/tokens/{token_id}/revoke": ("admin",),
    "/ui/keys": ("approver",),
}
REGISTRARS = ("admin", "owner")  # POST /models
FORMS = {"/ui/models": REGISTRARS}  # a page whose form admits fewer roles than the page itself
ACTIONS = {"submit": ("admin", "owner"), "archive": ("admin", "owner"), "approve": ("approver",), "approve-signed": ("approver",), "reject": ("approver",)}
PER_PAGE = 50

router = APIRouter(include_in_schema=False)


def _page(request: Request, engine: sa.Engine, path: str) -> dict[str, Any] | Response:
    return signed_in(request, engine, PAGES[path])


def _form_user(request: Request, engine: sa.Engine, csrf: str, path: str, refusal: str) -> dict[str, Any] | Response:
    """Who sent a form (its CSRF token checked), or the 403 page when the page is not for their role."""
    who = checked(request, engine, csrf)
    if who["role"] not in PAGES[path]:
        return render(403, **_ctx(who, request, page="none", title="Not for your role", error=refusal))
    return who


def _ctx(who: dict[str, Any], request: Request, **more: Any) -> dict[str, Any]:
    return {"who": who, "csrf": who["csrf"], "here": request.url.path, "page": "console", **more}


# == home ========================================================================================================================
@router.get("/ui/", response_class=HTMLResponse)
def home(request: Request, engine: Engine) -> Any:
    """What needs this person: cards waiting for an approver, drafts and open contests for owners, the record for auditors."""
    who = _page(request, engine, "/ui/")
    if isinstance(who, Response):
        return who
    if who["role"] in ("reviewer", "bounty"):
        return RedirectResponse("/ui/review" if who["role"] == "reviewer" else "/ui/bounties", status_code=303)
    with engine.connect() as conn:
        counts = _model_counts(conn, [r.id for r in conn.execute(sa.select(models.c.id))], who["role"])
        rows = {r.id: r for r in conn.execute(sa.select(models))}
        cards = {mid: c["card_status"] for mid, c in counts.items()}
        todo = {"PendingReview": [], "Draft": [], "none": []}  # type: dict[str, list[str]]
        for mid, status in cards.items():
            todo.setdefault(status or "none", []).append(f"{rows[mid].name}/{rows[mid].version}")
        figures: dict[str, Any] = {"models": len(rows)}
        if who["role"] in WATCHERS:
            figures["open_contests"] = conn.execute(sa.select(sa.func.count()).select_from(contests).where(contests.c.status == "open")).scalar_one()
            figures["to_answer"] = conn.execute(sa.select(sa.func.count()).select_from(contests).where(
                contests.c.status.in_(["upheld", "overturned", "no_consensus"]), contests.c.response.is_(None))).scalar_one()  # fmt: skip
            figures["open_reviews"] = conn.execute(sa.select(sa.func.count()).select_from(review_tasks).where(review_tasks.c.status == "open")).scalar_one()
            figures["violating"] = sorted(f"{rows[m].name}/{rows[m].version}" for m, c in counts.items() if c.get("violations"))
        if who["role"] in ("admin", "auditor"):
            figures["ledger"] = conn.execute(sa.select(sa.func.count()).select_from(ledger)).scalar_one()
    return render(template="home.html.j2", title="Home", **_ctx(who, request, todo=todo, figures=figures))


# == models ======================================================================================================================
def _model_counts(conn: sa.Connection, ids: list[int], role: str) -> dict[int, dict[str, Any]]:
    """Per model: its card's status (and version), and for watchers its last check, that check's violations, open reviews and contests;
    a few indexed queries for the models shown, never a scan of the predictions."""
    from assay.service._db import card_log

    out: dict[int, dict[str, Any]] = {i: {"card_status": None, "card_version": None} for i in ids}
    if not ids:
        return out
    last = sa.select(card_log.c.model_id, sa.func.max(card_log.c.seq).label("seq")).where(card_log.c.model_id.in_(ids)).group_by(card_log.c.model_id).subquery()
    for r in conn.execute(
        sa.select(card_log.c.model_id, card_log.c.entry).join(last, sa.and_(card_log.c.model_id == last.c.model_id, card_log.c.seq == last.c.seq))
    ):
        out[r.model_id] |= {"card_status": r.entry["to_status"], "card_version": r.entry["version"]}
    if role not in WATCHERS:
        return out
    newest = (sa.select(monitoring_runs.c.model_id, sa.func.max(monitoring_runs.c.id).label("id")).where(monitoring_runs.c.model_id.in_(ids))
              .group_by(monitoring_runs.c.model_id).subquery())  # fmt: skip
    for w in conn.execute(sa.select(monitoring_runs.c.model_id, monitoring_runs.c.window_end, monitoring_runs.c.violations, monitoring_runs.c.id)
                          .join(newest, monitoring_runs.c.id == newest.c.id)):  # fmt: skip
        out[w.model_id] |= {"last_check": str(w.window_end)[:16], "violations": int(w.violations), "last_run": int(w.id)}
    for table, key in ((review_tasks, "open_reviews"), (contests, "open_contests")):
        q = sa.select(table.c.model_id, sa.func.count()).where(table.c.model_id.in_(ids), table.c.status == "open").group_by(table.c.model_id)
        for mid, n in conn.execute(q):
            out[mid][key] = int(n)
    return out


@router.get("/ui/models", response_class=HTMLResponse)
def models_list(request: Request, engine: Engine, page: Annotated[int, Query(ge=1, le=10**6)] = 1) -> Any:
    who = _page(request, engine, "/ui/models")
    if isinstance(who, Response):
        return who
    return _models(request, engine, who, page)


def _models(request: Request, engine: sa.Engine, who: dict[str, Any], page: int = 1, *, status: int = 200, error: str | None = None) -> HTMLResponse:
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(models)).scalar_one()
        rows = list(conn.execute(sa.select(models).order_by(models.c.name, models.c.version).limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
        counts = _model_counts(conn, [r.id for r in rows], who["role"])
    shown = [{"name": r.name, "version": r.version, "owner": r.owner, "facets": r.spec.get("facets", []), **counts[r.id]} for r in rows]
    return render(status, template="models.html.j2", title="Models", **_ctx(who, request, models=shown, page_no=page, pages=max(1, -(-total // PER_PAGE)),
                  total=total, watcher=who["role"] in WATCHERS, can_register=who["role"] in REGISTRARS, error=error))  # fmt: skip


@router.post("/ui/models", response_class=HTMLResponse)
def model_register(request: Request, engine: Engine, csrf: Annotated[str, Form()] = "", name: Annotated[str, Form(max_length=200)] = "",
                   version: Annotated[str, Form(max_length=100)] = "", facets: Annotated[str, Form(max_length=5000)] = "",
                   label_values: Annotated[str, Form(max_length=5000)] = "") -> Any:  # fmt: skip
    """Register a model version, as ``POST /models`` does (facets and positive labels comma-separated)."""
    from pydantic import ValidationError

    from assay.service._capture import ModelIn, validation_message
    from assay.service._routes import register_model

    who = checked(request, engine, csrf)
    if who["role"] not in FORMS["/ui/models"]:
        return render(403, **_ctx(who, request, page="none", title="Not for your role", error="Only admins and model owners register models."))

    def listed(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    try:
        try:
            body = ModelIn(name=name.strip(), version=version.strip(), facets=listed(facets), label_values=listed(label_values))
        except ValidationError as exc:
            raise AssayError(validation_message(exc)) from None
        register_model(engine, body, who["name"])
    except AssayError as exc:
        return _models(request, engine, who, status=status_of(exc), error=str(exc))
    return RedirectResponse(_told(f"/ui/models/{body.name}/{body.version}", who, "registered; store its audit and build its card below"), status_code=303)


def _open_model(request: Request, engine: sa.Engine, path: str, name: str, version: str) -> tuple[dict[str, Any], Any] | Response:
    """(who, the model) of a page about one model version, or the answer when the role or the model is wrong."""
    who = _page(request, engine, path)
    if isinstance(who, Response):
        return who
    model = _model_or_404(engine, who, request, name, version)
    if isinstance(model, Response):
        return model
    return who, model


def _model_or_404(engine: sa.Engine, who: dict[str, Any], request: Request, name: str, version: str) -> Any:
    with engine.connect() as conn:
        try:
            return find_model(conn, name, version)
        except AssayError as exc:
            return render(404, **_ctx(who, request, page="none", title="Not found", error=str(exc)))


@router.get("/ui/models/{name}/{version}", response_class=HTMLResponse)
def model_page(request: Request, engine: Engine, name: str, version: str, runs: Annotated[int, Query(ge=1, le=10**6)] = 1,
               notice: Annotated[str | None, Query(max_length=300)] = None, sig: Annotated[str | None, Query(max_length=64)] = None) -> Any:  # fmt: skip
    opened = _open_model(request, engine, "/ui/models/{name}/{version}", name, version)
    if isinstance(opened, Response):
        return opened
    who, model = opened
    return render(
        template="model.html.j2", title=f"{name}/{version}", **_ctx(who, request, notice=_notice(who, notice, sig), **model_view(engine, model, who, runs))
    )


def model_view(engine: sa.Engine, model: Any, who: dict[str, Any], runs_page: int = 1, *, error: str | None = None) -> dict[str, Any]:
    """What the model page shows ``who``: the card and its record, the audit, and for watchers the counts and the monitoring history."""
    from assay.service._dashboard import charts, monitoring_status

    view: dict[str, Any] = {"m": {"name": model.name, "version": model.version, "owner": model.owner, "spec": model.spec,
                                  "registered": str(model.created_at)[:16]}, "error": error}  # fmt: skip
    with engine.connect() as conn:
        card = card_of(conn, model, versions=False)  # the record is what the page shows; the contents are on .../card
        audit = latest_audit(conn, model)
        if who["role"] in WATCHERS:
            view["captured"] = conn.execute(sa.select(sa.func.count()).select_from(predictions).where(predictions.c.model_id == model.id)).scalar_one()
            view["tasks"] = dict(conn.execute(sa.select(review_tasks.c.status, sa.func.count()).where(review_tasks.c.model_id == model.id)
                                              .group_by(review_tasks.c.status)).all())  # fmt: skip
            total = conn.execute(sa.select(sa.func.count()).select_from(monitoring_runs).where(monitoring_runs.c.model_id == model.id)).scalar_one()
            view["runs"] = [dict(r._mapping) for r in conn.execute(
                sa.select(monitoring_runs.c.id, monitoring_runs.c.window_start, monitoring_runs.c.window_end, monitoring_runs.c.rows,
                          monitoring_runs.c.violations, monitoring_runs.c.trigger).where(monitoring_runs.c.model_id == model.id)
                .order_by(monitoring_runs.c.window_start.desc(), monitoring_runs.c.id.desc()).limit(20).offset((runs_page - 1) * 20))]  # fmt: skip
            view["runs_page"], view["runs_pages"] = runs_page, max(1, -(-total // 20))
    view["card"] = None if card is None else {**{k: card[k] for k in ("card", "latest", "status")}, "log": card["log"],
                                              "submitters": [e["by"] for e in card["log"] if e["version"] == card["latest"] and e["action"] in ("create", "submit")]}  # fmt: skip
    view["audit"] = None if audit is None else {"at": str(audit.created_at)[:16], "by": audit.created_by, "sha256": audit.sha256}
    if who["role"] in WATCHERS:
        view["monitoring"] = monitoring_status(engine, model)
        view["charts"] = charts(view["monitoring"])
    view["can"] = {a: who["role"] in roles for a, roles in ACTIONS.items()} | {"build": who["role"] in ("admin", "owner")}
    view["signing_request"] = None
    if card is not None and card["status"] == "PendingReview" and who["role"] == "approver" and who["name"] not in view["card"]["submitters"]:
        from assay.service._cards import approval_request

        view["signing_request"] = json.dumps(approval_request(engine, model.name, model.version, who["name"]), indent=1)
    return view


@router.get("/ui/models/{name}/{version}/card", response_class=HTMLResponse)
def card_page(request: Request, engine: Engine, name: str, version: str, v: Annotated[int | None, Query(ge=1, le=10**6)] = None) -> Any:
    """The card as ``assay card export --format html`` renders it (its latest version, or ``v``), with its sign-off record."""
    from assay.cards import CardStore, export_card
    from assay.service._card_records import DbCards

    opened = _open_model(request, engine, "/ui/models/{name}/{version}/card", name, version)
    if isinstance(opened, Response):
        return opened
    who, model = opened
    with engine.connect() as conn:
        store = CardStore(records=DbCards(conn, model))
        if not store.entries():
            return render(404, **_ctx(who, request, page="none", title="No card", error=f"model {name}/{version} has no card yet"))
        try:
            html = export_card(store, "html", version=v)
        except AssayError as exc:
            return render(404, **_ctx(who, request, page="none", title="No such version", error=str(exc)))
    return _document(html)


@router.get("/ui/models/{name}/{version}/report", response_class=HTMLResponse)
def report_page(request: Request, engine: Engine, name: str, version: str) -> Any:
    """The report of the newest audit stored with the model version (``assay report`` of its analysis.json)."""
    from assay.report import render_report

    opened = _open_model(request, engine, "/ui/models/{name}/{version}/report", name, version)
    if isinstance(opened, Response):
        return opened
    who, model = opened
    with engine.connect() as conn:
        audit = latest_audit(conn, model)
    if audit is None:
        return render(404, **_ctx(who, request, page="none", title="No audit", error=f"model {name}/{version} has no audit stored yet"))
    return _document(render_report(audit.analysis, title=f"{name}/{version}: audit"))


def _document(html: str) -> HTMLResponse:
    """A whole rendered document (card, report) under the pages' CSP: inline styles and SVG, no scripts, nothing fetched."""
    return HTMLResponse(html, headers={"Cache-Control": "no-store",
                                       "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"})  # fmt: skip


# == a check and the rows behind its violations ==================================================================================
def _open_run(request: Request, engine: sa.Engine, path: str, name: str, version: str, run_id: int) -> tuple[dict[str, Any], Any, Any] | Response:
    """(who, the model, the run) of a page about one check, or the answer when the role, the model or the run is wrong."""
    opened = _open_model(request, engine, path, name, version)
    if isinstance(opened, Response):
        return opened
    who, model = opened
    with engine.connect() as conn:
        run = conn.execute(sa.select(monitoring_runs).where(monitoring_runs.c.id == run_id, monitoring_runs.c.model_id == model.id)).mappings().first()
    if run is None:
        return render(404, **_ctx(who, request, page="none", title="Not found", error=f"model {name}/{version} has no check {run_id}"))
    return who, model, run


@router.get("/ui/models/{name}/{version}/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, engine: Engine, name: str, version: str, run_id: Annotated[int, Path(ge=1, le=2**62)]) -> Any:
    """One checked window: every violation (with a link to the rows behind it), each column's drift, model quality and bias by group
    with intervals."""
    from assay.service._monitoring import run_summary

    opened = _open_run(request, engine, "/ui/models/{name}/{version}/runs/{run_id}", name, version, run_id)
    if isinstance(opened, Response):
        return opened
    who, model, run = opened
    summary = run_summary(run, full=True)
    res = summary["result"]
    features = [{"name": k, **(v.get("drift") or {})} for k, v in sorted((res.get("features") or {}).items())]
    quality = ((res.get("model") or {}).get("quality") or {}).get("metrics") or {}
    return render(template="run.html.j2", title=f"Check {run_id} of {name}/{version}", **_ctx(who, request, m={"name": name, "version": version}, run=summary,
                  features=features, quality=quality, bias=res.get("bias_drift") or []))  # fmt: skip


@router.get("/ui/models/{name}/{version}/runs/{run_id}/rows", response_class=HTMLResponse)
def rows_page(request: Request, engine: Engine, name: str, version: str, run_id: Annotated[int, Path(ge=1, le=2**62)],
              violation: Annotated[int, Query(ge=0, le=10_000)] = 0, after: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Any:  # fmt: skip
    """The window's captured predictions behind one violation, 50 a page in capture order (see :func:`assay.service._drill.behind`)."""
    from assay.service._drill import behind

    opened = _open_run(request, engine, "/ui/models/{name}/{version}/runs/{run_id}/rows", name, version, run_id)
    if isinstance(opened, Response):
        return opened
    who, model, run = opened
    found = (run["result"] or {}).get("violations") or []
    if violation >= len(found):
        return render(
            404, **_ctx(who, request, page="none", title="Not found", error=f"check {run_id} has {len(found)} violation(s); there is no number {violation + 1}")
        )
    with engine.connect() as conn:
        view = behind(conn, model, run, found[violation], after=after, limit=PER_PAGE)
    return render(template="rows.html.j2", title=f"Rows behind a violation of {name}/{version}", **_ctx(who, request, m={"name": name, "version": version},
                  run_id=run_id, number=violation, v=found[violation], **view))  # fmt: skip


# == review operations ==========================================================================================================
WEEKS = 8


def review_view(engine: sa.Engine, model: Any, *, text: str | None = None, preview: dict[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    """The routing policy (as stored, or as being edited), the queue and each reviewer's workload, and agreement week by week."""
    import datetime as _dt

    from assay.service._db import utcnow
    from assay.service._review import agreement_of, queue_of

    now = utcnow()
    with engine.connect() as conn:
        queue = queue_of(conn, model, now)
        weeks = []
        for k in range(WEEKS - 1, -1, -1):
            start, end = now - _dt.timedelta(weeks=k + 1), now - _dt.timedelta(weeks=k)
            a = agreement_of(conn, model, since=start, until=end)
            weeks.append({"start": start.isoformat()[:10], "end": end.isoformat()[:10], "tasks": a["tasks_rated"], "kappa": a["fleiss_kappa"],
                          "alpha": a["krippendorff_alpha"]})  # fmt: skip
        overall = agreement_of(conn, model)
    policy = model.spec.get("policy")
    return {"m": {"name": model.name, "version": model.version}, "policy_text": text if text is not None else (json.dumps(policy, indent=2) if policy else ""),
            "has_policy": bool(policy), "queue": queue, "weeks": weeks, "overall": overall, "preview": preview, "error": error}  # fmt: skip


@router.get("/ui/models/{name}/{version}/review", response_class=HTMLResponse)
def review_page(request: Request, engine: Engine, name: str, version: str, notice: Annotated[str | None, Query(max_length=300)] = None,
                sig: Annotated[str | None, Query(max_length=64)] = None) -> Any:  # fmt: skip
    opened = _open_model(request, engine, "/ui/models/{name}/{version}/review", name, version)
    if isinstance(opened, Response):
        return opened
    who, model = opened
    return render(template="review_ops.html.j2", title=f"Review of {name}/{version}", **_ctx(who, request, notice=_notice(who, notice, sig), can_edit=who["role"] in ("admin", "owner"),
                  **review_view(engine, model)))  # fmt: skip


@router.post("/ui/models/{name}/{version}/policy", response_class=HTMLResponse)
def policy_form(request: Request, engine: Engine, name: str, version: str, csrf: Annotated[str, Form()] = "",
                policy: Annotated[str, Form(max_length=100_000)] = "", intent: Annotated[str, Form(max_length=20)] = "preview") -> Any:  # fmt: skip
    """Check an edited policy and preview it on the last 7 days ("preview"), or store it ("save", a ``model.configure`` entry)."""
    import yaml
    from pydantic import ValidationError

    from assay.review import Policy
    from assay.service._capture import route_preview, validation_message
    from assay.service._settings import configure

    who = _form_user(request, engine, csrf, "/ui/models/{name}/{version}/policy", "Only admins and model owners change a routing policy.")
    if isinstance(who, Response):
        return who
    model = _model_or_404(engine, who, request, name, version)
    if isinstance(model, Response):
        return model
    ctx = {"can_edit": True}
    try:
        try:
            parsed = yaml.safe_load(policy) if policy.strip() else None
        except yaml.YAMLError as exc:
            raise AssayError(f"the policy is not JSON or YAML: {exc}") from None
        if not isinstance(parsed, dict):
            raise AssayError("the policy must be a mapping: reviewers_per_item, question, answers, conditions, ...")
        try:
            checked_policy = Policy.model_validate(parsed)
        except ValidationError as exc:
            raise AssayError(f"the policy is not valid: {validation_message(exc)}") from None
    except AssayError as exc:
        return render(
            422,
            template="review_ops.html.j2",
            title=f"Review of {name}/{version}",
            **_ctx(who, request, **ctx, **review_view(engine, model, text=policy, error=str(exc))),
        )
    if intent == "save":
        configure(engine, name, version, who["name"], "policy", checked_policy.model_dump(exclude_none=True))
        return RedirectResponse(_told(f"/ui/models/{name}/{version}/review", who, "policy saved; new predictions are routed by it"), status_code=303)
    with engine.connect() as conn:
        preview = route_preview(conn, model, checked_policy)
    return render(
        template="review_ops.html.j2",
        title=f"Review of {name}/{version}",
        **_ctx(who, request, **ctx, **review_view(engine, model, text=policy, preview=preview)),
    )


# == contests ====================================================================================================================
@router.get("/ui/contests", response_class=HTMLResponse)
def contests_page(request: Request, engine: Engine, status: Annotated[str, Query(pattern="^(open|decided|answered|all)$")] = "open",
                  page: Annotated[int, Query(ge=1, le=10**6)] = 1) -> Any:  # fmt: skip
    """Contests: the open queue oldest first (with each one's review priority and age), or those decided and not yet answered,
    answered, or all; 50 a page."""
    import datetime as _dt

    from assay.service._contests import contest_views
    from assay.service._db import utcnow

    who = _page(request, engine, "/ui/contests")
    if isinstance(who, Response):
        return who
    filters: dict[str, list[Any]] = {"open": [contests.c.status == "open"], "decided": [contests.c.status.in_(["upheld", "overturned", "no_consensus"]), contests.c.response.is_(None)],
             "answered": [contests.c.response.is_not(None)], "all": []}  # fmt: skip
    where = filters[status]
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(contests).where(*where)).scalar_one()
        shown = contest_views(conn, *where, newest_first=status != "open", limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    now = utcnow()
    for c in shown:
        c["age_hours"] = round((now - _dt.datetime.fromisoformat(c["opened_at"])).total_seconds() / 3600, 1)
    return render(template="contests.html.j2", title="Contests", **_ctx(who, request, contests=shown, which=status, total=total, page_no=page,
                  pages=max(1, -(-total // PER_PAGE))))  # fmt: skip


@router.get("/ui/contests/{contest_id}", response_class=HTMLResponse)
def contest_page(
    request: Request,
    engine: Engine,
    contest_id: Annotated[int, Path(ge=1, le=2**62)],
    notice: Annotated[str | None, Query(max_length=300)] = None,
    sig: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    who = _page(request, engine, "/ui/contests/{contest_id}")
    if isinstance(who, Response):
        return who
    return _contest(request, engine, who, contest_id, notice=_notice(who, notice, sig))


def _contest(request: Request, engine: sa.Engine, who: dict[str, Any], contest_id: int, *, status: int = 200, notice: str | None = None,
             error: str | None = None) -> Any:  # fmt: skip
    """A contest's page: the decision, its explanation, why it was reviewed, every reviewer's answer, the outcome and the response."""
    from assay.service._contests import contest_view, decision_of
    from assay.service._db import review_assignments

    with engine.connect() as conn:
        try:
            c = contest_view(conn, contest_id)
        except AssayError as exc:
            return render(404, **_ctx(who, request, page="none", title="Not found", error=str(exc)))
        decision = decision_of(conn, c["model"], c["prediction_id"])
        answers = []
        if c["review"]:
            answers = [dict(r._mapping) for r in conn.execute(sa.select(review_assignments.c.reviewer, review_assignments.c.answer, review_assignments.c.answered_at)
                       .where(review_assignments.c.task_id == c["review"]["task_id"]).order_by(review_assignments.c.id))]  # fmt: skip
    return render(status, template="contest.html.j2", title=f"Contest {contest_id}", **_ctx(who, request, c=c, d=decision, answers=answers, notice=notice,
                  error=error, can_respond=who["role"] in ("admin", "owner")))  # fmt: skip


@router.post("/ui/contests/{contest_id}/response", response_class=HTMLResponse)
def contest_response(request: Request, engine: Engine, contest_id: Annotated[int, Path(ge=1, le=2**62)], csrf: Annotated[str, Form()] = "",
                     message: Annotated[str, Form(max_length=10_000)] = "") -> Any:  # fmt: skip
    from assay.service._contests import respond_to

    who = _form_user(request, engine, csrf, "/ui/contests/{contest_id}/response", "Only admins and model owners answer contests.")
    if isinstance(who, Response):
        return who
    try:
        if not message.strip():
            raise AssayError("write the answer to give the person; it is recorded once")
        respond_to(engine, contest_id, message, who["name"])
    except AssayError as exc:
        return _contest(request, engine, who, contest_id, status=status_of(exc), error=str(exc))
    return RedirectResponse(_told(f"/ui/contests/{contest_id}", who, "the answer was recorded; it cannot be changed"), status_code=303)


# == sign-off ====================================================================================================================
@router.post("/ui/models/{name}/{version}/audit", response_class=HTMLResponse)
async def upload_audit(request: Request, engine: Engine, name: str, version: str, csrf: Annotated[str, Form()] = "",
                       analysis: Annotated[UploadFile | None, File()] = None, info: Annotated[UploadFile | None, File()] = None) -> Any:  # fmt: skip
    """Store an audit (analysis.json) and build the card from it and the card's human parts (YAML), as ``PUT .../audit`` and
    ``PUT .../card`` do."""
    import yaml

    who = _form_user(request, engine, csrf, "/ui/models/{name}/{version}/audit", "Only admins and model owners store audits and cards.")
    if isinstance(who, Response):
        return who
    model = _model_or_404(engine, who, request, name, version)
    if isinstance(model, Response):
        return model
    done = []
    try:
        if analysis is not None and analysis.filename:
            try:
                doc = json.loads(await analysis.read())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise AssayError(f"analysis file {analysis.filename!r} is not JSON ({exc})") from None
            if not isinstance(doc, dict):
                raise AssayError(f"analysis file {analysis.filename!r} must hold a JSON object (an analysis.json)")
            done.append(f"audit stored (sha256 {store_audit(engine, name, version, doc, who['name'])['sha256'][:12]}…)")
        if info is not None and info.filename:
            try:
                parts = yaml.safe_load(await info.read())
            except yaml.YAMLError as exc:
                raise AssayError(f"card info file {info.filename!r} is not YAML ({exc})") from None
            if not isinstance(parts, dict):
                raise AssayError(f"card info file {info.filename!r} must be a mapping of keys to text (assay card init writes a template)")
            c = store_card(engine, name, version, parts, who["name"])
            done.append(f"card version {c['version']} stored as Draft" if c["created"] else f"the card equals version {c['version']}; nothing new")
        if not done:
            raise AssayError("choose an analysis.json, a card info YAML, or both")
    except AssayError as exc:
        return render(
            status_of(exc), template="model.html.j2", title=f"{name}/{version}", **_ctx(who, request, **model_view(engine, model, who, error=str(exc)))
        )
    return RedirectResponse(_told(f"/ui/models/{name}/{version}", who, "; ".join(done)), status_code=303)


@router.post("/ui/models/{name}/{version}/card/{action}", response_class=HTMLResponse)
def card_action(request: Request, engine: Engine, name: str, version: str, action: str, csrf: Annotated[str, Form()] = "",
                reason: Annotated[str, Form(max_length=2000)] = "", passphrase: Annotated[str, Form(max_length=1000)] = "",
                signed: Annotated[str, Form(max_length=20_000)] = "") -> Any:  # fmt: skip
    """A review action on the card: submit, archive (owners), approve with the registered key or with an approval signed by
    ``assay card sign`` (``approve-signed``), reject (approvers)."""
    from assay.service._cards import record_signed_approval

    who = checked(request, engine, csrf)
    if action not in ACTIONS:
        return render(404, **_ctx(who, request, page="none", title="Not found", error=f"no card action {action!r}; one of {', '.join(ACTIONS)}"))
    if who["role"] not in ACTIONS[action]:
        return render(
            403,
            **_ctx(who, request, page="none", title="Not for your role", error=f"{action} is for {', '.join(ACTIONS[action])}; your role is {who['role']}."),
        )
    model = _model_or_404(engine, who, request, name, version)
    if isinstance(model, Response):
        return model
    try:
        if action == "approve-signed":
            try:
                doc = json.loads(signed)
            except json.JSONDecodeError:
                raise AssayError("paste the JSON that assay card sign printed (one object)") from None
            if not isinstance(doc, dict):
                raise AssayError("paste the JSON that assay card sign printed (one object)")
            e = record_signed_approval(engine, name, version, who["name"], doc)
        else:
            if not reason.strip():
                raise AssayError("give a reason; it is recorded with the action")
            e = card_act(engine, name, version, action, who["name"], reason, passphrase or None)
    except AssayError as exc:
        return render(
            status_of(exc), template="model.html.j2", title=f"{name}/{version}", **_ctx(who, request, **model_view(engine, model, who, error=str(exc)))
        )
    signed = f", signed with key {e['key_id']}" if e.get("signature") else ""
    return RedirectResponse(
        _told(f"/ui/models/{name}/{version}", who, f"version {e['version']}: {e['from_status']} → {e['to_status']}{signed}"), status_code=303
    )


def _told(path: str, who: dict[str, Any], text: str) -> str:
    """``path`` with a notice to show after a redirect, signed for this session: a link made elsewhere cannot put words on the page."""
    from urllib.parse import urlencode

    text = text[:300]
    return f"{path}?{urlencode({'notice': text, 'sig': _seal(who, text)})}"


def _seal(who: dict[str, Any], text: str) -> str:
    import hashlib
    import hmac

    return hmac.new(who["csrf"].encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def _notice(who: dict[str, Any], notice: str | None, sig: str | None) -> str | None:
    """The notice of a redirect when this session signed it (else nothing is shown)."""
    import hmac

    return notice if notice and sig and hmac.compare_digest(_seal(who, notice), sig) else None


# == the ledger ==================================================================================================================
def _ledger_filter(action: str | None, actor: str | None, subject: str | None, since: str | None, until: str | None) -> list[Any]:
    where = []
    if action:
        where.append(ledger.c.action == action if not action.endswith(".") else ledger.c.action.startswith(action))
    if actor:
        where.append(ledger.c.actor == actor)
    if subject:
        where.append(ledger.c.subject == subject)
    if since:
        where.append(ledger.c.at >= _iso_bound(since))
    if until:
        where.append(ledger.c.at < _iso_bound(until))
    return where


def _iso_bound(text: str) -> str:
    """A time bound the ledger's ISO 8601 UTC strings compare with (``2026-12-01`` or ``2026-12-01T10:00``), or a clear error."""
    import datetime as _dt

    try:
        t = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise AssayError(f"time {text!r} is not an ISO 8601 date or time (e.g. 2026-12-01 or 2026-12-01T10:00)") from None
    t = t.replace(tzinfo=_dt.timezone.utc) if t.tzinfo is None else t.astimezone(_dt.timezone.utc)
    return t.isoformat()


def _ledger_view(engine: sa.Engine, query: dict[str, Any], before: int | None = None) -> dict[str, Any]:
    """A page of the ledger, newest first (keyset on the sequence number), with the filter's bounds checked."""
    where = _ledger_filter(query.get("action"), query.get("actor"), query.get("subject"), query.get("since"), query.get("until"))
    if before is not None:
        where.append(ledger.c.seq < before)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(ledger).where(*where).order_by(ledger.c.seq.desc()).limit(PER_PAGE + 1))]
        total = conn.execute(sa.select(sa.func.count()).select_from(ledger)).scalar_one()
        actions = [a for (a,) in conn.execute(sa.select(ledger.c.action).distinct().order_by(ledger.c.action))]
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    for r in rows:
        r["payload_pretty"] = json.dumps(json.loads(r["payload"]), indent=1, ensure_ascii=False)[:4000]
    return {"entries": rows, "query": query, "total": total, "actions": actions, "older": rows[-1]["seq"] if more and rows else None}


@router.get("/ui/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, engine: Engine, action: Annotated[str | None, Query(max_length=100)] = None,
                actor: Annotated[str | None, Query(max_length=200)] = None, subject: Annotated[str | None, Query(max_length=400)] = None,
                since: Annotated[str | None, Query(max_length=40)] = None, until: Annotated[str | None, Query(max_length=40)] = None,
                before: Annotated[int | None, Query(ge=1, le=2**62)] = None, check: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Any:  # fmt: skip
    """The record, newest first, 50 entries a page, filtered by action (``card.`` for every card action), actor, subject and time;
    each entry with its hash and the previous one's."""
    who = _page(request, engine, "/ui/ledger")
    if isinstance(who, Response):
        return who
    query = {k: v for k, v in {"action": action, "actor": actor, "subject": subject, "since": since, "until": until}.items() if v}
    try:
        view = _ledger_view(engine, query, before)
    except AssayError as exc:
        return render(422, template="ledger.html.j2", title="Ledger", **_ctx(who, request, **_ledger_view(engine, {}), error=str(exc)))
    return render(template="ledger.html.j2", title="Ledger", **_ctx(who, request, **view, check=_check_view(engine, check)))


@router.post("/ui/ledger/verify", response_class=HTMLResponse)
def verify_now(request: Request, engine: Engine, csrf: Annotated[str, Form()] = "", anchor: Annotated[str, Form(max_length=2000)] = "") -> Any:
    """Start a walk of the whole chain (and the rows it counts) in the background, kept in ``ledger_checks``; with an anchor (the JSON
    ``assay ledger anchor`` wrote, kept elsewhere) removed or rebuilt entries up to it are found too. The ledger page shows it
    running, then what it found and what it was checked against."""
    import threading

    from assay.service._db import ledger_checks, utcnow

    who = _form_user(request, engine, csrf, "/ui/ledger/verify", "Verifying the ledger is for admins and auditors.")
    if isinstance(who, Response):
        return who
    given = None
    try:
        if anchor.strip():
            given = json.loads(anchor)
            if not isinstance(given, dict) or not isinstance(given.get("seq"), int) or not isinstance(given.get("hash"), str):
                raise ValueError
    except ValueError:
        return render(422, template="ledger.html.j2", title="Ledger", **_ctx(who, request, **_ledger_view(engine, {}),
                      error='the anchor must be the JSON that assay ledger anchor writes: {"seq": N, "hash": "..."}'))  # fmt: skip
    with engine.begin() as conn:
        check_id = int(conn.execute(ledger_checks.insert().values(started_at=utcnow(), started_by=who["name"], anchor=given)).inserted_primary_key[0])  # type: ignore[index]
    threading.Thread(target=run_check, args=(engine, check_id, given), name=f"ledger-check-{check_id}", daemon=True).start()
    return RedirectResponse(f"/ui/ledger?check={check_id}#verify", status_code=303)


def run_check(engine: sa.Engine, check_id: int, anchor: dict[str, Any] | None) -> None:
    """Walk the chain and keep what was found (an error of the walk itself is kept as its problem)."""
    from assay.service._db import ledger_checks, utcnow

    try:
        with engine.connect() as conn:
            result = _ledger.verify(conn, anchor=anchor)
            found = {**result.to_dict(), "problems": result.problems[:20], "now": _ledger.anchor(conn)}
    except Exception as exc:  # noqa: BLE001 - kept as the check's outcome, never lost in a thread
        found = {"ok": False, "entries": None, "problem": f"the check itself failed: {type(exc).__name__}: {exc}", "problems": [], "now": None}
    with engine.begin() as conn:
        conn.execute(ledger_checks.update().where(ledger_checks.c.id == check_id).values(finished_at=utcnow(), result=found))


def _check_view(engine: sa.Engine, check_id: int | None) -> dict[str, Any] | None:
    """A verification (the one asked for, else the latest): who started it and when, its anchor, and what it found (None: running)."""
    from assay.service._db import ledger_checks

    q = sa.select(ledger_checks)
    q = q.where(ledger_checks.c.id == check_id) if check_id is not None else q.order_by(ledger_checks.c.id.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None:
        return None
    return {"id": row.id, "started_at": str(row.started_at)[:19], "started_by": row.started_by, "anchor": row.anchor,
            "finished_at": None if row.finished_at is None else str(row.finished_at)[:19], **(row.result or {}), "running": row.result is None}  # fmt: skip


@router.get("/ui/ledger/export")
def ledger_export(request: Request, engine: Engine) -> Any:
    """The whole ledger as JSON Lines, as ``assay ledger export`` writes it (``assay ledger verify FILE`` checks it offline)."""
    who = _page(request, engine, "/ui/ledger/export")
    if isinstance(who, Response):
        return who

    def lines() -> Any:
        after = 0
        while True:
            with engine.connect() as conn:
                batch = list(_ledger.entries(conn, after=after, limit=1000))
            if not batch:
                return
            yield "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in batch).encode()
            after = int(batch[-1]["seq"])

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers={"Content-Disposition": 'attachment; filename="ledger.jsonl"',
                                                                                    "Cache-Control": "no-store"})  # fmt: skip


# == tokens and keys =============================================================================================================
def _tokens(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.created_at, tokens.c.revoked_at).order_by(tokens.c.id))
        return [{"id": r.id, "name": r.name, "role": r.role, "created_at": str(r.created_at)[:16], "revoked_at": None if r.revoked_at is None else str(r.revoked_at)[:16]}
                for r in rows]  # fmt: skip


def _tokens_page(request: Request, engine: sa.Engine, who: dict[str, Any], status: int = 200, **more: Any) -> HTMLResponse:
    return render(status, template="tokens.html.j2", title="Tokens", **_ctx(who, request, tokens=_tokens(engine), roles=ROLES, **more))


@router.get("/ui/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, engine: Engine) -> Any:
    who = _page(request, engine, "/ui/tokens")
    if isinstance(who, Response):
        return who
    return _tokens_page(request, engine, who)


@router.post("/ui/tokens", response_class=HTMLResponse)
def token_create(request: Request, engine: Engine, csrf: Annotated[str, Form()] = "", name: Annotated[str, Form(max_length=200)] = "",
                 role: Annotated[str, Form(max_length=20)] = "") -> Any:  # fmt: skip
    """Create a token; it is shown once, on the page this answers with."""
    who = _form_user(request, engine, csrf, "/ui/tokens", "Tokens are for admins.")
    if isinstance(who, Response):
        return who
    error = None if name.strip() else "give the name of the person (or system) the token is for"
    error = error or (None if role in ROLES else f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if error:
        return _tokens_page(request, engine, who, 422, error=error)
    token = create_token(engine, name=name.strip(), role=role, actor=who["name"])
    return _tokens_page(request, engine, who, new={"name": name.strip(), "role": role, "token": token})


@router.post("/ui/tokens/{token_id}/revoke", response_class=HTMLResponse)
def token_revoke(request: Request, engine: Engine, token_id: int, csrf: Annotated[str, Form()] = "") -> Any:
    who = _form_user(request, engine, csrf, "/ui/tokens/{token_id}/revoke", "Tokens are for admins.")
    if isinstance(who, Response):
        return who
    try:
        done = revoke_tokens(engine, actor=who["name"], token_id=token_id)
    except LastAdminError as exc:
        return _tokens_page(request, engine, who, 409, error=str(exc))
    if not done:
        return _tokens_page(request, engine, who, 404, error=f"no active token {token_id}")
    if done[0]["name"] == who["name"] and done[0]["role"] == who["role"]:
        return RedirectResponse("/ui/login", status_code=303)  # your own token: your session ended with it
    return _tokens_page(request, engine, who, notice=f"token {token_id} of {done[0]['name']} ({done[0]['role']}) revoked; their page sessions are ended")


def _keys_page(request: Request, engine: sa.Engine, who: dict[str, Any], status: int = 200, **more: Any) -> HTMLResponse:
    """The signing keys page: this approver's own keys (public parts), newest last."""
    with engine.connect() as conn:
        keys = [k for k in keys_of(conn) if k["name"] == who["name"]]
    return render(status, template="keys.html.j2", title="Signing key", **_ctx(who, request, keys=keys, **more))


@router.get("/ui/keys", response_class=HTMLResponse)
def keys_page(request: Request, engine: Engine) -> Any:
    who = _page(request, engine, "/ui/keys")
    if isinstance(who, Response):
        return who
    return _keys_page(request, engine, who)


@router.post("/ui/keys", response_class=HTMLResponse)
def key_register(request: Request, engine: Engine, csrf: Annotated[str, Form()] = "", private_key: Annotated[str, Form(max_length=10_000)] = "",
                 passphrase: Annotated[str, Form(max_length=1000)] = "") -> Any:  # fmt: skip
    who = _form_user(request, engine, csrf, "/ui/keys", "Signing keys are for approvers.")
    if isinstance(who, Response):
        return who
    try:
        if not passphrase:
            raise AssayError("give the key's passphrase: it opens the key once, to check it, and is not kept")
        k = register_key(engine, who["name"], private_key, passphrase)
    except AssayError as exc:
        return _keys_page(request, engine, who, status_of(exc), error=str(exc))
    return _keys_page(request, engine, who, notice=f"key {k['key_id']} registered; your approvals are signed with it")
