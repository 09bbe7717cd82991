"""An incident's history as lines a person reads: time, who, what.

The CLI's ``show``, the markdown post-mortem and other doc stores share this wording.
:func:`timeline` is the log as it happened, one line per event; :func:`incident_timeline` is
the post-mortem's timeline: the system events merged with the entries people marked in the
channel (pins, reactions, notes), each at the time its message was written, in time order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import attrs
from firebell.core.events import (
    CommanderAssigned,
    IncidentClosed,
    IncidentCreated,
    IncidentReopened,
    IncidentResolved,
    IntegrationFailed,
    IntegrationRecovered,
    IntegrationSkipped,
    PersonNamed,
    RecordedEvent,
    ResourceLinked,
    SeverityChanged,
    StatusUpdatePosted,
)
from firebell.core.incident import Incident, TimelineItem, replay
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    ReminderSent,
    TimelineEntryAdded,
    TimelineEntryRemoved,
)

__all__ = [
    "RECORD_EVENT_TYPES",
    "TimelineEntry",
    "attempts_note",
    "describe",
    "describe_entry",
    "follow_up_line",
    "format_duration",
    "incident_timeline",
    "markdown_inline",
    "timeline",
    "timeline_items",
]

#: Events that are not lines of the merged timeline: entries become lines of their own (at the
#: time their message was written), follow-ups go to the post-mortem's section 4, reminders
#: are Firebell talking to itself, and people's names show wherever the people do.
RECORD_EVENT_TYPES = frozenset(
    {
        TimelineEntryAdded.type,
        TimelineEntryRemoved.type,
        FollowUpAdded.type,
        FollowUpDone.type,
        ReminderSent.type,
        PersonNamed.type,
    }
)

#: Names by id (an incident's :attr:`~firebell.core.incident.Incident.names`).
Names = Mapping[str, str]
_NO_NAMES: Names = MappingProxyType({})

_UTC_FORMAT = "%Y-%m-%d %H:%M:%S UTC"

#: How the incident ended, in an ``IntegrationSkipped`` reason ("… was off when NAME was closed").
_SKIPPED_WHEN = re.compile(r"was off when \S+ was (resolved|closed)\b")


@attrs.frozen
class TimelineEntry:
    """One line of the timeline."""

    at: str
    actor: str
    text: str
    type: str
    #: Where the line points (a pinned message's permalink), if anywhere.
    link: str | None = None
    #: The same time as ``at``, as a datetime (for sorting and JSON).
    moment: datetime | None = None
    #: Who, as the log recorded them (a Slack user id, ``cli:…``); ``actor`` is their name
    #: when the log holds one.
    actor_id: str | None = None

    def as_markdown(self) -> str:
        """``- **14:02 UTC** — text (actor)`` on one line, the text linked when there is a link.

        Text people typed is kept on one line and cannot open an HTML comment or tag (so it
        can never end the block between the post-mortem's markers).
        """
        text = markdown_inline(self.text)
        if self.link:
            label = text.replace("[", "\\[").replace("]", "\\]")
            text = f"[{label}](<{self.link.replace('>', '%3E').replace(' ', '%20')}>)"
        return f"- **{self.at}** — {text} ({markdown_inline(self.actor)})"


def attempts_note(attempts: int) -> str:
    """`` (after 3 attempts)``: how many attempts the delivery that worked again took
    (``IntegrationRecovered.attempts``), or nothing when its first one did.

    A first attempt works again only for a delivery ``firebell retry`` put back in the queue,
    which counts its attempts from 1 again: "after 1 attempt" would read as if nothing had
    failed. The Slack plugin's "works again" line and the timelines say it alike.
    """
    return f" (after {attempts} attempts)" if attempts > 1 else ""


def markdown_inline(text: str) -> str:
    """``text`` as one line of Markdown: whitespace runs become one space, ``<`` is escaped."""
    return " ".join(text.split()).replace("<", "&lt;")


def describe(event: RecordedEvent, names: Names = _NO_NAMES) -> str:
    """What ``event`` means, in one sentence; people by their ``names`` where known."""

    def who(person: str) -> str:
        return names.get(person, person)

    match event.data:
        case IncidentCreated(title=title, severity=severity):
            return f"Declared as {severity}: {title}"
        case IncidentResolved(summary=summary):
            return f"Resolved{': ' + summary if summary else ''}"
        case IncidentReopened(reason=reason):
            return f"Reopened{': ' + reason if reason else ''}"
        case IncidentClosed(summary=summary):
            return f"Closed{': ' + summary if summary else ''}"
        case SeverityChanged(previous=previous, severity=severity):
            return f"Severity changed from {previous} to {severity}"
        case StatusUpdatePosted(text=text, public=public):
            return f"{'Public update' if public else 'Update'}: {text}"
        case CommanderAssigned(commander=commander):
            return f"{who(commander)} is now the incident commander"
        case ResourceLinked(plugin=plugin, kind=kind, url=url, title=title):
            label = title or kind
            return f"{plugin} linked {label}{' ' + url if url else ''}"
        case IntegrationFailed(plugin=plugin, error=error, will_retry=will_retry):
            then = "retrying" if will_retry else "gave up; needs attention"
            return f"{plugin} failed ({then}): {error}"
        case IntegrationRecovered(plugin=plugin, attempts=attempts):
            return f"{plugin} works again{attempts_note(attempts)}"
        case IntegrationSkipped(plugin=plugin, deliveries=count, reason=reason):
            # A statement of what happened, without the reason's advice to the operator: the
            # line stays in the post-mortem after the advice was followed (firebell show and
            # firebell plugins give the advice, from the outbox).
            skipped = f"{count} {'delivery' if count == 1 else 'deliveries'} skipped"
            ended = _SKIPPED_WHEN.search(reason)
            if ended is None:
                # A hook's NothingToDo: its reason is a statement already.
                return f"{plugin}: {skipped} ({reason.rstrip('.')})"
            why = (
                f"it was off when the incident was {ended.group(1)} and had created nothing for it"
            )
            return f"{plugin}: {skipped} ({why})"
        case TimelineEntryAdded(text=text, source=source, author=author):
            if source == "note":
                return f"Note: {text}"
            return f"Marked for the timeline ({source}), a message by {who(author)}: {text}"
        case TimelineEntryRemoved(entry_id=entry_id):
            return f"Taken off the timeline: {entry_id}"
        case FollowUpAdded(follow_up_id=number, text=text, owner=owner):
            return f"Follow-up #{number}: {text}{' — ' + who(owner) if owner else ''}"
        case FollowUpDone(follow_up_id=number):
            return f"Follow-up #{number} done"
        case ReminderSent(kind=kind, recipient=recipient):
            return f"Reminder sent ({kind}){' to ' + who(recipient) if recipient else ''}"
        case PersonNamed(person=person, name=name):
            return f"{person} is {name}"
    return event.type


def describe_entry(entry: TimelineItem) -> str:
    """What a timeline entry says: the message's text (a note's is marked as one)."""
    return f"Note: {entry.text}" if entry.source == "note" else entry.text


def follow_up_line(text: str, owner: str | None) -> str:
    """``text — owner`` (or just ``text``): a follow-up as section 4 lists it."""
    return f"{text} — {owner}" if owner else text


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_UTC_FORMAT)


def timeline(events: Iterable[RecordedEvent], names: Names = _NO_NAMES) -> list[TimelineEntry]:
    """The timeline of an incident's events, oldest first, times in UTC, people by ``names``."""
    return [
        TimelineEntry(
            at=_utc(event.occurred_at),
            actor=names.get(event.actor, event.actor),
            text=describe(event, names),
            type=event.type,
            moment=event.occurred_at,
            actor_id=event.actor,
        )
        for event in events
    ]


