"""The conversations, users and user groups a fake workspace holds, each able to show itself as
Slack's API does."""

from __future__ import annotations

from typing import Any

import attrs

from firebell.testing.fake_slack.identity import BOT_USER_ID, TEAM_ID


@attrs.define
class Channel:
    """A conversation the fake holds: a public or private channel, or a bot's DM with a user."""

    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    is_archived: bool = False
    topic: str = ""
    purpose: str = ""
    previous_names: list[str] = attrs.field(factory=list)
    members: list[str] = attrs.field(factory=list)
    messages: list[dict[str, Any]] = attrs.field(factory=list)
    ephemeral: list[dict[str, Any]] = attrs.field(factory=list)
    bookmarks: list[dict[str, Any]] = attrs.field(factory=list)
    #: Pinned messages, oldest pin first: ``{"ts", "created", "created_by"}``.
    pins: list[dict[str, Any]] = attrs.field(factory=list)

    def to_slack(self, *, include_num_members: bool = False) -> dict[str, Any]:
        """The conversation object as Slack's ``conversations.*`` methods return it."""
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        answer: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "creator": self.creator,
            "is_archived": self.is_archived,
            "is_general": False,
            "unlinked": 0,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "is_member": BOT_USER_ID in self.members,
            "context_team_id": TEAM_ID,
            "shared_team_ids": [TEAM_ID],
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
            "previous_names": list(self.previous_names),
        }
        if include_num_members:
            answer["num_members"] = len(self.members)
        return answer


@attrs.define
class User:
    """A workspace member the fake knows."""

    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    tz: str = "UTC"

    def to_slack(self) -> dict[str, Any]:
        """The user object as ``users.info`` returns it."""
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.name,
            "team": TEAM_ID,
        }
        if self.email is not None:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "profile": profile,
        }


@attrs.define
class Usergroup:
    """A user group (``<!subteam^S…>``) the fake knows."""

    id: str
    handle: str
    name: str
    users: list[str] = attrs.field(factory=list)
    disabled: bool = False

    def to_slack(self, *, include_users: bool = False) -> dict[str, Any]:
        """The user group object as ``usergroups.list`` returns it."""
        answer: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "name": self.name,
            "handle": self.handle,
            "description": "",
            "is_external": False,
            "date_delete": 1 if self.disabled else 0,
            "user_count": len(self.users),
        }
        if include_users:
            answer["users"] = list(self.users)
        return answer
