"""What a fake Slack workspace holds (channels, users, user groups, views, trigger ids), how a test
sets it up and looks at it, and the lookups every group of methods shares."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from firebell.testing.fake_http import FakeService
from firebell.testing.fake_slack.arguments import _text
from firebell.testing.fake_slack.errors import _SlackError
from firebell.testing.fake_slack.identity import BOT_USER_ID, TEAM_ID
from firebell.testing.fake_slack.objects import Channel, User, Usergroup


class SlackWorkspace(FakeService):
    """The state of a fake Slack workspace and what every group of methods needs from it.

    :class:`~firebell.testing.fake_slack.FakeSlack` sets these attributes up in its ``__init__``;
    each group of methods (conversations, chat, pins and reactions, ...) is a subclass of this one
    and FakeSlack inherits them all.
    """

    token: str
    scopes: set[str]
    trigger_ttl: float
    channels: dict[str, Channel]
    users: dict[str, User]
    usergroups: dict[str, Usergroup]
    views: dict[str, dict[str, Any]]
    opened_views: list[dict[str, Any]]
    _view_stacks: list[list[str]]
    _triggers_issued: dict[str, float]
    _triggers_expired: set[str]
    _triggers_used: set[str]
    _counters: dict[str, int]
    _last_ts_micros: int

    # -- test set-up -----------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        user_id: str | None = None,
        email: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "UTC",
    ) -> str:
        """Add a workspace member and return its id (``U…``)."""
        with self._lock:
            uid = user_id or self._new_id("U")
            self.users[uid] = User(uid, name, real_name or name, email, is_bot, deleted, tz)
            return uid

    def add_usergroup(
        self,
        handle: str,
        *,
        users: Iterable[str] = (),
        name: str | None = None,
        usergroup_id: str | None = None,
        disabled: bool = False,
    ) -> str:
        """Add a user group and return its id (``S…``)."""
        with self._lock:
            gid = usergroup_id or self._new_id("S")
            self.usergroups[gid] = Usergroup(gid, handle, name or handle, list(users), disabled)
            return gid

    def add_channel(
        self,
        name: str,
        *,
        members: Iterable[str] = (),
        is_private: bool = False,
        bot_is_member: bool = True,
        is_archived: bool = False,
    ) -> str:
        """Add a channel as if a person had made it and return its id (``C…``)."""
        with self._lock:
            channel = Channel(
                self._new_id("C"),
                name,
                int(time.time()),
                creator="",
                is_private=is_private,
                is_archived=is_archived,
            )
            channel.members = [*([BOT_USER_ID] if bot_is_member else []), *members]
            self.channels[channel.id] = channel
            return channel.id

    def post_user_message(self, channel_id: str, user_id: str, text: str) -> str:
        """Record a message a person wrote in a channel and return its ``ts``."""
        with self._lock:
            ts = self._new_ts()
            self.channels[channel_id].messages.append(
                {"type": "message", "user": user_id, "team": TEAM_ID, "text": text, "ts": ts}
            )
            return ts

    # -- inspection ------------------------------------------------------------------------

    def channel_by_name(self, name: str) -> Channel | None:
        """The channel (archived or not) now called ``name``, or None."""
        with self._lock:
            return next((c for c in self.channels.values() if c.name == name), None)

    def dm_channel(self, user_id: str) -> Channel | None:
        """The bot's DM with ``user_id``, or None if the bot never wrote to them."""
        with self._lock:
            return next((c for c in self.channels.values() if c.im_user == user_id), None)

    def messages(self, channel_id: str, *, include_system: bool = False) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first, thread replies included.

        System messages (``channel_join``, ``channel_topic``, …) are left out unless asked for.
        """
        with self._lock:
            return [
                dict(m)
                for m in self.channels[channel_id].messages
                if include_system or "subtype" not in m
            ]

    def ephemeral_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Ephemeral messages sent in a channel, oldest first (each names its ``user``)."""
        with self._lock:
            return [dict(m) for m in self.channels[channel_id].ephemeral]

    def members(self, channel_id: str) -> list[str]:
        """Member ids of a channel, in the order they joined (the bot first if it created it)."""
        with self._lock:
            return list(self.channels[channel_id].members)

    def topic(self, channel_id: str) -> str:
        """A channel's topic."""
        with self._lock:
            return self.channels[channel_id].topic

    def bookmarks(self, channel_id: str) -> list[dict[str, Any]]:
        """A channel's bookmarks, in the order they were added."""
        with self._lock:
            return [dict(b) for b in self.channels[channel_id].bookmarks]

    # -- ids, timestamps, lookups ----------------------------------------------------------

    def _next(self, prefix: str) -> int:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return self._counters[prefix]

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{self._next(prefix):010d}"

    def _new_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, params: dict[str, Any], arg: str = "channel") -> Channel:
        channel = self.channels.get(_text(params, arg) or "")
        if channel is None or (channel.is_private and BOT_USER_ID not in channel.members):
            raise _SlackError("channel_not_found")
        return channel

    def _open_im(self, user_id: str) -> Channel:
        channel = self.dm_channel(user_id)
        if channel is None:
            channel = Channel(self._new_id("D"), user_id, int(time.time()), BOT_USER_ID)
            channel.is_im = True
            channel.im_user = user_id
            channel.members = [user_id, BOT_USER_ID]
            self.channels[channel.id] = channel
        return channel

    def _require_scope(self, *any_of: str) -> None:
        if not self.scopes.intersection(any_of):
            provided = ",".join(sorted(self.scopes))
            raise _SlackError("missing_scope", needed=any_of[0], provided=provided)
