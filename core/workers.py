"""A pool of daemon threads for plugin calls that may never return.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so one
plugin call that hangs (a vendor that accepts the connection and never answers) keeps the whole
process alive for ever: ``firebell declare`` could not return, ``firebell run`` could not stop.
This pool's threads are daemon threads: a call still running when the process ends is simply cut
off. That loses nothing, because its delivery is recorded only when the call returns: the lease
ends and the delivery is claimed again (see :mod:`firebell.core.delivery`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["DaemonPool"]

T = TypeVar("T")

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class DaemonPool:
    """Runs submitted calls on up to ``size`` daemon threads, started as they are needed."""

    def __init__(self, size: int, *, name: str) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one thread, not {size!r}")
        self.size = size
        self.name = name
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Released by a thread each time it finishes a call: a free thread takes the next one.
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``function(*args)`` on a pool thread; its Future has the result or the error."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"pool {self.name!r} is closed")
            self._work.put((future, function, args))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._run, name=f"{self.name}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def close(self) -> None:
        """Take no more calls; each thread ends after its current call (none is waited for).

        Calls submitted but not started yet are cancelled.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while True:
                try:
                    work = self._work.get_nowait()
                except queue.Empty:
                    break
                if work is not None:
                    work[0].cancel()
            for _ in self._threads:
                self._work.put(None)

    def _run(self) -> None:
        while True:
            work = self._work.get()
            if work is None:
                return
            future, function, args = work
            if future.set_running_or_notify_cancel():
                try:
                    result = function(*args)
                except BaseException as error:
                    future.set_exception(error)
                else:
                    future.set_result(result)
            del work, future  # no reference to the last call's result while idle
            self._idle.release()
