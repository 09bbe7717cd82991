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

The package holds one module per concern: :mod:`.service` (:class:`FakePagerDuty`: TLS, clients,
set-up, inspection, REST authentication), :mod:`.account` (its state and object references), the
endpoints (:mod:`.incidents`, :mod:`.services_and_users`, :mod:`.events`) and what they share:
:mod:`.objects`, :mod:`.errors`, :mod:`.validation`, :mod:`.pagination` and :mod:`.clients`.
"""

from __future__ import annotations

from firebell.testing.fake_pagerduty.service import FakePagerDuty
from firebell.testing.fake_pagerduty.service import RestHandler as RestHandler

__all__ = ["FakePagerDuty"]
