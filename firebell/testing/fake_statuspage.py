"""A fake Atlassian Statuspage REST API (``https://api.statuspage.io/v1``) for plain httpx.

It keeps pages, their components and their incidents, and answers like the real service::

    with FakeStatuspage() as statuspage:
        api = httpx.Client(
            base_url=f"{statuspage.url}/v1",
            headers={"Authorization": f"OAuth {STATUSPAGE_API_KEY}"},
        )
        api.post(f"/pages/{STATUSPAGE_PAGE_ID}/incidents", json={"incident": {...}})

Like the real service, resolving an incident does not put its components back to
``operational``: the caller sends ``components`` with the resolve. With ``requests_per_second``
(Statuspage allows :data:`STATUSPAGE_REQUESTS_PER_SECOND` per key) it answers 420 (or
``rate_limit_status``) with ``Retry-After``. Paths also answer with the legacy ``.json`` suffix.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from firebell.testing.fake_http import Answer, FakeService, Fault, Request

__all__ = [
    "COMPONENT_STATUSES",
    "INCIDENT_IMPACTS",
    "INCIDENT_STATUSES",
    "STATUSPAGE_API_KEY",
    "STATUSPAGE_COMPONENT_API",
    "STATUSPAGE_COMPONENT_WEB",
    "STATUSPAGE_PAGE_ID",
    "STATUSPAGE_REQUESTS_PER_SECOND",
    "FakeStatuspage",
]

STATUSPAGE_API_KEY = "fb0a1b2c3d4e5f60718293a4b5c6d7e8"
"""The API key the fake accepts (``Authorization: OAuth <key>``) unless told otherwise."""

STATUSPAGE_PAGE_ID = "fbpage000001"
"""The pre-created status page."""

STATUSPAGE_COMPONENT_API = "fbcompapi001"
"""The pre-created "API" component of :data:`STATUSPAGE_PAGE_ID`."""

STATUSPAGE_COMPONENT_WEB = "fbcompweb001"
"""The pre-created "Website" component of :data:`STATUSPAGE_PAGE_ID`."""

STATUSPAGE_REQUESTS_PER_SECOND = 1.0
"""Statuspage's documented limit per API key."""

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
"""The statuses of a realtime incident (the fake does not model scheduled maintenance)."""

INCIDENT_IMPACTS = ("none", "minor", "major", "critical")
"""The values of ``impact_override``."""

COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
"""The statuses a component can have."""

