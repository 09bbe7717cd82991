"""Delivering committed events to plugins: durable, retried, concurrent across plugins.

The worker claims ready outbox rows, calls each plugin's hook on its own thread, and records
the outcome. A failure is retried with exponential backoff (or parked when permanent); a killed
process's leases expire (or are released at start-up when it ran on this host), so every event
is delivered to every plugin at least once.

A plugin call that never returns (a vendor that accepts the connection and never answers, a
plugin bug) holds its own thread and nothing else: the hooks run on daemon threads
(:class:`~firebell.core.workers.DaemonPool`), a drain with a timeout returns at its deadline
(after a short grace) and leaves such calls behind (:meth:`Deliverer.running` names them), and
the process can exit. While this process lives, the lease of a call still running is renewed,
so that nobody (neither this process nor another) starts the same delivery a second time, and
the plugin's later events for that incident wait behind it, in order. When the process ends,
the lease runs out and the delivery is claimed again.
Hung calls do not starve delivery: see :mod:`firebell.core.hung_calls`.

:class:`Deliverer` is made in parts: the drain loop that claims and starts the calls
(:mod:`firebell.core.delivery_scheduling`) and the call of a plugin with its outcome
(:mod:`firebell.core.delivery_attempts`); this module builds the worker, runs it and recovers
leases of ended processes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from datetime import UTC, datetime, timedelta

import attrs
from firebell.core.database import redact_url
from firebell.core.delivery_attempts import DeliveryAttempts, backoff_seconds
from firebell.core.delivery_scheduling import DeliveryScheduling
from firebell.core.errors import DatabaseUnavailable
from firebell.core.hung_calls import HUNG_AFTER, HungCallNotices, RunningDelivery
from firebell.core.outbox import Claim, Outbox, new_owner_id
from firebell.core.plugin_host import PluginHost
from firebell.core.stale_deliveries import StaleDeliveries
from firebell.core.store import EventStore
from firebell.core.workers import DaemonPool

__all__ = ["HUNG_AFTER", "Deliverer", "RunningDelivery", "backoff_seconds"]

log = logging.getLogger("firebell.delivery")

Clock = Callable[[], datetime]

#: Seconds a drain that reached its deadline still gives the calls under way to end.
_GRACE = 2.0

#: Seconds between a running worker's looks for leases held by ended processes of this host.
_DEAD_LEASE_LOOK = 10.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Deliverer(DeliveryScheduling, DeliveryAttempts):
    """Runs plugin deliveries from the outbox, several at a time.

    At most ``max_workers`` calls run at once, at most ``plugin_workers`` of them for one plugin
    (default: all but a quarter of them, at least 1 kept for the others), so that one plugin's
    slow calls never take every worker; a call under way for ``hung_after`` (on ``clock``)
    is hung and no longer counts, so new work gets a new thread. While a plugin has a hung call,
    at most ``hung_plugin_calls`` of its calls are under way (default: half of ``max_workers``),
    and at most ``max_workers + max_hung_calls`` calls are under way in all (default
    ``max_hung_calls``: three times ``max_workers``). See the module's docstring.
    """

    def __init__(
        self,
        store: EventStore,
        host: PluginHost,
        *,
        clock: Clock = _utcnow,
        lease: timedelta = timedelta(minutes=5),
        max_workers: int = 8,
        max_attempts: int = 25,
        retry_base: float = 2.0,
        redact: Callable[[str], str] = lambda text: text,
        hung_after: timedelta = HUNG_AFTER,
        hung_plugin_calls: int | None = None,
        max_hung_calls: int | None = None,
        plugin_workers: int | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {max_workers!r}")
        plugin_workers = (
            max(1, max_workers - max(1, max_workers // 4))
            if plugin_workers is None
            else plugin_workers
        )
        if not 1 <= plugin_workers <= max_workers:
            raise ValueError(
                f"plugin_workers must be from 1 to max_workers ({max_workers}), "
                f"not {plugin_workers!r}"
            )
        if hung_after <= timedelta(0):
            raise ValueError(f"hung_after must be positive, not {hung_after!r}")
        hung_plugin_calls = (
            max(1, max_workers // 2) if hung_plugin_calls is None else hung_plugin_calls
        )
        max_hung_calls = 3 * max_workers if max_hung_calls is None else max_hung_calls
        if hung_plugin_calls < 1:
            raise ValueError(f"hung_plugin_calls must be at least 1, not {hung_plugin_calls!r}")
        if max_hung_calls < 0:
            raise ValueError(f"max_hung_calls must be 0 or more, not {max_hung_calls!r}")
        self.store = store
        self.host = host
        # Hooks get the settings with the database URL's password hidden (see hookspecs).
        self.hook_settings = attrs.evolve(
            host.settings, database_url=redact_url(host.settings.database_url)
        )
        self.outbox = Outbox(store, host.subscriptions)
        self.stale = StaleDeliveries(store, host.subscriptions)
        self.owner = new_owner_id()
        self.clock = clock
        self.lease = lease
        self.max_workers = max_workers
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.redact = redact
        self.hung_after = hung_after
        self.hung_plugin_calls = hung_plugin_calls
        self.max_hung_calls = max_hung_calls
        self.plugin_workers = plugin_workers
        # Threads beyond max_workers are for the new work beside hung calls; they end once idle.
        self._pool = DaemonPool(
            max_workers + max_hung_calls, name="firebell-delivery", keep=max_workers
        )
        # Every call under way in this process, by (position, plugin), whichever drain
        # started it: their leases are renewed, and they are never started twice.
        self._running: dict[tuple[int, str], RunningDelivery] = {}
        self._running_lock = threading.Lock()
        self._notices = HungCallNotices(
            hung_after=hung_after,
            max_workers=max_workers,
            hung_plugin_calls=hung_plugin_calls,
            max_hung_calls=max_hung_calls,
        )
        self._closed = False
        self._wake = threading.Event()
        # Done when new work may be ready while deliveries run: the drain loop waits on it
        # beside them, so it claims at once instead of at its next look.
        self._nudge: Future[None] = Future()
        self._nudge_lock = threading.Lock()

    def close(self, *, wait_for: float = _GRACE) -> None:
        """Stop the worker threads, giving the calls under way up to ``wait_for`` seconds.

        A call still running then is left to end with the process (its thread is a daemon
        thread): its outcome is not recorded, so its delivery runs again once its lease ends.
        Closing again does nothing (and waits for nothing).
        """
        if self._closed:
            return
        self._closed = True
        self._pool.close()
        deadline = time.monotonic() + wait_for
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.02)

    def running(self) -> list[RunningDelivery]:
        """The deliveries whose plugin call is under way in this process, oldest first."""
        with self._running_lock:
            return sorted(self._running.values(), key=lambda r: r.started_at)

    def wake(self) -> None:
        """Tell a running :meth:`run_forever` (or drain) that new events were committed."""
        self._wake.set()
        self._poke()

    def _poke(self) -> None:
        with self._nudge_lock:
            if not self._nudge.done():
                self._nudge.set_result(None)

    def _fresh_nudge(self) -> Future[None]:
        with self._nudge_lock:
            if self._nudge.done():
                self._nudge = Future()
            return self._nudge

    # -- recovery --------------------------------------------------------------------------

    def release_dead_leases(self) -> int:
        """Release leases held by processes of this host that no longer run (after a kill)."""
        host = socket.gethostname()
        dead = []
        for owner in self.outbox.lease_owners():
            owner_host, _, rest = owner.partition(":")
            pid_text = rest.partition(":")[0]
            same_host = owner_host == host and pid_text.isdigit() and owner != self.owner
            if same_host and not _pid_alive(int(pid_text)):
                dead.append(owner)
        released: int = self.outbox.release_leases(dead)
        return released

    # -- running ---------------------------------------------------------------------------

    def drain(self, *, timeout: float | None = None) -> int:
        """Deliver until nothing is ready (retries not yet due are left); returns how many ran.

        With ``timeout``, nothing new is started after that many seconds, and the calls under
        way get a short grace (2 s at most) to end; those still running then are left behind
        (see :meth:`running`) and the drain returns. Their leases are renewed while a drain of
        this deliverer runs; once the process ends they run out and the deliveries are claimed
        again, by this process's successor or any other.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        grace = _GRACE if timeout is None else min(_GRACE, timeout)
        running: dict[Future[None], Claim] = {}
        try:
            return self._drain(running, deadline, grace)
        except DatabaseUnavailable:
            # Deliveries under way hold leases of ours: let them end before reporting, so that
            # the caller may release what is left (see run_forever). No drain waits for ever on
            # a call that hangs: one with a deadline gives them its grace, one without as long
            # as a call may run before it is hung. A call still running after that keeps its
            # delivery: claimed again, it is not started a second time here (see _start).
            wait(
                running, timeout=grace if deadline is not None else self.hung_after.total_seconds()
            )
            raise

    def run_forever(
        self,
        stop: threading.Event,
        *,
        poll_interval: float = 1.0,
        dead_lease_look: float = _DEAD_LEASE_LOOK,
    ) -> None:
        """Deliver until ``stop`` is set, waking on :meth:`wake` or every ``poll_interval``.

        While the database is unavailable it says so once and keeps trying. When it is back,
        the deliveries the outage cut short (their outcome unrecorded) are released at once
        rather than after their lease, so they run again; this is the only thread delivering
        with this deliverer's leases. The leases of processes of this host that have ended (a
        killed ``firebell run``, a ``firebell declare`` stopped by its ``--deliver-timeout`` or
        Ctrl-C with a call under way) are released at start and then every
        ``dead_lease_look`` seconds, so that their deliveries run again within that time
        instead of at the end of their lease.
        """
        last_look: float | None = None
        outage = False
        while not stop.is_set():
            try:
                if last_look is None or time.monotonic() - last_look >= dead_lease_look:
                    released = self.release_dead_leases()
                    if released and last_look is not None:
                        log.info("released %d deliveries of ended processes", released)
                    last_look = time.monotonic()
                if outage:
                    released = self.outbox.release_leases([self.owner])
                    log.warning("delivery resumed; %d cut-short deliveries to run again", released)
                    outage = False
                self.drain()
            except DatabaseUnavailable as error:
                if not outage:
                    log.warning("delivery paused: %s", error)
                outage = True
            self._wake.wait(poll_interval)
            self._wake.clear()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
