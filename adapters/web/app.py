"""The web console as an ASGI app: incident list, incident page, metrics, and (if allowed) actions.

Pages read the read model through the store's indexed queries (a page of 50 and a count, which
for a search stops at ``search_count_limit`` matches; one incident and its events), so they stay
fast however long the log is. Actions go through the
same engine commands and permissions as Slack and the CLI, as ``web:<user>``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attrs
import jinja2
from firebell.adapters.web.access import AccessGate, Refusal, Visitor
from firebell.adapters.web.csrf import CSRF_FIELD, CsrfGuard
from firebell.adapters.web.metrics import StatsCache
from firebell.adapters.web.settings import WebSettings, web_settings
from firebell.adapters.web.views import (
    Pager,
    describe_duration,
    resource_views,
    safe_url,
    when,
)
from firebell.core.errors import (
    CommandRefused,
    DatabaseUnavailable,
    IncidentNotFound,
    InvalidInput,
)
from firebell.core.incident import Incident, IncidentState
from firebell.core.runtime import Firebell
from firebell.core.stats_chart import format_duration
from firebell.core.timeline import incident_timeline
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

__all__ = ["PAGE_SIZE", "create_app"]

log = logging.getLogger("firebell.web")

PAGE_SIZE = 50
_HERE = Path(__file__).parent
_MAX_FORM_BYTES = 64 * 1024
_MAX_SEARCH = 200
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


class _Console:
    """The routes' shared state: the Firebell, the settings, templates, CSRF and metrics."""

    def __init__(self, firebell: Firebell, settings: WebSettings) -> None:
        self.firebell = firebell
        self.settings = settings
        self.templates = Jinja2Templates(
            env=jinja2.Environment(
                loader=jinja2.FileSystemLoader(_HERE / "templates"),
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

    # -- pages ---------------------------------------------------------------------------

    def list_page(self, request: Request) -> Response:
        """``/incidents``: filter by state and severity, search, 50 to a page."""
        params = request.query_params
        state_name = params.get("state", "")
        severity = params.get("severity", "")
        search = params.get("q", "").strip()[:_MAX_SEARCH]
        # Values match ignoring case, as the CLI's `list --severity` does; an unknown one is
        # said on the page rather than dropped silently under a filter that looks applied.
        problems: list[str] = []
        state = next((s for s in IncidentState if s.value == state_name.strip().lower()), None)
        if state_name and state is None:
            known = ", ".join(s.value for s in IncidentState)
            problems.append(f"No state {state_name[:40]!r}: {known}. Showing every state.")
        configured = self.firebell.settings.severity(severity.strip()) if severity else None
        severity_filter = configured.name if configured else None
        if severity and configured is None:
            known = ", ".join(self.severities)
            problems.append(f"No severity {severity[:40]!r}: {known}. Showing every severity.")
        try:
            page_number = min(max(1, int(params.get("page", "1"))), 10_000_000)
        except ValueError:
            page_number = 1
        store = self.firebell.store
        text = search or None
        incidents = store.list_incidents(
            state=state,
            severity=severity_filter,
            search=text,
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        if page_number == 1 and len(incidents) < PAGE_SIZE:
            # They all fit on the first page: no second pass to count them (a search scans).
            total, exact = len(incidents), True
        else:
            total, exact = self.count_matches(state, severity_filter, text, page_number)
        filters = {"q": search, "state": state.value if state else "", "severity": severity_filter}
        pager = Pager(
            page_number,
            PAGE_SIZE,
            total,
            {k: v or "" for k, v in filters.items()},
            exact=exact,
        )
        if pager.number > pager.pages:  # past the end (an old link): show the last page
            pager = attrs.evolve(pager, number=pager.pages)
            incidents = store.list_incidents(
                state=state,
                severity=severity_filter,
                search=text,
                limit=PAGE_SIZE,
                offset=pager.offset,
            )
        return self.render(
            request,
            "list.html",
            {
                "title": "Incidents",
                "incidents": incidents,
                "pager": pager,
                "q": search,
                "state": state.value if state else "",
                "severity": severity_filter or "",
                "states": [s.value for s in IncidentState],
                "severities": self.severities,
                "default_severity": self.firebell.settings.default_severity,
                "filtered": bool(state or severity_filter or search),
                "can_declare": self.settings.allow_actions
                and self.firebell.engine.permissions.allows(
                    "declare", request.state.visitor.actor, None
                ),
                "form_error": None,
                "form": {},
                "filter_problem": " ".join(problems) or None,
            },
        )

    def count_matches(
        self,
        state: IncidentState | None,
        severity: str | None,
        search: str | None,
        page_number: int,
    ) -> tuple[int, bool]:
        """How many incidents the list's filters match, and whether that figure is exact.

        A search's count stops once it is past ``search_count_limit`` matches and past the page
        asked for: counting every match of a search that matches most incidents reads the whole
        table (the page itself comes from the ``declared_at`` index after a few rows), for a
        figure "10,000+" gives well enough. Without a search the count reads an index alone
        and stays exact.
        """
        store = self.firebell.store
        if search is None:
            return store.count_incidents(state=state, severity=severity), True
        known = max(self.settings.search_count_limit, page_number * PAGE_SIZE)
        counted = store.count_incidents(
            state=state, severity=severity, search=search, limit=known + 1
        )
        return min(counted, known), counted <= known

    def incident_page(
        self, request: Request, *, problem: str | None = None, status: int = 200
    ) -> Response:
        """``/incidents/{name}``: state, people, links, timeline."""
        incident = self._incident(request)
        events = self.firebell.store.select_events(incident.id)
        visitor: Visitor = request.state.visitor
        can_resolve = (
            self.settings.allow_actions
            and incident.state is IncidentState.OPEN
            and self.firebell.engine.permissions.allows("resolve", visitor.actor, incident)
        )
        return self.render(
            request,
            "incident.html",
            {
                "title": incident.id,
                "incident": incident,
                "resources": resource_views(incident),
                "timeline": incident_timeline(events),
                "followups": sorted(incident.follow_ups, key=lambda f: (f.done, f.id)),
                "duration": _duration(incident),
                "can_resolve": can_resolve,
                "problem": problem,
            },
            status,
        )

    def metrics_page(self, request: Request) -> Response:
        """``/metrics``: incidents per month and severity, and how many are in each state."""
        snapshot, refreshing = self.stats.snapshot()
        stats = snapshot.stats
        return self.render(
            request,
            "metrics.html",
            {
                "title": "Metrics",
                "snapshot": snapshot,
                "stats": stats,
                "refreshing": refreshing,
                "months": list(reversed(list(stats.by_month.items()))),
            },
        )

    # -- actions -------------------------------------------------------------------------

    async def declare(self, request: Request) -> Response:
        """POST ``/incidents``: declare an incident as ``web:<user>``."""
        form, refused = await self._form(request)
        if refused is not None:
            return refused
        visitor: Visitor = request.state.visitor
        try:
            result = await run_in_threadpool(
                lambda: self.firebell.engine.declare(
                    title=form.get("title", ""),
                    description=form.get("description", ""),
                    severity=form.get("severity") or None,
                    customer_facing=form.get("customer_facing") == "on",
                    reporter=visitor.actor,
                    source="web",
                    idempotency_key=_form_key(form),
                )
            )
        except (InvalidInput, CommandRefused) as error:
            return self.error(request, _status_of(error), "Not declared", str(error))
        return RedirectResponse(f"{_root(request)}/incidents/{result.incident.id}", 303)

    async def resolve(self, request: Request) -> Response:
        """POST ``/incidents/{name}/resolve``: resolve it as ``web:<user>``."""
        form, refused = await self._form(request)
        if refused is not None:
            return refused
        visitor: Visitor = request.state.visitor
        name = request.path_params["name"]
        try:
            result = await run_in_threadpool(
                lambda: self.firebell.engine.resolve(
                    name,
                    actor=visitor.actor,
                    summary=form.get("summary", ""),
                    idempotency_key=_form_key(form),
                )
            )
        except IncidentNotFound:
            return self.error(
                request, 404, "Not found", f"There is no incident called {name!r} to resolve."
            )
        except (InvalidInput, CommandRefused) as error:
            problem, status = str(error), _status_of(error)
            return await run_in_threadpool(
                lambda: self.incident_page(request, problem=problem, status=status)
            )
        return RedirectResponse(f"{_root(request)}/incidents/{result.incident.id}", 303)

    async def _form(self, request: Request) -> tuple[dict[str, str], Response | None]:
        if not self.settings.allow_actions:
            return {}, self.error(
                request,
                403,
                "Read-only console",
                "Acting from the web is off. An operator can turn it on with "
                "[firebell.web] allow_actions = true; until then use Slack or the firebell CLI.",
            )
        body = await request.body()
        if len(body) > _MAX_FORM_BYTES:
            return {}, self.error(request, 413, "Form too large", "Shorten the text and retry.")
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return {}, self.error(request, 415, "Not a form", "Send the page's own form.")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        problem = self.csrf.problem(request, form)
        if problem is not None:
            log.warning("refused a form without a valid CSRF token: %s", problem)
            return {}, self.error(
                request, 403, "Form refused", f"{problem} Reload the page and try again."
            )
        return form, None

    def _incident(self, request: Request) -> Incident:
        name = request.path_params["name"]
        try:
            return self.firebell.engine.get(name)
        except IncidentNotFound:
            raise HTTPException(
                404, f"There is no incident called {name!r}. The incident list shows them all."
            ) from None


def _duration(incident: Incident) -> str | None:
    end = incident.resolved_at or incident.closed_at
    return describe_duration(end - incident.declared_at) if end else None


def _short_duration(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else "—"


def _status_of(error: Exception) -> int:
    if isinstance(error, InvalidInput):
        return 400
    if str(error).startswith("You may not"):
        return 403
    return 409


def _form_key(form: Mapping[str, str]) -> str | None:
    # The form's nonce makes a double click or a resent form one command.
    nonce = form.get("nonce", "").strip()
    return f"web-form:{nonce}" if nonce and len(nonce) <= 100 else None


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def create_app(firebell: Firebell, settings: WebSettings | None = None) -> Starlette:
    """The console for ``firebell`` (settings default to its ``[firebell.web]`` table)."""
    settings = settings or web_settings(firebell.settings)
    console = _Console(firebell, settings)

    async def not_found(request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else ""
        if detail == "Not Found":  # Starlette's own, for a path no route matches
            detail = ""
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return console.error(request, 405, "Not allowed", "Use the page's buttons.")
        return console.error(
            request, 404, "Not found", detail or "There is no page here. Try the incident list."
        )

    async def unavailable(request: Request, exc: Exception) -> Response:
        return console.error(request, 503, "Database unavailable", str(exc))

    def home(request: Request) -> Response:
        return RedirectResponse(f"{_root(request)}/incidents", 303)

    routes = [
        Route("/", home),
        Route("/incidents", console.list_page, methods=["GET"]),
        Route("/incidents", console.declare, methods=["POST"]),
        Route("/incidents/{name}", console.incident_page, methods=["GET"]),
        Route("/incidents/{name}/resolve", console.resolve, methods=["POST"]),
        Route("/metrics", console.metrics_page),
        Mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            404: not_found,
            405: not_found,
            DatabaseUnavailable: unavailable,
        },
    )
    app.add_middleware(AccessGate, settings=settings, refuse=console.refuse)
    app.state.console = console
    return app
