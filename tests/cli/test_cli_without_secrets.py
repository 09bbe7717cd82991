"""Commands that deliver nothing run without the plugins' secrets (someone who only reads the
log need not hold the Slack token); those that may deliver refuse to start without them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from cli_support import FIREBELL_BIN, run_firebell_process, write_config

SECRET_TABLES = """
[plugins.slack]
bot_token = { env = "SLACK_BOT_TOKEN" }

[plugins.pagerduty]
api_key = { env = "PAGERDUTY_API_KEY" }
service_id = "PSERVICE1"
requester_email = "oncall@example.com"
"""


def refusal(config: Path) -> str:
    return (
        f"error: {config}: [plugins.slack] bot_token refers to the environment variable "
        "SLACK_BOT_TOKEN, which is not set. Export SLACK_BOT_TOKEN=... before starting Firebell."
    )


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """plugins.toml with Slack and PagerDuty whose variables are not set, and an incident with a
    follow-up recorded before those tables were added."""
    for variable in ("SLACK_BOT_TOKEN", "PAGERDUTY_API_KEY"):
        monkeypatch.delenv(variable, raising=False)  # the commands' processes inherit it
    config = write_config(tmp_path)
    declared = run_firebell_process(["--config", str(config), "declare", "Queue stuck", "--json"])
    assert declared.code == 0, declared
    name = json.loads(declared.stdout)["incident"]["id"]
    followup = run_firebell_process(["--config", str(config), "followup", name, "Add an alert"])
    assert followup.code == 0, followup
    config.write_text(config.read_text() + SECRET_TABLES, encoding="utf-8")
    return config, name


def test_the_commands_that_deliver_nothing_run_without_the_secrets(
    folder: tuple[Path, str],
) -> None:
    config, name = folder
    for command in (
        ["list"],
        ["show", name],
        ["timeline", name],
        ["export"],
        ["stats"],
        ["followups"],
        ["plugins"],
        ["db", "current"],
        ["replay"],
    ):
        outcome = run_firebell_process(["--config", str(config), *command])
        assert outcome.code == 0, (command, outcome)
        assert "SLACK_BOT_TOKEN" not in outcome.stderr, (command, outcome)
    assert name in run_firebell_process(["--config", str(config), "list"]).stdout
    followups = run_firebell_process(["--config", str(config), "followups"]).stdout
    assert "Add an alert" in followups


def test_plugins_says_which_secrets_are_not_set(folder: tuple[Path, str]) -> None:
    config, _ = folder

    text = run_firebell_process(["--config", str(config), "plugins"])
    rows = {
        row["name"]: row
        for row in json.loads(
            run_firebell_process(["--config", str(config), "plugins", "--json"]).stdout
        )
    }

    assert text.code == 0, text
    lines = text.stdout.splitlines()
    for plugin, variable in (("slack", "SLACK_BOT_TOKEN"), ("pagerduty", "PAGERDUTY_API_KEY")):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{plugin} "))
        assert lines[at + 1] == (
            f"{plugin:<12}   not set: {variable}; export it before `firebell run` or a command that "
            "delivers"
        )
        assert rows[plugin]["secrets_not_set"] == [variable]
    assert rows["markdown"]["secrets_not_set"] == []
    assert "not set" not in "".join(line for line in lines if line.startswith("markdown "))


def test_the_commands_that_may_deliver_refuse_to_start_without_them(
    folder: tuple[Path, str],
) -> None:
    config, name = folder
    for command in (
        ["declare", "Second one"],
        ["resolve", name],
        ["note", name, "Looked at the queue"],
        ["deliver"],
        ["retry"],
    ):
        outcome = run_firebell_process(["--config", str(config), *command])
        assert (outcome.code, outcome.stdout) == (2, ""), (command, outcome)
        assert outcome.stderr.strip() == refusal(config), command
    listed = run_firebell_process(["--config", str(config), "list", "--json"])
    assert [i["id"] for i in json.loads(listed.stdout)] == [name]  # nothing was recorded


def test_the_read_only_web_console_starts_without_them_and_with_actions_it_refuses(
    folder: tuple[Path, str],
) -> None:
    config, name = folder
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBELL_"))}
    process = subprocess.Popen(
        [FIREBELL_BIN, "--config", str(config), "web", "--port", "0"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = process.stdout.readline()  # "Firebell web console on http://…/incidents …"
        address = re.search(r"http://\S+/incidents", started)
        assert address, (started, process.poll())
        page = None
        deadline = time.monotonic() + 30
        while page is None and process.poll() is None and time.monotonic() < deadline:
            try:  # bound already, listening once uvicorn has started
                page = httpx.get(f"{address[0]}/{name}", timeout=5)
            except httpx.TransportError:
                time.sleep(0.1)
        assert page is not None and page.status_code == 200, process.poll()
        assert "Queue stuck" in page.text
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0

    config.write_text(
        config.read_text().replace("[firebell]\n", "[firebell]\nweb = { allow_actions = true }\n"),
        encoding="utf-8",
    )
    refused = run_firebell_process(["--config", str(config), "web", "--port", "0"])
    assert (refused.code, refused.stdout) == (2, "")
    assert refused.stderr.strip() == refusal(config)
