"""Several Firebell processes on one PostgreSQL: the work is shared, nothing is done twice.

The processes are real (``contract_worker.py`` run with this Python); each records its
deliveries in a file of its own, and the test reads them all back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from contract_support import (
    T0,
    Recorder,
    admin_engine,
    declare,
    read_records,
    settings_for,
    update,
    wait_until,
)
from firebell.core import Firebell, open_firebell
from firebell.core.outbox import Outbox
from firebell.core.schema import deliveries
from firebell.core.store import EventStore

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKER = Path(__file__).with_name("contract_worker.py")


def spawn(*args: str) -> subprocess.Popen[str]:
    """Start ``contract_worker.py`` with ``args``."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        cwd=WORKER.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], *, timeout: float = 180) -> str:
    """Wait for ``process``; fail with its stderr unless it succeeded. Returns its stdout."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"worker exited with {process.returncode}:\n{err}"
    return out


def start_together(processes: list[subprocess.Popen[str]], go: Path) -> None:
    """Wait until every process is ready, then let them all go."""
    wait_until(
        lambda: (
            len(list(go.parent.glob("ready-*"))) == len(processes)
            or any(p.poll() is not None for p in processes)
        ),
        timeout=60,
        what="the workers to start",
    )
    go.touch()


@pytest.fixture
def firebell(postgres_url: str) -> Iterator[Firebell]:
    """A Firebell on the PostgreSQL log with the plugins ``alpha`` and ``beta`` subscribed."""
    plugins = {"alpha": Recorder("alpha"), "beta": Recorder("beta", after=["alpha"])}
    firebell = open_firebell(
        settings_for(postgres_url, list(plugins)), extra_plugins=plugins, entry_points=False
    )
    yield firebell
    firebell.close()


def test_three_processes_deliver_every_event_to_every_plugin_exactly_once(
    firebell: Firebell, postgres_url: str, tmp_path: Path
) -> None:
    for i in range(200):
        name = firebell.engine.declare(title=f"Outage {i}", reporter="U_ANA").incident.id
        firebell.engine.post_update(name, "Looking into it", actor="U_ANA")
    go = tmp_path / "go"
    workers = [spawn("deliver", postgres_url, str(tmp_path), str(go)) for _ in range(3)]
    start_together(workers, go)
    for worker in workers:
        finish(worker)

    log = firebell.store.select_events()
    records = [r for r in read_records(tmp_path) if not r["failed"]]
    # 200 creations, 200 updates and the 200 links alpha made while delivering.
    assert Counter(e.type for e in log) == {
        "incident.created": 200,
        "incident.status_update_posted": 200,
        "incident.resource_linked": 200,
    }
    delivered = Counter((r["plugin"], r["position"]) for r in records)
    expected = {(plugin, e.position) for e in log for plugin in ("alpha", "beta")}
    assert set(delivered) == expected
    assert [key for key, times in delivered.items() if times > 1] == []
    with firebell.store.read() as connection:
        assert set(connection.execute(sa.select(deliveries.c.status)).scalars()) == {"done"}

    # The work was shared, and each plugin got each incident's events in order, one at a time.
    assert len({r["pid"] for r in records}) == 3
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        streams[(record["plugin"], record["incident"])].append(record)
    for stream in streams.values():
        stream.sort(key=lambda r: r["started"])
        assert [r["position"] for r in stream] == sorted(r["position"] for r in stream)
        assert all(a["ended"] <= b["started"] for a, b in pairwise(stream))
    # beta (after = alpha) started each event only once alpha had finished it.
    alpha_done = {r["position"]: r["ended"] for r in records if r["plugin"] == "alpha"}
    assert all(r["started"] >= alpha_done[r["position"]] for r in records if r["plugin"] == "beta")


def test_processes_declaring_at_once_get_distinct_names_and_lose_nothing(
    firebell: Firebell, postgres_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    workers = [spawn("declare", postgres_url, "50", str(go)) for _ in range(4)]
    start_together(workers, go)
    names = [name for worker in workers for name in json.loads(finish(worker))]

    assert len(names) == 200 and len(set(names)) == 200
    store = firebell.store
    assert store.count_incidents() == 200
    assert {i.id for i in store.list_incidents(limit=500)} == set(names)
    log = store.select_events()
    assert len(log) == 200 and {e.version for e in log} == {1}
    assert {e.incident_id for e in log} == set(names)


# -- how claims are made -------------------------------------------------------------------------


def test_claims_are_made_with_for_update_skip_locked(postgres_url: str) -> None:
    store = EventStore(postgres_url)
    store.create_tables()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        declare(store, "a", subscribers=["slack"])
        Outbox(store, ["slack"]).claim(
            owner="w1", now=T0, lease=timedelta(minutes=5), dependencies={}, limit=5
        )
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
        store.dispose()
    claims = [s for s in statements if s.lstrip().startswith("SELECT") and "FOR UPDATE" in s]
    assert len(claims) == 1
    assert "FOR UPDATE OF deliveries SKIP LOCKED" in claims[0]


def test_a_delivery_locked_by_another_claimer_is_skipped_not_waited_for(
    postgres_url: str,
) -> None:
    store = EventStore(postgres_url)
    store.create_tables()
    other = admin_engine(postgres_url)  # same server; the schema is named explicitly below
    schema = sa.make_url(postgres_url).query["options"].partition("=")[2]
    try:
        a = declare(store, "a", subscribers=["slack"]).events[0].position
        b = declare(store, "b", subscribers=["slack"]).events[0].position
        outbox = Outbox(store, ["slack"])
        with other.begin() as claimer:
            # Another process is in the middle of claiming a's delivery.
            claimer.exec_driver_sql(
                f'SELECT 1 FROM "{schema}".deliveries WHERE position = {a} FOR UPDATE'
            )
            started = time.monotonic()
            claims = outbox.claim(
                owner="w2", now=T0, lease=timedelta(minutes=5), dependencies={}, limit=5
            )
            assert time.monotonic() - started < 5
        assert [c.position for c in claims] == [b]
    finally:
        other.dispose()
        store.dispose()


def test_claims_do_not_wait_for_an_append_in_progress(postgres_url: str) -> None:
    store = EventStore(postgres_url)
    store.create_tables()
    holding = threading.Event()
    release = threading.Event()

    def slow_append() -> None:
        with store.write() as connection:
            store.insert_events_in(
                connection,
                "a",
                [update("slow")],
                actor="U",
                occurred_at=T0,
                expected_version=None,
            )
            holding.set()
            release.wait(10)

    try:
        declare(store, "a", subscribers=["slack"])
        appender = threading.Thread(target=slow_append)
        appender.start()
        holding.wait(10)
        started = time.monotonic()
        claims = Outbox(store, ["slack"]).claim(
            owner="w1", now=T0, lease=timedelta(minutes=5), dependencies={}, limit=5
        )
        waited = time.monotonic() - started
        release.set()
        appender.join(10)
        assert len(claims) == 1 and waited < 5
    finally:
        release.set()
        store.dispose()
