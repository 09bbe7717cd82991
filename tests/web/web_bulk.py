"""A log of many incidents, written fast for the scale tests.

Each incident's events are folded by the real :func:`~firebell.core.incident.apply` and its row
of the read model is made by the store's own row builder (the real serializer); events and
rows then go in with the driver's ``executemany`` in one transaction, as bench/datagen.py does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from firebell.core.events import IncidentCreated, IncidentResolved, RecordedEvent
from firebell.core.incident import replay
from firebell.core.serialization import dump_event
from firebell.core.store import EventStore, _incident_row

__all__ = ["FIRST_DECLARED", "SEVERITIES", "bulk_name", "fill_incidents"]

FIRST_DECLARED = datetime(2024, 1, 1, tzinfo=UTC)
SEVERITIES = ("SEV0", "SEV1", "SEV2")
_SPACING = timedelta(minutes=7)
_EVENT_COLUMNS = (
    "position",
    "incident_id",
    "version",
    "event_type",
    "schema_version",
    "data",
    "occurred_at",
    "actor",
)
_INCIDENT_COLUMNS = (
    "id",
    "version",
    "title",
    "severity",
    "state",
    "commander",
    "declared_at",
    "updated_at",
    "last_position",
    "data",
)


def bulk_name(index: int) -> str:
    """The name of bulk incident ``index`` (declared 7 minutes apart)."""
    return f"{FIRST_DECLARED + _SPACING * index:%Y%m%d}-bulk-{index:06d}"


def _stored(moment: datetime) -> str:
    # How UTCDateTime binds a time on SQLite: naive UTC text.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def fill_incidents(store: EventStore, count: int) -> None:
    """Append ``count`` incidents to an empty SQLite log: severity ``SEVERITIES[index % 3]``,
    every fourth one (``index % 4 == 0``) resolved half an hour after it was declared."""
    event_rows: list[tuple[Any, ...]] = []
    incident_rows: list[tuple[Any, ...]] = []
    position = 0
    for index in range(count):
        name = bulk_name(index)
        declared = FIRST_DECLARED + _SPACING * index
        reporter = f"U{index:08d}"
        shaped = [
            (
                IncidentCreated(
                    name, f"Bulk incident number {index}", "", SEVERITIES[index % 3], reporter
                ),
                declared,
            )
        ]
        if index % 4 == 0:
            shaped.append((IncidentResolved("fixed"), declared + timedelta(minutes=30)))
        recorded = []
        for version, (event, at) in enumerate(shaped, start=1):
            position += 1
            recorded.append(RecordedEvent(name, version, position, at, reporter, None, event))
            event_rows.append(
                (position, name, version, event.type, 1, dump_event(event), _stored(at), reporter)
            )
        incident = replay(recorded)
        assert incident is not None
        row = _incident_row(incident)
        row["declared_at"] = _stored(row["declared_at"])
        row["updated_at"] = _stored(row["updated_at"])
        incident_rows.append(tuple(row[column] for column in _INCIDENT_COLUMNS))
    with store.write() as connection:
        for table, columns, rows in (
            ("events", _EVENT_COLUMNS, event_rows),
            ("incidents", _INCIDENT_COLUMNS, incident_rows),
        ):
            marks = ", ".join("?" * len(columns))
            connection.exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )
