"""A fake PagerDuty (REST API v2 and Events API v2) that the real ``pagerduty`` client talks to.

:class:`FakePagerDuty` serves both APIs over HTTPS on one loopback port, with a certificate from
its own :mod:`trustme` CA. It answers with the paths, bodies, status codes and error bodies of
``pagerduty_rest_openapiv3.json`` and ``pagerduty_events_v2_openapiv3.json``, keeps incidents,
notes and events in memory, and inherits fault injection, delays and rate limits from
:class:`~firebell.testing.fake_http.FakeService`.

Driving it with the real ``pagerduty`` 7.x client (findings from reading pagerduty 7.2.0)
-----------------------------------------------------------------------------------------

* **Base URL.** Both clients take ``base_url=`` (or set the ``url`` attribute later). It must start
  with ``https://``, else :class:`pagerduty.UrlError` -- which is *not* a :class:`pagerduty.Error`.
* **Trusting a CA.** The clients *are* ``httpx2.Client`` subclasses and pass unknown keywords on to
  it, so ``verify=ssl_context`` works (``verify=<path>`` is deprecated by httpx2);
  ``trust_env=False`` keeps proxy variables away from loopback.
* **Timeout.** A ``timeout=`` keyword is silently ignored (a class attribute shadows httpx2's
  property); every request sends the ``timeout`` attribute, 60 s by default. Set it after
  construction. A timeout is a network error (below).
* **Retries.** The ``retry`` attribute maps a status to the number of retries (``-1``: no limit).
  REST starts with ``{}``, Events with ``{500: 2, 502: 4, 503: 6, 504: 6}``. A status without an
  entry is not retried -- except 429, retried *without limit*; 401 raises at once. Retry-After and
  ``ratelimit-reset`` are ignored: the waits are ``sleep_timer * sleep_timer_base ** n`` (3 s,
  6 s, 12 s ...). ``max_http_attempts`` (10) caps retries over all statuses. Network errors
  (refused, dropped, TLS failure, timeout) are retried ``max_network_attempts`` (3) times with the
  same waits, then :class:`pagerduty.Error` is raised ``from`` the httpx2 error.
* **Errors.** ``rget``/``rpost``/``rput``/``jget``/``list_all``/``find`` and the Events methods
  raise :class:`pagerduty.HttpError` (``.response`` is the ``httpx2.Response``) for any non-2xx,
  :class:`pagerduty.ServerHttpError` (a subclass) for 5xx and malformed bodies, and
  :class:`pagerduty.Error` (``.response is None``) for network failures. Plain ``get``/``post``/
  ``put`` return the response and raise only for 401.
* **Return values.** ``rpost``/``rput``/``rget`` wrap the request entity (``json={"title": ...}``
  is sent as ``{"incident": {...}}`` to ``incidents``) and return the unwrapped entity: a dict, or
  for an index one page as a list. ``iter_all``/``list_all`` page with ``limit``/``offset``/
  ``more`` and append ``[]`` to list-valued parameters (``statuses`` becomes ``statuses[]``).
  ``rput``/``rget`` also accept an entity dict, using its ``self`` URL.
* **From.** ``default_from=`` sends ``From`` with every request; ``headers={"From": ...}`` per call.
* **Events.** ``trigger(summary, source, dedup_key=None, severity="critical", custom_details=...)``,
  ``acknowledge(key)`` and ``resolve(key)`` return the dedup key. ``submit`` (change events) raises
  ``AttributeError`` in 7.2.0 unless given ``timestamp=`` (it calls ``datetime.timezone``).

Working code, against this fake (in production: drop ``base_url`` and ``verify``)::

    fake = FakePagerDuty().start()
    ca = fake.client_ssl_context()
    rest = pagerduty.RestApiV2Client(
        FakePagerDuty.API_KEY, default_from=FakePagerDuty.USER_EMAIL,
        base_url=fake.url, verify=ca, trust_env=False,
    )
    rest.timeout = 10
    rest.retry.update({429: 3, 500: 2, 502: 2, 503: 2, 504: 2})
    rest.max_network_attempts = 2
    incident = rest.rpost("incidents", json={
        "type": "incident", "title": "Checkout is down",
        "service": {"id": FakePagerDuty.SERVICE_ID, "type": "service_reference"},
        "incident_key": "firebell-honest-rhino", "urgency": "high",
        "body": {"type": "incident_body", "details": "Declared from #inc-honest-rhino"},
    })  # a duplicate open incident_key raises HttpError 400
    [found] = rest.list_all(
        "incidents", params={"incident_key": "firebell-honest-rhino", "date_range": "all"}
    )
    rest.rpost(f"incidents/{found['id']}/notes", json={"content": "Rolled back"})
    rest.rput(f"incidents/{found['id']}", json={"type": "incident_reference", "status": "resolved"})

    events = pagerduty.EventsApiV2Client(
        FakePagerDuty.ROUTING_KEY, base_url=fake.url, verify=ca, trust_env=False
    )
    events.timeout = 10
    events.retry[429] = 3
    key = events.trigger("Checkout is down", "firebell", dedup_key="firebell-honest-rhino")
    events.resolve(key)

:meth:`FakePagerDuty.rest_client` and :meth:`FakePagerDuty.events_client` build exactly these, with
waits of milliseconds for tests.

Where the fake simplifies: events apply synchronously (the real API is asynchronous); an incident
created by an event carries the event's ``dedup_key`` as ``incident_key``; ``since``/``until``/
``date_range`` are accepted and ignored; messages the public documents do not show (an unknown
``From`` user, transitions of a resolved incident, the Events 429 body) are close guesses.
"""

