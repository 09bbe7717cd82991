"""Opening the database: SQLite (the embedded default) or PostgreSQL, chosen by the URL.

SQLite runs in WAL mode with a busy timeout; writers take the write lock up front with
``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock. The threads of one
process take turns at that lock in a queue of their own (:func:`write_turn`), so only other
processes ever wait in SQLite's busy handler.
"""

from __future__ import annotations

import os
import random
import re
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
from firebell.core.driver_sql import DriverCursor
from firebell.core.errors import ConfigError, DatabaseUnavailable, DatabaseUnusable
from firebell.core.files import not_writable_reason
from sqlalchemy import event as sa_event
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

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
_URL_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")


def redact_url(url: str) -> str:
    """The database URL with any password hidden, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _URL_PASSWORD.sub(r"\1:***@", url)


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
        raise DatabaseUnavailable(_unavailable(str(engine.url), "database is locked"))
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


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn driver errors into Firebell's: :class:`DatabaseUnavailable` for what may pass
    (unreachable, locked, a lost connection), :class:`DatabaseUnusable` for what will not
    until someone acts (read-only, no such database, not a database, login refused).

    Other driver errors (an integrity error an append handles, a bug) pass unchanged.
    """
    try:
        yield
    except DBAPIError as error:
        problem = _lasting_problem(url, error)
        if problem is not None:
            raise DatabaseUnusable(problem) from error
        if isinstance(error, OperationalError):
            raise DatabaseUnavailable(_unavailable(url, _first_line(error))) from error
        if error.connection_invalidated:
            raise DatabaseUnavailable(
                f"The connection to {redact_url(url)} was lost ({_first_line(error)}). "
                "Nothing was written; try again in a moment."
            ) from error
        raise


def _unavailable(url: str, detail: str) -> str:
    return (
        f"The event log at {redact_url(url)} cannot be reached or is locked ({detail}). "
        "Nothing was written; try again in a moment."
    )


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


_MAKE_WRITABLE = (
    "Make the file, its -wal and -shm files and its folder writable by the user Firebell "
    "runs as (chmod/chown, or chattr -i if it was made immutable)."
)
# SQLite's primary result codes (the low byte of an extended code) that no retry fixes.
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26
_SQLITE_READONLY = 8
# PostgreSQL's SQLSTATEs for the same.
_PG_READ_ONLY = "25006"
_PG_NO_PRIVILEGE = "42501"
_PG_DISK_FULL = "53100"
# Refusals at connection time carry no SQLSTATE in psycopg: the server's words tell them apart.
_PG_NO_DATABASE = re.compile(r'database "[^"]*" does not exist')
_PG_LOGIN_REFUSED = re.compile(
    r'role "[^"]*" does not exist|authentication failed|no pg_hba\.conf entry'
)


def _lasting_problem(url: str, error: DBAPIError) -> str | None:
    """The message for a driver error that waiting will not cure, else None."""
    where = redact_url(url)
    detail = _first_line(error)
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", 0) & 0xFF
        path = sa.make_url(url).database or ""
        if code == _SQLITE_READONLY:
            found = _unwritable_part(path) or detail
            return (
                f"The event log {path} is read-only: {found}. Nothing was written. {_MAKE_WRITABLE}"
            )
        if code == _SQLITE_NOTADB:
            return (
                f"{path} is not an SQLite database ({detail}). Point database_url (or "
                "FIREBELL_DATABASE_URL) at Firebell's event log, or at a new file for a new log."
            )
        if code == _SQLITE_CANTOPEN:
            return _cannot_open(path, detail)
        if code == _SQLITE_CORRUPT:
            return (
                f"The event log {path} is damaged ({detail}). Restore it from a backup "
                "(docs/operations.md); nothing was written."
            )
        if code == _SQLITE_FULL:
            return (
                f"The disk holding the event log {path} is full ({detail}). Nothing was "
                "written; free some space there."
            )
        return None
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == _PG_READ_ONLY:
        return (
            f"The event log at {where} is read-only ({detail}). Nothing was written. The "
            "server is a standby, or default_transaction_read_only is on for the database or "
            "the role: point database_url at the primary, or turn it off (ALTER DATABASE … "
            "SET default_transaction_read_only = off)."
        )
    if sqlstate == _PG_NO_PRIVILEGE:
        return (
            f"The role in {where} may not do this ({detail}). Nothing was written. Connect as "
            "the role that owns Firebell's tables, or grant this one the rights on them."
        )
    if sqlstate == _PG_DISK_FULL:
        return (
            f"The PostgreSQL server of {where} is out of disk space ({detail}). Nothing was "
            "written; free some space there."
        )
    text = str(orig or error)
    if _PG_NO_DATABASE.search(text):
        return (
            f"The database in {where} does not exist ({detail}). Create it (createdb, or "
            "CREATE DATABASE), or fix database_url (or FIREBELL_DATABASE_URL)."
        )
    if _PG_LOGIN_REFUSED.search(text):
        return (
            f"The PostgreSQL server refused the login of {where} ({detail}). Check the user "
            "and password in database_url (or FIREBELL_DATABASE_URL), and the server's "
            "pg_hba.conf."
        )
    return None


