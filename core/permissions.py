"""Who may do what: ``[firebell.permissions]`` in ``plugins.toml``.

Each action (declare, resolve, reopen, close, severity, update, commander) lists who may do it:
``anyone``, ``commander``, ``reporter``, ``user:<id>`` or ``group:<id>`` (a Slack user group the
adapter resolves). An action that is not listed is open to anyone. Operators at the command line
(``cli:*``) and plugins (``plugin:*``) hold the database anyway and are not restricted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from firebell.core.errors import CommandRefused
from firebell.core.incident import Incident

__all__ = ["Permissions"]

_UNRESTRICTED_PREFIXES = ("cli:", "plugin:")


class Permissions:
    """Checks an actor against the configured rules."""

    def __init__(self, rules: Mapping[str, Sequence[str]]) -> None:
        self.rules = {action: tuple(who) for action, who in rules.items()}

    def groups_needed(self) -> set[str]:
        """The user groups any rule names (the Slack adapter looks up membership for these)."""
        return {
            entry.removeprefix("group:")
            for who in self.rules.values()
            for entry in who
            if entry.startswith("group:")
        }

    def allows(
        self, action: str, actor: str, incident: Incident | None, actor_groups: Sequence[str] = ()
    ) -> bool:
        """Whether ``actor`` (member of ``actor_groups``) may do ``action`` on ``incident``."""
        who = self.rules.get(action)
        if who is None or actor.startswith(_UNRESTRICTED_PREFIXES):
            return True
        for entry in who:
            if entry == "anyone":
                return True
            if entry == "commander" and incident is not None and incident.commander == actor:
                return True
            if entry == "reporter" and incident is not None and incident.reporter == actor:
                return True
            if entry == f"user:{actor}":
                return True
            if entry.startswith("group:") and entry.removeprefix("group:") in actor_groups:
                return True
        return False

    def check(
        self, action: str, actor: str, incident: Incident | None, actor_groups: Sequence[str] = ()
    ) -> None:
        """Raise :class:`CommandRefused` saying who may, when ``actor`` may not."""
        if self.allows(action, actor, incident, actor_groups):
            return
        who = ", ".join(_describe(entry) for entry in self.rules[action])
        target = f" {incident.id}" if incident is not None else ""
        raise CommandRefused(
            f"You may not {action}{target}: only {who} may (see [firebell.permissions] in "
            "plugins.toml). Ask one of them."
        )


def _describe(entry: str) -> str:
    if entry.startswith("user:"):
        return f"user {entry.removeprefix('user:')}"
    if entry.startswith("group:"):
        return f"members of group {entry.removeprefix('group:')}"
    return f"the {entry}" if entry in {"commander", "reporter"} else entry
