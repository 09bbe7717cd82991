"""The fake PagerDuty served over HTTPS: its pre-created account, its certificate authority, real
clients aimed at it, test set-up and inspection, and the REST API's authentication and ``From``."""

from __future__ import annotations

import copy
import itertools
import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pagerduty
import trustme

from firebell.testing.fake_http import Answer, Fault, Handler, Request
from firebell.testing.fake_pagerduty.clients import _tune
from firebell.testing.fake_pagerduty.errors import (
    _EVENTS_THROTTLED,
    _FROM_MISSING,
    _error,
    _invalid_input,
    _not_found,
)
from firebell.testing.fake_pagerduty.events import EventsMethods
from firebell.testing.fake_pagerduty.objects import _Policy, _Service, _User
from firebell.testing.fake_pagerduty.services_and_users import ServicesAndUsersMethods

RestHandler = Callable[[Request, Any, "_User | None"], Answer]


class FakePagerDuty(EventsMethods, ServicesAndUsersMethods):
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
