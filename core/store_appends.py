"""Appending to the event log: the writes of the event store.

Appends are atomic: the events, the idempotency key, the incident's row in the read model, its
linked resources and the outbox rows for every subscribed plugin are written in one transaction.
A command repeated with the same idempotency key gets the first one's result, and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa
from firebell.core.driver_sql import DriverCursor
from firebell.core.errors import ConcurrencyConflict, IncidentNotFound
from firebell.core.events import Event, RecordedEvent, ResourceLinked
from firebell.core.incident import Incident, apply
from firebell.core.schema import commands, events
from firebell.core.serialization import converter, dump_event
from firebell.core.store_queries import StoreQueries, incident_from_json, row_to_event
from firebell.core.subscribers import Subscribers, as_subscribers
from sqlalchemy.exc import IntegrityError

__all__ = ["AppendResult", "StoreAppends", "incident_row"]

# Statements built once (an append runs its own on the driver's cursor: core/driver_sql.py).
_SELECT_COMMAND = sa.select(commands).where(commands.c.idempotency_key == sa.bindparam("key"))


@attrs.frozen
class AppendResult:
    """What an append wrote (or, for a repeated idempotency key, what the first one wrote)."""

    events: tuple[RecordedEvent, ...]
    incident: Incident
    duplicate: bool = False


def incident_row(incident: Incident) -> dict[str, Any]:
    """The read model's row of ``incident`` (the ``incidents`` table), as appends write it."""
    return {
        "id": incident.id,
        "version": incident.version,
        "title": incident.title,
        "severity": incident.severity,
        "state": incident.state.value,
        "commander": incident.commander,
        "declared_at": incident.declared_at,
        "updated_at": incident.updated_at,
        "last_position": incident.last_position,
        "data": json.dumps(converter.unstructure(incident), separators=(",", ":")),
    }


