"""Reminders derived from the log, with an injected clock: due once, never twice across schedulers
or restarts, none for closed incidents; and the Slack plugin posting them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from firebell.core import Firebell, Incident, Link, PluginSpec, hookimpl
from firebell.core.reminders import STALE_AFTER, DueReminder, ReminderScheduler, due_reminders
from firebell.core.timeline_events import parse_moment
from timeline_support import REPORTER, Clock, wait_for

from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell, slack_environ, slack_plugin_table

SENT = "reminder.sent"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_log(make_firebell: MakeFirebell, clock: Clock, tmp_path: Path) -> Callable[..., Firebell]:
    """``open_log(**firebell_table)``: a Firebell on the test's one SQLite log (call it again for
    a second process or a restart)."""

    def make(**table: Any) -> Firebell:
        document = {"firebell": {"database_url": f"sqlite:///{tmp_path / 'log.db'}", **table}}
        return make_firebell(document, entry_points=False, clock=clock)

    return make


def declare(firebell: Firebell, severity: str = "SEV1") -> str:
    return firebell.engine.declare(
        title="Checkout is down", reporter=REPORTER, severity=severity
    ).incident.id


def reminders(firebell: Firebell, name: str) -> list[tuple[str, str, str | None]]:
    """(kind, due time HH:MM, recipient) of each reminder sent for ``name``."""
    return [
        (e.data.kind, parse_moment(e.data.due_at).strftime("%H:%M"), e.data.recipient)  # type: ignore[attr-defined]
        for e in firebell.store.select_events(name)
        if e.type == SENT
    ]


def run(firebell: Firebell) -> int:
    return len(ReminderScheduler(firebell.engine).run_once())


# -- the update reminder ---------------------------------------------------------------------------


def test_no_update_for_the_severitys_interval_reminds_once_then_again_an_interval_later(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log(reminders={"commander_after_minutes": 0})
    name = declare(firebell, "SEV1")  # 14:02, SEV1: 30 minutes

    clock.advance(minutes=29, seconds=59)
    assert run(firebell) == 0
    clock.advance(seconds=1)  # 14:32
    assert run(firebell) == 1
    assert run(firebell) == 0
    clock.advance(minutes=29)  # 15:01
    assert run(firebell) == 0
    clock.advance(minutes=1)  # 15:02: an interval after the first went out
    assert run(firebell) == 1

    assert reminders(firebell, name) == [("update", "14:32", None), ("update", "15:02", None)]


def test_a_status_update_moves_the_next_reminder(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log(reminders={"commander_after_minutes": 0})
    name = declare(firebell, "SEV0")  # 15 minutes
    clock.advance(minutes=10)
    firebell.engine.post_update(name, "Investigating", actor=REPORTER)  # 14:12

    clock.advance(minutes=10)  # 14:22: would have been due at 14:17 without the update
    assert run(firebell) == 0
    clock.advance(minutes=5)  # 14:27
    assert run(firebell) == 1
    assert reminders(firebell, name) == [("update", "14:27", None)]


def test_a_scheduler_down_for_hours_sends_one_reminder_not_one_per_interval(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log(reminders={"commander_after_minutes": 0})
    name = declare(firebell, "SEV1")

    clock.advance(hours=3)  # 17:02
    assert run(firebell) == 1
    assert run(firebell) == 0
    clock.advance(minutes=30)
    assert run(firebell) == 1
    # The first was due at 14:32 (its key names it); the next an interval after it went out.
    assert reminders(firebell, name) == [("update", "14:32", None), ("update", "17:32", None)]


def test_two_schedulers_at_once_and_a_restart_send_each_reminder_once(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    first, second = open_log(), open_log()
    name = declare(first, "SEV1")
    clock.advance(minutes=45)  # update (14:32) and commander (14:12) both due
    start = threading.Barrier(2)
    counts: list[int] = []

    def schedule(firebell: Firebell) -> None:
        start.wait()
        counts.append(run(firebell))

    threads = [threading.Thread(target=schedule, args=(f,)) for f in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(counts) == 2, counts
    restarted = open_log()
    assert run(restarted) == 0
    assert sorted(reminders(restarted, name)) == [
        ("commander", "14:12", REPORTER),
        ("update", "14:32", None),
    ]


def test_a_reminder_the_incident_outran_is_not_sent(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log(reminders={"commander_after_minutes": 0})
    name = declare(firebell)
    clock.advance(minutes=31)
    scheduler = ReminderScheduler(firebell.engine)
    [due] = scheduler.due()
    firebell.engine.post_update(name, "Found it", actor=REPORTER)  # between the scan and the send

    assert scheduler.send(due) is None
    assert reminders(firebell, name) == []


# -- the commander reminder ------------------------------------------------------------------------


def test_without_a_commander_the_reporter_is_asked_until_someone_takes_it(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log(reminders={"update_after_minutes": {}})
    name = declare(firebell)

    clock.advance(minutes=10)  # 14:12
    assert run(firebell) == 1
    clock.advance(minutes=10)  # 14:22
    assert run(firebell) == 1
    firebell.engine.assign_commander(name, "U0ANA", actor=REPORTER)
    clock.advance(hours=2)
    assert run(firebell) == 0

    assert reminders(firebell, name) == [
        ("commander", "14:12", REPORTER),
        ("commander", "14:22", REPORTER),
    ]


# -- after the resolve ------------------------------------------------------------------------------


def test_the_post_mortem_reminder_comes_once_per_resolve_and_never_for_closed_incidents(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log(reminders={"update_after_minutes": {}, "commander_after_minutes": 0})
    name = declare(firebell)
    firebell.engine.assign_commander(name, "U0ANA", actor=REPORTER)
    clock.advance(minutes=20)
    firebell.engine.resolve(name, actor="U0ANA")  # 14:22

    clock.advance(minutes=119)
    assert run(firebell) == 0
    clock.advance(minutes=1)  # 16:22
    assert run(firebell) == 1
    clock.advance(days=1)
    assert run(firebell) == 0, "once per resolve"
    firebell.engine.reopen(name, actor="U0ANA")
    clock.advance(minutes=5)
    firebell.engine.resolve(name, actor="U0ANA")
    clock.advance(minutes=120)
    assert run(firebell) == 1, "a new resolve, a new reminder"
    firebell.engine.close(name, actor="U0ANA")
    clock.advance(days=3)
    assert run(firebell) == 0

    assert [(kind, who) for kind, _, who in reminders(firebell, name)] == [
        ("postmortem", "U0ANA"),
        ("postmortem", "U0ANA"),
    ]


def test_closed_incidents_get_no_reminder_of_any_kind(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log()
    name = declare(firebell)
    firebell.engine.resolve(name, actor=REPORTER)
    firebell.engine.close(name, actor=REPORTER)

    for hours in (1, 5, 48):
        clock.advance(hours=hours)
        assert run(firebell) == 0
    assert reminders(firebell, name) == []


def test_a_long_forgotten_resolve_gets_no_post_mortem_reminder(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log()
    name = declare(firebell)
    firebell.engine.resolve(name, actor=REPORTER)
    clock.advance(minutes=120)
    clock.set(clock() + STALE_AFTER)

    assert run(firebell) == 0
    assert reminders(firebell, name) == []


# -- settings --------------------------------------------------------------------------------------


def test_reminders_off_or_a_severity_without_minutes_send_nothing(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    off = open_log(reminders={"enabled": False})
    declare(off)
    clock.advance(hours=5)
    assert run(off) == 0

    quiet = open_log(reminders={"update_after_minutes": {"SEV0": 15}, "commander_after_minutes": 0})
    declare(quiet, "SEV2")
    clock.advance(hours=5)
    assert ReminderScheduler(quiet.engine).due() == []


def test_due_reminders_is_a_pure_function_of_the_incident_and_the_time(
    open_log: Callable[..., Firebell], clock: Clock
) -> None:
    firebell = open_log()
    name = declare(firebell)
    incident: Incident = firebell.engine.get(name)
    settings = firebell.settings.reminders

    later = clock() + timedelta(minutes=31)
    assert due_reminders(incident, settings, clock()) == []
    assert due_reminders(incident, settings, later) == [
        DueReminder(name, "update", clock() + timedelta(minutes=30)),
        DueReminder(name, "commander", clock() + timedelta(minutes=10), REPORTER),
    ]
    assert DueReminder(name, "update", clock()).idempotency_key == (
        f"reminder:{name}:update:2026-06-01T14:02:00+00:00"
    )


def test_run_forever_sends_until_stopped(open_log: Callable[..., Firebell], clock: Clock) -> None:
    firebell = open_log()
    name = declare(firebell)
    clock.advance(minutes=40)
    stop = threading.Event()
    thread = threading.Thread(
        target=ReminderScheduler(firebell.engine).run_forever,
        args=(stop,),
        kwargs={"interval": 0.05},
    )
    thread.start()
    wait_for(lambda: len(reminders(firebell, name)) == 2, what="two reminders")
    stop.set()
    thread.join(5)

    assert not thread.is_alive()
    assert len(reminders(firebell, name)) == 2


# -- the Slack plugin posts them ---------------------------------------------------------------------


class PostMortemDoc:
    """Links a post-mortem document, as the markdown or Notion plugin does."""

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(after=("slack",))

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        return Link(
            "document", f"doc-{incident.id}", "https://docs.example.com/pm/1", "Post-mortem"
        )


@pytest.fixture
def fake_slack_with_users(fake_slack: FakeSlack) -> Iterator[FakeSlack]:
    fake_slack.add_user("reporter", user_id=REPORTER)
    yield fake_slack


def channel_texts(fake: FakeSlack, firebell: Firebell, name: str) -> list[str]:
    channel = firebell.engine.get(name).resource("channel", plugin="slack")
    assert channel is not None
    return [m.get("text", "") for m in fake.messages(channel.external_id)]


def test_the_slack_plugin_posts_each_reminder_once_in_the_channel(
    make_firebell: MakeFirebell, fake_slack_with_users: FakeSlack, clock: Clock
) -> None:
    fake = fake_slack_with_users
    firebell = make_firebell(
        {"plugins": {"slack": slack_plugin_table(fake), "pm": {}}},
        extra_plugins={"pm": PostMortemDoc()},
        environ=slack_environ(fake),
        clock=clock,
        retry_base=0.0,
    )
    name = declare(firebell, "SEV1")
    firebell.deliverer.drain()
    clock.advance(minutes=31)
    run(firebell)
    firebell.deliverer.drain()
    # The same events delivered again (a crash before the outcome was recorded) post nothing.
    for event in firebell.store.select_events(name):
        if event.type == SENT:
            firebell.host.call(
                "slack",
                "firebell_reminder_sent",
                {
                    "event": event,
                    "incident": firebell.engine.get(name),
                    "settings": firebell.settings,
                },
            )

    texts = channel_texts(fake, firebell, name)
    assert sum("No status update for 31m" in t for t in texts) == 1
    assert sum(f"<@{REPORTER}>, this incident still has no commander" in t for t in texts) == 1

    firebell.engine.assign_commander(name, REPORTER, actor=REPORTER)
    firebell.engine.resolve(name, actor=REPORTER)
    clock.advance(minutes=120)
    run(firebell)
    firebell.deliverer.drain()
    [postmortem] = [
        t for t in channel_texts(fake, firebell, name) if "time for the post-mortem" in t
    ]
    assert f"<@{REPORTER}>: resolved 2h 00m ago" in postmortem
    assert "<https://docs.example.com/pm/1|Post-mortem>" in postmortem
    assert "schedule the post-mortem meeting" in postmortem


def test_a_reminder_delivered_after_the_incident_moved_on_is_not_posted(
    make_firebell: MakeFirebell, fake_slack_with_users: FakeSlack, clock: Clock
) -> None:
    fake = fake_slack_with_users
    firebell = make_firebell(
        {
            "firebell": {"reminders": {"commander_after_minutes": 0}},
            "plugins": {"slack": slack_plugin_table(fake)},
        },
        environ=slack_environ(fake),
        clock=clock,
        retry_base=0.0,
    )
    name = declare(firebell, "SEV1")
    firebell.deliverer.drain()
    clock.advance(minutes=31)
    assert run(firebell) == 1
    firebell.engine.post_update(name, "Mitigated", actor=REPORTER)  # before the delivery ran
    firebell.deliverer.drain()

    texts = channel_texts(fake, firebell, name)
    assert any("Mitigated" in t for t in texts)
    assert not any("No status update" in t for t in texts)
