"""Pytest fixtures for Firebell and its plugins (registered through the ``pytest11`` entry point).

``make_firebell`` opens a Firebell on a temporary SQLite log with the settings you give (as the
``plugins.toml`` document would hold them) and closes it after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from firebell.core.config import parse_config
from firebell.core.runtime import Firebell, open_firebell

__all__ = ["MakeFirebell", "make_firebell"]

MakeFirebell = Callable[..., Firebell]


@pytest.fixture
def make_firebell(tmp_path: Path) -> Iterator[MakeFirebell]:
    """A factory: ``make_firebell(document, extra_plugins=..., environ=..., **open_options)``.

    ``document`` is the parsed ``plugins.toml`` (``{"plugins": {"console": {}}}``); its database
    defaults to a fresh SQLite file under ``tmp_path``. Every Firebell made is closed at the end.
    """
    opened: list[Firebell] = []

    def make(
        document: Mapping[str, Any] | None = None,
        *,
        extra_plugins: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
        entry_points: bool = True,
        **options: Any,
    ) -> Firebell:
        raw = {key: dict(value) for key, value in (document or {}).items()}
        engine_table = raw.setdefault("firebell", {})
        engine_table.setdefault("database_url", f"sqlite:///{tmp_path / 'firebell.db'}")
        settings = parse_config(raw, path=tmp_path / "plugins.toml", environ=environ or {})
        firebell = open_firebell(
            settings, extra_plugins=extra_plugins, entry_points=entry_points, **options
        )
        opened.append(firebell)
        return firebell

    yield make
    for firebell in opened:
        firebell.close()
