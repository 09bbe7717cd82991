"""The ``chat.*`` methods: messages posted (in threads too), updated, shown to one member, and
linked to."""

from __future__ import annotations

from typing import Any

from firebell.testing.fake_slack.arguments import _flag, _structured, _text
from firebell.testing.fake_slack.block_kit import _block_problems
from firebell.testing.fake_slack.errors import _SlackError
from firebell.testing.fake_slack.identity import (
    API_APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
)
from firebell.testing.fake_slack.limits import MAX_MESSAGE_BLOCKS, MAX_TEXT
from firebell.testing.fake_slack.objects import Channel
from firebell.testing.fake_slack.workspace import SlackWorkspace


class ChatMethods(SlackWorkspace):
    """``chat.*``: messages the bot posts, updates and shows to one member, and their permalinks."""

    def _message_target(self, params: dict[str, Any]) -> Channel:
        target = _text(params, "channel") or ""
        if target[:1] in ("U", "W"):
            user = self.users.get(target)
            if user is None or user.is_bot:
                raise _SlackError("channel_not_found")
            return self._open_im(target)
        channel = self._channel(params)
        if channel.is_archived:
            raise _SlackError("is_archived")
        return channel

    def _message_content(self, params: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
        text = _text(params, "text")
        blocks = _structured(params, "blocks", "invalid_blocks_format")
        attachments = _structured(params, "attachments", "invalid_attachments")
        if required and not text and not blocks and not attachments:
            raise _SlackError("no_text")
        if text is not None and len(text) > MAX_TEXT:
            raise _SlackError("msg_too_long")
        content: dict[str, Any] = {}
        if text is not None:
            content["text"] = text
        if blocks is not None:
            if not isinstance(blocks, list):
                raise _SlackError("invalid_blocks_format")
            problems = _block_problems(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
            if problems:
                raise _SlackError("invalid_blocks", response_metadata={"messages": problems})
            content["blocks"] = blocks
        if attachments is not None:
            content["attachments"] = attachments
        metadata = _structured(params, "metadata", "invalid_metadata_format")
        if metadata is not None:
            if (
                not isinstance(metadata, dict)
                or not isinstance(metadata.get("event_type"), str)
                or not metadata["event_type"]
                or not isinstance(metadata.get("event_payload"), dict)
            ):
                raise _SlackError("invalid_metadata_format")
            content["metadata"] = {
                "event_type": metadata["event_type"],
                "event_payload": metadata["event_payload"],
            }
        return content

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("chat:write")
        channel = self._message_target(params)
        if BOT_USER_ID not in channel.members and "chat:write.public" not in self.scopes:
            raise _SlackError("not_in_channel")
        content = self._message_content(params)
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "team": TEAM_ID,
            "text": content.pop("text", ""),
            **content,
            "ts": self._new_ts(),
        }
        thread_ts = _text(params, "thread_ts")
        if thread_ts:
            parent = next((m for m in channel.messages if m["ts"] == thread_ts), None)
            if parent is None:
                raise _SlackError("thread_not_found")
            message["thread_ts"] = thread_ts
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
            if _flag(params, "reply_broadcast"):
                message["subtype"] = "thread_broadcast"
        channel.messages.append(message)
        return {"channel": channel.id, "ts": message["ts"], "message": dict(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("chat:write")
        channel = self._channel(params)
        ts = _text(params, "ts")
        message = next((m for m in channel.messages if m["ts"] == ts), None)
        if message is None or message.get("subtype", "thread_broadcast") != "thread_broadcast":
            raise _SlackError("message_not_found")
        if message.get("bot_id") != BOT_ID:
            raise _SlackError("cant_update_message")
        content = self._message_content(params)
        message.update(content)
        if "blocks" not in content and "text" in content:
            message.pop("blocks", None)
        return {
            "channel": channel.id,
            "ts": ts,
            "text": message.get("text", ""),
            "message": dict(message),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("chat:write")
        channel = self._channel(params)
        if channel.is_archived:
            raise _SlackError("is_archived")
        user = _text(params, "user") or ""
        if user not in channel.members:
            raise _SlackError("user_not_in_channel")
        content = self._message_content(params)
        ts = self._new_ts()
        channel.ephemeral.append({"type": "message", "user": user, "ts": ts, **content})
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = _text(params, "message_ts") or ""
        message = next((m for m in channel.messages if m["ts"] == ts), None)
        if message is None:
            raise _SlackError("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}
