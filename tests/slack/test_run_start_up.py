"""Start-up problems of ``firebell run`` and ``firebell web`` as real subprocesses: one line that
says what to do, exit code 2, and no "serving on …" line before it.

A port in use is held by a real listening socket; ``SLACK_API_URL`` is checked as ``api_url`` in
``plugins.toml`` is.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from firebell.testing.fake_slack import BOT_TOKEN, FakeSlack
from firebell.testing.slack_requests import SIGNING_SECRET

FIREBELL = str(Path(sys.executable).with_name("firebell"))


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process (here: this one) listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _firebell(
    tmp_path: Path, *args: str, config: str = "", **variables: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "plugins.toml").write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "firebell.db"}"\n{config}',
        encoding="utf-8",
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBELL_"))}
    return subprocess.run(
        [FIREBELL, *args],
        env={**environ, **variables},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and "Traceback" not in done.stderr
    return line


def test_run_on_a_port_in_use_says_so_before_claiming_to_serve(
    tmp_path: Path, fake_slack: FakeSlack, taken_port: int
) -> None:
    done = _firebell(
        tmp_path,
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(taken_port),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url + "/api/",
    )

    line = _one_error_line(done)
    assert line == (
        f"error: port {taken_port} is in use on 127.0.0.1 (another firebell?); choose another "
        "port (--port) or stop the other process."
    )
    assert "serving" not in done.stdout + done.stderr


def test_run_with_the_web_console_on_a_port_in_use_names_its_setting(
    tmp_path: Path, fake_slack: FakeSlack, taken_port: int
) -> None:
    done = _firebell(
        tmp_path,
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        config=f'\n[firebell.web]\nenabled = true\nhost = "127.0.0.1"\nport = {taken_port}\n',
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url + "/api/",
    )

    line = _one_error_line(done)
    assert f"port {taken_port} is in use" in line
    assert "([firebell.web] port in plugins.toml)" in line


def test_web_on_a_port_in_use_says_so_before_claiming_to_serve(
    tmp_path: Path, taken_port: int
) -> None:
    done = _firebell(tmp_path, "web", "--host", "127.0.0.1", "--port", str(taken_port))

    line = _one_error_line(done)
    assert f"error: port {taken_port} is in use on 127.0.0.1" in line
    assert "(--port, or [firebell.web] port)" in line
    assert "web console on" not in done.stdout


def test_web_on_an_address_not_of_this_machine_says_so(tmp_path: Path) -> None:
    done = _firebell(tmp_path, "web", "--host", "192.0.2.1", "--port", "0")  # TEST-NET-1

    assert done.returncode == 2 and "Traceback" not in done.stderr
    # After the note that, without a token, only this machine's requests would be answered.
    assert done.stderr.splitlines()[-1] == (
        "error: cannot listen on 192.0.2.1: it is not an address of this machine; choose "
        "another host (--host, or [firebell.web] host)."
    )
    assert "web console on" not in done.stdout


def test_a_slack_api_url_that_is_not_a_url_is_a_start_up_error(tmp_path: Path) -> None:
    done = _firebell(
        tmp_path,
        "run",
        "--port",
        "0",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL="notaurl",
    )

    assert _one_error_line(done).startswith(
        "error: SLACK_API_URL = 'notaurl' is not an http(s) URL. Unset it to use Slack's own API"
    )


def test_doctor_names_a_slack_api_url_that_is_not_a_url(tmp_path: Path) -> None:
    done = _firebell(
        tmp_path,
        "doctor",
        config='\n[plugins.slack]\nbot_token = { env = "SLACK_BOT_TOKEN" }\n',
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL="notaurl",
    )

    assert done.returncode == 1
    assert "SLACK_API_URL = 'notaurl' is not an http(s) URL" in done.stdout
    assert "unknown url type" not in done.stdout