from __future__ import annotations

import copy
import itertools
import json
import ssl
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pagerduty
import trustme

from firebell.testing.fake_http import Answer, FakeService, Fault, Handler, Request

__all__ = ["FakePagerDuty"]

_STATUSES = ("triggered", "acknowledged", "resolved")
_SEVERITIES = ("critical", "error", "warning", "info")
_EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
_RETRIED_STATUSES = (429, 500, 502, 503, 504)

# Body shapes and messages as PagerDuty answers them (developer docs and reported responses).
_FROM_MISSING = (
    'You must specify a user\'s email address in the "From" header to perform this action'
)
_DUPLICATE_KEY = "Open incident with matching dedup key already exists on this service"
_EVENTS_THROTTLED = {
    "status": "throttle event",
    "message": "Requests for this service are arriving too quickly. Please retry later.",
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, code: int, errors: list[str] | None = None) -> Answer:
    """A REST API error answer: ``{"error": {"message", "code", "errors"?}}``."""
    error: dict[str, Any] = {"message": message, "code": code}
    if errors:
        error["errors"] = errors
    return Answer(status, {"error": error})


def _invalid_input(*errors: str) -> Answer:
    return _error(400, "Invalid Input Provided", 2001, list(errors))


def _not_found() -> Answer:
    return _error(404, "Not Found", 2100)


def _invalid_event(errors: list[str]) -> Answer:
    """An Events API v2 400: ``{"status": "invalid event", "message", "errors"}``."""
    return Answer(
        400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    )


def _is_reference(value: object, type_: str) -> bool:
    return (
        isinstance(value, dict) and value.get("type") == type_ and isinstance(value.get("id"), str)
    )


@attrs.define
class _User:
    id: str
    name: str
    email: str


@attrs.define
class _Service:
    id: str
    name: str
    escalation_policy_id: str


@attrs.define
class _Policy:
    id: str
    name: str


RestHandler = Callable[[Request, Any, "_User | None"], Answer]


