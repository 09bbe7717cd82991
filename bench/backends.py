"""The databases the event-log part runs on, and the raw driver baselines beside Firebell.

A :class:`Backend` makes new, empty event logs (tables created by Firebell's own
``create_tables``, so Firebell and the baseline write the very same schema) and opens a
:class:`RawLog` on one: the driver alone (``sqlite3`` with Firebell's pragmas, or ``psycopg``)
doing the same inserts and scans with no SQLAlchemy, cattrs or Firebell in between.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from firebell.core.database import BUSY_TIMEOUT_SECONDS
from firebell.core.store import EventStore
from sqlalchemy.pool import NullPool

__all__ = ["Backend", "PostgresBackend", "RawLog", "SqliteBackend", "postgres_url"]

#: A row of the events table without its position: incident_id, version, event_type,
#: schema_version, data, occurred_at (as the driver binds it), actor, causation_id.
EventRow = tuple[str, int, str, int, str, Any, str, str | None]
#: What a scan hands its rows to, a batch at a time.
Consume = Callable[[Sequence[Any]], None]

_COLUMNS = (
    "incident_id, version, event_type, schema_version, data, occurred_at, actor, causation_id"
)
_SCAN_COLUMNS = f"position, {_COLUMNS}"
_DELIVERY_COLUMNS = (
    "position, plugin, incident_id, event_type, status, attempts, next_attempt_at, updated_at"
)


class RawLog(Protocol):
    """The driver alone on an event log: the baselines of the event-log part."""

    def insert_event(self, row: EventRow) -> None:
        """Insert one event row in a transaction of its own."""

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        """Insert ``rows`` with ``executemany`` in one transaction."""

    def insert_like_firebell(
        self, row: EventRow, incident_data: str, plugins: Sequence[str]
    ) -> None:
        """In one transaction, the SQL an append does: read the incident's row, insert the
        event, update the incident's row, insert one outbox row per plugin."""

    def scan(self, consume: Consume | None = None) -> int:
        """Read every event row in position order, handing each batch to ``consume``; returns
        how many. A row is (position, incident_id, version, event_type, schema_version, data,
        occurred_at as the driver returns it, actor, causation_id)."""

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
        self, row: EventRow, incident_data: str, plugins: Sequence[str]
    ) -> None:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("SELECT data FROM incidents WHERE id = ?", (row[0],)).fetchone()
        position = cursor.execute(self.insert_sql + " RETURNING position", row).fetchone()[0]
        cursor.execute(
            "UPDATE incidents SET version = ?, updated_at = ?, last_position = ?, data = ? "
            "WHERE id = ?",
            (row[1], row[5], position, incident_data, row[0]),
        )
        cursor.executemany(
            f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(position, p, row[0], row[2], "pending", 0, row[5], row[5]) for p in plugins],
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
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds")

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
        self, row: EventRow, incident_data: str, plugins: Sequence[str]
    ) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT data FROM incidents WHERE id = %s", (row[0],))
            cursor.fetchone()
            cursor.execute(self.insert_sql + " RETURNING position", row)
            fetched = cursor.fetchone()
            assert fetched is not None
            position = fetched[0]
            cursor.execute(
                "UPDATE incidents SET version = %s, updated_at = %s, last_position = %s, "
                "data = %s WHERE id = %s",
                (row[1], row[5], position, incident_data, row[0]),
            )
            cursor.executemany(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(position, p, row[0], row[2], "pending", 0, row[5], row[5]) for p in plugins],
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
        return moment

    def cleanup(self) -> None:
        """Close the admin connections."""
        self.admin.dispose()
