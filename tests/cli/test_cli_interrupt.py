"""Ctrl-C while a command waits for the plugins: the incident is named before the wait, and the
command ends at once saying that it was recorded (a real ``firebell`` process, a slow Slack)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import FIREBELL_BIN, run_firebell_process, write_config

from firebell.testing.fake_slack import FakeSlack

#: Seconds the fake Slack takes to answer: far longer than a prompt exit may take.
SLOW = 30.0


@pytest.fixture
def slow_slack() -> Iterator[FakeSlack]:
    with FakeSlack(delay=SLOW) as fake:
        yield fake


@pytest.fixture
def config(tmp_path: Path, slow_slack: FakeSlack) -> Path:
    return write_config(
        tmp_path,
        f'\n[plugins.slack]\nbot_token = {{ env = "SLACK_BOT_TOKEN" }}\n'
        f'api_url = "{slow_slack.url}/api/"\n',
    )


def environment(fake: FakeSlack) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FIREBELL_", "SLACK_"))}
    environ["SLACK_BOT_TOKEN"] = fake.token
    return environ


def start(config: Path, fake: FakeSlack, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [FIREBELL_BIN, "--config", str(config), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(fake),
    )


def first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, waiting at most ``timeout`` seconds for it."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"nothing printed in {timeout} s")
    return process.stdout.readline()


def incidents_in(database: Path) -> list[str]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as connection:
        try:
            return [row[0] for row in connection.execute("select id from incidents")]
        except sqlite3.OperationalError:  # the tables are not there yet
            return []


def interrupt(process: subprocess.Popen[str]) -> tuple[str, str, float]:
    """Send SIGINT; standard output and error, and the seconds the process took to end."""
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=SLOW - 5)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"Ctrl-C did not end the command before Slack answered: {err!r}")
    return out, err, time.monotonic() - sent


def test_the_name_comes_before_the_wait_and_ctrl_c_ends_it_at_once(
    config: Path, slow_slack: FakeSlack, tmp_path: Path
) -> None:
    process = start(config, slow_slack, "declare", "Checkout is down")
    try:
        line = first_line(process, timeout=SLOW - 5)
        name = line.split(":", 1)[0]
        assert line == f"{name}: declared. State: open, SEV2.\n"
        time.sleep(1)  # well inside the wait for the fake Slack
        assert process.poll() is None, "Slack answered already?"
        out, err, took = interrupt(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 130, err
    assert took < 10, f"took {took:.1f} s to end after Ctrl-C"
    assert out == ""
    assert (
        f"Incident {name} was declared; its integrations will finish with `firebell run` "
        "(or `firebell deliver`)."
    ) in err
    assert "Aborted" not in err and "Traceback" not in err
    assert incidents_in(tmp_path / "firebell.db") == [name]

    # What the note promises: Slack answers again, and `firebell deliver` finishes the job.
    slow_slack.delay = 0.0
    delivered = run_firebell_process(
        ["--config", str(config), "deliver"], env={"SLACK_BOT_TOKEN": slow_slack.token}
    )
    assert delivered.code == 0, delivered.stderr
    shown = run_firebell_process(
        ["--config", str(config), "show", name, "--json"],
        env={"SLACK_BOT_TOKEN": slow_slack.token},
    ).json()
    assert [r["kind"] for r in shown["incident"]["resources"]].count("channel") == 1


def test_with_json_ctrl_c_prints_the_incident_recorded(
    config: Path, slow_slack: FakeSlack, tmp_path: Path
) -> None:
    process = start(config, slow_slack, "declare", "Search is down", "--json")
    try:
        deadline = time.monotonic() + SLOW - 5
        while not (recorded := incidents_in(tmp_path / "firebell.db")):
            assert time.monotonic() < deadline and process.poll() is None, "never recorded"
            time.sleep(0.1)
        time.sleep(1)
        assert process.poll() is None, "Slack answered already?"
        out, err, took = interrupt(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 130, err
    assert took < 10, f"took {took:.1f} s to end after Ctrl-C"
    body = json.loads(out)
    assert body["duplicate"] is False
    assert (body["incident"]["id"], body["incident"]["title"]) == (recorded[0], "Search is down")
    assert f"Incident {recorded[0]} was declared;" in err
