"""Opening the database: SQLite (the embedded default) or PostgreSQL, chosen by the URL.

SQLite runs in WAL mode with a busy timeout; writers take the write lock up front with
``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock. The threads of one
process take turns at that lock in a queue of their own (:func:`write_turn`), so only other
processes ever wait in SQLite's busy handler. What a driver's error means, in words whoever runs
Firebell can act on, is :mod:`firebell.core.database_errors` (its names import from here too).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from firebell.core.database_errors import (
    database_errors,
    postgres_write_problem,
    redact_url,
    sqlite_write_problem,
    unavailable_message,
)
from firebell.core.driver_sql import DriverCursor
from firebell.core.errors import ConfigError, DatabaseUnavailable, DatabaseUnusable
from sqlalchemy import event as sa_event
from sqlalchemy.exc import ArgumentError

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "CONNECT_TIMEOUT_SECONDS",
    "WriteQueue",
    "create_database_engine",
    "database_errors",
    "database_url_problem",
    "postgres_write_problem",
    "redact_url",
    "sqlite_write_problem",
    "write_turn",
]

BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0


_URL_FORMS = "sqlite:///path/to/firebell.db or postgresql://user:password@host/database"


def database_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as the event log's URL (a sentence to show), or None.

    Firebell runs on SQLite (``sqlite:///file``, the built-in driver) and on PostgreSQL through
    psycopg (``postgresql://`` or ``postgresql+psycopg://``); nothing is connected to here.
    """
    shown = repr(redact_url(url))
    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return f"{shown} is not a database URL; write it like {_URL_FORMS}"
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if parsed.host:
            return (
                f"{shown} names a host, which SQLite has not; write sqlite:///relative/path.db "
                "or sqlite:////absolute/path.db (three or four slashes)"
            )
        if _in_memory(parsed):
            # SQLAlchemy renders ':memory:' percent-encoded; show it as it was written.
            written = shown if parsed.password else repr(url)
            return (
                f"{written} is an in-memory SQLite database, which loses every incident when "
                "the process ends; give a file path: sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db"
            )
        return None
    if backend == "postgresql" and driver in ("", "psycopg"):
        return None
    if backend == "postgresql":
        return (
            f"{shown} asks for the driver {driver!r}; Firebell talks to PostgreSQL through "
            "psycopg: write postgresql://… (or postgresql+psycopg://…)"
        )
    if backend == "postgres":
        return f"{shown}: write postgresql://… instead of postgres://…"
    return (
        f"{shown} is a {backend} URL; only sqlite:// and postgresql:// are supported ({_URL_FORMS})"
    )


def _in_memory(parsed: sa.URL) -> bool:
    database = parsed.database or ""
    if database in ("", ":memory:"):
        return True
    return database.startswith("file:") and (
        database.startswith("file::memory:") or parsed.query.get("mode") == "memory"
    )


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

    A URL Firebell cannot use (:func:`database_url_problem`), or PostgreSQL without psycopg
    installed, raises :class:`~firebell.core.errors.ConfigError`.
    """
    problem = database_url_problem(url)
    if problem is not None:
        raise ConfigError(f"database_url (or FIREBELL_DATABASE_URL): {problem}.")
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
    try:
        engine = sa.create_engine(
            parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
        )
    except ImportError as error:
        raise ConfigError(
            f"database_url (or FIREBELL_DATABASE_URL) is a PostgreSQL URL, but its driver is "
            f"not installed ({error}); install it: pip install 'firebell[postgres]'."
        ) from None

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # A writer stuck behind a hung process's lock gives up, as on SQLite.
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(busy_timeout * 1000)}")
        dbapi_connection.commit()

    return engine


class WriteQueue:
    """The threads of one process taking turns at an SQLite file's write lock.

    SQLite's busy handler polls a held lock, sleeping 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50,
    100 ms between looks, so a waiting writer may sleep on long after the lock was freed: under
    a burst of declarations beside the delivery worker, waits of 50 to 300 ms with the lock idle
    for 40 to 50% of them. Writers of one process wait here instead, each woken as soon as the
    one before it is done. Foreground writers (commands, whose answer to a person waits for the
    append) go before background ones (the delivery worker's claims and records); each kind
    first come, first served.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._busy = False
        self._foreground: deque[threading.Lock] = deque()
        self._background: deque[threading.Lock] = deque()

    def acquire(self, timeout: float, *, background: bool = False) -> bool:
        """Wait up to ``timeout`` seconds for the turn; whether it was given."""
        with self._mutex:
            if not self._busy:
                self._busy = True
                return True
            # A lock of its own, held until release() hands the turn over by releasing it.
            baton = threading.Lock()
            baton.acquire()
            waiting = self._background if background else self._foreground
            waiting.append(baton)
        if baton.acquire(timeout=max(timeout, 0.0)):
            return True
        with self._mutex:
            if baton in waiting:
                waiting.remove(baton)
                return False
        return True  # handed the turn just as the wait ran out

    def release(self) -> None:
        """End the turn: hand it to the next writer waiting, if any."""
        with self._mutex:
            waiting = self._foreground or self._background
            if waiting:
                waiting.popleft().release()  # the turn passes on: still busy
            else:
                self._busy = False


# One queue per SQLite file in this process (engines on the same file share it), and for each
# engine its queue and busy timeout.
_queues: dict[str, WriteQueue] = {}
_queues_lock = threading.Lock()
_engine_queues: weakref.WeakKeyDictionary[sa.Engine, tuple[WriteQueue, float]] = (
    weakref.WeakKeyDictionary()
)


def _forget_queues() -> None:
    # A forked child has only the thread that forked: turns held by the others never end there.
    global _queues_lock
    _queues_lock = threading.Lock()
    _queues.clear()
    _engine_queues.clear()


os.register_at_fork(after_in_child=_forget_queues)


def _queue_for(path: str) -> WriteQueue:
    key = os.path.realpath(os.path.expanduser(path))
    with _queues_lock:
        queue = _queues.get(key)
        if queue is None:
            queue = _queues[key] = WriteQueue()
        return queue


@contextmanager
def write_turn(engine: sa.Engine, *, background: bool = False) -> Iterator[None]:
    """Hold this process's turn at the write lock of ``engine``'s SQLite file (else nothing).

    Wrap a whole write transaction, commit included. The wait is bounded by the engine's busy
    timeout and ends in :class:`DatabaseUnavailable`, as a lock held too long by another
    process does. A ``background`` writer lets every foreground writer waiting go first.
    """
    entry = _engine_queues.get(engine)
    if entry is None:
        yield
        return
    queue, timeout = entry
    if not queue.acquire(timeout, background=background):
        raise DatabaseUnavailable(unavailable_message(str(engine.url), "database is locked"))
    try:
        yield
    finally:
        queue.release()


def _sqlite_engine(url: sa.URL, busy_timeout: float) -> sa.Engine:
    if url.database and url.database != ":memory:":
        folder = Path(url.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnusable(
                f"Cannot create the folder {folder} for the event log {url.database} "
                f"({error.strerror or error}). Create it, or set database_url (or "
                "FIREBELL_DATABASE_URL) to a file in a folder Firebell may write."
            ) from error
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout})
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        _engine_queues[engine] = (_queue_for(url.database), busy_timeout)

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
