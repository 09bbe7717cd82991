"""The metrics page's figures: ``firebell stats`` (core/stats.py) for the last twelve months.

:func:`firebell.core.stats.load_facts` reads one row per incident, which takes a second or two
on a log of 100,000 incidents: too slow for a page. So the figures are kept, keyed by the log's
last position (one index lookup), and recomputed when the log has moved on: at once while the
read model is small, in a background thread when it is large (the page then shows the previous
figures, saying when they were computed, until the new ones are ready).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import attrs
import sqlalchemy as sa
from firebell.core.schema import events
from firebell.core.stats import Stats, load_facts, summarize
from firebell.core.stats_chart import render_chart
from firebell.core.store import EventStore

__all__ = ["SYNC_LIMIT", "Snapshot", "StatsCache", "window_start"]

log = logging.getLogger("firebell.web")

#: Up to this many incidents the figures are recomputed while the page waits.
SYNC_LIMIT = 5000


@attrs.frozen
class Snapshot:
    """The figures as of ``computed_at``, when the log ended at ``position``."""

    stats: Stats
    chart: str
    since: datetime
    computed_at: datetime
    position: int


def window_start(now: datetime, months: int) -> datetime:
    """The first instant of the month ``months - 1`` months before ``now``'s (UTC)."""
    now = now.astimezone(UTC)
    index = now.year * 12 + now.month - 1 - (months - 1)
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


class StatsCache:
    """Figures for the metrics page, recomputed only when the log has new events."""

    def __init__(
        self,
        store: EventStore,
        severities: Sequence[str],
        *,
        months: int = 12,
        sync_limit: int = SYNC_LIMIT,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.severities = tuple(severities)
        self.months = months
        self.sync_limit = sync_limit
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._refreshing = False

    def snapshot(self) -> tuple[Snapshot, bool]:
        """The figures, and whether newer ones are being computed (the page says so)."""
        now = self.clock()
        since = window_start(now, self.months)
        position = self._last_position()
        with self._lock:
            current = self._snapshot
            if current is not None and (current.position, current.since) == (position, since):
                return current, False
            busy = self._refreshing
        if current is not None and (busy or self.store.count_incidents() > self.sync_limit):
            if not busy:
                self._refresh_in_background(now, since, position)
            return current, True
        fresh = self._compute(now, since, position)
        return fresh, False

    def warm(self) -> threading.Thread | None:
        """Compute the figures in the background now, so the first visit finds them ready.

        Returns the thread doing it (None when one is already at work).
        """
        now = self.clock()
        return self._refresh_in_background(
            now, window_start(now, self.months), self._last_position()
        )

    def _last_position(self) -> int:
        with self.store.read() as connection:
            return int(connection.execute(sa.select(sa.func.max(events.c.position))).scalar() or 0)

    def _compute(self, now: datetime, since: datetime, position: int) -> Snapshot:
        facts = load_facts(self.store, since=since)
        stats = summarize(facts, severities=self.severities, since=since)
        title = f"Incidents per month since {since:%B %Y}"
        snapshot = Snapshot(stats, render_chart(stats, title=title), since, now, position)
        with self._lock:
            if self._snapshot is None or self._snapshot.position <= position:
                self._snapshot = snapshot
        return snapshot

    def _refresh_in_background(
        self, now: datetime, since: datetime, position: int
    ) -> threading.Thread | None:
        def run() -> None:
            try:
                self._compute(now, since, position)
            except Exception:  # the page keeps the previous figures; the next visit retries
                log.exception("computing the metrics failed")
            finally:
                with self._lock:
                    self._refreshing = False

        with self._lock:
            if self._refreshing:
                return None
            self._refreshing = True
        thread = threading.Thread(target=run, name="firebell-web-stats", daemon=True)
        thread.start()
        return thread
