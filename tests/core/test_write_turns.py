"""The threads of one process take turns at SQLite's write lock (core/database.py's WriteQueue).

Real SQLite files throughout. With SQLite's own busy handler switched off, threads writing at once
succeed only if they never meet the file lock, i.e. if they queue in the process first.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from core_support import Recorder
from firebell.core import DatabaseUnavailable, Firebell, IncidentCreated
from firebell.core.database import create_database_engine
from firebell.core.store import EventStore
from sqlalchemy import event as sa_event

from firebell.testing.pytest_plugin import MakeFirebell


def _without_busy_handler(firebell: Firebell) -> None:
    """Make every new connection of ``firebell``'s engine fail at once on a held file lock."""

    def no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    engine = firebell.store.engine
    sa_event.listen(engine, "connect", no_busy_wait)  # after Firebell's own connect set-up
    engine.dispose()


def test_threads_declaring_beside_the_worker_never_meet_the_file_lock(
    make_firebell: MakeFirebell,
) -> None:
    recorder = Recorder()
    fb = make_firebell(
        {"plugins": {"recorder": {}}}, entry_points=False, extra_plugins={"recorder": recorder}
    )
    _without_busy_handler(fb)
    stop = threading.Event()

    def deliver() -> None:  # the worker's claims and records: background writes
        while not stop.is_set():
            fb.deliverer.drain()

    def declare(index: int) -> str:
        return fb.engine.declare(title=f"Outage {index}", reporter="U_ANA").incident.id

    worker = threading.Thread(target=deliver)
    worker.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            names = list(pool.map(declare, range(120)))
    finally:
        stop.set()
        worker.join()
    fb.deliverer.drain()

    assert len(set(names)) == 120
    assert {e.incident_id for e in fb.store.select_events()} == set(names)
    assert sorted(c.incident_id for c in recorder.seen(IncidentCreated.type)) == sorted(names)


def _store(tmp_path: Path, busy_timeout: float) -> EventStore:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    store = EventStore(url, engine=create_database_engine(url, busy_timeout=busy_timeout))
    store.create_tables()
    return store


def _holding_a_turn(store: EventStore, **write: bool) -> tuple[threading.Event, threading.Thread]:
    """A thread holding a write transaction of ``store`` until the returned event is set."""
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with store.write(**write):
            held.set()
            done.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return done, thread


def _locked_message(write: Callable[[], None]) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as raised:
        write()
    return str(raised.value), time.monotonic() - started


def _write_something(store: EventStore) -> None:
    with store.write() as connection:
        connection.exec_driver_sql("UPDATE incidents SET title = title")


def test_a_wait_for_the_turn_gives_up_after_the_busy_timeout_as_a_file_lock_wait_does(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path, busy_timeout=0.3)
    done, holder = _holding_a_turn(store)
    try:
        in_process, waited = _locked_message(lambda: _write_something(store))
    finally:
        done.set()
        holder.join()
    assert 0.25 <= waited < 5

    # Another process's lock (a connection outside the queue) ends the same way.
    other = sqlite3.connect(tmp_path / "log.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        across, _ = _locked_message(lambda: _write_something(store))
    finally:
        other.rollback()
        other.close()
    assert in_process == across
    assert "is locked (database is locked)" in in_process
    assert "Nothing was written" in in_process

    _write_something(store)  # the turn given up was not lost: the next writer gets it
    store.dispose()


def test_a_waiting_command_goes_before_the_workers_waiting_records(tmp_path: Path) -> None:
    store = _store(tmp_path, busy_timeout=10)
    order: list[str] = []

    def write(name: str, background: bool) -> None:
        with store.write(background=background):
            order.append(name)

    done, holder = _holding_a_turn(store)
    waiters = [
        threading.Thread(target=write, args=("worker 1", True)),
        threading.Thread(target=write, args=("worker 2", True)),
        threading.Thread(target=write, args=("command", False)),
    ]
    for waiter in waiters:
        waiter.start()
        time.sleep(0.3)  # queued in this order
    done.set()
    for thread in (holder, *waiters):
        thread.join()
    store.dispose()

    assert order == ["command", "worker 1", "worker 2"]
