"""A command whose ``--deliver-timeout`` runs out while Slack answers slowly ends at the timeout.

The Slack plugin makes a delivery's calls side by side on daemon threads: Python joined the
threads of the thread pools it used before when it exited, so the command waited for every
Slack call under way, round after round (12.8 s with ``--deliver-timeout 1``), and a round
started while the interpreter stopped failed as if Slack had. The real CLI against the fake
Slack, creating the channel at once and answering the set-up's calls after 6 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import run_firebell_process, write_config
from firebell.core import open_firebell
from firebell.core.config import load_config
from firebell.core.events import IntegrationFailed

from firebell.testing.fake_http import Fault
from firebell.testing.fake_slack import FakeSlack

#: The calls of the channel's set-up, made side by side once the channel exists.
SET_UP = r"/api/(conversations\.(setPurpose|setTopic|invite)|bookmarks\.add|chat\.postMessage)$"


@pytest.fixture
def slow_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        # Slack in trouble: each set-up call answers after 6 s, with an error.
        slow = Fault(status=200, body={"ok": False, "error": "fatal_error"}, delay=6.0)
        slack.fail_next(SET_UP, slow, times=10_000)
        yield slack


def test_a_command_ends_at_its_deliver_timeout_while_slack_is_slow(
    tmp_path: Path, slow_slack: FakeSlack
) -> None:
    config = write_config(
        tmp_path,
        '\n[plugins.slack]\nbot_token = { env = "SLACK_BOT_TOKEN" }\n'
        f'api_url = "{slow_slack.url}/api/"\n',
    )
    started = time.monotonic()
    outcome = run_firebell_process(
        ["--config", str(config), "--deliver-timeout", "1", "declare", "Checkout failing"],
        env={"SLACK_BOT_TOKEN": slow_slack.token},
    )
    took = time.monotonic() - started

    assert outcome.code == 0, outcome
    assert "not waiting for it any longer" in " ".join(outcome.stderr.split())
    # The set-up's calls take 6 s: the command does not wait for them. One second of
    # delivery, a grace second, and the interpreter's start.
    assert took < 5, f"took {took:.1f} s"
    assert "RuntimeError" not in outcome.stderr
    firebell = open_firebell(load_config(config, environ={"SLACK_BOT_TOKEN": slow_slack.token}))
    try:
        (incident,) = firebell.store.list_incidents()
        events = firebell.store.select_events(incident.id)
        assert not [e for e in events if isinstance(e.data, IntegrationFailed)]
    finally:
        firebell.close()
