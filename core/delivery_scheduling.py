"""Claiming ready deliveries and running them side by side: the scheduling of the deliverer.

A drain of :class:`~firebell.core.delivery.Deliverer` claims what there is room for (per plugin,
in all, and beside hung calls: :mod:`firebell.core.hung_calls`), starts each call on a worker
thread, waits for one to end or for new work, and renews the leases of the calls under way so
that none is started a second time while it still runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import datetime, timedelta

import attrs
from firebell.core.hung_calls import Census, HungCallNotices, RunningDelivery, call_key
from firebell.core.outbox import Claim, Outbox
from firebell.core.plugin_host import PluginHost
from firebell.core.workers import DaemonPool

__all__ = ["DeliveryScheduling"]

log = logging.getLogger("firebell.delivery")

#: Seconds between looks for new work while deliveries are running.
_CLAIM_INTERVAL = 0.2

#: At most this many seconds between looks at the leases of long calls, with every worker busy.
_RENEW_LOOK = 30.0


class DeliveryScheduling:
    """The drain loop of :class:`~firebell.core.delivery.Deliverer`: claiming, starting the
    calls, collecting them, renewing their leases."""

    # Set by Deliverer.__init__ (see there).
    host: PluginHost
    outbox: Outbox
    owner: str
    clock: Callable[[], datetime]
    lease: timedelta
    max_workers: int
    hung_after: timedelta
    hung_plugin_calls: int
    max_hung_calls: int
    plugin_workers: int
    _pool: DaemonPool
    _closed: bool
    _running: dict[tuple[int, str], RunningDelivery]
    _running_lock: threading.Lock
    _notices: HungCallNotices
    # Methods of Deliverer and DeliveryAttempts.
    _fresh_nudge: Callable[[], Future[None]]
    deliver: Callable[[Claim], None]

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
        if self._closed:
            return  # nothing new starts once the deliverer is closed (the process is stopping)
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
            if not self._closed:  # else its lease runs out and it runs again then
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
        renewed = self.outbox.renew(self.owner, [r.claim for r in due], until=until)
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
