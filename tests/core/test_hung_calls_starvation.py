"""Hung plugin calls cannot starve delivery: one plugin never takes every worker, and past
``hung_after`` its calls stop counting against ``max_workers``, within a limit per plugin and a
cap on the threads in all."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
from core_support import FixedClock, Recorder, eventually
from firebell.core import Firebell, RecordedEvent, hookimpl
from firebell.core.delivery import HUNG_AFTER, Deliverer

from firebell.testing.pytest_plugin import MakeFirebell

#: Clock seconds that make every call under way a hung one (with the default ``hung_after``).
PAST_HUNG = HUNG_AFTER.total_seconds() + 1


class Hanging:
    """A plugin whose ``incident.created`` hangs until ``release`` is set (a vendor that accepts
    the connection and never answers); its other events it only writes down."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @hookimpl
    def firebell_incident_created(self, event: RecordedEvent) -> None:
        """Write the call down, then hang until released."""
        with self._lock:
            self.calls.append((event.type, event.incident_id))
        self.release.wait(60)

    @hookimpl
    def firebell_incident_resolved(self, event: RecordedEvent) -> None:
        """Write the call down."""
        with self._lock:
            self.calls.append((event.type, event.incident_id))

    def seen(self, event_type: str = "incident.created") -> list[str]:
        """The incidents of the calls of ``event_type`` so far, in call order."""
        with self._lock:
            return [incident for kind, incident in self.calls if kind == event_type]


def holds(condition: Callable[[], bool], what: str, seconds: float = 0.5) -> None:
    """Assert ``condition`` stays true for ``seconds`` (a few of the worker's looks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition(), f"no longer true: {what}"
        time.sleep(0.01)


class Worker:
    """``firebell run``'s delivery loop for a deliverer, on a thread of its own."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=deliverer.run_forever, args=(self.stop,), kwargs={"poll_interval": 0.05}
        )
        self.thread.start()

    def finish(self, release: threading.Event) -> None:
        """Release the hung calls, stop the loop and wait for it."""
        release.set()
        self.stop.set()
        self.deliverer.wake()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the delivery loop did not stop"


def declare(fb: Firebell, count: int) -> list[str]:
    return [fb.engine.declare(title=f"x{n}", reporter="U1").incident.id for n in range(count)]


