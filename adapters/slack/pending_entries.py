"""Timeline entries recorded before Slack showed their message, and how they are settled.

A mark whose message Slack would not show yet is recorded from its event; a reaction's event
does not carry the text, so the entry holds :data:`PENDING_TEXT` (see
:mod:`~firebell.adapters.slack.mark_lookups` for the retries). When Slack answers, the entry is
filled in with the message (:func:`fill_in_entry`) or taken off, its mark gone
(:func:`drop_entry`); when the incident closed and Slack still cannot show it, it says so with a
link to the message (:func:`give_up_entry`). Each of these appends nothing when the entry is no
longer pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from firebell.adapters.slack.message_marks import MessageMarks
from firebell.adapters.slack.timeline_parsing import plain_text
from firebell.core.engine import Engine
from firebell.core.events import Event
from firebell.core.incident import Incident, TimelineItem
from firebell.core.store import AppendResult
from firebell.core.text import MAX_UPDATE, clean_text
from firebell.core.timeline_commands import EMPTY_MESSAGE
from firebell.core.timeline_events import TimelineEntryAdded, TimelineEntryRemoved, write_moment

__all__ = [
    "PENDING_TEXT",
    "drop_entry",
    "fill_in_entry",
    "give_up_entry",
    "is_pending",
    "message_link",
    "unread_text",
]

#: The text of an entry recorded before Slack showed its message (a reaction's event has none).
PENDING_TEXT = "(message not read from Slack yet; Firebell fills it in when Slack answers)"


def is_pending(entry: TimelineItem) -> bool:
    """Whether ``entry`` was recorded without its message's text, which a lookup fills in."""
    return entry.source != "note" and entry.text == PENDING_TEXT


def unread_text(channel: str, marker: str) -> str:
    """What a pending entry says once its incident closed before Slack showed the message."""
    return f"A message in {channel} marked by {marker} (its text could not be read from Slack)"


def message_link(incident: Incident, channel_id: str, ts: str) -> str | None:
    """The web link to message ``ts`` of the incident's channel, built from the channel's link
    (``…/archives/<channel>`` + ``/p<ts without the dot>``, Slack's permalink format), or None
    when ``channel_id`` is not the channel linked or its link is unknown."""
    channel = incident.resource("channel")
    if channel is None or channel.external_id != channel_id or not channel.url:
        return None
    return f"{channel.url.rstrip('/')}/p{ts.replace('.', '')}"


def fill_in_entry(
    engine: Engine,
    incident_id: str,
    entry: TimelineItem,
    marks: MessageMarks,
    *,
    actor_groups: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> AppendResult:
    """Give a pending ``entry`` its message as Slack shows it (``timeline.entry_added`` again).

    An entry added again under its id replaces the one before (the read model and the
    post-mortems keep one line per message), so the placeholder becomes the message's text,
    author and permalink in place; it stays marked by whoever marked it. Nothing is appended
    when the entry is no longer pending (filled in meanwhile, or gone). A closed incident's
    entry is filled in too: the last try at its close is what the post-mortem keeps.
    """
    text = clean_text(plain_text(marks.text))
    if len(text) > MAX_UPDATE:
        text = text[: MAX_UPDATE - 1] + "…"

    def decide(incident: Incident) -> list[Event]:
        current = incident.timeline_entry(entry.entry_id)
        if current is None or not is_pending(current):
            return []
        return [
            TimelineEntryAdded(
                entry_id=current.entry_id,
                author=marks.author,
                text=text or EMPTY_MESSAGE,
                message_ts=current.message_ts,
                permalink=marks.permalink or current.permalink,
                channel_id=current.channel_id,
                posted_at=write_moment(current.at),
                source="pin" if marks.pinned else "reaction",
            )
        ]

    return engine.append(
        incident_id,
        decide,
        actor=entry.added_by or "slack",
        action="timeline",
        actor_groups=actor_groups,
        names=names,
    )


def give_up_entry(
    engine: Engine,
    incident_id: str,
    entry: TimelineItem,
    *,
    permalink: str | None,
    actor_groups: Sequence[str] = (),
) -> AppendResult:
    """Replace a pending ``entry`` of a closed incident by :func:`unread_text` and ``permalink``.

    For when Slack still could not show the message at the last try: the placeholder promises a
    text no lookup will bring any more, while this says where the message is and who marked it
    (by the name the log knows), linked when ``permalink`` is known. Nothing is appended when
    the entry is no longer pending.
    """

    def decide(incident: Incident) -> list[Event]:
        current = incident.timeline_entry(entry.entry_id)
        if current is None or not is_pending(current):
            return []
        marker = current.added_by or "someone"
        channel = incident.resource("channel")
        where = (
            channel.title
            if channel is not None
            and channel.external_id == current.channel_id
            and channel.title
            and channel.title.startswith("#")
            else f"the channel {current.channel_id or 'of the incident'}"
        )
        return [
            TimelineEntryAdded(
                entry_id=current.entry_id,
                author=current.author,
                text=unread_text(where, incident.names.get(marker, marker)),
                message_ts=current.message_ts,
                permalink=current.permalink or permalink,
                channel_id=current.channel_id,
                posted_at=write_moment(current.at),
                source=current.source,
            )
        ]

    return engine.append(
        incident_id,
        decide,
        actor=entry.added_by or "slack",
        action="timeline",
        actor_groups=actor_groups,
    )


def drop_entry(
    engine: Engine, incident_id: str, entry: TimelineItem, *, actor_groups: Sequence[str] = ()
) -> AppendResult:
    """Take a pending ``entry`` off the timeline (``timeline.entry_removed``), closed incident
    or not: Slack's last answer shows its message no longer marked. Nothing is appended when
    the entry is no longer pending."""

    def decide(incident: Incident) -> list[Event]:
        current = incident.timeline_entry(entry.entry_id)
        if current is None or not is_pending(current):
            return []
        return [
            TimelineEntryRemoved(
                current.entry_id, message_ts=current.message_ts, channel_id=current.channel_id
            )
        ]

    return engine.append(
        incident_id,
        decide,
        actor=entry.added_by or "slack",
        action="timeline",
        actor_groups=actor_groups,
    )
