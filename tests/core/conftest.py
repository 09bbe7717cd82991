"""Fixtures for the engine tests: a hand-moved clock and a Firebell on a fresh SQLite file."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from core_support import FixedClock
from firebell.core import Firebell

from firebell.testing.pytest_plugin import MakeFirebell


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2026-06-01 14:02 UTC until the test moves it."""
    return FixedClock()


@pytest.fixture
def fb(make_firebell: MakeFirebell, clock: FixedClock) -> Firebell:
    """A Firebell with no plugins on a new SQLite log, on ``clock``."""
    return make_firebell(entry_points=False, clock=clock)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of each test, so that no call a test keeps blocked outlives it."""
    event = threading.Event()
    yield event
    event.set()
