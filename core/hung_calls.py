"""Calls under way in the delivery worker, and the hung ones among them: what the
:class:`~firebell.core.delivery.Deliverer` counts before it claims, and what it says of them.

Hung calls do not starve delivery. At most ``max_workers`` calls run at once, and at most
``plugin_workers`` of them for one plugin (all but a quarter), so that a plugin whose calls hang
never takes every worker, not even before they are taken as hung. A call under
way for longer than ``hung_after`` (3 minutes by default: more than a slow call of any built-in
plugin takes, each of its requests being bounded by a 10 to 30 s timeout) is *hung*: it keeps its
thread, its lease and its place in its incident's order, and no longer counts against
``max_workers``, so that a new thread takes new work. Two limits keep a vendor that hangs on
every call from growing the threads without bound and from taking them all:

- while a plugin has a hung call, at most ``hung_plugin_calls`` of its calls are under way (half
  of ``max_workers`` by default); its other deliveries wait, unclaimed, until one ends. Its
  other plugins' deliveries are not held up: they are claimed first. A plugin thus holds at most
  ``max(hung_plugin_calls, plugin_workers)`` hung calls.
- at most ``max_workers + max_hung_calls`` calls are under way in all (``max_hung_calls`` is
  three times ``max_workers`` by default: three vendors hanging at once); at that cap nothing
  new starts until a call ends, and an error names the plugins whose calls hang.

Both are logged once when they begin to hold (with each call found hung), and the remedy is the
same as before: a restart cuts the hung calls off and delivers them again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
from firebell.core.outbox import Claim

__all__ = ["HUNG_AFTER", "Census", "HungCallNotices", "RunningDelivery", "call_key"]

log = logging.getLogger("firebell.delivery")

#: How long a call runs before it is hung: it keeps its thread, and a new one takes new work.
HUNG_AFTER = timedelta(minutes=3)


@attrs.frozen
class RunningDelivery:
    """A delivery whose plugin call is under way in this process: since when, and until when
    its lease holds unless renewed."""

    claim: Claim
    started_at: datetime
    lease_until: datetime


def call_key(claim: Claim) -> tuple[int, str]:
    """A call's key among the calls under way: its event's position and its plugin."""
    return claim.position, claim.plugin


@attrs.frozen
class Census:
    """The calls under way in this process at one moment, as the next claim sees them."""

    #: Every call under way in this process, whichever drain started it.
    under_way: list[RunningDelivery]
    #: The (position, plugin) of those running for ``hung_after`` or longer.
    hung: frozenset[tuple[int, str]]
    #: How many calls of the current drain are not hung: they count against ``max_workers``.
    active: int

    def count(self, *, hung: bool) -> dict[str, int]:
        """Calls under way by plugin: all of them, or (``hung=True``) the hung ones."""
        counts: dict[str, int] = {}
        for delivery in self.under_way:
            if not hung or call_key(delivery.claim) in self.hung:
                counts[delivery.claim.plugin] = counts.get(delivery.claim.plugin, 0) + 1
        return counts


class HungCallNotices:
    """What the deliverer says of hung calls, each thing once, when it begins: a call found
    hung (and when it ends after all), a plugin held to ``hung_plugin_calls``, the cap reached."""

    def __init__(
        self,
        *,
        hung_after: timedelta,
        max_workers: int,
        hung_plugin_calls: int,
        max_hung_calls: int,
    ) -> None:
        self.hung_after = hung_after
        self.max_workers = max_workers
        self.hung_plugin_calls = hung_plugin_calls
        self.max_hung_calls = max_hung_calls
        self._lock = threading.Lock()
        self._hung_told: set[tuple[int, str]] = set()
        self._limited_told: set[str] = set()
        self._cap_told = False

    def found_hung(
        self, census: Census, now: datetime, under_way: Callable[[tuple[int, str]], bool]
    ) -> None:
        """Say of each hung call of ``census`` still ``under_way`` that it is hung, once."""
        with self._lock:
            # Against calls that ended since the census (see ended).
            found = [
                delivery
                for delivery in census.under_way
                if call_key(delivery.claim) in census.hung
                and call_key(delivery.claim) not in self._hung_told
                and under_way(call_key(delivery.claim))
            ]
            self._hung_told.update(call_key(delivery.claim) for delivery in found)
        for delivery in found:
            log.warning(
                "plugin %s has been running %s for %s (position %d) for %.0f s: it is taken "
                "as hung (hung_after %.0f s) and no longer counts against the %d delivery "
                "workers; it keeps its thread and its lease, and the plugin's later events "
                "for %s wait behind it",
                delivery.claim.plugin,
                delivery.claim.event_type,
                delivery.claim.incident_id,
                delivery.claim.position,
                (now - delivery.started_at).total_seconds(),
                self.hung_after.total_seconds(),
                self.max_workers,
                delivery.claim.incident_id,
            )

    def ended(self, claim: Claim, delivery: RunningDelivery | None, now: datetime) -> None:
        """``claim``'s call ended: say so if it had been said to hang."""
        with self._lock:
            was_hung = call_key(claim) in self._hung_told
            self._hung_told.discard(call_key(claim))
        if was_hung:
            log.warning(
                "plugin %s's hung call for %s of %s (position %d) ended after %.0f s",
                claim.plugin,
                claim.event_type,
                claim.incident_id,
                claim.position,
                (now - delivery.started_at).total_seconds() if delivery else 0.0,
            )

    def limited(self, hung: dict[str, int], under_way: dict[str, int]) -> None:
        """Say once, when it begins, that a plugin's hung calls hold back its other deliveries."""
        with self._lock:
            told = []
            for plugin in sorted(hung):
                if under_way[plugin] < self.hung_plugin_calls:
                    self._limited_told.discard(plugin)
                elif plugin not in self._limited_told:
                    self._limited_told.add(plugin)
                    told.append(plugin)
            self._limited_told &= set(hung)
        for plugin in told:
            log.warning(
                "plugin %s has %d %s hung, %d under way in all; while it hangs, no call of "
                "its own starts until fewer than %d are under way (hung_plugin_calls): its "
                "other deliveries wait, the other plugins go on. Restart firebell run to cut "
                "the hung calls off (they are delivered again)",
                plugin,
                hung[plugin],
                "call" if hung[plugin] == 1 else "calls",
                under_way[plugin],
                self.hung_plugin_calls,
            )

    def at_cap(self, census: Census) -> None:
        """Say once, when it begins, that hung calls hold every thread delivery may have."""
        with self._lock:
            if self._cap_told:
                return
            self._cap_told = True
        hung = census.count(hung=True)
        log.error(
            "delivery stopped: %d plugin calls are under way, the most this process runs "
            "(max_workers %d + max_hung_calls %d), %d of them hung (%s); nothing more is "
            "delivered, to any plugin, until one ends. Restart firebell run to cut the hung "
            "calls off (they are delivered again)",
            len(census.under_way),
            self.max_workers,
            self.max_hung_calls,
            len(census.hung),
            ", ".join(f"{plugin}: {count}" for plugin, count in sorted(hung.items())),
        )

    def below_cap(self) -> None:
        """The calls under way are below the cap (again): say so next time it is reached."""
        with self._lock:
            self._cap_told = False
