"""The record's commands on the engine and a real SQLite log: timeline entries, notes and
follow-ups, their idempotency, the states that allow them, and the merged timeline."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from firebell.core import (
    CommandRefused,
    ConfigError,
    Firebell,
    InvalidInput,
    PermanentPluginError,
    RetryLater,
    hookimpl,
)
from firebell.core.config import parse_config
from firebell.core.incident import replay
from firebell.core.timeline import describe, incident_timeline, timeline_items
from firebell.core.timeline_commands import (
    EMPTY_MESSAGE,
    add_follow_up,
    add_note,
    add_timeline_entry,
    complete_follow_up,
    open_follow_ups,
    remove_timeline_entry,
)
from firebell.core.timeline_events import message_entry_id
from hypothesis import given, settings
from hypothesis import strategies as st
from timeline_support import Clock

from firebell.testing import temporary_firebell
from firebell.testing.pytest_plugin import MakeFirebell

CHANNEL = "C0INCIDENT1"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def firebell(make_firebell: MakeFirebell, clock: Clock) -> Firebell:
    return make_firebell({}, entry_points=False, clock=clock)


def declare(firebell: Firebell, title: str = "Checkout is down") -> str:
    return firebell.engine.declare(title=title, reporter="U0REPORTER", severity="SEV1").incident.id


def pin(firebell: Firebell, name: str, ts: str, key: str, text: str = "a message") -> Any:
    return add_timeline_entry(
        firebell.engine,
        name,
        actor="U0PINNER",
        author="U0AUTHOR",
        text=text,
        channel_id=CHANNEL,
        message_ts=ts,
        idempotency_key=key,
    )


def unpin(firebell: Firebell, name: str, ts: str, key: str) -> Any:
    return remove_timeline_entry(
        firebell.engine,
        name,
        actor="U0PINNER",
        channel_id=CHANNEL,
        message_ts=ts,
        idempotency_key=key,
    )


def types(firebell: Firebell, name: str) -> list[str]:
    return [e.type for e in firebell.store.select_events(name) if e.type.startswith("timeline.")]


# -- timeline entries ------------------------------------------------------------------------------


def test_a_repeated_key_adds_nothing_and_pin_unpin_pin_works(firebell: Firebell) -> None:
    name = declare(firebell)

    first = pin(firebell, name, "1780000000.000100", "slack-event:Ev1")
    again = pin(firebell, name, "1780000000.000100", "slack-event:Ev1")
    unpin(firebell, name, "1780000000.000100", "slack-event:Ev2")
    late_retry = pin(firebell, name, "1780000000.000100", "slack-event:Ev1")
    pin(firebell, name, "1780000000.000100", "slack-event:Ev3")

    assert not first.duplicate and again.duplicate and late_retry.duplicate
    assert again.events == first.events
    assert types(firebell, name) == [
        "timeline.entry_added",
        "timeline.entry_removed",
        "timeline.entry_added",
    ]
    entry_id = message_entry_id(CHANNEL, "1780000000.000100")
    assert [e.entry_id for e in firebell.engine.get(name).timeline_entries] == [entry_id]


def test_a_message_is_on_the_timeline_once_and_off_it_only_when_it_is_on(
    firebell: Firebell,
) -> None:
    name = declare(firebell)
    pin(firebell, name, "1780000000.000100", "k1")

    with pytest.raises(CommandRefused, match="already on the timeline"):
        pin(firebell, name, "1780000000.000100", "k2")
    with pytest.raises(CommandRefused, match="not on the timeline"):
        unpin(firebell, name, "1780000000.000999", "k3")


def test_entries_and_notes_are_allowed_after_the_resolve_and_refused_once_closed(
    firebell: Firebell,
) -> None:
    name = declare(firebell)
    firebell.engine.resolve(name, actor="U0REPORTER")
    pin(firebell, name, "1780000000.000100", "k1")
    add_note(firebell.engine, name, "found during the post-mortem", actor="U0REPORTER")
    add_follow_up(firebell.engine, name, "Alert earlier", actor="U0REPORTER")
    firebell.engine.close(name, actor="U0REPORTER")

    for attempt in (
        lambda: pin(firebell, name, "1780000000.000200", "k2"),
        lambda: unpin(firebell, name, "1780000000.000100", "k3"),
        lambda: add_note(firebell.engine, name, "too late", actor="U0REPORTER"),
    ):
        with pytest.raises(CommandRefused, match="is closed") as refused:
            attempt()
        assert str(refused.value).endswith(
            ". Write it in the post-mortem instead, or declare a new incident if the problem "
            "is back."
        )


def test_follow_ups_are_added_and_done_after_the_close_and_nothing_else_moves(
    firebell: Firebell,
) -> None:
    """The incident is closed after the post-mortem meeting; its tasks are done in the weeks
    after, and one agreed later still belongs to it."""
    name = declare(firebell)
    add_follow_up(firebell.engine, name, "Alert earlier", actor="U0REPORTER", owner="U0ANA")
    firebell.engine.resolve(name, actor="U0REPORTER")
    firebell.engine.close(name, actor="U0REPORTER")
    closed = firebell.engine.get(name)

    complete_follow_up(firebell.engine, name, 1, actor="U0ANA")
    added = add_follow_up(firebell.engine, name, "Load test the gateway", actor="U0BEN")
    complete_follow_up(firebell.engine, name, "#2", actor="U0BEN")
    with pytest.raises(CommandRefused, match=r"already done \(by U0ANA\)"):
        complete_follow_up(firebell.engine, name, 1, actor="U0ANA")

    after = firebell.engine.get(name)
    assert added.incident.follow_ups[-1].id == 2
    assert [(t.id, t.done_by) for t in after.follow_ups] == [(1, "U0ANA"), (2, "U0BEN")]
    unchanged = attrs.evolve(
        after,
        version=closed.version,
        updated_at=closed.updated_at,
        last_position=closed.last_position,
        follow_ups=closed.follow_ups,
    )
    assert unchanged == closed, "only the follow-ups changed"
    assert open_follow_ups(firebell.store) == []


def test_an_empty_message_and_a_long_one_are_kept_not_refused(firebell: Firebell) -> None:
    name = declare(firebell)
    pin(firebell, name, "1780000000.000100", "k1", text="   ")
    pin(firebell, name, "1780000000.000200", "k2", text="x" * 5000)

    texts = [e.text for e in firebell.engine.get(name).timeline_entries]
    assert texts[0] == EMPTY_MESSAGE
    assert len(texts[1]) == 3000 and texts[1].endswith("…")


def test_notes_need_text_and_are_cleaned(firebell: Firebell) -> None:
    name = declare(firebell)
    with pytest.raises(InvalidInput, match=r"note is empty; say in a few words what happened\.$"):
        add_note(firebell.engine, name, " \u200b ", actor="U0REPORTER")
    with pytest.raises(
        InvalidInput, match=r"follow-up is empty; say in a few words what is to be done\.$"
    ):
        add_follow_up(firebell.engine, name, " ", actor="U0REPORTER")
    add_note(firebell.engine, name, "rolled\u202e back", actor="U0REPORTER")
    add_note(firebell.engine, name, "scaled up", actor="U0REPORTER")

    entries = firebell.engine.get(name).timeline_entries
    assert [(e.text, e.source, e.author) for e in entries] == [
        ("rolled back", "note", "U0REPORTER"),
        ("scaled up", "note", "U0REPORTER"),
    ]
    assert len({e.entry_id for e in entries}) == 2


# -- follow-ups --------------------------------------------------------------------------------------


def test_follow_ups_are_numbered_done_once_and_explain_mistakes(firebell: Firebell) -> None:
    name = declare(firebell)
    one = add_follow_up(firebell.engine, name, "Alert on timeouts", actor="U0A", owner="U0ANA")
    add_follow_up(firebell.engine, name, "Runbook", actor="U0A")

    assert one.incident.follow_ups[-1].id == 1
    complete_follow_up(firebell.engine, name, "#1", actor="U0BEN")
    with pytest.raises(CommandRefused, match=r"already done \(by U0BEN\)"):
        complete_follow_up(firebell.engine, name, 1, actor="U0BEN")
    with pytest.raises(CommandRefused, match=r"no follow-up #7. Open ones: #2\."):
        complete_follow_up(firebell.engine, name, "7", actor="U0BEN")
    with pytest.raises(InvalidInput, match="not a follow-up number"):
        complete_follow_up(firebell.engine, name, "seven", actor="U0BEN")

    tasks = firebell.engine.get(name).follow_ups
    assert [(t.id, t.text, t.owner, t.done, t.done_by) for t in tasks] == [
        (1, "Alert on timeouts", "U0ANA", True, "U0BEN"),
        (2, "Runbook", None, False, None),
    ]


def test_a_repeated_follow_up_command_records_one(firebell: Firebell) -> None:
    name = declare(firebell)
    for _ in range(3):
        add_follow_up(firebell.engine, name, "Canary", actor="U0A", idempotency_key="slack-cmd:T1")
    assert len(firebell.engine.get(name).follow_ups) == 1


def test_open_follow_ups_across_incidents_skip_done_ones_and_cannot_be_fooled(
    firebell: Firebell, clock: Clock
) -> None:
    quiet = declare(firebell, 'Text that says "follow_ups":[] is just text')
    clock.advance(minutes=1)
    busy = declare(firebell, "Search is slow")
    add_follow_up(firebell.engine, busy, "Index the table", actor="U0A")
    add_follow_up(firebell.engine, busy, "Load test", actor="U0A")
    complete_follow_up(firebell.engine, busy, 1, actor="U0A")
    add_note(firebell.engine, quiet, '"follow_ups":[{"id":1}]', actor="U0A")
    clock.advance(minutes=1)
    closed = declare(firebell, "Old one")
    add_follow_up(firebell.engine, closed, "Still to do after the close", actor="U0A")
    firebell.engine.resolve(closed, actor="U0A")
    firebell.engine.close(closed, actor="U0A")

    found = [(incident.id, task.text) for incident, task in open_follow_ups(firebell.store)]

    assert found == [(closed, "Still to do after the close"), (busy, "Load test")]


# -- the read model and the log ------------------------------------------------------------------------


def test_the_read_model_equals_a_replay_of_the_log(firebell: Firebell, clock: Clock) -> None:
    name = declare(firebell)
    pin(firebell, name, "1780000000.000100", "k1")
    add_note(firebell.engine, name, "note", actor="U0A")
    add_follow_up(firebell.engine, name, "task", actor="U0A", owner="U0ANA")
    complete_follow_up(firebell.engine, name, 1, actor="U0A")
    clock.advance(minutes=3)
    firebell.engine.post_update(name, "first", actor="U0A")
    clock.advance(minutes=3)
    firebell.engine.post_update(name, "second", actor="U0A")
    unpin(firebell, name, "1780000000.000100", "k2")
    current = firebell.engine.get(name)

    assert replay(firebell.store.select_events(name)) == current
    firebell.store.rebuild_read_model()
    assert firebell.engine.get(name) == current
    assert current.first_update_at == clock() - timedelta(minutes=3)
    assert current.last_update_at == clock()


def test_a_read_model_row_from_before_the_record_still_loads(firebell: Firebell) -> None:
    name = declare(firebell)
    row = json.loads(json.dumps(attrs.asdict(firebell.engine.get(name)), default=str))
    for key in ("timeline_entries", "follow_ups", "reminders", "first_update_at", "reopened_at"):
        row.pop(key)
    from firebell.core.incident import Incident
    from firebell.core.serialization import converter

    old = converter.structure(row, Incident)
    assert old.timeline_entries == () and old.follow_ups == () and old.first_update_at is None


def test_record_event_payloads_hold_only_json_types(firebell: Firebell) -> None:
    """A plugin that writes ``attrs.asdict(event.data)`` as JSON keeps working."""
    name = declare(firebell)
    add_timeline_entry(
        firebell.engine,
        name,
        actor="U0A",
        author="U0B",
        text="t",
        channel_id=CHANNEL,
        message_ts="1780000000.000100",
        posted_at=firebell.engine.clock() - timedelta(hours=1),
    )
    add_follow_up(firebell.engine, name, "task", actor="U0A")
    complete_follow_up(firebell.engine, name, 1, actor="U0A")
    unpin(firebell, name, "1780000000.000100", "k")
    from firebell.testing.lifecycle import IncidentLifecycle

    lifecycle = IncidentLifecycle(firebell)
    lifecycle._incident_id = name  # drive this incident
    lifecycle.remind()

    record = [e for e in firebell.store.select_events(name) if e.type != "incident.created"]
    assert {e.type for e in record} >= {
        "timeline.entry_added",
        "timeline.entry_removed",
        "followup.added",
        "followup.done",
        "reminder.sent",
    }
    for event in record:
        json.dumps(attrs.asdict(event.data))


# -- the merged timeline -------------------------------------------------------------------------------


def test_entries_sit_at_their_messages_time_and_removed_ones_are_gone(
    firebell: Firebell, clock: Clock
) -> None:
    name = declare(firebell)  # 14:02:00
    declared = clock()
    clock.advance(minutes=5)
    firebell.engine.post_update(name, "Investigating", actor="U0A")  # 14:07
    clock.advance(minutes=30)  # 14:37: messages from earlier are pinned now
    for minutes, text in ((1, "alert fired"), (10, "rolled back"), (20, "pinned by mistake")):
        add_timeline_entry(
            firebell.engine,
            name,
            actor="U0PINNER",
            author="U0ANA",
            text=text,
            channel_id=CHANNEL,
            message_ts=f"{(declared + timedelta(minutes=minutes)).timestamp():.6f}",
            permalink=f"https://x.slack.com/archives/{CHANNEL}/p{minutes}",
            posted_at=declared + timedelta(minutes=minutes),
        )
    unpin(firebell, name, f"{(declared + timedelta(minutes=20)).timestamp():.6f}", "k")
    add_note(firebell.engine, name, "customer emails stopped", actor="U0BEN")
    firebell.engine.resolve(name, actor="U0A", summary="fixed")

    lines = incident_timeline(firebell.store.select_events(name))

    assert [(line.at[11:19], line.text, line.actor) for line in lines] == [
        ("14:02:00", "Declared as SEV1: Checkout is down", "U0REPORTER"),
        ("14:03:00", "alert fired", "U0ANA"),
        ("14:07:00", "Update: Investigating", "U0A"),
        ("14:12:00", "rolled back", "U0ANA"),
        ("14:37:00", "Note: customer emails stopped", "U0BEN"),
        ("14:37:00", "Resolved: fixed", "U0A"),
    ]
    assert lines[1].link == f"https://x.slack.com/archives/{CHANNEL}/p1"
    assert lines[1].as_markdown() == (
        f"- **2026-06-01 14:03:00 UTC** — [alert fired](<https://x.slack.com/archives/{CHANNEL}/p1>) (U0ANA)"
    )
    assert all(line.at.endswith(" UTC") for line in lines)


def test_markdown_lines_stay_one_line_and_cannot_close_the_marked_block(firebell: Firebell) -> None:
    name = declare(firebell)
    add_note(firebell.engine, name, "two\nlines <!-- firebell:timeline:end --> [x](y)", actor="U0A")

    line = incident_timeline(firebell.store.select_events(name))[-1].as_markdown()

    assert "\n" not in line and "<!--" not in line
    assert "&lt;!-- firebell:timeline:end -->" in line


def test_describe_names_every_record_event(firebell: Firebell) -> None:
    name = declare(firebell)
    pin(firebell, name, "1780000000.000100", "k1", text="the message")
    add_note(firebell.engine, name, "a note", actor="U0A")
    add_follow_up(firebell.engine, name, "task", actor="U0A", owner="U0ANA")
    complete_follow_up(firebell.engine, name, 1, actor="U0A")
    unpin(firebell, name, "1780000000.000100", "k2")

    described = [describe(e) for e in firebell.store.select_events(name)[1:]]

    assert described == [
        "Marked for the timeline (pin), a message by U0AUTHOR: the message",
        "Note: a note",
        "Follow-up #1: task — U0ANA",
        "Follow-up #1 done",
        f"Taken off the timeline: {message_entry_id(CHANNEL, '1780000000.000100')}",
    ]
    items = timeline_items(firebell.store.select_events(name))
    assert [getattr(i, "type", "entry") for i in items] == ["incident.created", "entry"]


@attrs.define
class FailsOnCreated:
    """A plugin whose first ``incident.created`` delivery fails with ``error``."""

    error: Exception | None

    @hookimpl
    def firebell_incident_created(self) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error


def test_works_again_says_how_many_attempts_only_when_there_were_several(
    make_firebell: MakeFirebell, clock: Clock
) -> None:
    """A delivery ``firebell retry`` put back counts its attempts from 1 again: its recovery
    reads "works again", not "works again (after 1 attempt)" as if nothing had failed."""
    firebell = make_firebell(
        {"plugins": {"wiki": {}, "pager": {}}},
        entry_points=False,
        extra_plugins={
            "wiki": FailsOnCreated(RetryLater("the wiki answered HTTP 503")),
            "pager": FailsOnCreated(PermanentPluginError("the pager refused the key")),
        },
        clock=clock,
        retry_base=0.0,
    )
    name = declare(firebell)
    firebell.deliverer.drain()
    firebell.deliverer.outbox.requeue_failed(plugin="pager", now=clock())
    firebell.deliverer.drain()

    said = [line.text for line in incident_timeline(firebell.store.select_events(name))]
    assert [line for line in said if "works again" in line] == [
        "wiki works again (after 2 attempts)",
        "pager works again",
    ]


# -- permissions and settings -----------------------------------------------------------------------------


def test_permissions_restrict_the_record_like_any_command(make_firebell: MakeFirebell) -> None:
    firebell = make_firebell(
        {"firebell": {"permissions": {"timeline": ["commander"], "followup": ["reporter"]}}},
        entry_points=False,
    )
    name = declare(firebell)

    with pytest.raises(CommandRefused, match="only the commander may"):
        add_note(firebell.engine, name, "hi", actor="U0STRANGER")
    with pytest.raises(CommandRefused, match="only the reporter may"):
        add_follow_up(firebell.engine, name, "x", actor="U0STRANGER")
    add_follow_up(firebell.engine, name, "x", actor="U0REPORTER")
    add_note(firebell.engine, name, "from the CLI", actor="cli:ops")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"close_requires_followups": "always"}, 'use "confirm"'),
        ({"reminders": {"update_after_minutes": {"P1": 5}}}, "names 'P1', which is not a severity"),
        ({"reminders": {"commander_after_minutes": -1}}, "whole number of minutes"),
        ({"reminders": {"commander_after_minutes": True}}, "whole number of minutes"),
        ({"reminders": {"every": 5}}, "unknown key 'every'"),
        ({"reminders": {"enabled": "yes"}}, "true or false"),
        ({"reminders": "on"}, "must be a table"),
    ],
)
def test_record_settings_are_checked_naming_the_key(
    table: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        parse_config({"firebell": table}, path=tmp_path / "plugins.toml", environ={})
    assert "plugins.toml" in str(raised.value)


def test_record_settings_defaults_and_values() -> None:
    default = parse_config({}, path=None, environ={})
    assert default.close_requires_followups == "confirm"
    assert dict(default.reminders.update_after_minutes) == {"SEV0": 15, "SEV1": 30, "SEV2": 60}
    chosen = parse_config(
        {
            "firebell": {
                "severities": {"P1": "bad", "P2": "meh"},
                "close_requires_followups": "off",
                "reminders": {"update_after_minutes": {"P1": 10}, "postmortem_after_minutes": 0},
            }
        },
        path=None,
        environ={},
    )
    assert chosen.close_requires_followups == "off"
    assert dict(chosen.reminders.update_after_minutes) == {"P1": 10}
    assert chosen.reminders.postmortem_after_minutes == 0
    # Custom severities get no update reminders unless they are given minutes.
    custom = parse_config({"firebell": {"severities": {"P1": "bad"}}}, path=None, environ={})
    assert dict(custom.reminders.update_after_minutes) == {}


# -- a property: repeats of appended commands change nothing -------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["pin", "unpin"]), st.integers(min_value=0, max_value=3)),
        max_size=12,
    )
)
def test_a_redelivered_command_never_changes_the_timeline(steps: list[tuple[str, int]]) -> None:
    """Whatever the order of marks and repeats, a repeat of an appended command (same key) is
    a no-op, so the timeline follows the last command that took effect. (A repeat of a command
    that was refused is a new decision; the Slack adapter makes it from Slack's current state.)"""
    with temporary_firebell({}) as firebell:
        _check_marks(firebell, steps)


def _check_marks(firebell: Firebell, steps: list[tuple[str, int]]) -> None:
    name = declare(firebell)
    ts = "1780000000.000100"
    on = False
    applied: list[tuple[str, str]] = []  # (kind, key) of the commands that appended
    for number, (kind, redeliver) in enumerate(steps):
        if redeliver and applied:
            earlier_kind, key = applied[min(redeliver, len(applied)) - 1]
            result = (pin if earlier_kind == "pin" else unpin)(firebell, name, ts, key)
            assert result.duplicate
            assert (firebell.engine.get(name).timeline_entries != ()) == on
        key = f"slack-event:Ev{number}"
        try:
            (pin if kind == "pin" else unpin)(firebell, name, ts, key)
        except CommandRefused:
            assert on == (kind == "pin")  # refused only when there is nothing to change
        else:
            applied.append((kind, key))
        on = kind == "pin"
        assert (firebell.engine.get(name).timeline_entries != ()) == on
