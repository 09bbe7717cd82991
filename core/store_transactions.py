"""The event log's database and its read and write transactions (the base of the event store).

Writers take turns. On SQLite a write transaction is ``BEGIN IMMEDIATE`` and the process's writers
queue for it (:func:`~firebell.core.database.write_turn`); on PostgreSQL an append takes a
transaction-scoped lock, so that positions are committed in the order they were handed out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from firebell.core.database import create_database_engine, database_errors, write_turn
from firebell.core.driver_sql import AppendSql

__all__ = ["StoreTransactions"]

# PostgreSQL hands out identity values before commit, so two writers could commit out of order
# and a reader following positions would skip one. Appends take this transaction-scoped lock.
_PG_APPEND_LOCK = 0x0F1EBE11
_PG_LOCK = sa.select(sa.func.pg_advisory_xact_lock(_PG_APPEND_LOCK))


class StoreTransactions:
    """The database an :class:`~firebell.core.store.EventStore` keeps its log in, and its
    read and write transactions."""

    def __init__(self, url: str, *, engine: sa.Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_database_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._sql = AppendSql.for_dialect(self.engine.dialect.name)

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
