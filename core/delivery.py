"""Delivering committed events to plugins: durable, retried, concurrent across plugins.

The worker claims ready outbox rows, calls each plugin's hook on its own thread, and records
the outcome. A failure is retried with exponential backoff (or parked when permanent); a killed
process's leases expire (or are released at start-up when it ran on this host), so every event
is delivered to every plugin at least once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta

import attrs
from firebell.core.database import redact_url
from firebell.core.errors import DatabaseUnavailable, PermanentPluginError, RetryLater
from firebell.core.hookspecs import Link
from firebell.core.outbox import Claim, Outbox, new_owner_id
from firebell.core.plugin_host import PluginHost, hook_name_for
from firebell.core.store import EventStore

__all__ = ["Deliverer", "backoff_seconds"]

log = logging.getLogger("firebell.delivery")

Clock = Callable[[], datetime]

#: Seconds between looks for new work while deliveries are running.
_CLAIM_INTERVAL = 0.2


def _utcnow() -> datetime:
    return datetime.now(UTC)


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Seconds to wait after failed attempt number ``attempt``: doubling, capped, with jitter."""
    delay: float = min(cap, base * 2 ** (attempt - 1))
    return delay * (0.8 + 0.4 * random.random())


class Deliverer:
    """Runs plugin deliveries from the outbox, several at a time."""

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
    ) -> None:
        self.store = store
        self.host = host
        # Hooks get the settings with the database URL's password hidden (see hookspecs).
        self.hook_settings = attrs.evolve(
            host.settings, database_url=redact_url(host.settings.database_url)
        )
        self.outbox = Outbox(store, host.subscribers)
        self.owner = new_owner_id()
        self.clock = clock
        self.lease = lease
        self.max_workers = max_workers
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.redact = redact
        self._pool = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="firebell-delivery"
        )
        self._wake = threading.Event()
        # Done when new work may be ready while deliveries run: the drain loop waits on it
        # beside them, so it claims at once instead of at its next look.
        self._nudge: Future[None] = Future()
        self._nudge_lock = threading.Lock()

    def close(self) -> None:
        """Stop the worker threads (after the running deliveries end)."""
        self._pool.shutdown(wait=True)

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
        """Deliver until nothing is ready (retries not yet due are left); returns how many ran."""
        deadline = None if timeout is None else time.monotonic() + timeout
        running: dict[Future[None], Claim] = {}
        try:
            return self._drain(running, deadline)
        except DatabaseUnavailable:
            # Deliveries under way hold leases of ours: let them end before reporting, so that
            # the caller may release what is left (see run_forever).
            wait(running)
            raise

    def _drain(self, running: dict[Future[None], Claim], deadline: float | None) -> int:
        delivered = 0
        while True:
            # Taken before claiming: a commit during the claim still wakes the wait below.
            nudge = self._fresh_nudge()
            free = self.max_workers - len(running)
            claims: list[Claim] = []
            if free > 0:
                claims = self.outbox.claim(
                    owner=self.owner,
                    now=self.clock(),
                    lease=self.lease,
                    dependencies=self.host.dependencies(),
                    limit=free,
                    # Rows of a plugin switched off since stay for when it is back on.
                    plugins=self.host.subscribers,
                )
            for claim in claims:
                running[self._pool.submit(self.deliver, claim)] = claim
            if not running:
                return delivered
            if deadline is not None and time.monotonic() > deadline:
                wait(running)
                return delivered + len(running)
            # With a worker free, look for newly ready deliveries now and then instead of waiting
            # for one to end: one slow plugin (a hung call, a long Retry-After) must not hold up
            # the others' events.
            poll = _CLAIM_INTERVAL if len(running) < self.max_workers else None
            finished, _ = wait([*running, nudge], timeout=poll, return_when=FIRST_COMPLETED)
            for future in finished:
                if future is nudge:
                    continue
                running.pop(future)
                future.result()
                delivered += 1

    def run_forever(self, stop: threading.Event, *, poll_interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set, waking on :meth:`wake` or every ``poll_interval``.

        While the database is unavailable it says so once and keeps trying. When it is back,
        the deliveries the outage cut short (their outcome unrecorded) are released at once
        rather than after their lease, so they run again; this is the only thread delivering
        with this deliverer's leases.
        """
        started = False
        outage = False
        while not stop.is_set():
            try:
                if not started:
                    self.release_dead_leases()
                    started = True
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

    def deliver(self, claim: Claim) -> None:
        """Call the plugin's hooks for one claimed event and record the outcome."""
        started = time.perf_counter()
        outcome = "done"
        try:
            event = self.outbox.load_event(claim.position)
            incident = self.store.get_incident(claim.incident_id)
            arguments = {
                "event": event,
                "incident": incident,
                "settings": self.hook_settings,
                "attempt": claim.attempt,
                "link_now": lambda *links: self._link_now(claim, links),
            }
            lazy = {"history": lambda: self.store.select_events(claim.incident_id)}
            links = self.host.call(claim.plugin, hook_name_for(claim.event_type), arguments, lazy)
            links += self.host.call(claim.plugin, "firebell_event", arguments, lazy)
            self.outbox.complete(claim, links, now=self.clock())
        except DatabaseUnavailable:
            outcome = "database-unavailable"
            raise
        except Exception as error:
            outcome = self._record_failure(claim, error)
        finally:
            log.info(
                "delivery plugin=%s event=%s incident=%s position=%d attempt=%d outcome=%s "
                "duration_ms=%.1f",
                claim.plugin,
                claim.event_type,
                claim.incident_id,
                claim.position,
                claim.attempt,
                outcome,
                (time.perf_counter() - started) * 1000,
            )

    def _link_now(self, claim: Claim, links: tuple[Link, ...]) -> None:
        """A hook's ``link_now``: record ``links`` at once and let the plugins that wait for
        this one start on the event (the hook goes on with what only it needs)."""
        bad = [link for link in links if not isinstance(link, Link)]
        if bad:
            raise TypeError(f"plugin {claim.plugin!r}: link_now takes Link objects, not {bad!r}")
        self.outbox.release(claim, links, now=self.clock())
        self._poke()

    def _record_failure(self, claim: Claim, error: Exception) -> str:
        message = self.redact(f"{type(error).__name__}: {error}")
        now = self.clock()
        if isinstance(error, PermanentPluginError) or claim.attempt >= self.max_attempts:
            retry_at = None
            outcome = "failed"
        else:
            wait_for = backoff_seconds(claim.attempt, base=self.retry_base)
            if isinstance(error, RetryLater) and error.retry_after is not None:
                wait_for = max(wait_for, error.retry_after)
            retry_at = now + timedelta(seconds=wait_for)
            outcome = "rate-limited" if _rate_limited(error) else "retry"
        if not isinstance(error, RetryLater | PermanentPluginError):
            log.warning(
                "plugin %s raised on %s for %s",
                claim.plugin,
                claim.event_type,
                claim.incident_id,
                exc_info=error,
            )
        self.outbox.fail(
            claim, message, now=now, retry_at=retry_at, announce=not _rate_limited(error)
        )
        return outcome


def _rate_limited(error: Exception) -> bool:
    return isinstance(error, RetryLater) and error.rate_limited


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
