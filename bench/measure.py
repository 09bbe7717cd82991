"""Timing helpers: medians and percentiles of repeated measurements, and the result rows."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs

__all__ = ["Result", "Sizes", "median", "p95", "percentile", "rate", "timed"]

Better = Literal["higher", "lower"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, by linear interpolation."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(k), math.ceil(k)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def p95(values: Sequence[float]) -> float:
    """The 95th percentile of ``values``."""
    return percentile(values, 95)


def timed(action: Callable[[], Any]) -> float:
    """Seconds ``action`` took (wall clock, ``perf_counter``)."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def rate(count: int, seconds: float) -> float:
    """``count`` per second."""
    return count / seconds if seconds > 0 else math.inf


@attrs.frozen
class Sizes:
    """How big each part runs: ``full`` (the issue's sizes), ``quick`` or ``smoke`` (tiny)."""

    mode: str
    reps: int
    appends_single: int
    appends_batched: int
    batch_size: int
    log_events: int
    events_per_incident: int
    latency_samples: int
    startup_small: int
    declare_runs: int
    burst_incidents: int

    @classmethod
    def for_mode(cls, mode: str) -> Sizes:
        """The sizes of ``full``, ``quick`` or ``smoke``."""
        if mode == "full":
            return cls(mode, 5, 2000, 50_000, 100, 1_000_000, 10, 200, 1_000, 7, 100)
        if mode == "quick":
            return cls(mode, 3, 500, 10_000, 100, 100_000, 10, 100, 1_000, 3, 100)
        if mode == "smoke":
            return cls(mode, 2, 40, 400, 20, 2_000, 10, 10, 200, 1, 5)
        raise ValueError(f"unknown mode {mode!r}")


@attrs.frozen
class Result:
    """One line of the table: Firebell's figure, the baseline's, their ratio and the goal.

    ``ratio`` is Firebell / baseline. ``goal`` is the bound the ratio (or, with no baseline, the
    figure itself) must meet in the direction ``better``; ``met`` is None when there is no goal.
    """

    part: str
    measure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    goal: float | None = None
    better: Better = "higher"
    note: str = ""
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def ratio(self) -> float | None:
        """Firebell's figure divided by the baseline's (None without a baseline)."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        """Whether the goal is met (None when the line has no goal)."""
        if self.goal is None:
            return None
        subject = self.ratio if self.baseline is not None else self.value
        if subject is None:
            return None
        return subject >= self.goal if self.better == "higher" else subject <= self.goal

    def to_json(self) -> dict[str, Any]:
        """The line as JSON-ready data."""
        return {
            "part": self.part,
            "measure": self.measure,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "goal": self.goal,
            "better": self.better,
            "met": self.met,
            "note": self.note,
            "extra": self.extra,
        }
