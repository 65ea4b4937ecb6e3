"""The service's door: request bodies are bounded in size and nesting, finite, and valid Unicode before any route sees them.

A body the service cannot store and give back faithfully is refused here with
a 413 or a 422 naming what is wrong, so that nothing malformed is stored
(a stored lone surrogate or NaN would break every later page or export that
holds it) and no route fails with a 500 on it.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from assay._strict import STRICT, Whole  # every request body's rules (the library's)

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "STRICT", "BodyGuard", "RateLimit", "Unexpected", "Whole", "loads_checked", "problem"]

MAX_BODY_BYTES = 16 * 2**20  # a batch of 10,000 captured predictions with a few dozen features each fits
MAX_DEPTH = 64  # objects within objects; real records are 2 or 3 deep


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send finite numbers (or null)")


def problem(obj: Any) -> str | None:
    """What makes a parsed JSON value unstorable (nesting beyond MAX_DEPTH, a string that is not valid Unicode), or None.

    Only containers are stacked, and a value's path is spelled out only for the one reported (a 10,000-record batch is
    checked in a fraction of its parse time)."""
    if isinstance(obj, str):
        return None if obj.isascii() or _valid_unicode(obj) else "the body: a string holds a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"
    stack: list[tuple[Any, int, Any]] = [(obj, 0, None)] if isinstance(obj, (dict, list)) else []
    while stack:
        value, depth, path = stack.pop()
        for k, v in value.items() if isinstance(value, dict) else enumerate(value):
            if depth + 1 > MAX_DEPTH:
                return f"{_path((path, k))} is nested more than {MAX_DEPTH} levels deep"
            if isinstance(k, str) and not k.isascii() and not _valid_unicode(k):
                return f"{_path(path)}: a key holds a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1, (path, k)))
            elif isinstance(v, str) and not v.isascii() and not _valid_unicode(v):
                return f"{_path((path, k))}: a string holds a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"
    return None


def _path(link: Any) -> str:
    """``records[0].facets.sex`` from the chain of (parent, key) links; ``the body`` for the top."""
    keys: list[Any] = []
    while link is not None:
        link, key = link
        keys.append(key)
    out = ""
    for key in reversed(keys):
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "the body"


def _valid_unicode(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads_checked(text: str | bytes, where: str = "the body") -> Any:
    """JSON text parsed, refusing NaN and Infinity, nesting beyond MAX_DEPTH and lone surrogates; ValueError naming ``where``."""
    try:
        obj = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"{where} is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    why = problem(obj)
    if why is not None:
        raise ValueError(f"{where}: {why}" if where != "the body" else why)
    return obj


ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]], Awaitable[None]]


class BodyGuard:
    """ASGI middleware: a body over MAX_BODY_BYTES is a 413; a JSON body with NaN, Infinity, deep nesting or a lone surrogate a 422."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _reply(send, 413, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _reply(send, 413, self._too_large())
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and "json" in headers.get("content-type", ""):
            why = _json_problem(body)
            if why is not None:
                await _reply(send, 422, {"detail": [{"loc": ["body"], "msg": why, "type": "value_error"}]})
                return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> dict[str, Any]:
        return {"detail": f"the request body is larger than {self.max_bytes:,} bytes; send smaller batches"}


class Unexpected:
    """ASGI middleware: an error no route handles is logged with its traceback under a short id and answered with a JSON 500
    naming that id; the connection stays open (an exception that reaches the server makes it close the connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            ref = secrets.token_hex(4)
            logging.getLogger("assay.service").exception("unexpected error %s in %s %s", ref, scope.get("method"), scope.get("path"))
            if started:  # part of the answer is out: only the server can end it
                raise
            await _reply(send, 500, {"detail": f"unexpected error {ref}; the server's log has the details under this id"})


def _json_problem(body: bytes) -> str | None:
    try:
        loads_checked(body)
    except ValueError as exc:
        text = str(exc)
        return None if text.startswith("the body: not JSON") else text  # malformed JSON: FastAPI's own 422 says where
    return None


async def _reply(send: Callable[[dict[str, Any]], Awaitable[None]], status: int, content: dict[str, Any]) -> None:
    data = json.dumps(content).encode()
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]}
    )
    await send({"type": "http.response.body", "body": data})


class RateLimit:
    """At most ``attempts`` calls per client in any ``seconds``-long span (in this process); a 429 with Retry-After past it."""

    def __init__(self, attempts: int, seconds: float) -> None:
        self.attempts, self.seconds = attempts, seconds
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, now: float | None = None) -> None:
        from fastapi import HTTPException

        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._calls) > 100_000:  # forget idle clients rather than grow without bound
                self._calls = {k: q for k, q in self._calls.items() if q and q[-1] > now - self.seconds}
            calls = self._calls.setdefault(client, deque())
            while calls and calls[0] <= now - self.seconds:
                calls.popleft()
            if len(calls) >= self.attempts:
                wait = max(1, int(calls[0] + self.seconds - now + 0.999))
                raise HTTPException(429, f"too many attempts from this client: at most {self.attempts} in {self.seconds:g} s; retry in {wait} s",
                                    headers={"Retry-After": str(wait)})  # fmt: skip
            calls.append(now)
