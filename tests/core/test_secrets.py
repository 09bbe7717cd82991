"""Secrets from plugins.toml never reach the log, the read model or stored delivery errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs
import pytest
from firebell.core import (
    Engine,
    EventStore,
    FirebellConfig,
    IntegrationFailed,
    PermanentPluginError,
    PluginSpec,
    RecordedEvent,
    Secret,
    hookimpl,
)
from firebell.core.config import parse_config
from firebell.core.delivery import Deliverer
from firebell.core.plugin_host import PluginHost

from firebell.testing.pytest_plugin import MakeFirebell

TOKEN = "xoxb-s3cr3t-4242-token"


@attrs.frozen
class LeakyConfig:
    """A config with a secret."""

    token: Secret


class Leaky:
    """A plugin that puts its secret in every error message, the way careless code does."""

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(config_class=LeakyConfig)

    @hookimpl
    def firebell_incident_created(self, config: LeakyConfig) -> None:
        raise RuntimeError(f"401 from https://api.example/?token={config.token.reveal()}")

    @hookimpl
    def firebell_incident_resolved(self, config: LeakyConfig) -> None:
        raise PermanentPluginError(f"token {config.token.reveal()} was revoked")


def whole_database(path: Path) -> str:
    """Every row of every table of the SQLite file, as SQL text."""
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


@pytest.mark.parametrize("retry_base", [0.0, 2.0])
def test_a_secret_in_an_error_is_stored_redacted(
    make_firebell: MakeFirebell, tmp_path: Path, retry_base: float
) -> None:
    fb = make_firebell(
        {"plugins": {"leaky": {"token": {"env": "LEAKY_TOKEN"}}}},
        environ={"LEAKY_TOKEN": TOKEN},
        entry_points=False,
        extra_plugins={"leaky": Leaky()},
        retry_base=retry_base,
    )
    name = fb.engine.declare(title="Leak test", reporter="U1").incident.id
    fb.engine.resolve(name, actor="U1")
    fb.deliverer.drain()

    assert fb.settings.plugins["leaky"].options["token"].reveal() == TOKEN, "the plugin had it"
    errors = [
        e.data.error for e in fb.store.select_events(name) if isinstance(e.data, IntegrationFailed)
    ]
    assert errors and all(TOKEN not in error for error in errors)
    assert "token=<LEAKY_TOKEN>" in errors[0]
    backlog = fb.deliverer.outbox.backlog()["leaky"]
    assert backlog.last_error is not None and "<LEAKY_TOKEN>" in backlog.last_error
    dump = whole_database(tmp_path / "firebell.db")
    assert "<LEAKY_TOKEN>" in dump, "the errors were stored"
    assert TOKEN not in dump
    assert TOKEN not in repr(fb.settings) and TOKEN not in str(fb.store.get_incident(name))


def test_a_secret_is_not_in_the_events_a_plugin_appends(make_firebell: MakeFirebell) -> None:
    seen: list[RecordedEvent] = []

    class Watcher:
        @hookimpl
        def firebell_event(self, event: RecordedEvent) -> None:
            seen.append(event)

    fb = make_firebell(
        {"plugins": {"leaky": {"token": {"env": "LEAKY_TOKEN"}}, "watcher": {}}},
        environ={"LEAKY_TOKEN": TOKEN},
        entry_points=False,
        extra_plugins={"leaky": Leaky(), "watcher": Watcher()},
        retry_base=0.0,
    )
    fb.engine.declare(title="x", reporter="U1")
    fb.deliverer.drain()
    assert seen, "the watcher heard of the failure"
    assert all(TOKEN not in repr(event) for event in seen)


def test_hooks_get_the_database_url_without_its_password(tmp_path: Path) -> None:
    received: list[FirebellConfig] = []

    class Auditor:
        @hookimpl
        def firebell_event(self, settings: FirebellConfig) -> None:
            received.append(settings)

    # The settings name a PostgreSQL log with a password; the log itself is an SQLite file here,
    # wired by hand the way open_firebell does it.
    settings = parse_config(
        {
            "firebell": {"database_url": "postgresql://firebell:pg-pa55word@db.internal/firebell"},
            "plugins": {"auditor": {}},
        },
        path=None,
        environ={},
    )
    host = PluginHost.from_config(settings, entry_points=False, extra={"auditor": Auditor()})
    store = EventStore(f"sqlite:///{tmp_path / 'firebell.db'}")
    store.create_tables()
    deliverer = Deliverer(store, host)
    try:
        Engine(store, settings, subscribers=host.subscribers).declare(title="x", reporter="U1")
        deliverer.drain()
    finally:
        deliverer.close()
        store.dispose()
    (seen,) = received
    assert seen.database_url == "postgresql://firebell:***@db.internal/firebell"
    assert seen.severities == settings.severities and seen.plugins == settings.plugins
