"""A marked message as Slack has it now: its text, author and permalink, pinned or reacted to.

The timeline's listeners decide from this answer, not from the event that came in, whether a
message belongs on the incident's timeline (see :mod:`~firebell.adapters.slack.mark_listeners`).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from firebell.adapters.slack.timeline_parsing import reaction_name
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["MessageMarks", "message_marks"]

#: Answers meaning the message (or the channel) cannot be read: it has no marks to honour.
_GONE = frozenset({"message_not_found", "channel_not_found", "not_in_channel", "is_archived"})


@attrs.frozen
class MessageMarks:
    """A message as Slack has it now: who wrote what, where it lives, and how it is marked."""

    ts: str
    author: str
    text: str
    permalink: str | None
    pinned: bool
    reacted: bool

    @property
    def marked(self) -> bool:
        """Whether the message belongs on the timeline."""
        return self.pinned or self.reacted


def message_marks(
    client: WebClient, channel_id: str, ts: str, reaction: str
) -> MessageMarks | None:
    """The message ``ts`` of ``channel_id`` and its marks, or None when Slack cannot show it."""
    try:
        answer = client.reactions_get(channel=channel_id, timestamp=ts, full=True)
        pins = client.pins_list(channel=channel_id)
    except SlackApiError as error:
        if error.response.get("error") in _GONE:
            return None
        raise
    message = answer.get("message")
    if not isinstance(message, Mapping):
        return None
    reactions = message.get("reactions") or []
    reacted = bool(reaction) and any(
        isinstance(r, Mapping)
        and reaction_name(str(r.get("name", ""))) == reaction
        and int(r.get("count") or 0) > 0
        for r in reactions
    )
    pinned = any(
        isinstance(item, Mapping)
        and isinstance(item.get("message"), Mapping)
        and item["message"].get("ts") == ts
        for item in pins.get("items") or []
    )
    permalink = message.get("permalink")
    if not isinstance(permalink, str):
        try:
            permalink = str(
                client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"]
            )
        except SlackApiError:
            permalink = None
    author = message.get("user") or message.get("username") or message.get("bot_id") or "someone"
    return MessageMarks(ts, str(author), str(message.get("text") or ""), permalink, pinned, reacted)
