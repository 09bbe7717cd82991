"""A per-process limit on requests to Notion (an average of 3 per second per integration)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``per_second`` requests in any window, shared by every thread of the process.

    Notion counts requests over a sliding window, so this keeps a log of recent starts rather
    than a token bucket (a full bucket plus its refill would burst past the window's count).
    A 429's ``Retry-After`` pauses everyone through :meth:`pause`.
    """

    # Requests are timed here when sent and by Notion when received; a little slack keeps two
    # requests a window apart from landing inside one window on the server.
    _SLACK = 0.05

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = max(1, int(per_second))
        self.window = self.capacity / per_second + self._SLACK
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait until a request may start, and count it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.window:
                    self._starts.popleft()
                wait = self._paused_until - now
                if wait <= 0 and len(self._starts) < self.capacity:
                    self._starts.append(now)
                    return
                if wait <= 0:
                    wait = self.window - (now - self._starts[0])
            self._sleep(max(wait, 0.001))

    def pause(self, seconds: float) -> None:
        """Let no request start for ``seconds`` (Notion said to slow down)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
