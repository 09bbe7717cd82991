"""Indexes for the web console's filters and search.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

``ix_incidents_severity_declared_at`` and ``ix_incidents_state_severity_declared_at``, on both
databases: a severity filter, alone or with a state, reads its page in order and counts its
incidents from an index alone instead of reading the table.

On PostgreSQL, GIN trigram indexes (``pg_trgm``) on ``incidents.id`` and ``incidents.title`` for
the search's ``ILIKE '%text%'``. Creating the extension needs a role allowed to (a superuser, or
one with ``CREATE`` on the database) and the server's contrib package: when that fails the
upgrade goes on without the two indexes and logs a warning saying what to do (searching then
scans the table, as before). ``firebell db upgrade`` tries again when run at this revision
(:mod:`firebell.core.search_indexes`). On SQLite there is no trigram index; nothing more is done.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("firebell.schema")

# Written out here rather than imported from firebell.core: a revision describes the schema as
# it was, and must not change when the live code does.
_SEVERITY_INDEXES = {
    "ix_incidents_severity_declared_at": ["severity", "declared_at"],
    "ix_incidents_state_severity_declared_at": ["state", "severity", "declared_at"],
}
_TRIGRAM_INDEXES = {"ix_incidents_id_trgm": "id", "ix_incidents_title_trgm": "title"}
_EXTENSION_SCHEMA = sa.text(
    "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
)


def upgrade() -> None:
    """Add the severity indexes, and on PostgreSQL the trigram indexes if pg_trgm can be had."""
    for name, columns in _SEVERITY_INDEXES.items():
        op.create_index(name, "incidents", columns)
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        _add_trigram_indexes(connection)


def downgrade() -> None:
    """Drop the indexes (the pg_trgm extension stays: other things may use it)."""
    if op.get_bind().dialect.name == "postgresql":
        for name in _TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    for name in _SEVERITY_INDEXES:
        op.drop_index(name, table_name="incidents")


def _add_trigram_indexes(connection: sa.Connection) -> None:
    try:
        # A failed statement would abort the upgrade's transaction: undo to a savepoint instead.
        with connection.begin_nested():
            schema = connection.execute(_EXTENSION_SCHEMA).scalar()
            if schema is None:
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                schema = connection.execute(_EXTENSION_SCHEMA).scalar()
            for name, column in _TRIGRAM_INDEXES.items():
                connection.exec_driver_sql(
                    f"CREATE INDEX IF NOT EXISTS {name} ON incidents "
                    f"USING gin ({column} {schema}.gin_trgm_ops)"
                )
    except sa.exc.DBAPIError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        log.warning(
            "Searching incidents will scan the incidents table: the trigram indexes could "
            "not be created (%s). Have a superuser run `CREATE EXTENSION pg_trgm;` in this "
            "database (Debian and Ubuntu: the postgresql-contrib package), then run "
            "`firebell db upgrade` again to add them.",
            reason,
        )
