"""Pins and reactions, kept on the messages as Slack shows them (``pinned_to``, ``reactions``):
the ``pins.*`` and ``reactions.*`` methods, and a person pinning or reacting in Slack."""

from __future__ import annotations

import time
from typing import Any

from firebell.testing.fake_slack.arguments import _text
from firebell.testing.fake_slack.errors import _SlackError
from firebell.testing.fake_slack.identity import BOT_USER_ID, TEAM_DOMAIN
from firebell.testing.fake_slack.objects import Channel
from firebell.testing.fake_slack.workspace import SlackWorkspace


class PinsAndReactionsMethods(SlackWorkspace):
    """``pins.*`` and ``reactions.*``, and what a person does with pins and reactions in Slack."""

    # -- what people do in Slack: each returns the Events API event Slack then sends ----------

    def pin_message(self, channel_id: str, ts: str, user_id: str) -> dict[str, Any]:
        """``user_id`` pins message ``ts``; returns the ``pin_added`` event."""
        with self._lock:
            channel = self.channels[channel_id]
            message = self._pin(channel, ts, user_id)
            return {
                "type": "pin_added",
                "user": user_id,
                "channel_id": channel_id,
                "item": self._pin_item(channel, message),
                "event_ts": self._new_ts(),
            }

    def unpin_message(self, channel_id: str, ts: str, user_id: str) -> dict[str, Any]:
        """``user_id`` unpins message ``ts``; returns the ``pin_removed`` event."""
        with self._lock:
            channel = self.channels[channel_id]
            message = self._unpin(channel, ts)
            return {
                "type": "pin_removed",
                "user": user_id,
                "channel_id": channel_id,
                "item": self._pin_item(channel, message),
                "has_pins": bool(channel.pins),
                "event_ts": self._new_ts(),
            }

    def react(self, channel_id: str, ts: str, user_id: str, name: str) -> dict[str, Any]:
        """``user_id`` reacts to message ``ts`` with ``:name:``; returns ``reaction_added``."""
        with self._lock:
            message = self._react(self.channels[channel_id], ts, user_id, name)
            return self._reaction_event("reaction_added", channel_id, message, user_id, name)

    def unreact(self, channel_id: str, ts: str, user_id: str, name: str) -> dict[str, Any]:
        """``user_id`` takes back ``:name:`` from message ``ts``; returns ``reaction_removed``."""
        with self._lock:
            message = self._unreact(self.channels[channel_id], ts, user_id, name)
            return self._reaction_event("reaction_removed", channel_id, message, user_id, name)

    def pinned(self, channel_id: str) -> list[str]:
        """The ``ts`` of each pinned message of a channel, oldest pin first."""
        with self._lock:
            return [pin["ts"] for pin in self.channels[channel_id].pins]

    # -- pins and reactions ----------------------------------------------------------------

    def _message(self, channel: Channel, ts: str | None) -> dict[str, Any]:
        if not ts:
            raise _SlackError("no_item_specified")
        message = next((m for m in channel.messages if m["ts"] == ts), None)
        if message is None:
            raise _SlackError("message_not_found")
        return message

    def _permalink(self, channel: Channel, ts: str) -> str:
        return f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"

    def _with_permalink(self, channel: Channel, message: dict[str, Any]) -> dict[str, Any]:
        return {**message, "permalink": self._permalink(channel, message["ts"])}

    def _pin(self, channel: Channel, ts: str, user_id: str) -> dict[str, Any]:
        message = self._message(channel, ts)
        if any(pin["ts"] == ts for pin in channel.pins):
            raise _SlackError("already_pinned")
        channel.pins.append({"ts": ts, "created": int(time.time()), "created_by": user_id})
        message["pinned_to"] = [*message.get("pinned_to", []), channel.id]
        return message

    def _unpin(self, channel: Channel, ts: str) -> dict[str, Any]:
        message = self._message(channel, ts)
        if not any(pin["ts"] == ts for pin in channel.pins):
            raise _SlackError("not_pinned")
        channel.pins = [pin for pin in channel.pins if pin["ts"] != ts]
        kept = [c for c in message.get("pinned_to", []) if c != channel.id]
        if kept:
            message["pinned_to"] = kept
        else:
            message.pop("pinned_to", None)
        return message

    def _pin_item(self, channel: Channel, message: dict[str, Any]) -> dict[str, Any]:
        pin = next((p for p in channel.pins if p["ts"] == message["ts"]), None)
        item: dict[str, Any] = {
            "type": "message",
            "channel": channel.id,
            "message": self._with_permalink(channel, message),
        }
        if pin is not None:
            item.update(created=pin["created"], created_by=pin["created_by"])
        return item

    def _react(self, channel: Channel, ts: str, user_id: str, name: str) -> dict[str, Any]:
        message = self._message(channel, ts)
        reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if user_id in reaction["users"]:
            raise _SlackError("already_reacted")
        reaction["users"].append(user_id)
        reaction["count"] += 1
        return message

    def _unreact(self, channel: Channel, ts: str, user_id: str, name: str) -> dict[str, Any]:
        message = self._message(channel, ts)
        reactions: list[dict[str, Any]] = message.get("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None or user_id not in reaction["users"]:
            raise _SlackError("no_reaction")
        reaction["users"].remove(user_id)
        reaction["count"] -= 1
        if not reaction["count"]:
            reactions.remove(reaction)
        if not reactions:
            message.pop("reactions", None)
        return message

    def _reaction_event(
        self, kind: str, channel_id: str, message: dict[str, Any], user_id: str, name: str
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "user": user_id,
            "reaction": name,
            "item_user": message.get("user"),
            "item": {"type": "message", "channel": channel_id, "ts": message["ts"]},
            "event_ts": self._new_ts(),
        }

    def _pins_add(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("pins:write")
        channel = self._channel(params)
        self._pin(channel, _text(params, "timestamp") or "", BOT_USER_ID)
        return {}

    def _pins_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("pins:write")
        channel = self._channel(params)
        self._unpin(channel, _text(params, "timestamp") or "")
        return {}

    def _pins_list(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("pins:read")
        channel = self._channel(params)
        # Slack lists the newest pin first.
        items = [
            self._pin_item(channel, self._message(channel, pin["ts"]))
            for pin in reversed(channel.pins)
        ]
        return {"items": items}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("reactions:write")
        channel = self._channel(params)
        name = _text(params, "name")
        if not name:
            raise _SlackError("invalid_name")
        self._react(channel, _text(params, "timestamp") or "", BOT_USER_ID, name)
        return {}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("reactions:write")
        channel = self._channel(params)
        name = _text(params, "name")
        if not name:
            raise _SlackError("invalid_name")
        self._unreact(channel, _text(params, "timestamp") or "", BOT_USER_ID, name)
        return {}

    def _reactions_get(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("reactions:read")
        channel = self._channel(params)
        message = self._message(channel, _text(params, "timestamp"))
        # Slack may cut the user lists of big reactions unless full=true; the fake's are small
        # and always whole.
        shown = self._with_permalink(channel, message)
        return {"type": "message", "channel": channel.id, "message": shown}
