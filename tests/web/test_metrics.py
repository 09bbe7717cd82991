"""The metrics page's cache of ``firebell stats``: fresh while small, refreshed aside when large."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from firebell.adapters.web.metrics import StatsCache, window_start
from firebell.core import Firebell

from firebell.testing.pytest_plugin import MakeFirebell


def _wait_for(cache: StatsCache, incidents: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        snapshot, refreshing = cache.snapshot()
        if snapshot.stats.overall.incidents == incidents and not refreshing:
            return
        time.sleep(0.02)
    raise AssertionError(f"the figures never reached {incidents} incidents")


def test_the_window_is_twelve_whole_months() -> None:
    assert window_start(datetime(2026, 11, 29, 13, 0, tzinfo=UTC), 12) == datetime(
        2025, 12, 1, tzinfo=UTC
    )
    assert window_start(datetime(2026, 1, 5, tzinfo=UTC), 1) == datetime(2026, 1, 1, tzinfo=UTC)
    assert window_start(datetime(2026, 1, 5, tzinfo=UTC), 13) == datetime(2025, 1, 1, tzinfo=UTC)


def test_figures_are_reused_until_the_log_moves(make_firebell: MakeFirebell) -> None:
    firebell: Firebell = make_firebell(entry_points=False)
    firebell.engine.declare(title="One", reporter="U1")
    cache = StatsCache(firebell.store, ["SEV0", "SEV1", "SEV2"])

    first, _ = cache.snapshot()
    again, _ = cache.snapshot()
    firebell.engine.declare(title="Two", reporter="U1", severity="SEV0")
    moved, refreshing = cache.snapshot()

    assert again is first and first.stats.overall.incidents == 1
    assert moved.stats.overall.incidents == 2 and not refreshing  # small: computed at once
    assert moved.stats.by_severity["SEV0"].incidents == 1


def test_a_large_log_shows_the_previous_figures_while_new_ones_are_computed(
    make_firebell: MakeFirebell,
) -> None:
    firebell: Firebell = make_firebell(entry_points=False)
    firebell.engine.declare(title="One", reporter="U1")
    cache = StatsCache(firebell.store, ["SEV0", "SEV1", "SEV2"], sync_limit=0)
    first, _ = cache.snapshot()  # nothing to show yet: computed while the page waits

    firebell.engine.declare(title="Two", reporter="U1")
    stale, refreshing = cache.snapshot()

    assert stale is first and refreshing
    _wait_for(cache, 2)


def test_warming_computes_before_the_first_visit(make_firebell: MakeFirebell) -> None:
    firebell: Firebell = make_firebell(entry_points=False)
    firebell.engine.declare(title="One", reporter="U1")
    cache = StatsCache(firebell.store, ["SEV2"], sync_limit=0)

    worker = cache.warm()
    assert worker is not None
    worker.join(10)
    snapshot, refreshing = cache.snapshot()

    assert snapshot.stats.overall.incidents == 1 and not refreshing
