"""A per-process limit on requests to Notion (an average of 3 per second per integration)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``per_second`` requests in any window, shared by every thread of the process.

    Notion allows an average of three requests per second per integration. A log of recent
    starts (at most ``per_second`` in any second) never goes past that average, where a token
    bucket's full bucket plus its refill would burst above it.
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
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait until a request may start, and count it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.window:
                    self._starts.popleft()
                if len(self._starts) < self.capacity:
                    self._starts.append(now)
                    return
                wait = self.window - (now - self._starts[0])
            self._sleep(max(wait, 0.001))
