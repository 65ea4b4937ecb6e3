"""The pages: server-rendered HTML, no scripts. A reviewer's tasks (``/ui/review``), the dashboard of models for admins, owners
and auditors (``/ui/dashboard``), and the leaderboards of bias bounties for everyone signed in (``/ui/bounties``).

Sign in with an API token; a reviewer's page then shows the task
assigned to you (or assigns the next), with the question, the model's output
and confidence, why it was sent to review and the input, and one button per
answer. Answering shows the next task. Sessions are random ids kept as SHA-256
hashes, in an HttpOnly, SameSite=Strict cookie for 8 hours; every form carries
the session's CSRF token and a POST without it is refused (403).
"""

import datetime as _dt
import functools
import secrets
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from assay._errors import AssayError, status_of
from assay.service import _ledger
from assay.service._auth import hash_token
from assay.service._db import aware, sessions, tokens, utcnow
from assay.service._deps import Engine
from assay.service._review import current_or_next, submit_answer

__all__ = ["render", "router", "session", "signed_in"]

COOKIE = "assay_session"
HOURS = 8


def same_origin(request: Request) -> bool:
    """The form came from this service: Origin (or, without it, Referer) names this host; a client that sends neither is not a browser."""
    from urllib.parse import urlsplit

    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True
    if source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.headers.get("host", "").lower()


@functools.cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("assay.service", "templates"), autoescape=True)


HOME, MODELS, CONTESTS, LEDGER = ("/ui/", "Home"), ("/ui/models", "Models"), ("/ui/contests", "Contests"), ("/ui/ledger", "Ledger")
BOUNTIES, REVIEW = ("/ui/bounties", "Bounties"), ("/ui/review", "Review")
NAV = {  # what each role's header links to: only pages the role may open
    "admin": [HOME, MODELS, CONTESTS, LEDGER, ("/ui/tokens", "Tokens"), BOUNTIES],
    "owner": [HOME, MODELS, CONTESTS, BOUNTIES],
    "approver": [HOME, MODELS, ("/ui/keys", "Signing key")],
    "auditor": [HOME, MODELS, CONTESTS, LEDGER, BOUNTIES],
    "reviewer": [REVIEW, BOUNTIES],
    "bounty": [BOUNTIES],
}


