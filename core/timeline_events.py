"""The events of an incident's record: timeline entries, follow-ups and reminders.

They are registered like the lifecycle events of :mod:`firebell.core.events` (the package imports
this module, so their names are known to every reader of the log) and applied by
:func:`firebell.core.incident.apply`:

- ``timeline.entry_added`` / ``timeline.entry_removed``: a message of the incident channel was
  marked (pinned, or given the configured reaction) or unmarked, or someone wrote a note.
- ``followup.added`` / ``followup.done``: a mitigation task for section 4 of the post-mortem.
- ``reminder.sent``: the reminder scheduler found a reminder due (no update for a while, no
  commander, the post-mortem to write); plugins tell the people.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
from firebell.core.events import Event, event_type

__all__ = [
    "REMINDER_KINDS",
    "FollowUpAdded",
    "FollowUpDone",
    "ReminderSent",
    "TimelineEntryAdded",
    "TimelineEntryRemoved",
    "message_entry_id",
    "parse_moment",
    "write_moment",
]

#: What a reminder is about: no status update for a while, no commander, the post-mortem.
REMINDER_KINDS = ("update", "commander", "postmortem")


def write_moment(moment: datetime) -> str:
    """``moment`` as the ISO 8601 UTC text the record events carry.

    Payloads hold only JSON types (strings, numbers, booleans), so that a plugin that writes
    ``attrs.asdict(event.data)`` as JSON keeps working; times travel as text.
    """
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}; events carry UTC times")
    return moment.astimezone(UTC).isoformat()


def parse_moment(text: str) -> datetime:
    """The datetime of a :func:`write_moment` text (UTC)."""
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def message_entry_id(channel_id: str, message_ts: str) -> str:
    """The timeline entry id of a Slack message: ``slack:<channel>:<ts>``."""
    return f"slack:{channel_id}:{message_ts}"


@event_type("timeline.entry_added")
@attrs.frozen
class TimelineEntryAdded(Event):
    """A message became an entry of the incident's timeline (pinned, reacted to, or a note).

    ``entry_id`` names the entry (``slack:<channel>:<ts>`` for a message, ``note:<n>`` for a
    note); ``author`` wrote the text; ``posted_at`` is when the message was written, as ISO 8601
    UTC text (the timeline places the entry there, not when it was marked; None: when marked);
    ``source`` is ``pin``, ``reaction`` or ``note``. The event's actor is who marked it.
    """

    entry_id: str
    author: str
    text: str
    message_ts: str | None = None
    permalink: str | None = None
    channel_id: str | None = None
    posted_at: str | None = None
    source: str = "note"


@event_type("timeline.entry_removed")
@attrs.frozen
class TimelineEntryRemoved(Event):
    """An entry left the timeline (its message was unpinned and lost the reaction)."""

    entry_id: str
    message_ts: str | None = None
    channel_id: str | None = None


@event_type("followup.added")
@attrs.frozen
class FollowUpAdded(Event):
    """A mitigation task was recorded; ``follow_up_id`` counts from 1 within the incident."""

    follow_up_id: int
    text: str
    owner: str | None = None


@event_type("followup.done")
@attrs.frozen
class FollowUpDone(Event):
    """A follow-up was done."""

    follow_up_id: int


@event_type("reminder.sent")
@attrs.frozen
class ReminderSent(Event):
    """A reminder fell due: ``kind`` is one of :data:`REMINDER_KINDS`.

    ``due_at`` is the moment it was due, as ISO 8601 UTC text (the scheduler's idempotency key
    names it, so it is sent once however many schedulers run); ``recipient`` is whom it asks to act (the reporter
    for a missing commander), or None for the whole channel.
    """

    kind: str
    due_at: str
    recipient: str | None = None
