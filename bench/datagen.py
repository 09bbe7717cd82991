"""A big, realistic event log, written fast: rows inserted in bulk, payloads by the real serializer.

Each incident has ``events_per_incident`` events (10 by default) shaped like what Firebell
records for a real incident declared from Slack: the creation, the channel, summary, PagerDuty
incident and post-mortem links, status updates, a commander, a severity change and (for most)
the resolution. Incidents are declared ten minutes apart, so 100,000 of them span two years and
their events interleave with their neighbours'. Every event has a done outbox row per plugin and
every creation an idempotency key, as a log written by ``firebell run`` would. The read model is
then built with :meth:`EventStore.rebuild_read_model`, the code under test, or left to the caller.

Generated SQLite logs are kept in ``bench/results/data/`` (ignored by git) and reused by later
runs; a log is written to a temporary name and renamed when whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from firebell.core.events import (
    CommanderAssigned,
    Event,
    IncidentCreated,
    IncidentResolved,
    ResourceLinked,
    SeverityChanged,
    StatusUpdatePosted,
)
from firebell.core.naming import adjectives, animals
from firebell.core.serialization import dump_event
from firebell.core.store import EventStore

from bench.report import RESULTS_DIR

__all__ = [
    "GENERATOR_VERSION",
    "PLUGINS",
    "START",
    "cached_sqlite_log",
    "fill_log",
    "incident_events",
    "incident_name",
]

#: Bump when the shape of generated logs changes, so cached ones are made again.
GENERATOR_VERSION = 1
#: The plugins every generated event was delivered to.
PLUGINS: tuple[str, ...] = ("slack", "pagerduty", "notion", "statuspage")
#: When the first generated incident was declared.
START = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
_SPACING = timedelta(minutes=10)
_STEP = timedelta(minutes=3)
_CHUNK_INCIDENTS = 1000

_TITLES = (
    "Checkout returns 502 for a share of card payments",
    "Search latency above 2 s in eu-west",
    "Login emails delayed by up to 20 minutes",
    "Mobile app cannot load the order history",
    "Webhooks to partners failing with timeouts",
)
_UPDATE = (
    "Rolled back the 14:02 deploy of payments-api; error rate is falling, watching the "
    "dashboards for another 15 minutes before calling it."
)


def incident_name(index: int) -> str:
    """The name of generated incident ``index`` (unique for every index below 10**7)."""
    adjective, animal = adjectives(), animals()
    declared = START + _SPACING * index
    first = adjective[index % len(adjective)]
    second = animal[(index // len(adjective)) % len(animal)]
    return f"{declared:%Y%m%d}-{first}-{second}"


def incident_events(index: int, count: int) -> list[tuple[Event, datetime, str, str | None]]:
    """The events of generated incident ``index``: payload, time, actor, idempotency key."""
    name = incident_name(index)
    declared = START + _SPACING * index
    reporter = f"U{index:09d}"
    channel = f"C{index:09d}"
    base = "https://firebell-bench.slack.com"
    shaped: list[tuple[Event, str, str | None]] = [
        (
            IncidentCreated(
                name,
                _TITLES[index % len(_TITLES)],
                "Customers report failed payments; the 5xx rate of payments-api is 4%.",
                "SEV2",
                reporter,
                index % 3 == 0,
                "slack",
            ),
            reporter,
            f"slack-view:V{index:010d}",
        ),
        (
            ResourceLinked(
                "slack", "channel", channel, f"{base}/archives/{channel}", f"#incd-{name}"
            ),
            "plugin:slack",
            f"link:slack:channel:{channel}",
        ),
        (
            ResourceLinked(
                "slack",
                "slack-summary",
                f"{channel}/1717228800.000100",
                f"{base}/archives/{channel}/p1717228800000100",
                "Incident summary",
            ),
            "plugin:slack",
            None,
        ),
        (
            ResourceLinked(
                "pagerduty",
                "pager-incident",
                f"Q{index:013d}",
                f"https://acme.pagerduty.com/incidents/Q{index:013d}",
                f"[{name}] paged",
            ),
            "plugin:pagerduty",
            None,
        ),
        (
            ResourceLinked(
                "notion",
                "document",
                f"{index:032x}",
                f"https://www.notion.so/{index:032x}",
                f"Post-mortem: {name}",
            ),
            "plugin:notion",
            None,
        ),
        (StatusUpdatePosted(_UPDATE, False), reporter, None),
        (CommanderAssigned(f"U{index + 1:09d}", None), reporter, None),
        (SeverityChanged("SEV2", "SEV1"), f"U{index + 1:09d}", None),
        (StatusUpdatePosted("Error rate back to normal; monitoring.", True), reporter, None),
    ]
    # The most recent fifth stays open; the rest were resolved.
    last: Event = (
        StatusUpdatePosted("Still watching.", False)
        if index % 5 == 0
        else IncidentResolved("Rolled back payments-api 2.14.0.")
    )
    shaped.append((last, reporter, None))
    while len(shaped) < count:
        shaped.append((StatusUpdatePosted(_UPDATE, False), reporter, None))
    return [
        (event, declared + _STEP * offset, actor, key)
        for offset, (event, actor, key) in enumerate(shaped[:count])
    ]


_EVENT_COLUMNS = (
    "position",
    "incident_id",
    "version",
    "event_type",
    "schema_version",
    "data",
    "occurred_at",
    "actor",
    "causation_id",
)
_DELIVERY_COLUMNS = (
    "position",
    "plugin",
    "incident_id",
    "event_type",
    "status",
    "attempts",
    "next_attempt_at",
    "updated_at",
)
_COMMAND_COLUMNS = ("idempotency_key", "incident_id", "first_position", "last_position")

Row = tuple[Any, ...]


def _stored_time(moment: datetime, *, postgres: bool) -> Any:
    """``moment`` as :class:`~firebell.core.schema.UTCDateTime` binds it for the dialect."""
    if postgres:
        return moment
    # SQLAlchemy's SQLite DATETIME storage format, naive UTC.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _chunks(total_events: int, per_incident: int, *, postgres: bool) -> Iterator[list[Row]]:
    """Rows of the events table, a thousand incidents at a time, in time order within a chunk."""
    incidents = -(-total_events // per_incident)
    position = 0
    for first in range(0, incidents, _CHUNK_INCIDENTS):
        batch: list[tuple[datetime, int, str, int, Event, str, str | None]] = []
        for index in range(first, min(first + _CHUNK_INCIDENTS, incidents)):
            name = incident_name(index)
            for version, (event, at, actor, key) in enumerate(
                incident_events(index, per_incident), start=1
            ):
                batch.append((at, index, name, version, event, actor, key))
        batch.sort(key=lambda item: (item[0], item[1]))
        rows: list[Row] = []
        for at, _index, name, version, event, actor, key in batch:
            position += 1
            if position > total_events:
                break
            stored_at = _stored_time(at, postgres=postgres)
            rows.append(
                (
                    position,
                    name,
                    version,
                    event.type,
                    event.schema_version,
                    dump_event(event),
                    stored_at,
                    actor,
                    key,
                )
            )
        yield rows


def _insert_sql(table: str, columns: Sequence[str], *, postgres: bool) -> str:
    marks = ", ".join(["%s" if postgres else "?"] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def fill_log(
    store: EventStore,
    total_events: int,
    *,
    per_incident: int = 10,
    plugins: Sequence[str] = PLUGINS,
) -> int:
    """Append ``total_events`` generated events (with outbox rows and keys) to an empty log.

    Returns the number of incidents. Rows go in with the driver's ``executemany``, bypassing
    :meth:`EventStore.insert_events` (which is measured elsewhere) and SQLAlchemy's per-value
    type processing (values are bound exactly as :class:`UTCDateTime` would bind them); the read
    model is not built.
    """
    postgres = store.is_postgres
    incidents: set[str] = set()
    with store.engine.connect() as plain:
        if not postgres:
            # A bulk load: indexes stay in memory instead of thrashing SQLite's 2 MB page cache.
            plain.exec_driver_sql("PRAGMA cache_size = -524288")
            plain.commit()
        _fill(plain, store, total_events, per_incident, plugins, incidents)
    return len(incidents)


def _fill(
    plain: sa.Connection,
    store: EventStore,
    total_events: int,
    per_incident: int,
    plugins: Sequence[str],
    incidents: set[str],
) -> None:
    postgres = store.is_postgres
    insert_event = _insert_sql("events", _EVENT_COLUMNS, postgres=postgres)
    insert_delivery = _insert_sql("deliveries", _DELIVERY_COLUMNS, postgres=postgres)
    insert_command = _insert_sql("commands", _COMMAND_COLUMNS, postgres=postgres)
    connection = plain.execution_options(firebell_write=True)
    with connection.begin():
        for rows in _chunks(total_events, per_incident, postgres=postgres):
            connection.exec_driver_sql(insert_event, rows)
            outbox = [
                (position, plugin, name, kind, "done", 1, at, at)
                for position, name, _v, kind, _s, _d, at, _a, _k in rows
                for plugin in plugins
            ]
            connection.exec_driver_sql(insert_delivery, outbox)
            keyed = [
                (key, name, position, position)
                for position, name, version, _t, _s, _d, _at, _a, key in rows
                if version == 1 and key is not None
            ]
            if keyed:
                connection.exec_driver_sql(insert_command, keyed)
            incidents.update(row[1] for row in rows)
        if postgres:
            # Explicit positions leave the identity sequence behind; later appends need it ahead.
            connection.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('events', 'position'), "
                    "(SELECT max(position) FROM events))"
                )
            )


def cached_sqlite_log(total_events: int, *, per_incident: int = 10) -> tuple[Path, bool]:
    """An SQLite log of ``total_events`` generated events with its read model built.

    Returns its path and whether it was made now (False: reused from an earlier run). The read
    model is rebuilt by :meth:`EventStore.rebuild_read_model` when the log is made.
    """
    folder = RESULTS_DIR / "data"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"log-{total_events}-{per_incident}-v{GENERATOR_VERSION}.db"
    if path.exists():
        return path, False
    partial = path.with_suffix(f".partial-{os.getpid()}.db")
    for leftover in folder.glob(f"{partial.name}*"):
        leftover.unlink()
    store = EventStore(f"sqlite:///{partial}")
    try:
        store.create_tables()
        fill_log(store, total_events, per_incident=per_incident)
        store.rebuild_read_model()
        with store.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    return path, True
