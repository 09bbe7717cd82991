"""The Slack plugin against the plugin contract, and its ``firebell doctor`` checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from firebell.core import Firebell
from firebell.plugins.slack import firebell_doctor

from firebell.testing.contract import check_plugin_contract
from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def slack_table(fake: FakeSlack, **settings: Any) -> dict[str, Any]:
    return {"bot_token": {"env": "SLACK_BOT_TOKEN"}, "api_url": fake.url + "/api/", **settings}


def test_the_plugin_keeps_the_contract_when_every_event_is_delivered_twice(
    fake: FakeSlack, tmp_path: Path
) -> None:
    announcements = fake.add_channel("announcements")

    def effects() -> tuple[int, ...]:
        channels = list(fake.channels.values())
        return (
            len(channels),
            sum(len(c.messages) for c in channels),
            sum(len(c.bookmarks) for c in channels),
            sum(len(c.members) for c in channels),
            sum(c.is_archived for c in channels),
        )

    report = check_plugin_contract(
        "slack",
        table=slack_table(
            fake,
            announcement_channels=[announcements],
            runbook_url="https://wiki.example.com/runbook",
        ),
        environ={"SLACK_BOT_TOKEN": fake.token},
        count_effects=effects,
        directory=tmp_path,
    )

    assert "firebell_incident_created" in report.hooks
    assert {"incident.created", "incident.resolved", "incident.closed"} <= set(report.event_types)


def doctor(make_firebell: MakeFirebell, fake: FakeSlack, token: str, **settings: Any) -> list[str]:
    firebell: Firebell = make_firebell(
        {"plugins": {"slack": slack_table(fake, **settings)}},
        environ={"SLACK_BOT_TOKEN": token},
    )
    return list(firebell_doctor(config=firebell.host.enabled["slack"].config))


def test_doctor_finds_nothing_wrong_with_a_good_setup(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    problems = doctor(
        make_firebell,
        fake,
        fake.token,
        announcement_channels=[fake.add_channel("announcements")],
        responders=[fake.add_user("bob")],
        cc_usergroups=[fake.add_usergroup("oncall")],
    )

    assert problems == []


def test_doctor_names_a_refused_token(make_firebell: MakeFirebell, fake: FakeSlack) -> None:
    [problem] = doctor(make_firebell, fake, "xoxb-wrong")

    assert "Slack does not accept the bot token (invalid_auth" in problem
    assert "SLACK_BOT_TOKEN" in problem and "xoxb-wrong" not in problem


def test_doctor_lists_missing_scopes_and_bad_ids(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    fake.scopes -= {"bookmarks:write", "channels:history"}
    archived = fake.add_channel("old-announcements", is_archived=True)

    problems = doctor(
        make_firebell,
        fake,
        fake.token,
        announcement_channels=["C0MISSING", archived],
        responders=["U0NOBODY"],
        cc_usergroups=["S0NOGROUP"],
    )

    assert problems == [
        "Slack: the app lacks the scopes bookmarks:write, channels:history. Add them to the bot "
        "token scopes (OAuth & Permissions, or the app manifest) and reinstall the app.",
        "Slack: announcement channel C0MISSING was not found: the id is wrong, or it is a private "
        "channel the app is not in (invite the app there).",
        f"Slack: announcement channel #old-announcements ({archived}) is archived; unarchive it "
        "or remove it from announcement_channels.",
        "Slack: responders: no user U0NOBODY in this workspace.",
        "Slack: cc_usergroups: user group S0NOGROUP does not exist or is disabled.",
    ]
