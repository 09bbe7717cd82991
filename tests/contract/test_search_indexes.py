"""PostgreSQL's trigram indexes for the search, with and without the right to create pg_trgm.

Each test has a database of its own (``pg_trgm`` is installed per database, and the shared test
database has it already), and, where it says so, a role that owns its schema but may not create
extensions, as on many managed servers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from alembic import command
from contract_support import admin_engine, declare, require_postgres_url
from firebell.core.migrations import HEAD, SchemaUpgrade, alembic_config
from firebell.core.search_indexes import TRIGRAM_INDEXES
from firebell.core.store import EventStore
from test_migrations import differences, firebell_db, index_names

from firebell.testing.bulk_incidents import fill_incidents

pytestmark = pytest.mark.postgres

SEVERITY_INDEXES = {"ix_incidents_severity_declared_at", "ix_incidents_state_severity_declared_at"}


@contextmanager
def new_database() -> Iterator[tuple[sa.URL, str]]:
    """A new database on the test server and a new role owning its schema ``firebell``, which
    may not create extensions; yields the superuser's URL of the database and the role."""
    name = f"fb_trgm_{uuid.uuid4().hex[:12]}"
    server = admin_engine(require_postgres_url())
    with server.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    superuser = server.url.set(database=name)
    try:
        with sa.create_engine(superuser, poolclass=sa.NullPool).begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA firebell AUTHORIZATION "{name}"')
        yield superuser, name
    finally:
        with server.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
        server.dispose()


def log_url(database: sa.URL, role: str | None = None) -> str:
    """The URL of the event log in schema ``firebell`` of ``database``, as ``role`` (default:
    the superuser)."""
    url = database.update_query_dict({"options": "-csearch_path=firebell"})
    if role is not None:
        url = url.set(username=role)
    return url.render_as_string(hide_password=False)


def as_superuser(database: sa.URL, *statements: str) -> None:
    """Run ``statements`` in ``database`` as the server's superuser."""
    with sa.create_engine(database, poolclass=sa.NullPool).begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def extension_schema(database: sa.URL) -> str | None:
    """Where pg_trgm is installed in ``database``, or None."""
    with sa.create_engine(database, poolclass=sa.NullPool).connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        ).scalar()
    return str(found) if found is not None else None


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings Firebell logged about its schema."""
    return [r.getMessage() for r in caplog.records if r.name == "firebell.schema"]


def test_a_new_log_creates_pg_trgm_and_the_trigram_indexes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with new_database() as (database, _role), caplog.at_level(logging.WARNING):
        store = EventStore(log_url(database))
        try:
            assert extension_schema(database) is None
            store.create_tables()

            assert extension_schema(database) == "firebell"  # the first in the search_path
            assert SEVERITY_INDEXES | set(TRIGRAM_INDEXES) <= index_names(store)
            assert differences(store) == []
            assert warnings_of(caplog) == []
        finally:
            store.dispose()


def test_without_the_right_to_create_pg_trgm_a_new_log_is_made_without_its_indexes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with new_database() as (database, role), caplog.at_level(logging.WARNING):
        store = EventStore(log_url(database, role))
        try:
            store.create_tables()

            assert store.schema_revision() == HEAD
            assert index_names(store) >= SEVERITY_INDEXES
            assert not set(TRIGRAM_INDEXES) & index_names(store)
            assert differences(store) == []
            [warning] = warnings_of(caplog)
            assert 'permission denied to create extension "pg_trgm"' in warning
            assert "CREATE EXTENSION pg_trgm;" in warning
            assert "firebell db upgrade" in warning
            declare(store, "20260601-old-owl", title="Checkout returns 502")
            assert [i.id for i in store.list_incidents(search="CHECKOUT")] == ["20260601-old-owl"]
        finally:
            store.dispose()


def test_the_upgrade_from_0002_goes_on_without_pg_trgm_and_a_later_one_adds_the_indexes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with new_database() as (database, role), caplog.at_level(logging.WARNING):
        url = log_url(database, role)
        store = EventStore(url)
        try:
            with store.write() as connection:
                command.upgrade(alembic_config(connection), "0002")
            declare(store, "20260601-old-owl", title="Checkout returns 502")

            assert store.upgrade_schema() == SchemaUpgrade("0002", HEAD)

            assert index_names(store) >= SEVERITY_INDEXES
            assert not set(TRIGRAM_INDEXES) & index_names(store)
            assert differences(store) == []
            [warning] = warnings_of(caplog)
            assert 'permission denied to create extension "pg_trgm"' in warning
            assert [i.id for i in store.list_incidents(search="checkout")] == ["20260601-old-owl"]

            # As the warning says: a superuser installs it (here in a schema the role does not
            # search), then `firebell db upgrade` again.
            as_superuser(
                database,
                "CREATE SCHEMA extensions",
                "CREATE EXTENSION pg_trgm SCHEMA extensions",
                f'GRANT USAGE ON SCHEMA extensions TO "{role}"',
            )
            added = firebell_db(url, "upgrade")

            assert "added the search's indexes ix_incidents_id_trgm, ix_incidents_title_trgm" in (
                " ".join(added.split())
            )
            assert set(TRIGRAM_INDEXES) <= index_names(store)
            assert differences(store) == []
            assert "nothing to do" in firebell_db(url, "upgrade")
            assert [i.id for i in store.list_incidents(search="checkout")] == ["20260601-old-owl"]
        finally:
            store.dispose()


def test_a_rebuild_of_the_read_model_keeps_the_trigram_indexes() -> None:
    # The rebuild drops them while it rewrites the table, and must make them again.
    with new_database() as (database, _role):
        store = EventStore(log_url(database))
        try:
            store.create_tables()
            declare(store, "20260601-old-owl", title="Checkout returns 502")
            declare(store, "20260602-shy-yak", title="Search is slow")

            assert store.rebuild_read_model() == 2

            assert set(TRIGRAM_INDEXES) <= index_names(store)
            assert differences(store) == []
            with store.read() as connection:
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = "\n".join(
                    connection.execute(
                        sa.text("EXPLAIN SELECT id FROM incidents WHERE title ILIKE :pattern"),
                        {"pattern": "%checkout%"},
                    ).scalars()
                )
            assert "ix_incidents_title_trgm" in plan
            assert [i.id for i in store.list_incidents(search="checkout")] == ["20260601-old-owl"]
        finally:
            store.dispose()


def test_a_search_count_is_planned_for_its_text_however_often_it_runs(postgres_url: str) -> None:
    # psycopg prepares a statement run five times, and PostgreSQL may then plan it once for any
    # text: for the count, a bitmap scan reading every match however few are counted. It does
    # when planning for the text costs more, as a table scan up to the 4,001st match does here.
    store = EventStore(postgres_url)
    try:
        store.create_tables()
        fill_incidents(store, 5000)
        for _ in range(12):
            assert store.count_incidents(search="incident", limit=4001) == 4001
        with store.read() as connection:
            if (connection.dialect.server_version_info or ()) < (14,):
                pytest.skip("pg_prepared_statements counts plans since PostgreSQL 14")
            plans = connection.execute(
                sa.text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE :shape"
                ),
                {"shape": "%count(*)%LIMIT%"},
            ).all()
    finally:
        store.dispose()

    assert plans, "the count was never prepared: the test shows nothing"
    assert [generic for generic, _custom in plans] == [0]
