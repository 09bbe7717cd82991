"""The delivery threads' pool: threads started when no thread is free, up to its size; those
beyond ``keep`` end once idle, so the ones started beside hung calls do not stay."""

from __future__ import annotations

import threading
import time

import pytest
from core_support import eventually
from firebell.core.workers import DaemonPool


def test_threads_start_when_none_is_free_up_to_the_size(release: threading.Event) -> None:
    pool = DaemonPool(3, name="test-pool", keep=1, idle_seconds=0.2)
    try:
        blocked = [pool.submit(release.wait, 30) for _ in range(3)]
        eventually(lambda: all(f.running() for f in blocked), "three calls run at once")
        waiting = pool.submit(lambda: "done")
        time.sleep(0.2)
        assert not waiting.done(), "a fourth call ran beside three busy threads"
        assert pool.thread_count == 3

        release.set()
        assert waiting.result(5) == "done"
        assert all(f.result(5) is True for f in blocked)
        # The threads beyond keep end once idle for idle_seconds; the kept one stays.
        eventually(lambda: pool.thread_count == 1, "the extra threads ended")
        time.sleep(0.4)
        assert pool.thread_count == 1
        assert pool.submit(lambda: 7).result(5) == 7
        assert pool.thread_count == 1, "a thread started while one was free"
    finally:
        pool.close()


def test_a_free_thread_takes_the_call_instead_of_a_new_one(release: threading.Event) -> None:
    pool = DaemonPool(4, name="test-pool", keep=0, idle_seconds=5.0)
    try:
        assert pool.submit(lambda: 1).result(5) == 1
        eventually(lambda: pool.thread_count == 1, "one thread")
        blocked = pool.submit(release.wait, 30)
        eventually(blocked.running, "the free thread took it")
        second = pool.submit(release.wait, 30)
        eventually(second.running, "a new thread took the second")
        assert pool.thread_count == 2
    finally:
        release.set()
        pool.close()
    eventually(lambda: pool.thread_count == 0, "the threads ended on close")


def test_close_cancels_the_calls_not_started_and_the_threads_are_daemons(
    release: threading.Event,
) -> None:
    pool = DaemonPool(1, name="test-pool")
    running = pool.submit(release.wait, 30)
    eventually(running.running, "the call runs")
    waiting = pool.submit(lambda: None)
    pool.close()
    assert waiting.cancelled()
    with pytest.raises(RuntimeError, match="pool 'test-pool' is closed"):
        pool.submit(lambda: None)
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("test-pool"))
    release.set()
    assert running.result(5) is True
    eventually(lambda: pool.thread_count == 0, "the thread ended after its call")


def test_a_pool_refuses_a_size_or_keep_out_of_range() -> None:
    with pytest.raises(ValueError, match="at least one thread"):
        DaemonPool(0, name="p")
    with pytest.raises(ValueError, match="between 0 and 2"):
        DaemonPool(2, name="p", keep=3)
