"""Opening the database: SQLite (the embedded default) or PostgreSQL, chosen by the URL.

SQLite runs in WAL mode with a busy timeout; writers take the write lock up front with
``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from firebell.core.driver_sql import DriverCursor
from firebell.core.errors import DatabaseUnavailable
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, OperationalError

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "CONNECT_TIMEOUT_SECONDS",
    "create_database_engine",
    "database_errors",
    "redact_url",
]

BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0


def redact_url(url: str) -> str:
    """The database URL with any password hidden, for messages and logs."""
    return sa.make_url(url).render_as_string(hide_password=True)


def create_database_engine(
    url: str,
    *,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
) -> sa.Engine:
    """An SQLAlchemy engine for ``url``; creates the folder of an SQLite file when missing.

    ``busy_timeout`` is how long a writer waits for another's lock (SQLite's busy timeout,
    PostgreSQL's ``lock_timeout``) before giving up with :class:`DatabaseUnavailable`;
    ``connect_timeout`` how long a PostgreSQL server may take to answer a new connection.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
    engine = sa.create_engine(
        parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
    )
    if parsed.get_backend_name() == "postgresql":

        @sa_event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # A writer stuck behind a hung process's lock gives up, as on SQLite.
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {int(busy_timeout * 1000)}")
            dbapi_connection.commit()

    return engine


def _sqlite_engine(url: sa.URL, busy_timeout: float) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout})

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions would defer the lock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _enable_wal(cursor, busy_timeout)
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # On the driver's cursor: SQLAlchemy's execute path costs more than the BEGIN itself.
        write = connection.get_execution_options().get("firebell_write")
        cursor = DriverCursor(connection)
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN", ())
        cursor.close()

    return engine


def _enable_wal(cursor: Any, busy_timeout: float) -> None:
    # Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
    # locked" at once (no busy handler) while another process is switching it or creating the
    # tables: processes starting together on a new log wait their turn here instead.
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + random.random() * 0.04)


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn driver errors for an unreachable or locked database into :class:`DatabaseUnavailable`."""
    try:
        yield
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"The event log at {redact_url(url)} cannot be reached or is locked "
            f"({_first_line(error)}). Nothing was written; try again in a moment."
        ) from error
    except DBAPIError as error:
        if error.connection_invalidated:
            raise DatabaseUnavailable(
                f"The connection to {redact_url(url)} was lost ({_first_line(error)}). "
                "Nothing was written; try again in a moment."
            ) from error
        raise


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
