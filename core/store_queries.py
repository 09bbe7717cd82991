"""Reading the event log and its read model: the queries of the event store.

An incident by id or by a linked resource, incidents listed, counted and searched from the read
model (never by replaying the log), and events in log order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from firebell.core.events import RecordedEvent
from firebell.core.incident import Incident, IncidentState
from firebell.core.schema import events, incidents, resources
from firebell.core.serialization import converter, load_event
from firebell.core.store_transactions import StoreTransactions

__all__ = ["StoreQueries", "incident_from_json", "row_to_event"]

# From this offset on, list_incidents seeks the page through the declared_at index.
_DEEP_OFFSET = 1000
# Statements built once.
_SELECT_INCIDENT_DATA = sa.select(incidents.c.data).where(incidents.c.id == sa.bindparam("id"))
# Plan each search for its own text, in this transaction only (see count_incidents).
_CUSTOM_PLANS = sa.text("SET LOCAL plan_cache_mode = force_custom_plan")


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


def incident_from_json(data: str) -> Incident:
    """An incident as the read model stores it (its ``data`` column) as an :class:`Incident`."""
    return converter.structure(json.loads(data), Incident)


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


class StoreQueries(StoreTransactions):
    """The reads of an :class:`~firebell.core.store.EventStore`: its read model and its log."""

    def select_incident_in(self, connection: sa.Connection, incident_id: str) -> Incident | None:
        """The incident's current state, read inside the caller's transaction."""
        data = connection.execute(_SELECT_INCIDENT_DATA, {"id": incident_id}).scalar()
        return incident_from_json(data) if data is not None else None

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
            return [incident_from_json(data) for data in connection.execute(query).scalars()]

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
