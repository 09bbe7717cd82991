"""One delivery attempt: a plugin's hooks called for a claimed event, and the outcome recorded.

The outcome is done, skipped (an incident that ended while the plugin was off:
:mod:`firebell.core.stale_deliveries`), retried later with exponential backoff (at least the
``retry_after`` a :class:`~firebell.core.errors.RetryLater` asks for), or failed for good (a
:class:`~firebell.core.errors.PermanentPluginError`, or the attempts used up).
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from firebell.core.config import FirebellConfig
from firebell.core.errors import (
    DatabaseUnavailable,
    NothingToDo,
    PermanentPluginError,
    RetryLater,
)
from firebell.core.hookspecs import Link
from firebell.core.outbox import Claim, Outbox
from firebell.core.plugin_host import PluginHost, hook_name_for
from firebell.core.stale_deliveries import StaleDeliveries, may_be_stale
from firebell.core.store import EventStore

__all__ = ["RETRYING", "DeliveryAttempts", "backoff_seconds"]

log = logging.getLogger("firebell.delivery")

#: Set (true) on the log record that says a delivery failed and is retried.
RETRYING = "firebell_retrying"


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Seconds to wait after failed attempt number ``attempt``: doubling, capped, with jitter."""
    delay: float = min(cap, base * 2 ** (attempt - 1))
    return delay * (0.8 + 0.4 * random.random())


class DeliveryAttempts:
    """The calls of :class:`~firebell.core.delivery.Deliverer`: one claimed event to one plugin,
    and what came of it."""

    # Set by Deliverer.__init__ (see there).
    store: EventStore
    host: PluginHost
    hook_settings: FirebellConfig
    outbox: Outbox
    stale: StaleDeliveries
    clock: Callable[[], datetime]
    max_attempts: int
    retry_base: float
    redact: Callable[[str], str]
    _closed: bool
    # A method of Deliverer.
    _poke: Callable[[], None]

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
        except NothingToDo as nothing:
            # Done, but the service was not reached: no "works again" for it (see complete).
            self.outbox.complete(claim, (), now=self.clock(), nothing_to_do=str(nothing))
            outcome = "nothing-to-do"
        except DatabaseUnavailable:
            outcome = "database-unavailable"
            raise
        except Exception as error:
            if self._stopping():
                # Cut short by this process's end (a closed deliverer; an interpreter that
                # stops takes no more thread-pool work: "cannot schedule new futures after
                # interpreter shutdown"): nothing says the vendor failed, so the timeline must
                # not say so. The lease is left to run out, and the delivery runs again then
                # (at once on this host: see Deliverer.release_dead_leases).
                outcome = "cut-short"
                log.info(
                    "plugin %s on %s for %s was cut short as this process stops (%s); "
                    "not recorded, it runs again once its lease ends",
                    claim.plugin,
                    claim.event_type,
                    claim.incident_id,
                    self.redact(f"{type(error).__name__}: {error}"),
                )
            else:
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

    def _stopping(self) -> bool:
        """Whether this process is stopping: the deliverer is closed, or the interpreter ends."""
        return self._closed or sys.is_finalizing()

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
        if retry_at is not None and not _rate_limited(error):
            # The cause, in the log of the process that fails: a warning when the delivery
            # starts failing, then a line per attempt (the channel hears once, at the start).
            log.log(
                logging.WARNING if claim.attempt == 1 else logging.INFO,
                "plugin %s failed on %s for %s (attempt %d): %s Next attempt at %s.",
                claim.plugin,
                claim.event_type,
                claim.incident_id,
                claim.attempt,
                message if message.endswith(".") else message + ".",
                f"{retry_at:%H:%M:%S} UTC",
                # A command's closing note says the same; the CLI leaves this out without -v.
                extra={RETRYING: True},
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