_UNRESOLVED = frozenset({"investigating", "identified", "monitoring"})
_IMPACT_OF = {
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
# Incident fields the real API accepts; the fake checks those it models and ignores the others,
# but refuses names it has never heard of so a typo ("component_id") fails a test.
_MODELLED_FIELDS = frozenset(
    {
        "name",
        "status",
        "impact_override",
        "body",
        "component_ids",
        "components",
        "deliver_notifications",
        "metadata",
    }
)
_IGNORED_FIELDS = frozenset(
    {
        "scheduled_for",
        "scheduled_until",
        "scheduled_remind_prior",
        "scheduled_auto_in_progress",
        "scheduled_auto_completed",
        "auto_transition_deliver_notifications_at_end",
        "auto_transition_deliver_notifications_at_start",
        "auto_transition_to_maintenance_state",
        "auto_transition_to_operational_state",
        "auto_tweet_at_beginning",
        "auto_tweet_on_completion",
        "auto_tweet_on_creation",
        "auto_tweet_one_hour_before",
        "backfill_date",
        "backfilled",
        "reminder_intervals",
        "scheduled_auto_transition",
        "wants_twitter_update",
    }
)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@attrs.define
class _Page:
    id: str
    name: str
    created_at: str
    components: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    incidents: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    linked: dict[str, list[str]] = attrs.field(factory=dict)

    def render(self, incident: dict[str, Any]) -> dict[str, Any]:
        """The incident as the API answers it, with its components as they are now."""
        rendered = copy.deepcopy(incident)
        ids = self.linked.get(incident["id"], [])
        rendered["components"] = [copy.deepcopy(self.components[c]) for c in ids]
        return rendered


class FakeStatuspage(FakeService):
    """Statuspage's REST API v1: pages, components, incidents and their updates.

    Starts with page :data:`STATUSPAGE_PAGE_ID` holding the components
    :data:`STATUSPAGE_COMPONENT_API` ("API") and :data:`STATUSPAGE_COMPONENT_WEB` ("Website"),
    both operational, and accepts :data:`STATUSPAGE_API_KEY`. Pass ``requests_per_second`` to
    rate-limit each key; past it the fake answers ``rate_limit_status`` (420 or 429).
    """

    def __init__(
        self,
        *,
        api_key: str = STATUSPAGE_API_KEY,
        requests_per_second: float | None = None,
        rate_limit_status: int = 420,
        retry_after: int = 1,
        **service: Any,
    ) -> None:
        super().__init__(**service)
        self.api_keys: set[str] = {api_key}
        self.requests_per_second = requests_per_second
        self.rate_limit_status = rate_limit_status
        self.retry_after = retry_after
        self._stamps: dict[str, list[float]] = {}
        self._key_lock = threading.Lock()
        self._pages: dict[str, _Page] = {}
        self._ids = itertools.count(1)
        self.add_page(
            STATUSPAGE_PAGE_ID,
            "Firebell Status",
            {STATUSPAGE_COMPONENT_API: "API", STATUSPAGE_COMPONENT_WEB: "Website"},
        )
        for method, path, handler in [
            ("GET", "/v1/pages/{page_id}", self._retrieve_page),
            ("GET", "/v1/pages/{page_id}/components", self._list_components),
            ("GET", "/v1/pages/{page_id}/incidents", self._list_incidents),
            ("POST", "/v1/pages/{page_id}/incidents", self._create_incident),
            ("GET", "/v1/pages/{page_id}/incidents/unresolved", self._list_unresolved),
            ("GET", "/v1/pages/{page_id}/incidents/{incident_id}", self._retrieve_incident),
            ("PATCH", "/v1/pages/{page_id}/incidents/{incident_id}", self._update_incident),
            ("PUT", "/v1/pages/{page_id}/incidents/{incident_id}", self._update_incident),
        ]:
            self.route(method, path, self._guarded(handler))

    # -- set-up and inspection ---------------------------------------------------------------

    def add_page(self, page_id: str, name: str, components: dict[str, str]) -> None:
        """Create a status page whose components (id -> name) are all operational."""
        now = _now()
        page = _Page(page_id, name, now)
        for position, (component_id, component_name) in enumerate(components.items(), 1):
            page.components[component_id] = {
                "id": component_id,
                "page_id": page_id,
                "group_id": None,
                "created_at": now,
                "updated_at": now,
                "group": False,
                "name": component_name,
                "description": None,
                "position": position,
                "status": "operational",
                "showcase": True,
                "only_show_if_degraded": False,
                "automation_email": f"component+{component_id}@notifications.statuspage.io",
                "start_date": now[:10],
            }
        with self._lock:
            self._pages[page_id] = page

    @property
    def incidents(self) -> list[dict[str, Any]]:
        """Every incident of every page, oldest first, as the API returns them."""
        with self._lock:
            return [
                page.render(incident)
                for page in self._pages.values()
                for incident in page.incidents.values()
            ]

    def incident(self, incident_id: str) -> dict[str, Any]:
        """One incident as the API returns it; ``KeyError`` if there is none."""
        with self._lock:
            for page in self._pages.values():
                if incident_id in page.incidents:
                    return page.render(page.incidents[incident_id])
        raise KeyError(incident_id)

    def component_status(self, component_id: str, page_id: str = STATUSPAGE_PAGE_ID) -> str:
        """A component's current status (``operational``, ``major_outage``…)."""
        with self._lock:
            return str(self._pages[page_id].components[component_id]["status"])

    def set_component_status(
        self, component_id: str, status: str, page_id: str = STATUSPAGE_PAGE_ID
    ) -> None:
        """Set a component's status directly, as someone in the Statuspage UI would."""
        if status not in COMPONENT_STATUSES:
            raise ValueError(f"{status!r} is not one of {COMPONENT_STATUSES!r}")
        with self._lock:
            component = self._pages[page_id].components[component_id]
            component["status"] = status
            component["updated_at"] = _now()

    # -- the fake's answers to the unexpected ------------------------------------------------

    def rate_limited_body(self) -> Any:
        """Statuspage's body for a rate-limited request."""
        return {"error": "Rate limit exceeded. Slow down to 1 request per second per API key."}

    def not_found(self, request: Request) -> Answer:
        """Statuspage answers an unknown path with 404 and an ``error`` message."""
        return Answer(404, {"error": "The requested resource could not be found."})

    def dispatch(self, request: Request) -> Answer | Fault:
        """Accept the legacy ``.json`` suffix, apply the per-key rate limit, then route."""
        if request.path.endswith(".json"):
            request = attrs.evolve(request, path=request.path.removesuffix(".json"))
        limited = self._over_limit(request)
        if limited is not None:
            return limited
        return super().dispatch(request)

    def _over_limit(self, request: Request) -> Fault | None:
        if self.requests_per_second is None:
            return None
        key = _api_key(request) or ""
        now = time.monotonic()
        with self._key_lock:
            stamps = [t for t in self._stamps.get(key, []) if now - t < 1.0]
            if len(stamps) >= self.requests_per_second:
                self._stamps[key] = stamps
                return Fault(
                    status=self.rate_limit_status,
                    body=self.rate_limited_body(),
                    headers={"Retry-After": str(self.retry_after)},
                )
            self._stamps[key] = [*stamps, now]
        return None

    def _guarded(self, handler: Callable[[Request], Any]) -> Callable[[Request], Answer]:
        def answer(request: Request) -> Answer:
            if _api_key(request) not in self.api_keys:
                return Answer(401, {"error": "Could not authenticate"})
            try:
                return Answer(201 if request.method == "POST" else 200, handler(request))
            except _Refused as refused:
                return Answer(refused.status, {"error": refused.message})
            except Exception as e:  # a bug in the fake: say so loudly rather than drop the line
                return Answer(500, {"error": f"FakeStatuspage failed: {e!r}"})

        return answer

    # -- lookups -----------------------------------------------------------------------------

    def _page(self, request: Request) -> _Page:
        page = self._pages.get(request.path_params["page_id"])
        if page is None:
            raise _Refused(404, "The requested resource could not be found.")
        return page

    def _incident(self, request: Request) -> tuple[_Page, dict[str, Any]]:
        page = self._page(request)
        incident = page.incidents.get(request.path_params["incident_id"])
        if incident is None:
            raise _Refused(404, "The requested resource could not be found.")
        return page, incident

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):0{12 - len(prefix)}d}"

    # -- pages and components ----------------------------------------------------------------

    def _retrieve_page(self, request: Request) -> dict[str, Any]:
        page = self._page(request)
        return {
            "id": page.id,
            "created_at": page.created_at,
            "updated_at": page.created_at,
            "name": page.name,
            "page_description": None,
            "headline": None,
            "branding": "basic",
            "subdomain": page.id,
            "domain": None,
            "url": f"https://{page.id}.statuspage.io",
            "support_url": None,
            "hidden_from_search": False,
            "allow_page_subscribers": True,
            "allow_incident_subscribers": True,
            "allow_email_subscribers": True,
            "allow_sms_subscribers": True,
            "allow_rss_atom_feeds": True,
            "allow_webhook_subscribers": True,
            "time_zone": "Etc/UTC",
        }

    def _list_components(self, request: Request) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self._page(request).components.values()))

    # -- incidents ---------------------------------------------------------------------------

    def _list_incidents(self, request: Request) -> list[dict[str, Any]]:
        incidents = list(reversed(self._page(request).incidents.values()))
        query = request.query.get("q", "").lower()
        if query:
            incidents = [i for i in incidents if _mentions(i, query)]
        limit = _positive(request.query.get("limit", "100"), "limit")
        number = _positive(request.query.get("page", "1"), "page")
        page = self._page(request)
        return [page.render(i) for i in incidents[(number - 1) * limit : number * limit]]

    def _list_unresolved(self, request: Request) -> list[dict[str, Any]]:
        page = self._page(request)
        incidents = reversed(page.incidents.values())
        return [page.render(i) for i in incidents if i["status"] in _UNRESOLVED]

    def _retrieve_incident(self, request: Request) -> dict[str, Any]:
        page, incident = self._incident(request)
        return page.render(incident)

    def _create_incident(self, request: Request) -> dict[str, Any]:
        page = self._page(request)
        fields = _incident_fields(request)
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _Refused(422, "Name can't be blank")
        changes = _checked(page, fields)
        now = _now()
        incident_id = self._new_id("inc")
        status = fields.get("status", "investigating")
        incident: dict[str, Any] = {
            "id": incident_id,
            "page_id": page.id,
            "name": name,
            "status": status,
            "impact": "none",
            "impact_override": None,
            "created_at": now,
            "updated_at": now,
            "started_at": now,
            "monitoring_at": None,
            "resolved_at": None,
            "shortlink": f"https://stspg.io/{incident_id[-6:]}",
            "metadata": {},
            "postmortem_body": None,
            "postmortem_body_last_updated_at": None,
            "postmortem_ignored": False,
            "postmortem_notified_subscribers": False,
            "postmortem_notified_twitter": False,
            "postmortem_published_at": None,
            "scheduled_for": None,
            "scheduled_until": None,
            "components": [],
            "incident_updates": [],
        }
        page.incidents[incident_id] = incident
        self._apply(page, incident, fields, changes, now, new=True)
        return page.render(incident)

    def _update_incident(self, request: Request) -> dict[str, Any]:
        page, incident = self._incident(request)
        fields = _incident_fields(request)
        if "name" in fields and (not isinstance(fields["name"], str) or not fields["name"].strip()):
            raise _Refused(422, "Name can't be blank")
        changes = _checked(page, fields)
        self._apply(page, incident, fields, changes, _now(), new=False)
        return page.render(incident)

    def _apply(
        self,
        page: _Page,
        incident: dict[str, Any],
        fields: dict[str, Any],
        changes: dict[str, str],
        now: str,
        *,
        new: bool,
    ) -> None:
        """Change the incident and the page's components; post an update when due."""
        old_status = incident["status"]
        for field in ("name", "status", "impact_override"):
            if field in fields:
                incident[field] = fields[field]
        if isinstance(fields.get("metadata"), dict):
            incident["metadata"] = {**incident["metadata"], **fields["metadata"]}
        affected: list[dict[str, Any]] = []
        for component_id, new_status in changes.items():
            component = page.components[component_id]
            affected.append(
                {
                    "code": component_id,
                    "name": component["name"],
                    "old_status": component["status"],
                    "new_status": new_status,
                }
            )
            component["status"] = new_status
            component["updated_at"] = now
        linked = page.linked.setdefault(incident["id"], [])
        for component_id in [*fields.get("component_ids", []), *changes]:
            if component_id not in linked:
                linked.append(component_id)
        worst = [_IMPACT_OF.get(page.components[c]["status"], "none") for c in linked]
        computed = max(worst, key=INCIDENT_IMPACTS.index, default="none")
        # An incident's impact is the worst it has been: resolving does not lower it.
        worst_yet = max(incident["impact"], computed, key=INCIDENT_IMPACTS.index)
        incident["impact"] = incident["impact_override"] or worst_yet
        if incident["status"] == "monitoring" and old_status != "monitoring":
            incident["monitoring_at"] = now
        if incident["status"] == "resolved" and old_status != "resolved":
            incident["resolved_at"] = now
        elif incident["status"] != "resolved":
            incident["resolved_at"] = None
        if new or "body" in fields or incident["status"] != old_status or affected:
            incident["incident_updates"].insert(
                0,
                {
                    "id": self._new_id("upd"),
                    "incident_id": incident["id"],
                    "status": incident["status"],
                    "body": fields.get("body") or "",
                    "created_at": now,
                    "updated_at": now,
                    "display_at": now,
                    "affected_components": affected or None,
                    "deliver_notifications": bool(fields.get("deliver_notifications", True)),
                    "custom_tweet": None,
                    "tweet_id": None,
                    "twitter_updated_at": None,
                    "wants_twitter_update": False,
                },
            )
        incident["updated_at"] = now


