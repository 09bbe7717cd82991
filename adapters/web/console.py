"""What every page of the web console shares: the Firebell, the settings, the templates with their
common context, the security headers, the CSRF cookie and the metrics cache (:class:`Console`)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from firebell.adapters.web.access import Refusal
from firebell.adapters.web.csrf import CSRF_FIELD, CsrfGuard
from firebell.adapters.web.metrics import StatsCache
from firebell.adapters.web.settings import WebSettings
from firebell.adapters.web.views import safe_url, when
from firebell.core.runtime import Firebell
from firebell.core.stats_chart import format_duration
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

__all__ = ["HERE", "Console", "root_path"]

#: The package's folder, which holds ``templates/`` and ``static/``.
HERE = Path(__file__).parent
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on our own
    # form posts, and the CSRF check must see the real origin. Other sites get no referrer.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class Console:
    """The routes' shared state: the Firebell, the settings, templates, CSRF and metrics."""

    def __init__(self, firebell: Firebell, settings: WebSettings) -> None:
        self.firebell = firebell
        self.settings = settings
        self.templates = Jinja2Templates(
            env=jinja2.Environment(
                loader=jinja2.FileSystemLoader(HERE / "templates"),
                autoescape=jinja2.select_autoescape(["html"]),
                trim_blocks=True,
                lstrip_blocks=True,
            )
        )
        self.csrf = CsrfGuard()
        self.severities = [s.name for s in firebell.settings.severities]
        self.templates.env.globals["when"] = when
        self.templates.env.globals["severity_class"] = self.severity_class
        self.templates.env.globals["duration"] = _short_duration
        self.templates.env.globals["safe_url"] = safe_url
        self.stats = StatsCache(firebell.store, self.severities, clock=firebell.engine.clock)

    # -- rendering -----------------------------------------------------------------------

    def severity_class(self, severity: str) -> str:
        """The CSS class of a severity: its rank among the configured ones (0 = worst)."""
        try:
            rank = self.severities.index(severity)
        except ValueError:
            return "sev-rank-other"
        return f"sev-rank-{rank}" if rank <= 3 else "sev-rank-other"

    def render(
        self, request: Request, template: str, context: Mapping[str, Any], status: int = 200
    ) -> Response:
        """A page with the common context, security headers and the CSRF cookie."""
        token, new_cookie = self.csrf.token_for(request)
        visitor = getattr(request.state, "visitor", None)
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "visitor": visitor,
                "actions": self.settings.allow_actions,
                "csrf_field": CSRF_FIELD,
                "csrf_token": token,
                "nonce": secrets.token_urlsafe(16),
                "root": request.scope.get("root_path", ""),
                **context,
            },
            status_code=status,
        )
        response.headers.update(_SECURITY_HEADERS)
        if new_cookie is not None:
            self.csrf.set_cookie(response, request, new_cookie)
        return response

    def error(self, request: Request, status: int, title: str, message: str) -> Response:
        """The error page."""
        return self.render(request, "error.html", {"title": title, "message": message}, status)

    async def refuse(self, request: Request, refusal: Refusal) -> Response:
        """The page the access gate shows when it turns a request away."""
        return self.error(request, refusal.status, refusal.title, refusal.message)


def _short_duration(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else "—"


def root_path(request: Request) -> str:
    """The path the console is mounted under (empty at the root), for links and redirects."""
    return str(request.scope.get("root_path", ""))