class StoreAppends(StoreQueries):
    """The appends of an :class:`~firebell.core.store.EventStore` (an append reads too: the
    incident's state, and for a repeated idempotency key what the first one wrote)."""

    # -- appending -------------------------------------------------------------------------

    def insert_events(
        self,
        incident_id: str,
        new_events: Sequence[Event],
        *,
        actor: str,
        occurred_at: datetime,
        expected_version: int | None,
        idempotency_key: str | None = None,
        subscribers: Subscribers | Sequence[str] = (),
    ) -> AppendResult:
        """Append ``new_events`` to the incident's stream in one transaction.

        ``expected_version`` is the version the caller decided on (0 for a new incident); when
        another writer got there first, :class:`ConcurrencyConflict` is raised and nothing is
        written. ``None`` appends at the end whatever the version (for plugin records). When
        ``idempotency_key`` is already in the log, nothing is written and the earlier result is
        returned with ``duplicate=True``. ``subscribers`` get one outbox row per event (see
        :mod:`firebell.core.subscribers`).
        """
        try:
            with self.write() as connection:
                return self.insert_events_in(
                    connection,
                    incident_id,
                    new_events,
                    actor=actor,
                    occurred_at=occurred_at,
                    expected_version=expected_version,
                    idempotency_key=idempotency_key,
                    subscribers=subscribers,
                )
        except IntegrityError as error:
            if idempotency_key is not None:
                earlier = self.select_command_result(idempotency_key)
                if earlier is not None:
                    return earlier
            raise ConcurrencyConflict(
                f"{incident_id} was changed by someone else at the same moment; "
                "the command will be tried again on the new state."
            ) from error

    def insert_events_in(
        self,
        connection: sa.Connection,
        incident_id: str,
        new_events: Sequence[Event],
        *,
        actor: str,
        occurred_at: datetime,
        expected_version: int | None,
        idempotency_key: str | None = None,
        subscribers: Subscribers | Sequence[str] = (),
    ) -> AppendResult:
        """:meth:`insert_events` inside the caller's write transaction."""
        cursor = DriverCursor(connection)
        try:
            return self._append(
                connection,
                cursor,
                incident_id,
                new_events,
                actor=actor,
                occurred_at=occurred_at,
                expected_version=expected_version,
                idempotency_key=idempotency_key,
                subscribers=subscribers,
            )
        finally:
            cursor.close()

    def _append(
        self,
        connection: sa.Connection,
        cursor: DriverCursor,
        incident_id: str,
        new_events: Sequence[Event],
        *,
        actor: str,
        occurred_at: datetime,
        expected_version: int | None,
        idempotency_key: str | None,
        subscribers: Subscribers | Sequence[str],
    ) -> AppendResult:
        sql = self._sql
        if (
            idempotency_key is not None
            and cursor.execute(sql.select_command, (idempotency_key,)).fetchone() is not None
        ):
            earlier = self._command_result(connection, idempotency_key)
            if earlier is not None:
                return earlier
        found = cursor.execute(sql.select_incident, (incident_id,)).fetchone()
        current = incident_from_json(found[0]) if found is not None else None
        version = current.version if current else 0
        if expected_version is not None and expected_version != version:
            raise ConcurrencyConflict(
                f"{incident_id} is at version {version}, not {expected_version}: "
                "someone else changed it at the same moment."
            )
        # Bound once for every row (with no events to write, a naive time is not refused).
        at = sql.bind_time(occurred_at) if new_events else None
        rows = [
            (
                incident_id,
                version + offset,
                data.type,
                data.schema_version,
                dump_event(data),
                at,
                actor,
                idempotency_key,
            )
            for offset, data in enumerate(new_events, start=1)
        ]
        positions = self._insert_event_rows(cursor, rows)
        recorded: list[RecordedEvent] = []
        incident = current
        for offset, (data, position) in enumerate(zip(new_events, positions, strict=True), 1):
            event = RecordedEvent(
                incident_id, version + offset, position, occurred_at, actor, idempotency_key, data
            )
            recorded.append(event)
            incident = apply(incident, event)
        if incident is None:
            raise IncidentNotFound(f"no events to append to {incident_id}")
        self._save_incident(cursor, incident, is_new=current is None, times=(occurred_at, at))
        self._save_resources(cursor, recorded)
        self._insert_deliveries(cursor, recorded, subscribers, at)
        if idempotency_key is not None and recorded:
            cursor.execute(
                sql.insert_command,
                (idempotency_key, incident_id, recorded[0].position, recorded[-1].position),
            )
        return AppendResult(tuple(recorded), incident)

    def _insert_event_rows(self, cursor: DriverCursor, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Insert the events rows (of one incident, versions in order); their positions."""
        sql = self._sql
        if not rows:
            return []
        if len(rows) == 1:
            done = cursor.execute(sql.insert_event, rows[0])
            return [done.lastrowid if sql.sqlite else done.fetchone()[0]]
        cursor.executemany(sql.insert_event, rows)
        # The versions are this append's alone (the write lock is held, and the unique stream
        # version refuses anyone else's), so they find exactly the rows just inserted.
        incident_id, first, last = rows[0][0], rows[0][1], rows[-1][1]
        done = cursor.execute(sql.select_positions, (incident_id, first, last))
        return [position for (position,) in done.fetchall()]

    def _save_incident(
        self,
        cursor: DriverCursor,
        incident: Incident,
        *,
        is_new: bool,
        times: tuple[datetime, Any],
    ) -> None:
        """Insert or update the incident's row; ``times`` is the append's time and its bound
        value, which its updated_at (and a new incident's declared_at) usually is."""
        sql = self._sql
        row = incident_row(incident)
        occurred_at, at = times

        def bind(moment: datetime) -> Any:
            return at if moment is occurred_at else sql.bind_time(moment)

        updated_at = bind(row["updated_at"])
        if is_new:
            cursor.execute(
                sql.insert_incident,
                (
                    row["id"],
                    row["version"],
                    row["title"],
                    row["severity"],
                    row["state"],
                    row["commander"],
                    bind(row["declared_at"]),
                    updated_at,
                    row["last_position"],
                    row["data"],
                ),
            )
        else:
            cursor.execute(
                sql.update_incident,
                (
                    row["version"],
                    row["title"],
                    row["severity"],
                    row["state"],
                    row["commander"],
                    updated_at,
                    row["last_position"],
                    row["data"],
                    row["id"],
                ),
            )

    def _save_resources(self, cursor: DriverCursor, recorded: Sequence[RecordedEvent]) -> None:
        sql = self._sql
        for event in recorded:
            data = event.data
            if not isinstance(data, ResourceLinked):
                continue
            key = (data.kind, data.external_id, data.plugin)
            cursor.execute(sql.delete_resource, key)
            cursor.execute(sql.insert_resource, (*key, event.incident_id, data.url))

    def _insert_deliveries(
        self,
        cursor: DriverCursor,
        recorded: Sequence[RecordedEvent],
        subscribers: Subscribers | Sequence[str],
        at: Any,
    ) -> None:
        """One outbox row per event and subscriber, pending unless the subscriber has no hook
        for the event; ``at`` is the bound time."""
        plugins = as_subscribers(subscribers)
        cursor.executemany(
            self._sql.insert_delivery,
            [
                (event.position, plugin, event.incident_id, event.type, status, 0, at, at)
                for event in recorded
                for plugin, status in plugins.statuses(event.type)
            ],
        )

    # -- idempotency -----------------------------------------------------------------------

    def select_command_result(self, idempotency_key: str) -> AppendResult | None:
        """What the command with ``idempotency_key`` appended, or None if it never ran."""
        with self.read() as connection:
            return self._command_result(connection, idempotency_key)

    def _command_result(self, connection: sa.Connection, key: str) -> AppendResult | None:
        row = connection.execute(_SELECT_COMMAND, {"key": key}).first()
        if row is None:
            return None
        rows = connection.execute(
            sa.select(events)
            .where(events.c.position.between(row.first_position, row.last_position))
            .where(events.c.incident_id == row.incident_id)
            .order_by(events.c.position)
        ).all()
        incident = self.select_incident_in(connection, row.incident_id)
        assert incident is not None, f"read model lost {row.incident_id}"
        return AppendResult(tuple(row_to_event(r) for r in rows), incident, duplicate=True)
