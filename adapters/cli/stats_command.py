"""``firebell stats``: how many incidents, and how fast they were resolved, closed and updated.

Figures overall, per severity and per month (UTC), from the read model
(:mod:`firebell.core.stats`); ``--json`` for scripts; ``--chart PATH.svg`` writes the chart of
incidents and median time to resolve per month (:mod:`firebell.core.stats_chart`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from firebell.adapters.cli.problems import writing
from firebell.core.files import write_atomically
from firebell.core.runtime import Firebell
from firebell.core.stats import Distribution, Figures, Stats, load_facts, stats_json, summarize
from firebell.core.stats_chart import format_duration, render_chart

__all__ = ["parse_date", "print_stats", "stats"]


def parse_date(text: str) -> datetime:
    """``--since``: ``2026-06-01`` or a full ISO time; UTC unless the time names a zone."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date; write it like 2026-06-01 (or 2026-06-01T14:00Z)",
            param_hint="--since",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _duration(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else "-"


def _distribution(value: Distribution) -> str:
    if not value.count:
        return "-"
    return f"median {_duration(value.median)}, p90 {_duration(value.p90)} (n={value.count})"


def _row(label: str, figures: Figures) -> str:
    return (
        f"{label:<10} {figures.incidents:>5}  "
        f"{_duration(figures.time_to_resolve.median):>8} {_duration(figures.time_to_resolve.p90):>8}  "
        f"{_duration(figures.time_to_close.median):>8} {_duration(figures.time_to_close.p90):>8}  "
        f"{_duration(figures.time_to_first_update.median):>8}"
    )


def print_stats(stats: Stats) -> None:
    """The figures as a table a person reads."""
    overall = stats.overall
    scope = []
    if stats.severity:
        scope.append(stats.severity)
    if stats.since:
        scope.append(f"declared since {stats.since:%Y-%m-%d %H:%M} UTC")
    click.secho(
        f"{overall.incidents} incident{'' if overall.incidents == 1 else 's'}"
        + (f" ({', '.join(scope)})" if scope else ""),
        bold=True,
    )
    if not overall.incidents:
        return
    click.echo(f"  open {overall.open}, resolved {overall.resolved}, closed {overall.closed}")
    click.echo(f"  time to resolve:      {_distribution(overall.time_to_resolve)}")
    click.echo(f"  time to close:        {_distribution(overall.time_to_close)}")
    click.echo(f"  time to first update: {_distribution(overall.time_to_first_update)}")
    header = (
        f"{'':<10} {'count':>5}  {'resolve':>8} {'p90':>8}  {'close':>8} {'p90':>8}  "
        f"{'1st upd.':>8}"
    )
    click.echo("")
    click.secho("By severity (medians and 90th percentiles)", bold=True)
    click.echo(header)
    for name, figures in stats.by_severity.items():
        click.echo(_row(name, figures))
    click.echo("")
    click.secho("By month (UTC)", bold=True)
    click.echo(header)
    for month, figures in stats.by_month.items():
        click.echo(_row(month, figures))


@click.command()
@click.option("--since", default=None, help="Only incidents declared on or after this date.")
@click.option("--severity", default=None, help="Only this severity.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write an SVG chart of incidents and time to resolve per month to this file.",
)
@click.pass_context
def stats(
    ctx: click.Context,
    since: str | None,
    severity: str | None,
    as_json: bool,
    chart: str | None,
) -> None:
    """Incident metrics: count, time to resolve, close and first update, by severity and month."""
    firebell: Firebell = ctx.obj.open_to_read()
    start = parse_date(since) if since else None
    level = None
    if severity is not None:
        found = firebell.settings.severity(severity)
        if found is None:
            names = ", ".join(s.name for s in firebell.settings.severities)
            raise click.BadParameter(f"{severity!r} is not one of {names}", param_hint="--severity")
        level = found.name
    facts = load_facts(firebell.store, since=start, severity=level)
    figures = summarize(
        facts,
        severities=[s.name for s in firebell.settings.severities],
        since=start,
        severity=level,
    )
    if chart:
        with writing(chart, option="--chart"):
            write_atomically(Path(chart), render_chart(figures))
    if as_json:
        click.echo(json.dumps(stats_json(figures), indent=2, sort_keys=True))
        return
    print_stats(figures)
    if chart:
        click.echo(f"\nChart written to {chart}.")
