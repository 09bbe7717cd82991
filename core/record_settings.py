"""The ``[firebell]`` settings of the incident record: closing without follow-ups, and reminders.

.. code-block:: toml

    [firebell]
    close_requires_followups = "confirm"   # or "off"

    [firebell.reminders]
    update_after_minutes = { SEV0 = 15, SEV1 = 30, SEV2 = 60 }
    commander_after_minutes = 10
    postmortem_after_minutes = 120

Read by :func:`firebell.core.config.parse_config`; every error names the file, the table and
the key. A minute count of 0 switches that reminder off; a severity missing from
``update_after_minutes`` gets no update reminders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from firebell.core.errors import ConfigError

__all__ = [
    "CLOSE_REQUIRES_FOLLOWUPS",
    "DEFAULT_UPDATE_AFTER_MINUTES",
    "ReminderSettings",
    "parse_close_requires_followups",
    "parse_reminders",
]

#: The choices of ``[firebell] close_requires_followups``.
CLOSE_REQUIRES_FOLLOWUPS = ("confirm", "off")

DEFAULT_UPDATE_AFTER_MINUTES: Mapping[str, int] = {"SEV0": 15, "SEV1": 30, "SEV2": 60}

_REMINDER_KEYS = (
    "enabled",
    "update_after_minutes",
    "commander_after_minutes",
    "postmortem_after_minutes",
)


@attrs.frozen
class ReminderSettings:
    """``[firebell.reminders]``: when each reminder falls due (minutes; 0 = never).

    ``update_after_minutes`` is per severity: how long an open incident may go without a status
    update. ``commander_after_minutes``: how long an open incident may go without a commander
    before its reporter is asked to take or hand out the role (again every as many minutes).
    ``postmortem_after_minutes``: after the resolve, when to ask for the post-mortem and its
    meeting (once per resolve).
    """

    enabled: bool = True
    update_after_minutes: Mapping[str, int] = attrs.field(
        factory=lambda: dict(DEFAULT_UPDATE_AFTER_MINUTES)
    )
    commander_after_minutes: int = 10
    postmortem_after_minutes: int = 120


def parse_close_requires_followups(engine: Mapping[str, Any], source: str) -> str:
    """``[firebell] close_requires_followups``: ``confirm`` (default) or ``off``."""
    value = engine.get("close_requires_followups", "confirm")
    if value not in CLOSE_REQUIRES_FOLLOWUPS:
        raise ConfigError(
            f"{source}: [firebell] close_requires_followups = {value!r}; use "
            '"confirm" (closing an incident without follow-ups asks first) or "off".'
        )
    return str(value)


def _minutes(value: Any, source: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"{source}: [firebell.reminders] {key} must be a whole number of minutes "
            f"(0 switches it off), got {value!r}."
        )
    return value


def parse_reminders(
    engine: Mapping[str, Any], source: str, severities: Sequence[str]
) -> ReminderSettings:
    """``[firebell.reminders]``, checked against the configured ``severities``."""
    table = engine.get("reminders", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [firebell.reminders] must be a table.")
    unknown = sorted(set(table) - set(_REMINDER_KEYS))
    if unknown:
        raise ConfigError(
            f"{source}: [firebell.reminders] has unknown key {unknown[0]!r}. "
            f"Valid keys: {', '.join(_REMINDER_KEYS)}."
        )
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(
            f"{source}: [firebell.reminders] enabled must be true or false, got {enabled!r}."
        )
    default = {k: v for k, v in DEFAULT_UPDATE_AFTER_MINUTES.items() if k in severities}
    per_severity = table.get("update_after_minutes", default)
    if not isinstance(per_severity, dict):
        raise ConfigError(
            f"{source}: [firebell.reminders] update_after_minutes must be a table of severity "
            "= minutes, e.g. { SEV0 = 15, SEV1 = 30, SEV2 = 60 }."
        )
    # Severities are matched ignoring case, as everywhere else, and kept under their
    # configured names (the reminder looks an incident's severity up by that name).
    by_lower = {name.lower(): name for name in severities}
    update_after: dict[str, int] = {}
    written: dict[str, str] = {}
    for name, value in per_severity.items():
        configured = by_lower.get(name.lower())
        if configured is None:
            raise ConfigError(
                f"{source}: [firebell.reminders] update_after_minutes names {name!r}, which is "
                f"not a severity ({', '.join(severities)})."
            )
        if configured in written:
            raise ConfigError(
                f"{source}: [firebell.reminders] update_after_minutes names {written[configured]!r} "
                f"and {name!r}, one severity ({configured}); keep one of them."
            )
        written[configured] = name
        update_after[configured] = _minutes(value, source, f"update_after_minutes.{name}")
    return ReminderSettings(
        enabled=enabled,
        update_after_minutes=update_after,
        commander_after_minutes=_minutes(
            table.get("commander_after_minutes", 10), source, "commander_after_minutes"
        ),
        postmortem_after_minutes=_minutes(
            table.get("postmortem_after_minutes", 120), source, "postmortem_after_minutes"
        ),
    )