class FakePagerDuty(FakeService):
    """PagerDuty's REST API v2 and Events API v2, served over HTTPS from one loopback port.

    Pre-created: service :attr:`SERVICE_ID` on escalation policy :attr:`ESCALATION_POLICY_ID`,
    user :attr:`USER_EMAIL`, REST API key :attr:`API_KEY` and Events routing key
    :attr:`ROUTING_KEY` (routed to :attr:`SERVICE_ID`). Pass ``https=False`` for plain HTTP (the
    ``pagerduty`` 7.x client refuses it; raw HTTP clients do not).
    """

    API_KEY = "fake-pd-key"
    SERVICE_ID = "PSERVICE1"
    SERVICE_NAME = "Checkout"
    ESCALATION_POLICY_ID = "PPOLICY1"
    USER_ID = "PUSER01"
    USER_EMAIL = "oncall@example.com"
    ROUTING_KEY = "R0UTINGKEYFAKEPAGERDUTY000000001"
    WEB_URL = "https://firebell-fake.pagerduty.com"

    def __init__(self, *, delay: float = 0.0, https: bool = True) -> None:
        #: The certificate authority that signed the server's certificate.
        self.ca = trustme.CA()
        server_context: ssl.SSLContext | None = None
        if https:
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
        super().__init__(delay=delay, ssl_context=server_context)
        #: REST API keys that authenticate (``Authorization: Token token=KEY``).
        self.api_keys: set[str] = {self.API_KEY}
        #: Every event the Events API accepted, in order, as received.
        self.events: list[dict[str, Any]] = []
        self._users: dict[str, _User] = {}
        self._services: dict[str, _Service] = {}
        self._policies: dict[str, _Policy] = {}
        self._routing_keys: dict[str, str] = {}
        self._incidents: dict[str, dict[str, Any]] = {}
        self._notes: dict[str, list[dict[str, Any]]] = {}
        self._numbers = itertools.count(1)
        self._note_ids = itertools.count(1)
        self._user_ids = itertools.count(2)
        self.add_escalation_policy(self.ESCALATION_POLICY_ID, "Default")
        self.add_service(self.SERVICE_ID, self.SERVICE_NAME)
        self.add_user(self.USER_EMAIL, "On-call Engineer", user_id=self.USER_ID)
        self.add_routing_key(self.ROUTING_KEY)
        self._register_routes()

    def _register_routes(self) -> None:
        self.route("POST", "/incidents", self._rest(self._create_incident, needs_from=True))
        self.route("GET", "/incidents", self._rest(self._list_incidents))
        self.route("GET", "/incidents/{id}", self._rest(self._get_incident))
        self.route("PUT", "/incidents/{id}", self._rest(self._update_incident, needs_from=True))
        self.route("GET", "/incidents/{id}/notes", self._rest(self._list_notes))
        self.route("POST", "/incidents/{id}/notes", self._rest(self._create_note, needs_from=True))
        self.route("GET", "/services/{id}", self._rest(self._get_service))
        self.route("GET", "/escalation_policies/{id}", self._rest(self._get_policy))
        self.route("GET", "/users", self._rest(self._list_users))
        self.route("POST", "/v2/enqueue", self._enqueue)

    # -- lifecycle and TLS -------------------------------------------------------------------

    def start(self) -> FakePagerDuty:
        """Listen on an ephemeral loopback port, in a daemon thread."""
        super().start()
        return self

    def __enter__(self) -> FakePagerDuty:
        return self.start()

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client-side context that trusts :attr:`ca`: pass it as ``verify=``."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def write_ca_bundle(self, path: Path) -> Path:
        """Write :attr:`ca`'s certificate as PEM to ``path``, for ``SSL_CERT_FILE`` or
        ``ssl.create_default_context(cafile=...)`` (httpx2 deprecates ``verify=<path>``)."""
        self.ca.cert_pem.write_to_path(str(path))
        return path

    def rest_client(
        self,
        *,
        api_key: str = API_KEY,
        default_from: str | None = USER_EMAIL,
        retries: int = 2,
        timeout: float = 5.0,
    ) -> pagerduty.RestApiV2Client:
        """A real REST client aimed at this fake, with ``retries`` per retried status.

        429 and 5xx are retried ``retries`` times, network errors once, with waits of
        milliseconds instead of seconds.
        """
        client = pagerduty.RestApiV2Client(
            api_key,
            default_from=default_from,
            base_url=self.url,
            verify=self.client_ssl_context(),
            trust_env=False,
        )
        _tune(client, retries=retries, timeout=timeout)
        return client

    def events_client(
        self, *, routing_key: str = ROUTING_KEY, retries: int = 2, timeout: float = 5.0
    ) -> pagerduty.EventsApiV2Client:
        """A real Events API v2 client aimed at this fake, tuned like :meth:`rest_client`."""
        client = pagerduty.EventsApiV2Client(
            routing_key, base_url=self.url, verify=self.client_ssl_context(), trust_env=False
        )
        _tune(client, retries=retries, timeout=timeout)
        return client

    # -- set-up ------------------------------------------------------------------------------

    def add_escalation_policy(self, policy_id: str, name: str | None = None) -> None:
        """Create an escalation policy."""
        with self._lock:
            self._policies[policy_id] = _Policy(policy_id, name or policy_id)

    def add_service(
        self, service_id: str, name: str | None = None, *, escalation_policy_id: str | None = None
    ) -> None:
        """Create a service on an existing escalation policy (the default one unless given)."""
        policy_id = escalation_policy_id or self.ESCALATION_POLICY_ID
        with self._lock:
            if policy_id not in self._policies:
                raise ValueError(
                    f"no escalation policy {policy_id!r} for service {service_id!r}; "
                    "call add_escalation_policy() first"
                )
            self._services[service_id] = _Service(service_id, name or service_id, policy_id)

    def add_user(self, email: str, name: str | None = None, *, user_id: str | None = None) -> str:
        """Create a user who may appear in ``From``; returns the user's id."""
        with self._lock:
            new_id = user_id or f"PU{next(self._user_ids):05d}"
            self._users[new_id] = _User(new_id, name or email.split("@")[0], email)
            return new_id

    def add_routing_key(self, routing_key: str, service_id: str | None = None) -> None:
        """Route Events API v2 events sent with ``routing_key`` to a service."""
        target = service_id or self.SERVICE_ID
        with self._lock:
            if target not in self._services:
                raise ValueError(f"no service {target!r} for routing key {routing_key!r}")
            self._routing_keys[routing_key] = target

    # -- inspection --------------------------------------------------------------------------

    @property
    def incidents(self) -> list[dict[str, Any]]:
        """Every incident, oldest first, as the REST API renders it."""
        with self._lock:
            return [copy.deepcopy(i) for i in self._incidents.values()]

    def incident(self, incident_id: str) -> dict[str, Any]:
        """One incident by id; ``KeyError`` if there is none."""
        with self._lock:
            return copy.deepcopy(self._incidents[incident_id])

    def incident_by_key(self, key: str, service_id: str | None = None) -> dict[str, Any] | None:
        """The newest incident with ``incident_key`` ``key`` (on ``service_id`` if given)."""
        with self._lock:
            for incident in reversed(self._incidents.values()):
                if incident["incident_key"] == key and (
                    service_id is None or incident["service"]["id"] == service_id
                ):
                    return copy.deepcopy(incident)
        return None

    def notes(self, incident_id: str) -> list[dict[str, Any]]:
        """The notes on an incident, oldest first."""
        with self._lock:
            return copy.deepcopy(self._notes.get(incident_id, []))

    def set_incident_status(
        self, incident_id: str, status: str, *, by_email: str = USER_EMAIL
    ) -> None:
        """Change an incident's status as a responder in PagerDuty's own UI would."""
        with self._lock:
            user = self._user_by_email(by_email)
            if user is None:
                raise ValueError(f"no user {by_email!r}; call add_user() first")
            self._set_status(self._incidents[incident_id], status, self._user_ref(user))

    # -- rate limits -------------------------------------------------------------------------

    def rate_limited_body(self) -> Any:
        """PagerDuty REST API's 429 body."""
        return {"error": {"message": "Rate Limit Exceeded", "code": 2020}}

    def rate_limited_fault(self, *, retry_after: int = 1) -> Fault:
        """A 429 as PagerDuty answers it, for :meth:`fail_next`."""
        return Fault(
            status=429, body=self.rate_limited_body(), headers={"Retry-After": str(retry_after)}
        )

    def not_found(self, request: Request) -> Answer:
        """PagerDuty's 404 for a path the fake does not serve."""
        return _not_found()

    def dispatch(self, request: Request) -> Answer | Fault:
        """Answer one request, giving 429s PagerDuty's headers (REST) or body (Events)."""
        answer = super().dispatch(request)
        if (
            isinstance(answer, Fault)
            and answer.status == 429
            and answer.body == self.rate_limited_body()
        ):
            if request.path.startswith("/v2/"):
                return attrs.evolve(answer, body=_EVENTS_THROTTLED)
            reset = answer.headers.get("Retry-After", "1")
            headers = {
                **answer.headers,
                "ratelimit-limit": "960",
                "ratelimit-remaining": "0",
                "ratelimit-reset": reset,
            }
            return attrs.evolve(answer, headers=headers)
        return answer

    # -- REST API: authentication, From and bodies -------------------------------------------

    def _rest(self, handler: RestHandler, *, needs_from: bool = False) -> Handler:
        def guarded(request: Request) -> Answer:
            auth = request.header("authorization") or ""
            if not auth.startswith("Token token=") or auth[12:] not in self.api_keys:
                return _error(401, "Authentication failed", 2006)
            body: Any = None
            if request.method in ("POST", "PUT"):
                content_type = request.header("content-type") or ""
                try:
                    body = json.loads(request.body) if request.body else None
                except ValueError:
                    body = None
                if "application/json" not in content_type or not isinstance(body, dict):
                    return _invalid_input("params must be a Hash")
            user: _User | None = None
            if needs_from:
                email = request.header("from")
                if not email:
                    return _error(400, _FROM_MISSING, 2016)
                user = self._user_by_email(email)
                if user is None:
                    return _error(400, "Requester User Not Found", 1008)
            return handler(request, body, user)

        return guarded

    def _user_by_email(self, email: str) -> _User | None:
        wanted = email.strip().lower()
        return next((u for u in self._users.values() if u.email.lower() == wanted), None)

    # -- REST API: references ----------------------------------------------------------------

    def _reference(self, type_: str, collection: str, web: str, id_: str, summary: str) -> Any:
        return {
            "id": id_,
            "type": f"{type_}_reference",
            "summary": summary,
            "self": f"{self.url}/{collection}/{id_}",
            "html_url": f"{self.WEB_URL}/{web}/{id_}",
        }

    def _user_ref(self, user: _User) -> Any:
        return self._reference("user", "users", "users", user.id, user.name)

    def _service_ref(self, service: _Service) -> Any:
        return self._reference("service", "services", "service-directory", service.id, service.name)

    def _policy_ref(self, policy: _Policy) -> Any:
        return self._reference(
            "escalation_policy",
            "escalation_policies",
            "escalation_policies",
            policy.id,
            policy.name,
        )

    # -- REST API: incidents -----------------------------------------------------------------

    def _create_incident(self, request: Request, body: Any, user: _User | None) -> Answer:
        assert user is not None
        incident = body.get("incident")
        if not isinstance(incident, dict):
            return _invalid_input("Incident must be an object wrapped in 'incident'.")
        errors = _incident_errors(incident)
        if errors:
            return _invalid_input(*errors)
        service = self._services.get(incident["service"]["id"])
        if service is None:
            return _invalid_input("Service Not Found")
        policy = self._policies[service.escalation_policy_id]
        if "escalation_policy" in incident:
            chosen = self._policies.get(incident["escalation_policy"]["id"])
            if chosen is None:
                return _invalid_input("Escalation Policy Not Found")
            policy = chosen
        key = incident.get("incident_key")
        if key is not None and self._open_incident(service.id, key) is not None:
            return _invalid_input(_DUPLICATE_KEY)
        created = self._new_incident(
            service,
            policy,
            title=incident["title"],
            key=key,
            urgency=incident.get("urgency", "high"),
            body=incident.get("body"),
            by=self._user_ref(user),
        )
        return Answer(201, {"incident": copy.deepcopy(created)})

    def _new_incident(
        self,
        service: _Service,
        policy: _Policy,
        *,
        title: str,
        key: str | None,
        urgency: str,
        body: Any,
        by: Any,
    ) -> dict[str, Any]:
        number = next(self._numbers)
        incident_id = f"PI{number:05d}"
        now = _now()
        incident: dict[str, Any] = {
            "id": incident_id,
            "type": "incident",
            "summary": f"[#{number}] {title}",
            "self": f"{self.url}/incidents/{incident_id}",
            "html_url": f"{self.WEB_URL}/incidents/{incident_id}",
            "incident_number": number,
            "title": title,
            "created_at": now,
            "updated_at": now,
            "status": "triggered",
            "incident_key": key if key is not None else uuid.uuid4().hex,
            "service": self._service_ref(service),
            "assignments": [],
            "assigned_via": "escalation_policy",
            "last_status_change_at": now,
            "last_status_change_by": by,
            "resolved_at": None,
            "acknowledgements": [],
            "escalation_policy": self._policy_ref(policy),
            "teams": [],
            "pending_actions": [],
            "urgency": urgency,
        }
        if body is not None:
            incident["body"] = copy.deepcopy(body)
        self._incidents[incident_id] = incident
        return incident

    def _open_incident(self, service_id: str, key: str) -> dict[str, Any] | None:
        for incident in self._incidents.values():
            if (
                incident["incident_key"] == key
                and incident["service"]["id"] == service_id
                and incident["status"] != "resolved"
            ):
                return incident
        return None

    def _list_incidents(self, request: Request, body: Any, user: _User | None) -> Answer:
        lists = request.query_lists
        statuses = lists.get("statuses[]", [])
        if any(s not in _STATUSES for s in statuses):
            return _invalid_input("Status must be a list of triggered, acknowledged, or resolved.")
        services = lists.get("service_ids[]", [])
        urgencies = lists.get("urgencies[]", [])
        key = request.query.get("incident_key")
        found = [
            i
            for i in self._incidents.values()
            if (not statuses or i["status"] in statuses)
            and (not services or i["service"]["id"] in services)
            and (not urgencies or i["urgency"] in urgencies)
            and (key is None or i["incident_key"] == key)
        ]
        return _page(request, "incidents", found)

    def _get_incident(self, request: Request, body: Any, user: _User | None) -> Answer:
        incident = self._incidents.get(request.path_params["id"])
        if incident is None:
            return _not_found()
        return Answer(200, {"incident": copy.deepcopy(incident)})

    def _update_incident(self, request: Request, body: Any, user: _User | None) -> Answer:
        assert user is not None
        incident = self._incidents.get(request.path_params["id"])
        if incident is None:
            return _not_found()
        update = body.get("incident")
        if not isinstance(update, dict) or update.get("type") not in (
            "incident",
            "incident_reference",
        ):
            return _invalid_input("Incident type must be 'incident' or 'incident_reference'.")
        if "urgency" in update and update["urgency"] not in ("high", "low"):
            return _invalid_input("Urgency must be high or low.")
        if "title" in update and not (isinstance(update["title"], str) and update["title"]):
            return _invalid_input("Title cannot be empty.")
        if "status" in update:
            refused = self._set_status(incident, update["status"], self._user_ref(user))
            if refused is not None:
                return refused
        for field in ("title", "urgency"):
            if field in update:
                incident[field] = update[field]
        incident["summary"] = f"[#{incident['incident_number']}] {incident['title']}"
        incident["updated_at"] = _now()
        return Answer(200, {"incident": copy.deepcopy(incident)})

    def _set_status(self, incident: dict[str, Any], status: object, by: Any) -> Answer | None:
        """Move an incident to ``status``; the error answer when PagerDuty would refuse."""
        if incident["status"] == "resolved":
            return _error(400, "Incident Already Resolved", 1001)
        if status not in ("acknowledged", "resolved"):
            return _error(400, "Invalid Status Provided", 1003)
        now = _now()
        if status == "acknowledged":
            incident["acknowledgements"].append({"at": now, "acknowledger": by})
        else:
            incident["resolved_at"] = now
        incident["status"] = status
        incident["last_status_change_at"] = incident["updated_at"] = now
        incident["last_status_change_by"] = by
        return None

    # -- REST API: notes, services, policies, users ------------------------------------------

    def _list_notes(self, request: Request, body: Any, user: _User | None) -> Answer:
        incident_id = request.path_params["id"]
        if incident_id not in self._incidents:
            return _not_found()
        return Answer(200, {"notes": copy.deepcopy(self._notes.get(incident_id, []))})

    def _create_note(self, request: Request, body: Any, user: _User | None) -> Answer:
        assert user is not None
        incident_id = request.path_params["id"]
        if incident_id not in self._incidents:
            return _not_found()
        note = body.get("note")
        content = note.get("content") if isinstance(note, dict) else None
        if not isinstance(content, str) or not content.strip():
            return _invalid_input("Content cannot be empty.")
        now = _now()
        created = {
            "id": f"PN{next(self._note_ids):05d}",
            "user": self._user_ref(user),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": content,
            "created_at": now,
            "updated_at": now,
        }
        self._notes.setdefault(incident_id, []).append(created)
        return Answer(200, {"note": copy.deepcopy(created)})

    def _get_service(self, request: Request, body: Any, user: _User | None) -> Answer:
        service = self._services.get(request.path_params["id"])
        if service is None:
            return _not_found()
        rendered = {
            **self._service_ref(service),
            "type": "service",
            "name": service.name,
            "description": None,
            "status": "active",
            "escalation_policy": self._policy_ref(self._policies[service.escalation_policy_id]),
            "incident_urgency_rule": {"type": "constant", "urgency": "high"},
            "teams": [],
        }
        return Answer(200, {"service": rendered})

    def _get_policy(self, request: Request, body: Any, user: _User | None) -> Answer:
        policy = self._policies.get(request.path_params["id"])
        if policy is None:
            return _not_found()
        services = [
            self._service_ref(s)
            for s in self._services.values()
            if s.escalation_policy_id == policy.id
        ]
        rendered = {
            **self._policy_ref(policy),
            "type": "escalation_policy",
            "name": policy.name,
            "escalation_rules": [],
            "services": services,
            "num_loops": 0,
            "teams": [],
        }
        return Answer(200, {"escalation_policy": rendered})

    def _list_users(self, request: Request, body: Any, user: _User | None) -> Answer:
        query = request.query.get("query", "").lower()
        found = [
            {
                **self._user_ref(u),
                "type": "user",
                "name": u.name,
                "email": u.email,
                "time_zone": "Etc/UTC",
                "role": "user",
            }
            for u in self._users.values()
            if query in u.email.lower() or query in u.name.lower()
        ]
        return _page(request, "users", found)

    # -- Events API v2 -----------------------------------------------------------------------

    def _enqueue(self, request: Request) -> Answer:
        try:
            event = json.loads(request.body)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            body = {
                "status": "Unrecognized object",
                "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"],
            }
            return Answer(400, body)
        errors = _event_errors(event)
        if errors:
            return _invalid_event(errors)
        service_id = self._routing_keys.get(event["routing_key"])
        if service_id is None:
            return _invalid_event(["Invalid routing key"])
        self.events.append(copy.deepcopy(event))
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        service = self._services[service_id]
        open_incident = self._open_incident(service_id, dedup_key)
        if event["event_action"] == "trigger":
            if open_incident is None:
                payload = event["payload"]
                self._new_incident(
                    service,
                    self._policies[service.escalation_policy_id],
                    title=payload["summary"],
                    key=dedup_key,
                    urgency="high",
                    body={"type": "incident_body", "details": payload.get("custom_details")},
                    by=self._service_ref(service),
                )
        elif open_incident is not None:
            # Acknowledging an acknowledged incident, like any event for a resolved one, is dropped.
            wanted = "acknowledged" if event["event_action"] == "acknowledge" else "resolved"
            if open_incident["status"] != wanted:
                self._set_status(open_incident, wanted, self._service_ref(service))
        return Answer(
            202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        )