# -- validation (pure functions) ---------------------------------------------------------------


def _api_key(request: Request) -> str | None:
    scheme, _, key = (request.header("Authorization") or "").partition(" ")
    return key if scheme == "OAuth" else None


def _incident_fields(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as e:
        raise _Refused(400, "The request body is not valid JSON.") from e
    fields = body.get("incident") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        raise _Refused(400, "param is missing or the value is empty: incident")
    unknown = sorted(set(fields) - _MODELLED_FIELDS - _IGNORED_FIELDS)
    if unknown:
        raise _Refused(422, f"Unknown incident attributes: {', '.join(unknown)}")
    return fields


def _checked(page: _Page, fields: dict[str, Any]) -> dict[str, str]:
    """Validate the modelled fields; return the component status changes they ask for."""
    if "status" in fields and fields["status"] not in INCIDENT_STATUSES:
        raise _Refused(
            422, f"Status {fields['status']!r} is not one of {', '.join(INCIDENT_STATUSES)}"
        )
    impact = fields.get("impact_override")
    if impact is not None and impact not in INCIDENT_IMPACTS:
        raise _Refused(
            422, f"Impact override {impact!r} is not one of {', '.join(INCIDENT_IMPACTS)}"
        )
    if "body" in fields and not isinstance(fields["body"], str | None):
        raise _Refused(422, "Body must be a string")
    if "deliver_notifications" in fields and not isinstance(fields["deliver_notifications"], bool):
        raise _Refused(422, "Deliver notifications must be true or false")
    if "metadata" in fields and not isinstance(fields["metadata"], dict):
        raise _Refused(422, "Metadata must be an object")
    component_ids = fields.get("component_ids", [])
    if not isinstance(component_ids, list):
        raise _Refused(422, "Component ids must be a list")
    changes = fields.get("components", {})
    if not isinstance(changes, dict):
        raise _Refused(422, "Components must map component ids to statuses")
    for component_id in [*component_ids, *changes]:
        if component_id not in page.components:
            raise _Refused(422, f"Component {component_id!r} does not belong to page {page.id}")
    for component_id, status in changes.items():
        if status not in COMPONENT_STATUSES:
            raise _Refused(
                422,
                f"Component status {status!r} for {component_id} is not one of "
                f"{', '.join(COMPONENT_STATUSES)}",
            )
    return {str(k): str(v) for k, v in changes.items()}


def _mentions(incident: dict[str, Any], query: str) -> bool:
    texts = [incident["name"], *(u["body"] for u in incident["incident_updates"])]
    return any(query in text.lower() for text in texts)


def _positive(raw: str, name: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise _Refused(422, f"{name} must be a positive integer, not {raw!r}")
    return int(raw)
