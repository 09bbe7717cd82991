"""A plugin call that never returns: it holds its lease and its thread, and nothing else."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from core_support import START, FixedClock, Recorder, eventually
from firebell.core import Firebell, RecordedEvent, hookimpl
from firebell.core.schema import deliveries

from firebell.testing.pytest_plugin import MakeFirebell


class Hanging:
    """A plugin whose ``incident.created`` waits for ``release`` (a vendor that never answers)."""

    def __init__(self, release: threading.Event, calls: list[tuple[str, int]]) -> None:
        self.release = release
        self.calls = calls

    @hookimpl
    def firebell_incident_created(self, event: RecordedEvent, attempt: int) -> None:
        """Write the call down, then hang until released."""
        self.calls.append((event.incident_id, attempt))
        self.release.wait(60)


HangAndQuick = tuple[Firebell, list[tuple[str, int]], Recorder]


@pytest.fixture
def hang_and_quick(
    make_firebell: MakeFirebell, clock: FixedClock, release: threading.Event
) -> HangAndQuick:
    """A Firebell with a plugin that hangs on created (its calls written down) and one that
    answers at once."""
    calls: list[tuple[str, int]] = []
    quick = Recorder()
    fb = make_firebell(
        {"plugins": {"hang": {}, "quick": {}}},
        entry_points=False,
        extra_plugins={"hang": Hanging(release, calls), "quick": quick},
        clock=clock,
    )
    return fb, calls, quick


def lease_of(fb: Firebell, plugin: str) -> tuple[str | None, object]:
    with fb.store.read() as connection:
        row = connection.execute(
            sa.select(deliveries.c.lease_owner, deliveries.c.lease_expires_at).where(
                deliveries.c.plugin == plugin, deliveries.c.event_type == "incident.created"
            )
        ).one()
    return row.lease_owner, row.lease_expires_at


def worker(fb: Firebell) -> tuple[threading.Thread, threading.Event]:
    """``firebell run``'s delivery worker for ``fb``, started."""
    stop = threading.Event()
    thread = threading.Thread(
        target=fb.deliverer.run_forever, args=(stop,), kwargs={"poll_interval": 0.05}
    )
    thread.start()
    return thread, stop


