"""Metrics on a log built with an injected clock: the numbers worked out by hand, the filters,
the JSON, and the SVG chart read back as XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from firebell.adapters.cli.main import cli
from firebell.core import Firebell
from firebell.core.stats import (
    IncidentFacts,
    distribution,
    load_facts,
    months_between,
    stats_json,
    summarize,
)
from firebell.core.stats_chart import format_duration, nice_ceiling, render_chart
from timeline_support import Clock

from firebell.testing.pytest_plugin import MakeFirebell

SVG = "{http://www.w3.org/2000/svg}"
SEVERITIES = ["SEV0", "SEV1", "SEV2"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "log.db"}"\n')
    return path


@pytest.fixture
def log(make_firebell: MakeFirebell, tmp_path: Path) -> Firebell:
    """Five incidents over four months (March empty), each step at a chosen time:

    ====  ====  ================  ============  ===========  ===========
    name  sev   declared          1st update    resolved     closed
    ====  ====  ================  ============  ===========  ===========
    A     SEV1  2026-01-10 10:00  +10m          +60m         +2d
    B     SEV2  2026-01-20 10:00  +30m          +120m        -
    C     SEV1  2026-02-05 09:00  -             +30m         +1d
    D     SEV0  2026-02-07 09:00  +5m           +240m, reopened +300m, again +360m; closed +3d
    E     SEV2  2026-04-01 12:00  -             (open)       -
    ====  ====  ================  ============  ===========  ===========
    """
    clock = Clock()
    firebell = make_firebell(
        {"firebell": {"database_url": f"sqlite:///{tmp_path / 'log.db'}"}},
        entry_points=False,
        clock=clock,
    )
    engine = firebell.engine

    def declare(when: str, severity: str) -> tuple[str, datetime]:
        clock.set(at(when))
        return engine.declare(
            title=f"{severity} at {when}", reporter="U0A", severity=severity
        ).incident.id, clock()

    def step(start: datetime, minutes: float, action: str, name: str) -> None:
        clock.set(start + timedelta(minutes=minutes))
        if action == "update":
            engine.post_update(name, "news", actor="U0A")
        else:
            getattr(engine, action)(name, actor="U0A")

    a, a_at = declare("2026-01-10T10:00", "SEV1")
    for minutes, action in ((10, "update"), (40, "update"), (60, "resolve"), (2880, "close")):
        step(a_at, minutes, action, a)
    b, b_at = declare("2026-01-20T10:00", "SEV2")
    for minutes, action in ((30, "update"), (120, "resolve")):
        step(b_at, minutes, action, b)
    c, c_at = declare("2026-02-05T09:00", "SEV1")
    for minutes, action in ((30, "resolve"), (1440, "close")):
        step(c_at, minutes, action, c)
    d, d_at = declare("2026-02-07T09:00", "SEV0")
    for minutes, action in (
        (5, "update"),
        (240, "resolve"),
        (300, "reopen"),
        (360, "resolve"),
        (4320, "close"),
    ):
        step(d_at, minutes, action, d)
    declare("2026-04-01T12:00", "SEV2")
    return firebell


def minutes(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 60


def test_the_figures_match_the_ones_worked_out_by_hand(log: Firebell) -> None:
    stats = summarize(load_facts(log.store), severities=SEVERITIES)

    overall = stats.overall
    assert (overall.incidents, overall.open, overall.resolved, overall.closed) == (5, 1, 1, 3)
    # Resolve [30, 60, 120, 360]: median 90; p90 at rank 2.7: 120 + 0.7 * 240 = 288.
    assert (minutes(overall.time_to_resolve.median), minutes(overall.time_to_resolve.p90)) == (
        90,
        288,
    )
    assert overall.time_to_resolve.count == 4
    # Close [1440, 2880, 4320]: median 2880; p90 at rank 1.8: 2880 + 0.8 * 1440 = 4032.
    assert (minutes(overall.time_to_close.median), minutes(overall.time_to_close.p90)) == (
        2880,
        4032,
    )
    # First update [5, 10, 30] (A's second update does not count): median 10; p90 10 + 0.8 * 20.
    assert (
        minutes(overall.time_to_first_update.median),
        minutes(overall.time_to_first_update.p90),
    ) == (10, 26)
    assert dict(overall.by_severity) == {"SEV0": 1, "SEV1": 2, "SEV2": 2}

    by_severity = {name: minutes(f.time_to_resolve.median) for name, f in stats.by_severity.items()}
    assert by_severity == {"SEV0": 360, "SEV1": 45, "SEV2": 120}
    assert list(stats.by_month) == ["2026-01", "2026-02", "2026-03", "2026-04"]
    months = {
        m: (f.incidents, minutes(f.time_to_resolve.median)) for m, f in stats.by_month.items()
    }
    assert months == {
        "2026-01": (2, 90),
        "2026-02": (2, 195),
        "2026-03": (0, None),
        "2026-04": (1, None),
    }


def test_filters_by_declare_date_and_severity(log: Firebell) -> None:
    since = at("2026-02-01T00:00")
    later = summarize(load_facts(log.store, since=since), severities=SEVERITIES, since=since)
    sev1 = summarize(load_facts(log.store, severity="SEV1"), severities=SEVERITIES, severity="SEV1")

    assert later.overall.incidents == 3 and list(later.by_month) == [
        "2026-02",
        "2026-03",
        "2026-04",
    ]
    assert sev1.overall.incidents == 2 and list(sev1.by_severity) == ["SEV1"]
    assert minutes(sev1.overall.time_to_resolve.median) == 45


def test_the_json_is_in_minutes_and_stable(log: Firebell) -> None:
    data = stats_json(summarize(load_facts(log.store), severities=SEVERITIES))

    assert data["overall"]["time_to_resolve"] == {
        "count": 4,
        "median_minutes": 90.0,
        "p90_minutes": 288.0,
    }
    assert data["by_month"]["2026-03"]["incidents"] == 0
    assert data["by_severity"]["SEV0"]["time_to_close"]["median_minutes"] == 4320.0
    json.dumps(data)


def test_the_chart_is_svg_with_a_bar_per_severity_and_month_and_a_point_per_resolved_month(
    log: Firebell,
) -> None:
    stats = summarize(load_facts(log.store), severities=SEVERITIES)

    root = ET.fromstring(render_chart(stats))

    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Incidents per month"  # type: ignore[union-attr]
    groups = root.findall(f"{SVG}g")
    titles = [g.find(f"{SVG}title").text or "" for g in groups]  # type: ignore[union-attr]
    bar_titles = [t for t in titles if "median" not in t]
    assert bar_titles == [
        "2026-01: 2 incidents (SEV1 1, SEV2 1)",
        "2026-02: 2 incidents (SEV0 1, SEV1 1)",
        "2026-03: 0 incidents",
        "2026-04: 1 incident (SEV2 1)",
    ]
    assert sum(len(g.findall(f"{SVG}rect")) for g in groups) == 5
    points = [g.find(f"{SVG}title").text for g in groups if g.find(f"{SVG}circle") is not None]  # type: ignore[union-attr]
    assert points == [
        "2026-01: median time to resolve 1h 30m (2 resolved)",
        "2026-02: median time to resolve 3h 15m (2 resolved)",
    ]
    assert len(root.findall(f"{SVG}polyline")) == 1, "January and February joined; nothing after"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"Jan", "Feb", "Mar", "Apr", "2026", "SEV0", "SEV1", "SEV2"} <= set(texts)
    assert "Median time to resolve (hours)" in texts


def test_a_period_without_incidents_draws_a_readable_empty_chart() -> None:
    root = ET.fromstring(render_chart(summarize([], severities=SEVERITIES)))

    assert "No incidents in this period." in [t.text for t in root.iter(f"{SVG}text")]


def test_chart_helpers() -> None:
    assert [nice_ceiling(v) for v in (0, 0.3, 3, 7, 11, 260)] == [1.0, 0.5, 5.0, 10.0, 20.0, 500.0]
    assert [format_duration(timedelta(seconds=s)) for s in (40, 720, 3900, 183600)] == [
        "40s",
        "12m",
        "1h 05m",
        "2d 3h",
    ]
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert distribution([]).count == 0 and distribution([None]).median is None
    one = IncidentFacts("x", "SEV1", "resolved", at("2026-01-01T00:00"), at("2026-01-01T00:07"))
    assert minutes(distribution([one.time_to_resolve]).p90) == 7


# -- firebell stats --------------------------------------------------------------------------------------


def test_firebell_stats_prints_the_tables_the_json_and_writes_the_chart(
    log: Firebell, config: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    chart = tmp_path / "out" / "incidents.svg"

    text = runner.invoke(cli, ["--config", str(config), "stats"])
    as_json = runner.invoke(
        cli, ["--config", str(config), "stats", "--json", "--chart", str(chart)]
    )
    sev1 = runner.invoke(
        cli, ["--config", str(config), "stats", "--severity", "sev1", "--since", "2026-02-01"]
    )

    assert text.exit_code == 0, text.output
    assert "5 incidents" in text.output
    assert "time to resolve:      median 1h 30m, p90 4h 48m (n=4)" in text.output
    assert "2026-02        2    3h 15m   5h 27m" in text.output
    assert json.loads(as_json.output)["overall"]["incidents"] == 5
    ET.parse(chart)
    assert (
        sev1.exit_code == 0
        and "1 incident (SEV1, declared since 2026-02-01 00:00 UTC)" in sev1.output
    )


def test_firebell_stats_refuses_a_bad_date_or_severity(log: Firebell, config: Path) -> None:
    runner = CliRunner()
    bad_date = runner.invoke(cli, ["--config", str(config), "stats", "--since", "last tuesday"])
    bad_severity = runner.invoke(cli, ["--config", str(config), "stats", "--severity", "P9"])

    assert bad_date.exit_code == 2 and "write it like 2026-06-01" in bad_date.output
    assert (
        bad_severity.exit_code == 2 and "'P9' is not one of SEV0, SEV1, SEV2" in bad_severity.output
    )
