"""Idempotency keys: a repeated command (Slack retry, double click) is one incident, one event."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from core_support import Recorder, assert_log_consistent, delivery_rows
from firebell.core import AppendResult, Firebell, IncidentState

from firebell.testing.pytest_plugin import MakeFirebell


def at_once(count: int, work: Callable[[], AppendResult]) -> list[Any]:
    """Results (or errors) of ``work`` run by ``count`` threads released together."""
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def go(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = work()
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=go, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_declare_twice_with_one_key_is_one_incident(fb: Firebell) -> None:
    first = fb.engine.declare(title="Checkout failing", reporter="U1", idempotency_key="slack:1")
    again = fb.engine.declare(title="Checkout failing", reporter="U1", idempotency_key="slack:1")
    assert not first.duplicate
    assert again.duplicate
    assert again.incident.id == first.incident.id
    assert again.events == first.events
    assert fb.store.count_events() == 1 and fb.store.count_incidents() == 1
    assert first.events[0].causation_id == "slack:1"


def test_a_repeat_returns_the_first_result_even_when_the_command_is_now_refused(
    fb: Firebell,
) -> None:
    name = fb.engine.declare(title="x", reporter="U1").incident.id
    first = fb.engine.resolve(name, actor="U1", idempotency_key="click:1")
    again = fb.engine.resolve(name, actor="U1", idempotency_key="click:1")  # no "already resolved"
    assert again.duplicate and again.events == first.events
    assert again.incident.state is IncidentState.RESOLVED
    assert fb.store.count_events() == 2


def test_a_key_is_one_command_whatever_is_asked_with_it_later(fb: Firebell) -> None:
    name = fb.engine.declare(title="x", reporter="U1", idempotency_key="k").incident.id
    reused = fb.engine.post_update(name, "another text", actor="U1", idempotency_key="k")
    assert reused.duplicate
    assert [e.type for e in reused.events] == ["incident.created"]
    assert fb.store.count_events() == 1


def test_declares_with_one_key_from_two_threads_are_one_incident(fb: Firebell) -> None:
    for round_ in range(10):
        key = f"slack:{round_}"
        outcomes = at_once(
            2, partial(fb.engine.declare, title="x", reporter="U1", idempotency_key=key)
        )
        assert all(isinstance(o, AppendResult) for o in outcomes), outcomes
        assert sorted(o.duplicate for o in outcomes) == [False, True]
        assert outcomes[0].incident.id == outcomes[1].incident.id
        assert outcomes[0].events == outcomes[1].events
    assert fb.store.count_incidents() == 10
    assert fb.store.count_events() == 10
    assert_log_consistent(fb.store)


def test_resolves_with_one_key_from_two_threads_are_one_resolve(fb: Firebell) -> None:
    # The slower twin may read the state the faster one left ("already resolved"); it must still
    # answer with the twin's result, as a later repeat would.
    for round_ in range(15):
        name = fb.engine.declare(title="x", reporter="U1").incident.id
        key = f"click:{round_}"
        outcomes = at_once(3, partial(fb.engine.resolve, name, actor="U1", idempotency_key=key))
        assert all(isinstance(o, AppendResult) for o in outcomes), outcomes
        assert sorted(o.duplicate for o in outcomes) == [False, True, True]
        assert len({o.events[0].position for o in outcomes}) == 1
        assert [e.type for e in fb.store.select_events(name)] == [
            "incident.created",
            "incident.resolved",
        ]
    assert_log_consistent(fb.store)


def test_a_duplicate_is_not_delivered_again(make_firebell: MakeFirebell) -> None:
    recorder = Recorder()
    fb = make_firebell(
        {"plugins": {"recorder": {}}}, entry_points=False, extra_plugins={"recorder": recorder}
    )
    for _ in range(3):
        fb.engine.declare(title="x", reporter="U1", idempotency_key="slack:1")
    fb.deliverer.drain()
    assert len(delivery_rows(fb.store)) == 1
    assert [c.event_type for c in recorder.seen()] == ["incident.created"]