def timeline_items(history: Sequence[RecordedEvent]) -> list[RecordedEvent | TimelineItem]:
    """The system events of ``history`` and its timeline entries still marked, in time order.

    An entry sits at the time its message was written, so a message pinned an hour later
    still lands where it happened. Equal times keep the log's order.
    """
    return _merged(history, replay(history))


def _merged(
    history: Sequence[RecordedEvent], incident: Incident | None
) -> list[RecordedEvent | TimelineItem]:
    """:func:`timeline_items`, given the incident ``history`` builds."""
    entries: list[TimelineItem] = list(incident.timeline_entries) if incident else []
    # Equal times keep the log's order: an entry counts from the event that (last) added it.
    added_at = {
        event.data.entry_id: event.position
        for event in history
        if isinstance(event.data, TimelineEntryAdded)
    }
    items: list[tuple[datetime, int, RecordedEvent | TimelineItem]] = [
        (event.occurred_at, event.position, event)
        for event in history
        if event.type not in RECORD_EVENT_TYPES
    ]
    items += [(entry.at, added_at.get(entry.entry_id, 0), entry) for entry in entries]
    return [item for _, _, item in sorted(items, key=lambda row: (row[0], row[1]))]


def incident_timeline(history: Sequence[RecordedEvent]) -> list[TimelineEntry]:
    """The post-mortem's timeline of ``history``: system events and entries, by time (UTC).

    People show by the names the log recorded for them (``person.named``), else by their ids.
    """
    incident = replay(history)
    names = incident.names if incident else _NO_NAMES
    lines = []
    for item in _merged(history, incident):
        if isinstance(item, TimelineItem):
            lines.append(
                TimelineEntry(
                    at=_utc(item.at),
                    actor=names.get(item.author, item.author),
                    text=describe_entry(item),
                    type=TimelineEntryAdded.type,
                    link=item.permalink,
                    moment=item.at,
                    actor_id=item.author,
                )
            )
        else:
            lines.extend(timeline([item], names))
    return lines


def format_duration(value: timedelta) -> str:
    """``40s``, ``12m``, ``1h 05m``, ``2d 3h``."""
    seconds = max(0, round(value.total_seconds()))
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"
