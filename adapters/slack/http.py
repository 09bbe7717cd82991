"""Serving Slack's HTTP requests: an ASGI app (Starlette) for uvicorn, with a health check.

Bolt's Starlette adapter calls the synchronous ``App.dispatch`` on the event loop; here dispatch
runs in a worker thread so that one slow request never stalls the others. Before Bolt sees a
request, its signature is checked on the raw bytes (so unsigned, forged and replayed requests get
a 401 however malformed they are), its size is capped, and a body that is not UTF-8 or not
parseable is refused with a 400 instead of an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from urllib.parse import parse_qsl

from firebell.adapters.slack.parsing import payload_problem
from firebell.core.errors import DatabaseUnavailable
from firebell.core.runtime import Firebell
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "EVENTS_PATH",
    "MAX_BODY_BYTES",
    "MAX_CLOCK_SKEW",
    "create_asgi_app",
    "database_check",
    "signature_is_valid",
]

log = logging.getLogger("firebell.slack.http")

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted; Slack's own payloads are far smaller."""
MAX_CLOCK_SKEW = 5 * 60
"""Requests signed more than this many seconds from now are refused (replays)."""

HealthCheck = Callable[[], str | None]


def signature_is_valid(
    signing_secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` is Slack's ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``.

    A missing, non-numeric or stale (over five minutes off) timestamp is invalid, so an old
    captured request cannot be replayed.
    """
    if not signing_secret or not timestamp or not signature:
        return False
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - stamp) > MAX_CLOCK_SKEW:
        return False
    message = b"v0:" + str(stamp).encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def database_check(firebell: Firebell) -> HealthCheck:
    """A health check that the event log answers and would take writes.

    A read-only log (a PostgreSQL standby, a file that cannot be written) fails every command
    as surely as an unreachable one. The look is one query and a few ``stat`` calls; it writes
    nothing (:meth:`~firebell.core.store.EventStore.write_problem`).
    """

    def check() -> str | None:
        try:
            return firebell.store.write_problem()
        except DatabaseUnavailable as error:
            return str(error)

    return check


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is larger than :data:`MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_asgi_app(
    bolt_app: App,
    *,
    signing_secret: str,
    checks: Sequence[HealthCheck] = (),
    path: str = EVENTS_PATH,
) -> Starlette:
    """The ASGI app: ``POST {path}`` for Slack, ``GET /healthz`` for load balancers.

    ``/healthz`` answers 200 when every check returns None, else 503 with what failed.
    """
    if not signing_secret:
        raise ValueError("HTTP mode needs the signing secret (SLACK_SIGNING_SECRET)")

    async def events(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            return _error(413, "request body too large")
        headers = request.headers
        if not signature_is_valid(
            signing_secret,
            body,
            headers.get("x-slack-request-timestamp"),
            headers.get("x-slack-signature"),
        ):
            log.info("refused a request with a missing, wrong or stale Slack signature")
            return _error(401, "invalid request")
        try:
            bolt_request = _with_form_body(to_bolt_request(request, body))
        except UnicodeDecodeError:
            return _error(400, "request body is not UTF-8")
        except Exception as error:
            log.warning("refused a malformed Slack request: %s: %s", type(error).__name__, error)
            return _error(400, "malformed request")
        problem = payload_problem(bolt_request.body)
        if problem is not None:
            log.warning("refused a Slack request: %s", problem)
            return _error(400, "malformed or unsupported request")
        bolt_response = await run_in_threadpool(bolt_app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(_request: Request) -> Response:
        problems = [p for p in await run_in_threadpool(lambda: [c() for c in checks]) if p]
        if problems:
            return JSONResponse({"ok": False, "problems": problems}, status_code=503)
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route(path, events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def _with_form_body(bolt_request: BoltRequest) -> BoltRequest:
    """Re-parse a form body that Bolt took for an interactivity payload.

    Bolt treats any form body containing the text ``payload`` as ``payload=<json>`` and, finding
    no such field, parses it as empty: ``/incident payload service down`` would be lost. A form
    without a ``payload`` field is read as the plain form it is.
    """
    raw = bolt_request.raw_body
    if not raw or raw.startswith("{") or "payload" not in raw:
        return bolt_request
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in form:
        return bolt_request
    bolt_request.body = form
    bolt_request.context = build_context(BoltContext({}), form)
    return bolt_request
