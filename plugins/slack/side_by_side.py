"""Slack calls made side by side, on daemon threads that every delivery shares.

A delivery's calls that need only the channel run at once: the set-up's purpose, topic,
invitations, bookmarks, summary, DM and announcements; a link's bookmark, line and summary.
They run on a pool of daemon threads (:class:`~firebell.core.workers.DaemonPool`), not on a
``ThreadPoolExecutor`` per delivery: Python joins an executor's threads when it exits, so a
command whose ``--deliver-timeout`` had run out still waited for every Slack call under way,
round after round, and a round started while the interpreter stopped failed as if Slack had.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager
from typing import Any

from firebell.core.workers import DaemonPool

__all__ = ["side_by_side"]

# Room for several deliveries' set-ups at once (each a dozen calls); threads beyond the first
# eight end after a minute without work.
_POOL = DaemonPool(64, name="firebell-slack", keep=8, idle_seconds=60.0)

Submit = Callable[..., "Future[Any]"]


@contextmanager
def side_by_side() -> Iterator[Submit]:
    """Give a ``submit(function, *args, **kwargs)`` that starts a call at once; on leaving,
    wait until every call started has ended. Their results and errors are read after, in the
    order the caller chooses."""
    started: list[Future[Any]] = []

    def submit(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = _POOL.submit(functools.partial(function, *args, **kwargs))
        started.append(future)
        return future

    try:
        yield submit
    finally:
        wait(started)
