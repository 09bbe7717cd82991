"""Alembic's environment for Firebell: the target is ``firebell.core.schema.metadata``.

Firebell runs migrations on a connection it already holds (inside its write transaction, so two
processes never migrate at once), passed as ``config.attributes["connection"]``. Run from the
``alembic`` command line instead, the URL comes from ``sqlalchemy.url`` (or ``-x url=...``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from firebell.core.database import create_database_engine
from firebell.core.schema import metadata
from firebell.core.search_indexes import include_object


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Optional indexes outside the metadata (PostgreSQL's trigram indexes) are not drift.
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("Give the database: alembic -x url=postgresql+psycopg://... upgrade head")
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Firebell's migrations run online only: `firebell db upgrade`.")
_run_online()
