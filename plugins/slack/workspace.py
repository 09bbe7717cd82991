"""The Slack Web API calls the plugin makes, each safe to repeat.

A delivery may run again after a crash or a timeout, so every write here either is harmless to
repeat (``setTopic``, ``invite`` of a member) or looks first (``bookmarks.list`` before
``bookmarks.add``; the channel's history before ``chat.postMessage``, matched on the message
metadata Firebell attaches to everything it posts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import attrs
from firebell.plugins.slack.errors import api_error_code
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = [
    "METADATA_EVENT_TYPE",
    "ChannelUnavailable",
    "Message",
    "MessageKey",
    "Team",
    "Workspace",
]

log = logging.getLogger("firebell.plugins.slack")

T = TypeVar("T")

#: ``metadata.event_type`` of every message the plugin posts.
METADATA_EVENT_TYPE: Final = "firebell_incident_message"

#: How far before an event's time the history is searched for what its delivery posted (Slack's
#: clock and ours may disagree a little; a retried delivery always posts after the event).
HISTORY_SLACK: Final = timedelta(minutes=15)
HISTORY_PAGE: Final = 200
HISTORY_MAX_PAGES: Final = 10
LIST_PAGE: Final = 1000

#: Invite errors that mean "nothing to do" rather than a problem.
HARMLESS_INVITE_ERRORS: Final = frozenset({"already_in_channel", "cant_invite_self"})


@attrs.frozen
class Team:
    """What ``auth.test`` says about the workspace and the bot."""

    url: str
    bot_user_id: str

    def channel_url(self, channel_id: str) -> str:
        """The web link to a channel."""
        return f"{self.url.rstrip('/')}/archives/{channel_id}"

    def message_url(self, channel_id: str, ts: str) -> str:
        """The web link to one message (the permalink format, without an API call)."""
        return f"{self.channel_url(channel_id)}/p{ts.replace('.', '')}"


@attrs.frozen
class MessageKey:
    """What identifies one message Firebell posts: the incident, the event and what it is.

    It travels as the message's metadata, so a repeated delivery finds the message it posted.
    """

    incident_id: str
    position: int
    kind: str

    def metadata(self) -> dict[str, Any]:
        """Slack message metadata carrying this key."""
        return {
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {
                "incident_id": self.incident_id,
                "event_position": self.position,
                "kind": self.kind,
            },
        }

    def matches(self, message: Mapping[str, Any]) -> bool:
        """Whether ``message`` (from ``conversations.history``) carries this key."""
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        return (
            metadata.get("event_type") == METADATA_EVENT_TYPE
            and payload.get("incident_id") == self.incident_id
            and payload.get("event_position") == self.position
            and payload.get("kind") == self.kind
        )


@attrs.frozen
class Message:
    """A message to post: the plain-text fallback and, optionally, Block Kit blocks."""

    text: str
    blocks: tuple[dict[str, Any], ...] = ()


class ChannelUnavailable(Exception):
    """Raised when the bot cannot read or write a channel it was told to use (not a member of a
    private channel, a wrong id, an archived channel)."""

    def __init__(self, channel: str, code: str) -> None:
        super().__init__(f"{channel}: {code}")
        self.channel = channel
        self.code = code


_UNAVAILABLE: Final = frozenset(
    {"channel_not_found", "is_archived", "method_not_supported_for_channel_type", "not_in_channel"}
)

_teams: dict[tuple[str, str], Team] = {}
_teams_lock = threading.Lock()


class Workspace:
    """The plugin's view of one Slack workspace, through one ``WebClient``."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    # -- the workspace -------------------------------------------------------------------------

    def team(self) -> Team:
        """The workspace URL and the bot's user id (``auth.test``, asked once per token)."""
        key = (self.client.base_url, self.client.token or "")
        with _teams_lock:
            known = _teams.get(key)
        if known is not None:
            return known
        answer = self.client.auth_test()
        team = Team(url=str(answer["url"]), bot_user_id=str(answer["user_id"]))
        with _teams_lock:
            _teams[key] = team
        return team

    # -- channels ------------------------------------------------------------------------------

    def create_channel(self, name: str) -> dict[str, Any] | None:
        """Create public channel ``name``; None when the name is taken (archived ones count)."""
        try:
            answer = self.client.conversations_create(name=name)
        except SlackApiError as error:
            if api_error_code(error) == "name_taken":
                return None
            raise
        channel: dict[str, Any] = answer["channel"]
        return channel

    def find_channels(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The public channels (archived included) called one of ``names``, by name.

        Pages through ``conversations.list`` only until every name is found; used only after a
        ``name_taken``, never routinely (listing is rate-limited and slow in big workspaces).
        """
        wanted = set(names)
        found: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        while True:
            answer = self.client.conversations_list(
                types="public_channel",
                exclude_archived=False,
                limit=LIST_PAGE,
                cursor=cursor,
            )
            for channel in answer["channels"]:
                if channel.get("name") in wanted:
                    found[channel["name"]] = channel
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None or wanted <= found.keys():
                return found

    def channel_info(self, channel_id: str) -> dict[str, Any]:
        """The channel object (name, topic, purpose, archived…)."""
        channel: dict[str, Any] = self.client.conversations_info(channel=channel_id)["channel"]
        return channel

    def set_purpose(self, channel_id: str, purpose: str, *, fresh: bool = False) -> None:
        """Set the channel's purpose (description), unless it already is ``purpose``.

        ``fresh``: the channel was just created, so there is no purpose to compare with.
        """
        if fresh or self._described(channel_id, "purpose") != purpose:
            self.client.conversations_setPurpose(channel=channel_id, purpose=purpose)

    def set_topic(self, channel_id: str, topic: str, *, fresh: bool = False) -> None:
        """Set the channel's topic, unless it already is ``topic`` (no second system message).

        ``fresh``: the channel was just created, so there is no topic to compare with.
        """
        if fresh or self._described(channel_id, "topic") != topic:
            self.client.conversations_setTopic(channel=channel_id, topic=topic)

    def replace_topic(self, channel_id: str, topic: str, *, replacing: Collection[str]) -> bool:
        """Set the channel's topic to ``topic`` if it is one of ``replacing`` (what Firebell
        wrote there before) or empty; returns whether the topic is ``topic`` now.

        A topic people wrote themselves stays, and an archived channel is left as it is.
        """
        info = self.channel_info(channel_id)
        current = str((info.get("topic") or {}).get("value") or "")
        if current == topic:
            return True
        if info.get("is_archived") or (current and current not in replacing):
            return False
        self.client.conversations_setTopic(channel=channel_id, topic=topic)
        return True

    def _described(self, channel_id: str, field: str) -> str | None:
        """The channel's current ``topic`` or ``purpose`` text."""
        value = (self.channel_info(channel_id).get(field) or {}).get("value")
        return str(value) if value is not None else None

    def invite(self, channel_id: str, users: Sequence[str]) -> dict[str, str]:
        """Invite ``users``; returns the users that could not be invited, with Slack's reason.

        Members already in the channel and the bot itself are not problems.
        """
        wanted = list(dict.fromkeys(users))
        if not wanted:
            return {}
        try:
            answer = self.client.conversations_invite(
                channel=channel_id, users=",".join(wanted), force=True
            )
            errors = answer.get("errors") or []
        except SlackApiError as error:
            errors = error.response.get("errors") or []
            if not errors:
                code = api_error_code(error)
                if code in HARMLESS_INVITE_ERRORS:
                    return {}
                if code in ("user_not_found", "cant_invite", "user_is_restricted"):
                    return dict.fromkeys(wanted, code)
                raise
        return {
            str(item.get("user")): str(item.get("error"))
            for item in errors
            if item.get("error") not in HARMLESS_INVITE_ERRORS
        }

    def rename(self, channel_id: str, name: str) -> bool:
        """Rename the channel; False when ``name`` is taken by another channel."""
        try:
            self.client.conversations_rename(channel=channel_id, name=name)
        except SlackApiError as error:
            if api_error_code(error) == "name_taken":
                return False
            raise
        return True

    def archive(self, channel_id: str) -> None:
        """Archive the channel (already archived is fine)."""
        try:
            self._joined(lambda: self.client.conversations_archive(channel=channel_id), channel_id)
        except SlackApiError as error:
            if api_error_code(error) != "already_archived":
                raise

    def bookmark(
        self,
        channel_id: str,
        title: str,
        link: str,
        emoji: str | None = None,
        *,
        fresh: bool = False,
    ) -> bool:
        """Bookmark ``link`` in the channel unless a bookmark to it exists; True if added.

        ``fresh``: nothing can have bookmarked ``link`` in this channel yet (its set-up's first
        attempt), so the bookmarks are not listed first.
        """
        if not fresh:
            existing = self.client.bookmarks_list(channel_id=channel_id).get("bookmarks") or []
            if any(b.get("link") == link for b in existing):
                return False
        self.client.bookmarks_add(
            channel_id=channel_id, title=title, type="link", link=link, emoji=emoji
        )
        return True

    def open_dm(self, user_id: str) -> str | None:
        """The bot's DM channel with ``user_id``, or None when Slack knows no such user."""
        try:
            answer = self.client.conversations_open(users=user_id)
        except SlackApiError as error:
            if api_error_code(error) in ("user_not_found", "user_disabled", "cannot_dm_bot"):
                return None
            raise
        return str(answer["channel"]["id"])

    # -- messages ------------------------------------------------------------------------------

    def post_once(
        self,
        channel_id: str,
        key: MessageKey,
        message: Message,
        *,
        since: datetime,
        fresh: bool = False,
    ) -> str:
        """Post ``message`` unless the channel already has one carrying ``key``; returns its ts.

        ``since`` bounds the history search (the event's time); ``fresh`` skips it for a channel
        created in this very delivery. Raises :class:`ChannelUnavailable` when the bot cannot
        use the channel.
        """
        try:
            if not fresh:
                earlier = self._joined(
                    lambda: self.find_message(channel_id, key, since=since), channel_id
                )
                if earlier is not None:
                    return earlier
            answer = self.client.chat_postMessage(
                channel=channel_id,
                text=message.text,
                blocks=list(message.blocks) or None,
                metadata=key.metadata(),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            code = api_error_code(error)
            if code in _UNAVAILABLE:
                raise ChannelUnavailable(channel_id, code) from error
            raise
        return str(answer["ts"])

    def find_message(self, channel_id: str, key: MessageKey, *, since: datetime) -> str | None:
        """The ts of the message carrying ``key`` posted after ``since``, or None."""
        oldest = f"{(since - HISTORY_SLACK).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            answer = self.client.conversations_history(
                channel=channel_id,
                oldest=oldest,
                limit=HISTORY_PAGE,
                include_all_metadata=True,
                cursor=cursor,
            )
            for message in answer.get("messages") or []:
                if key.matches(message):
                    return str(message["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        log.warning(
            "gave up looking for %s in %s after %d pages of history; posting it again",
            key,
            channel_id,
            HISTORY_MAX_PAGES,
        )
        return None

    def update_message(self, channel_id: str, ts: str, key: MessageKey, message: Message) -> None:
        """Replace a message Firebell posted (the incident summary, as resources appear)."""
        self.client.chat_update(
            channel=channel_id,
            ts=ts,
            text=message.text,
            blocks=list(message.blocks) or None,
            metadata=key.metadata(),
        )

    def _joined(self, call: Callable[[], T], channel_id: str) -> T:
        """Run ``call``; if the bot is not in the (public) channel, join it and run it again."""
        try:
            return call()
        except SlackApiError as error:
            if api_error_code(error) != "not_in_channel":
                raise
        log.info("joining %s to read or manage it", channel_id)
        try:
            self.client.conversations_join(channel=channel_id)
        except SlackApiError as error:
            code = api_error_code(error)
            if code in _UNAVAILABLE:
                raise ChannelUnavailable(channel_id, code) from error
            raise
        return call()
