"""Each vendor failing in each way, with every integration on: the incident is recorded, the
other plugins go on, the failing one is retried and reported (the channel says so once, and once
more when it works again), and once the vendor is back everything is done, nothing twice.

The cases are every vendor (Slack, PagerDuty, Notion, Statuspage) times every failure: requests
that time out (the vendor still carries them out: only the answer is lost), 5xx answers, 429 with
``Retry-After``, the service stopped (connection refused) and malformed JSON. Firebell's clock is
moved by the test, so a retry runs exactly when the test says.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from e2e_support import Clock, MakeSystem, System
from firebell.core import Incident, IntegrationFailed, IntegrationRecovered
from firebell.core.schema import deliveries

from firebell.testing.fake_http import FakeService, Fault, Request
from firebell.testing.fake_notion import notion_fault

VENDORS = ("slack", "pagerduty", "notion", "statuspage")
FAILURES = ("timeout", "5xx", "429", "refused", "malformed-json")

#: How each plugin is named to people in the channel.
LABELS = {
    "slack": "Slack",
    "pagerduty": "PagerDuty",
    "notion": "Notion",
    "statuspage": "Statuspage",
}
#: What each plugin links for a new incident.
LINK_KINDS = {
    "slack": "channel",
    "pagerduty": "pager-incident",
    "notion": "document",
    "statuspage": "status-incident",
}
#: Plugins that wait for Slack's delivery of each event (``after = ["slack"]``).

TIMEOUT = 0.5  # seconds per request to PagerDuty, Notion and Statuspage (Slack: 1 s)
LATE = 1.5  # how late a slow vendor answers: past every plugin's timeout
RETRY_AFTER = 120  # what a rate-limiting vendor asks for
BACKOFF = 10.0  # more than the first retries' backoff (2 s, 4 s, with jitter)

_FAILURE_BODIES: dict[str, Any] = {
    "slack": {"ok": False, "error": "service_unavailable"},
    "pagerduty": {"error": {"message": "Service Unavailable", "code": 2001}},
    "statuspage": {"error": "Service Unavailable"},
}
_RATE_LIMITED_BODIES: dict[str, Any] = {
    "slack": {"ok": False, "error": "ratelimited"},
    "pagerduty": {"error": {"message": "Rate Limit Exceeded", "code": 2020}},
    "statuspage": {"error": "Rate limit exceeded"},
}
# A body cut off mid-way, as a proxy dropping the connection would leave it.
_MALFORMED = b'{"ok": true, "channel": {"id": "C1", "name": '


def _api_paths(vendor: str) -> str:
    # Slack's Web API only: the slash commands' response_url is another host in real life.
    return r"^/api/" if vendor == "slack" else r"^/"


def _error_fault(vendor: str) -> Fault:
    if vendor == "notion":
        return notion_fault(503, "service_unavailable", "Notion is unavailable.")
    return Fault(503, body=_FAILURE_BODIES[vendor])


def _rate_limit_fault(vendor: str) -> Fault:
    headers = {"Retry-After": str(RETRY_AFTER)}
    if vendor == "notion":
        return notion_fault(429, "rate_limited", headers=headers)
    if vendor == "pagerduty":
        headers["ratelimit-reset"] = str(RETRY_AFTER)
    return Fault(429, body=_RATE_LIMITED_BODIES[vendor], headers=headers)


@contextmanager
def answering_late(fake: FakeService, seconds: float) -> Iterator[None]:
    """The vendor carries out every request at once but answers ``seconds`` late: the client
    times out after the side effect happened (the case that makes a retry create twice)."""
    served = type(fake).dispatch

    def late(request: Request) -> Any:
        answer = served(fake, request)
        time.sleep(seconds)
        return answer

    fake.dispatch = late  # type: ignore[method-assign]
    try:
        yield
    finally:
        del fake.dispatch


@contextmanager
def failing(fake: FakeService, vendor: str, failure: str) -> Iterator[None]:
    """While inside, ``vendor`` fails every request in the way ``failure`` says."""
    if failure == "timeout":
        with answering_late(fake, LATE):
            yield
        return
    if failure == "refused":
        with fake.stopped():
            yield
        return
    if failure == "5xx":
        fault = _error_fault(vendor)
    elif failure == "429":
        fault = _rate_limit_fault(vendor)
    else:
        fault = Fault(200, raw=_MALFORMED)
    fake.fail_next(_api_paths(vendor), fault, times=10**9)
    try:
        yield
    finally:
        fake.clear_faults()


def attempts(system: System, plugin: str, incident: Incident) -> int:
    """How often ``plugin``'s delivery of ``incident.created`` was tried."""
    query = sa.select(deliveries.c.attempts).where(
        deliveries.c.plugin == plugin,
        deliveries.c.incident_id == incident.id,
        deliveries.c.event_type == "incident.created",
    )
    with system.firebell.store.read() as connection:
        return int(connection.execute(query).scalar_one())


