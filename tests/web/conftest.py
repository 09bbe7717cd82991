"""Fixtures for the web console tests: a Firebell with a few incidents and clients by address."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from firebell.adapters.web import create_app
from firebell.core import Firebell
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web_support import TOKEN, Linker, MakeConsole, local_client

from firebell.testing.pytest_plugin import MakeFirebell


@pytest.fixture
def make_console(make_firebell: MakeFirebell) -> MakeConsole:
    """``make_console(web={...}, permissions={...}, environ={...})`` -> (firebell, app).

    The ``linker`` test plugin is on: every declared incident gets a Slack channel, a PagerDuty
    incident, a Notion post-mortem and a Statuspage incident, linked through the real engine.
    """

    def make(
        web: Mapping[str, Any] | None = None,
        *,
        permissions: Mapping[str, list[str]] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> tuple[Firebell, Starlette]:
        engine: dict[str, Any] = {"web": dict(web or {})}
        if permissions:
            engine["permissions"] = dict(permissions)
        firebell = make_firebell(
            {"firebell": engine, "plugins": {"linker": {}}},
            extra_plugins={"linker": Linker()},
            environ={"FIREBELL_WEB_TOKEN": TOKEN, **(environ or {})},
            entry_points=False,
        )
        return firebell, create_app(firebell)

    return make


@pytest.fixture
def console(make_console: MakeConsole) -> tuple[Firebell, Starlette]:
    """A read-only console with a shared token configured."""
    return make_console({"token": {"env": "FIREBELL_WEB_TOKEN"}})


@pytest.fixture
def local(console: tuple[Firebell, Starlette]) -> Iterator[TestClient]:
    """A local client of :func:`console`."""
    with local_client(console[1]) as client:
        yield client
