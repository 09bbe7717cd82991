"""The event log and its read model, behind a small interface with verb_noun methods.

Appends are atomic: the events, the idempotency key, the incident's row in the read model, its
linked resources and the outbox rows for every subscribed plugin are written in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from firebell.core.database import (
    create_database_engine,
    database_errors,
    postgres_write_problem,
    redact_url,
    sqlite_write_problem,
    write_turn,
)
from firebell.core.driver_sql import AppendSql, DriverCursor
from firebell.core.errors import ConcurrencyConflict, IncidentNotFound
from firebell.core.events import Event, RecordedEvent, ResourceLinked
from firebell.core.incident import Incident, IncidentState, apply
from firebell.core.rebuild import rebuild_read_model
from firebell.core.schema import commands, events, incidents, resources
from firebell.core.serialization import converter, dump_event, load_event
from firebell.core.subscribers import Subscribers, as_subscribers
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from firebell.core.migrations import SchemaUpgrade

__all__ = ["AppendResult", "EventStore", "row_to_event"]

# PostgreSQL hands out identity values before commit, so two writers could commit out of order
# and a reader following positions would skip one. Appends take this transaction-scoped lock.
_PG_APPEND_LOCK = 0x0F1EBE11
# From this offset on, list_incidents seeks the page through the declared_at index.
_DEEP_OFFSET = 1000
# Statements built once (an append runs its own on the driver's cursor: core/driver_sql.py).
_SELECT_INCIDENT_DATA = sa.select(incidents.c.data).where(incidents.c.id == sa.bindparam("id"))
_SELECT_COMMAND = sa.select(commands).where(commands.c.idempotency_key == sa.bindparam("key"))
_PG_LOCK = sa.select(sa.func.pg_advisory_xact_lock(_PG_APPEND_LOCK))
_SELECT_ONE = sa.text("SELECT 1")
# Plan each search for its own text, in this transaction only (see count_incidents).
_CUSTOM_PLANS = sa.text("SET LOCAL plan_cache_mode = force_custom_plan")


@attrs.frozen
class AppendResult:
    """What an append wrote (or, for a repeated idempotency key, what the first one wrote)."""

    events: tuple[RecordedEvent, ...]
    incident: Incident
    duplicate: bool = False


def row_to_event(row: Any) -> RecordedEvent:
    """A row of the ``events`` table as a :class:`RecordedEvent`."""
    return RecordedEvent(
        incident_id=row.incident_id,
        version=row.version,
        position=row.position,
        occurred_at=row.occurred_at,
        actor=row.actor,
        causation_id=row.causation_id,
        data=load_event(row.event_type, row.schema_version, row.data),
    )


def _incident_from_json(data: str) -> Incident:
    return converter.structure(json.loads(data), Incident)


def _incident_row(incident: Incident) -> dict[str, Any]:
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


def _incident_filters(
    state: IncidentState | None, severity: str | None, search: str | None, *, postgres: bool
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if state is not None:
        conditions.append(incidents.c.state == state.value)
    if severity is not None:
        conditions.append(incidents.c.severity == severity)
    if search:
        # The text is matched as typed: % and _ are not wildcards.
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        # SQLite's LIKE ignores ASCII case already (as its lower() does), and twice as fast
        # without lower(); PostgreSQL's LIKE is case-sensitive, its ILIKE is not.
        columns = (incidents.c.id, incidents.c.title)
        conditions.append(
            sa.or_(
                *(
                    column.ilike(pattern, escape="\\")
                    if postgres
                    else column.like(pattern, escape="\\")
                    for column in columns
                )
            )
        )
    return conditions


class EventStore:
    """The append-only event log with its read model, on SQLite or PostgreSQL."""

    def __init__(self, url: str, *, engine: sa.Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_database_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._sql = AppendSql.for_dialect(self.engine.dialect.name)

    def create_tables(self) -> None:
        """Make the log ready: a new one is created at the newest schema revision.

        An older SQLite log is upgraded; an older PostgreSQL log raises
        :class:`~firebell.core.errors.DatabaseOutOfDate` until ``firebell db upgrade`` ran (see
        :mod:`firebell.core.migrations`). Runs in a write transaction so that processes starting
        together on a new log take turns (a plain ``create_all`` checks, then creates, and the
        loser fails with "locked").
        """
        from firebell.core.migrations import prepare_schema

        with self.write() as connection:
            prepare_schema(connection, upgrade=not self.is_postgres, where=redact_url(self.url))

    def upgrade_schema(self) -> SchemaUpgrade:
        """Upgrade the log to the newest schema revision (``firebell db upgrade``)."""
        from firebell.core.migrations import upgrade_schema

        with self.write() as connection:
            return upgrade_schema(connection)

    def schema_revision(self) -> str | None:
        """The schema revision the log is stamped with (None: empty or from before revisions)."""
        from firebell.core.migrations import schema_revision

        with self.read() as connection:
            return schema_revision(connection)

    def write_problem(self) -> str | None:
        """Why a write would fail now, from a cheap look that writes nothing; else None.

        PostgreSQL: a standby or read-only transactions (one query); SQLite: the file, its
        ``-wal``/``-shm`` or its folder not writable. The look reads the database too, so an
        unreachable one raises :class:`~firebell.core.errors.DatabaseUnavailable` as usual.
        For ``firebell doctor`` and ``/healthz``.
        """
        if not self.is_postgres:
            problem = sqlite_write_problem(self.engine.url.database or "")
            if problem is not None:
                return problem
        with self.read() as connection:
            if self.is_postgres:
                return postgres_write_problem(connection, redact_url(self.url))
            connection.execute(_SELECT_ONE)
        return None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def write(self, *, append: bool = True, background: bool = False) -> Iterator[sa.Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite, the append lock on PostgreSQL).

        ``append=False`` skips PostgreSQL's append lock, for transactions that append no events
        and rely on row locks instead (outbox claims, so that processes claim side by side).
        On SQLite, the process's writers take turns (:func:`~firebell.core.database.write_turn`);
        ``background`` ones (the delivery worker's) let the others waiting go first.
        """
        with (
            database_errors(self.url),
            write_turn(self.engine, background=background),
            self.engine.connect() as plain,
        ):
            connection = plain.execution_options(firebell_write=True)
            with connection.begin():
                if self.is_postgres and append:
                    connection.execute(_PG_LOCK)
                yield connection

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read transaction."""
        with database_errors(self.url), self.engine.connect() as connection, connection.begin():
            yield connection

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
        current = _incident_from_json(found[0]) if found is not None else None
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
        row = _incident_row(incident)
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

    # -- reading ---------------------------------------------------------------------------

    def select_incident_in(self, connection: sa.Connection, incident_id: str) -> Incident | None:
        """The incident's current state, read inside the caller's transaction."""
        data = connection.execute(_SELECT_INCIDENT_DATA, {"id": incident_id}).scalar()
        return _incident_from_json(data) if data is not None else None

    def get_incident(self, incident_id: str) -> Incident | None:
        """The incident's current state from the read model, or None."""
        with self.read() as connection:
            return self.select_incident_in(connection, incident_id)

    def find_incident_by_resource(self, kind: str, external_id: str) -> Incident | None:
        """The incident a linked resource (e.g. a Slack channel id) belongs to, or None."""
        with self.read() as connection:
            incident_id = connection.execute(
                sa.select(resources.c.incident_id)
                .where(resources.c.kind == kind, resources.c.external_id == external_id)
                .limit(1)
            ).scalar()
            return self.select_incident_in(connection, incident_id) if incident_id else None

    def list_incidents(
        self,
        *,
        state: IncidentState | None = None,
        severity: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Incident]:
        """Incidents from the read model, newest first."""
        conditions = _incident_filters(state, severity, search, postgres=self.is_postgres)
        with self.read() as connection:
            if offset >= _DEEP_OFFSET:
                # Skipping rows one by one reads each from the table; the declared_at index finds
                # the page's first time without touching them, and only ties are skipped below.
                boundary = connection.execute(
                    sa.select(incidents.c.declared_at)
                    .where(*conditions)
                    .order_by(incidents.c.declared_at.desc())
                    .limit(1)
                    .offset(offset)
                ).scalar()
                if boundary is None:
                    return []
                newer = connection.execute(
                    sa.select(sa.func.count())
                    .select_from(incidents)
                    .where(*conditions, incidents.c.declared_at > boundary)
                ).scalar_one()
                conditions = [*conditions, incidents.c.declared_at <= boundary]
                offset -= int(newer)
            query = (
                sa.select(incidents.c.data)
                .where(*conditions)
                .order_by(incidents.c.declared_at.desc(), incidents.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [_incident_from_json(data) for data in connection.execute(query).scalars()]

    def count_incidents(
        self,
        *,
        state: IncidentState | None = None,
        severity: str | None = None,
        search: str | None = None,
        limit: int | None = None,
    ) -> int:
        """How many incidents the read model holds (those :meth:`list_incidents` would list).

        With ``limit``, no more than ``limit``: the count stops reading once it has found that
        many, so a search matching most incidents costs ``limit`` rows, not the whole table (a
        caller wanting to know whether there are more than N asks for ``limit=N + 1``).
        """
        conditions = _incident_filters(state, severity, search, postgres=self.is_postgres)
        if limit is None:
            query = sa.select(sa.func.count()).select_from(incidents).where(*conditions)
        else:
            found = (
                sa.select(sa.literal_column("1"))
                .select_from(incidents)
                .where(*conditions)
                .limit(max(0, limit))
                .subquery()
            )
            query = sa.select(sa.func.count()).select_from(found)
        with self.read() as connection:
            version = connection.dialect.server_version_info or ()
            if search and self.is_postgres and version >= (12,):
                # psycopg prepares a statement run five times, and PostgreSQL then plans it once
                # for any text: a bitmap scan of the trigram indexes, which reads every match
                # however few are counted (24 ms for 10,001 of 100,000). Planned for its text, a
                # common one is a table scan that stops at the limit (10 ms), a rare one the same
                # bitmap scan as before.
                connection.execute(_CUSTOM_PLANS)
            return int(connection.execute(query).scalar_one())

    def select_events(
        self, incident_id: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """Events in log order: one incident's, or the whole log's after position ``after``."""
        query = sa.select(events).where(events.c.position > after).order_by(events.c.position)
        if incident_id is not None:
            query = query.where(events.c.incident_id == incident_id)
        if limit is not None:
            query = query.limit(limit)
        with self.read() as connection:
            return [row_to_event(row) for row in connection.execute(query)]

    def iter_events(self, *, batch_size: int = 5000) -> Iterator[RecordedEvent]:
        """Every event of the log in position order, read in batches."""
        after = 0
        while True:
            batch = self.select_events(after=after, limit=batch_size)
            if not batch:
                return
            yield from batch
            after = batch[-1].position

    def count_events(self) -> int:
        """How many events the log holds."""
        with self.read() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
            )

    # -- rebuilding ------------------------------------------------------------------------

    def rebuild_read_model(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the incidents and resources tables from the log; returns the events read.

        Runs in one write transaction, so readers see the old model until the new one is whole
        (on PostgreSQL with the search's trigram indexes, they wait for the last part, the
        writing: those indexes are dropped and made again, see
        :func:`~firebell.core.search_indexes.drop_trigram_indexes`).
        ``progress`` is called with the number of events read so far, every batch. How it folds
        the log fast and still as :func:`~firebell.core.incident.apply` does:
        :mod:`firebell.core.rebuild`.
        """
        with self.write() as connection:
            return rebuild_read_model(connection, progress)
