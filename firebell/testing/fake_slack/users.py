"""The ``users.*`` and ``usergroups.*`` methods."""

from __future__ import annotations

from typing import Any

from firebell.testing.fake_slack.arguments import _flag, _text
from firebell.testing.fake_slack.errors import _SlackError
from firebell.testing.fake_slack.workspace import SlackWorkspace


class UsersMethods(SlackWorkspace):
    """``users.info``, ``users.lookupByEmail``, ``usergroups.list`` and ``usergroups.users.list``."""

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("users:read")
        user = self.users.get(_text(params, "user") or "")
        if user is None:
            raise _SlackError("user_not_found")
        return {"user": user.to_slack()}

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("users:read.email")
        email = (_text(params, "email") or "").lower()
        user = next((u for u in self.users.values() if u.email and u.email.lower() == email), None)
        if user is None or user.deleted:
            raise _SlackError("users_not_found")
        return {"user": user.to_slack()}

    def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("usergroups:read")
        include_disabled = _flag(params, "include_disabled")
        include_users = _flag(params, "include_users")
        return {
            "usergroups": [
                g.to_slack(include_users=include_users)
                for g in self.usergroups.values()
                if include_disabled or not g.disabled
            ]
        }

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("usergroups:read")
        group = self.usergroups.get(_text(params, "usergroup") or "")
        if group is None or (group.disabled and not _flag(params, "include_disabled")):
            raise _SlackError("no_such_subteam")
        return {"users": list(group.users)}
