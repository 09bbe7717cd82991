"""``python -m bench profile``: where the time of declaring an incident goes, by cProfile.

The same set-up as the ``declare`` part (the Slack app on uvicorn, the delivery worker, the four
plugins against the fakes), with every thread that starts profiled: the app's request threads,
the adapter's, the delivery worker and its pool, and the fakes' server threads. With the
default ``--delay 0`` a wall-clock profile is Firebell's (and its libraries') own work: what is
left when the services answer at once. The profiles are merged and summed by package (own time),
then the functions with the most own time are listed. The raw profile is written beside the
results for ``snakeviz`` or ``pstats``.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from bench.declare import declare_once
from bench.measure import Sizes, median
from bench.report import RESULTS_DIR
from bench.services import running_firebell

__all__ = ["profile_declare"]

Log = Callable[[str], None]

_ROOT = str(Path(__file__).resolve().parent.parent) + "/"

#: Own time spent blocked: in sockets, queues, locks and sleeps (the fakes' delay, the plugins'
#: rate limiters, idle pool threads). Everything else is work done on a CPU.
WAITING = "blocked (sockets, queues, locks, sleeps)"

_LIBRARIES = (
    ("sqlalchemy", "sqlalchemy"),
    ("slack_sdk", "slack_sdk"),
    ("slack_bolt", "slack_bolt"),
    ("cattrs", "cattrs"),
    ("attr", "attrs"),
    ("pluggy", "pluggy"),
    ("httpx", "httpx/httpcore"),
    ("httpcore", "httpx/httpcore"),
    ("notion_client", "notion_client"),
    ("pagerduty", "pagerduty"),
    ("requests", "requests/urllib3"),
    ("urllib3", "requests/urllib3"),
    ("uvicorn", "uvicorn/starlette/anyio"),
    ("starlette", "uvicorn/starlette/anyio"),
    ("anyio", "uvicorn/starlette/anyio"),
)


_WAITS = (
    "SimpleQueue",
    "poll",
    "select",
    "recv",
    "accept",
    "acquire",
    "sleep",
    "wait",
    "'read' of '_ssl",
    "do_handshake",
    "connect",
)


def _package(filename: str, function: str) -> str:
    if filename == "~":
        if any(word in function for word in _WAITS):
            return WAITING
        if "sqlite3" in function:
            return "sqlite3 (C; waits for the write lock included)"
        if any(word in function for word in ("socket", "_ssl", "getaddrinfo")):
            return "sockets and TLS (C)"
        return "builtins (C)"
    if filename.startswith(_ROOT + "firebell/testing"):
        return "fake services (firebell.testing)"
    if "site-packages/" in filename:
        library = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        for prefix, name in _LIBRARIES:
            if library == prefix:
                return name
        return "other libraries"
    if filename.startswith(_ROOT):
        return "firebell"
    if "/ssl.py" in filename or "/socket.py" in filename or "http/client.py" in filename:
        return "stdlib http/ssl/socket"
    if "/json/" in filename:
        return "stdlib json"
    if "threading.py" in filename or "concurrent/futures" in filename or "queue.py" in filename:
        return "stdlib threads"
    return "stdlib other"


class _AllThreads:
    """cProfile in every thread started while it is on (and in the calling thread)."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def _start(self, _frame: FrameType, _event: str, _arg: Any) -> None:
        profile = cProfile.Profile()
        with self.lock:
            self.profiles.append(profile)
        sys.setprofile(None)
        profile.enable()

    def __enter__(self) -> _AllThreads:
        threading.setprofile(self._start)
        return self

    def __exit__(self, *exc: object) -> None:
        threading.setprofile(None)

    def clear(self) -> None:
        """Forget what was profiled so far (the threads go on being profiled)."""
        with self.lock:
            for profile in self.profiles:
                profile.clear()

    def stats(self) -> pstats.Stats:
        with self.lock:
            stats: pstats.Stats | None = None
            for profile in self.profiles:
                try:
                    if stats is None:
                        stats = pstats.Stats(profile)
                    else:
                        stats.add(profile)
                except TypeError:  # a thread that never ran anything
                    continue
        if stats is None:
            raise RuntimeError("no thread was profiled")
        return stats


def profile_declare(sizes: Sizes, delay: float, log: Log) -> str:
    """Profile ``sizes.declare_runs`` declarations (after a warm-up); returns the report."""
    runs = max(3, sizes.declare_runs)
    # The bench's own thread (sending requests, polling the outbox) is not profiled: only the
    # threads started below, which are Firebell's, its libraries' and the fakes'.
    with _AllThreads() as threads, running_firebell(delay=delay, in_process=True) as running:
        declare_once(running, "Warm-up: checkout is down")
        threads.clear()
        log(f"  profiling {runs} declarations in {len(threads.profiles)} threads")
        timings = [
            declare_once(running, f"Profiled: checkout is down #{index + 1}")
            for index in range(runs)
        ]
    stats = threads.stats()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "declare.prof"
    stats.dump_stats(str(path))
    done = median([t.done for t in timings]) * 1000
    quiet = median([t.quiet for t in timings]) * 1000
    summary = (
        f"Wall clock, profiled: done after {done:.0f} ms, quiet after {quiet:.0f} ms (medians)."
    )
    return _report(stats, runs, delay, path) + "\n\n" + summary


def _report(stats: pstats.Stats, runs: int, delay: float, path: Path) -> str:
    own: dict[str, float] = defaultdict(float)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        own[_package(filename, function)] += tottime
    blocked = own.pop(WAITING, 0.0)
    busy = sum(own.values())
    lines = [
        f"cProfile of {runs} declarations (after a warm-up), the fakes answering after "
        f"{delay * 1000:.0f} ms, in every thread but the bench's own. Per declaration: "
        f"{busy / runs * 1000:.0f} ms of work on a CPU, and {blocked / runs * 1000:.0f} ms "
        "of threads blocked (summed over threads, which wait side by side; cProfile slows "
        "pure-Python code, so the work is overstated, by SQLAlchemy's and cattrs' share most).",
        "",
        "| work done by | CPU per declaration | share of the work |",
        "|---|---|---|",
    ]
    for name, seconds in sorted(own.items(), key=lambda item: -item[1]):
        if seconds / busy < 0.01:
            continue
        lines.append(f"| {name} | {seconds / runs * 1000:.1f} ms | {seconds / busy:.0%} |")
    buffer = io.StringIO()
    top = pstats.Stats(str(path), stream=buffer)
    top.sort_stats("tottime").print_stats(40)
    lines += ["", "Functions with the most own time:", "", buffer.getvalue().strip()]
    buffer = io.StringIO()
    top = pstats.Stats(str(path), stream=buffer)
    top.sort_stats("cumulative").print_stats(re.escape(_ROOT) + "(core|plugins|adapters)/", 30)
    lines += ["", "Firebell's functions by cumulative time:", "", buffer.getvalue().strip()]
    lines += ["", f"(raw profile: {path})"]
    return "\n".join(lines)
