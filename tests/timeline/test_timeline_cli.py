"""The record at the command line: timeline, note, followup, followups, followup-done, show, close
asking about missing follow-ups (on a real pseudo-terminal), deliver sending due reminders."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from firebell.adapters.cli.main import cli

from firebell.testing.pytest_plugin import MakeFirebell

FIREBELL = str(Path(sys.executable).parent / "firebell")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "log.db"}"\n\n'
        f'[plugins.markdown]\nfolder = "{tmp_path / "pm"}"\n'
    )
    return path


def firebell(config: Path, *args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], input=input)
    return result


def declare(config: Path, title: str = "Checkout is down") -> str:
    result = firebell(config, "declare", title, "--json")
    assert result.exit_code == 0, result.output
    name: str = json.loads(result.output)["incident"]["id"]
    return name


def test_notes_and_follow_ups_reach_show_timeline_and_the_post_mortem(
    config: Path, tmp_path: Path
) -> None:
    name = declare(config)

    assert firebell(config, "note", name, "Rolled back deploy 4127", "--as", "U0ANA").output == (
        f"{name}: note added to the timeline.\n"
    )
    added = firebell(config, "followup", name, "Alert on 502s", "--owner", "U0ANA")
    assert added.output.startswith(f"{name}: follow-up #1 recorded.")
    firebell(config, "followup", name, "Failover runbook")
    done = firebell(config, "followup-done", name, "#1")
    assert done.output == f"{name}: follow-up #1 done; 1 still open.\n"

    shown = firebell(config, "show", name).output
    assert "Note: Rolled back deploy 4127  — U0ANA" in shown
    assert "Follow-ups\n  #1 [x] Alert on 502s — U0ANA\n  #2 [ ] Failover runbook\n" in shown
    text = firebell(config, "timeline", name).output
    assert text.splitlines()[0] == f"{name}  Checkout is down  (times in UTC)"
    assert "Note: Rolled back deploy 4127  — U0ANA" in text
    markdown = firebell(config, "timeline", name, "--format", "markdown").output
    assert markdown.splitlines()[-1].endswith("— Note: Rolled back deploy 4127 (U0ANA)")
    lines = json.loads(firebell(config, "timeline", name, "--format", "json").output)["timeline"]
    assert lines[-1]["text"] == "Note: Rolled back deploy 4127" and lines[-1]["at"].endswith(
        "+00:00"
    )
    postmortem = (tmp_path / "pm" / f"{name}.md").read_text()
    assert (
        "- [x] Alert on 502s — U0ANA" in postmortem
        and "Note: Rolled back deploy 4127" in postmortem
    )


def test_followups_lists_the_open_ones_of_every_incident(config: Path) -> None:
    first = declare(config, "Checkout is down")
    second = declare(config, "Search is slow")
    firebell(config, "followup", first, "Alert on 502s")
    firebell(config, "followup", second, "Index the table", "--owner", "U0BEN")
    firebell(config, "followup", second, "Load test")
    firebell(config, "followup-done", second, "2")

    listed = firebell(config, "followups")
    as_json = json.loads(firebell(config, "followups", "--json").output)

    assert f"{first}  Checkout is down  (open)\n  #1 [ ] Alert on 502s\n" in listed.output
    assert f"{second}  Search is slow  (open)\n  #1 [ ] Index the table — U0BEN\n" in listed.output
    assert "Load test" not in listed.output
    assert sorted((row["incident"], row["id"], row["owner"]) for row in as_json) == sorted(
        [(first, 1, None), (second, 1, "U0BEN")]
    )


def test_mistakes_are_explained(config: Path) -> None:
    name = declare(config)

    unknown = firebell(config, "followup-done", name, "3")
    empty = firebell(config, "note", name, "  ")
    nowhere = firebell(config, "timeline", "no-such-incident")

    assert unknown.exit_code == 1 and "has no follow-up #3. It has no open follow-ups." in str(
        unknown.exception
    )
    assert empty.exit_code == 1 and "The note is empty" in str(empty.exception)
    assert "There is no incident called 'no-such-incident'" in str(nowhere.exception)
    assert firebell(config, "followups").output == "No open follow-ups.\n"


def test_a_repeated_key_records_one_follow_up(config: Path) -> None:
    name = declare(config)
    first = json.loads(firebell(config, "followup", name, "Canary", "--key", "k1", "--json").output)
    again = json.loads(firebell(config, "followup", name, "Canary", "--key", "k1", "--json").output)

    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert first["follow_up"]["id"] == again["follow_up"]["id"] == 1


# -- closing without follow-ups ---------------------------------------------------------------------


def on_terminal(args: list[str], answer: str, cwd: Path) -> tuple[int, str]:
    """Run ``firebell ARGS`` on a pseudo-terminal, answer its question, return (code, output)."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [FIREBELL, *args], stdin=terminal, stdout=terminal, stderr=terminal, cwd=cwd, close_fds=True
    )
    os.close(terminal)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"Close it without follow-ups?" in output:
            os.write(controller, answer.encode() + b"\n")
            answered = True
        if process.poll() is not None and not ready:
            break
    os.close(controller)
    return process.wait(30), output.decode(errors="replace")


