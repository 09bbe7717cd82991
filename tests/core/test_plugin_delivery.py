"""Delivery to plugins: failures isolated and retried, links recorded, order and hooks honoured."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import attrs
import pytest
from core_support import FixedClock, Linker, Recorder, assert_log_consistent, event_types
from firebell.core import (
    Firebell,
    FirebellConfig,
    Incident,
    IntegrationFailed,
    IntegrationRecovered,
    IntegrationSkipped,
    Link,
    NothingToDo,
    PermanentPluginError,
    PluginSpec,
    RecordedEvent,
    ResourceLinked,
    RetryLater,
    hookimpl,
)
from firebell.core.timeline import describe

from firebell.testing.pytest_plugin import MakeFirebell


def failures(fb: Firebell, name: str) -> list[RecordedEvent]:
    """The incident's IntegrationFailed and IntegrationRecovered events."""
    return [
        e
        for e in fb.store.select_events(name)
        if isinstance(e.data, IntegrationFailed | IntegrationRecovered)
    ]


def attempts(recorder: Recorder, event_type: str) -> list[int]:
    return [call.attempt for call in recorder.seen(event_type)]


def test_nothing_to_do_ends_a_failing_plugins_trouble_as_skipped_not_recovered(
    make_firebell: MakeFirebell,
) -> None:
    reason = "the incident was resolved before pager could be paged"
    pager = Recorder(
        fail={"incident.created": lambda n: RuntimeError("down") if n == 1 else NothingToDo(reason)}
    )
    other = Recorder()
    fb = make_firebell(
        {"plugins": {"pager": {}, "other": {}}},
        entry_points=False,
        extra_plugins={"pager": pager, "other": other},
        retry_base=0.0,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()

    assert attempts(pager, "incident.created") == [1, 2]
    events = fb.store.select_events(name)
    integration = IntegrationFailed | IntegrationRecovered | IntegrationSkipped
    assert [type(e.data) for e in events if isinstance(e.data, integration)] == [
        IntegrationFailed,
        IntegrationSkipped,
    ]
    [skipped] = [e for e in events if isinstance(e.data, IntegrationSkipped)]
    assert skipped.data == IntegrationSkipped("pager", 1, reason)
    assert skipped.actor == "plugin:pager"
    assert describe(skipped) == f"pager: 1 delivery skipped ({reason})"
    assert fb.engine.get(name).failing_plugins == ()
    backlog = fb.deliverer.outbox.backlog()["pager"]
    assert (backlog.pending, backlog.failed, backlog.skipped) == (0, 0, 0)
    assert "incident.integration_skipped" in [c.event_type for c in other.seen()]
    assert_log_consistent(fb.store)


def test_nothing_to_do_from_a_plugin_that_was_not_failing_is_just_done(
    make_firebell: MakeFirebell,
) -> None:
    pager = Recorder(fail={"incident.created": lambda n: NothingToDo("not needed")})
    fb = make_firebell(
        {"plugins": {"pager": {}}}, entry_points=False, extra_plugins={"pager": pager}
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()

    assert attempts(pager, "incident.created") == [1]
    assert event_types(fb, name) == ["incident.created"]
    backlog = fb.deliverer.outbox.backlog()["pager"]
    assert (backlog.pending, backlog.failed, backlog.done) == (0, 0, 1)


def test_a_raising_plugin_does_not_stop_the_others_and_is_retried_until_it_works(
    make_firebell: MakeFirebell,
) -> None:
    boom = Recorder(
        fail={"incident.created": lambda n: RuntimeError(f"boom {n}") if n < 3 else None}
    )
    other = Recorder()
    fb = make_firebell(
        {"plugins": {"boom": {}, "other": {}}},
        entry_points=False,
        extra_plugins={"boom": boom, "other": other},
        retry_base=0.0,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()

    assert attempts(boom, "incident.created") == [1, 2, 3]
    assert attempts(other, "incident.created") == [1]
    failed, recovered = failures(fb, name)
    assert isinstance(failed.data, IntegrationFailed)
    assert (failed.data.plugin, failed.data.event_type, failed.data.will_retry) == (
        "boom",
        "incident.created",
        True,
    )
    assert failed.data.error == "RuntimeError: boom 1"
    assert failed.actor == "plugin:boom"
    assert isinstance(recovered.data, IntegrationRecovered)
    assert (recovered.data.plugin, recovered.data.attempts) == ("boom", 3)
    assert fb.engine.get(name).failing_plugins == ()
    # Everyone hears of the failure and of the recovery, the failing plugin included.
    for recorder in (boom, other):
        assert [c.event_type for c in recorder.seen() if c.attempt == 1] == [
            "incident.created",
            "incident.integration_failed",
            "incident.integration_recovered",
        ]
    backlog = fb.deliverer.outbox.backlog()
    assert (backlog["boom"].pending, backlog["boom"].failed, backlog["boom"].done) == (0, 0, 3)
    assert_log_consistent(fb.store)


def test_retries_back_off_on_the_clock_and_the_failure_is_reported_once(
    make_firebell: MakeFirebell, clock: FixedClock
) -> None:
    broken = {"yes": True}
    boom = Recorder(
        fail={"incident.created": lambda n: RuntimeError(f"down ({n})") if broken["yes"] else None}
    )
    fb = make_firebell(
        {"plugins": {"boom": {}}},
        entry_points=False,
        extra_plugins={"boom": boom},
        clock=clock,
        retry_base=2.0,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()
    assert attempts(boom, "incident.created") == [1]
    backlog = fb.deliverer.outbox.backlog()["boom"]
    assert (backlog.pending, backlog.last_error) == (2, "RuntimeError: down (1)")

    fb.deliverer.drain()
    clock.advance(1.5)  # the first wait is 2 s (±20 %)
    fb.deliverer.drain()
    assert attempts(boom, "incident.created") == [1]
    clock.advance(1.0)
    fb.deliverer.drain()
    assert attempts(boom, "incident.created") == [1, 2]
    clock.advance(3.1)  # then 4 s (±20 %)
    fb.deliverer.drain()
    assert attempts(boom, "incident.created") == [1, 2]
    clock.advance(1.8)
    fb.deliverer.drain()
    assert attempts(boom, "incident.created") == [1, 2, 3]
    assert fb.deliverer.outbox.backlog()["boom"].last_error == "RuntimeError: down (3)"
    assert [type(e.data) for e in failures(fb, name)] == [IntegrationFailed]

    broken["yes"] = False
    clock.advance(60)
    fb.deliverer.drain()
    assert attempts(boom, "incident.created") == [1, 2, 3, 4]
    assert [type(e.data) for e in failures(fb, name)] == [IntegrationFailed, IntegrationRecovered]
    assert fb.deliverer.outbox.backlog()["boom"].pending == 0


def test_a_failing_delivery_logs_its_cause_a_warning_when_it_starts_failing(
    make_firebell: MakeFirebell, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="firebell.delivery")
    pager = Recorder(
        fail={"incident.created": lambda n: RetryLater(f"PagerDuty answers 503 ({n})")}
    )
    fb = make_firebell(
        {"plugins": {"pager": {}}},
        entry_points=False,
        extra_plugins={"pager": pager},
        clock=clock,
        retry_base=2.0,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()
    clock.advance(3)
    fb.deliverer.drain()
    assert attempts(pager, "incident.created") == [1, 2]
    said = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.getMessage().startswith("plugin pager failed on")
    ]
    assert [level for level, _ in said] == ["WARNING", "INFO"]
    first, second = (text for _, text in said)
    assert first.startswith(
        f"plugin pager failed on incident.created for {name} (attempt 1): "
        "RetryLater: PagerDuty answers 503 (1). Next attempt at 14:02:0"
    ), first
    assert first.endswith(" UTC.")
    assert "(attempt 2): RetryLater: PagerDuty answers 503 (2). Next attempt at" in second


def test_retry_later_is_honoured(make_firebell: MakeFirebell, clock: FixedClock) -> None:
    limited = Recorder(
        fail={
            "incident.created": lambda n: (
                RetryLater("rate limited", retry_after=60) if n == 1 else None
            )
        }
    )
    fb = make_firebell(
        {"plugins": {"limited": {}}},
        entry_points=False,
        extra_plugins={"limited": limited},
        clock=clock,
        retry_base=0.0,
    )
    fb.engine.declare(title="x", reporter="U1")
    fb.deliverer.drain()
    clock.advance(59)
    fb.deliverer.drain()
    assert attempts(limited, "incident.created") == [1]
    clock.advance(2)
    fb.deliverer.drain()
    assert attempts(limited, "incident.created") == [1, 2]


def test_a_permanent_error_parks_the_delivery_until_it_is_queued_again(
    make_firebell: MakeFirebell, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="firebell.delivery")
    broken = {"yes": True}
    parked = Recorder(
        fail={
            "incident.created": lambda n: (
                PermanentPluginError("bad key; fix it, then retry") if broken["yes"] else None
            )
        }
    )
    fb = make_firebell(
        {"plugins": {"parked": {}}},
        entry_points=False,
        extra_plugins={"parked": parked},
        clock=clock,
        retry_base=0.0,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()
    clock.advance(3600)
    fb.engine.post_update(name, "still broken", actor="U1")
    fb.deliverer.drain()
    assert attempts(parked, "incident.created") == [1], "parked: never tried again by itself"
    backlog = fb.deliverer.outbox.backlog()["parked"]
    assert (backlog.failed, backlog.pending) == (1, 0)
    assert backlog.last_error == "PermanentPluginError: bad key; fix it, then retry"
    # Said where whoever runs Firebell looks (firebell run logs warnings), once.
    assert caplog.text.count(f"plugin parked gave up on incident.created for {name}") == 1
    assert "after 1 attempt: PermanentPluginError: bad key; fix it, then retry." in caplog.text
    assert "retry. Fix the cause, then run `firebell retry --plugin parked`." in caplog.text
    (failed,) = failures(fb, name)
    assert isinstance(failed.data, IntegrationFailed) and failed.data.will_retry is False
    # Later events still flow, but handling them is no recovery while one is parked.
    assert [c.event_type for c in parked.seen()][-1] == "incident.status_update_posted"
    assert fb.engine.get(name).failing_plugins == ("parked",)

    broken["yes"] = False
    assert fb.deliverer.outbox.requeue_failed(plugin="parked", now=clock()) == 1
    fb.deliverer.drain()
    assert attempts(parked, "incident.created") == [1, 1], "queued again from attempt 1"
    assert [type(e.data) for e in failures(fb, name)] == [IntegrationFailed, IntegrationRecovered]
    assert fb.engine.get(name).failing_plugins == ()


def test_a_plugin_failing_every_time_is_parked_after_the_last_attempt(
    make_firebell: MakeFirebell,
) -> None:
    hopeless = Recorder(fail={"incident.created": lambda n: ValueError("always")})
    fb = make_firebell(
        {"plugins": {"hopeless": {}}},
        entry_points=False,
        extra_plugins={"hopeless": hopeless},
        retry_base=0.0,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()
    assert attempts(hopeless, "incident.created") == list(range(1, fb.deliverer.max_attempts + 1))
    assert fb.deliverer.outbox.backlog()["hopeless"].failed == 1
    # Heard of twice: at the first failure (to be retried), and when it was given up on.
    assert [(type(e.data), e.data.will_retry) for e in failures(fb, name)] == [
        (IntegrationFailed, True),
        (IntegrationFailed, False),
    ]


def test_a_link_is_recorded_and_seen_by_the_plugins_after_it(make_firebell: MakeFirebell) -> None:
    pager = Recorder(after=("chat",))
    fb = make_firebell(
        {"plugins": {"pager": {}, "chat": {}}},  # listed first, still runs second
        entry_points=False,
        extra_plugins={"chat": Linker(), "pager": pager},
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()

    (created,) = pager.seen("incident.created")
    assert created.resources == (("chat", "channel", f"C-{name}"),)
    incident = fb.engine.get(name)
    channel = incident.resource("channel")
    assert channel is not None
    assert (channel.plugin, channel.url, channel.title) == (
        "chat",
        f"https://chat.example/{name}",
        "room",
    )
    assert fb.store.find_incident_by_resource("channel", f"C-{name}") == incident
    linked = [
        (e.actor, e.data.external_id)
        for e in fb.store.select_events(name)
        if isinstance(e.data, ResourceLinked)
    ]
    assert linked == [("plugin:chat", f"C-{name}")]
    assert [c.event_type for c in pager.seen()] == [
        "incident.created",
        "incident.resource_linked",
    ]


def test_after_waits_for_a_dependency_only_until_it_fails_once(
    make_firebell: MakeFirebell, clock: FixedClock
) -> None:
    class FlakyLinker(Linker):
        @hookimpl
        def firebell_incident_created(self, incident: Incident) -> Link:
            if self.created == 0:
                self.created += 1
                raise RetryLater("chat is down")
            return super().firebell_incident_created(incident)

    pager, independent = Recorder(), Recorder()
    fb = make_firebell(
        {"plugins": {"chat": {}, "pager": {"after": ["chat"]}, "independent": {}}},
        entry_points=False,
        extra_plugins={"chat": FlakyLinker(), "pager": pager, "independent": independent},
        clock=clock,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()
    # The pager does not wait for chat to come back: paging must not depend on chat.
    (created,) = pager.seen("incident.created")
    assert created.resources == (), "paged without the channel, which does not exist yet"
    assert len(independent.seen("incident.created")) == 1, "does not wait"

    clock.advance(60)
    fb.deliverer.drain()
    linked = [c for c in pager.seen("incident.resource_linked") if c.resources]
    assert linked[-1].resources == (("chat", "channel", f"C-{name}"),), "hears of it later"


def test_a_failing_plugin_holds_back_neither_its_dependants_nor_the_others(
    make_firebell: MakeFirebell, clock: FixedClock
) -> None:
    down = Recorder(fail={"incident.created": lambda n: RetryLater("down", retry_after=3600)})
    waiting, independent = Recorder(after=("down",)), Recorder()
    fb = make_firebell(
        {"plugins": {"down": {}, "waiting": {}, "independent": {}}},
        entry_points=False,
        extra_plugins={"down": down, "waiting": waiting, "independent": independent},
        clock=clock,
        max_workers=1,
    )
    for _ in range(6):
        fb.engine.declare(title="x", reporter="U1")
    fb.deliverer.drain()
    assert len(waiting.seen("incident.created")) == 6
    assert len(independent.seen("incident.created")) == 6
    assert len(independent.seen("incident.integration_failed")) == 6


class EarlyLinker:
    """Links a channel with ``link_now``, then waits (up to 5 s) until told to finish."""

    def __init__(self) -> None:
        self.finish = threading.Event()
        self.waited = 0.0

    @hookimpl
    def firebell_incident_created(self, incident: Incident, link_now: Any) -> Link:
        link = Link("channel", f"C-{incident.id}", None, "room")
        link_now(link)
        started = time.monotonic()
        self.finish.wait(5)
        self.waited = time.monotonic() - started
        return link  # returned again: recorded once


def test_dependants_start_once_a_dependency_links_now_not_when_it_ends(
    make_firebell: MakeFirebell,
) -> None:
    chat = EarlyLinker()

    class Pager:
        @hookimpl
        def firebell_plugin_spec(self) -> PluginSpec:
            return PluginSpec(after=("chat",))

        @hookimpl
        def firebell_incident_created(self, incident: Incident) -> None:
            self.saw = incident.resource("channel")
            chat.finish.set()  # the channel's plugin is still in its hook

    pager = Pager()
    fb = make_firebell(
        {"plugins": {"chat": {}, "pager": {}}},
        entry_points=False,
        extra_plugins={"chat": chat, "pager": pager},
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()

    assert pager.saw is not None and pager.saw.external_id == f"C-{name}"
    assert chat.waited < 4  # released by the pager, not by the timeout
    linked = [e for e in fb.store.select_events(name) if isinstance(e.data, ResourceLinked)]
    assert [e.data.external_id for e in linked] == [f"C-{name}"]
    backlog = fb.deliverer.outbox.backlog()
    assert backlog["chat"].done == backlog["pager"].done == 2  # created, resource_linked
    assert_log_consistent(fb.store)


def test_the_same_link_twice_is_recorded_once(make_firebell: MakeFirebell) -> None:
    class Twice:
        @hookimpl
        def firebell_incident_created(self, incident: Incident) -> Link:
            return Link("document", f"doc-{incident.id}")

        @hookimpl
        def firebell_event(self, event: RecordedEvent, incident: Incident) -> list[Link]:
            return [Link("document", f"doc-{incident.id}")] if event.version == 1 else []

    fb = make_firebell(
        {"plugins": {"twice": {}}}, entry_points=False, extra_plugins={"twice": Twice()}
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()
    assert event_types(fb, name) == ["incident.created", "incident.resource_linked"]
    assert len(fb.engine.get(name).resources) == 1


@attrs.frozen
class ShapeConfig:
    """A config class for the signature test."""

    colour: str = "red"


class AnySubset:
    """Hooks asking for no parameters, one, two, and the rest."""

    def __init__(self) -> None:
        self.got: dict[str, dict[str, Any]] = {}

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(config_class=ShapeConfig)

    @hookimpl
    def firebell_incident_created(self) -> None:
        self.got["created"] = {}

    @hookimpl
    def firebell_incident_resolved(self, event: RecordedEvent) -> None:
        self.got["resolved"] = {"event": event}

    @hookimpl
    def firebell_incident_closed(self, attempt: int, incident: Incident) -> None:
        self.got["closed"] = {"attempt": attempt, "incident": incident}

    @hookimpl
    def firebell_event(
        self,
        history: Sequence[RecordedEvent],
        settings: FirebellConfig,
        config: ShapeConfig,
        event: RecordedEvent,
    ) -> None:
        self.got[f"event:{event.type}"] = {
            "history": history,
            "settings": settings,
            "config": config,
        }


def test_hooks_get_any_subset_of_the_parameters(make_firebell: MakeFirebell) -> None:
    plugin = AnySubset()
    fb = make_firebell(
        {"plugins": {"shape": {"colour": "blue"}}},
        entry_points=False,
        extra_plugins={"shape": plugin},
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.engine.resolve(name, actor="U1")
    fb.engine.close(name, actor="U1")
    fb.deliverer.drain()

    assert plugin.got["created"] == {}
    assert plugin.got["resolved"]["event"].type == "incident.resolved"
    closed = plugin.got["closed"]
    assert closed["attempt"] == 1 and closed["incident"].id == name
    for event_type, position in (("incident.created", 1), ("incident.closed", 3)):
        got = plugin.got[f"event:{event_type}"]
        assert [e.position for e in got["history"]][:position] == list(range(1, position + 1))
        assert got["settings"] == fb.settings  # a copy whose database URL hides a password
        assert got["config"] == ShapeConfig("blue")
    assert fb.deliverer.outbox.backlog()["shape"].pending == 0


def test_the_generic_hook_comes_after_the_events_own(make_firebell: MakeFirebell) -> None:
    order: list[str] = []

    class Both:
        @hookimpl
        def firebell_incident_created(self) -> None:
            order.append("created")

        @hookimpl
        def firebell_event(self, event: RecordedEvent) -> None:
            order.append(f"event:{event.type}")

    fb = make_firebell(
        {"plugins": {"both": {}}}, entry_points=False, extra_plugins={"both": Both()}
    )
    fb.engine.declare(title="x", reporter="U1")
    fb.deliverer.drain()
    assert order == ["created", "event:incident.created"]


def test_an_event_a_plugin_has_no_hook_for_is_done_for_it_as_it_is_appended(
    make_firebell: MakeFirebell,
) -> None:
    """No claim, thread or call for nothing: the row is written done, and does not hold back a
    plugin that waits for this one."""
    calls: list[str] = []

    class OnlyCreated:
        @hookimpl
        def firebell_incident_created(self) -> None:
            calls.append("created")

    class AfterIt:
        @hookimpl
        def firebell_plugin_spec(self) -> PluginSpec:
            return PluginSpec(after=("only",))

        @hookimpl
        def firebell_incident_resolved(self) -> None:
            calls.append("after:resolved")

    fb = make_firebell(
        {"plugins": {"only": {}, "after_it": {}}},
        entry_points=False,
        extra_plugins={"only": OnlyCreated(), "after_it": AfterIt()},
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.engine.resolve(name, actor="U1")

    # Before any delivery: each plugin's row for the event it has no hook for is done already.
    backlog = fb.deliverer.outbox.backlog()
    assert (backlog["only"].pending, backlog["only"].done) == (1, 1)
    assert (backlog["after_it"].pending, backlog["after_it"].done) == (1, 1)
    claims = fb.deliverer.outbox.claim(
        owner="test",
        now=fb.deliverer.clock(),
        lease=fb.deliverer.lease,
        dependencies=fb.host.dependencies(),
        limit=10,
    )
    # after_it's resolved row is ready at once: only has nothing to do for incident.resolved.
    assert sorted((c.plugin, c.event_type) for c in claims) == [
        ("after_it", "incident.resolved"),
        ("only", "incident.created"),
    ]


def test_a_hook_returning_something_else_than_links_is_a_recorded_failure(
    make_firebell: MakeFirebell,
) -> None:
    class Sloppy:
        @hookimpl
        def firebell_incident_created(self, incident: Incident) -> Any:
            return [Link("document", "ok"), f"https://docs.example/{incident.id}"]

    other = Recorder()
    fb = make_firebell(
        {"plugins": {"sloppy": {}, "other": {}}},
        entry_points=False,
        extra_plugins={"sloppy": Sloppy(), "other": other},
        retry_base=0.0,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()  # does not raise
    error = fb.deliverer.outbox.backlog()["sloppy"].last_error
    assert error is not None
    assert (
        f"plugin 'sloppy': firebell_incident_created returned 'https://docs.example/{name}'"
        in error
    )
    assert "hooks return firebell.core.Link objects or None" in error
    # Reported when it first failed, and when its attempts were used up.
    assert [(f.actor, f.data.will_retry) for f in failures(fb, name)] == [
        ("plugin:sloppy", True),
        ("plugin:sloppy", False),
    ]
    assert fb.engine.get(name).resources == (), "nothing of the failed call is recorded"
    assert len(other.seen("incident.created")) == 1


def test_plugins_run_side_by_side(make_firebell: MakeFirebell) -> None:
    # Each waits for the other inside its hook: only concurrent delivery lets both finish.
    meeting = threading.Barrier(2, timeout=10)

    class Meets:
        @hookimpl
        def firebell_incident_created(self) -> None:
            meeting.wait()

    fb = make_firebell(
        {"plugins": {"left": {}, "right": {}}},
        entry_points=False,
        extra_plugins={"left": Meets(), "right": Meets()},
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    fb.deliverer.drain()
    assert failures(fb, name) == []
    backlog = fb.deliverer.outbox.backlog()
    assert backlog["left"].done == backlog["right"].done == 1


def test_each_plugin_gets_one_incidents_events_in_order(make_firebell: MakeFirebell) -> None:
    recorder = Recorder()
    fb = make_firebell(
        {"plugins": {"recorder": {}}}, entry_points=False, extra_plugins={"recorder": recorder}
    )
    names = [fb.engine.declare(title="x", reporter="U1").incident.id for _ in range(4)]
    for round_ in range(3):
        for name in names:
            fb.engine.post_update(name, f"update {round_}", actor="U1")
    fb.deliverer.drain()
    for name in names:
        positions = [c.position for c in recorder.seen() if c.incident_id == name]
        assert positions == [e.position for e in fb.store.select_events(name)]


def test_a_disabled_plugin_gets_nothing(make_firebell: MakeFirebell) -> None:
    off = Recorder()
    fb = make_firebell(
        {"plugins": {"off": {"enabled": False}}}, entry_points=False, extra_plugins={"off": off}
    )
    fb.engine.declare(title="x", reporter="U1")
    fb.deliverer.drain()
    assert off.seen() == []
    assert fb.host.subscribers == []


def test_a_plugin_switched_off_keeps_its_deliveries_for_when_it_is_back(
    make_firebell: MakeFirebell,
) -> None:
    first = make_firebell(
        {"plugins": {"pager": {}, "chat": {}}},
        entry_points=False,
        extra_plugins={"pager": Recorder(), "chat": Recorder()},
    )
    name = first.engine.declare(title="x", reporter="U1").incident.id
    first.close()  # stopped before delivering

    pager, chat = Recorder(), Recorder()
    off = make_firebell(
        {"plugins": {"pager": {"enabled": False}, "chat": {}}},
        entry_points=False,
        extra_plugins={"pager": pager, "chat": chat},
        retry_base=0.0,
    )
    off.deliverer.drain()
    assert len(chat.seen("incident.created")) == 1
    assert pager.seen() == []
    assert event_types(off, name) == ["incident.created"], "no failure is reported for it"
    assert off.deliverer.outbox.backlog()["pager"].pending == 1
    off.close()

    on = make_firebell(
        {"plugins": {"pager": {}, "chat": {}}},
        entry_points=False,
        extra_plugins={"pager": pager, "chat": chat},
    )
    on.deliverer.drain()
    assert [(c.event_type, c.attempt) for c in pager.seen()] == [("incident.created", 1)]
    assert len(chat.seen("incident.created")) == 1


def test_a_slow_plugin_does_not_hold_up_the_others_events(make_firebell: MakeFirebell) -> None:
    release = threading.Event()

    class Slow:
        @hookimpl
        def firebell_incident_created(self) -> None:
            release.wait(30)  # a hung call, or a long Retry-After slept inside a client

    fast = Recorder()
    fb = make_firebell(
        {"plugins": {"slow": {}, "fast": {}}},
        entry_points=False,
        extra_plugins={"slow": Slow(), "fast": fast},
    )
    first = fb.engine.declare(title="first", reporter="U1").incident.id
    worker = threading.Thread(target=fb.deliverer.drain)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not fast.seen("incident.created") and time.monotonic() < deadline:
            time.sleep(0.01)
        second = fb.engine.declare(title="second", reporter="U1").incident.id
        while len(fast.seen("incident.created")) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [c.incident_id for c in fast.seen("incident.created")] == [first, second]
    finally:
        release.set()
        worker.join()