def _tune(client: pagerduty.ApiClient, *, retries: int, timeout: float) -> None:
    """Cap retries, set the per-request timeout and shrink waits to milliseconds (tests)."""
    # pagerduty infers ``int`` from its default of 60; httpx2 takes any number of seconds.
    client.timeout = timeout  # type: ignore[assignment]
    client.retry.update(dict.fromkeys(_RETRIED_STATUSES, retries))
    client.max_network_attempts = 1
    client.sleep_timer = 0.005


def _page(request: Request, wrapper: str, items: list[dict[str, Any]]) -> Answer:
    """One page of classic (``limit``/``offset``/``more``) pagination."""
    try:
        limit = int(request.query.get("limit", "25"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return _invalid_input("limit and offset must be integers")
    if limit < 1 or offset < 0:
        return _invalid_input("limit must be positive and offset must not be negative")
    limit = min(limit, 100)
    page = items[offset : offset + limit]
    total = len(items) if request.query.get("total") == "true" else None
    return Answer(
        200,
        {
            wrapper: copy.deepcopy(page),
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(items),
            "total": total,
        },
    )


def _incident_errors(incident: dict[str, Any]) -> list[str]:
    """What is wrong with a ``POST /incidents`` body's ``incident``, as PagerDuty words it."""
    errors = []
    if incident.get("type") != "incident":
        errors.append("Incident type must be 'incident'.")
    title = incident.get("title")
    if not isinstance(title, str) or not title.strip():
        errors.append("Title cannot be empty.")
    if not _is_reference(incident.get("service"), "service_reference"):
        errors.append("Service must be a service_reference with an id.")
    if "urgency" in incident and incident["urgency"] not in ("high", "low"):
        errors.append("Urgency must be high or low.")
    if "incident_key" in incident and not (
        isinstance(incident["incident_key"], str) and 0 < len(incident["incident_key"]) <= 255
    ):
        errors.append("Incident key must be a string of 1 to 255 characters.")
    body = incident.get("body")
    if body is not None and not (
        isinstance(body, dict)
        and body.get("type") == "incident_body"
        and isinstance(body.get("details"), str | dict)
    ):
        errors.append("Body must be an incident_body with details.")
    policy = incident.get("escalation_policy")
    if policy is not None and not _is_reference(policy, "escalation_policy_reference"):
        errors.append("Escalation policy must be an escalation_policy_reference with an id.")
    if policy is not None and incident.get("assignments"):
        errors.append("Assignments cannot be given with an escalation policy.")
    return errors


def _event_errors(event: dict[str, Any]) -> list[str]:
    """What is wrong with an Events API v2 event, as PagerDuty words it."""
    errors = []
    routing_key = event.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        errors.append("'routing_key' is missing or blank")
    else:
        if len(routing_key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if not (routing_key.isascii() and routing_key.isalnum()):
            errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if not action:
        errors.append("'event_action' is missing or blank")
    elif action not in _EVENT_ACTIONS:
        errors.append("'event_action' is invalid (must be trigger, acknowledge or resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and not (isinstance(dedup_key, str) and len(dedup_key) <= 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or blank")
        else:
            for field in ("summary", "source", "severity"):
                value = payload.get(field)
                if not isinstance(value, str) or not value.strip():
                    errors.append(f"'payload.{field}' is missing or blank")
            severity = payload.get("severity")
            if isinstance(severity, str) and severity and severity not in _SEVERITIES:
                errors.append(
                    "'payload.severity' is invalid (must be critical, error, warning or info)"
                )
    return errors
