"""Putting the pieces together: settings, event log, plugins, commands and delivery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import attrs
from firebell.core.config import FirebellConfig, load_config
from firebell.core.delivery import Deliverer
from firebell.core.engine import Engine
from firebell.core.naming import NameGenerator
from firebell.core.plugin_host import PluginHost
from firebell.core.secrets import secrets_in
from firebell.core.store import EventStore

__all__ = ["Firebell", "open_firebell", "redact_secrets"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@attrs.define
class Firebell:
    """A configured Firebell: the log, the enabled plugins, the commands and the deliverer."""

    settings: FirebellConfig
    store: EventStore
    host: PluginHost
    engine: Engine
    deliverer: Deliverer

    def redact(self, text: str) -> str:
        """``text`` with every configured secret value replaced by its variable's name."""
        return redact_secrets(text, self.settings)

    def close(self) -> None:
        """Stop delivery threads and close database connections."""
        self.deliverer.close()
        self.store.dispose()


def redact_secrets(text: str, settings: FirebellConfig) -> str:
    """``text`` with every secret in ``settings`` replaced by ``<VARIABLE>``, its variable's name."""
    for table in settings.plugins.values():
        for secret in secrets_in(table.options):
            if secret.is_set and secret.reveal():
                text = text.replace(secret.reveal(), f"<{secret.env}>")
    return text


def open_firebell(
    config: FirebellConfig | str | Path | None = None,
    *,
    extra_plugins: Mapping[str, object] | None = None,
    entry_points: bool = True,
    clock: Callable[[], datetime] = _utcnow,
    names: NameGenerator | None = None,
    create_tables: bool = True,
    max_workers: int = 8,
    retry_base: float = 2.0,
) -> Firebell:
    """Open the log and load the plugins ``config`` (a path or loaded settings) switches on.

    ``extra_plugins`` registers plugin objects by name beside the installed ones (tests, embedding).
    """
    settings = config if isinstance(config, FirebellConfig) else load_config(config)
    host = PluginHost.from_config(settings, entry_points=entry_points, extra=extra_plugins)
    store = EventStore(settings.database_url)
    if create_tables:
        store.create_tables()
    firebell_ref: list[Firebell] = []
    deliverer = Deliverer(
        store,
        host,
        clock=clock,
        max_workers=max_workers,
        retry_base=retry_base,
        redact=lambda text: firebell_ref[0].redact(text) if firebell_ref else text,
    )
    engine = Engine(
        store,
        settings,
        subscribers=host.subscriptions,
        clock=clock,
        names=names,
        on_commit=lambda _result: deliverer.wake(),
    )
    firebell = Firebell(settings, store, host, engine, deliverer)
    firebell_ref.append(firebell)
    return firebell
