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
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import UTC, datetime, timedelta

import attrs
from firebell.core.database import redact_url
from firebell.core.errors import DatabaseUnavailable, PermanentPluginError, RetryLater
from firebell.core.hookspecs import Link
from firebell.core.hung_calls import (
    HUNG_AFTER,
    Census,
    HungCallNotices,
    RunningDelivery,
    call_key,
)
from firebell.core.outbox import Claim, Outbox, new_owner_id
from firebell.core.plugin_host import PluginHost, hook_name_for
from firebell.core.stale_deliveries import StaleDeliveries, may_be_stale
from firebell.core.store import EventStore
from firebell.core.workers import DaemonPool

__all__ = ["HUNG_AFTER", "Deliverer", "RunningDelivery", "backoff_seconds"]

log = logging.getLogger("firebell.delivery")

Clock = Callable[[], datetime]

#: Seconds between looks for new work while deliveries are running.
_CLAIM_INTERVAL = 0.2

#: Seconds a drain that reached its deadline still gives the calls under way to end.
_GRACE = 2.0

#: At most this many seconds between looks at the leases of long calls, with every worker busy.
_RENEW_LOOK = 30.0

#: Seconds between a running worker's looks for leases held by ended processes of this host.
_DEAD_LEASE_LOOK = 10.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Seconds to wait after failed attempt number ``attempt``: doubling, capped, with jitter."""
    delay: float = min(cap, base * 2 ** (attempt - 1))
    return delay * (0.8 + 0.4 * random.random())


class Deliverer:
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

    def _drain(
        self, running: dict[Future[None], Claim], deadline: float | None, grace: float
    ) -> int:
        delivered = 0
        while True:
            # Taken before claiming: a commit during the claim still wakes the wait below.
            nudge = self._fresh_nudge()
            late = deadline is not None and time.monotonic() >= deadline
            if not late:
                self._start(running, self._census(running))
            if not running:
                return delivered
            if late:
                finished, _ = wait(running, timeout=grace)
                return delivered + self._collect(running, finished)
            self._renew_leases()
            poll = self._poll(self._census(running))
            if deadline is not None:
                poll = max(0.0, min(poll, deadline - time.monotonic()))
            finished, _ = wait([*running, nudge], timeout=poll, return_when=FIRST_COMPLETED)
            delivered += self._collect(running, (f for f in finished if f is not nudge))

    def _census(self, running: dict[Future[None], Claim]) -> Census:
        """The calls under way now, which of them are hung, and how many of ``running`` are not."""
        now = self.clock()
        with self._running_lock:
            under_way = sorted(self._running.values(), key=lambda r: r.started_at)
        hung = frozenset(
            call_key(r.claim) for r in under_way if now - r.started_at >= self.hung_after
        )
        active = sum(1 for claim in running.values() if call_key(claim) not in hung)
        return Census(under_way, hung, active)

    def _poll(self, census: Census) -> float:
        """Seconds the drain waits for a call to end (or a wake) before it looks again."""
        if census.active < self.max_workers and not self._at_cap(census):
            # A worker is free: look for newly ready deliveries now and then instead of waiting
            # for a call to end, since one slow plugin (a long Retry-After, a call that hangs)
            # must not hold up the others' events.
            return _CLAIM_INTERVAL
        # None is free: still look at the leases of long calls, and again when the oldest call
        # becomes hung (then a new thread may take new work).
        poll = self._renew_look()
        now = self.clock()
        for delivery in census.under_way:
            if call_key(delivery.claim) not in census.hung:
                to_hung = (delivery.started_at + self.hung_after - now).total_seconds()
                poll = min(poll, max(to_hung, _CLAIM_INTERVAL))
                break
        return poll

    def _at_cap(self, census: Census) -> bool:
        return len(census.under_way) >= self.max_workers + self.max_hung_calls

    def _start(self, running: dict[Future[None], Claim], census: Census) -> None:
        """Claim the ready deliveries there is room for and start their calls.

        Room: ``max_workers`` calls of this drain that are not hung, ``plugin_workers`` of them
        for one plugin, at most ``max_workers + max_hung_calls`` calls under way in all, and at
        most ``hung_plugin_calls`` of a plugin that has a hung call; the plugins with none are
        served first.
        """
        self._notices.found_hung(census, self.clock(), self._under_way)
        free = self.max_workers - census.active
        if self._at_cap(census):
            self._notices.at_cap(census)
            return
        self._notices.below_cap()
        free = min(free, self.max_workers + self.max_hung_calls - len(census.under_way))
        if free <= 0:
            return
        hung = census.count(hung=True)
        under_way = census.count(hung=False)
        # Rows of a plugin switched off since stay for when it is back on.
        subscribers = self.host.subscribers
        room = {
            plugin: self.plugin_workers - under_way.get(plugin, 0) + hung.get(plugin, 0)
            for plugin in subscribers
        }
        for plugin in hung:
            room[plugin] = min(room[plugin], self.hung_plugin_calls - under_way[plugin])
        claims = self._claim([p for p in subscribers if p not in hung and room[p] > 0], free, room)
        for plugin in subscribers:
            if plugin in hung and room[plugin] > 0 and free > len(claims):
                claims += self._claim([plugin], min(room[plugin], free - len(claims)), room)
        self._notices.limited(hung, under_way)
        now = self.clock()
        for claim in claims:
            key = (claim.position, claim.plugin)
            with self._running_lock:
                if key in self._running:
                    # Its lease ran out while the call still runs here (renewals failed, or
                    # were stopped: the drain that started it returned). The claim renewed the
                    # lease; the call under way records the outcome, once.
                    self._running[key] = attrs.evolve(
                        self._running[key], lease_until=now + self.lease
                    )
                    log.warning(
                        "plugin %s is still running %s for %s (position %d) in this process; "
                        "not starting it a second time",
                        claim.plugin,
                        claim.event_type,
                        claim.incident_id,
                        claim.position,
                    )
                    continue
                self._running[key] = RunningDelivery(claim, now, now + self.lease)
            running[self._pool.submit(self._run_call, claim)] = claim

    def _claim(self, plugins: list[str], limit: int, room: dict[str, int]) -> list[Claim]:
        if not plugins or limit <= 0:
            return []
        claims: list[Claim] = self.outbox.claim(
            owner=self.owner,
            now=self.clock(),
            lease=self.lease,
            dependencies=self.host.dependencies(),
            limit=limit,
            plugins=plugins,
            per_plugin=room,
        )
        return claims

    def _run_call(self, claim: Claim) -> None:
        try:
            self.deliver(claim)
        finally:
            with self._running_lock:
                ended = self._running.pop(call_key(claim), None)
            self._notices.ended(claim, ended, self.clock())

    def _under_way(self, key: tuple[int, str]) -> bool:
        with self._running_lock:
            return key in self._running

    @staticmethod
    def _collect(running: dict[Future[None], Claim], finished: Iterable[Future[None]]) -> int:
        count = 0
        for future in finished:
            running.pop(future)
            future.result()
            count += 1
        return count

    def _renew_look(self) -> float:
        return min(_RENEW_LOOK, self.lease.total_seconds() / 4)

    def _renew_leases(self) -> None:
        """Extend the lease of each call under way once half of it has passed.

        Renewing, rather than letting the lease run out, is what keeps a long or hung call from
        being started a second time beside itself (by this process or another), and keeps the
        plugin's later events for the incident behind it (one incident's events in order). The
        price: a call that never returns holds its delivery until this process stops (then the
        lease runs out and another process, or the restart, delivers it); the log says so at
        each renewal.
        """
        now = self.clock()
        with self._running_lock:
            due = [r for r in self._running.values() if r.lease_until - now < self.lease / 2]
        if not due:
            return
        until = now + self.lease
        renewed = self.outbox.renew(self.owner, [r.claim for r in due], until=until, now=now)
        with self._running_lock:
            for delivery in due:
                key = (delivery.claim.position, delivery.claim.plugin)
                # A lease lost is not asked for again at every look: at the next renewal.
                if key in self._running:
                    self._running[key] = attrs.evolve(self._running[key], lease_until=until)
        for delivery in due:
            log.warning(
                "plugin %s has been running %s for %s for %.0f s; %s",
                delivery.claim.plugin,
                delivery.claim.event_type,
                delivery.claim.incident_id,
                (now - delivery.started_at).total_seconds(),
                "its lease is renewed while it runs"
                if (delivery.claim.position, delivery.claim.plugin) in renewed
                else "its lease was lost: another process may deliver it again",
            )

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

    def deliver(self, claim: Claim) -> None:
        """Call the plugin's hooks for one claimed event and record the outcome.

        A delivery for an incident that ended while the plugin was off, to a plugin that created
        nothing for it, is skipped instead, with the plugin's other pending deliveries of that
        incident (see :mod:`firebell.core.stale_deliveries`).
        """
        started = time.perf_counter()
        outcome = "done"
        try:
            incident = self.store.get_incident(claim.incident_id)
            if may_be_stale(claim.plugin, incident):
                skipped = self.stale.skip_if_stale(claim, now=self.clock())
                if skipped is not None:
                    outcome = "skipped"
                    log.warning(
                        "plugin %s: %d pending %s of %s %s",
                        skipped.plugin,
                        skipped.count,
                        "delivery" if skipped.count == 1 else "deliveries",
                        skipped.incident_id,
                        skipped.reason,
                    )
                    return
            event = self.outbox.load_event(claim.position)
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
        if retry_at is None:
            # Nothing retries it now: whoever runs Firebell must hear of it, not only the
            # incident's channel (which a refused Slack token cannot reach).
            advice = (
                ""
                if "firebell retry" in message
                else f" Fix the cause, then run `firebell retry --plugin {claim.plugin}`."
            )
            log.warning(
                "plugin %s gave up on %s for %s after %d %s: %s%s",
                claim.plugin,
                claim.event_type,
                claim.incident_id,
                claim.attempt,
                "attempt" if claim.attempt == 1 else "attempts",
                message if message.endswith(".") else message + ".",
                advice,
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
