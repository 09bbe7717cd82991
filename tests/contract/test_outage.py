"""The database unavailable for a while: clear refusals, nothing half-written, recovery by itself.

On PostgreSQL the log is reached through a TCP proxy that the test takes down (every connection
cut, new ones refused) and brings back, as a network failure or a server restart would. On
SQLite another connection holds the write lock for longer than Firebell's busy timeout, as a
backup or a second process would.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from contract_support import (
    Recorder,
    TcpProxy,
    admin_engine,
    postgres_schema,
    require_postgres_url,
    settings_for,
    tcp_proxy,
    update,
    wait_until,
)
from firebell.core import CommandRefused, DatabaseUnavailable, IncidentResolved, RecordedEvent
from firebell.core.database import create_database_engine
from firebell.core.delivery import Deliverer
from firebell.core.engine import Engine
from firebell.core.plugin_host import PluginHost
from firebell.core.schema import deliveries, events, incidents
from firebell.core.store import EventStore

BUSY_TIMEOUT = 0.3


class Outage:
    """Makes the database at :attr:`url` unavailable (:meth:`begin`) and available again."""

    url: str

    def begin(self) -> None:
        """The database goes away."""
        raise NotImplementedError

    def end(self) -> None:
        """The database is back."""
        raise NotImplementedError


class SQLiteLocked(Outage):
    """Another connection holds SQLite's write lock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._path = sa.make_url(url).database or ""
        self._holder: sqlite3.Connection | None = None

    def begin(self) -> None:
        """Take the write lock (``BEGIN EXCLUSIVE``) and keep it."""
        holder = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        self._holder = holder

    def end(self) -> None:
        """Let the lock go."""
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()


class NetworkDown(Outage):
    """The proxy between Firebell and PostgreSQL cuts connections and refuses new ones."""

    def __init__(self, url: str, proxy: TcpProxy) -> None:
        self.url = url
        self._proxy = proxy

    def begin(self) -> None:
        """Take the network down."""
        self._proxy.down()

    def end(self) -> None:
        """Bring it back (same port)."""
        if not self._proxy.is_up:
            self._proxy.up()


@pytest.fixture
def outage(backend: str, tmp_path: Path) -> Iterator[Outage]:
    """An :class:`Outage` for ``backend``; the database is available when the test starts."""
    if backend == "sqlite":
        locked = SQLiteLocked(f"sqlite:///{tmp_path / 'firebell.db'}")
        yield locked
        locked.end()
        return
    with postgres_schema(require_postgres_url()) as url, tcp_proxy(url) as proxy:
        yield NetworkDown(proxy.url_for(url), proxy)


class Bench:
    """A Firebell assembled by hand (to give it a short busy timeout) with one plugin."""

    def __init__(self, url: str, plugin: Recorder) -> None:
        self.store = EventStore(url, engine=create_database_engine(url, busy_timeout=BUSY_TIMEOUT))
        self.store.create_tables()
        settings = settings_for(url, [plugin.name])
        self.host = PluginHost.from_config(
            settings, entry_points=False, extra={plugin.name: plugin}
        )
        self.engine = Engine(self.store, settings, subscribers=self.host.subscribers)
        self.deliverer = Deliverer(self.store, self.host, retry_base=0.0)
        self.plugin = plugin
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_worker(self) -> None:
        """Start ``Deliverer.run_forever`` on a thread, polling often."""
        self._thread = threading.Thread(
            target=self.deliverer.run_forever, args=(self.stop,), kwargs={"poll_interval": 0.05}
        )
        self._thread.start()

    def worker_alive(self) -> bool:
        """Whether the worker thread still runs."""
        return self._thread is not None and self._thread.is_alive()

    def pending(self) -> int:
        """Deliveries not done yet (-1 while the database is away)."""
        try:
            return sum(f.pending for f in self.deliverer.outbox.backlog().values())
        except DatabaseUnavailable:
            return -1

    def close(self) -> None:
        """Stop the worker and close everything."""
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.deliverer.close()
        self.store.dispose()


@pytest.fixture
def bench(outage: Outage) -> Iterator[Bench]:
    """A :class:`Bench` on the outage's database with a ``slack`` recorder."""
    bench = Bench(outage.url, Recorder("slack"))
    yield bench
    outage.end()
    bench.close()


def _count(store: EventStore, table: sa.Table) -> int:
    with store.read() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_commands_fail_clearly_and_write_nothing_while_the_database_is_away(
    outage: Outage, bench: Bench
) -> None:
    before = bench.engine.declare(title="Checkout is down", reporter="U_ANA").incident.id
    outage.begin()

    with pytest.raises(DatabaseUnavailable) as refused:
        bench.engine.declare(title="Search is slow", reporter="U_BO")
    with pytest.raises(DatabaseUnavailable):
        bench.engine.resolve(before, actor="U_ANA")

    message = str(refused.value)
    assert "cannot be reached or is locked" in message
    assert "Nothing was written; try again in a moment." in message
    outage.end()
    # Nothing of the refused commands is in the log, and the next ones work without a restart.
    assert (_count(bench.store, events), _count(bench.store, incidents)) == (1, 1)
    assert _count(bench.store, deliveries) == 1
    bench.engine.resolve(before, actor="U_ANA")
    bench.engine.declare(title="Search is slow", reporter="U_BO")
    assert (_count(bench.store, events), _count(bench.store, incidents)) == (3, 2)


