"""Which of the user groups named in ``[firebell.permissions]`` a person belongs to.

Membership comes from ``usergroups.users.list`` and is cached for a short time, so a burst of
commands costs one call per group, and a change in Slack is seen within ``ttl`` seconds. Only
groups a rule names are ever looked up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from firebell.core.permissions import Permissions
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

__all__ = ["DEFAULT_TTL", "GroupDirectory"]

log = logging.getLogger("firebell.slack")

DEFAULT_TTL = 60.0
"""Seconds a group's member list is trusted before it is fetched again."""


class GroupDirectory:
    """Looks up (and caches) the members of Slack user groups."""

    def __init__(
        self,
        client: WebClient,
        permissions: Permissions,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.permissions = permissions
        self.ttl = ttl
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def groups_for(self, action: str, user_id: str) -> list[str]:
        """The groups named by the rule for ``action`` that ``user_id`` belongs to."""
        named = [
            entry.removeprefix("group:")
            for entry in self.permissions.rules.get(action, ())
            if entry.startswith("group:")
        ]
        return [group for group in named if user_id in self.members(group)]

    def needs_lookup(self, action: str) -> bool:
        """Whether the rule for ``action`` names any user group."""
        return any(entry.startswith("group:") for entry in self.permissions.rules.get(action, ()))

    def members(self, group_id: str) -> frozenset[str]:
        """The members of ``group_id`` (empty when Slack cannot say; the failure is logged)."""
        now = self.clock()
        with self._lock:
            cached = self._members.get(group_id)
            if cached is not None and now - cached[0] < self.ttl:
                return cached[1]
        members = self._fetch(group_id)
        if members is None:
            # Keep answering from a stale list rather than locking everyone out while Slack
            # hiccups; with nothing cached, fail closed (the refusal names the group).
            return cached[1] if cached is not None else frozenset()
        with self._lock:
            self._members[group_id] = (now, members)
        return members

    def _fetch(self, group_id: str) -> frozenset[str] | None:
        try:
            response = self.client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            log.warning(
                "cannot read members of user group %s: %s (the bot needs usergroups:read)",
                group_id,
                error.response.get("error"),
            )
            return None
        except SlackClientError as error:
            log.warning("cannot read members of user group %s: %s", group_id, error)
            return None
        except OSError as error:
            log.warning("cannot reach Slack for user group %s: %s", group_id, error)
            return None
        users = response.get("users")
        return frozenset(_strings(users if isinstance(users, list) else []))


def _strings(values: Iterable[object]) -> Iterable[str]:
    return (value for value in values if isinstance(value, str))
