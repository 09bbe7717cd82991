"""The event log's contract, on SQLite and PostgreSQL: appends, versions, idempotency, reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from contract_support import T0, created, declare, update
from firebell.core import (
    ConcurrencyConflict,
    IncidentNotFound,
    IncidentResolved,
    IncidentState,
    ResourceLinked,
    SeverityChanged,
)
from firebell.core.schema import commands, deliveries, events, incidents
from firebell.core.store import EventStore


def _count(store: EventStore, table: sa.Table) -> int:
    with store.read() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# -- appending -----------------------------------------------------------------------------------


def test_a_new_incident_starts_its_stream_at_version_1(store: EventStore) -> None:
    result = declare(store, "20260601-calm-otter")

    [event] = result.events
    assert (event.incident_id, event.version, event.type) == (
        "20260601-calm-otter",
        1,
        "incident.created",
    )
    assert event.position >= 1
    assert result.incident.version == 1
    assert result.incident.state is IncidentState.OPEN
    assert result.duplicate is False
    assert store.get_incident("20260601-calm-otter") == result.incident


def test_positions_increase_across_streams_and_versions_within_one(store: EventStore) -> None:
    first = declare(store, "a").events[0]
    second = declare(store, "b").events[0]
    more = store.insert_events(
        "a", [update("one"), update("two")], actor="U_BO", occurred_at=T0, expected_version=1
    ).events

    positions = [first.position, second.position, *(e.position for e in more)]
    assert positions == sorted(positions) and len(set(positions)) == 4
    assert [e.version for e in more] == [2, 3]
    assert [e.incident_id for e in store.select_events()] == ["a", "b", "a", "a"]


def test_a_stale_expected_version_is_refused_and_writes_nothing(store: EventStore) -> None:
    declare(store, "a", subscribers=["slack"])
    store.insert_events("a", [update()], actor="U_BO", occurred_at=T0, expected_version=1)
    before = (_count(store, events), _count(store, deliveries))

    with pytest.raises(ConcurrencyConflict, match="version 2, not 1"):
        store.insert_events(
            "a",
            [IncidentResolved("fixed")],
            actor="U_CY",
            occurred_at=T0,
            expected_version=1,
            subscribers=["slack"],
        )

    assert (_count(store, events), _count(store, deliveries)) == before
    assert store.get_incident("a").state is IncidentState.OPEN  # type: ignore[union-attr]


def test_declaring_a_taken_name_is_a_conflict(store: EventStore) -> None:
    declare(store, "a")
    with pytest.raises(ConcurrencyConflict):
        declare(store, "a", title="Another outage")
    assert store.get_incident("a").title == "Checkout is down"  # type: ignore[union-attr]
    assert _count(store, events) == 1


def test_no_expected_version_appends_at_the_end(store: EventStore) -> None:
    declare(store, "a")
    store.insert_events("a", [update()], actor="U_BO", occurred_at=T0, expected_version=1)
    result = store.insert_events(
        "a",
        [ResourceLinked("slack", "channel", "C1", "https://slack/C1")],
        actor="plugin:slack",
        occurred_at=T0,
        expected_version=None,
    )
    assert result.events[0].version == 3
    assert result.incident.version == 3


def test_appending_nothing_to_an_unknown_incident_is_refused(store: EventStore) -> None:
    with pytest.raises(IncidentNotFound):
        store.insert_events("ghost", [], actor="U_ANA", occurred_at=T0, expected_version=0)
    assert _count(store, incidents) == 0


def test_every_subscriber_gets_one_outbox_row_per_event(store: EventStore) -> None:
    declare(store, "a", subscribers=["slack", "pagerduty"])
    store.insert_events(
        "a",
        [update("one"), update("two")],
        actor="U_BO",
        occurred_at=T0,
        expected_version=1,
        subscribers=["slack", "pagerduty"],
    )
    with store.read() as connection:
        rows = connection.execute(
            sa.select(deliveries.c.position, deliveries.c.plugin, deliveries.c.status)
        ).all()
    positions = [e.position for e in store.select_events("a")]
    assert sorted((r.position, r.plugin) for r in rows) == sorted(
        (p, plugin) for p in positions for plugin in ("slack", "pagerduty")
    )
    assert {r.status for r in rows} == {"pending"}


# -- idempotency ---------------------------------------------------------------------------------


def test_a_repeated_idempotency_key_returns_the_first_result(store: EventStore) -> None:
    first = declare(store, "a", key="slack:trigger-1", subscribers=["slack"])
    again = store.insert_events(
        "a",
        [update("a different command body")],
        actor="U_ANA",
        occurred_at=T0 + timedelta(seconds=5),
        expected_version=1,
        idempotency_key="slack:trigger-1",
        subscribers=["slack"],
    )

    assert again.duplicate is True
    assert again.events == first.events
    assert again.incident == first.incident
    assert (_count(store, events), _count(store, deliveries), _count(store, commands)) == (1, 1, 1)
    assert store.select_command_result("slack:trigger-1") == again
    assert store.select_command_result("never-used") is None


def test_idempotency_keys_cover_every_event_of_a_command(store: EventStore) -> None:
    declare(store, "a")
    declare(store, "b")  # interleaves positions between a's events
    first = store.insert_events(
        "a",
        [update("one"), SeverityChanged("SEV2", "SEV1")],
        actor="U_ANA",
        occurred_at=T0,
        expected_version=1,
        idempotency_key="k-2",
    )
    again = store.select_command_result("k-2")
    assert again is not None
    assert again.events == first.events
    assert [e.causation_id for e in first.events] == ["k-2", "k-2"]


# -- reading -------------------------------------------------------------------------------------


def test_events_and_times_read_back_exactly(store: EventStore) -> None:
    text = (
        "Zero\u200bwidth, right-to-left \u202e, emoji \U0001f525, <!channel> *bold*" + "x" * 50_000
    )
    moment = datetime(2026, 6, 1, 11, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    declare(store, "a", at=moment)
    store.insert_events("a", [update(text)], actor="U_BO", occurred_at=moment, expected_version=1)

    [creation, posted] = store.select_events("a")
    assert posted.data == update(text)
    assert creation.data == created("a")
    assert posted.occurred_at == moment and posted.occurred_at.tzinfo is UTC
    assert posted.actor == "U_BO"


def test_naive_times_are_refused(store: EventStore) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        declare(store, "a", at=datetime(2026, 6, 1, 9, 0))
    assert store.count_events() == 0


def test_select_events_after_a_position_with_a_limit(store: EventStore) -> None:
    for name in "abcde":
        declare(store, name)
    everything = store.select_events()
    after_second = store.select_events(after=everything[1].position, limit=2)
    assert after_second == everything[2:4]
    assert list(store.iter_events(batch_size=2)) == everything
    assert store.count_events() == 5


def test_list_incidents_filters_and_pages_newest_first(store: EventStore) -> None:
    for offset, (name, severity) in enumerate(
        [("a-db-outage", "SEV1"), ("b-slow-search", "SEV3"), ("c-db-latency", "SEV2")]
    ):
        declare(
            store,
            name,
            at=T0 + timedelta(minutes=offset),
            severity=severity,
            title=name.replace("-", " "),
        )
    store.insert_events(
        "b-slow-search", [IncidentResolved()], actor="U", occurred_at=T0, expected_version=1
    )

    assert [i.id for i in store.list_incidents()] == [
        "c-db-latency",
        "b-slow-search",
        "a-db-outage",
    ]
    assert [i.id for i in store.list_incidents(state=IncidentState.RESOLVED)] == ["b-slow-search"]
    assert [i.id for i in store.list_incidents(severity="SEV1")] == ["a-db-outage"]
    assert [i.id for i in store.list_incidents(search="DB")] == ["c-db-latency", "a-db-outage"]
    assert [i.id for i in store.list_incidents(limit=1, offset=1)] == ["b-slow-search"]
    assert store.count_incidents() == 3
    assert store.get_incident("nope") is None


def test_a_count_with_a_limit_stops_there_and_is_exact_below_it(store: EventStore) -> None:
    for number in range(7):
        declare(store, f"disk-{number}", severity="SEV1" if number < 3 else "SEV2")
    declare(store, "other", severity="SEV1")

    # Seven match the search: a limit under that is what is counted, one above it is exact.
    assert store.count_incidents(search="disk", limit=4) == 4
    assert store.count_incidents(search="disk", limit=7) == 7
    assert store.count_incidents(search="disk", limit=8) == 7
    assert store.count_incidents(search="disk") == 7
    # The other filters apply before the limit, as in list_incidents.
    assert store.count_incidents(search="disk", severity="SEV1", limit=5) == 3
    assert store.count_incidents(severity="SEV1", limit=2) == 2
    assert store.count_incidents(limit=100) == 8
    assert store.count_incidents(search="disk", limit=0) == 0


def test_a_linked_resource_finds_its_incident(store: EventStore) -> None:
    declare(store, "a")
    declare(store, "b")
    store.insert_events(
        "a",
        [ResourceLinked("slack", "channel", "C123", "https://slack/C123", "#inc-a")],
        actor="plugin:slack",
        occurred_at=T0,
        expected_version=None,
    )
    found = store.find_incident_by_resource("channel", "C123")
    assert found is not None and found.id == "a"
    assert found.resource("channel") is not None
    assert store.find_incident_by_resource("channel", "C999") is None
    assert store.find_incident_by_resource("document", "C123") is None

    # The same external thing linked again (to another incident) moves the lookup with it.
    store.insert_events(
        "b",
        [ResourceLinked("slack", "channel", "C123", "https://slack/C123")],
        actor="plugin:slack",
        occurred_at=T0,
        expected_version=None,
    )
    assert store.find_incident_by_resource("channel", "C123").id == "b"  # type: ignore[union-attr]


# -- rebuilding ----------------------------------------------------------------------------------


def test_rebuilding_the_read_model_gives_the_same_state(store: EventStore) -> None:
    for name in ("a", "b", "c"):
        declare(store, name)
    store.insert_events(
        "a", [update(), IncidentResolved()], actor="U", occurred_at=T0, expected_version=1
    )
    store.insert_events(
        "b",
        [ResourceLinked("slack", "channel", "C1")],
        actor="plugin:slack",
        occurred_at=T0,
        expected_version=None,
    )
    before = {i.id: i for i in store.list_incidents()}
    # Lose the read model entirely: the log alone must bring it back.
    with store.write() as connection:
        connection.execute(incidents.delete())
    assert store.count_incidents() == 0
    seen: list[int] = []

    count = store.rebuild_read_model(seen.append)

    assert count == 6 and seen[-1] == 6
    assert {i.id: i for i in store.list_incidents()} == before
    assert store.find_incident_by_resource("channel", "C1").id == "b"  # type: ignore[union-attr]


def test_create_tables_is_idempotent_and_keeps_data(store: EventStore) -> None:
    declare(store, "a")
    store.create_tables()
    again = EventStore(store.url)
    try:
        again.create_tables()
        assert again.get_incident("a") is not None
    finally:
        again.dispose()