def test_an_append_cut_off_before_its_commit_leaves_nothing(postgres_url: str) -> None:
    store = EventStore(postgres_url)
    store.create_tables()
    admin = admin_engine(postgres_url)
    try:
        engine = Engine(store, settings_for(postgres_url), subscribers=["slack"])
        name = engine.declare(title="Checkout is down", reporter="U_ANA").incident.id
        with pytest.raises(DatabaseUnavailable), store.write() as connection:
            store.insert_events_in(
                connection,
                name,
                [update("half"), IncidentResolved("half")],
                actor="U_ANA",
                occurred_at=engine.clock(),
                expected_version=1,
                subscribers=["slack"],
            )
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with admin.begin() as kill:
                kill.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        assert [e.type for e in store.select_events(name)] == ["incident.created"]
        assert store.get_incident(name).version == 1  # type: ignore[union-attr]
        assert _count(store, deliveries) == 1
    finally:
        admin.dispose()
        store.dispose()


def test_the_delivery_worker_waits_out_an_outage_and_resumes(
    outage: Outage, bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="firebell.delivery")
    names = [
        bench.engine.declare(title=f"Outage {i}", reporter="U_ANA").incident.id for i in range(3)
    ]
    outage.begin()
    bench.run_worker()  # starts while the database is away

    wait_until(
        lambda: any("delivery paused" in r.getMessage() for r in caplog.records),
        what="the worker to report the outage",
    )
    assert bench.plugin.positions() == []
    assert bench.worker_alive()

    outage.end()
    wait_until(lambda: bench.pending() == 0, what="every delivery after the outage")
    delivered = sorted(set(bench.plugin.positions()))
    assert delivered == [e.position for e in bench.store.select_events()]
    assert {e.incident_id for e in bench.store.select_events()} == set(names)
    assert any("delivery resumed" in r.getMessage() for r in caplog.records)


def test_a_delivery_cut_off_by_an_outage_runs_again_soon_after_not_when_its_lease_ends(
    outage: Outage, tmp_path: Path
) -> None:
    def cut_off(event: RecordedEvent, attempt: int) -> Exception | None:
        # The plugin did its work; the database goes away before the outcome is recorded.
        if attempt == 1:
            outage.begin()
            threading.Timer(1.0, outage.end).start()
        return None

    bench = Bench(outage.url, Recorder("slack", fail=cut_off))
    try:
        name = bench.engine.declare(title="Checkout is down", reporter="U_ANA").incident.id
        bench.run_worker()
        wait_until(lambda: bench.pending() == 0, timeout=30, what="the delivery to be done")
        [created] = bench.store.select_events(name)
        assert bench.plugin.seen == [(created.position, 1), (created.position, 2)]
        assert bench.worker_alive()
    finally:
        outage.end()
        bench.close()


def test_a_refused_command_is_not_an_outage(outage: Outage, bench: Bench) -> None:
    name = bench.engine.declare(title="Checkout is down", reporter="U_ANA").incident.id
    bench.engine.resolve(name, actor="U_ANA")
    with pytest.raises(CommandRefused, match="already resolved"):
        bench.engine.resolve(name, actor="U_BO")


def test_a_writer_stuck_behind_a_hung_one_gives_up_after_the_busy_timeout(
    database_url: str,
) -> None:
    hung = EventStore(database_url)
    hung.create_tables()
    store = EventStore(
        database_url, engine=create_database_engine(database_url, busy_timeout=BUSY_TIMEOUT)
    )
    holding, release = threading.Event(), threading.Event()

    def hang() -> None:
        with hung.write():  # a process that stopped in the middle of an append
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=hang)
    thread.start()
    try:
        holding.wait(10)
        engine = Engine(store, settings_for(database_url))
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="cannot be reached or is locked"):
            engine.declare(title="Checkout is down", reporter="U_ANA")
        assert time.monotonic() - started < 10
        release.set()
        thread.join(10)
        engine.declare(title="Checkout is down", reporter="U_ANA")
        assert store.count_incidents() == 1
    finally:
        release.set()
        thread.join(10)
        store.dispose()
        hung.dispose()


def test_a_postgresql_server_that_never_answers_is_unavailable_after_the_connect_timeout() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever answers
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/firebell"
    store = EventStore(url, engine=create_database_engine(url, connect_timeout=2))
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            store.get_incident("20260601-calm-otter")
        except BaseException as error:
            outcome.append(error)

    try:
        asking = threading.Thread(target=ask, daemon=True)  # without a timeout it would hang
        asking.start()
        asking.join(10)
        assert not asking.is_alive(), "still waiting for the silent server after 10s"
        [error] = outcome
        assert isinstance(error, DatabaseUnavailable)
        assert "cannot be reached" in str(error)
    finally:
        store.dispose()
        silent.close()
