"""Schema revisions (Alembic) on SQLite and PostgreSQL, and what opening a log does about them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from contract_support import T0, declare
from firebell.adapters.cli.main import cli
from firebell.core import DatabaseOutOfDate
from firebell.core.events import IncidentResolved
from firebell.core.incident import IncidentState
from firebell.core.migrations import BASELINE, HEAD, SchemaUpgrade, alembic_config
from firebell.core.schema import metadata
from firebell.core.search_indexes import TRIGRAM_INDEXES, include_object
from firebell.core.store import EventStore


def differences(store: EventStore) -> list[object]:
    """What Alembic's autogenerate finds between the database and the metadata."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        return list(compare_metadata(context, metadata))


def firebell_db(database_url: str, *args: str) -> str:
    """Run ``firebell db ARGS`` on ``database_url``; returns its output (it must succeed)."""
    result = CliRunner().invoke(
        cli, ["db", *args], env={"FIREBELL_DATABASE_URL": database_url, "FIREBELL_CONFIG": ""}
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def create_like_an_old_firebell(store: EventStore) -> None:
    """The tables as Firebell created them before it tracked revisions (revision 0001's, with
    no alembic_version), holding an incident."""
    with store.write() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
        connection.execute(sa.text("DROP TABLE alembic_version"))
    declare(store, "20260101-old-owl")


def test_head_is_the_newest_revision_and_the_baseline_the_first() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_current_head() == HEAD
    assert scripts.get_base() == BASELINE


def test_upgrading_an_empty_database_gives_exactly_the_metadatas_schema(database_url: str) -> None:
    store = EventStore(database_url)
    try:
        assert store.upgrade_schema() == SchemaUpgrade(None, HEAD, adopted=False)
        assert differences(store) == []
        assert store.schema_revision() == HEAD
        declare(store, "a")  # and it works as a log
        assert store.get_incident("a") is not None
    finally:
        store.dispose()


def test_a_new_log_opened_by_firebell_starts_at_head(store: EventStore) -> None:
    assert store.schema_revision() == HEAD
    assert differences(store) == []
    assert "already at schema revision" in firebell_db(store.url, "upgrade")


def test_downgrading_to_nothing_and_upgrading_again(database_url: str) -> None:
    store = EventStore(database_url)
    try:
        store.upgrade_schema()
        with store.write() as connection:
            command.downgrade(alembic_config(connection), "base")
        with store.read() as connection:
            assert not sa.inspect(connection).has_table("events")
        store.upgrade_schema()
        assert differences(store) == []
    finally:
        store.dispose()


def test_an_sqlite_log_from_before_revisions_is_upgraded_when_opened(tmp_path: object) -> None:
    store = EventStore(f"sqlite:///{tmp_path}/old.db")
    try:
        create_like_an_old_firebell(store)
        assert store.schema_revision() is None
        store.create_tables()
        assert store.schema_revision() == HEAD
        assert store.get_incident("20260101-old-owl") is not None
    finally:
        store.dispose()


@pytest.mark.postgres
def test_a_postgresql_log_from_before_revisions_needs_firebell_db_upgrade(
    postgres_url: str,
) -> None:
    store = EventStore(postgres_url)
    try:
        create_like_an_old_firebell(store)
        with pytest.raises(DatabaseOutOfDate) as refused:
            store.create_tables()
        message = str(refused.value)
        assert "was created before Firebell tracked schema revisions" in message
        assert "firebell db upgrade" in message and "pg_dump" in message
        assert store.schema_revision() is None  # opening changed nothing

        output = firebell_db(postgres_url, "upgrade")

        assert f"a log from before schema revisions were tracked, stamped {BASELINE}" in output
        store.create_tables()
        assert store.get_incident("20260101-old-owl") is not None
        assert differences(store) == []
    finally:
        store.dispose()


def test_a_log_written_by_a_newer_firebell_is_refused(store: EventStore) -> None:
    with store.write() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(DatabaseOutOfDate, match="'9999', which this Firebell does not know"):
        store.create_tables()
    with pytest.raises(DatabaseOutOfDate, match="newer Firebell"):
        store.upgrade_schema()
    assert store.schema_revision() == "9999"


def test_firebell_db_current_says_whether_an_upgrade_is_needed(database_url: str) -> None:
    shown = json.loads(firebell_db(database_url, "current", "--json"))
    assert shown["revision"] is None and shown["head"] == HEAD and shown["current"] is False

    assert "Created the event log in the empty database" in firebell_db(database_url, "upgrade")

    assert "(up to date)" in firebell_db(database_url, "current")
    shown = json.loads(firebell_db(database_url, "current", "--json"))
    assert shown == {
        "database": shown["database"],
        "revision": HEAD,
        "head": HEAD,
        "current": True,
    }


# -- 0002 -> 0003: the console's indexes --------------------------------------------------------

#: (name, title, severity, resolved) of the incidents the upgrade must not change the answers for.
_CONSOLE_INCIDENTS = (
    ("20260601-old-owl", "Checkout returns 502", "SEV1", False),
    ("20260601-brave-otter", "CHECKOUT latency at 50% of requests", "SEV2", True),
    ("20260602-calm-heron", "Queue a_b stuck", "SEV1", True),
    ("20260602-quick-lynx", "Queue ab stuck", "SEV0", False),
    ("20260603-shy-crane", "Straße closed: maps tiles missing", "SEV2", False),
)
_SEARCHES = ("checkout", "CHECKOUT", "50%", "a_b", "ab", "old-owl", "20260602", "straße", "nothing")
_FILTERS = (("open", "SEV1"), ("resolved", "SEV1"), (None, "SEV2"), ("open", None))


def without_sequential_scans(url: str) -> str:
    """``url``, on PostgreSQL with sequential scans priced out: on a table of five rows the
    planner would read the table and never the indexes whose answers the test compares."""
    parsed = sa.make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return url
    options = parsed.query.get("options", "")
    assert isinstance(options, str)
    changed = parsed.update_query_dict({"options": f"{options} -cenable_seqscan=off".strip()})
    return changed.render_as_string(hide_password=False)


def console_answers(store: EventStore) -> dict[str, object]:
    """What the console and ``firebell list`` show for each search and filter: names and counts."""
    answers: dict[str, object] = {}
    for text in _SEARCHES:
        names = [i.id for i in store.list_incidents(search=text)]
        answers[f"search {text}"] = (names, store.count_incidents(search=text))
    for state_name, severity in _FILTERS:
        state = IncidentState(state_name) if state_name else None
        names = [i.id for i in store.list_incidents(state=state, severity=severity)]
        count = store.count_incidents(state=state, severity=severity)
        answers[f"filter {state_name} {severity}"] = (names, count)
    return answers


def index_names(store: EventStore) -> set[str]:
    """The indexes of the incidents table."""
    with store.read() as connection:
        return {str(index["name"]) for index in sa.inspect(connection).get_indexes("incidents")}


def test_upgrading_from_0002_adds_the_console_indexes_and_answers_the_same(
    database_url: str,
) -> None:
    store = EventStore(without_sequential_scans(database_url))
    try:
        with store.write() as connection:
            command.upgrade(alembic_config(connection), "0002")
        for minute, (name, title, severity, resolved) in enumerate(_CONSOLE_INCIDENTS):
            at = T0 + timedelta(minutes=minute)
            declare(store, name, title=title, severity=severity, at=at)
            if resolved:
                store.insert_events(
                    name,
                    [IncidentResolved("fixed")],
                    actor="U_ANA",
                    occurred_at=at,
                    expected_version=1,
                )
        before = console_answers(store)

        assert store.upgrade_schema() == SchemaUpgrade("0002", HEAD)

        assert differences(store) == []
        assert {
            "ix_incidents_severity_declared_at",
            "ix_incidents_state_severity_declared_at",
        } <= index_names(store)
        if store.is_postgres:
            assert set(TRIGRAM_INDEXES) <= index_names(store)
            with store.read() as connection:
                plan = "\n".join(
                    connection.execute(
                        sa.text(
                            "EXPLAIN SELECT count(*) FROM incidents "
                            "WHERE id ILIKE :pattern OR title ILIKE :pattern"
                        ),
                        {"pattern": "%checkout%"},
                    ).scalars()
                )
            assert "ix_incidents_id_trgm" in plan and "ix_incidents_title_trgm" in plan, plan
        assert console_answers(store) == before
        # What they are (so that "the same" is not "the same nothing"):
        assert before["search checkout"] == (["20260601-brave-otter", "20260601-old-owl"], 2)
        assert before["search 50%"] == (["20260601-brave-otter"], 1)
        assert before["search a_b"] == (["20260602-calm-heron"], 1)
        assert before["search ab"] == (["20260602-quick-lynx"], 1)  # not a_b: _ is no wildcard
        assert before["filter open SEV1"] == (["20260601-old-owl"], 1)
        assert before["filter None SEV2"] == (["20260603-shy-crane", "20260601-brave-otter"], 2)
    finally:
        store.dispose()
