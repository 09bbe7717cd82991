"""The ``console`` announcer: prints what the Slack announcer would post, for local use.

Writes to standard error by default so that ``--json`` output on standard out stays clean.
"""

from __future__ import annotations

import sys
from typing import TextIO

import attrs
from firebell.core import Incident, PluginSpec, RecordedEvent, hookimpl
from firebell.core.timeline import describe

__all__ = ["HEADLINES", "ConsoleConfig"]


@attrs.frozen
class ConsoleConfig:
    """``[plugins.console]``: ``stream`` is ``"stderr"`` (default) or ``"stdout"``."""

    stream: str = attrs.field(
        default="stderr", validator=attrs.validators.in_(["stderr", "stdout"])
    )


#: The label before an event's line; other events (a status update, a new severity or
#: commander, a note, a follow-up) are "Incident update". What happened to a plugin's
#: deliveries (failing, working again, skipped) is no update of the incident.
HEADLINES = {
    "incident.created": "New incident",
    "incident.resolved": "Incident resolved",
    "incident.closed": "Incident closed",
    "incident.reopened": "Incident reopened",
    "incident.integration_failed": "Plugin status",
    "incident.integration_recovered": "Plugin status",
    "incident.integration_skipped": "Plugin status",
}


def _out(config: ConsoleConfig | None) -> TextIO:
    return sys.stdout if config is not None and config.stream == "stdout" else sys.stderr


@hookimpl
def firebell_plugin_spec() -> PluginSpec:
    """The console announcer's settings."""
    return PluginSpec(config_class=ConsoleConfig, description="Prints announcements locally.")


@hookimpl
def firebell_event(event: RecordedEvent, incident: Incident, config: ConsoleConfig | None) -> None:
    """Print one announcement line per event."""
    if event.type in {"incident.resource_linked", "person.named"}:
        return
    headline = HEADLINES.get(event.type, "Incident update")
    print(
        f"[firebell] {headline}: {incident.id} — {describe(event, incident.names)}",
        file=_out(config),
        flush=True,
    )
