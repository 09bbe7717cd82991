"""What the Slack plugin says about the record, in the fake Slack's incident channel: a line per
note and per follow-up, nothing for a pinned message."""

from __future__ import annotations

from firebell.core import Firebell
from firebell.core.timeline_commands import (
    add_follow_up,
    add_note,
    add_timeline_entry,
    complete_follow_up,
)
from timeline_support import ANA, REPORTER

from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell, slack_environ, slack_plugin_table


def open_with_slack(make_firebell: MakeFirebell, fake: FakeSlack) -> Firebell:
    fake.add_user("reporter", user_id=REPORTER)
    fake.add_user("ana", user_id=ANA)
    return make_firebell(
        {"plugins": {"slack": slack_plugin_table(fake)}},
        environ=slack_environ(fake),
        retry_base=0.0,
    )


def test_notes_and_follow_ups_get_one_line_each_and_pins_none(
    make_firebell: MakeFirebell, fake_slack: FakeSlack
) -> None:
    firebell = open_with_slack(make_firebell, fake_slack)
    name = firebell.engine.declare(title="Checkout is down", reporter=REPORTER).incident.id
    firebell.deliverer.drain()
    channel = firebell.engine.get(name).resource("channel", plugin="slack").external_id  # type: ignore[union-attr]
    before = len(fake_slack.messages(channel))
    ts = fake_slack.post_user_message(channel, ANA, "502s from the gateway")

    add_timeline_entry(
        firebell.engine, name, actor=ANA, author=ANA, text="502s", channel_id=channel, message_ts=ts
    )
    add_note(firebell.engine, name, "Rolled back <!channel>", actor=REPORTER)
    add_follow_up(firebell.engine, name, "Alert on 502s", actor=REPORTER, owner=ANA)
    add_follow_up(firebell.engine, name, "Runbook", actor=REPORTER)
    complete_follow_up(firebell.engine, name, 1, actor=ANA)
    firebell.deliverer.drain()

    posted = [m["text"] for m in fake_slack.messages(channel)[before:] if m.get("bot_id")]
    assert posted == [
        f":pushpin: *Timeline note* from <@{REPORTER}>: Rolled back &lt;!channel&gt;",
        f":clipboard: *Follow-up #1* recorded by <@{REPORTER}>: Alert on 502s — owner <@{ANA}>. "
        "`/incident done 1` when it is done.",
        f":clipboard: *Follow-up #2* recorded by <@{REPORTER}>: Runbook. `/incident done 2` when it is done.",
        f":ballot_box_with_check: Follow-up #1 (Alert on 502s) done by <@{ANA}>; 1 still open.",
    ]
