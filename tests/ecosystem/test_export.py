"""``firebell export``: the event log as JSON Lines with a stable schema, filtered and to a file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from firebell.adapters.cli.export_command import parse_since
from firebell.adapters.cli.main import cli
from firebell.core import Firebell

from firebell.testing import IncidentLifecycle
from firebell.testing.pytest_plugin import MakeFirebell

SCHEMA = {
    "position",
    "incident_id",
    "version",
    "type",
    "schema_version",
    "occurred_at",
    "actor",
    "causation_id",
    "data",
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logged(make_firebell: MakeFirebell, tmp_path: Path, clock: Clock) -> tuple[Firebell, Path]:
    """A log with two incidents (the second a day later) and the plugins.toml that reaches it."""
    firebell = make_firebell(clock=clock)
    first = IncidentLifecycle(firebell)
    first.declare("Checkout is failing")
    first.update("Rolled back")
    first.resolve()
    clock.now += timedelta(days=1)
    IncidentLifecycle(firebell).declare("Search is slow", severity="SEV1")
    config = tmp_path / "plugins.toml"
    config.write_text(f'[firebell]\ndatabase_url = "{firebell.settings.database_url}"\n')
    return firebell, config


def export(config: Path, *args: str) -> tuple[list[dict[str, Any]], str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "export", *args])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return rows, result.stderr


def test_every_event_is_one_line_with_the_documented_schema(logged: tuple[Firebell, Path]) -> None:
    firebell, config = logged
    rows, note = export(config)
    events = firebell.store.select_events()
    assert [row["position"] for row in rows] == [event.position for event in events]
    assert all(set(row) == SCHEMA for row in rows)
    first = rows[0]
    assert first["type"] == "incident.created" and first["version"] == 1
    assert first["schema_version"] == 1
    assert first["occurred_at"] == "2026-06-01T09:00:00+00:00"
    assert first["data"]["title"] == "Checkout is failing"
    assert first["actor"] == "cli:tester" and first["causation_id"] is None
    assert note.strip() == f"Exported {len(events)} events to standard output."


def test_the_schema_is_documented(logged: tuple[Firebell, Path]) -> None:
    from firebell.adapters.cli import export_command

    for key in SCHEMA:
        assert f"    {key} " in export_command.__doc__  # type: ignore[operator]


def test_since_a_position_continues_an_earlier_export(logged: tuple[Firebell, Path]) -> None:
    _, config = logged
    everything, _ = export(config)
    rest, _ = export(config, "--since", str(everything[1]["position"]))
    assert rest == everything[2:]


def test_since_a_date_or_time(logged: tuple[Firebell, Path]) -> None:
    _, config = logged
    rows, _ = export(config, "--since", "2026-06-02")
    assert {row["data"].get("title") for row in rows if row["version"] == 1} == {"Search is slow"}
    assert all(row["occurred_at"] >= "2026-06-02" for row in rows)
    later, _ = export(config, "--since", "2026-06-02T10:00:00+01:00")  # 09:00 UTC
    assert later == rows


def test_one_incident_only(logged: tuple[Firebell, Path]) -> None:
    firebell, config = logged
    name = firebell.store.list_incidents(search="Checkout")[0].id
    rows, _ = export(config, "--incident", f"incd-{name}")
    assert {row["incident_id"] for row in rows} == {name}
    assert [row["version"] for row in rows] == list(range(1, len(rows) + 1))


def test_an_incident_named_twice_is_exported_once(logged: tuple[Firebell, Path]) -> None:
    firebell, config = logged
    name = firebell.store.list_incidents(search="Checkout")[0].id
    once, _ = export(config, "--incident", name)
    rows, note = export(config, "--incident", name, "--incident", f"incd-{name}")
    assert rows == once
    assert note.strip() == f"Exported {len(once)} events to standard output."


def test_an_unknown_incident_is_refused(logged: tuple[Firebell, Path]) -> None:
    _, config = logged
    result = CliRunner().invoke(cli, ["--config", str(config), "export", "--incident", "nope"])
    assert result.exit_code != 0
    assert "There is no incident called 'nope'" in str(result.exception or result.output)


def test_output_file(logged: tuple[Firebell, Path], tmp_path: Path) -> None:
    _, config = logged
    target = tmp_path / "events.jsonl"
    result = CliRunner().invoke(cli, ["--config", str(config), "export", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["position"] for line in lines] == sorted(
        json.loads(line)["position"] for line in lines
    )
    assert f"to {target}" in result.stderr
    assert list(tmp_path.glob(".events.jsonl.*")) == []  # no temporary file left


@pytest.mark.parametrize("text", ["yesterday", "-3", "2026-13-01"])
def test_a_bad_since_is_refused(text: str) -> None:
    import click

    with pytest.raises(click.BadParameter, match="neither a log position"):
        parse_since(text)
