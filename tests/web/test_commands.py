"""The commands that serve the console: ``firebell web``, ``firebell run`` with it on, and the
demo's closing line pointing at it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from click.testing import CliRunner
from firebell.adapters.cli.main import cli
from firebell.adapters.web import create_app
from firebell.core import open_firebell
from web_support import csrf_fields, local_client

from firebell.testing.fake_slack import BOT_TOKEN, FakeSlack

FIREBELL = [sys.executable, "-m", "firebell.adapters.cli.main"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBELL_"))}
    env.update(variables)
    return env


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _answers(url: str, process: subprocess.Popen[str]) -> Callable[[], bool]:
    def check() -> bool:
        if process.poll() is not None:
            return True  # died: stop waiting, the assertions say why
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return check


def _config(tmp_path: Path, web: str = "") -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "firebell.db"}"\n\n'
        f"{web}\n[plugins.console]\n",
        encoding="utf-8",
    )
    return path


def test_the_demo_ends_with_the_address_of_what_it_did(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--folder", str(folder)])

    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    match = re.fullmatch(
        r"See it in the browser: firebell --config (\S+) web  →  "
        r"http://127\.0\.0\.1:8080(/incidents/(\d{8}-[a-z]+-[a-z]+))",
        last,
    )
    assert match, last
    config, path, name = match.groups()
    assert Path(config) == folder / "plugins.toml"
    # That address shows the incident the demo ran, with its whole story.
    firebell = open_firebell(config)
    try:
        with local_client(create_app(firebell)) as client:
            page = client.get(path)
    finally:
        firebell.close()
    assert page.status_code == 200
    assert name in page.text and 'id="state">closed<' in page.text
    assert "Declared as SEV1: Checkout requests failing" in page.text
    assert "Severity changed from SEV1 to SEV2" in page.text


def test_firebell_web_serves_until_stopped(tmp_path: Path) -> None:
    config = _config(tmp_path)
    setup = open_firebell(config)
    name = setup.engine.declare(title="Served", reporter="cli:test").incident.id
    setup.close()
    port = _free_port()
    process = subprocess.Popen(
        [*FIREBELL, "--config", str(config), "web", "--port", str(port)],
        env=_environment(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(_answers(f"http://127.0.0.1:{port}/incidents", process), 30, "the console")
        assert process.poll() is None
        page = httpx.get(f"http://127.0.0.1:{port}/incidents/{name}", timeout=5)
        assert page.status_code == 200 and "Served" in page.text
        assert "server" not in page.headers  # uvicorn's banner is off
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert f"http://127.0.0.1:{port}/incidents" in stdout
    assert "Traceback" not in stderr


def test_firebell_web_with_actions_delivers_what_the_browser_declares(tmp_path: Path) -> None:
    config = _config(tmp_path, "[firebell.web]\nallow_actions = true\n")
    port = _free_port()
    process = subprocess.Popen(
        [*FIREBELL, "--config", str(config), "web", "--port", str(port)],
        env=_environment(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(_answers(f"{base}/incidents", process), 30, "the console")
        with httpx.Client(base_url=base, timeout=5) as browser:
            form = csrf_fields(browser.get("/incidents").text)
            answer = browser.post("/incidents", data={**form, "title": "Declared on the web"})
        assert answer.status_code == 303
        name = answer.headers["location"].rsplit("/", 1)[1]
        checker = open_firebell(config)
        try:
            _wait(
                lambda: checker.deliverer.outbox.backlog()["console"].done == 1,
                15,
                "the console plugin's delivery",
            )
        finally:
            checker.close()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert "Actions are on" in stdout
    assert f"New incident: {name}" in stderr  # the console plugin ran in this process


def test_firebell_web_warns_when_listening_wide_without_a_token(tmp_path: Path) -> None:
    # On a port already taken: the warning comes first, then uvicorn cannot bind and stops.
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        arguments = ["web", "--host", "0.0.0.0", "--port", str(port)]
        done = subprocess.run(
            [*FIREBELL, "--config", str(_config(tmp_path)), *arguments],
            env=_environment(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert (
        "no [firebell.web] token" in done.stderr
        and "only requests from this machine" in done.stderr
    )


def test_firebell_run_serves_the_console_on_its_own_port_when_enabled(tmp_path: Path) -> None:
    web_port, slack_port = _free_port(), _free_port()
    config = _config(tmp_path, f"[firebell.web]\nenabled = true\nport = {web_port}\n")
    setup = open_firebell(config)
    name = setup.engine.declare(title="Seen from run", reporter="cli:test").incident.id
    setup.close()
    with FakeSlack() as fake_slack:
        env = _environment(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET="secret",
            SLACK_API_URL=fake_slack.url + "/api/",
        )
        arguments = ["run", "--port", str(slack_port), "--host", "127.0.0.1"]
        process = subprocess.Popen(
            [*FIREBELL, "--config", str(config), *arguments],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait(_answers(f"http://127.0.0.1:{web_port}/incidents", process), 30, "the console")
            assert process.poll() is None
            page = httpx.get(f"http://127.0.0.1:{web_port}/incidents/{name}", timeout=5)
            assert page.status_code == 200 and "Seen from run" in page.text
            health = httpx.get(f"http://127.0.0.1:{slack_port}/healthz", timeout=5)
            assert health.status_code == 200  # the Slack side runs beside it
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()

    assert process.returncode == 0, stderr
    assert f"web console on http://127.0.0.1:{web_port}/incidents" in stderr
    assert "Traceback" not in stderr
