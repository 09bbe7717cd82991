"""PostgreSQL's trigram indexes on the incidents' names and titles, when ``pg_trgm`` can be had.

A search (``firebell list --search``, the web console's search box) matches
``ILIKE '%text%'`` on ``incidents.id`` and ``incidents.title``, which no B-tree can serve; the
GIN indexes of the ``pg_trgm`` extension can (100,000 incidents: a 170 ms scan, 2 ms through
them). Creating the extension takes a role allowed to (a superuser, or since PostgreSQL 13 one
with ``CREATE`` on the database, ``pg_trgm`` being a trusted extension), and the server's
contrib package. Without it Firebell works the same, searching by scanning the table as on
SQLite, and says so in a warning each time it creates or upgrades the log;
``firebell db upgrade`` tries again (docs/operations.md).

The indexes are not in :data:`firebell.core.schema.metadata`, since SQLite has no such index and
a server without ``pg_trgm`` none either: :func:`create_trigram_indexes` makes them when the
``incidents`` table is created, revision ``0003`` when a log is upgraded, and
:func:`include_object` keeps Alembic's comparison with the metadata from reporting them.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

__all__ = [
    "TRIGRAM_INDEXES",
    "create_trigram_indexes",
    "drop_trigram_indexes",
    "include_object",
    "trigram_schema",
]

log = logging.getLogger("firebell.schema")

#: Index name -> the column of ``incidents`` it covers.
TRIGRAM_INDEXES = {"ix_incidents_id_trgm": "id", "ix_incidents_title_trgm": "title"}


def trigram_schema(connection: sa.Connection) -> str | None:
    """The schema ``pg_trgm`` is installed in (quoted as SQL needs it), or None."""
    found = connection.execute(
        sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        )
    ).scalar()
    return str(found) if found is not None else None


def create_trigram_indexes(connection: sa.Connection) -> tuple[str, ...]:
    """Create the trigram indexes that are missing (``pg_trgm`` first, if it is missing too);
    returns the names of those it created.

    For a PostgreSQL ``connection`` in a transaction; elsewhere nothing is done. Whatever fails
    (no privilege, no contrib package) is undone to a savepoint and logged as a warning that
    says what to do; the caller's transaction goes on, and nothing is returned.
    """
    if connection.dialect.name != "postgresql":
        return ()
    missing = [name for name in TRIGRAM_INDEXES if not _exists(connection, name)]
    if not missing:
        return ()
    try:
        with connection.begin_nested():
            schema = trigram_schema(connection)
            if schema is None:
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                schema = trigram_schema(connection)
            # The operator class is named with its schema: Firebell's search_path need not
            # hold the one the extension was installed in.
            for name in missing:
                connection.exec_driver_sql(
                    f"CREATE INDEX {name} ON incidents "
                    f"USING gin ({TRIGRAM_INDEXES[name]} {schema}.gin_trgm_ops)"
                )
    except sa.exc.DBAPIError as error:
        log.warning(
            "Searching incidents will scan the incidents table: the trigram indexes could "
            "not be created (%s). Have a superuser run `CREATE EXTENSION pg_trgm;` in this "
            "database (Debian and Ubuntu: the postgresql-contrib package), then run "
            "`firebell db upgrade` again to add them.",
            _first_line(error),
        )
        return ()
    return tuple(missing)


def drop_trigram_indexes(connection: sa.Connection) -> tuple[str, ...]:
    """Drop the trigram indexes there are (in the caller's transaction); returns their names.

    For a rewrite of the whole ``incidents`` table (the read model's rebuild): keeping a GIN
    index up to date row by row cost it more than building the index again afterwards with
    :func:`create_trigram_indexes` (100,000 incidents: about 2 s against 0.8 s). Until the
    transaction ends, readers of the table wait (``DROP INDEX`` locks it).
    """
    if connection.dialect.name != "postgresql":
        return ()
    present = tuple(name for name in TRIGRAM_INDEXES if _exists(connection, name))
    for name in present:
        connection.exec_driver_sql(f"DROP INDEX {name}")
    return present


def include_object(
    item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's ``include_object`` hook: leave the trigram indexes out of comparisons."""
    return not (type_ == "index" and reflected and name in TRIGRAM_INDEXES)


def _exists(connection: sa.Connection, name: str) -> bool:
    # Looked up as CREATE INDEX would place it: through the search_path.
    found = connection.execute(sa.text("SELECT to_regclass(:name)"), {"name": name}).scalar()
    return found is not None


def _first_line(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig) if error.orig is not None else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
