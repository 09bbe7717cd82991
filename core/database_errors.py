"""What a database error means for whoever runs Firebell, in words they can act on.

:func:`database_errors` turns driver errors into Firebell's: :class:`DatabaseUnavailable` for
what may pass (a server restarting, a lock held too long) and :class:`DatabaseUnusable` for what
will not without someone (a full disk, a read-only file, a refused login), each saying what to
do. :func:`sqlite_write_problem` and :func:`postgres_write_problem` look, before anything is
written, for why writes would fail.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from firebell.core.errors import DatabaseUnavailable, DatabaseUnusable
from firebell.core.files import not_writable_reason
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

__all__ = [
    "database_errors",
    "postgres_write_problem",
    "redact_url",
    "sqlite_write_problem",
    "unavailable_message",
]

_URL_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")


def redact_url(url: str) -> str:
    """The database URL with any password hidden, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _URL_PASSWORD.sub(r"\1:***@", url)


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
            raise DatabaseUnavailable(unavailable_message(url, _first_line(error))) from error
        if error.connection_invalidated:
            raise DatabaseUnavailable(
                f"The connection to {redact_url(url)} was lost ({_first_line(error)}). "
                "Nothing was written; try again in a moment."
            ) from error
        raise


def unavailable_message(url: str, detail: str) -> str:
    """Why the log cannot be used right now, and that nothing was written."""
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
