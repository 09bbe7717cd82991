"""Fixtures for the ecosystem tests: the example plugin, installed."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator

import pytest
from ecosystem_support import EXAMPLE, pip_install_target


@pytest.fixture(scope="session")
def example_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """Make sure the example plugin is installed; the extra PYTHONPATH entry if it had to be.

    ``scripts/test`` installs it into the virtualenv; a run without that installs it into a
    temporary folder for this session.
    """
    try:
        importlib.metadata.distribution("firebell-plugin-example")
    except importlib.metadata.PackageNotFoundError:
        target = tmp_path_factory.mktemp("example-site")
        pip_install_target(EXAMPLE, target)
        sys.path.insert(0, str(target))
        try:
            yield str(target)
        finally:
            sys.path.remove(str(target))
        return
    yield None
