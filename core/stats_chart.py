"""An SVG chart of :class:`~firebell.core.stats.Stats`: incidents and time to resolve per month.

Two panels over one month axis: on top, the incidents declared each month as bars stacked by
severity (most severe at the bottom, the total above each bar); below, the median time to
resolve of each month's incidents as a line with its values. Written by hand (no plotting
library): plain SVG 1.1 that browsers, GitHub and Notion show, with a ``<title>`` tooltip on
every bar and point and a text description for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from xml.sax.saxutils import escape, quoteattr

from firebell.core.stats import Stats
from firebell.core.timeline import format_duration

__all__ = ["SEVERITY_COLOURS", "format_duration", "nice_ceiling", "render_chart"]

# format_duration lives with the other wording in core/timeline.py; it is re-exported here.

#: Bar colours by the severity's place in the configured order (most severe first).
SEVERITY_COLOURS = ("#b3261e", "#e8710a", "#f2b705", "#5b8def", "#8e6cc9", "#3aa394", "#9aa0a6")
LINE_COLOUR = "#1a56b8"
INK = "#202124"
MUTED = "#5f6368"
GRID = "#e3e5e8"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

WIDTH = 760
LEFT = 64
RIGHT = 24
TITLE_TOP = 30
BARS_TOP = 96
BARS_HEIGHT = 170
LINE_TOP = BARS_TOP + BARS_HEIGHT + 56
LINE_HEIGHT = 110
HEIGHT = LINE_TOP + LINE_HEIGHT + 56
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _text(x: float, y: float, content: str, **attributes: str | float) -> str:
    extra = "".join(
        f" {name.replace('_', '-')}={quoteattr(str(value))}" for name, value in attributes.items()
    )
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def _month_label(month: str, index: int) -> tuple[str, str]:
    year, number = month.split("-")
    # The year under the first month and under every January.
    return MONTHS[int(number) - 1], year if index == 0 or number == "01" else ""


def _unit(longest: float) -> tuple[float, str]:
    """Seconds per unit and its name, for an axis whose top is ``longest`` seconds."""
    if longest <= 2 * 3600:
        return 60.0, "minutes"
    if longest <= 3 * 86_400:
        return 3600.0, "hours"
    return 86_400.0, "days"


def _axis_label(value: float) -> str:
    return f"{value:g}"


def render_chart(stats: Stats, *, title: str = "Incidents per month") -> str:
    """The SVG document (text) of ``stats``'s months."""
    months = list(stats.by_month)
    severities = list(stats.by_severity)
    scope = []
    if stats.severity:
        scope.append(stats.severity)
    if stats.since:
        scope.append(f"since {stats.since:%Y-%m-%d}")
    subtitle = "Bars: incidents declared, by severity. Line: median time to resolve."
    if scope:
        subtitle += f" ({', '.join(scope)})"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" '
        f'font-family="{FONT}">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(_description(stats))}</desc>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        _text(LEFT, TITLE_TOP, title, font_size=18, font_weight=600, fill=INK),
        _text(LEFT, TITLE_TOP + 20, subtitle, font_size=12, fill=MUTED),
    ]
    if not months:
        parts.append(
            _text(
                WIDTH / 2,
                HEIGHT / 2,
                "No incidents in this period.",
                font_size=14,
                fill=MUTED,
                text_anchor="middle",
            )
        )
        parts.append("</svg>")
        return "\n".join(parts) + "\n"
    parts += _legend(severities)
    band = (WIDTH - LEFT - RIGHT) / len(months)
    parts += _bars(stats, months, severities, band)
    parts += _line(stats, months, band)
    parts += _month_axis(months, band)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _colour(index: int) -> str:
    return SEVERITY_COLOURS[min(index, len(SEVERITY_COLOURS) - 1)]


def _legend(severities: Sequence[str]) -> list[str]:
    # Right-aligned on the line of the bars' heading.
    widths = [24 + 7.5 * len(name) for name in severities]
    x = WIDTH - RIGHT - sum(widths) + 10
    y = BARS_TOP - 12
    parts = []
    for index, name in enumerate(severities):
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" '
            f'fill="{_colour(index)}"/>'
        )
        parts.append(_text(x + 14, y, name, font_size=12, fill=INK))
        x += 24 + 7.5 * len(name)
    return parts


def _gridlines(top: float, height: float, ceiling: float, labels: Sequence[float]) -> list[str]:
    parts = []
    for value in labels:
        y = top + height - height * value / ceiling
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            _text(LEFT - 8, y + 4, _axis_label(value), font_size=11, fill=MUTED, text_anchor="end")
        )
    return parts


def _scale(maximum: float, *, whole: bool = False) -> tuple[float, list[float]]:
    """An axis top at or above ``maximum`` and its five gridlines (four equal, nice steps)."""
    step = nice_ceiling(maximum / 4)
    if whole:
        # Counts: whole steps, and small ones exact (11 incidents -> an axis to 12, not 20).
        step = float(max(1, math.ceil(maximum / 4))) if maximum <= 20 else math.ceil(step)
    return step * 4, [step * i for i in range(5)]


