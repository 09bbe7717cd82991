"""The console's forms, when ``[firebell.web] allow_actions`` is on: declare and resolve as
``web:<user>``, through the same engine commands and permissions as Slack and the CLI. A form is
taken only within a size limit, form-encoded and with a valid CSRF token."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl

from firebell.adapters.web.access import Visitor
from firebell.adapters.web.console import Console, root_path
from firebell.adapters.web.pages import Pages
from firebell.core.errors import CommandRefused, IncidentNotFound, InvalidInput
from firebell.core.incident import IncidentState
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

__all__ = ["Actions"]

log = logging.getLogger("firebell.web")

_MAX_FORM_BYTES = 64 * 1024


class Actions:
    """The POST routes, over the ``console``'s state; a refused resolve shows the incident's
    page (from ``pages``) with the reason."""

    def __init__(self, console: Console, pages: Pages) -> None:
        self.console = console
        self.pages = pages
        self.firebell = console.firebell
        self.settings = console.settings

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
            return self.console.error(request, _status_of(error), "Not declared", str(error))
        return RedirectResponse(f"{root_path(request)}/incidents/{result.incident.id}", 303)

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
            return self.console.error(
                request, 404, "Not found", f"There is no incident called {name!r} to resolve."
            )
        except (InvalidInput, CommandRefused) as error:
            problem, status = str(error), _status_of(error)
            if isinstance(error, CommandRefused):
                problem = await run_in_threadpool(lambda: self._resolve_refused(name, problem))
            return await run_in_threadpool(
                lambda: self.pages.incident_page(request, problem=problem, status=status)
            )
        return RedirectResponse(f"{root_path(request)}/incidents/{result.incident.id}", 303)

    def _resolve_refused(self, name: str, problem: str) -> str:
        """The refusal of a resolve as the console says it: for an incident resolved already,
        where to reopen it (the engine's advice, "reopen it first", names what the console
        cannot do)."""
        incident = self.firebell.engine.get(name)
        if incident.state is not IncidentState.RESOLVED:
            return problem
        slack = incident.resource("channel", plugin="slack") is not None
        in_slack = "with `/incident reopen` in its Slack channel or " if slack else ""
        try:
            incident.check_can_resolve(
                if_not_over=f"If it is not over, reopen it {in_slack}with "
                f"`firebell reopen {incident.id}`: the console cannot reopen incidents."
            )
        except CommandRefused as refused:
            return str(refused)
        return problem

    async def _form(self, request: Request) -> tuple[dict[str, str], Response | None]:
        if not self.settings.allow_actions:
            return {}, self.console.error(
                request,
                403,
                "Read-only console",
                "Acting from the web is off. An operator can turn it on with "
                "[firebell.web] allow_actions = true; until then use Slack or the firebell CLI.",
            )
        body = await request.body()
        if len(body) > _MAX_FORM_BYTES:
            return {}, self.console.error(
                request, 413, "Form too large", "Shorten the text and retry."
            )
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return {}, self.console.error(request, 415, "Not a form", "Send the page's own form.")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        problem = self.console.csrf.problem(request, form)
        if problem is not None:
            log.warning("refused a form without a valid CSRF token: %s", problem)
            return {}, self.console.error(
                request, 403, "Form refused", f"{problem} Reload the page and try again."
            )
        return form, None


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
