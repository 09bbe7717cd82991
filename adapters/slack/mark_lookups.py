"""Lookups of marked messages that Slack refused for now, tried again until they succeed.

When a pin or reaction comes in, the adapter asks Slack for the message (``reactions.get``,
``pins.list``). Slack has already had its 200 for the event and will not send it again, so a
lookup that fails (a ``Retry-After`` too long to wait inline, a 5xx after the client's own retries,
a timeout, a dropped connection, a refusal such as ``missing_scope``) must not lose the mark:

- the listener records the entry at once from what the event carries (a pin's event holds the
  message; a reaction's only where it is, so its text is
  :data:`~firebell.adapters.slack.pending_entries.PENDING_TEXT` until read);
- :class:`LookupRetries` asks Slack again with backoff (honouring ``Retry-After``) and makes the
  timeline match the answer: the placeholder becomes the message's text, an entry whose message
  lost its marks meanwhile goes.

The retries end with the incident. When it is closed (from Slack or the CLI; the thread looks
every :data:`DEFAULT_CLOSE_CHECK` seconds, whatever the backoff), each of its lookups gets one
last try at once: Slack's answer fills the entry in (or takes it off, the mark gone), and when
Slack still cannot show the message the placeholder, which promises an answer that will not
come, becomes :func:`~firebell.adapters.slack.pending_entries.unread_text` with a link to the
message (:func:`~firebell.adapters.slack.pending_entries.give_up_entry`). The post-mortem is
refreshed by the entry's event as ever.

What survives a restart is the log itself: :meth:`LookupRetries.start` schedules every entry
whose text is still the placeholder, closed incidents' included (those get their last try). A
failed lookup after an *unmark* takes the entry off at once, in the log; its retry, which puts
the entry back if the message is still marked otherwise, is held in memory only.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable

import attrs
from firebell.adapters.slack.pending_entries import PENDING_TEXT, is_pending
from firebell.core.incident import IncidentState
from firebell.core.store import EventStore
from firebell.core.timeline_commands import incidents_holding
from firebell.plugins.slack.client import retry_after_seconds
from slack_sdk.errors import SlackApiError, SlackClientError

__all__ = [
    "DEFAULT_CLOSE_CHECK",
    "DEFAULT_RETRY_BASE",
    "DEFAULT_RETRY_MAX",
    "LookupRetries",
    "PendingLookup",
    "lookup_failure",
    "retry_after",
    "running_retries",
]

log = logging.getLogger("firebell.slack.timeline")

DEFAULT_RETRY_BASE = 5.0
"""Seconds before the first retry of a failed lookup; each failure doubles it."""
DEFAULT_RETRY_MAX = 900.0
"""Longest wait between two retries of one lookup (a longer ``Retry-After`` is cut to this)."""
DEFAULT_CLOSE_CHECK = 30.0
"""Seconds between two looks at whether the incidents of waiting lookups were closed."""


def lookup_failure(error: BaseException) -> str | None:
    """What went wrong asking Slack for a marked message, or None when ``error`` is not that.

    Every answer other than the message (refusals, rate limits, server errors) and every
    transport failure (timeouts, dropped connections) counts: the lookup is worth retrying.
    """
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", None)
        code = error.response.get("error") if hasattr(error.response, "get") else None
        return f"{code or 'error'} (HTTP {status})"
    if isinstance(error, SlackClientError | OSError):  # URLError and timeouts included
        return f"{type(error).__name__}: {error}"
    return None


def retry_after(error: BaseException) -> float | None:
    """The ``Retry-After`` Slack answered with ``error`` (seconds), or None."""
    if not isinstance(error, SlackApiError):
        return None
    return retry_after_seconds(getattr(error.response, "headers", None))


@attrs.frozen
class PendingLookup:
    """A marked message to look up again: where it is, and who marked or unmarked it."""

    incident_id: str
    channel_id: str
    ts: str
    actor: str


#: Looks the message up and makes the timeline match; raises when Slack cannot show it now.
Reconcile = Callable[[PendingLookup], None]


class _CloseCheck:
    """What the retry thread's wait returns when it is time to look for closed incidents."""


_CLOSE_CHECK = _CloseCheck()

_running: weakref.WeakSet[LookupRetries] = weakref.WeakSet()


def running_retries() -> list[LookupRetries]:
    """The started, not stopped :class:`LookupRetries` of this process (for tests and shutdown:
    a Bolt app holds its listeners out of reach)."""
    return list(_running)


