"""Commands and appends at the same moment, on SQLite and PostgreSQL (threads; real databases)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from contract_support import T0, admin_engine, declare, settings_for, update
from contract_worker import SmallWorld
from firebell.core import (
    AppendResult,
    CommandRefused,
    Firebell,
    IncidentResolved,
    IncidentState,
    open_firebell,
)
from firebell.core.naming import NameGenerator
from firebell.core.schema import events
from firebell.core.store import EventStore


@pytest.fixture
def firebell(database_url: str) -> Iterator[Firebell]:
    """A Firebell without plugins; names drawn from a small pool, so that draws collide."""
    firebell = open_firebell(
        settings_for(database_url), entry_points=False, names=NameGenerator(SmallWorld())
    )
    yield firebell
    firebell.close()


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` on threads released together; returns each result or the exception raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_two_people_resolving_at_once_give_one_resolution_and_one_clear_refusal(
    firebell: Firebell,
) -> None:
    engine = firebell.engine
    names = [engine.declare(title=f"Outage {i}", reporter="U_ANA").incident.id for i in range(10)]

    for name in names:
        outcomes = at_once(
            lambda name=name: engine.resolve(name, actor="U_ANA", summary="rolled back"),
            lambda name=name: engine.resolve(name, actor="U_BO", summary="restarted"),
        )
        resolved = [o for o in outcomes if isinstance(o, AppendResult)]
        refused = [o for o in outcomes if isinstance(o, CommandRefused)]
        assert (len(resolved), len(refused)) == (1, 1), outcomes
        winner = resolved[0].events[0].actor
        assert "already resolved" in str(refused[0])
        assert f"by {winner}" in str(refused[0])
        history = firebell.store.select_events(name)
        assert [type(e.data) for e in history].count(IncidentResolved) == 1
        assert firebell.store.get_incident(name).state is IncidentState.RESOLVED  # type: ignore[union-attr]


def test_200_incidents_declared_at_once_get_200_distinct_names(firebell: Firebell) -> None:
    def declare_one(i: int) -> str:
        return firebell.engine.declare(title=f"Outage {i}", reporter=f"U_{i}").incident.id

    with ThreadPoolExecutor(max_workers=16) as pool:
        names = list(pool.map(declare_one, range(200)))

    assert len(set(names)) == 200
    store = firebell.store
    assert store.count_incidents() == 200
    assert {i.id for i in store.list_incidents(limit=500)} == set(names)
    log = store.select_events()
    assert len(log) == 200 and {e.version for e in log} == {1}
    titles = {store.get_incident(n).title for n in names}  # type: ignore[union-attr]
    assert titles == {f"Outage {i}" for i in range(200)}


# -- following the log by position --------------------------------------------------------------


def test_a_reader_following_positions_never_skips_an_event(store: EventStore) -> None:
    """Appenders that take a while to commit, and a reader that only asks for what is newer.

    Were positions committed out of order, the reader would move past one not yet visible and
    never see it.
    """
    writers, per_writer = 8, 25
    done = threading.Event()
    seen: list[int] = []

    def append(writer: int) -> None:
        name = f"stream-{writer}"
        declare(store, name)
        for _ in range(per_writer):
            with store.write() as connection:
                store.insert_events_in(
                    connection,
                    name,
                    [update()],
                    actor="U",
                    occurred_at=T0,
                    expected_version=None,
                )
                time.sleep(random.uniform(0, 0.003))  # commit a little later

    def follow() -> None:
        after = 0
        while True:
            finished = done.is_set()
            batch = store.select_events(after=after)
            seen.extend(e.position for e in batch)
            after = batch[-1].position if batch else after
            if finished and not batch:
                return

    reader = threading.Thread(target=follow)
    reader.start()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(append, range(writers)))
    done.set()
    reader.join(30)

    everything = [e.position for e in store.select_events()]
    assert len(everything) == writers * (per_writer + 1)
    assert seen == everything


def test_an_append_waits_until_the_one_before_it_committed(store: EventStore) -> None:
    declare(store, "a")
    declare(store, "b")
    first_in = threading.Event()
    commit_first = threading.Event()
    positions: dict[str, int] = {}

    def slow() -> None:
        with store.write() as connection:
            result = store.insert_events_in(
                connection, "a", [update()], actor="U", occurred_at=T0, expected_version=None
            )
            positions["slow"] = result.events[0].position
            first_in.set()
            commit_first.wait(10)

    def quick() -> None:
        result = store.insert_events(
            "b", [update()], actor="U", occurred_at=T0, expected_version=None
        )
        positions["quick"] = result.events[0].position

    slow_thread = threading.Thread(target=slow)
    slow_thread.start()
    first_in.wait(10)
    quick_thread = threading.Thread(target=quick)
    quick_thread.start()
    quick_thread.join(0.5)
    still_waiting = quick_thread.is_alive()
    visible = [e.incident_id for e in store.select_events(after=2)]
    commit_first.set()
    slow_thread.join(10)
    quick_thread.join(10)

    assert still_waiting
    assert visible == []
    assert positions["slow"] < positions["quick"]


@pytest.mark.postgres
def test_without_the_append_lock_postgresql_commits_positions_out_of_order(
    postgres_url: str,
) -> None:
    """Why appends take a lock: two plain inserts make a reader skip the first one for good."""
    store = EventStore(postgres_url)
    store.create_tables()
    schema = sa.make_url(postgres_url).query["options"].partition("=")[2]
    raw = admin_engine(postgres_url)
    insert = sa.text(
        f'INSERT INTO "{schema}".events (incident_id, version, event_type, schema_version, '
        "data, occurred_at, actor) VALUES (:stream, 1, 'test.raw', 1, '{}', now(), 'U') "
        "RETURNING position"
    )
    try:
        with raw.connect() as early, raw.connect() as late:
            early.begin()
            first = early.execute(insert, {"stream": "early"}).scalar_one()
            with late.begin():
                second = late.execute(insert, {"stream": "late"}).scalar_one()
            with store.read() as reader:
                reader_saw = list(reader.execute(sa.select(events.c.position)).scalars())
            early.commit()
        assert first < second
        assert reader_saw == [second]  # a reader now "after second" never sees first
    finally:
        raw.dispose()
        store.dispose()
