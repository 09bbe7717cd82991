"""Lease renewal and stale deliveries, on SQLite and PostgreSQL (the SQL of each backend)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from contract_support import T0, declare
from firebell.core import IncidentClosed, IncidentResolved, Link
from firebell.core.events import IntegrationSkipped
from firebell.core.outbox import Outbox
from firebell.core.schema import deliveries
from firebell.core.stale_deliveries import StaleDeliveries
from firebell.core.store import EventStore

LEASE = timedelta(minutes=5)


def rows(store: EventStore, plugin: str) -> dict[int, tuple[str, str | None, object]]:
    """position -> (status, lease owner, lease end) of ``plugin``'s rows."""
    with store.read() as connection:
        found = connection.execute(
            sa.select(
                deliveries.c.position,
                deliveries.c.status,
                deliveries.c.lease_owner,
                deliveries.c.lease_expires_at,
            ).where(deliveries.c.plugin == plugin)
        ).all()
    return {r.position: (r.status, r.lease_owner, r.lease_expires_at) for r in found}


def test_renew_extends_only_the_owners_pending_leases(store: EventStore) -> None:
    declare(store, "a", subscribers=["pager"])
    declare(store, "b", subscribers=["pager"])
    outbox = Outbox(store, ["pager"])
    first, second = outbox.claim(
        owner="w1", now=T0, lease=LEASE, dependencies={}, limit=10, plugins=None
    )
    outbox.complete(second, [], now=T0)
    until = T0 + timedelta(minutes=8)

    assert outbox.renew("w2", [first], until=until) == set()
    held = outbox.renew("w1", [first, second], until=until)
    assert held == {(first.position, "pager")}
    assert rows(store, "pager")[first.position] == ("pending", "w1", until)
    assert rows(store, "pager")[second.position] == ("done", None, None)
    assert (
        outbox.claim(
            owner="w2", now=T0 + timedelta(minutes=6), lease=LEASE, dependencies={}, limit=10
        )
        == []
    )


def test_a_stale_delivery_is_skipped_and_queued_again_with_what_was_missed(
    store: EventStore,
) -> None:
    name = "a"
    created = declare(store, name, subscribers=["pager", "chat"]).events[0].position
    # Resolved and closed by a process with the pager off: rows for the chat only.
    store.insert_events(
        name,
        [IncidentResolved("fixed")],
        actor="U",
        occurred_at=T0 + timedelta(minutes=1),
        expected_version=1,
        subscribers=["chat"],
    )
    store.insert_events(
        name,
        [IncidentClosed("done")],
        actor="U",
        occurred_at=T0 + timedelta(minutes=2),
        expected_version=2,
        subscribers=["chat"],
    )
    outbox = Outbox(store, ["pager", "chat"])
    stale = StaleDeliveries(store)
    claims = outbox.claim(owner="w1", now=T0, lease=LEASE, dependencies={}, limit=10)
    by_plugin = {c.plugin: c for c in claims if c.position == created}

    assert stale.skip_if_stale(by_plugin["chat"], now=T0) is None, "the chat has the close"
    skipped = stale.skip_if_stale(by_plugin["pager"], now=T0)
    assert skipped is not None
    assert (skipped.plugin, skipped.incident_id, skipped.count) == ("pager", name, 1)
    assert skipped.reason.startswith(
        "skipped: pager was off when a was closed (2026-06-01 09:02 UTC)"
    )
    assert rows(store, "pager") == {created: ("skipped", None, None)}
    figures = outbox.backlog()["pager"]
    assert (figures.pending, figures.skipped, figures.skip_reason) == (0, 1, skipped.reason)

    assert stale.requeue_skipped(plugin="pager", now=T0 + timedelta(minutes=5)) == 3
    assert [status for status, _, _ in rows(store, "pager").values()] == ["pending"] * 3
    again = outbox.claim(
        owner="w1", now=T0 + timedelta(minutes=5), lease=LEASE, dependencies={}, limit=10
    )
    pager = [c for c in again if c.plugin == "pager"]
    assert [(c.position, c.event_type, c.attempt) for c in pager] == [
        (created, "incident.created", 1)
    ], "the rest waits behind it, in order"
    assert stale.skip_if_stale(pager[0], now=T0) is None, "it has the close now"


def test_a_plugin_that_linked_something_is_never_stale(store: EventStore) -> None:
    created = declare(store, "a", subscribers=["pager"]).events[0].position
    outbox = Outbox(store, ["pager"])
    [first] = outbox.claim(owner="w1", now=T0, lease=LEASE, dependencies={}, limit=10)
    outbox.complete(first, [Link("pager-incident", "P1", None, None)], now=T0)
    store.insert_events("a", [IncidentResolved("")], actor="U", occurred_at=T0, expected_version=2)
    [linked] = outbox.claim(owner="w1", now=T0, lease=LEASE, dependencies={}, limit=10)
    assert linked.position > created
    assert StaleDeliveries(store).skip_if_stale(linked, now=T0) is None


def test_a_skip_ends_the_failing_state_it_leaves_nothing_to_retry_for(store: EventStore) -> None:
    name = "a"
    created = declare(store, name, subscribers=["pager", "chat"]).events[0].position
    outbox = Outbox(store, ["pager", "chat"])
    claims = outbox.claim(owner="w1", now=T0, lease=LEASE, dependencies={}, limit=10)
    [pager] = [c for c in claims if c.plugin == "pager"]
    outbox.fail(pager, "HTTP 503", now=T0, retry_at=T0)  # appends IntegrationFailed
    failed = store.select_events(name)[-1].position
    for ending in (IncidentResolved("fixed"), IncidentClosed("done")):
        store.insert_events(
            name, [ending], actor="U", occurred_at=T0, expected_version=None, subscribers=["chat"]
        )
    assert store.get_incident(name).failing_plugins == ("pager",)  # type: ignore[union-attr]

    stale = StaleDeliveries(store, ["pager", "chat"])
    skipped = stale.skip_if_stale(pager, now=T0 + timedelta(minutes=1))
    assert skipped is not None and skipped.count == 2, "the created event and the failure report"

    incident = store.get_incident(name)
    assert incident is not None and incident.failing_plugins == ()
    last = store.select_events(name)[-1]
    assert last.data == IntegrationSkipped("pager", 2, skipped.reason)
    # The chat gets the event like any other; the pager, whose deliveries of it are over, not.
    assert rows(store, "pager") == {
        created: ("skipped", None, None),
        failed: ("skipped", None, None),
    }
    with store.read() as connection:
        chat = connection.execute(
            sa.select(deliveries.c.status).where(
                deliveries.c.plugin == "chat", deliveries.c.position == last.position
            )
        ).scalar_one()
    assert chat == "pending"
    # Delivered anyway, it gets the skip too, after the end it missed.
    assert stale.requeue_skipped(plugin="pager", now=T0 + timedelta(minutes=5)) == 5