@pytest.fixture
def hang_and_quick(
    make_firebell: MakeFirebell,
    clock: FixedClock,
    release: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> tuple[Firebell, Hanging, Recorder]:
    """A Firebell with a plugin that hangs on created and one that answers at once; the
    delivery log's warnings captured."""
    caplog.set_level(logging.WARNING, logger="firebell.delivery")
    hang, quick = Hanging(release), Recorder()
    fb = make_firebell(
        {"plugins": {"hang": {}, "quick": {}}},
        entry_points=False,
        extra_plugins={"hang": hang, "quick": quick},
        clock=clock,
    )
    return fb, hang, quick


def test_eight_hung_calls_do_not_stop_the_other_plugins(
    hang_and_quick: tuple[Firebell, Hanging, Recorder],
    clock: FixedClock,
    release: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fb, hang, quick = hang_and_quick
    first = declare(fb, 10)
    worker = Worker(fb.deliverer)
    try:
        # Not hung yet: the vendor's calls take 6 of the 8 workers (plugin_workers), never all.
        eventually(lambda: len(hang.seen()) == 6, "the vendor holds 6 workers")
        later = declare(fb, 1)[0]
        fb.engine.resolve(first[0], actor="U1")
        eventually(
            lambda: {c.incident_id for c in quick.seen("incident.created")} == {*first, later},
            "the other plugin got every incident before any call was hung",
        )
        eventually(
            lambda: [c.incident_id for c in quick.seen("incident.resolved")] == [first[0]],
            "the other plugin got the resolve",
        )
        holds(lambda: len(hang.seen()) == 6, "a 7th call while 6 run")

        clock.advance(PAST_HUNG)
        fb.deliverer.wake()
        eventually(lambda: "is taken as hung" in caplog.text, "the calls were found hung")
        # The hanging plugin gets nothing more while 6 of its calls hang (its limit is 4), and
        # its resolve of the first incident waits behind that incident's hung created.
        holds(lambda: len(hang.seen()) == 6, "the hanging plugin was given more calls")
        assert first[0] in hang.seen() and hang.seen("incident.resolved") == []
        running = fb.deliverer.running()
        assert len(running) == 6 and {r.claim.plugin for r in running} == {"hang"}
        assert "is taken as hung (hung_after 180 s)" in caplog.text
        assert (
            "plugin hang has 6 calls hung, 6 under way in all; while it hangs, no call"
            in caplog.text
        )
        assert "no call of its own starts until fewer than 4 are under way" in caplog.text
        assert "delivery stopped" not in caplog.text
    finally:
        worker.finish(release)
    backlog = fb.deliverer.outbox.backlog()
    assert (backlog["hang"].pending, backlog["quick"].pending) == (0, 0)
    assert sorted(hang.seen()) == sorted([*first, later]), "a call was started twice"
    assert hang.calls.index(("incident.resolved", first[0])) > hang.calls.index(
        ("incident.created", first[0])
    )
    assert "plugin hang's hung call for incident.created" in caplog.text
    assert fb.deliverer.running() == []


def test_a_plugin_that_hangs_gets_at_most_its_limit_of_calls(
    hang_and_quick: tuple[Firebell, Hanging, Recorder],
    clock: FixedClock,
    release: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fb, hang, quick = hang_and_quick
    worker = Worker(fb.deliverer)
    try:
        declare(fb, 1)
        eventually(lambda: len(hang.seen()) == 1, "the first call started")
        clock.advance(PAST_HUNG)
        fb.deliverer.wake()
        eventually(lambda: "is taken as hung" in caplog.text, "the call was found hung")
        later = declare(fb, 6)
        eventually(
            lambda: {c.incident_id for c in quick.seen("incident.created")} >= set(later),
            "the other plugin got every incident",
        )
        # Four under way (half of the 8 workers), one of them hung: the other three incidents
        # wait, unclaimed.
        eventually(lambda: len(hang.seen()) == 4, "the plugin got up to its limit")
        holds(lambda: len(hang.seen()) == 4, "the plugin went past its limit")
        assert "plugin hang has 1 call hung, 4 under way in all" in caplog.text
        assert fb.deliverer.outbox.backlog()["hang"].pending == 7
    finally:
        worker.finish(release)
    assert len(hang.seen()) == 7 and fb.deliverer.outbox.backlog()["hang"].pending == 0


def test_the_threads_for_hung_calls_are_capped(
    make_firebell: MakeFirebell,
    clock: FixedClock,
    release: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plugins = {name: Hanging(release) for name in ("h1", "h2", "h3")}
    quick = Recorder()
    fb = make_firebell(
        {"plugins": {"h1": {}, "h2": {}, "h3": {}, "quick": {}}},
        entry_points=False,
        extra_plugins={**plugins, "quick": quick},
        clock=clock,
    )
    # The cap: 2 workers and 1 more call beside hung ones, a hanging plugin 1 call at a time.
    deliverer = Deliverer(
        fb.store, fb.host, clock=clock, max_workers=2, hung_plugin_calls=1, max_hung_calls=1
    )
    worker = Worker(deliverer)
    try:
        declare(fb, 1)
        for _ in range(2):
            eventually(lambda: len(deliverer.running()) >= 2, "the workers are busy")
            clock.advance(PAST_HUNG)
            deliverer.wake()
        eventually(lambda: len(deliverer.running()) == 3, "three calls under way, the cap")
        clock.advance(PAST_HUNG)
        deliverer.wake()
        eventually(lambda: "delivery stopped: 3 plugin calls" in caplog.text, "the cap is said")
        assert "3 of them hung (h1: 1, h2: 1, h3: 1)" in caplog.text
        assert "(max_workers 2 + max_hung_calls 1)" in caplog.text
        later = declare(fb, 1)[0]
        holds(lambda: len(deliverer.running()) == 3, "a call started past the cap")
        assert later not in {c.incident_id for c in quick.seen()}
        assert deliverer._pool.thread_count <= 3
        assert caplog.text.count("delivery stopped") == 1, "said at every look"
    finally:
        worker.finish(release)
        deliverer.close()
    assert all(fb.deliverer.outbox.backlog()[name].pending == 0 for name in (*plugins, "quick"))
    assert [len(plugin.seen()) for plugin in plugins.values()] == [2, 2, 2]