def _bars(stats: Stats, months: Sequence[str], severities: Sequence[str], band: float) -> list[str]:
    ceiling, ticks = _scale(max(f.incidents for f in stats.by_month.values()), whole=True)
    parts = [
        _text(LEFT, BARS_TOP - 12, "Incidents", font_size=12, font_weight=600, fill=INK),
        *_gridlines(BARS_TOP, BARS_HEIGHT, ceiling, ticks),
    ]
    width = min(44.0, band * 0.62)
    for index, month in enumerate(months):
        figures = stats.by_month[month]
        x = LEFT + band * index + (band - width) / 2
        bottom = float(BARS_TOP + BARS_HEIGHT)
        counts = ", ".join(
            f"{name} {figures.by_severity.get(name, 0)}"
            for name in severities
            if figures.by_severity.get(name, 0)
        )
        tooltip = f"{month}: {figures.incidents} incident{'s' if figures.incidents != 1 else ''}"
        if counts:
            tooltip += f" ({counts})"
        parts.append(f"<g><title>{escape(tooltip)}</title>")
        for position, name in enumerate(severities):
            count = figures.by_severity.get(name, 0)
            if not count:
                continue
            height = BARS_HEIGHT * count / ceiling
            bottom -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{bottom:.1f}" width="{width:.1f}" height="{height:.1f}" '
                f'fill="{_colour(position)}"/>'
            )
        parts.append("</g>")
        if figures.incidents:
            parts.append(
                _text(
                    x + width / 2,
                    bottom - 5,
                    str(figures.incidents),
                    font_size=11,
                    fill=INK,
                    text_anchor="middle",
                )
            )
    parts.append(
        f'<line x1="{LEFT}" y1="{BARS_TOP + BARS_HEIGHT}" x2="{WIDTH - RIGHT}" '
        f'y2="{BARS_TOP + BARS_HEIGHT}" stroke="{MUTED}" stroke-width="1"/>'
    )
    return parts


def _line(stats: Stats, months: Sequence[str], band: float) -> list[str]:
    medians = {
        month: figures.time_to_resolve.median
        for month, figures in stats.by_month.items()
        if figures.time_to_resolve.median is not None
    }
    heading = "Median time to resolve"
    if not medians:
        return [
            _text(LEFT, LINE_TOP - 12, heading, font_size=12, font_weight=600, fill=INK),
            _text(
                LEFT,
                LINE_TOP + LINE_HEIGHT / 2,
                "No resolved incidents yet.",
                font_size=12,
                fill=MUTED,
            ),
        ]
    longest = max(value.total_seconds() for value in medians.values())
    unit, unit_name = _unit(longest)
    ceiling, ticks = _scale(longest / unit)
    parts = [
        _text(
            LEFT, LINE_TOP - 12, f"{heading} ({unit_name})", font_size=12, font_weight=600, fill=INK
        ),
        *_gridlines(LINE_TOP, LINE_HEIGHT, ceiling, ticks),
    ]
    points: list[tuple[float, float, str, timedelta] | None] = []
    for index, month in enumerate(months):
        value = medians.get(month)
        if value is None:
            points.append(None)
            continue
        x = LEFT + band * index + band / 2
        y = LINE_TOP + LINE_HEIGHT - LINE_HEIGHT * (value.total_seconds() / unit) / ceiling
        points.append((x, y, month, value))
    # One path per run of consecutive months with a value: a month without resolved incidents
    # is a gap, not a line drawn through zero.
    run: list[str] = []
    for point in [*points, None]:
        if point is None:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE_COLOUR}" '
                    'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>'
                )
            run = []
            continue
        run.append(f"{point[0]:.1f},{point[1]:.1f}")
    for point in points:
        if point is None:
            continue
        x, y, month, value = point
        resolved = stats.by_month[month].time_to_resolve.count
        tooltip = f"{month}: median time to resolve {format_duration(value)} ({resolved} resolved)"
        parts.append(
            f'<g><title>{escape(tooltip)}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4" '
            f'fill="#ffffff" stroke="{LINE_COLOUR}" stroke-width="2.5"/></g>'
        )
        parts.append(
            _text(x, y - 9, format_duration(value), font_size=11, fill=INK, text_anchor="middle")
        )
    return parts


def _month_axis(months: Sequence[str], band: float) -> list[str]:
    parts = []
    every = max(1, math.ceil(len(months) / 18))  # at most 18 labels
    y = LINE_TOP + LINE_HEIGHT + 18
    for index, month in enumerate(months):
        if index % every and index != len(months) - 1:
            continue
        name, year = _month_label(month, index)
        x = LEFT + band * index + band / 2
        parts.append(_text(x, y, name, font_size=11, fill=INK, text_anchor="middle"))
        if year:
            parts.append(_text(x, y + 14, year, font_size=11, fill=MUTED, text_anchor="middle"))
    return parts


def _description(stats: Stats) -> str:
    lines = []
    for month, figures in stats.by_month.items():
        median = figures.time_to_resolve.median
        resolved = f", median time to resolve {format_duration(median)}" if median else ""
        lines.append(f"{month}: {figures.incidents} incidents{resolved}.")
    return " ".join(lines) or "No incidents in this period."
