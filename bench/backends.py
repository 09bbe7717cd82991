"""The databases the event-log part runs on, and the raw driver baselines beside Firebell.

A :class:`Backend` makes new, empty event logs (tables created by Firebell's own
``create_tables``, so Firebell and the baseline write the very same schema) and opens a
:class:`RawLog` on one: the driver alone (``sqlite3`` with Firebell's pragmas, or ``psycopg``)
doing the same inserts and scans with no SQLAlchemy, cattrs or Firebell in between.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from firebell.core.database import BUSY_TIMEOUT_SECONDS
from firebell.core.schema import incidents, resources
from firebell.core.store import EventStore
from firebell.core.store_transactions import _PG_APPEND_LOCK
from sqlalchemy.pool import NullPool

__all__ = [
    "Backend",
    "HandEvent",
    "PostgresBackend",
    "RawLog",
    "SqliteBackend",
    "append_by_hand",
    "postgres_url",
]

#: A row of the events table without its position: incident_id, version, event_type,
#: schema_version, data, occurred_at (as the driver binds it), actor, causation_id.
EventRow = tuple[str, int, str, int, str, Any, str, str | None]
#: An event as an append by hand is given it: its type, schema version and payload.
HandEvent = tuple[str, int, dict[str, Any]]
#: What a scan hands its rows to, a batch at a time.
Consume = Callable[[Sequence[Any]], None]

_COLUMNS = (
    "incident_id, version, event_type, schema_version, data, occurred_at, actor, causation_id"
)
_SCAN_COLUMNS = f"position, {_COLUMNS}"
_DELIVERY_COLUMNS = (
    "position, plugin, incident_id, event_type, status, attempts, next_attempt_at, updated_at"
)
# The read model's tables and their columns, in the order the rebuild writes them.
_READ_MODEL = [(table.name, ", ".join(table.c.keys())) for table in (incidents, resources)]
_INCIDENT_SET = (
    "version = ?, title = ?, severity = ?, state = ?, commander = ?, updated_at = ?, "
    "last_position = ?, data = ?"
)


def append_by_hand(
    cursor: Any,
    mark: str,
    stream: str,
    expected_version: int,
    new_events: Sequence[HandEvent],
    moment: datetime,
    actor: str,
    key: str | None,
    plugins: Sequence[str],
    *,
    bind_time: Callable[[datetime], Any],
    last_rowid: bool,
) -> list[int]:
    """What :meth:`EventStore.insert_events_in` does, with the driver's ``cursor`` alone
    (``mark``: its parameter mark) inside the caller's transaction; returns the positions.

    Given what an append is given (``new_events`` of ``StatusUpdatePosted`` for the incident
    ``stream`` at ``expected_version``, their time ``moment`` and ``actor``, the idempotency
    ``key``, the subscribed ``plugins``), it runs the same statements in the same order and does
    the same work, on plain data where Firebell has objects: the key looked up; the incident's
    row read, its JSON decoded (Firebell: into an ``Incident``, with cattrs) and its version
    checked; each payload encoded and the time bound (``bind_time``); the events inserted (one
    ``INSERT``, or an ``executemany`` and a read of their positions; ``last_rowid``: a single
    event's position is the cursor's ``lastrowid``, as on SQLite, else ``RETURNING``); the state
    changed as ``apply`` changes it for a status update, encoded and written; the outbox rows;
    the key's row.
    """

    def sql(text: str) -> str:
        return text.replace("?", mark)

    if key is not None:
        cursor.execute(
            sql(
                "SELECT incident_id, first_position, last_position FROM commands "
                "WHERE idempotency_key = ?"
            ),
            (key,),
        )
        if cursor.fetchone() is not None:
            raise RuntimeError(f"idempotency key {key!r} is in the log already")
    cursor.execute(sql("SELECT data FROM incidents WHERE id = ?"), (stream,))
    fetched = cursor.fetchone()
    assert fetched is not None, f"no incident {stream}"
    state = json.loads(fetched[0])
    if state["version"] != expected_version:
        raise RuntimeError(f"{stream} is at version {state['version']}, not {expected_version}")
    at = bind_time(moment)
    rows = [
        (
            stream,
            expected_version + offset,
            event_type,
            schema_version,
            json.dumps(payload, separators=(",", ":"), sort_keys=True),
            at,
            actor,
            key,
        )
        for offset, (event_type, schema_version, payload) in enumerate(new_events, start=1)
    ]
    insert = sql(f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    if len(rows) == 1 and last_rowid:
        cursor.execute(insert, rows[0])
        positions = [cursor.lastrowid]
    elif len(rows) == 1:
        cursor.execute(insert + " RETURNING position", rows[0])
        positions = [cursor.fetchone()[0]]
    else:
        cursor.executemany(insert, rows)
        cursor.execute(
            sql(
                "SELECT position FROM events WHERE incident_id = ? AND version BETWEEN ? AND ? "
                "ORDER BY version"
            ),
            (stream, rows[0][1], rows[-1][1]),
        )
        positions = [position for (position,) in cursor.fetchall()]
    moment_text = moment.isoformat()  # as Firebell's converter writes a UTC time
    for row, position in zip(rows, positions, strict=True):
        state["version"] = row[1]
        state["updated_at"] = moment_text
        state["last_position"] = position
        state["last_update_at"] = moment_text
        state["first_update_at"] = state["first_update_at"] or moment_text
    cursor.execute(
        sql(f"UPDATE incidents SET {_INCIDENT_SET} WHERE id = ?"),
        (
            state["version"],
            state["title"],
            state["severity"],
            state["state"],
            state["commander"],
            at,
            state["last_position"],
            json.dumps(state, separators=(",", ":")),
            stream,
        ),
    )
    cursor.executemany(
        sql(f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
        [
            (position, plugin, stream, row[2], "pending", 0, at, at)
            for row, position in zip(rows, positions, strict=True)
            for plugin in plugins
        ],
    )
    if key is not None:
        cursor.execute(
            sql(
                "INSERT INTO commands (idempotency_key, incident_id, first_position, "
                "last_position) VALUES (?, ?, ?, ?)"
            ),
            (key, stream, positions[0], positions[-1]),
        )
    return positions


def _sqlite_time(moment: datetime) -> str:
    """A UTC time as Firebell binds it on SQLite: naive UTC text."""
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def _postgres_time(moment: datetime) -> datetime:
    """A UTC time as Firebell binds it on PostgreSQL: the aware datetime."""
    return moment


class RawLog(Protocol):
    """The driver alone on an event log: the baselines of the event-log part."""

    def insert_event(self, row: EventRow) -> None:
        """Insert one event row in a transaction of its own."""

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        """Insert ``rows`` with ``executemany`` in one transaction."""

    def insert_like_firebell(
        self,
        stream: str,
        expected_version: int,
        new_events: Sequence[HandEvent],
        moment: datetime,
        actor: str,
        key: str | None,
        plugins: Sequence[str],
    ) -> None:
        """In one transaction, what an append of ``new_events`` does, by hand: see
        :func:`append_by_hand`."""

    def scan(self, consume: Consume | None = None) -> int:
        """Read every event row in position order, handing each batch to ``consume``; returns
        how many. A row is (position, incident_id, version, event_type, schema_version, data,
        occurred_at as the driver returns it, actor, causation_id)."""

    def rewrite_read_model(self) -> float:
        """Delete the read model's rows and write them back as they were, in one transaction,
        as a rebuild writes them (``executemany`` on SQLite, ``COPY`` on PostgreSQL) but with
        no fold at all; returns the seconds from the delete to the commit."""

    def close(self) -> None:
        """Close the connection."""


class Backend(Protocol):
    """A database to run the event-log part on."""

    name: str

    def new_log(self) -> AbstractContextManager[str]:
        """A new, empty event log (tables created); yields its URL, removes it afterwards."""

    def raw(self, url: str) -> RawLog:
        """The driver alone on the log at ``url``."""

    def bind_time(self, moment: Any) -> Any:
        """A timestamp as Firebell binds it on this database."""


# -- SQLite -------------------------------------------------------------------------------------


class _SqliteRaw:
    def __init__(self, path: str) -> None:
        # The pragmas Firebell sets on every connection (firebell.core.database).
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.insert_sql = f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

    def insert_event(self, row: EventRow) -> None:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(self.insert_sql, row)
        cursor.execute("COMMIT")

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(self.insert_sql, rows)
        cursor.execute("COMMIT")

    def insert_like_firebell(
        self,
        stream: str,
        expected_version: int,
        new_events: Sequence[HandEvent],
        moment: datetime,
        actor: str,
        key: str | None,
        plugins: Sequence[str],
    ) -> None:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        append_by_hand(
            cursor,
            "?",
            stream,
            expected_version,
            new_events,
            moment,
            actor,
            key,
            plugins,
            bind_time=_sqlite_time,
            last_rowid=True,
        )
        cursor.execute("COMMIT")

    def scan(self, consume: Consume | None = None) -> int:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN")
        cursor.execute(f"SELECT {_SCAN_COLUMNS} FROM events ORDER BY position")
        count = 0
        while True:
            rows = cursor.fetchmany(20000)
            if not rows:
                break
            if consume is not None:
                consume(rows)
            count += len(rows)
        cursor.execute("COMMIT")
        return count

    def rewrite_read_model(self) -> float:
        cursor = self.connection.cursor()
        tables = [
            (table, columns, cursor.execute(f"SELECT {columns} FROM {table}").fetchall())
            for table, columns in _READ_MODEL
        ]
        started = time.perf_counter()
        cursor.execute("BEGIN IMMEDIATE")
        for table, _, _ in tables:
            cursor.execute(f"DELETE FROM {table}")
        for table, columns, rows in tables:
            marks = ", ".join("?" * len(columns.split(", ")))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        cursor.execute("COMMIT")
        return time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


class SqliteBackend:
    """SQLite files in a temporary folder."""

    name = "SQLite"

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="firebell-bench-"))

    @contextmanager
    def new_log(self) -> Iterator[str]:
        path = self.folder / f"{uuid.uuid4().hex[:12]}.db"
        url = f"sqlite:///{path}"
        store = EventStore(url)
        store.create_tables()
        store.dispose()
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def raw(self, url: str) -> RawLog:
        database = sa.make_url(url).database
        assert database is not None
        return _SqliteRaw(database)

    def bind_time(self, moment: Any) -> Any:
        return _sqlite_time(moment)

    def cleanup(self) -> None:
        """Remove the temporary folder."""
        shutil.rmtree(self.folder, ignore_errors=True)


# -- PostgreSQL ---------------------------------------------------------------------------------


def postgres_url(*, start: bool = True) -> tuple[str | None, str]:
    """A PostgreSQL server's URL and where it came from, or None and why there is none.

    ``$FIREBELL_BENCH_POSTGRES_URL`` or ``$FIREBELL_TEST_POSTGRES_URL`` first; then, with
    ``start``, the throwaway server of ``scripts/postgres start`` (which installs PostgreSQL when
    it is missing and it may).
    """
    import os
    import subprocess

    for variable in ("FIREBELL_BENCH_POSTGRES_URL", "FIREBELL_TEST_POSTGRES_URL"):
        given = os.environ.get(variable, "").strip()
        if given:
            return given, variable
    if not start:
        return None, "no FIREBELL_BENCH_POSTGRES_URL (a smoke run does not start a server)"
    script = Path(__file__).resolve().parent.parent / "scripts" / "postgres"
    try:
        done = subprocess.run(
            [str(script), "start"], capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"scripts/postgres start failed: {error}"
    url = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not url:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"scripts/postgres start failed: {last}"
    return url, "scripts/postgres start"


def _psycopg_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class _PostgresRaw:
    def __init__(self, url: str) -> None:
        import psycopg

        parsed = _psycopg_url(url)
        options = parsed.query.get("options")
        self.connection = psycopg.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            dbname=parsed.database,
            options=options if isinstance(options, str) else None,
        )
        self.insert_sql = f"INSERT INTO events ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"

    def insert_event(self, row: EventRow) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(self.insert_sql, row)
        self.connection.commit()

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(self.insert_sql, rows)
        self.connection.commit()

    def insert_like_firebell(
        self,
        stream: str,
        expected_version: int,
        new_events: Sequence[HandEvent],
        moment: datetime,
        actor: str,
        key: str | None,
        plugins: Sequence[str],
    ) -> None:
        with self.connection.cursor() as cursor:
            # Firebell's append lock (firebell.core.store_transactions), as every append takes it.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_APPEND_LOCK,))
            append_by_hand(
                cursor,
                "%s",
                stream,
                expected_version,
                new_events,
                moment,
                actor,
                key,
                plugins,
                bind_time=_postgres_time,
                last_rowid=False,
            )
        self.connection.commit()

    def scan(self, consume: Consume | None = None) -> int:
        count = 0
        with self.connection.cursor(name="bench_scan") as cursor:
            cursor.itersize = 20000
            cursor.execute(f"SELECT {_SCAN_COLUMNS} FROM events ORDER BY position")
            while True:
                rows = cursor.fetchmany(20000)
                if not rows:
                    break
                if consume is not None:
                    consume(rows)
                count += len(rows)
        self.connection.commit()
        return count

    def rewrite_read_model(self) -> float:
        with self.connection.cursor() as cursor:
            tables = []
            for table, columns in _READ_MODEL:
                cursor.execute(f"SELECT {columns} FROM {table}")
                tables.append((table, columns, cursor.fetchall()))
            self.connection.commit()
            started = time.perf_counter()
            for table, _, _ in tables:
                cursor.execute(f"DELETE FROM {table}")
            for table, columns, rows in tables:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        self.connection.commit()
        return time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


class PostgresBackend:
    """Schemas of their own on a PostgreSQL server, dropped afterwards."""

    name = "PostgreSQL"

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = _psycopg_url(url)
        query = {k: v for k, v in parsed.query.items() if k != "options"}
        self.admin = sa.create_engine(parsed.set(query=query), poolclass=NullPool)

    @contextmanager
    def new_log(self) -> Iterator[str]:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        url = (
            _psycopg_url(self.url)
            .update_query_dict({"options": f"-csearch_path={name}"})
            .render_as_string(hide_password=False)
        )
        try:
            store = EventStore(url)
            store.create_tables()
            store.dispose()
            yield url
        finally:
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')

    def raw(self, url: str) -> RawLog:
        return _PostgresRaw(url)

    def bind_time(self, moment: Any) -> Any:
        return _postgres_time(moment)

    def cleanup(self) -> None:
        """Close the admin connections."""
        self.admin.dispose()
