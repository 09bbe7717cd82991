"""What an append writes, row by row, on SQLite and PostgreSQL.

Appends run their statements on the driver's cursor (``firebell.core.driver_sql``), binding
values by hand: these tests hold the stored rows to what the schema's types store, and the
driver's errors to what SQLAlchemy raises.
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone

import sqlalchemy as sa
from contract_support import T0, declare, update
from firebell.core import ConcurrencyConflict, ResourceLinked
from firebell.core.driver_sql import AppendSql
from firebell.core.schema import UTCDateTime, commands, deliveries, events, incidents, resources
from firebell.core.serialization import dump_event
from firebell.core.store import EventStore
from firebell.core.store_appends import incident_row


def _stored(store: EventStore, sql: str) -> list[tuple[object, ...]]:
    """Rows as the driver returns them, with no SQLAlchemy type processing."""
    with store.read() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(sql)]


def _inserted(statement: str) -> set[str]:
    match = re.search(r"\(([^)]*)\) VALUES", statement)
    assert match is not None, statement
    return {name.strip() for name in match.group(1).split(",")}


def test_the_statements_write_every_column_the_schema_has(store: EventStore) -> None:
    sql = AppendSql.for_dialect(store.engine.dialect.name)
    incident = declare(store, "a").incident

    assert _inserted(sql.insert_incident) == set(incident_row(incident)) == set(incidents.c.keys())
    written = {
        events: _inserted(sql.insert_event),
        resources: _inserted(sql.insert_resource),
        deliveries: _inserted(sql.insert_delivery),
        commands: _inserted(sql.insert_command),
    }
    for table, names in written.items():
        assert names <= set(table.c.keys()), table.name
        # A column left out must be one the database fills: generated, defaulted or nullable.
        for column in table.columns:
            if column.name not in names:
                assert (
                    column is table.autoincrement_column
                    or column.server_default is not None
                    or column.nullable
                ), f"{table.name}.{column.name} is not written by an append"


def test_times_are_stored_as_the_schema_type_binds_them(store: EventStore) -> None:
    declared = T0.astimezone(timezone(timedelta(hours=2)))  # 11:00 at +02:00
    updated = T0 + timedelta(minutes=5, microseconds=7)
    declare(store, "a", at=declared, subscribers=["slack"])
    store.insert_events(
        "a",
        [update("one")],
        actor="U_BO",
        occurred_at=updated,
        expected_version=1,
        subscribers=["slack"],
    )

    dialect = store.engine.dialect
    bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None
    expected = {moment: bind(moment) for moment in (declared, updated)}
    if dialect.name == "sqlite":  # SQLAlchemy's DateTime text, byte for byte
        assert expected == {
            declared: "2026-06-01 09:00:00.000000",
            updated: "2026-06-01 09:05:00.000007",
        }
    assert _stored(store, "SELECT occurred_at FROM events ORDER BY position") == [
        (expected[declared],),
        (expected[updated],),
    ]
    assert _stored(store, "SELECT declared_at, updated_at FROM incidents") == [
        (expected[declared], expected[updated])
    ]
    assert _stored(
        store, "SELECT next_attempt_at, updated_at FROM deliveries ORDER BY position"
    ) == [(expected[declared],) * 2, (expected[updated],) * 2]


def test_a_batch_is_written_whole_with_its_positions_in_order(store: EventStore) -> None:
    declare(store, "a")
    declare(store, "b")
    batch = [update(f"step {n}") for n in range(30)]
    batch.insert(10, ResourceLinked("pagerduty", "pager-incident", "P1", "https://pd/P1", "P1"))

    result = store.insert_events(
        "a",
        batch,
        actor="U_BO",
        occurred_at=T0,
        expected_version=1,
        idempotency_key="k-batch",
        subscribers=["slack", "pagerduty"],
    )
    declare(store, "c")

    assert list(result.events) == store.select_events("a")[1:]
    assert [e.version for e in result.events] == list(range(2, 33))
    assert [e.data for e in result.events] == batch
    positions = [e.position for e in result.events]
    assert positions == sorted(positions)
    assert _stored(
        store, "SELECT position, plugin FROM deliveries WHERE incident_id = 'a' ORDER BY 1, 2"
    ) == [(p, plugin) for p in positions for plugin in ("pagerduty", "slack")]
    assert _stored(store, "SELECT first_position, last_position FROM commands") == [
        (positions[0], positions[-1])
    ]
    assert _stored(store, "SELECT incident_id, url FROM resources") == [("a", "https://pd/P1")]
    assert store.get_incident("a") == result.incident
    assert result.incident.version == 32 and result.incident.last_position == positions[-1]


def test_a_row_the_database_refuses_is_a_conflict_and_writes_nothing(store: EventStore) -> None:
    declare(store, "a", subscribers=["slack"])
    # An event the read model has not seen (as a read model restored from an older backup
    # would not): the append's INSERT of version 2 breaks the stream's unique version.
    unseen = update("unseen")
    with store.write() as connection:
        connection.execute(
            events.insert(),
            {
                "incident_id": "a",
                "version": 2,
                "event_type": unseen.type,
                "schema_version": unseen.schema_version,
                "data": dump_event(unseen),
                "occurred_at": T0,
                "actor": "U_ANA",
            },
        )
    before = _stored(store, "SELECT position, plugin FROM deliveries")

    try:
        store.insert_events(
            "a",
            [update("two")],
            actor="U_BO",
            occurred_at=T0,
            expected_version=None,
            subscribers=["slack"],
        )
    except ConcurrencyConflict as conflict:
        assert isinstance(conflict.__cause__, sa.exc.IntegrityError)
    else:
        raise AssertionError("the duplicate stream version was not refused")
    assert _stored(store, "SELECT position, plugin FROM deliveries") == before
    assert len(store.select_events("a")) == 2
    incident = store.get_incident("a")
    assert incident is not None and incident.version == 1
