"""Secrets stay secret through a whole lifecycle with every integration on, even when every
vendor fails with an error that repeats the key it was sent.

Real-looking values for the Slack bot token, the signing secret, the PagerDuty, Notion and
Statuspage keys run the system; then the SQLite files' bytes, ``firebell export``, ``firebell
plugins`` and ``firebell show`` (text and JSON), the log (every logger, at DEBUG), what the
processes printed (``firebell -v deliver`` in a subprocess included), the post-mortem files and
every request body the vendors received are searched for each value. Each vendor may see its own
key in its ``Authorization`` header, and nothing else anywhere.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from e2e_support import RESPONDER, Clock, MakeSystem, Secrets, System
from firebell.core import IncidentState, IntegrationFailed

from firebell.testing.fake_http import Fault
from firebell.testing.fake_notion import notion_fault

KEYS = Secrets(
    slack_token="xoxb-7241993861-5829301174402-Qz9XkTq2LmP4vR8sW1yN6bHd",
    pagerduty_key="u+8KqZr3VxNm2LpT9wYc",
    notion_token="ntn_482193746521ZkQmX9pL2rT7vB8nW3yH6cJ5dF1gS0aE",
    statuspage_key="c7a4e91b2f6d4830a5e17b9c3d2f8a6e",
    signing_secret="8f14e45fceea167a5a36dedd4bea2543",
)
#: Which vendor may receive which secret (in its Authorization header, nowhere else).
OWN_KEY = {
    "slack": KEYS.slack_token,
    "pagerduty": KEYS.pagerduty_key,
    "notion": KEYS.notion_token,
    "statuspage": KEYS.statuspage_key,
}


def vendors_echo_their_keys(system: System) -> None:
    """PagerDuty, Notion and Statuspage fail each create, repeating the key in their error."""
    fakes = system.fakes
    fakes.pagerduty.fail_next(
        r"^/incidents$",
        Fault(
            500,
            body={"error": {"message": f"Internal error for key {KEYS.pagerduty_key}", "code": 1}},
        ),
        times=10**9,
    )
    fakes.notion.fail_next(
        r"^/v1/(pages|data_sources/.*)$",
        notion_fault(
            500, "internal_server_error", f"Token {KEYS.notion_token} hit an internal error."
        ),
        times=10**9,
    )
    fakes.statuspage.fail_next(
        r"/incidents$",
        Fault(503, body={"error": f"backend down (api key {KEYS.statuspage_key})"}),
        times=10**9,
    )


def slack_echoes_its_token(system: System) -> None:
    """Slack fails reading and renaming channels, repeating the bot token in its error."""
    system.fakes.slack.fail_next(
        r"^/api/conversations\.(info|rename)$",
        Fault(503, body={"ok": False, "error": f"upstream_error token={KEYS.slack_token}"}),
        times=10**9,
    )


def failures_of(system: System, incident_id: str) -> list[IntegrationFailed]:
    """The incident's IntegrationFailed payloads."""
    return [
        e.data
        for e in system.firebell.store.select_events(incident_id)
        if isinstance(e.data, IntegrationFailed)
    ]


def firebell_process(system: System, *args: str) -> str:
    """``firebell --config <the system's> -v ARGS`` in a subprocess: its stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIREBELL_", "SLACK_"))}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "firebell.adapters.cli.main",
            "--config",
            str(system.config_path),
            "-v",
            *args,
        ],
        env={**env, **KEYS.environ()},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout + completed.stderr


#: Commands an operator reads the state with (beside ``firebell show``).
COMMANDS = (
    ("export",),
    ("plugins",),
    ("plugins", "--json"),
    ("list", "--json"),
)


def leaks(text: str | bytes) -> list[str]:
    """The names of the secrets found in ``text``."""
    haystack = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return [name for name, value in KEYS.values().items() if value in haystack]


def test_no_secret_appears_anywhere(
    make_system: MakeSystem,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    system = make_system(keys=KEYS, clock=clock, timeout=2.0)
    incident = system.declare("Checkout is down", customer_facing=True)

    # PagerDuty, Notion and Statuspage fail, echoing their keys; first a `firebell -v deliver`
    # process meets it, then the running system's own retry.
    vendors_echo_their_keys(system)
    printed = [firebell_process(system, "deliver")]
    assert "delivery plugin=pagerduty event=incident.created" in printed[0]  # -v logs it
    clock.advance(30)
    system.drain()
    failed = failures_of(system, incident.id)
    assert {f.plugin for f in failed} == {"pagerduty", "notion", "statuspage"}
    told = " ".join(f.error for f in failed)
    for variable in ("PAGERDUTY_API_KEY", "NOTION_TOKEN", "STATUSPAGE_API_KEY"):
        assert f"<{variable}>" in told, told  # the echo reached Firebell, as the name
    # What an operator looks at while it fails.
    shown = system.plugins_json()
    assert "<PAGERDUTY_API_KEY>" in shown["pagerduty"]["last_error"]
    printed += [system.cli(*args).stdout for args in COMMANDS]
    printed += [system.cli("show", *json, incident.id).stdout for json in ((), ("--json",))]
    printed.append(firebell_process(system, "plugins"))
    for vendor in ("pagerduty", "notion", "statuspage"):
        system.fakes.service(vendor).clear_faults()
    clock.advance(600)
    system.drain()
    assert system.undelivered() == {}

    # Slack fails the resolve, echoing the bot token.
    slack_echoes_its_token(system)
    assert system.confirm("resolve", incident, "Rolled back", user_id=RESPONDER).content == b""
    system.drain()
    clock.advance(30)
    system.drain()
    [slack_failure] = [f for f in failures_of(system, incident.id) if f.plugin == "slack"]
    assert "<SLACK_BOT_TOKEN>" in slack_failure.error, slack_failure.error
    system.fakes.slack.clear_faults()
    clock.advance(600)
    system.drain()
    assert system.undelivered() == {}

    assert system.confirm("close", incident, "Post-mortem held").content == b""
    system.drain()
    assert system.get(incident).state is IncidentState.CLOSED
    assert system.undelivered() == {}
    channel_id = system.channel_of(incident)
    assert len(system.texts_of(channel_id, "integration-failed")) == 4

    # Everything Firebell stored, printed, logged, wrote or sent.
    folder = system.config_path.parent
    for path in sorted(folder.glob("firebell.db*")):
        assert leaks(path.read_bytes()) == [], path.name
    for path in sorted((folder / "postmortems").glob("*")):
        assert leaks(path.read_bytes()) == [], path.name
    for args in (*COMMANDS, ("show", incident.id), ("show", "--json", incident.id)):
        outcome = system.cli(*args)
        assert outcome.code == 0, outcome
        assert leaks(outcome.stdout + outcome.stderr) == [], args
    printed.append(firebell_process(system, "plugins", "--json"))
    printed.append(firebell_process(system, "show", "--json", incident.id))
    for text in printed:
        assert leaks(text) == []
    assert leaks(caplog.text) == []
    for record in caplog.records:
        assert leaks(record.getMessage()) == [], record.name
    out, err = capfd.readouterr()
    assert leaks(out + err) == []

    # The vendors: each key only in its own vendor's Authorization header.
    for vendor, own in OWN_KEY.items():
        for call in system.fakes.service(vendor).calls:
            assert leaks(call.request.body) == [], (vendor, call.request.path)
            for header, value in call.request.headers.items():
                if header == "authorization" and own in value:
                    continue
                assert leaks(value) == [], (vendor, call.request.path, header)