def notices(system: System, incident: Incident, kind: str) -> list[str]:
    """Firebell's ``kind`` messages about ``incident`` in its channel (or, without one, the
    announcement channel)."""
    resource = system.get(incident).resource("channel", plugin="slack")
    if resource is None:
        return [
            text for text in system.texts_of(system.fakes.announce, kind) if incident.id in text
        ]
    return system.texts_of(resource.external_id, kind)


def recorded(system: System, incident: Incident, event: type) -> list[Any]:
    """The payloads of the incident's events of class ``event``."""
    return [
        e.data
        for e in system.firebell.store.select_events(incident.id)
        if isinstance(e.data, event)
    ]


def linked(system: System, incident: Incident, plugin: str) -> str | None:
    """The external id of what ``plugin`` linked for the incident, or None."""
    resource = system.get(incident).resource(LINK_KINDS[plugin], plugin=plugin)
    return resource.external_id if resource is not None else None


def things_made(system: System) -> dict[str, int]:
    """How many incident channels, pages, documents and status incidents each vendor holds."""
    fakes = system.fakes
    return {
        "slack": len([c for c in fakes.slack.channels.values() if c.name.startswith("incd-")]),
        "pagerduty": len(fakes.pagerduty.incidents),
        "notion": len(fakes.notion.pages),
        "statuspage": len(fakes.statuspage.incidents),
    }


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_failing_vendor_is_retried_reported_and_caught_up(
    make_system: MakeSystem, vendor: str, failure: str
) -> None:
    clock = Clock()
    system = make_system(clock=clock, timeout=TIMEOUT)
    # A system that has been running: an earlier incident went through every plugin (so clients
    # and look-ups are warm, and a timed-out request is a write, not the first read).
    earlier = system.declare("Search is slow", customer_facing=True)
    system.drain()
    assert system.undelivered() == {}
    fake = system.fakes.service(vendor)
    rate_limited = failure == "429"
    others = [name for name in VENDORS if name != vendor]

    # Declared in Slack (which may be the vendor about to fail) before the first delivery.
    incident = system.declare("Checkout is down", customer_facing=True)
    with failing(fake, vendor, failure):
        system.drain()

        # The incident is recorded and the other plugins went on — those that wait for Slack
        # too, once Slack's first attempt failed (paging never waits for Slack to come back).
        assert system.get(incident).title == "Checkout is down"
        assert linked(system, incident, vendor) is None
        for other in others:
            assert linked(system, incident, other) is not None, other
        pending, parked, error = system.backlog(vendor)
        assert pending >= 1 and parked == 0, "retried later, not given up"
        assert error is not None and LABELS[vendor] in error, error
        shown = system.plugins_json()[vendor]
        assert shown["pending"] >= 1 and shown["failed"] == 0
        assert shown["last_error"] == error
        assert attempts(system, vendor, incident) == 1
        if failure == "timeout" and vendor != "notion":
            # The vendor did the work; only its answer was lost: the retry must not do it again.
            # (The Notion plugin looks for the page before creating one, so its first request,
            # a read, is the one that timed out.)
            assert things_made(system)[vendor] == 2
        failures = recorded(system, incident, IntegrationFailed)
        if rate_limited:
            assert failures == [], "a rate limit is waited out, not announced"
        else:
            assert [(f.plugin, f.will_retry) for f in failures] == [(vendor, True)]
        if vendor != "slack":
            # The channel is told at once (Slack itself can only be told once it is back).
            told = notices(system, incident, "integration-failed")
            assert len(told) == (0 if rate_limited else 1), told
            if told:
                assert f"*{LABELS[vendor]} failed* while setting up the incident" in told[0]
                assert "Firebell keeps retrying" in told[0]

        if rate_limited:
            # Retry-After is honoured: half-way there nothing is sent...
            clock.advance(RETRY_AFTER / 2)
            system.drain()
            assert attempts(system, vendor, incident) == 1
            clock.advance(RETRY_AFTER / 2 + 1)
        else:
            clock.advance(BACKOFF)
        # ... and at the retry the vendor is still failing: tried again, told no second time.
        system.drain()
        assert attempts(system, vendor, incident) == 2
        assert len(recorded(system, incident, IntegrationFailed)) == (0 if rate_limited else 1)
        if vendor != "slack":
            assert len(notices(system, incident, "integration-failed")) == (
                0 if rate_limited else 1
            )

    # The vendor is back: the next retry does the work, and everything waiting on it follows.
    clock.advance(RETRY_AFTER + BACKOFF if rate_limited else 4 * BACKOFF)
    system.drain()

    assert system.undelivered() == {}
    for name in VENDORS:
        assert linked(system, incident, name) is not None, f"{name} never caught up"
    assert things_made(system) == {name: 2 for name in VENDORS}, "something was made twice"
    shown = system.plugins_json()[vendor]
    assert (shown["pending"], shown["failed"], shown["last_error"]) == (0, 0, None)
    warned = notices(system, incident, "integration-failed")
    cleared = notices(system, incident, "integration-recovered")
    if rate_limited:
        assert warned == cleared == []
        assert recorded(system, incident, IntegrationRecovered) == []
    else:
        assert len(warned) == 1 and f"*{LABELS[vendor]} failed*" in warned[0], warned
        assert len(cleared) == 1 and f"*{LABELS[vendor]} works again*" in cleared[0], cleared
        [recovery] = recorded(system, incident, IntegrationRecovered)
        assert recovery.plugin == vendor and recovery.attempts == 3
    # What the failing vendor made is in place and pointed to from the others.
    channel_id = system.channel_of(incident)
    bookmarks = [b["link"] for b in system.slack.bookmarks(channel_id)]
    for name in ("pagerduty", "notion", "statuspage"):
        resource = system.get(incident).resource(LINK_KINDS[name], plugin=name)
        assert resource is not None and resource.url in bookmarks, name
    page_id = linked(system, incident, "notion")
    assert page_id is not None
    properties = system.fakes.notion.page_properties(page_id)
    pager = system.get(incident).resource("pager-incident", plugin="pagerduty")
    channel = system.get(incident).resource("channel", plugin="slack")
    assert pager is not None and channel is not None
    assert (properties["PagerDuty"], properties["Slack channel"]) == (pager.url, channel.url)
    # The incident declared before the outage was not touched by any of it.
    assert system.event_types(earlier).count("incident.integration_failed") == 0