def render(status: int = 200, template: str = "page.html.j2", **ctx: Any) -> HTMLResponse:
    base: dict[str, Any] = {
        "title": "Review",
        "who": None,
        "csrf": "",
        "error": None,
        "notice": None,
        "task": None,
        "done": None,
        "page": "review",
        "here": None,
        "models_status": [],
        "bounties": [],
    }
    ctx = base | ctx
    ctx["nav"] = NAV.get(ctx["who"]["role"], []) if ctx["who"] else []
    return HTMLResponse(_environment().get_template(template).render(**ctx), status_code=status, headers={"Cache-Control": "no-store",
                        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"})  # fmt: skip


def signed_in(request: Request, engine: sa.Engine, allowed: tuple[str, ...]) -> dict[str, Any] | Response:
    """The signed-in person when their role may open the page; otherwise the answer to give: to sign in (303) or refused (403)."""
    who = session(request, engine)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    if who["role"] not in allowed:
        return render(403, who=who, csrf=who["csrf"], page="none", title="Not for your role",
                      error=f"This page is for {', '.join(allowed)}; your role is {who['role']}.")  # fmt: skip
    return who


def session(request: Request, engine: sa.Engine) -> dict[str, Any] | None:
    """The signed-in person of the request's session cookie (None when absent or expired)."""
    sid = request.cookies.get(COOKIE)
    if not sid:
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.select(sessions).where(sessions.c.id_hash == hash_token(sid))).first()
    if row is None:
        return None
    if aware(row.expires_at) < utcnow():
        return None
    return {"name": row.name, "role": row.role, "csrf": row.csrf}


def checked(request: Request, engine: sa.Engine, csrf: str) -> dict[str, Any]:
    """The signed-in person of a form POST whose CSRF token matches the session (a redirect to sign in, or 403)."""
    who = session(request, engine)
    if who is None:
        raise HTTPException(303, headers={"Location": "/ui/login"})
    if not secrets.compare_digest(csrf or "", who["csrf"]):
        raise HTTPException(403, "the form's CSRF token does not match your session; reload the page")
    return who


router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (browsers ask for one on every page; nothing to fetch, nothing logged as missing)."""
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


@router.get("/ui/login", response_class=HTMLResponse)
def login_page() -> HTMLResponse:
    return render(page="login", title="Sign in")


@router.post("/ui/login", response_class=HTMLResponse)
def login(request: Request, engine: Engine, token: str = Form(...)) -> Any:
    if not same_origin(request):  # login CSRF: another site must not sign a browser in (to an attacker's session)
        return render(403, page="login", title="Sign in", error="This sign-in form was sent from another site; sign in from this page.")
    with engine.begin() as conn:
        row = conn.execute(sa.select(tokens.c.name, tokens.c.role, tokens.c.revoked_at).where(tokens.c.token_hash == hash_token(token))).first()
        if row is None or row.revoked_at is not None:
            return render(401, page="login", title="Sign in", error="Unknown or revoked token.")
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        conn.execute(
            sessions.insert().values(id_hash=hash_token(sid), name=row.name, role=row.role, csrf=csrf, expires_at=utcnow() + _dt.timedelta(hours=HOURS))
        )
        _ledger.append(conn, actor=row.name, action="session.login", subject="ui", payload={})
    home = {"reviewer": "/ui/review", "bounty": "/ui/bounties"}.get(row.role, "/ui/")
    resp = RedirectResponse(home, status_code=303)
    resp.set_cookie(COOKIE, sid, max_age=HOURS * 3600, httponly=True, samesite="strict", secure=False, path="/ui")
    return resp


@router.post("/ui/logout")
def logout(request: Request, engine: Engine, csrf: str = Form("")) -> Any:
    checked(request, engine, csrf)
    with engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.id_hash == hash_token(request.cookies.get(COOKIE, ""))))
    resp = RedirectResponse("/ui/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/ui")
    return resp


@router.get("/ui/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, engine: Engine) -> Any:
    who = session(request, engine)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    if who["role"] not in ("admin", "owner", "auditor"):
        return render(403, who=who, csrf=who["csrf"], page="none", error="The dashboard is for admins, model owners and auditors.")
    from assay.service._dashboard import all_models, charts, model_status, monitoring_status

    shown = []
    for m in all_models(engine):
        mon = monitoring_status(engine, m)
        shown.append({**model_status(engine, m), "monitoring": mon, "charts": charts(mon)})
    return render(who=who, csrf=who["csrf"], page="dashboard", title="Dashboard", models_status=shown)


@router.get("/ui/bounties", response_class=HTMLResponse)
def bounty_boards(request: Request, engine: Engine) -> Any:
    """Every bias bounty's leaderboard: per submitter, the submissions accepted, rejected and pending, and each submission's state
    (no figures: a submitter learns accept or reject, nothing of the holdout). For every signed-in role."""
    who = session(request, engine)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    from assay.service._bounties import leaderboards

    return render(who=who, csrf=who["csrf"], page="bounties", title="Bias bounties", bounties=leaderboards(engine))


@router.get("/ui/review", response_class=HTMLResponse)
def review(request: Request, engine: Engine, done: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Any:
    who = session(request, engine)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    if who["role"] != "reviewer":
        return render(403, who=who, csrf=who["csrf"], page="none", error=f"The review pages are for reviewers; your role is {who['role']}.")
    task = current_or_next(engine, who["name"], resume=True)
    return render(who=who, csrf=who["csrf"], task=task, done=done, title=f"Task {task['task_id']}" if task else "No tasks")


@router.post("/ui/review/{task_id}", response_class=HTMLResponse)
def answer(request: Request, engine: Engine, task_id: Annotated[int, Path(ge=1, le=2**62)], answer: str = Form(...), csrf: str = Form("")) -> Any:
    who = checked(request, engine, csrf)
    try:
        submit_answer(engine, who["name"], task_id, answer)
    except AssayError as exc:
        task = current_or_next(engine, who["name"], resume=True)
        return render(status_of(exc), who=who, csrf=who["csrf"], task=task, error=str(exc))
    return RedirectResponse(f"/ui/review?done={task_id}", status_code=303)