def resolved(config: Path) -> str:
    name = declare(config)
    assert firebell(config, "resolve", name).exit_code == 0
    return name


def test_close_asks_on_a_terminal_and_no_keeps_it_open(config: Path, tmp_path: Path) -> None:
    name = resolved(config)

    code, output = on_terminal(["--config", str(config), "close", name], "n", tmp_path)

    assert code != 0, output
    assert f"{name} has no follow-ups." in output and "firebell followup" in output
    assert json.loads(firebell(config, "list", "--json").output)[0]["state"] == "resolved"
    code, output = on_terminal(["--config", str(config), "close", name], "y", tmp_path)
    assert code == 0, output
    assert json.loads(firebell(config, "list", "--json").output)[0]["state"] == "closed"


def test_yes_follow_ups_or_the_setting_off_close_without_asking(
    config: Path, tmp_path: Path
) -> None:
    first = resolved(config)
    assert (
        firebell(config, "close", first, "--yes").output
        == f"{first}: closed. State: closed, SEV2.\n"
    )

    second = resolved(config)
    firebell(config, "followup", second, "Alert earlier")
    code, output = on_terminal(["--config", str(config), "close", second], "n", tmp_path)
    assert code == 0 and "Close it without" not in output

    config.write_text(
        config.read_text().replace("[firebell]\n", '[firebell]\nclose_requires_followups = "off"\n')
    )
    third = resolved(config)
    code, output = on_terminal(["--config", str(config), "close", third], "n", tmp_path)
    assert code == 0 and "follow-ups" not in output


def test_a_script_closing_without_follow_ups_gets_a_warning_not_a_question(config: Path) -> None:
    name = resolved(config)

    result = subprocess.run(
        [FIREBELL, "--config", str(config), "close", name, "--json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["incident"]["state"] == "closed"
    assert f"warning: closing {name} without follow-ups" in result.stderr


def test_deliver_sends_the_reminders_that_fell_due(
    config: Path, make_firebell: MakeFirebell, tmp_path: Path
) -> None:
    # An incident declared a while ago (by a process with its clock then), never updated.
    earlier = make_firebell(
        {"firebell": {"database_url": f"sqlite:///{tmp_path / 'log.db'}"}},
        entry_points=False,
        clock=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    name = earlier.engine.declare(title="Queue stuck", reporter="U0A", severity="SEV2").incident.id

    assert firebell(config, "deliver").exit_code == 0
    assert firebell(config, "deliver").exit_code == 0, "a second run sends nothing new"

    events = json.loads(firebell(config, "show", name, "--json").output)["events"]
    sent = sorted(e["data"]["kind"] for e in events if e["type"] == "reminder.sent")
    assert sent == ["commander", "update"]