#: What each plugin changes at its vendor when the incident is resolved.
RESOLVE_CALLS = {
    "slack": r"^/api/conversations\.rename$",
    "pagerduty": r"^/incidents/[^/]+$",
    "notion": r"^/v1/pages/[^/]+$",
    "statuspage": r"/incidents/[^/]+$",
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_failing_at_the_resolve_is_told_and_caught_up(
    make_system: MakeSystem, vendor: str
) -> None:
    clock = Clock()
    system = make_system(clock=clock, timeout=TIMEOUT)
    incident = system.declare("Checkout is down", customer_facing=True)
    system.drain()
    assert system.undelivered() == {}
    fake = system.fakes.service(vendor)
    channel_id = system.channel_of(incident)

    fake.fail_next(RESOLVE_CALLS[vendor], _error_fault(vendor), times=10**9)
    assert system.confirm("resolve", incident, "Rolled back").content == b""
    system.drain()
    clock.advance(BACKOFF)
    system.drain()

    pending, parked, error = system.backlog(vendor)
    assert pending >= 1 and parked == 0 and error is not None and LABELS[vendor] in error
    assert system.plugins_json()[vendor]["last_error"] == error
    if vendor != "slack":
        [warning] = system.texts_of(channel_id, "integration-failed")
        assert f"*{LABELS[vendor]} failed* while resolving the incident" in warning
    fake.clear_faults()
    clock.advance(4 * BACKOFF)
    system.drain()

    assert system.undelivered() == {}
    [warning] = system.texts_of(channel_id, "integration-failed")
    assert f"*{LABELS[vendor]} failed* while resolving the incident" in warning
    [cleared] = system.texts_of(channel_id, "integration-recovered")
    assert f"*{LABELS[vendor]} works again*" in cleared
    assert system.slack.channels[channel_id].name == f"incd-{incident.id}-resolved"
    assert system.kinds_posted(channel_id).count("resolved") == 1
    assert system.fakes.pagerduty.incidents[0]["status"] == "resolved"
    assert system.fakes.statuspage.incidents[0]["status"] == "resolved"
    page_id = linked(system, incident, "notion")
    assert page_id is not None
    assert system.fakes.notion.page_properties(page_id)["Status"] == "Resolved"


@pytest.mark.parametrize("waits", [True, False], ids=["after-slack", "after-nothing"])
def test_while_slack_is_down_pagerduty_pages_at_once(make_system: MakeSystem, waits: bool) -> None:
    clock = Clock()
    options: dict[str, dict[str, Any]] = {} if waits else {"pagerduty": {"after": []}}
    system = make_system(clock=clock, options=options)
    pagerduty = system.fakes.pagerduty

    with system.slack.stopped():
        # Nobody can type /incident: it is declared from the command line (docs/operations.md).
        outcome = system.cli("--deliver-timeout", "10", "declare", "Checkout is down", "--json")
        assert outcome.code == 0, outcome
        incident = system.get(outcome.json()["incident"]["id"])
        system.drain()
        # PagerDuty waits for Slack by default (so that the page names the channel), but only
        # until Slack's delivery has failed once: paging never waits for Slack to come back.
        [paged] = pagerduty.incidents
        assert system.backlog("slack")[0] >= 1

    clock.advance(4 * BACKOFF)
    system.drain()

    assert system.undelivered() == {}
    assert len(pagerduty.incidents) == 1
    channel = system.get(incident).resource("channel", plugin="slack")
    assert channel is not None and channel.url is not None
    assert channel.url not in paged["body"]["details"]  # Slack was down when it paged
    pager = system.get(incident).resource("pager-incident", plugin="pagerduty")
    assert pager is not None
    assert pager.url in [b["link"] for b in system.slack.bookmarks(channel.external_id)]
