"""The web console as an ASGI app: incident list, incident page, metrics, and (if allowed) actions.

:func:`create_app` routes the pages (:mod:`.pages`) and the forms (:mod:`.actions`), which share
one :class:`~firebell.adapters.web.console.Console` (templates, CSRF, metrics), behind the access
gate (:mod:`.access`).
"""

from __future__ import annotations

from firebell.adapters.web.access import AccessGate
from firebell.adapters.web.actions import Actions
from firebell.adapters.web.console import HERE, Console, root_path
from firebell.adapters.web.pages import PAGE_SIZE, Pages
from firebell.adapters.web.settings import WebSettings, web_settings
from firebell.core.errors import DatabaseUnavailable
from firebell.core.runtime import Firebell
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["PAGE_SIZE", "create_app"]


def create_app(firebell: Firebell, settings: WebSettings | None = None) -> Starlette:
    """The console for ``firebell`` (settings default to its ``[firebell.web]`` table)."""
    settings = settings or web_settings(firebell.settings)
    console = Console(firebell, settings)
    pages = Pages(console)
    actions = Actions(console, pages)

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
        return RedirectResponse(f"{root_path(request)}/incidents", 303)

    routes = [
        Route("/", home),
        Route("/incidents", pages.list_page, methods=["GET"]),
        Route("/incidents", actions.declare, methods=["POST"]),
        Route("/incidents/{name}", pages.incident_page, methods=["GET"]),
        Route("/incidents/{name}/resolve", actions.resolve, methods=["POST"]),
        Route("/metrics", pages.metrics_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
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