def _cannot_open(path: str, detail: str) -> str | None:
    # SQLite says "unable to open database file" alike for a folder, a folder it may not write
    # and a process out of file descriptors: only the first two are lasting.
    target = Path(path).expanduser()
    if target.is_dir():
        return (
            f"{path} is a folder, not a database file. Set database_url (or "
            f"FIREBELL_DATABASE_URL) to a file, e.g. sqlite:///{(target / 'firebell.db')}."
        )
    part = _unwritable_part(path)
    if part is not None:
        return f"The event log {path} cannot be opened ({detail}): {part}. {_MAKE_WRITABLE}"
    return None


def postgres_write_problem(connection: sa.Connection, where: str) -> str | None:
    """Why the PostgreSQL server on ``connection`` would refuse writes, or None (one query).

    A standby (``pg_is_in_recovery()``) or read-only transactions (``transaction_read_only``,
    from ``default_transaction_read_only`` of the server, the database, the role or the URL).
    ``where`` names the database in the message.
    """
    standby, read_only = connection.execute(_PG_READ_ONLY_STATE).one()
    if standby:
        return (
            f"The event log at {where} is read-only: the server is a standby "
            "(pg_is_in_recovery() is true). Point database_url at the primary."
        )
    if read_only == "on":
        return (
            f"The event log at {where} is read-only: transaction_read_only is on "
            "(default_transaction_read_only, set on the server, the database, the role or in "
            "the URL's options). Turn it off, or point database_url at a writable server."
        )
    return None


_PG_READ_ONLY_STATE = sa.text(
    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"
)


def sqlite_write_problem(path: str) -> str | None:
    """Why this process could not write the SQLite log at ``path`` (a message), or None.

    A cheap look that writes nothing: the file, its ``-wal`` and ``-shm`` files and, when one of
    them is still to be created, its folder must be writable (``os.access``, which also sees
    immutable files and read-only mounts, even for root).
    """
    part = _unwritable_part(path)
    if part is None:
        return None
    if not Path(path).expanduser().exists():
        return (
            f"The event log {path} cannot be created: {part}. Make that folder writable by the "
            "user Firebell runs as, or set database_url (or FIREBELL_DATABASE_URL) to a file "
            "in a folder that is."
        )
    return f"The event log {path} is read-only: {part}. {_MAKE_WRITABLE}"


def _unwritable_part(path: str) -> str | None:
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    target = Path(path).expanduser()
    parts = (target, Path(f"{target}-wal"), Path(f"{target}-shm"))
    for part in parts:
        if part.exists() and not os.access(part, os.W_OK):
            return f"{part} cannot be written ({not_writable_reason(part)})"
    if all(part.exists() for part in parts):
        return None
    # Something is still to be created: in the folder, or in the nearest one that exists.
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        which = "its folder" if folder == target.parent else "the folder"
        return f"{which} {folder} cannot be written ({not_writable_reason(folder)})"
    return None
