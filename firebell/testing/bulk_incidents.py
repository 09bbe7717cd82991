"""Many incidents in a log at once, written straight into its tables: for tests and benchmarks
of the read model at scale (the web console's pages, ``firebell list``'s filters).

Incident ``index`` is ``bulk_name(index)``, declared 7 minutes after the one before it from
:data:`FIRST_DECLARED`, of severity ``SEVERITIES[index % 3]``, titled ``Bulk incident number
<index>``; every fourth one (``index % 4 == 0``) was resolved half an hour after it was declared.
Its events are serialized and its read-model row built by Firebell's own code, as appends would
write them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from firebell.core.events import IncidentCreated, IncidentResolved, RecordedEvent
from firebell.core.incident import replay
from firebell.core.schema import events, incidents
from firebell.core.serialization import dump_event
from firebell.core.store import EventStore
from firebell.core.store_appends import incident_row

__all__ = ["FIRST_DECLARED", "SEVERITIES", "bulk_name", "fill_incidents"]

FIRST_DECLARED = datetime(2024, 1, 1, tzinfo=UTC)
SEVERITIES = ("SEV0", "SEV1", "SEV2")
_SPACING = timedelta(minutes=7)
_CHUNK = 5000
# The events' columns but the causation (none here), and the incidents' columns, as the
# tables list them (and the rows below follow).
_EVENT_COLUMNS = tuple(c.name for c in events.columns if c.name != "causation_id")
_INCIDENT_COLUMNS = tuple(c.name for c in incidents.columns)


def bulk_name(index: int) -> str:
    """The name of bulk incident ``index`` (declared 7 minutes apart)."""
    return f"{FIRST_DECLARED + _SPACING * index:%Y%m%d}-bulk-{index:06d}"


def _bound(moment: datetime, *, postgres: bool) -> Any:
    # As UTCDateTime binds a time: aware on PostgreSQL, naive UTC text on SQLite.
    if postgres:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _rows(
    first: int, last: int, position: int, *, postgres: bool
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    event_rows: list[tuple[Any, ...]] = []
    incident_rows: list[tuple[Any, ...]] = []
    for index in range(first, last):
        name = bulk_name(index)
        declared = FIRST_DECLARED + _SPACING * index
        reporter = f"U{index:08d}"
        title = f"Bulk incident number {index}"
        shaped: list[tuple[IncidentCreated | IncidentResolved, datetime]] = [
            (IncidentCreated(name, title, "", SEVERITIES[index % 3], reporter), declared)
        ]
        if index % 4 == 0:
            shaped.append((IncidentResolved("fixed"), declared + timedelta(minutes=30)))
        recorded = []
        for version, (event, at) in enumerate(shaped, start=1):
            position += 1
            recorded.append(RecordedEvent(name, version, position, at, reporter, None, event))
            event_rows.append(
                (
                    position,
                    name,
                    version,
                    event.type,
                    1,
                    dump_event(event),
                    _bound(at, postgres=postgres),
                    reporter,
                )
            )
        incident = replay(recorded)
        assert incident is not None
        row = incident_row(incident)
        row["declared_at"] = _bound(row["declared_at"], postgres=postgres)
        row["updated_at"] = _bound(row["updated_at"], postgres=postgres)
        incident_rows.append(tuple(row[column] for column in _INCIDENT_COLUMNS))
    return event_rows, incident_rows, position


def fill_incidents(store: EventStore, count: int) -> None:
    """Append ``count`` incidents to an empty log: severity ``SEVERITIES[index % 3]``, every
    fourth one (``index % 4 == 0``) resolved half an hour after it was declared."""
    postgres = store.is_postgres
    mark = "%s" if postgres else "?"
    statements = [
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        for table, columns in (("events", _EVENT_COLUMNS), ("incidents", _INCIDENT_COLUMNS))
    ]
    position = 0
    with store.write() as connection:
        for first in range(0, count, _CHUNK):
            events, incidents, position = _rows(
                first, min(first + _CHUNK, count), position, postgres=postgres
            )
            connection.exec_driver_sql(statements[0], events)
            connection.exec_driver_sql(statements[1], incidents)
        if postgres:
            # VACUUM marks a page all-visible only once its rows' commit is flushed; the test
            # server runs with synchronous_commit off (scripts/postgres).
            connection.exec_driver_sql("SET LOCAL synchronous_commit = on")
            connection.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('events', 'position'), "
                    "(SELECT max(position) FROM events))"
                )
            )
    if postgres:
        # What autovacuum leaves soon after a load: statistics and the visibility map.
        with store.engine.connect() as plain:
            autocommit = plain.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql("VACUUM ANALYZE incidents")
            autocommit.exec_driver_sql("VACUUM ANALYZE events")
