"""Who may do what: ``[firebell.permissions]`` in ``plugins.toml``.

Each action (declare, resolve, reopen, close, severity, update, commander) lists who may do it:
``anyone``, ``commander``, ``reporter``, ``user:<id>`` (a Slack user id, or ``web:<user>`` for
the web console) or ``group:<id>`` (a Slack user group the adapter resolves). An action that is
not listed is open to anyone; an empty list (``close = []``) leaves it to the command line.
Operators at the command line (``cli:*``) and plugins (``plugin:*``) hold the database anyway
and are not restricted.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from firebell.core.errors import CommandRefused
from firebell.core.incident import Incident

__all__ = ["VALID_ENTRIES", "Permissions", "entry_problem"]

_UNRESTRICTED_PREFIXES = ("cli:", "plugin:")
_ROLES = ("anyone", "commander", "reporter")
# The actors the adapters record: Slack user ids as Slack sends them, and web:<user> from the
# web console. An entry of any other shape matches nobody, and would lock every Slack user out
# of the action, so it is refused when the file is read.
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_SLACK_GROUP = re.compile(r"S[A-Z0-9]{2,}")

#: The forms an entry may take, as the configuration errors list them.
VALID_ENTRIES = (
    '"anyone", "commander", "reporter", "user:U0123ABCDEF" (a Slack user id, U… or W…), '
    '"user:web:<user>" (a web console user) and "group:S0123ABCDEF" (a Slack user group id)'
)


def entry_problem(entry: str) -> str | None:
    """What is wrong with ``entry`` of a ``[firebell.permissions]`` list, or None when it is valid."""
    if entry in _ROLES:
        return None
    kind, colon, rest = entry.partition(":")
    if colon and kind == "user":
        web_user = rest.removeprefix("web:")  # the console strips the name it is given
        if _SLACK_USER.fullmatch(rest) or (
            rest.startswith("web:") and web_user and web_user == web_user.strip()
        ):
            return None
        return (
            f"{entry!r} is not a valid entry: after user: comes a Slack user id (U… or W…, "
            "from the person's profile: Copy member ID) or web:<user>, not a name or @handle"
        )
    if colon and kind == "group":
        if _SLACK_GROUP.fullmatch(rest):
            return None
        return (
            f"{entry!r} is not a valid entry: after group: comes a Slack user group id (S…, "
            "shown on the group's page), not its name or @handle"
        )
    close = difflib.get_close_matches(entry.strip().lower(), _ROLES, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{entry!r} is not a valid entry{hint}"


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
        target = f" {incident.id}" if incident is not None else ""
        if not self.rules[action]:
            # An empty list on purpose: the action is kept for operators at the command line.
            raise CommandRefused(
                f"You may not {action}{target}: [firebell.permissions] in plugins.toml leaves "
                "it to operators at the command line. Ask one of them."
            )
        who = ", ".join(_describe(entry) for entry in self.rules[action])
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
