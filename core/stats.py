"""Incident metrics from the read model: how many, how fast resolved, closed and first updated.

Reads one row per incident (never replays the log): :func:`load_facts` takes the few times each
incident's read-model row holds, :func:`summarize` turns them into :class:`Stats` (overall, per
severity and per month of the declare, UTC), :func:`stats_json` into the JSON ``firebell stats
--json`` prints. The web console uses the same three functions; the chart is
:func:`firebell.core.stats_chart.render_chart`.

Durations run from the declare: *time to resolve* to the (last) resolve, *time to close* to the
close, *time to first update* to the first status update. Open incidents count, but have no
durations yet.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa
from firebell.core.schema import incidents
from firebell.core.store import EventStore

__all__ = [
    "Distribution",
    "Figures",
    "IncidentFacts",
    "Stats",
    "distribution",
    "load_facts",
    "month_of",
    "months_between",
    "stats_json",
    "summarize",
]

_BATCH = 2000


@attrs.frozen
class IncidentFacts:
    """What the metrics need of one incident (all times UTC)."""

    id: str
    severity: str
    state: str
    declared_at: datetime
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    first_update_at: datetime | None = None

    def _since_declared(self, moment: datetime | None) -> timedelta | None:
        return moment - self.declared_at if moment is not None else None

    @property
    def time_to_resolve(self) -> timedelta | None:
        """Declared to resolved (the last resolve, after any reopen); None while open."""
        return self._since_declared(self.resolved_at)

    @property
    def time_to_close(self) -> timedelta | None:
        """Declared to closed; None until closed."""
        return self._since_declared(self.closed_at)

    @property
    def time_to_first_update(self) -> timedelta | None:
        """Declared to the first status update; None without one."""
        return self._since_declared(self.first_update_at)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def load_facts(
    store: EventStore,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    severity: str | None = None,
) -> list[IncidentFacts]:
    """The facts of every incident declared in ``[since, until)`` (of ``severity``), oldest first.

    Filters on the read model's indexed columns; the other times come from each row's JSON.
    """
    query = sa.select(
        incidents.c.id,
        incidents.c.severity,
        incidents.c.state,
        incidents.c.declared_at,
        incidents.c.data,
    ).order_by(incidents.c.declared_at, incidents.c.id)
    if since is not None:
        query = query.where(incidents.c.declared_at >= since)
    if until is not None:
        query = query.where(incidents.c.declared_at < until)
    if severity is not None:
        query = query.where(incidents.c.severity == severity)
    facts = []
    with store.read() as connection:
        result = connection.execution_options(yield_per=_BATCH).execute(query)
        for row in result:
            data = json.loads(row.data)
            facts.append(
                IncidentFacts(
                    id=row.id,
                    severity=row.severity,
                    state=row.state,
                    declared_at=row.declared_at,
                    resolved_at=_moment(data.get("resolved_at")),
                    closed_at=_moment(data.get("closed_at")),
                    first_update_at=_moment(data.get("first_update_at")),
                )
            )
    return facts


@attrs.frozen
class Distribution:
    """How a duration is spread: how many incidents have one, the median and the 90th percentile."""

    count: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None


def distribution(durations: Iterable[timedelta | None]) -> Distribution:
    """The median and 90th percentile (interpolated between ranks) of the known ``durations``."""
    seconds = sorted(d.total_seconds() for d in durations if d is not None)
    if not seconds:
        return Distribution()
    if len(seconds) == 1:
        only = timedelta(seconds=seconds[0])
        return Distribution(1, only, only)
    p90 = statistics.quantiles(seconds, n=10, method="inclusive")[8]
    return Distribution(
        len(seconds),
        timedelta(seconds=statistics.median(seconds)),
        timedelta(seconds=p90),
    )


@attrs.frozen
class Figures:
    """The metrics of a group of incidents."""

    incidents: int = 0
    open: int = 0
    resolved: int = 0
    closed: int = 0
    time_to_resolve: Distribution = Distribution()
    time_to_close: Distribution = Distribution()
    time_to_first_update: Distribution = Distribution()
    by_severity: Mapping[str, int] = attrs.field(factory=dict)


def _figures(group: Sequence[IncidentFacts], severities: Sequence[str]) -> Figures:
    counts = {name: 0 for name in severities}
    for facts in group:
        counts[facts.severity] = counts.get(facts.severity, 0) + 1
    return Figures(
        incidents=len(group),
        open=sum(1 for f in group if f.state == "open"),
        resolved=sum(1 for f in group if f.state == "resolved"),
        closed=sum(1 for f in group if f.state == "closed"),
        time_to_resolve=distribution(f.time_to_resolve for f in group),
        time_to_close=distribution(f.time_to_close for f in group),
        time_to_first_update=distribution(f.time_to_first_update for f in group),
        by_severity=counts,
    )


def month_of(moment: datetime) -> str:
    """``2026-06``: the UTC month of ``moment``."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (``YYYY-MM``), both included."""
    year, month = (int(part) for part in first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@attrs.frozen
class Stats:
    """The metrics overall, per severity (in the configured order) and per month (every month
    from the first incident's to the last one's, empty ones included)."""

    overall: Figures
    by_severity: Mapping[str, Figures]
    by_month: Mapping[str, Figures]
    since: datetime | None = None
    severity: str | None = None


def summarize(
    facts: Sequence[IncidentFacts],
    *,
    severities: Sequence[str] = (),
    since: datetime | None = None,
    severity: str | None = None,
) -> Stats:
    """The :class:`Stats` of ``facts``; ``severities`` orders (and always lists) the severities."""
    order = list(severities)
    for item in facts:
        if item.severity not in order:
            order.append(item.severity)
    if severity is not None:
        order = [name for name in order if name == severity] or [severity]
    by_severity = {
        name: _figures([f for f in facts if f.severity == name], order) for name in order
    }
    by_month: dict[str, Figures] = {}
    if facts:
        months = months_between(
            month_of(min(f.declared_at for f in facts)), month_of(max(f.declared_at for f in facts))
        )
        grouped: dict[str, list[IncidentFacts]] = {month: [] for month in months}
        for item in facts:
            grouped[month_of(item.declared_at)].append(item)
        by_month = {month: _figures(group, order) for month, group in grouped.items()}
    return Stats(_figures(facts, order), by_severity, by_month, since, severity)


def _minutes(value: timedelta | None) -> float | None:
    return round(value.total_seconds() / 60, 1) if value is not None else None


def _distribution_json(value: Distribution) -> dict[str, Any]:
    return {
        "count": value.count,
        "median_minutes": _minutes(value.median),
        "p90_minutes": _minutes(value.p90),
    }


def _figures_json(figures: Figures) -> dict[str, Any]:
    return {
        "incidents": figures.incidents,
        "open": figures.open,
        "resolved": figures.resolved,
        "closed": figures.closed,
        "by_severity": dict(figures.by_severity),
        "time_to_resolve": _distribution_json(figures.time_to_resolve),
        "time_to_close": _distribution_json(figures.time_to_close),
        "time_to_first_update": _distribution_json(figures.time_to_first_update),
    }


def stats_json(stats: Stats) -> dict[str, Any]:
    """``stats`` as JSON-ready data (durations in minutes, one decimal)."""
    return {
        "since": stats.since.isoformat() if stats.since else None,
        "severity": stats.severity,
        "overall": _figures_json(stats.overall),
        "by_severity": {name: _figures_json(f) for name, f in stats.by_severity.items()},
        "by_month": {month: _figures_json(f) for month, f in stats.by_month.items()},
    }
