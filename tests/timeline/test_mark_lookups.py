"""A pin or reaction whose message Slack will not show right now is not lost.

The adapter answers Slack's event at once, so Slack never sends it again: when the lookup of the
marked message is rate-limited past what the client waits inline, fails with a 5xx or a dropped
connection, or is refused, the entry is recorded from the event, and the lookup is tried again
(after a restart too) until the timeline matches Slack, or the incident is closed: then once more
at once, and a message Slack still cannot show is left as a linked "could not be read" line, not
a placeholder promising a text. Signed events through the adapter's real HTTP stack; the fake
Slack injects the failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from firebell.adapters.slack.pending_entries import PENDING_TEXT, unread_text
from firebell.core.incident import Incident
from firebell.core.timeline import incident_timeline
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

from firebell.testing.fake_http import Fault
from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell

ADDED = "timeline.entry_added"
REMOVED = "timeline.entry_removed"
LOOKUPS = r"/api/(reactions\.get|pins\.list)$"

#: Slack asks for two minutes: past the 30 s the client sleeps through, so the 429 surfaces.
RATE_LIMITED = Fault(
    status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "120"}
)
SERVER_ERROR = Fault(status=503, body={"ok": False, "error": "service_unavailable"})
DROPPED = Fault(drop=True)
ALWAYS = 10_000


@pytest.fixture
def make_harness(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> Iterator[Callable[..., SlackHarness]]:
    made: list[SlackHarness] = []
    firebell = make_firebell(
        {"firebell": {}, "plugins": {"channels": {}}},
        extra_plugins={"channels": ChannelMaker(fake)},
        entry_points=False,
    )

    def make(*, retry_base: float = 0.05) -> SlackHarness:
        # The same Firebell (and log) each time: a second harness is the adapter restarted.
        harness = SlackHarness(
            firebell, fake, lookup_retry_base=retry_base, lookup_retry_max=retry_base * 4
        )
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.stop()


@pytest.fixture
def harness(make_harness: Callable[..., SlackHarness]) -> SlackHarness:
    return make_harness()


def answered(fake: FakeSlack, path: str) -> int:
    return sum(1 for call in fake.calls_to(path) if call.status == 200)


def test_a_pin_is_recorded_from_its_event_while_the_lookup_is_rate_limited(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "Rolled back deploy 4127 &amp; paged <@U0000RESPOND>")
    fake.fail_next(LOOKUPS, RATE_LIMITED, times=ALWAYS)

    harness.event(fake.pin_message(channel, ts, RESPONDER))

    entry = wait_for(lambda: harness.incident(incident.id).timeline_entries, what="the entry")[0]
    assert entry.entry_id == message_entry_id(channel, ts)
    assert entry.text == "Rolled back deploy 4127 & paged @U0000RESPOND"
    assert (entry.author, entry.added_by, entry.source) == (ANA, RESPONDER, "pin")
    assert entry.permalink is not None and entry.permalink.endswith(ts.replace(".", ""))
    assert abs(entry.at.timestamp() - float(ts)) < 0.001
    # Slack is asked again, with backoff, until it answers; then nothing changes twice.
    wait_for(lambda: len(fake.calls_to(LOOKUPS)) >= 3, what="the lookup to be tried again")
    fake.clear_faults()
    wait_for(lambda: answered(fake, r"/api/pins\.list$"), what="a lookup Slack answers")
    assert len(harness.events(incident.id, ADDED, REMOVED)) == 1
    assert harness.incident(incident.id).timeline_entries == (entry,)


def test_a_reaction_is_recorded_at_once_and_its_text_filled_in_when_slack_answers(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "DB failover started 14:10")
    fake.fail_next(r"/api/reactions\.get$", SERVER_ERROR, times=ALWAYS)

    harness.event(fake.react(channel, ts, RESPONDER, "pushpin"))

    # reaction_added carries only where the message is (and its author): a placeholder first.
    entry = wait_for(lambda: harness.incident(incident.id).timeline_entries, what="the entry")[0]
    assert (entry.text, entry.author, entry.added_by) == (PENDING_TEXT, ANA, RESPONDER)
    assert entry.source == "reaction"
    fake.clear_faults()
    filled = wait_for(
        lambda: [
            e for e in harness.incident(incident.id).timeline_entries if e.text != PENDING_TEXT
        ],
        what="the text to be filled in",
    )[0]
    assert filled.entry_id == entry.entry_id
    assert (filled.text, filled.author, filled.added_by) == (
        "DB failover started 14:10",
        ANA,
        RESPONDER,
    )
    assert filled.permalink is not None and filled.at == entry.at
    # One line in the post-mortem's timeline: the entry replaced, not a second one.
    lines = [
        line.text
        for line in incident_timeline(harness.firebell.store.select_events(incident.id))
        if line.type == ADDED
    ]
    assert len(lines) == 1 and "DB failover started 14:10" in lines[0]


def test_a_dropped_connection_during_the_lookup_loses_nothing(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "Error rate back to 0.2%")
    fake.fail_next(r"/api/pins\.list$", DROPPED, times=3)  # the client's two retries included

    harness.event(fake.react(channel, ts, RESPONDER, "pushpin"))

    assert wait_for(
        lambda: [t for _, t in entries(harness, incident.id) if t != PENDING_TEXT],
        what="the entry with its text",
    ) == ["Error rate back to 0.2%"]


def test_a_reaction_taken_back_before_slack_answered_leaves_no_entry(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "a message reacted to by mistake")
    fake.fail_next(r"/api/reactions\.get$", RATE_LIMITED, times=ALWAYS)

    harness.event(fake.react(channel, ts, RESPONDER, "pushpin"))
    wait_for(lambda: entries(harness, incident.id), what="the pending entry")
    harness.event(fake.unreact(channel, ts, RESPONDER, "pushpin"))
    fake.clear_faults()

    wait_for(lambda: not entries(harness, incident.id), what="the entry to go")
    assert [e.type for e in harness.events(incident.id, ADDED, REMOVED)] == [ADDED, REMOVED]


def test_entries_waiting_for_slack_are_filled_in_after_a_restart(
    make_harness: Callable[..., SlackHarness], fake: FakeSlack
) -> None:
    # The first adapter would try again only in an hour: it stops before that (a restart).
    first = make_harness(retry_base=3600.0)
    incident, channel = first.declare()
    ts = fake.post_user_message(channel, ANA, "Payments queue drained")
    fake.fail_next(r"/api/reactions\.get$", RATE_LIMITED, times=ALWAYS)
    first.event(fake.react(channel, ts, RESPONDER, "pushpin"))
    wait_for(lambda: entries(first, incident.id), what="the pending entry")
    first.stop()
    fake.clear_faults()

    second = make_harness()

    assert wait_for(
        lambda: [t for _, t in entries(second, incident.id) if t != PENDING_TEXT],
        what="the text to be filled in by the restarted adapter",
    ) == ["Payments queue drained"]


def close(harness: SlackHarness, incident_id: str) -> None:
    harness.firebell.engine.resolve(incident_id, actor=REPORTER)
    harness.firebell.engine.close(incident_id, actor=REPORTER)


def pending_then_closed(harness: SlackHarness, fake: FakeSlack, text: str) -> tuple[str, str, str]:
    """A reaction recorded as a placeholder (``reactions.get`` answering 503 until cleared), its
    next retry an hour away, then the incident resolved and closed: ``(incident, channel, ts)``."""
    for retries in harness.lookups:
        retries.close_check = 0.05  # 30 s in production
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, text)
    fake.fail_next(r"/api/reactions\.get$", SERVER_ERROR, times=ALWAYS)
    harness.event(fake.react(channel, ts, RESPONDER, "pushpin"))
    wait_for(lambda: entries(harness, incident.id), what="the pending entry")
    close(harness, incident.id)
    return incident.id, channel, ts


def settled(harness: SlackHarness, incident_id: str) -> Incident:
    return wait_for(
        lambda: (
            (found := harness.incident(incident_id)).timeline_entries
            and found.timeline_entries[0].text != PENDING_TEXT
            and found
        ),
        what="the placeholder to be settled",
    )


def test_a_placeholder_gets_its_text_at_the_close_when_slack_answers_then(
    make_harness: Callable[..., SlackHarness], fake: FakeSlack
) -> None:
    harness = make_harness(retry_base=3600.0)
    incident_id, _, ts = pending_then_closed(harness, fake, "Cache warmed; p99 back to 80 ms")
    fake.clear_faults()

    # Not an hour later: the close makes the lookup due at once.
    entry = settled(harness, incident_id).timeline_entries[0]
    assert (entry.text, entry.author, entry.added_by) == (
        "Cache warmed; p99 back to 80 ms",
        ANA,
        RESPONDER,
    )
    assert entry.permalink is not None and entry.permalink.endswith(ts.replace(".", ""))
    lines = [
        line.text
        for line in incident_timeline(harness.firebell.store.select_events(incident_id))
        if line.type == ADDED
    ]
    assert lines == ["Cache warmed; p99 back to 80 ms"]


def test_a_placeholder_slack_never_answers_for_says_so_and_links_the_message_at_the_close(
    make_harness: Callable[..., SlackHarness], fake: FakeSlack
) -> None:
    harness = make_harness(retry_base=3600.0)
    incident_id, channel, ts = pending_then_closed(harness, fake, "Failover to eu-west done")
    calls_at_close = len(fake.calls_to(r"/api/reactions\.get$"))

    incident = settled(harness, incident_id)
    entry = incident.timeline_entries[0]
    marker = incident.names.get(RESPONDER, RESPONDER)
    assert entry.text == unread_text(f"the channel {channel}", marker)
    assert (entry.author, entry.added_by, entry.source) == (ANA, RESPONDER, "reaction")
    # Built from the channel's link, as Slack writes permalinks: Slack is refusing calls.
    link = f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    assert entry.permalink == link
    (line,) = [
        line
        for line in incident_timeline(harness.firebell.store.select_events(incident_id))
        if line.type == ADDED
    ]
    assert (line.text, line.link) == (entry.text, link)
    # One last try at the close (the client's own retries of the 503 included), no more after.
    wait_for(lambda: not harness.lookups[0].waiting, what="the retries to end")
    tried = len(fake.calls_to(r"/api/reactions\.get$"))
    assert tried > calls_at_close
    time.sleep(0.3)
    assert len(fake.calls_to(r"/api/reactions\.get$")) == tried
    assert len(harness.events(incident_id, ADDED, REMOVED)) == 2


def test_a_closed_incidents_placeholder_is_settled_after_a_restart(
    make_harness: Callable[..., SlackHarness], fake: FakeSlack
) -> None:
    # The adapter was down when the incident closed: the restarted one finds the placeholder.
    first = make_harness(retry_base=3600.0)
    incident_id, _, _ = pending_then_closed(first, fake, "Rate limiter raised to 500 rps")
    first.stop()
    fake.clear_faults()

    second = make_harness()

    entry = settled(second, incident_id).timeline_entries[0]
    assert (entry.text, entry.added_by) == ("Rate limiter raised to 500 rps", RESPONDER)


def test_a_reaction_taken_back_before_the_close_leaves_no_entry_after_it(
    make_harness: Callable[..., SlackHarness], fake: FakeSlack
) -> None:
    harness = make_harness(retry_base=3600.0)
    incident_id, channel, ts = pending_then_closed(harness, fake, "a message reacted to by mistake")
    fake.unreact(channel, ts, RESPONDER, "pushpin")  # its event lost; Slack shows no mark
    fake.clear_faults()

    wait_for(lambda: not entries(harness, incident_id), what="the entry to go")
    assert [e.type for e in harness.events(incident_id, ADDED, REMOVED)] == [ADDED, REMOVED]


def test_an_unpin_slack_cannot_show_takes_the_entry_off_at_once_and_a_restart_keeps_it_off(
    make_harness: Callable[..., SlackHarness], fake: FakeSlack
) -> None:
    # The first adapter would try again only in an hour: it stops before that (a restart).
    first = make_harness(retry_base=3600.0)
    incident, channel = first.declare()
    ts = fake.post_user_message(channel, ANA, "Pinned by mistake")
    first.event(fake.pin_message(channel, ts, RESPONDER))
    assert wait_for(lambda: entries(first, incident.id), what="the entry") == [
        (message_entry_id(channel, ts), "Pinned by mistake")
    ]
    fake.fail_next(LOOKUPS, RATE_LIMITED, times=ALWAYS)

    first.event(fake.unpin_message(channel, ts, RESPONDER))

    wait_for(lambda: not entries(first, incident.id), what="the entry to go")
    first.stop()
    fake.clear_faults()
    second = make_harness()
    time.sleep(0.5)  # the restarted adapter's looks at the log
    assert entries(second, incident.id) == []
    assert [e.type for e in second.events(incident.id, ADDED, REMOVED)] == [ADDED, REMOVED]


def test_an_unpin_of_a_message_still_reacted_to_puts_its_entry_back_when_slack_answers(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident, channel = harness.declare()
    ts = fake.post_user_message(channel, ANA, "Cache flushed on all nodes")
    harness.event(fake.pin_message(channel, ts, RESPONDER))
    harness.event(fake.react(channel, ts, RESPONDER, "pushpin"))
    wait_for(lambda: entries(harness, incident.id), what="the entry")
    fake.fail_next(LOOKUPS, SERVER_ERROR, times=ALWAYS)

    harness.event(fake.unpin_message(channel, ts, RESPONDER))

    wait_for(lambda: not entries(harness, incident.id), what="the entry to go for now")
    fake.clear_faults()
    assert wait_for(lambda: entries(harness, incident.id), what="the entry back") == [
        (message_entry_id(channel, ts), "Cache flushed on all nodes")
    ]
    assert [e.type for e in harness.events(incident.id, ADDED, REMOVED)] == [
        ADDED,
        REMOVED,
        ADDED,
    ]
