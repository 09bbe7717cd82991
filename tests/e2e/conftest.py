"""Fixtures for the end-to-end tests: the whole system (:mod:`e2e_support`) per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from e2e_support import MakeSystem, System, running_system


@pytest.fixture
def make_system(tmp_path: Path) -> Iterator[MakeSystem]:
    """``make_system(**options)``: the whole system in ``tmp_path`` (see ``running_system``);
    everything started is stopped after the test."""
    with ExitStack() as stack:
        made: list[System] = []

        def make(**options: Any) -> System:
            folder = tmp_path / f"system-{len(made)}"
            folder.mkdir()
            made.append(stack.enter_context(running_system(folder, **options)))
            return made[-1]

        yield make
