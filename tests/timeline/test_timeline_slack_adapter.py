"""Pins, reactions and the record subcommands through the Slack adapter's real HTTP stack:
events signed and shaped as Slack sends them, the fake Slack holding the messages, their pins
and their reactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from firebell.core import IncidentState
from firebell.core.timeline_events import message_entry_id
from timeline_support import (
    ANA,
    REPORTER,
    RESPONDER,
    ChannelMaker,
    SlackHarness,
    entries,
    wait_for,
)

from firebell.testing import slack_requests as sr
from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell, slack_environ, slack_plugin_table

ADDED = "timeline.entry_added"
REMOVED = "timeline.entry_removed"


@pytest.fixture
def make_harness(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> Iterator[Callable[..., SlackHarness]]:
    made: list[SlackHarness] = []

    def make(
        firebell_table: dict[str, Any] | None = None, *, slack_plugin: dict[str, Any] | None = None
    ) -> SlackHarness:
        document: dict[str, Any] = {"firebell": dict(firebell_table or {})}
        if slack_plugin is None:
            document["plugins"] = {"channels": {}}
            firebell = make_firebell(
                document, extra_plugins={"channels": ChannelMaker(fake)}, entry_points=False
            )
        else:
            document["plugins"] = {"slack": slack_plugin_table(fake, **slack_plugin)}
            firebell = make_firebell(document, environ=slack_environ(fake), retry_base=0.0)
        harness = SlackHarness(firebell, fake)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.stop()


@pytest.fixture
def harness(make_harness: Callable[..., SlackHarness]) -> SlackHarness:
    return make_harness()


# -- pins ------------------------------------------------------------------------------------------


def test_a_pinned_message_joins_the_timeline_with_its_text_author_time_and_permalink(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "Card payments fail with <@U0000RESPOND> on it: 502s")

    harness.event(fake.pin_message(channel, ts, RESPONDER))

    entry = wait_for(lambda: harness.incident(incident.id).timeline_entries, what="the entry")[0]
    assert entry.entry_id == message_entry_id(channel, ts)
    assert entry.author == ANA
    assert entry.added_by == RESPONDER
    assert entry.text == "Card payments fail with @U0000RESPOND on it: 502s"
    assert entry.source == "pin"
    assert (
        entry.permalink
        == f"https://firebell-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    )
    assert abs(entry.at.timestamp() - float(ts)) < 0.001
    [added] = harness.events(incident.id, ADDED)
    assert added.actor == RESPONDER


def test_a_redelivered_pin_event_adds_nothing(harness: SlackHarness, fake: FakeSlack) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "Rolled back deploy 4127")
    pin = fake.pin_message(channel, ts, RESPONDER)

    event_id = harness.event(pin)
    wait_for(lambda: harness.events(incident.id, ADDED), what="the entry")
    # Slack did not get our answer in time and sends the same event (same id) again, twice.
    harness.handled(lambda: harness.event(pin, event_id=event_id, retry_num=1))
    harness.handled(lambda: harness.event(pin, event_id=event_id, retry_num=2))

    assert len(harness.events(incident.id, ADDED, REMOVED)) == 1
    assert len(entries(harness, incident.id)) == 1


def test_pin_unpin_pin_adds_removes_and_adds_again(harness: SlackHarness, fake: FakeSlack) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "Error rate back to 0.2%")

    harness.handled(lambda: harness.event(fake.pin_message(channel, ts, RESPONDER)))
    assert len(entries(harness, incident.id)) == 1
    unpin = fake.unpin_message(channel, ts, RESPONDER)
    unpin_id = harness.event(unpin)
    wait_for(lambda: not entries(harness, incident.id), what="the entry to go")
    harness.handled(lambda: harness.event(fake.pin_message(channel, ts, REPORTER)))
    # A late retry of the unpin (same event id) changes nothing now.
    harness.handled(lambda: harness.event(unpin, event_id=unpin_id, retry_num=1))

    assert [e.type for e in harness.events(incident.id, ADDED, REMOVED)] == [ADDED, REMOVED, ADDED]
    assert entries(harness, incident.id) == [
        (message_entry_id(channel, ts), "Error rate back to 0.2%")
    ]


def test_an_unpin_delivered_before_its_pin_leaves_no_entry(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "wrong message")
    pin = fake.pin_message(channel, ts, RESPONDER)
    unpin = fake.unpin_message(channel, ts, RESPONDER)

    harness.handled(lambda: harness.event(unpin))
    harness.handled(lambda: harness.event(pin))

    assert entries(harness, incident.id) == []
    assert harness.events(incident.id, ADDED, REMOVED) == []


# -- reactions -------------------------------------------------------------------------------------


def test_the_pushpin_reaction_marks_and_the_last_one_taken_back_unmarks(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "DB failover started 14:10")

    harness.handled(lambda: harness.event(fake.react(channel, ts, RESPONDER, "pushpin")))
    harness.handled(lambda: harness.event(fake.react(channel, ts, REPORTER, "pushpin")))
    [entry] = harness.incident(incident.id).timeline_entries
    assert entry.source == "reaction" and entry.text == "DB failover started 14:10"

    harness.handled(lambda: harness.event(fake.unreact(channel, ts, RESPONDER, "pushpin")))
    assert len(entries(harness, incident.id)) == 1, "one :pushpin: is left"
    harness.handled(lambda: harness.event(fake.unreact(channel, ts, REPORTER, "pushpin")))
    assert entries(harness, incident.id) == []
    assert [e.type for e in harness.events(incident.id, ADDED, REMOVED)] == [ADDED, REMOVED]


def test_pinned_and_reacted_is_one_entry_until_both_marks_are_gone(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "Mitigated by scaling the pool")

    harness.handled(lambda: harness.event(fake.pin_message(channel, ts, RESPONDER)))
    harness.handled(lambda: harness.event(fake.react(channel, ts, REPORTER, "pushpin")))
    assert len(entries(harness, incident.id)) == 1
    harness.handled(lambda: harness.event(fake.unpin_message(channel, ts, RESPONDER)))
    assert len(entries(harness, incident.id)) == 1, "still has the reaction"
    harness.handled(lambda: harness.event(fake.unreact(channel, ts, REPORTER, "pushpin")))

    assert entries(harness, incident.id) == []
    assert len(harness.events(incident.id, ADDED)) == 1


def test_other_reactions_and_other_channels_are_ignored(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "lol")
    elsewhere = fake.add_channel("random", members=[ANA])
    other_ts = fake.post_user_message(elsewhere, ANA, "not an incident")

    harness.ignored(lambda: harness.event(fake.react(channel, ts, RESPONDER, "eyes")))
    harness.ignored(lambda: harness.event(fake.pin_message(elsewhere, other_ts, ANA)))
    assert fake.calls_to(r"/api/pins\.list$") == [], "ignored without asking Slack"
    harness.handled(
        lambda: harness.event(fake.react(channel, ts, REPORTER, "pushpin::skin-tone-2"))
    )

    # Only the pushpin (a skin tone is the same reaction) in the incident channel counted.
    assert entries(harness, incident.id) == [(message_entry_id(channel, ts), "lol")]


def test_the_configured_reaction_marks_instead_of_the_pushpin(
    make_harness: Callable[..., SlackHarness], fake: FakeSlack
) -> None:
    harness = make_harness(slack_plugin={"timeline_reaction": "round_pushpin"})
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "Root cause: expired certificate")

    harness.ignored(lambda: harness.event(fake.react(channel, ts, REPORTER, "pushpin")))
    assert entries(harness, incident.id) == []
    harness.handled(lambda: harness.event(fake.react(channel, ts, REPORTER, "round_pushpin")))

    assert entries(harness, incident.id) == [
        (message_entry_id(channel, ts), "Root cause: expired certificate")
    ]


def test_marks_on_a_closed_incident_record_nothing(harness: SlackHarness, fake: FakeSlack) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "late pin")
    engine = harness.firebell.engine
    engine.resolve(incident.id, actor=REPORTER)
    engine.close(incident.id, actor=REPORTER)

    harness.ignored(lambda: harness.event(fake.pin_message(channel, ts, RESPONDER)))

    assert harness.incident(incident.id).state is IncidentState.CLOSED
    assert harness.events(incident.id, ADDED) == []
    assert fake.calls_to(r"/api/pins\.list$") == []


@pytest.mark.parametrize(
    "inner",
    [
        {"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1", "ts": "1.2"},
        {"type": "pin_added", "user": "U1", "channel_id": "C1", "item": {"type": "message"}},
        {
            "type": "reaction_added",
            "user": "U1",
            "reaction": "pushpin",
            "item": {"type": "message", "channel": 7, "ts": "1.2"},
        },
        {
            "type": "reaction_added",
            "reaction": "pushpin",
            "item": {"type": "message", "channel": "C1", "ts": "1.2"},
        },
        {"type": "pin_added", "user": "U1", "channel_id": "C1", "item": "C1"},
    ],
)
def test_malformed_or_unsubscribed_events_are_refused_without_a_crash(
    harness: SlackHarness, inner: dict[str, Any]
) -> None:
    response = harness.post(sr.event_callback(inner))

    assert response.status_code == 400
    assert "Traceback" not in response.text
    # The app still serves the next request.
    _, channel = harness.declare()
    assert "note" in harness.reply(harness.command("help", channel_id=channel))


# -- /incident note | followup | followups | done --------------------------------------------------


def test_note_adds_an_entry_and_answers(harness: SlackHarness) -> None:
    incident, channel = harness.declare()

    reply = harness.reply(harness.command("note Rolled back <!channel> deploy", channel_id=channel))

    assert reply == f"Added to the timeline of *{incident.id}*."
    [entry] = harness.incident(incident.id).timeline_entries
    assert (entry.source, entry.author, entry.text) == (
        "note",
        REPORTER,
        "Rolled back <!channel> deploy",
    )


def test_followups_are_recorded_listed_and_done(harness: SlackHarness) -> None:
    incident, channel = harness.declare()

    first = harness.reply(
        harness.command(f"followup Alert on card timeouts <@{ANA}|ana>", channel_id=channel)
    )
    harness.reply(harness.command("follow-up Write the failover runbook", channel_id=channel))
    assert first.startswith("Follow-up #1 recorded for")
    tasks = harness.incident(incident.id).follow_ups
    assert [(t.id, t.text, t.owner) for t in tasks] == [
        (1, "Alert on card timeouts", ANA),
        (2, "Write the failover runbook", None),
    ]

    done = harness.reply(harness.command("done #1", channel_id=channel, user_id=ANA))
    assert done == f"Follow-up #1 of *{incident.id}* is done; 1 open."
    listed = harness.reply(harness.command("followups", channel_id=channel))
    assert f"*Follow-ups of {incident.id}* (1 open):" in listed
    assert f":ballot_box_with_check: *#1* Alert on card timeouts — <@{ANA}>" in listed
    assert ":white_square: *#2* Write the failover runbook" in listed
    assert harness.incident(incident.id).follow_up(1).done_by == ANA  # type: ignore[union-attr]


def test_a_follow_up_owner_may_come_first(harness: SlackHarness) -> None:
    incident, channel = harness.declare()

    harness.reply(harness.command(f"followup <@{ANA}|ana> Add alert on 500s", channel_id=channel))
    harness.reply(harness.command(f"followup <@{RESPONDER}>", channel_id=channel))

    tasks = harness.incident(incident.id).follow_ups
    assert [(t.text, t.owner) for t in tasks] == [("Add alert on 500s", ANA)]


def test_record_text_is_stored_as_typed_not_as_slack_escapes_it(harness: SlackHarness) -> None:
    incident, channel = harness.declare()

    # Slack sends "&", "<" and ">" typed in a command as &amp;, &lt; and &gt;.
    harness.reply(harness.command("note p99 &gt; 2s &amp; rising", channel_id=channel))
    harness.reply(
        harness.command(f"followup Alert when p99 &gt; 1s <@{ANA}|ana>", channel_id=channel)
    )
    listed = harness.reply(harness.command("followups", channel_id=channel))

    current = harness.incident(incident.id)
    assert [e.text for e in current.timeline_entries] == ["p99 > 2s & rising"]
    assert [(t.text, t.owner) for t in current.follow_ups] == [("Alert when p99 > 1s", ANA)]
    assert "Alert when p99 &gt; 1s" in listed and "&amp;gt;" not in listed


def test_record_subcommand_problems_are_explained(harness: SlackHarness, fake: FakeSlack) -> None:
    _, channel = harness.declare()
    general = fake.add_channel("general", members=[REPORTER])

    # Alone: a text after it outside an incident channel is taken for a new incident's title.
    assert "not an incident channel" in harness.reply(harness.command("note", channel_id=general))
    assert "Write the note" in harness.reply(harness.command("note", channel_id=channel))
    assert "Name the follow-up" in harness.reply(harness.command("done", channel_id=channel))
    assert "no follow-up #9" in harness.reply(harness.command("done 9", channel_id=channel))
    not_a_number = harness.reply(harness.command("done the alert", channel_id=channel))
    assert not_a_number == (
        "`the alert` is not a follow-up number: `/incident followups` lists them with theirs, "
        "like `/incident done 2`."
    )
    assert "has no follow-ups yet" in harness.reply(
        harness.command("followups", channel_id=channel)
    )
    # Other subcommands still reach the adapter's own listener.
    assert "Status update recorded" in harness.reply(
        harness.command("update ok", channel_id=channel)
    )


def test_a_retried_slash_command_records_one_follow_up(harness: SlackHarness) -> None:
    incident, channel = harness.declare()
    trigger = harness.fake.issue_trigger_id()
    body = sr.slash_command(
        "/incident",
        "followup Add a canary",
        user_id=REPORTER,
        channel_id=channel,
        trigger_id=trigger,
        response_url=f"{harness.fake.url}/commands/T/1/retried",
    )

    assert harness.post(body).status_code == 200
    assert harness.post(body, retry_num=1).status_code == 200
    wait_for(lambda: len(harness.fake.calls_to(r"/commands/T/1/retried$")) == 2, what="2 replies")

    assert [t.text for t in harness.incident(incident.id).follow_ups] == ["Add a canary"]


# -- closing without follow-ups ----------------------------------------------------------------------


def test_closing_without_follow_ups_opens_the_dialog_with_a_warning(harness: SlackHarness) -> None:
    incident, channel = harness.declare()
    harness.firebell.engine.resolve(incident.id, actor=REPORTER)

    view = harness.opened_view(harness.command("close all good", channel_id=channel))

    text = view["blocks"][0]["text"]["text"]
    assert "No follow-ups recorded" in text and "/incident followup" in text
    assert view["blocks"][1]["element"]["initial_value"] == "all good"
    assert harness.incident(incident.id).state is IncidentState.RESOLVED, "nothing closed yet"


def test_with_follow_ups_or_the_setting_off_close_closes_at_once(
    make_harness: Callable[..., SlackHarness],
) -> None:
    harness = make_harness()
    incident, channel = harness.declare()
    harness.firebell.engine.resolve(incident.id, actor=REPORTER)
    harness.reply(harness.command("followup Add a canary", channel_id=channel))

    assert "is closed" in harness.reply(harness.command("close", channel_id=channel))

    relaxed = make_harness({"close_requires_followups": "off"})
    other, other_channel = relaxed.declare("Search is slow")
    relaxed.firebell.engine.resolve(other.id, actor=REPORTER)
    assert "is closed" in relaxed.reply(relaxed.command("close", channel_id=other_channel))


def test_a_missing_scope_is_logged_with_what_to_do(
    harness: SlackHarness, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "pinned in an app without pins:read")
    fake.scopes.discard("pins:read")

    with caplog.at_level("WARNING", logger="firebell.slack.timeline"):
        harness.event(fake.pin_message(channel, ts, RESPONDER))
        wait_for(lambda: "missing_scope" in caplog.text, what="the warning")

    assert "Add pins:read and reactions:read to the Slack app" in caplog.text
    # The pin is not lost meanwhile: its event carries the message (test_mark_lookups.py).
    assert wait_for(lambda: entries(harness, incident.id), what="the entry") == [
        (message_entry_id(channel, ts), "pinned in an app without pins:read")
    ]
