"""What the contract tests share: the PostgreSQL server, event builders, a recording plugin.

Imported by the tests and by the worker subprocesses (``contract_worker.py``), so it holds no
pytest fixtures and imports pytest only where a test asks for the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from firebell.core import (
    Event,
    IncidentCreated,
    Link,
    PluginSpec,
    RecordedEvent,
    StatusUpdatePosted,
    hookimpl,
)
from firebell.core.config import FirebellConfig, parse_config
from firebell.core.store import AppendResult, EventStore
from sqlalchemy.pool import NullPool

POSTGRES_ENV = "FIREBELL_TEST_POSTGRES_URL"

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


# -- the PostgreSQL server -----------------------------------------------------------------------


def in_ci() -> bool:
    """Whether we run in CI (where nothing may be skipped for want of PostgreSQL)."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def require_postgres_url() -> str:
    """The test server's URL; fails the test in CI and skips it elsewhere when it is not set."""
    import pytest

    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        return url
    reason = (
        f"{POSTGRES_ENV} is not set. Start a throwaway server with "
        f"`export {POSTGRES_ENV}=$(scripts/postgres start)` (scripts/test does this)."
    )
    if in_ci():
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def admin_engine(url: str) -> sa.Engine:
    """An engine without a pool on the server of ``url`` (the default schema), for set-up."""
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    query = {k: v for k, v in parsed.query.items() if k != "options"}
    return sa.create_engine(parsed.set(query=query), poolclass=NullPool)


def _install_pg_trgm(admin: sa.Engine) -> None:
    """pg_trgm in the test database's public schema, once for every test: a new log whose
    database lacks it creates it in its own schema (firebell.core.search_indexes), and dropping
    that schema would take it away, with the trigram indexes of every other test's schema."""
    with admin.connect() as connection:
        if connection.exec_driver_sql(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
        ).scalar():
            return
    with contextlib.suppress(sa.exc.IntegrityError), admin.begin() as connection:
        # IntegrityError: another test process installed it at the same moment.
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A new schema on the server of ``base_url``; yields a URL whose search_path is that schema."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = admin_engine(base_url)
    _install_pg_trgm(admin)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    url = sa.make_url(base_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '20s'")
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


# -- building events -----------------------------------------------------------------------------


def created(name: str, *, title: str = "Checkout is down", severity: str = "SEV2") -> Event:
    """An ``IncidentCreated`` for ``name``."""
    return IncidentCreated(name, title, "Payments fail with 502", severity, "U_ANA", False, "cli")


def update(text: str = "Looking into it") -> Event:
    """A ``StatusUpdatePosted``."""
    return StatusUpdatePosted(text, False)


def declare(
    store: EventStore,
    name: str,
    *,
    at: datetime = T0,
    subscribers: Sequence[str] = (),
    key: str | None = None,
    **fields: Any,
) -> AppendResult:
    """Append the creation of incident ``name``."""
    return store.insert_events(
        name,
        [created(name, **fields)],
        actor="U_ANA",
        occurred_at=at,
        expected_version=0,
        idempotency_key=key,
        subscribers=subscribers,
    )


def settings_for(url: str, plugins: Sequence[str] = ()) -> FirebellConfig:
    """Settings with the log at ``url`` and ``plugins`` switched on (registered in code)."""
    return parse_config(
        {"firebell": {"database_url": url}, "plugins": {name: {} for name in plugins}},
        path=None,
        environ={},
    )


# -- a plugin that records what it is given ------------------------------------------------------


class Recorder:
    """A test plugin: records every event delivered to it (in memory and, if given, in a file).

    ``fail(event, attempt)`` may return an exception to raise instead; ``link_kind`` makes it
    return a :class:`Link` for each incident's creation; ``pause`` is seconds spent "working".
    A file gets one JSON line per delivery with the event, the process and the start/end times.
    """

    def __init__(
        self,
        name: str,
        *,
        after: Sequence[str] = (),
        fail: Callable[[RecordedEvent, int], Exception | None] | None = None,
        link_kind: str | None = None,
        pause: float = 0.0,
        path: Path | None = None,
    ) -> None:
        self.name = name
        self.after = tuple(after)
        self.fail = fail
        self.link_kind = link_kind
        self.pause = pause
        self.path = path
        self.seen: list[tuple[int, int]] = []  # (position, attempt)
        self._lock = threading.Lock()

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        """No settings; waits for ``after``."""
        return PluginSpec(after=self.after, description=f"test recorder {self.name}")

    @hookimpl
    def firebell_event(self, event: RecordedEvent, attempt: int) -> Link | None:
        """Record the delivery (or fail as told)."""
        started = time.time_ns()
        if self.pause:
            time.sleep(self.pause)
        error = self.fail(event, attempt) if self.fail else None
        with self._lock:
            self.seen.append((event.position, attempt))
            if self.path is not None:
                line = {
                    "plugin": self.name,
                    "position": event.position,
                    "incident": event.incident_id,
                    "type": event.type,
                    "attempt": attempt,
                    "pid": os.getpid(),
                    "started": started,
                    "ended": time.time_ns(),
                    "failed": error is not None,
                }
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(line) + "\n")
        if error is not None:
            raise error
        if self.link_kind and isinstance(event.data, IncidentCreated):
            return Link(self.link_kind, f"{self.name}-{event.incident_id}")
        return None

    def positions(self) -> list[int]:
        """The positions delivered, in delivery order."""
        with self._lock:
            return [position for position, _ in self.seen]


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every JSON line the recorders in ``folder`` wrote."""
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


# -- a network between Firebell and PostgreSQL that can fail -------------------------------------


class TcpProxy:
    """Forwards a local port to a server; :meth:`down` cuts every connection and refuses new ones.

    Firebell's URL points at the proxy, so that a test can take "the database" away and give it
    back the way a network or a server restart does, without touching the server itself.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def up(self) -> None:
        """Listen (on the same port as before, if any) and forward."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    @property
    def is_up(self) -> bool:
        """Whether it forwards now."""
        return self._listener is not None

    def down(self) -> None:
        """Cut every connection and refuse new ones (connection refused)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not, and the
            # port would go on listening.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def url_for(self, url: str) -> str:
        """``url`` pointed at the proxy."""
        return sa.make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(False)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                with self._lock:
                    self._sockets.discard(sock)


@contextmanager
def tcp_proxy(url: str) -> Iterator[TcpProxy]:
    """A running :class:`TcpProxy` to the server of ``url``."""
    parsed = sa.make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    proxy.up()
    try:
        yield proxy
    finally:
        proxy.down()


def wait_until(condition: Callable[[], bool], *, timeout: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.02)
