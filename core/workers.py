"""A pool of daemon threads for plugin calls that may never return.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so one
plugin call that hangs (a vendor that accepts the connection and never answers) keeps the whole
process alive for ever: ``firebell declare`` could not return, ``firebell run`` could not stop.
This pool's threads are daemon threads: a call still running when the process ends is simply cut
off. That loses nothing, because its delivery is recorded only when the call returns: the lease
ends and the delivery is claimed again (see :mod:`firebell.core.delivery`).

The pool starts a thread whenever a call comes and no thread is free, up to ``size``; it does
not decide how many calls run at once (the deliverer does, and lets calls that hang stop
counting, see :mod:`firebell.core.delivery`). Threads beyond the first ``keep`` end after a while
without work, so that the threads started beside hung calls do not stay once those calls end.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["DaemonPool"]

T = TypeVar("T")

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class DaemonPool:
    """Runs submitted calls on up to ``size`` daemon threads, started as they are needed.

    A call waits for a thread only while ``size`` threads are busy. Threads beyond the first
    ``keep`` (by default all ``size``) end once they have had no work for ``idle_seconds``.
    """

    def __init__(
        self, size: int, *, name: str, keep: int | None = None, idle_seconds: float = 60.0
    ) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one thread, not {size!r}")
        keep = size if keep is None else keep
        if not 0 <= keep <= size:
            raise ValueError(f"a pool keeps between 0 and {size} threads (its size), not {keep!r}")
        self.size = size
        self.keep = keep
        self.idle_seconds = idle_seconds
        self.name = name
        self._pending: deque[_Work] = deque()
        self._threads: set[threading.Thread] = set()
        # Threads waiting for work, counted exactly (under the lock): a call is handed to one of
        # them only while there are more of them than calls waiting, otherwise a thread starts.
        self._idle = 0
        self._named = 0
        self._changed = threading.Condition()
        self._closed = False

    @property
    def thread_count(self) -> int:
        """How many threads the pool has now, busy or waiting for work."""
        with self._changed:
            return len(self._threads)

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``function(*args)`` on a pool thread; its Future has the result or the error."""
        future: Future[T] = Future()
        with self._changed:
            if self._closed:
                raise RuntimeError(f"pool {self.name!r} is closed")
            self._pending.append((future, function, args))
            if self._idle >= len(self._pending):
                self._changed.notify()
            elif len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._run, name=f"{self.name}_{self._named}", daemon=True
                )
                self._named += 1
                self._threads.add(thread)
                thread.start()
        return future

    def close(self) -> None:
        """Take no more calls; each thread ends after its current call (none is waited for).

        Calls submitted but not started yet are cancelled.
        """
        with self._changed:
            if self._closed:
                return
            self._closed = True
            while self._pending:
                self._pending.popleft()[0].cancel()
            self._changed.notify_all()

    def _next(self) -> _Work | None:
        """The next call for this thread, or None when the thread is to end."""
        with self._changed:
            while not self._pending:
                if self._closed:
                    self._threads.discard(threading.current_thread())
                    return None
                self._idle += 1
                try:
                    woken = self._changed.wait(self.idle_seconds)
                finally:
                    self._idle -= 1
                if not woken and not self._pending and len(self._threads) > self.keep:
                    self._threads.discard(threading.current_thread())
                    return None
            return self._pending.popleft()

    def _run(self) -> None:
        while True:
            work = self._next()
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
