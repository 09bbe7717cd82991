"""The Markdown post-mortem's channel line follows the channel: written while Slack could not
make it, the line says so (not "declared without Slack") and gets the link once it is linked."""

from __future__ import annotations

from pathlib import Path

import pytest
from firebell.core import Firebell, Incident, Link, PermanentPluginError, hookimpl

from firebell.testing.pytest_plugin import MakeFirebell

CHANNEL_URL = "https://example.slack.com/archives/C0INCIDENT"


class RefusingSlack:
    """Plays the Slack plugin: refuses (a bad token) while ``broken``, else links the channel."""

    def __init__(self) -> None:
        self.broken = True

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        if self.broken:
            raise PermanentPluginError("Slack does not accept the bot token.")
        return Link("channel", "C0INCIDENT", CHANNEL_URL, f"#incd-{incident.id}")


@pytest.fixture
def slack() -> RefusingSlack:
    return RefusingSlack()


@pytest.fixture
def firebell(make_firebell: MakeFirebell, slack: RefusingSlack, tmp_path: Path) -> Firebell:
    return make_firebell(
        {"plugins": {"slack": {}, "markdown": {"folder": str(tmp_path / "pm")}}},
        extra_plugins={"slack": slack},
        retry_base=0.0,
    )


def channel_line(path: Path) -> str:
    return next(line for line in path.read_text().splitlines() if "channel" in line.lower())


def test_the_channel_is_filled_in_once_slack_makes_it(
    firebell: Firebell, slack: RefusingSlack, tmp_path: Path
) -> None:
    name = firebell.engine.declare(title="Checkout is down", reporter="U0A").incident.id
    firebell.deliverer.drain()
    path = tmp_path / "pm" / f"{name}.md"
    assert channel_line(path) == (
        "Incident channel: none yet (Slack has not made it; it is filled in here once it has)"
    )

    slack.broken = False  # the token is fixed: `firebell retry --plugin slack`
    assert firebell.deliverer.outbox.requeue_failed(plugin="slack", now=firebell.engine.clock())
    firebell.deliverer.drain()

    assert channel_line(path) == f"Incident channel: [#incd-{name}]({CHANNEL_URL})"
    assert "declared without Slack" not in path.read_text()


def test_a_channel_line_people_rewrote_is_left_alone(
    firebell: Firebell, slack: RefusingSlack, tmp_path: Path
) -> None:
    name = firebell.engine.declare(title="Search is slow", reporter="U0A").incident.id
    firebell.deliverer.drain()
    path = tmp_path / "pm" / f"{name}.md"
    document = path.read_text().replace(channel_line(path), "We talked in #search-war-room.")
    path.write_text(document)

    slack.broken = False
    firebell.deliverer.outbox.requeue_failed(plugin="slack", now=firebell.engine.clock())
    firebell.deliverer.drain()
    firebell.engine.resolve(name, actor="U0A")
    firebell.deliverer.drain()

    text = path.read_text()
    assert "We talked in #search-war-room." in text and CHANNEL_URL not in text.split("##")[1]
    assert "Resolved" in text, "refreshed all the same"


def test_without_slack_it_says_so(make_firebell: MakeFirebell, tmp_path: Path) -> None:
    firebell = make_firebell({"plugins": {"markdown": {"folder": str(tmp_path / "pm")}}})
    name = firebell.engine.declare(title="Disk full", reporter="cli:ana").incident.id
    firebell.deliverer.drain()

    assert channel_line(tmp_path / "pm" / f"{name}.md") == (
        "Incident channel: none (declared without Slack)"
    )
