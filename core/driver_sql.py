"""SQL run on the driver's own cursor: the statements an append runs, and BEGIN.

An append runs six to eight small statements in one transaction. Through SQLAlchemy's execute
path (compiled-statement look-up, bind and result processing, events, a result object) each costs
several times what SQLite takes to run it, so the append runs them on the DBAPI cursor of its
SQLAlchemy connection instead (:class:`DriverCursor`), inside the same transaction: plain SQL in
the driver's parameter style (``?`` for sqlite3, ``%s`` for psycopg), with times bound exactly as
the schema's :class:`~firebell.core.schema.UTCDateTime` binds them (:class:`AppendSql`). Driver
errors go through SQLAlchemy's own handling, so callers get the same ``IntegrityError``,
``OperationalError`` and invalidated connections as from ``connection.execute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NoReturn

import attrs
import sqlalchemy as sa
from firebell.core.schema import stored_utc

__all__ = ["AppendSql", "DriverCursor"]

_EVENT_COLUMNS = (
    "incident_id, version, event_type, schema_version, data, occurred_at, actor, causation_id"
)
_INCIDENT_COLUMNS = (
    "id, version, title, severity, state, commander, declared_at, updated_at, last_position, data"
)
# An event may change any column of the incident's row but its id and declared_at.
_INCIDENT_CHANGES = (
    "version = ?, title = ?, severity = ?, state = ?, commander = ?, updated_at = ?, "
    "last_position = ?, data = ?"
)
_DELIVERY_COLUMNS = (
    "position, plugin, incident_id, event_type, status, attempts, next_attempt_at, updated_at"
)


@attrs.frozen
class AppendSql:
    """An append's statements for one database (:meth:`for_dialect`), and how it binds times.

    Each statement's parameters are positional, in the order of its placeholders.
    """

    sqlite: bool
    #: idempotency_key -> incident_id, first_position, last_position
    select_command: str
    #: id -> data
    select_incident: str
    #: an events row (``_EVENT_COLUMNS``); on PostgreSQL it returns the position, on SQLite the
    #: cursor's ``lastrowid`` is the position
    insert_event: str
    #: incident_id, first version, last version -> positions in version order
    select_positions: str
    #: an incidents row (``_INCIDENT_COLUMNS``)
    insert_incident: str
    #: the changed columns (``_INCIDENT_CHANGES``), then the id
    update_incident: str
    #: kind, external_id, plugin
    delete_resource: str
    #: kind, external_id, plugin, incident_id, url
    insert_resource: str
    #: a deliveries row (``_DELIVERY_COLUMNS``)
    insert_delivery: str
    #: idempotency_key, incident_id, first_position, last_position
    insert_command: str

    @classmethod
    def for_dialect(cls, name: str) -> AppendSql:
        """The statements for SQLAlchemy's dialect ``name`` (``sqlite`` or ``postgresql``)."""
        sqlite = name == "sqlite"

        def sql(text: str) -> str:
            return text if sqlite else text.replace("?", "%s")

        insert_event = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        return cls(
            sqlite=sqlite,
            select_command=sql(
                "SELECT incident_id, first_position, last_position FROM commands "
                "WHERE idempotency_key = ?"
            ),
            select_incident=sql("SELECT data FROM incidents WHERE id = ?"),
            insert_event=sql(insert_event if sqlite else f"{insert_event} RETURNING position"),
            select_positions=sql(
                "SELECT position FROM events WHERE incident_id = ? AND version BETWEEN ? AND ? "
                "ORDER BY version"
            ),
            insert_incident=sql(
                f"INSERT INTO incidents ({_INCIDENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            update_incident=sql(f"UPDATE incidents SET {_INCIDENT_CHANGES} WHERE id = ?"),
            delete_resource=sql(
                "DELETE FROM resources WHERE kind = ? AND external_id = ? AND plugin = ?"
            ),
            insert_resource=sql(
                "INSERT INTO resources (kind, external_id, plugin, incident_id, url) "
                "VALUES (?, ?, ?, ?, ?)"
            ),
            insert_delivery=sql(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            insert_command=sql(
                "INSERT INTO commands (idempotency_key, incident_id, first_position, "
                "last_position) VALUES (?, ?, ?, ?)"
            ),
        )

    def bind_time(self, moment: datetime) -> Any:
        """``moment`` as :class:`~firebell.core.schema.UTCDateTime` binds it: on SQLite the text
        SQLAlchemy's ``DateTime`` stores (naive UTC, ``2026-06-01 09:00:00.000000``), on
        PostgreSQL the aware UTC datetime. A naive ``moment`` raises ``StatementError``, as
        through SQLAlchemy."""
        try:
            utc = stored_utc(moment, naive=self.sqlite)
        except ValueError as error:
            raise sa.exc.StatementError(str(error), None, None, error) from error
        return utc.isoformat(" ", "microseconds") if self.sqlite else utc


class DriverCursor:
    """The DBAPI cursor of ``connection``, inside its transaction, with SQLAlchemy's errors."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._cursor = connection.connection.cursor()

    def execute(self, statement: str, parameters: Sequence[Any]) -> Any:
        """Run ``statement``; returns the DBAPI cursor (for ``fetchone``, ``lastrowid``)."""
        try:
            self._cursor.execute(statement, parameters)
        except BaseException as error:
            self._raise(error, statement, parameters)
        return self._cursor

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``statement`` once for each of ``rows`` (nothing when there are none)."""
        if not rows:
            return
        try:
            self._cursor.executemany(statement, rows)
        except BaseException as error:
            self._raise(error, statement, rows)

    def close(self) -> None:
        """Close the cursor (the connection and its transaction stay)."""
        self._cursor.close()

    def _raise(self, error: BaseException, statement: str, parameters: Any) -> NoReturn:
        # What connection.execute does with a driver error, by the very method it calls
        # (private, but the one place that wraps the error in SQLAlchemy's class for it, runs
        # the handle_error hooks and invalidates a lost connection and its pool): it raises.
        self._connection._handle_dbapi_exception(error, statement, parameters, self._cursor, None)
