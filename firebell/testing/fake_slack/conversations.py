"""The ``conversations.*`` methods: channels created, renamed, archived, joined, described,
listed and read, and DMs opened."""

from __future__ import annotations

import math
import time
from typing import Any

from firebell.testing.fake_slack.arguments import _flag, _paginate, _text, _ts_arg
from firebell.testing.fake_slack.errors import _SlackError
from firebell.testing.fake_slack.identity import BOT_USER_ID
from firebell.testing.fake_slack.limits import MAX_CHANNEL_NAME, MAX_TOPIC
from firebell.testing.fake_slack.objects import Channel
from firebell.testing.fake_slack.workspace import SlackWorkspace


class ConversationsMethods(SlackWorkspace):
    """``conversations.*``: the channel methods, with the scope and name checks they share."""

    def _conversations_create(self, params: dict[str, Any]) -> dict[str, Any]:
        is_private = _flag(params, "is_private")
        self._require_scope("groups:write" if is_private else "channels:manage")
        name = self._check_name(_text(params, "name"))
        channel = Channel(
            self._new_id("C"),
            name,
            int(time.time()),
            BOT_USER_ID,
            is_private=is_private,
            members=[BOT_USER_ID],
        )
        self.channels[channel.id] = channel
        self._system_message(channel, "channel_join", f"<@{BOT_USER_ID}> has joined the channel")
        return {"channel": channel.to_slack()}

    def _conversations_rename(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel)
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        name = self._check_name(_text(params, "name"), renaming=channel)
        if name != channel.name:
            channel.previous_names.insert(0, channel.name)
            channel.name = name
            self._system_message(
                channel, "channel_name", f"renamed the channel to #{name}", name=name
            )
        return {"channel": channel.to_slack()}

    def _conversations_archive(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel)
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("already_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        channel.is_archived = True
        self._system_message(channel, "channel_archive", "archived the channel")
        return {}

    def _conversations_unarchive(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel)
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if not channel.is_archived:
            raise _SlackError("not_archived")
        channel.is_archived = False
        self._system_message(channel, "channel_unarchive", "un-archived the channel")
        return {}

    def _conversations_set_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_channel_text(params, "topic")

    def _conversations_set_purpose(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_channel_text(params, "purpose")

    def _set_channel_text(self, params: dict[str, Any], field: str) -> dict[str, Any]:
        """conversations.setTopic or setPurpose: ``field`` is ``topic`` or ``purpose``."""
        channel = self._channel(params)
        self._manage_scope(channel, "write.topic")
        text = _text(params, field) or ""
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        if len(text) > MAX_TOPIC:
            raise _SlackError("too_long")
        setattr(channel, field, text)
        self._system_message(
            channel, f"channel_{field}", f"set the channel {field}: {text}", **{field: text}
        )
        return {"channel": channel.to_slack()}

    def _conversations_invite(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel, "write.invites")
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        user_ids = [u.strip() for u in (_text(params, "users") or "").split(",") if u.strip()]
        if not user_ids:
            raise _SlackError("no_user")
        if len(user_ids) > 1000:
            raise _SlackError("too_many_users")
        errors: list[dict[str, Any]] = []
        valid: list[str] = []
        for uid in dict.fromkeys(user_ids):
            user = self.users.get(uid)
            if user is None:
                error = "user_not_found"
            elif uid == BOT_USER_ID:
                error = "cant_invite_self"
            elif user.deleted:
                error = "cant_invite"
            elif uid in channel.members:
                error = "already_in_channel"
            else:
                valid.append(uid)
                continue
            errors.append({"user": uid, "ok": False, "error": error})
        if errors and not _flag(params, "force"):
            raise _SlackError(errors[0]["error"], errors=errors)
        for uid in valid:
            channel.members.append(uid)
            self._system_message(
                channel,
                "channel_join",
                f"<@{uid}> has joined the channel",
                user=uid,
                inviter=BOT_USER_ID,
            )
        answer: dict[str, Any] = {"channel": channel.to_slack()}
        if errors:
            answer["errors"] = errors
        return answer

    def _conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._require_scope("channels:join")
        if channel.is_im or channel.is_private:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID in channel.members:
            return {
                "channel": channel.to_slack(),
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        channel.members.append(BOT_USER_ID)
        self._system_message(channel, "channel_join", f"<@{BOT_USER_ID}> has joined the channel")
        return {"channel": channel.to_slack()}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._read_scope(channel, "read")
        return {
            "channel": channel.to_slack(include_num_members=_flag(params, "include_num_members"))
        }

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._read_scope(channel, "read")
        page, next_cursor = _paginate(channel.members, params, default=100, maximum=1000)
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._read_scope(channel, "history")
        if BOT_USER_ID not in channel.members and not channel.is_im:
            raise _SlackError("not_in_channel")
        oldest = _ts_arg(params, "oldest", "invalid_ts_oldest", 0.0)
        latest = _ts_arg(params, "latest", "invalid_ts_latest", math.inf)
        inclusive = _flag(params, "inclusive")
        # Message metadata is only returned when asked for, as on Slack.
        with_metadata = _flag(params, "include_all_metadata")

        def in_range(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        # History lists top-level messages only; thread replies come from conversations.replies.
        newest_first = [
            {k: v for k, v in m.items() if with_metadata or k != "metadata"}
            for m in reversed(channel.messages)
            if in_range(float(m["ts"]))
            and (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
        ]
        page, next_cursor = _paginate(newest_first, params, default=100, maximum=999)
        return {
            "messages": page,
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        types = set((_text(params, "types") or "public_channel").split(","))
        known = {"public_channel", "private_channel", "im", "mpim"}
        if not types <= known:
            raise _SlackError("invalid_types")
        for kind, scope in (
            ("public_channel", "channels:read"),
            ("private_channel", "groups:read"),
            ("im", "im:read"),
        ):
            if kind in types:
                self._require_scope(scope)
        exclude_archived = _flag(params, "exclude_archived")
        chosen = [
            c.to_slack(include_num_members=True)
            for c in self.channels.values()
            if (
                (c.is_im and "im" in types)
                or (not c.is_im and c.is_private and "private_channel" in types)
                or (not c.is_im and not c.is_private and "public_channel" in types)
            )
            and (not c.is_private or BOT_USER_ID in c.members)
            and not (exclude_archived and c.is_archived)
        ]
        page, next_cursor = _paginate(chosen, params, default=100, maximum=1000)
        return {"channels": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("im:write")
        user_ids = [u for u in (_text(params, "users") or "").split(",") if u]
        if not user_ids:
            raise _SlackError("users_list_not_supplied")
        if len(user_ids) > 1:
            raise _SlackError("method_not_supported_for_channel_type")
        if user_ids[0] not in self.users:
            raise _SlackError("user_not_found")
        already = self.dm_channel(user_ids[0]) is not None
        channel = self._open_im(user_ids[0])
        return {"no_op": already, "already_open": already, "channel": {"id": channel.id}}

    # -- what the conversations methods share ----------------------------------------------

    def _manage_scope(self, channel: Channel, *alternatives: str) -> None:
        if channel.is_private:
            self._require_scope("groups:write", *(f"groups:{a}" for a in alternatives))
        else:
            self._require_scope("channels:manage", *(f"channels:{a}" for a in alternatives))

    def _read_scope(self, channel: Channel, what: str) -> None:
        if channel.is_im:
            self._require_scope(f"im:{what}")
        elif channel.is_private:
            self._require_scope(f"groups:{what}")
        else:
            self._require_scope(f"channels:{what}")

    def _check_name(self, name: str | None, *, renaming: Channel | None = None) -> str:
        if not name:
            raise _SlackError("invalid_name_required")
        if len(name) > MAX_CHANNEL_NAME:
            raise _SlackError("invalid_name_maxlength")
        if not all(
            ch in "-_" or ch.isdigit() or (ch.isalpha() and not ch.isupper()) for ch in name
        ):
            raise _SlackError("invalid_name_specials")
        if all(ch in "-_" for ch in name):
            raise _SlackError("invalid_name_punctuation")
        taken = next((c for c in self.channels.values() if c.name == name), None)
        if taken is not None and taken is not renaming:
            raise _SlackError("name_taken")
        return name

    def _system_message(
        self, channel: Channel, subtype: str, text: str, *, user: str = BOT_USER_ID, **extra: Any
    ) -> None:
        """Record what Slack itself posts when a channel changes (a join, a new topic, …)."""
        message = {"type": "message", "subtype": subtype, "user": user, "text": text, **extra}
        channel.messages.append(message | {"ts": self._new_ts()})
