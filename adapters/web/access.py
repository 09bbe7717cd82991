"""Who may see the console: people on this machine, and others with the shared token.

**The "is local" rule.** A request is local when all three hold:

1. its TCP peer (the socket's address, never a header: uvicorn runs with ``proxy_headers``
   off) is exactly ``127.0.0.1`` or ``::1`` (an IPv4-mapped ``::ffff:127.0.0.1`` too); other
   ``127.x`` addresses are not trusted, since namespaces, containers and port forwarders use
   them for traffic that came from elsewhere;
2. it carries no forwarding header (``Forwarded``, ``X-Forwarded-For``, ``X-Real-IP``,
   ``X-Forwarded-Host``): a reverse proxy on this machine relays other people's requests, and
   those must show the token like any remote one;
3. its ``Host`` is a loopback name (``localhost``, ``127.0.0.1``, ``[::1]``, any port): a page on
   another site that rebinds its DNS name to 127.0.0.1 reaches the port from the user's own
   browser, but with its own name in ``Host``.

Every other request needs the configured token (``[firebell.web] token``), sent as
``Authorization: Bearer <token>``, or once as ``?token=<token>``, after which a cookie carries a
value derived from it (not the token itself) and the address bar loses the token. Without a
configured token, non-local requests are refused. ``/static/`` (the style sheet) is open to all.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from ipaddress import IPv6Address, ip_address
from urllib.parse import urlencode

import attrs
from firebell.adapters.web.settings import WebSettings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "ACCESS_COOKIE",
    "AccessGate",
    "Refusal",
    "Visitor",
    "is_local_address",
    "is_local_request",
    "is_loopback_host_name",
]

ACCESS_COOKIE = "firebell_access"
_FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host")
_LOCAL_ADDRESSES = frozenset({ip_address("127.0.0.1"), ip_address("::1")})
_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_MAX_USER = 200


@attrs.frozen
class Visitor:
    """Who is looking: ``how`` they got in (``local`` or ``token``) and a name for the log."""

    user: str
    how: str

    @property
    def actor(self) -> str:
        """The actor recorded on events this visitor causes: ``web:<user>``."""
        return f"web:{self.user}"


@attrs.frozen
class Refusal:
    """Why a request was turned away: the HTTP status, a title and what to do."""

    status: int
    title: str
    message: str


RefusalPage = Callable[[Request, Refusal], Awaitable[Response]]


def is_local_address(host: str | None) -> bool:
    """Whether ``host`` (a peer address as text) is exactly 127.0.0.1 or ::1."""
    if not host:
        return False
    try:
        address = ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address in _LOCAL_ADDRESSES


def is_loopback_host_name(host_header: str | None) -> bool:
    """Whether a ``Host`` header names this machine's loopback (``localhost:8080``, ``[::1]``)."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return name.rstrip(".") in _LOCAL_NAMES


def is_local_request(client_host: str | None, headers: Headers) -> bool:
    """The rule in this module's docstring: loopback peer, not forwarded, loopback ``Host``."""
    return (
        is_local_address(client_host)
        and not any(name in headers for name in _FORWARDING_HEADERS)
        and is_loopback_host_name(headers.get("host"))
    )


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"firebell-web-access-v1", hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class AccessGate:
    """ASGI middleware: lets local and token-holding requests through, refuses the rest.

    A request let through has ``request.state.visitor`` (a :class:`Visitor`).
    """

    def __init__(self, app: ASGIApp, settings: WebSettings, refuse: RefusalPage) -> None:
        self.app = app
        self.settings = settings
        self.refuse = refuse
        self.token = settings.token.reveal() if settings.token is not None else None
        self.cookie = _cookie_value(self.token) if self.token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        outcome = self.decide(request)
        if isinstance(outcome, Visitor):
            scope.setdefault("state", {})["visitor"] = outcome
            await self.app(scope, receive, send)
            return
        if isinstance(outcome, Refusal):
            response = await self.refuse(request, outcome)
            if outcome.status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="firebell"'
        else:
            response = outcome
        await response(scope, receive, send)

    def decide(self, request: Request) -> Visitor | Refusal | Response:
        """Let in (a :class:`Visitor`), refuse, or answer directly (the ``?token=`` redirect)."""
        client = request.client.host if request.client else None
        if is_local_request(client, request.headers):
            return Visitor("local", "local")
        if self.token is None or self.cookie is None:
            return Refusal(
                403,
                "Local access only",
                "This console answers requests from this machine only, because no shared token "
                "is configured. Open it on the machine itself (http://127.0.0.1:PORT), through "
                'an SSH tunnel, or set [firebell.web] token = { env = "FIREBELL_WEB_TOKEN" }.',
            )
        query_token = request.query_params.get("token")
        if query_token is not None:
            if not _same(query_token, self.token):
                return self._unauthorized("The token in the address is not the configured one.")
            return self._remember(request)
        if _same(_bearer(request.headers), self.token) or _same(
            request.cookies.get(ACCESS_COOKIE), self.cookie
        ):
            return Visitor(self._user(request), "token")
        return self._unauthorized("This console needs the shared token for requests from afar.")

    def _user(self, request: Request) -> str:
        # Only a proxy that also sends the token may say who the user is.
        if self.settings.user_header:
            claimed = request.headers.get(self.settings.user_header, "").strip()
            if claimed and claimed.isprintable() and len(claimed) <= _MAX_USER:
                return claimed
        return "token"

    def _remember(self, request: Request) -> Response:
        """Drop ``?token=`` from the address and set the access cookie instead."""
        assert self.cookie is not None
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        target = request.scope.get("root_path", "") + request.url.path
        if kept:
            target += "?" + urlencode(kept)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            ACCESS_COOKIE,
            self.cookie,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _unauthorized(reason: str) -> Refusal:
        return Refusal(
            401,
            "Token needed",
            f"{reason} Send it in the header Authorization: Bearer <token>, or open this "
            "address once with ?token=<token> added; a cookie keeps you in afterwards. The token "
            "is the value of the variable named by [firebell.web] token on the server.",
        )
