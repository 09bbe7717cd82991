"""The console's pages: the incident list (filters, search, paging), an incident, the metrics.

Pages read the read model through the store's indexed queries (a page of 50 and a count, which
for a search stops at ``search_count_limit`` matches; one incident and its events), so they stay
fast however long the log is.
"""

from __future__ import annotations

import attrs
from firebell.adapters.web.access import Visitor
from firebell.adapters.web.console import Console
from firebell.adapters.web.views import Pager, describe_duration, resource_views
from firebell.core.errors import IncidentNotFound
from firebell.core.incident import Incident, IncidentState
from firebell.core.runtime import Firebell
from firebell.core.timeline import incident_timeline
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["PAGE_SIZE", "Pages"]

PAGE_SIZE = 50
_MAX_SEARCH = 200


class Pages:
    """The GET routes, over the ``console``'s state."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.firebell = console.firebell
        self.settings = console.settings

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
            known = ", ".join(self.console.severities)
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
        return self.console.render(
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
                "severities": self.console.severities,
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
        return self.console.render(
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
                "given_up": _given_up(self.firebell, incident),
            },
            status,
        )

    def metrics_page(self, request: Request) -> Response:
        """``/metrics``: incidents per month and severity, and how many are in each state."""
        snapshot, refreshing = self.console.stats.snapshot()
        stats = snapshot.stats
        return self.console.render(
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


def _given_up(firebell: Firebell, incident: Incident) -> list[str]:
    """The failing plugins that stopped retrying for ``incident`` (a parked delivery)."""
    if not incident.failing_plugins:
        return []
    backlog = firebell.deliverer.outbox.backlog(incident_id=incident.id)
    return [p for p in incident.failing_plugins if p in backlog and backlog[p].failed]
