"""``firebell run`` as a real subprocess: start-up errors, HTTP mode end to end, shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from firebell.core import open_firebell

from firebell.testing import slack_requests as sr
from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_slack import BOT_TOKEN, FakeSlack

FIREBELL = [sys.executable, "-m", "firebell.adapters.cli.main"]


def _environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBELL_"))}
    env.update(variables)
    return env


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "firebell.db"}"\n\n[plugins.console]\n',
        encoding="utf-8",
    )
    return path


def _run(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FIREBELL, "--config", str(_config(tmp_path)), "run", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.route("POST", "/commands/{team}/{first}/{second}", _ok)
        yield fake


def _ok(_request: Request) -> Answer:
    return Answer(200, raw=b"ok")


def test_run_without_a_bot_token_names_the_variable(tmp_path: Path) -> None:
    done = _run(tmp_path, _environment(SLACK_SIGNING_SECRET="secret"))

    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_http_mode_without_a_signing_secret_names_the_variable(tmp_path: Path) -> None:
    done = _run(tmp_path, _environment(SLACK_BOT_TOKEN="xoxb-1"))

    assert done.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in done.stderr and "SLACK_APP_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bot_token_in_the_app_token_variable_is_refused(tmp_path: Path) -> None:
    done = _run(tmp_path, _environment(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xoxb-2"))

    assert done.returncode == 2
    assert "SLACK_APP_TOKEN must be an app-level token" in done.stderr


def test_a_wrong_bot_token_is_a_clear_startup_error(tmp_path: Path, fake_slack: FakeSlack) -> None:
    env = _environment(
        SLACK_BOT_TOKEN="xoxb-wrong",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=fake_slack.url + "/api/",
    )

    done = _run(tmp_path, env)

    assert done.returncode == 2
    assert "Slack refused SLACK_BOT_TOKEN" in done.stderr and "invalid_auth" in done.stderr
    assert "xoxb-wrong" not in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_slack_api_is_a_clear_startup_error(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = _environment(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=f"http://127.0.0.1:{port}/api/",
    )

    done = _run(tmp_path, env)

    assert done.returncode == 2
    assert "Cannot reach the Slack API" in done.stderr and "SLACK_API_URL" in done.stderr
    assert "Traceback" not in done.stderr


def _slack_config(tmp_path: Path, api_url: str) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "firebell.db"}"\n\n'
        f'[plugins.slack]\nbot_token = {{ env = "SLACK_BOT_TOKEN" }}\napi_url = "{api_url}"\n',
        encoding="utf-8",
    )
    return path


def test_the_slack_plugins_api_url_wins_over_slack_api_url(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        elsewhere = f"http://127.0.0.1:{closed.getsockname()[1]}/api/"
    config = _slack_config(tmp_path, fake_slack.url + "/api/")
    env = _environment(
        SLACK_BOT_TOKEN="xoxb-wrong", SLACK_SIGNING_SECRET="secret", SLACK_API_URL=elsewhere
    )

    done = subprocess.run(
        [*FIREBELL, "--config", str(config), "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # The plugin's Slack answered (and refused the token), not the one SLACK_API_URL names.
    assert done.returncode == 2
    assert f"Slack refused SLACK_BOT_TOKEN (at {fake_slack.url}/api/): invalid_auth" in done.stderr
    assert fake_slack.calls_to("^/api/auth.test")
    assert "Traceback" not in done.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_http_mode_serves_slack_delivers_leftovers_and_stops_gracefully(
    tmp_path: Path, fake_slack: FakeSlack, stop_signal: signal.Signals
) -> None:
    config = _config(tmp_path)
    # Work an earlier process left undelivered: the new process must pick it up.
    earlier = open_firebell(config)
    declared = earlier.engine.declare(title="Left over", reporter="cli:test")
    earlier.close()
    port = _free_port()
    env = _environment(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=sr.SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url + "/api/",
    )
    process = subprocess.Popen(
        [*FIREBELL, "--config", str(config), "run", "--port", str(port), "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                return httpx.get(base + "/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return process.poll() is not None  # stop waiting if it died

        _wait(healthy, 30, "/healthz")
        assert process.poll() is None

        checker = open_firebell(config)
        try:
            _wait(
                lambda: checker.deliverer.outbox.backlog()["console"].done == 1,
                15,
                "the left-over delivery",
            )
        finally:
            checker.close()

        reply_to = fake_slack.url + "/commands/T0FIREBELL/1/run"
        body = sr.slash_command("/incident", "help", response_url=reply_to)
        assert sr.send(base + "/slack/events", body).status_code == 200
        _wait(lambda: fake_slack.calls_to("^/commands/"), 10, "the help reply")
        reply = json.loads(fake_slack.calls_to("^/commands/")[0].request.body)
        assert "/incident update" in reply["text"]
        unsigned = httpx.post(base + "/slack/events", content=body)
        assert unsigned.status_code == 401

        process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert f"New incident: {declared.incident.id}" in stderr  # the console plugin ran here
    assert "stopped" in stderr
    assert "Traceback" not in stderr


def test_http_mode_uses_the_slack_plugins_api_url_without_slack_api_url(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    config = _slack_config(tmp_path, fake_slack.url + "/api/")
    port = _free_port()
    env = _environment(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=sr.SIGNING_SECRET)
    process = subprocess.Popen(
        [*FIREBELL, "--config", str(config), "run", "--port", str(port), "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return process.poll() is not None  # stop waiting if it died

        _wait(healthy, 30, "/healthz")
        assert process.poll() is None
        assert fake_slack.calls_to("^/api/auth.test")  # the start-up check reached the fake

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
