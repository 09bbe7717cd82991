"""A plugin switched off and on again: what it gets of the incidents that ended meanwhile."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from core_support import FixedClock, assert_log_consistent, event_types
from firebell.core import Firebell, Incident, Link, RecordedEvent, RetryLater, hookimpl
from firebell.core.events import IntegrationSkipped
from firebell.core.timeline import describe

from firebell.testing.pytest_plugin import MakeFirebell


class Pager:
    """A pager: pages (links a ``pager-incident``) on created, writes down every event it gets.

    ``failing`` makes every call raise RetryLater (the vendor is down).
    """

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.failing = False
        self._lock = threading.Lock()

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        """Page: the same page for the same incident, however often it is called."""
        return Link("pager-incident", f"P-{incident.id}", None, "page")

    @hookimpl
    def firebell_event(self, event: RecordedEvent) -> None:
        """Write the event down; fail after that while ``failing``."""
        with self._lock:
            self.seen.append((event.incident_id, event.type))
        if self.failing:
            raise RetryLater("the pager service answers 503", retry_after=60)

    def of(self, incident_id: str) -> list[str]:
        """The event types it got for ``incident_id``, in order (repeats included)."""
        with self._lock:
            return [kind for incident, kind in self.seen if incident == incident_id]


class Chat:
    """A plugin that links nothing and writes down every event it gets."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def firebell_event(self, event: RecordedEvent) -> None:
        """Write the event down."""
        self.seen.append((event.incident_id, event.type))


@pytest.fixture
def pager() -> Pager:
    """The pager plugin object every Firebell of a test shares (one vendor)."""
    return Pager()


@pytest.fixture
def open_with(
    make_firebell: MakeFirebell, clock: FixedClock, pager: Pager
) -> Any:  # a factory: open_with(pager_on: bool) -> Firebell
    """A Firebell on the test's log with the pager switched on or off, and a chat plugin."""

    def make(pager_on: bool) -> Firebell:
        return make_firebell(
            {"plugins": {"pager": {"enabled": pager_on}, "chat": {}}},
            entry_points=False,
            extra_plugins={"pager": pager, "chat": Chat()},
            clock=clock,
            retry_base=0.0,
        )

    return make


def backlog(fb: Firebell, plugin: str) -> tuple[int, int, int, int]:
    figures = fb.deliverer.outbox.backlog()[plugin]
    return figures.pending, figures.failed, figures.skipped, figures.done


