"""CSRF protection for the console's forms: a signed double-submit cookie.

Each browser gets a random value in the ``firebell_csrf`` cookie (``HttpOnly``,
``SameSite=Lax``); each form carries ``HMAC(key, cookie)`` in a hidden field. A POST is
accepted only when the field matches the cookie it came with, and, when the browser says where
the request came from (``Origin`` or ``Sec-Fetch-Site``), only from the console's own pages.

Why this and not a server-side session: nothing to store or expire, no extra dependency
(Starlette's ``SessionMiddleware`` needs ``itsdangerous``), and the signature means a cookie
planted by a sibling subdomain is useless without the key. The key is random per process, so a
restart asks open forms to reload (the page says so); it never leaves the process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "CsrfGuard"]

CSRF_COOKIE = "firebell_csrf"
CSRF_FIELD = "csrf"
_COOKIE_LENGTH = 43  # secrets.token_urlsafe(32)


class CsrfGuard:
    """Issues the cookie and form tokens and checks them on POST."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or secrets.token_bytes(32)

    def cookie_of(self, request: Request) -> str | None:
        """The request's CSRF cookie when it is well-formed, else None."""
        value = request.cookies.get(CSRF_COOKIE)
        if value and len(value) == _COOKIE_LENGTH and value.isascii():
            return value
        return None

    def form_token(self, cookie: str) -> str:
        """The hidden field's value for a browser holding ``cookie``."""
        return hmac.new(self.key, cookie.encode(), hashlib.sha256).hexdigest()

    def token_for(self, request: Request) -> tuple[str, str | None]:
        """The form token for this request, and a new cookie to set when it had none."""
        cookie = self.cookie_of(request)
        if cookie is not None:
            return self.form_token(cookie), None
        fresh = secrets.token_urlsafe(32)
        return self.form_token(fresh), fresh

    @staticmethod
    def set_cookie(response: Response, request: Request, cookie: str) -> None:
        """Give the browser its CSRF cookie."""
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            httponly=True,
            # Lax, not Strict: a Strict cookie is missing when someone follows a link from Slack,
            # and the fresh one set then would break the forms of their other tabs. Lax cookies
            # are not sent on another site's POST either.
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )

    def problem(self, request: Request, form: Mapping[str, str]) -> str | None:
        """Why this POST must be refused, or None when it came from one of our forms."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in {"same-origin", "none"}:
            return f"The form was sent from another site ({site})."
        origin = request.headers.get("origin")
        if origin is not None:
            # Hosts only: behind a TLS proxy the browser says https and uvicorn sees http.
            ours = {
                request.headers.get(name, "").strip().lower()
                for name in ("host", "x-forwarded-host")
            } - {""}
            if urlsplit(origin).netloc.lower() not in ours:
                return f"The form was sent from {origin}, not from this console."
        cookie = self.cookie_of(request)
        given = form.get(CSRF_FIELD, "")
        if cookie is None or not given:
            return "The form has no security token (cookies off, or the page is old)."
        if not hmac.compare_digest(given.encode(), self.form_token(cookie).encode()):
            return "The form's security token does not match (the page is old or the server restarted)."
        return None
