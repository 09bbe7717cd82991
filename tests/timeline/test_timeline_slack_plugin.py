"""What the Slack plugin says about the record, in the fake Slack's incident channel: a line per
note and per follow-up, nothing for a pinned message."""

from __future__ import annotations

from firebell.core import Firebell, RetryLater, hookimpl
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


class FailsOnceOnADoneFollowUp:
    """A document plugin that fails its first ``followup.done`` delivery, then works."""

    def __init__(self) -> None:
        self.failures = 1

    @hookimpl
    def firebell_followup_done(self) -> None:
        if self.failures:
            self.failures -= 1
            raise RetryLater("the wiki answered HTTP 503")


def test_after_the_close_follow_ups_and_their_failures_call_slack_for_nothing(
    make_firebell: MakeFirebell, fake_slack: FakeSlack
) -> None:
    """The channel is archived: a follow-up done or added after the close (and a plugin failing
    and recovering on it) posts nowhere, and asks Slack nothing."""
    fake_slack.add_user("reporter", user_id=REPORTER)
    fake_slack.add_user("ana", user_id=ANA)
    firebell = make_firebell(
        {"plugins": {"slack": slack_plugin_table(fake_slack), "wiki": {}}},
        environ=slack_environ(fake_slack),
        extra_plugins={"wiki": FailsOnceOnADoneFollowUp()},
        retry_base=0.0,
    )
    name = firebell.engine.declare(title="Checkout is down", reporter=REPORTER).incident.id
    add_follow_up(firebell.engine, name, "Alert on 502s", actor=REPORTER, owner=ANA)
    firebell.engine.resolve(name, actor=REPORTER)
    firebell.engine.close(name, actor=REPORTER)
    firebell.deliverer.drain()
    channel = firebell.engine.get(name).resource("channel", plugin="slack").external_id  # type: ignore[union-attr]
    assert fake_slack.channels[channel].is_archived
    calls_before = len(fake_slack.calls)

    complete_follow_up(firebell.engine, name, 1, actor=ANA)
    add_follow_up(firebell.engine, name, "Load test the gateway", actor=REPORTER)
    firebell.deliverer.drain()

    types = [e.type for e in firebell.store.select_events(name)]
    after_close = types[types.index("incident.closed") + 1 :]
    assert {"incident.integration_failed", "incident.integration_recovered"} <= set(after_close)
    assert [c.request.path for c in fake_slack.calls[calls_before:]] == []
    backlog = firebell.deliverer.outbox.backlog()["slack"]
    assert (backlog.pending, backlog.failed) == (0, 0)
