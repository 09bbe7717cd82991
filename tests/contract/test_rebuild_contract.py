"""A rebuild writes the read model the appends wrote, on SQLite and PostgreSQL.

The appends write each incident's row from :func:`apply`; the rebuild folds the log its own way
(:mod:`firebell.core.rebuild`). Both must leave the very same rows, as the driver reads them back.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

import attrs
import sqlalchemy as sa
from contract_support import T0
from firebell.core.events import (
    CommanderAssigned,
    Event,
    IncidentClosed,
    IncidentCreated,
    IncidentReopened,
    IncidentResolved,
    IntegrationFailed,
    IntegrationRecovered,
    ResourceLinked,
    SeverityChanged,
    StatusUpdatePosted,
    event_type,
)
from firebell.core.incident import Incident, apply
from firebell.core.schema import events, incidents, resources
from firebell.core.store import EventStore
from firebell.core.store_appends import incident_row
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    ReminderSent,
    TimelineEntryAdded,
    TimelineEntryRemoved,
)


@event_type("test.rebuild_contract_noted")
@attrs.frozen
class Noted(Event):
    """An event a plugin defined: the rebuild has no step for it."""

    text: str


def _stream(name: str) -> list[Event]:
    return [
        IncidentCreated(name, f"Checkout is down \u2603 {name}", "Payments fail", "SEV2", "U1"),
        ResourceLinked("slack", "channel", f"C-{name}", f"https://slack/C-{name}", "#inc"),
        StatusUpdatePosted("Looking", False),
        CommanderAssigned("U2"),
        SeverityChanged("SEV2", "SEV1"),
        Noted("a plugin's own event"),
        IntegrationFailed("pagerduty", "incident.created", "boom"),
        IntegrationRecovered("pagerduty", "incident.created", 2),
        TimelineEntryAdded("note:1", "U1", "first", posted_at="2026-06-01T10:55:00+02:00"),
        TimelineEntryAdded("slack:C1:1.2", "U3", "pinned", "1.2", None, "C1", None, "pin"),
        TimelineEntryRemoved("slack:C1:1.2", "1.2", "C1"),
        FollowUpAdded(1, "Add an alert", "U2"),
        FollowUpDone(1),
        ReminderSent("update", "2026-06-01T09:30:00+00:00", "U2"),
        ResourceLinked("notion", "document", f"P-{name}"),
        IncidentResolved("fixed"),
        IncidentReopened("back"),
        StatusUpdatePosted("Still on it", True),
        IncidentResolved("fixed again"),
        IncidentClosed("done"),
    ]


def _append_log(store: EventStore) -> None:
    """Three incidents' streams, interleaved, at times with and without microseconds."""
    streams = {name: _stream(name) for name in ("a", "b", "c")}
    # "c" stops early, open; "b" is given in another time zone (stored as UTC all the same).
    streams["c"] = streams["c"][:6]
    zones = {"a": UTC, "b": timezone(timedelta(hours=-5)), "c": UTC}
    for step in range(max(len(s) for s in streams.values())):
        for name, stream in streams.items():
            if step >= len(stream):
                continue
            at = (T0 + timedelta(minutes=step, microseconds=step % 2 * 250)).astimezone(zones[name])
            store.insert_events(
                name,
                [stream[step]],
                actor=f"U{step % 3}",
                occurred_at=at,
                expected_version=0 if step == 0 else None,
                idempotency_key=f"{name}-{step}" if step % 4 == 0 else None,
            )


def _tables(store: EventStore) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The read model's rows as the driver returns them (times too: SQLite's text, say)."""
    with store.read() as connection:
        incident_rows = connection.exec_driver_sql("SELECT * FROM incidents ORDER BY id").all()
        resource_rows = connection.exec_driver_sql(
            "SELECT * FROM resources ORDER BY kind, external_id, plugin"
        ).all()
    return [tuple(row) for row in incident_rows], [tuple(row) for row in resource_rows]


def test_a_rebuild_writes_the_rows_the_appends_wrote(store: EventStore) -> None:
    _append_log(store)
    written = _tables(store)
    assert len(written[0]) == 3 and len(written[1]) == 5
    seen: list[int] = []

    count = store.rebuild_read_model(seen.append)

    assert count == store.count_events() == seen[-1]
    assert _tables(store) == written


def _the_exact_way(store: EventStore) -> tuple[dict[str, Incident], set[tuple[Any, ...]]]:
    """Each stream replayed with apply, and the resources the appends would keep."""
    states: dict[str, Incident] = {}
    linked: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for event in store.select_events():
        states[event.incident_id] = apply(states.get(event.incident_id), event)
        data = event.data
        if isinstance(data, ResourceLinked):
            key = (data.kind, data.external_id, data.plugin)
            linked[key] = (*key, event.incident_id, data.url)
    return states, set(linked.values())


def test_payloads_the_steps_do_not_read_as_written_are_rebuilt_the_exact_way(
    store: EventStore,
) -> None:
    _append_log(store)
    # Shapes dump_event never writes, which cattrs reads all the same: values it coerces, spaces
    # around the JSON, fields left to their defaults.
    odd = {
        "incident.created": '{"customer_facing": 1, "description": "d", "name": "n", '
        '"reporter": "U1", "severity": 2, "title": "Coerced"}',
        "incident.severity_changed": ' {"previous": "SEV2", "severity": 1} ',
        "incident.resource_linked": '{"external_id": 5, "kind": "channel", "plugin": "slack"}',
        "followup.added": '{"follow_up_id": "1", "text": "Add an alert"}',
    }
    with store.write() as connection:
        for kind, payload in odd.items():
            connection.execute(
                events.update()
                .where(events.c.event_type == kind, events.c.incident_id == "b")
                .values(data=payload)
            )
    states, linked = _the_exact_way(store)
    assert states["b"].severity == "1" and states["b"].title == "Coerced"

    store.rebuild_read_model()

    with store.read() as connection:
        rows = {row.id: row._asdict() for row in connection.execute(sa.select(incidents))}
        kept = {tuple(row) for row in connection.execute(sa.select(resources))}
    assert rows == {name: incident_row(state) for name, state in states.items()}
    assert kept == linked
