"""Fixtures for the contract tests: every test runs on a real SQLite file and a real PostgreSQL.

PostgreSQL comes from ``FIREBELL_TEST_POSTGRES_URL`` (``scripts/postgres start`` prints one;
``scripts/test`` sets it). Each test gets a schema of its own, dropped afterwards, reached through
the URL's ``search_path`` so that subprocesses given the URL land in it too. Without the variable
the PostgreSQL tests fail in CI (``CI`` set) and are skipped elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_support import postgres_schema, require_postgres_url
from firebell.core.store import EventStore


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend(request: pytest.FixtureRequest) -> str:
    """The database the test runs on: ``sqlite`` or ``postgres``."""
    name: str = request.param
    return name


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL for a new, empty event log on ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'firebell.db'}"
        return
    with postgres_schema(require_postgres_url()) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL for a new, empty event log on PostgreSQL (for the tests that need a server)."""
    with postgres_schema(require_postgres_url()) as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[EventStore]:
    """A new event log on ``database_url``, its tables created."""
    store = EventStore(database_url)
    store.create_tables()
    yield store
    store.dispose()