class LookupRetries:
    """A thread that retries failed lookups with backoff until Slack answers.

    ``reconcile`` does one attempt; whatever it raises that :func:`lookup_failure` recognises
    schedules the next one (``retry_base`` doubling up to ``retry_max`` seconds, or Slack's
    ``Retry-After`` when longer). Other errors are logged and the lookup is retried too: a
    database that was away comes back. A lookup stops when it succeeds or its incident is
    closed and ``reconcile`` settled it once more (it sees the close). Every ``close_check``
    seconds the thread looks whether the incidents of waiting lookups were closed and, if so,
    runs their lookups at once rather than after the backoff (up to ``retry_max``).
    """

    def __init__(
        self,
        store: EventStore,
        reconcile: Reconcile,
        *,
        retry_base: float = DEFAULT_RETRY_BASE,
        retry_max: float = DEFAULT_RETRY_MAX,
        close_check: float = DEFAULT_CLOSE_CHECK,
    ) -> None:
        self.store = store
        self.reconcile = reconcile
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.close_check = close_check
        self._checked_at = time.monotonic()
        self._queue: list[tuple[float, int, PendingLookup, int]] = []
        self._scheduled: set[PendingLookup] = set()
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; it first schedules every entry the log holds as pending."""
        with self._wake:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="firebell-slack-lookups", daemon=True
            )
            self._thread.start()
            _running.add(self)

    def stop(self) -> None:
        """Stop the thread after the attempt under way (pending lookups stay in the log)."""
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        _running.discard(self)
        if self._thread is not None:
            self._thread.join(5)

    def pending_in_log(self) -> list[PendingLookup]:
        """Entries still waiting for their message's text (of closed incidents too)."""
        found = []
        try:
            for incident in incidents_holding(self.store, PENDING_TEXT):
                found += [
                    PendingLookup(
                        incident.id, entry.channel_id, entry.message_ts, entry.added_by or ""
                    )
                    for entry in incident.timeline_entries
                    if is_pending(entry) and entry.channel_id and entry.message_ts
                ]
        except Exception as error:
            log.warning("could not look for timeline entries waiting for Slack: %s", error)
        return found

    def schedule(self, lookup: PendingLookup, *, attempt: int = 0, wait: float = 0.0) -> None:
        """Look ``lookup`` up again after ``wait`` seconds (once, however often scheduled)."""
        with self._wake:
            if lookup in self._scheduled:
                return
            self._scheduled.add(lookup)
            due = time.monotonic() + wait
            heapq.heappush(self._queue, (due, next(self._order), lookup, attempt))
            self._wake.notify_all()

    def delay(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0 for the first)."""
        backoff = self.retry_base * float(2 ** min(attempt, 20))
        asked = retry_after(error) if error is not None else None
        return min(max(backoff, asked or 0.0), self.retry_max)

    @property
    def waiting(self) -> int:
        """How many lookups are scheduled."""
        with self._wake:
            return len(self._scheduled)

    def _next(self) -> tuple[PendingLookup, int] | _CloseCheck | None:
        with self._wake:
            while not self._stopped:
                now = time.monotonic()
                if self._queue and self._queue[0][0] <= now:
                    _, _, lookup, attempt = heapq.heappop(self._queue)
                    # A failure of this message's lookup meanwhile schedules it anew.
                    self._scheduled.discard(lookup)
                    return lookup, attempt
                if not self._queue:
                    self._wake.wait()
                    continue
                check_at = self._checked_at + self.close_check
                if check_at <= now:
                    return _CLOSE_CHECK
                self._wake.wait(min(self._queue[0][0], check_at) - now)
            return None

    def _hurry_closed(self) -> None:
        """Make the lookups of incidents closed meanwhile due now: their last try is at the close."""
        with self._wake:
            self._checked_at = time.monotonic()
            waiting = {job[2].incident_id for job in self._queue}
        closed = set()
        for incident_id in waiting:
            try:
                incident = self.store.get_incident(incident_id)
            except Exception as error:
                log.warning("could not read %s to see whether it closed: %s", incident_id, error)
                continue
            if incident is not None and incident.state is IncidentState.CLOSED:
                closed.add(incident_id)
        if not closed:
            return
        with self._wake:
            now = time.monotonic()
            self._queue = [
                (min(due, now), order, lookup, attempt)
                if lookup.incident_id in closed
                else (due, order, lookup, attempt)
                for due, order, lookup, attempt in self._queue
            ]
            heapq.heapify(self._queue)

    def _run(self) -> None:
        # On this thread, so that reading the incidents never delays the app's start.
        for lookup in self.pending_in_log():
            self.schedule(lookup)
        while (job := self._next()) is not None:
            if isinstance(job, _CloseCheck):
                self._hurry_closed()
                continue
            lookup, attempt = job
            try:
                self.reconcile(lookup)
            except Exception as error:
                wait = self.delay(attempt, error)
                problem = lookup_failure(error) or f"{type(error).__name__}: {error}"
                log.warning(
                    "still cannot read the marked message %s of %s in %s: %s; next try in %.0f s",
                    lookup.ts,
                    lookup.channel_id,
                    lookup.incident_id,
                    problem,
                    wait,
                )
                self.schedule(lookup, attempt=attempt + 1, wait=wait)
