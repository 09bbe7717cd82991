"""The metrics page's figures: incidents per month and severity, from the read model.

One grouped query over the ``incidents`` table (never the incidents themselves), cached until
the log moves on: the cache key is the log's last position, which costs one index lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import attrs
import sqlalchemy as sa
from firebell.core.schema import events, incidents
from firebell.core.store import EventStore

__all__ = ["MonthCounts", "MonthlyCounter", "month_keys"]


@attrs.frozen
class MonthCounts:
    """Incidents declared per month (``YYYY-MM``) and severity, and the totals."""

    months: tuple[str, ...]
    severities: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    by_state: dict[str, int]
    total: int

    def in_month(self, month: str) -> int:
        """All incidents declared in ``month``."""
        return sum(self.counts.get(month, {}).values())

    @property
    def busiest(self) -> int:
        """The most incidents in one month of the range (at least 1, for scaling bars)."""
        return max([1, *(self.in_month(month) for month in self.months)])


def month_keys(now: datetime, count: int) -> tuple[str, ...]:
    """The ``count`` months up to and including ``now``'s, oldest first (``YYYY-MM``)."""
    year, month = now.year, now.month
    keys = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return tuple(reversed(keys))


def _month_of(column: sa.ColumnElement[datetime], dialect: str) -> sa.ColumnElement[str]:
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)  # SQLite stores naive UTC text


class MonthlyCounter:
    """Counts for the metrics page, recomputed only when the log has new events."""

    def __init__(self, store: EventStore, severities: Sequence[str], *, months: int = 12) -> None:
        self.store = store
        self.severities = tuple(severities)
        self.months = months
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, str], MonthCounts] | None = None

    def counts(self, now: datetime | None = None) -> MonthCounts:
        """The figures for the ``months`` months up to ``now`` (default: the current month)."""
        keys = month_keys((now or datetime.now(UTC)).astimezone(UTC), self.months)
        with self.store.read() as connection:
            last = connection.execute(sa.select(sa.func.max(events.c.position))).scalar() or 0
            stamp = (int(last), keys[-1])
            with self._lock:
                if self._cached is not None and self._cached[0] == stamp:
                    return self._cached[1]
            result = self._compute(connection, keys)
        with self._lock:
            self._cached = (stamp, result)
        return result

    def _compute(self, connection: sa.Connection, keys: tuple[str, ...]) -> MonthCounts:
        first = datetime.strptime(keys[0], "%Y-%m").replace(tzinfo=UTC)
        month = _month_of(incidents.c.declared_at, connection.dialect.name).label("month")
        rows = connection.execute(
            sa.select(month, incidents.c.severity, sa.func.count())
            .where(incidents.c.declared_at >= first)
            .group_by(month, incidents.c.severity)
        ).all()
        counts: dict[str, dict[str, int]] = {key: {} for key in keys}
        seen = list(self.severities)
        for key, severity, count in rows:
            if key in counts:
                counts[key][severity] = int(count)
                if severity not in seen:
                    seen.append(severity)  # a severity since removed from plugins.toml
        by_state = {
            str(state): int(count)
            for state, count in connection.execute(
                sa.select(incidents.c.state, sa.func.count()).group_by(incidents.c.state)
            ).all()
        }
        return MonthCounts(keys, tuple(seen), counts, by_state, sum(by_state.values()))
