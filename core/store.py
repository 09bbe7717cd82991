"""The event log and its read model, behind a small interface with verb_noun methods.

Appends are atomic: the events, the idempotency key, the incident's row in the read model, its
linked resources and the outbox rows for every subscribed plugin are written in one transaction.

:class:`EventStore` is made in parts, each in its own module: the database and its transactions
(:mod:`firebell.core.store_transactions`), the reads (:mod:`firebell.core.store_queries`) and the
appends (:mod:`firebell.core.store_appends`); this module makes the log ready, upgrades and
rebuilds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from firebell.core.database import postgres_write_problem, redact_url, sqlite_write_problem
from firebell.core.rebuild import rebuild_read_model
from firebell.core.store_appends import AppendResult, StoreAppends
from firebell.core.store_queries import row_to_event

if TYPE_CHECKING:
    from firebell.core.migrations import SchemaUpgrade

__all__ = ["AppendResult", "EventStore", "row_to_event"]

_SELECT_ONE = sa.text("SELECT 1")


class EventStore(StoreAppends):
    """The append-only event log with its read model, on SQLite or PostgreSQL."""

    def create_tables(self) -> None:
        """Make the log ready: a new one is created at the newest schema revision.

        An older SQLite log is upgraded; an older PostgreSQL log raises
        :class:`~firebell.core.errors.DatabaseOutOfDate` until ``firebell db upgrade`` ran (see
        :mod:`firebell.core.migrations`). Runs in a write transaction so that processes starting
        together on a new log take turns (a plain ``create_all`` checks, then creates, and the
        loser fails with "locked").
        """
        from firebell.core.migrations import prepare_schema

        with self.write() as connection:
            prepare_schema(connection, upgrade=not self.is_postgres, where=redact_url(self.url))

    def upgrade_schema(self) -> SchemaUpgrade:
        """Upgrade the log to the newest schema revision (``firebell db upgrade``)."""
        from firebell.core.migrations import upgrade_schema

        with self.write() as connection:
            return upgrade_schema(connection)

    def schema_revision(self) -> str | None:
        """The schema revision the log is stamped with (None: empty or from before revisions)."""
        from firebell.core.migrations import schema_revision

        with self.read() as connection:
            return schema_revision(connection)

    def write_problem(self) -> str | None:
        """Why a write would fail now, from a cheap look that writes nothing; else None.

        PostgreSQL: a standby or read-only transactions (one query); SQLite: the file, its
        ``-wal``/``-shm`` or its folder not writable. The look reads the database too, so an
        unreachable one raises :class:`~firebell.core.errors.DatabaseUnavailable` as usual.
        For ``firebell doctor`` and ``/healthz``.
        """
        if not self.is_postgres:
            problem = sqlite_write_problem(self.engine.url.database or "")
            if problem is not None:
                return problem
        with self.read() as connection:
            if self.is_postgres:
                return postgres_write_problem(connection, redact_url(self.url))
            connection.execute(_SELECT_ONE)
        return None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- rebuilding ------------------------------------------------------------------------

    def rebuild_read_model(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the incidents and resources tables from the log; returns the events read.

        Runs in one write transaction, so readers see the old model until the new one is whole
        (on PostgreSQL with the search's trigram indexes, they wait for the last part, the
        writing: those indexes are dropped and made again, see
        :func:`~firebell.core.search_indexes.drop_trigram_indexes`).
        ``progress`` is called with the number of events read so far, every batch. How it folds
        the log fast and still as :func:`~firebell.core.incident.apply` does:
        :mod:`firebell.core.rebuild`.
        """
        with self.write() as connection:
            return rebuild_read_model(connection, progress)