def test_an_incident_closed_while_the_pager_was_off_is_not_paged_when_it_is_back(
    open_with: Any, pager: Pager, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    first = open_with(True)
    pager.failing = True  # the pager service is down: the operator switches the plugin off
    closed = first.engine.declare(title="closed while off", reporter="U1").incident.id
    still_open = first.engine.declare(title="still open", reporter="U1").incident.id
    first.deliverer.drain()
    assert pager.of(closed) == ["incident.created"]

    off = open_with(False)
    off.engine.resolve(closed, actor="U1")
    off.engine.post_update(still_open, "looking", actor="U1")
    off.engine.close(closed, actor="U1")
    off.deliverer.drain()

    pager.failing = False
    on = open_with(True)
    clock.advance(120)
    on.deliverer.drain()
    assert pager.of(closed) == ["incident.created"], "paged for an incident closed meanwhile"
    assert pager.of(still_open).count("incident.created") == 2, "an open one is paged, late"
    assert on.engine.get(still_open).resource("pager-incident") is not None
    assert on.engine.get(closed).resource("pager-incident") is None

    figures = on.deliverer.outbox.backlog(incident_id=closed)["pager"]
    # The created event and the failure report behind it, both pending when it was switched off.
    assert (figures.pending, figures.failed, figures.skipped) == (0, 0, 2)
    assert figures.skip_reason is not None
    assert figures.skip_reason.startswith(
        f"skipped: pager was off when {closed} was closed (2026-06-01 14:02 UTC) and had "
        "created nothing for it"
    )
    assert "`firebell retry --skipped --plugin pager` delivers it anyway" in figures.skip_reason
    assert figures.last_error is None, "a skip is no error"
    assert on.deliverer.outbox.backlog()["pager"].skipped == 2
    warnings = [r.getMessage() for r in caplog.records if "was off when" in r.getMessage()]
    assert warnings == [f"plugin pager: 2 pending deliveries of {closed} {figures.skip_reason}"]
    assert "incident.integration_recovered" not in event_types(on, closed)
    assert on.deliverer.drain() == 0, "skipped once and for all"


def test_a_plugin_that_was_only_late_gets_the_whole_story_in_order(
    open_with: Any, pager: Pager, clock: FixedClock
) -> None:
    fb = open_with(True)
    pager.failing = True
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.engine.resolve(name, actor="U1")
    fb.engine.close(name, actor="U1")
    fb.deliverer.drain()
    assert pager.of(name) == ["incident.created"]

    off = open_with(False)  # off for a while: it had the resolve and the close already
    off.deliverer.drain()
    pager.failing = False
    on = open_with(True)
    clock.advance(120)
    on.deliverer.drain()
    delivered = [kind for kind in pager.of(name) if kind != "incident.integration_failed"]
    assert delivered[:4] == [
        "incident.created",
        "incident.created",
        "incident.resolved",
        "incident.closed",
    ]
    assert backlog(on, "pager")[:3] == (0, 0, 0)


def test_a_plugin_that_created_something_still_gets_the_resolve(
    open_with: Any, pager: Pager, clock: FixedClock
) -> None:
    fb = open_with(True)
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()
    assert fb.engine.get(name).resource("pager-incident") is not None
    pager.failing = True
    fb.engine.resolve(name, actor="U1")
    fb.deliverer.drain()  # the resolve fails: the page is still open at the vendor

    off = open_with(False)
    off.engine.close(name, actor="U1")  # the pager never gets a row for the close
    off.deliverer.drain()

    pager.failing = False
    on = open_with(True)
    clock.advance(120)
    on.deliverer.drain()
    assert pager.of(name).count("incident.resolved") == 2, "the page must be resolved"
    assert "incident.closed" not in pager.of(name)
    pending, failed, skipped, _done = backlog(on, "pager")
    assert (pending, failed, skipped) == (0, 0, 0)


def test_a_resolved_incident_is_not_paged_but_its_reopening_is(
    open_with: Any, pager: Pager
) -> None:
    fb = open_with(True)
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    off = open_with(False)
    off.engine.resolve(name, actor="U1")

    on = open_with(True)
    on.deliverer.drain()
    assert pager.of(name) == []
    assert backlog(on, "pager")[2] == 1
    assert "was off when" in (on.deliverer.outbox.backlog()["pager"].skip_reason or "")

    on.engine.reopen(name, actor="U1", reason="not over")
    on.deliverer.drain()
    assert pager.of(name) == ["incident.reopened"]


def test_skipped_deliveries_can_be_delivered_anyway_with_what_the_plugin_missed(
    open_with: Any, pager: Pager, clock: FixedClock
) -> None:
    fb = open_with(True)
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    off = open_with(False)
    off.engine.post_update(name, "looking", actor="U1")
    off.engine.resolve(name, actor="U1")
    off.engine.close(name, actor="U1")
    on = open_with(True)
    on.deliverer.drain()
    assert pager.of(name) == []
    assert backlog(on, "pager")[2] == 1

    assert on.deliverer.stale.requeue_skipped(plugin="chat", now=clock()) == 0
    assert on.deliverer.stale.requeue_skipped(plugin="pager", now=clock()) == 4
    on.deliverer.drain()
    assert pager.of(name) == [
        "incident.created",
        "incident.status_update_posted",
        "incident.resolved",
        "incident.closed",
        "incident.resource_linked",
    ]
    assert backlog(on, "pager")[:3] == (0, 0, 0)
    assert on.engine.get(name).resource("pager-incident") is not None
    assert on.deliverer.stale.requeue_skipped(now=clock()) == 0


def failing_while_switched_off(
    open_with: Any, pager: Pager, clock: FixedClock
) -> tuple[Firebell, str]:
    """An incident the pager failed for (IntegrationFailed recorded), then was switched off
    (its vendor down), resolved and closed meanwhile; the pager switched back on, its vendor up
    again, and its deliveries of the incident skipped. Returns the Firebell and the incident."""
    first = open_with(True)
    pager.failing = True
    name = first.engine.declare(title="closed while off", reporter="U1").incident.id
    first.deliverer.drain()
    assert first.engine.get(name).failing_plugins == ("pager",)

    off = open_with(False)
    off.engine.resolve(name, actor="U1")
    off.engine.close(name, actor="U1")
    off.deliverer.drain()

    pager.failing = False
    on = open_with(True)
    clock.advance(120)  # its retry is due
    on.deliverer.drain()
    assert backlog(on, "pager")[:3] == (0, 0, 2)
    return on, name


def test_a_skip_that_leaves_the_plugin_nothing_to_do_ends_its_failing_state(
    open_with: Any, pager: Pager, clock: FixedClock
) -> None:
    on, name = failing_while_switched_off(open_with, pager, clock)

    assert on.engine.get(name).failing_plugins == (), "still 'failing' for a skipped incident"
    [skip] = [e for e in on.store.select_events(name) if isinstance(e.data, IntegrationSkipped)]
    reason = on.deliverer.outbox.backlog(incident_id=name)["pager"].skip_reason
    assert skip.data == IntegrationSkipped("pager", 2, reason or "")
    assert skip.actor == "plugin:pager"
    # The timeline (and the post-mortem) states what happened; the advice is in firebell show.
    assert describe(skip) == (
        "pager: 2 deliveries skipped (it was off when the incident was closed and had created "
        "nothing for it)"
    )
    assert "firebell retry" in reason
    assert "incident.integration_recovered" not in event_types(on, name)
    assert_log_consistent(on.store)  # the read model is what the log folds to
    assert on.deliverer.drain() == 0
    assert pager.of(name) == ["incident.created"], "the pager hears nothing of the skip"
    chat = on.host.manager.get_plugin("chat")
    assert (name, "incident.integration_skipped") in chat.seen, "the others hear of it"


def test_skipped_deliveries_delivered_anyway_record_no_recovery_for_a_closed_incident(
    open_with: Any, pager: Pager, clock: FixedClock
) -> None:
    on, name = failing_while_switched_off(open_with, pager, clock)

    assert on.deliverer.stale.requeue_skipped(plugin="pager", now=clock()) > 0
    on.deliverer.drain()
    assert "incident.closed" in pager.of(name), "delivered anyway, the end included"
    assert backlog(on, "pager")[:3] == (0, 0, 0)
    # Its failing state was ended by the skip: no 'works again' note for the archived channel.
    assert "incident.integration_recovered" not in event_types(on, name)
    assert on.engine.get(name).failing_plugins == ()
    assert_log_consistent(on.store)


def test_a_skip_of_a_plugin_that_was_not_failing_appends_nothing(
    open_with: Any, pager: Pager
) -> None:
    fb = open_with(True)
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    off = open_with(False)
    off.engine.resolve(name, actor="U1")
    off.engine.close(name, actor="U1")
    before = event_types(off, name)

    on = open_with(True)
    on.deliverer.drain()
    assert backlog(on, "pager")[2] == 1
    assert event_types(on, name) == before
