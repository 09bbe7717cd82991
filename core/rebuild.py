"""Rebuilding the read model (the incidents and resources tables) from the whole event log.

What an event does to an incident is defined once, by :func:`firebell.core.incident.apply`, which
commands use. A rebuild reads every event of the log, and decoding each into a
:class:`RecordedEvent` (cattrs) and a new frozen :class:`Incident` costs several times reading it,
so the rebuild folds another way to the same rows:

- rows come from the driver's cursor as the driver returns them: on SQLite ``occurred_at`` stays
  the stored text, turned into an incident's JSON only where the incident keeps it, at the end;
- each incident is a *draft* of its JSON form (what the converter makes of an :class:`Incident`,
  which the read model stores), changed in place by one *step* per event type from the event's
  decoded payload (:mod:`firebell.core.rebuild_steps`), and written as it is;
- whatever has no step as it was written (an event type or schema version added later, a payload
  not in the shape :func:`dump_event` writes) goes the exact way: the incident is structured from
  its draft, the event decoded by :func:`load_event` and applied by :func:`apply`, and the draft
  made again from the result. Errors are therefore the same as well.

``tests/core/test_fold.py`` checks that both ways make the same rows, for every event type and for
generated logs; ``tests/contract/test_rebuild_contract.py`` that a rebuild writes what the appends
wrote, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from firebell.core.events import IncidentCreated, RecordedEvent, ResourceLinked
from firebell.core.incident import Incident, apply
from firebell.core.rebuild_steps import (
    CREATED_VERSION,
    STEPS,
    TIME_FIELDS,
    Draft,
    FoldState,
    StoredTimes,
    new_draft,
)
from firebell.core.schema import events, incidents, resources
from firebell.core.search_indexes import create_trigram_indexes, drop_trigram_indexes
from firebell.core.serialization import converter, load_event

__all__ = ["DraftFold", "rebuild_read_model"]

# Events read per query, and rows per executemany when the read model is written.
_READ_BATCH = 20000
_WRITE_BATCH = 5000
# The columns of a row as DraftFold.add takes them, and of the rows it makes.
_EVENT_COLUMNS = (
    "position",
    "incident_id",
    "version",
    "occurred_at",
    "actor",
    "causation_id",
    "event_type",
    "schema_version",
    "data",
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
_RESOURCE_COLUMNS = ("kind", "external_id", "plugin", "incident_id", "url")
_decode = json.JSONDecoder().raw_decode


def rebuild_read_model(
    connection: sa.Connection, progress: Callable[[int], None] | None = None
) -> int:
    """Rebuild the incidents and resources tables from the log; returns the events read.

    Runs in the caller's write transaction. ``progress`` is called with the number of events
    read so far, every batch.
    """
    fold = DraftFold(connection.dialect)
    psycopg = connection.dialect.driver == "psycopg"
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None, "the rebuild's connection is closed"
    # The driver's own cursors: SQLAlchemy's per-row result processing cost as much as the
    # fold. On PostgreSQL a server-side cursor, which streams the log (a query per batch took
    # 1.6 times as long).
    reader = (
        dbapi_connection.cursor(name="firebell_rebuild") if psycopg else dbapi_connection.cursor()
    )
    count = 0
    try:
        reader.execute(
            f"SELECT {', '.join(_names(events, _EVENT_COLUMNS))} FROM {events.name} "
            "ORDER BY position"
        )
        while rows := reader.fetchmany(_READ_BATCH):
            fold.add(rows)
            count += len(rows)
            if progress is not None:
                progress(count)
    finally:
        reader.close()
    incident_rows, resource_rows = fold.incident_rows(), fold.resource_rows()
    # Dropped only now, when the fold is done: readers wait for the table from here on.
    dropped = drop_trigram_indexes(connection)
    connection.execute(incidents.delete())
    connection.execute(resources.delete())
    writer = dbapi_connection.cursor()
    try:
        _insert(writer, connection.dialect, incidents, _INCIDENT_COLUMNS, incident_rows)
        _insert(writer, connection.dialect, resources, _RESOURCE_COLUMNS, resource_rows)
    finally:
        writer.close()
    if dropped:
        create_trigram_indexes(connection)
    return count


def _mark(dialect: sa.Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _names(table: sa.Table, columns: Sequence[str]) -> list[str]:
    # table.c[...] refuses a name the table does not have.
    return [table.c[name].name for name in columns]


def _insert(
    cursor: Any,
    dialect: sa.Dialect,
    table: sa.Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
) -> None:
    names = ", ".join(_names(table, columns))
    if dialect.driver == "psycopg":
        # COPY takes the rows in a stream: executemany ran a statement a row (40,000 resources
        # of a 100,000-event log: 550 ms against 240 ms).
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join([_mark(dialect)] * len(columns))
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    for start in range(0, len(rows), _WRITE_BATCH):
        cursor.executemany(statement, rows[start : start + _WRITE_BATCH])


class DraftFold:
    """The incidents and resources rows a whole log builds, read in position order.

    :meth:`add` takes rows of the events table as ``dialect``'s driver returns them: ``position,
    incident_id, version, occurred_at, actor, causation_id, event_type, schema_version, data``.
    The rows it makes hold values as that driver binds them.
    """

    def __init__(self, dialect: sa.Dialect) -> None:
        self._state = FoldState(StoredTimes(dialect))
        self._drafts: dict[str, Draft] = {}

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        """Fold ``rows`` (the log's next rows, in position order) into the incidents."""
        drafts, state, decode = self._drafts, self._state, _decode
        for row in rows:
            position, incident_id, version, at, actor, _, event_type, schema_version, payload = row
            draft = drafts.get(incident_id)
            if draft is not None:
                step = STEPS.get((event_type, schema_version))
                if step is not None:
                    # raw_decode, not json.loads (three times the cost here); a payload it does
                    # not read whole (spaces around it, or not JSON) goes the exact way.
                    try:
                        data, end = decode(payload)
                    except (TypeError, ValueError):
                        end = -1
                    if (
                        end == len(payload)
                        and type(data) is dict
                        and step(draft, data, at, actor, state)
                    ):
                        draft["version"] = version
                        draft["updated_at"] = at
                        draft["last_position"] = position
                        continue
            elif event_type == IncidentCreated.type and schema_version == CREATED_VERSION:
                try:
                    data, end = decode(payload)
                except (TypeError, ValueError):
                    end = -1
                if end == len(payload) and type(data) is dict:
                    created = new_draft(incident_id, version, position, at, data)
                    if created is not None:
                        drafts[incident_id] = created
                        continue
            self._add_exactly(row)

    def incident_rows(self) -> list[tuple[Any, ...]]:
        """The incidents table's rows, in the order the incidents were created."""
        to_json, to_column = self._state.times.to_json, self._state.times.to_column
        # json.dumps(data, separators=(",", ":")) as store_appends.py's incident_row writes it,
        # with one encoder for all.
        encode = json.JSONEncoder(separators=(",", ":")).encode
        rows = []
        for draft in self._drafts.values():
            data = dict(draft)
            for name in TIME_FIELDS:
                stored = draft[name]
                if stored is not None:
                    data[name] = to_json(stored)
            rows.append(
                (
                    draft["id"],
                    draft["version"],
                    draft["title"],
                    draft["severity"],
                    draft["state"],
                    draft["commander"],
                    to_column(draft["declared_at"]),
                    to_column(draft["updated_at"]),
                    draft["last_position"],
                    encode(data),
                )
            )
        return rows

    def resource_rows(self) -> list[tuple[Any, ...]]:
        """The resources table's rows: ``kind, external_id, plugin, incident_id, url``."""
        return list(self._state.linked.values())

    def incidents(self) -> list[Incident]:
        """Every incident built so far, in the order of their creation."""
        return [self._incident(draft) for draft in self._drafts.values()]

    # -- the exact way -------------------------------------------------------------------------

    def _add_exactly(self, row: Sequence[Any]) -> None:
        position, incident_id, version, at, actor, causation_id, event_type, schema, payload = row
        data = load_event(event_type, schema, payload)
        recorded = RecordedEvent(
            incident_id, version, position, self._state.times.read(at), actor, causation_id, data
        )
        draft = self._drafts.get(incident_id)
        incident = apply(None if draft is None else self._incident(draft), recorded)
        self._drafts[incident_id] = self._draft(incident)
        if isinstance(data, ResourceLinked):
            key = (data.kind, data.external_id, data.plugin)
            self._state.linked[key] = (*key, incident_id, data.url)

    def _incident(self, draft: Draft) -> Incident:
        data = dict(draft)
        for name in TIME_FIELDS:
            if draft[name] is not None:
                data[name] = self._state.times.to_json(draft[name])
        return converter.structure(data, Incident)

    def _draft(self, incident: Incident) -> Draft:
        draft: Draft = converter.unstructure(incident)
        draft["state"] = incident.state.value
        for name in TIME_FIELDS:
            moment = getattr(incident, name)
            draft[name] = None if moment is None else self._state.times.write(moment)
        return draft