def test_a_hung_call_keeps_its_lease_and_is_never_started_twice(
    make_firebell: MakeFirebell,
    clock: FixedClock,
    release: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[tuple[str, int]] = []
    document = {"plugins": {"hang": {}, "quick": {}}}
    quick = Recorder()
    fb = make_firebell(
        document,
        entry_points=False,
        extra_plugins={"hang": Hanging(release, calls), "quick": quick},
        clock=clock,
    )
    # Another process on the same log, with the same plugins.
    other = make_firebell(
        document,
        entry_points=False,
        extra_plugins={"hang": Hanging(release, calls), "quick": Recorder()},
        clock=clock,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    thread, stop = worker(fb)
    try:
        eventually(lambda: calls == [(name, 1)], "the call started")
        eventually(lambda: len(quick.seen("incident.created")) == 1, "the others went on")
        assert lease_of(fb, "hang") == (fb.deliverer.owner, START + timedelta(minutes=5))

        clock.advance(3 * 60)  # past half the lease: the worker renews it
        renewed = START + timedelta(minutes=8)
        eventually(lambda: lease_of(fb, "hang")[1] == renewed, "the lease was renewed")
        assert "plugin hang has been running incident.created for" in caplog.text
        assert "its lease is renewed while it runs" in caplog.text

        clock.advance(3 * 60)  # the first lease is over; the renewed one holds
        time.sleep(0.5)  # a few of the worker's looks for ready work
        other.deliverer.drain(timeout=1)
        assert calls == [(name, 1)], "started a second time beside itself"
        assert [r.claim.incident_id for r in fb.deliverer.running()] == [name]
        assert other.deliverer.running() == []
    finally:
        release.set()
        stop.set()
        fb.deliverer.wake()
        thread.join(10)
    assert not thread.is_alive()
    backlog = fb.deliverer.outbox.backlog()["hang"]
    assert (backlog.pending, backlog.done) == (0, 1)
    assert fb.deliverer.running() == []
    assert calls == [(name, 1)]


def test_a_lease_lost_while_the_call_runs_does_not_start_it_again_here(
    make_firebell: MakeFirebell,
    clock: FixedClock,
    release: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[tuple[str, int]] = []
    fb = make_firebell(
        {"plugins": {"hang": {}}},
        entry_points=False,
        extra_plugins={"hang": Hanging(release, calls)},
        clock=clock,
    )
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    thread, stop = worker(fb)
    try:
        eventually(lambda: calls == [(name, 1)], "the call started")
        # As after an outage: the process's leases are dropped while the call still runs.
        assert fb.deliverer.outbox.release_leases([fb.deliverer.owner]) == 1
        eventually(lambda: lease_of(fb, "hang")[0] == fb.deliverer.owner, "claimed again")
        time.sleep(0.5)
        assert calls == [(name, 1)]
        assert "plugin hang is still running incident.created for" in caplog.text
        assert "not starting it a second time" in caplog.text
    finally:
        release.set()
        stop.set()
        fb.deliverer.wake()
        thread.join(10)
    assert fb.deliverer.outbox.backlog()["hang"].done == 1
    assert calls == [(name, 1)]


def test_a_drain_with_a_timeout_returns_and_names_the_call_left_running(
    hang_and_quick: HangAndQuick,
) -> None:
    fb, calls, quick = hang_and_quick
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    started = time.monotonic()
    fb.deliverer.drain(timeout=0.5)
    took = time.monotonic() - started
    assert 0.5 <= took < 3, f"the drain took {took:.2f} s"  # the timeout, then a 0.5 s grace
    assert calls == [(name, 1)]
    assert len(quick.seen("incident.created")) == 1
    (running,) = fb.deliverer.running()
    assert (running.claim.plugin, running.claim.incident_id, running.claim.attempt) == (
        "hang",
        name,
        1,
    )
    assert (running.started_at, running.lease_until) == (START, START + timedelta(minutes=5))

    started = time.monotonic()
    fb.deliverer.close(wait_for=0.2)
    assert time.monotonic() - started < 1, "close waited for the hung call"
    pool = [t for t in threading.enumerate() if t.name.startswith("firebell-delivery")]
    assert pool, "the hung call's thread is still there"
    assert all(t.daemon for t in pool), "a hung call's thread would hold the interpreter's exit"


def test_the_backlog_shows_a_call_under_way_since_it_began_across_renewals(
    make_firebell: MakeFirebell,
    clock: FixedClock,
    release: threading.Event,
    hang_and_quick: HangAndQuick,
) -> None:
    fb, calls, quick = hang_and_quick
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    # Another process on the same log (the `firebell plugins` command) reads the backlog.
    reader = make_firebell(
        {"plugins": {"hang": {}, "quick": {}}},
        entry_points=False,
        extra_plugins={"hang": Recorder(), "quick": Recorder()},
    )
    thread, stop = worker(fb)
    try:
        eventually(lambda: calls == [(name, 1)], "the call started")
        eventually(lambda: len(quick.seen("incident.created")) == 1, "the others went on")
        clock.advance(4 * 60)  # past half the lease: renewed, the call's start stays
        eventually(
            lambda: lease_of(fb, "hang")[1] == START + timedelta(minutes=9), "the lease renewed"
        )
        for backlog in (
            reader.deliverer.outbox.backlog(now=clock()),
            reader.deliverer.outbox.backlog(now=clock(), incident_id=name),
        ):
            hang, done = backlog["hang"], backlog["quick"]
            assert (hang.pending, hang.under_way, hang.under_way_since) == (1, 1, START)
            assert (done.pending, done.under_way, done.under_way_since) == (0, 0, None)
        assert reader.deliverer.outbox.backlog(now=clock(), incident_id="other") == {}
        # A lease run out (its process killed) is no call under way: the delivery is only due.
        later = reader.deliverer.outbox.backlog(now=START + timedelta(minutes=10))["hang"]
        assert (later.pending, later.under_way, later.under_way_since) == (1, 0, None)
    finally:
        release.set()
        stop.set()
        fb.deliverer.wake()
        thread.join(10)
    hang = reader.deliverer.outbox.backlog(now=clock())["hang"]
    assert (hang.pending, hang.done, hang.under_way) == (0, 1, 0)
