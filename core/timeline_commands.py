"""Commands on an incident's record: timeline entries, notes and follow-ups.

Each runs through :meth:`Engine.append <firebell.core.engine.Engine.append>`, so it gets the
same conflict retries, permissions and idempotency as the lifecycle commands. Timeline entries
and notes are allowed while the incident is open or resolved (the post-mortem is written after
the resolve) and refused once it is closed. Follow-ups are allowed in every state, a closed
incident's included: the incident is closed after the post-mortem meeting, where its mitigation
tasks are agreed, and those tasks are done (and found to need another) in the weeks after.
Permissions: ``timeline`` (entries and notes) and ``followup`` (follow-ups) in
``[firebell.permissions]``.

Each takes ``names``, the display names of the people involved by id, as the engine's commands
do (:mod:`firebell.core.engine`).

Idempotency: a Slack event carries an ``event_id`` that Slack keeps when it delivers the event
again, so ``slack-event:<event_id>`` makes a re-delivered pin add nothing, while a genuine
pin -> unpin -> pin (three events, three ids) adds, removes and adds again.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from firebell.core.engine import Engine
from firebell.core.errors import CommandRefused, InvalidInput
from firebell.core.events import Event
from firebell.core.incident import (
    WRITE_IT_IN_THE_POSTMORTEM,
    FollowUp,
    Incident,
    IncidentState,
)
from firebell.core.schema import incidents
from firebell.core.serialization import converter
from firebell.core.store import AppendResult, EventStore
from firebell.core.text import MAX_UPDATE, clean_text, require_text
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    TimelineEntryAdded,
    TimelineEntryRemoved,
    message_entry_id,
    write_moment,
)

__all__ = [
    "EMPTY_MESSAGE",
    "add_follow_up",
    "add_note",
    "add_timeline_entry",
    "complete_follow_up",
    "incidents_holding",
    "open_follow_ups",
    "remove_timeline_entry",
]

#: What the timeline shows for a marked message without text (a file, an image).
EMPTY_MESSAGE = "(a message without text)"

_ELLIPSIS = "…"


def _cut(text: str, limit: int = MAX_UPDATE) -> str:
    # A pinned message is what it is: a long one is shortened, not refused.
    cleaned = clean_text(text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + _ELLIPSIS


def add_timeline_entry(
    engine: Engine,
    incident_id: str,
    *,
    actor: str,
    author: str,
    text: str,
    channel_id: str,
    message_ts: str,
    permalink: str | None = None,
    posted_at: datetime | None = None,
    source: str = "pin",
    idempotency_key: str | None = None,
    actor_groups: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> AppendResult:
    """Put a message of the incident channel on the timeline (``timeline.entry_added``).

    Refused when the message is already on it (pinned and reacted to: one entry) or the
    incident is closed. ``posted_at`` is when the message was written (default: now).
    """
    entry_id = message_entry_id(channel_id, message_ts)
    body = _cut(text) or EMPTY_MESSAGE

    def decide(incident: Incident) -> list[Event]:
        incident.check_not_closed("given timeline entries", WRITE_IT_IN_THE_POSTMORTEM)
        if incident.timeline_entry(entry_id) is not None:
            raise CommandRefused(f"That message is already on the timeline of {incident.id}.")
        return [
            TimelineEntryAdded(
                entry_id=entry_id,
                author=author,
                text=body,
                message_ts=message_ts,
                permalink=permalink,
                channel_id=channel_id,
                posted_at=write_moment(posted_at) if posted_at else None,
                source=source,
            )
        ]

    return engine.append(
        incident_id,
        decide,
        actor=actor,
        action="timeline",
        idempotency_key=idempotency_key,
        actor_groups=actor_groups,
        names=names,
    )


def remove_timeline_entry(
    engine: Engine,
    incident_id: str,
    *,
    actor: str,
    channel_id: str,
    message_ts: str,
    idempotency_key: str | None = None,
    actor_groups: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> AppendResult:
    """Take a message off the timeline (``timeline.entry_removed``); refused when it is not on."""
    entry_id = message_entry_id(channel_id, message_ts)

    def decide(incident: Incident) -> list[Event]:
        incident.check_not_closed("changed", WRITE_IT_IN_THE_POSTMORTEM)
        if incident.timeline_entry(entry_id) is None:
            raise CommandRefused(f"That message is not on the timeline of {incident.id}.")
        return [TimelineEntryRemoved(entry_id, message_ts=message_ts, channel_id=channel_id)]

    return engine.append(
        incident_id,
        decide,
        actor=actor,
        action="timeline",
        idempotency_key=idempotency_key,
        actor_groups=actor_groups,
        names=names,
    )


def add_note(
    engine: Engine,
    incident_id: str,
    text: str,
    *,
    actor: str,
    idempotency_key: str | None = None,
    actor_groups: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> AppendResult:
    """Write a note straight onto the timeline, at the current time, by ``actor``."""
    body = require_text(text, field="note", limit=MAX_UPDATE)

    def decide(incident: Incident) -> list[Event]:
        incident.check_not_closed("given notes", WRITE_IT_IN_THE_POSTMORTEM)
        # The stream's next version is unique to this append, whatever else is added meanwhile.
        return [TimelineEntryAdded(f"note:{incident.version + 1}", actor, body)]

    return engine.append(
        incident_id,
        decide,
        actor=actor,
        action="timeline",
        idempotency_key=idempotency_key,
        actor_groups=actor_groups,
        names=names,
    )


def add_follow_up(
    engine: Engine,
    incident_id: str,
    text: str,
    *,
    actor: str,
    owner: str | None = None,
    idempotency_key: str | None = None,
    actor_groups: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> AppendResult:
    """Record a mitigation task (``followup.added``), numbered 1, 2, … within the incident.

    Allowed on a closed incident too (a task agreed after the close still belongs to it).
    The new follow-up is ``result.incident.follow_ups[-1]`` (its number also in the event).
    """
    body = require_text(text, field="follow-up", limit=MAX_UPDATE)
    who = clean_text(owner or "") or None

    def decide(incident: Incident) -> list[Event]:
        number = max((f.id for f in incident.follow_ups), default=0) + 1
        return [FollowUpAdded(number, body, who)]

    return engine.append(
        incident_id,
        decide,
        actor=actor,
        action="followup",
        idempotency_key=idempotency_key,
        actor_groups=actor_groups,
        names=names,
    )


def complete_follow_up(
    engine: Engine,
    incident_id: str,
    follow_up_id: int | str,
    *,
    actor: str,
    idempotency_key: str | None = None,
    actor_groups: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> AppendResult:
    """Mark follow-up ``follow_up_id`` done (``followup.done``); ``"#2"`` and ``"2"`` work too.

    Allowed on a closed incident too: its tasks are done after the close.
    """
    number = _number(follow_up_id)

    def decide(incident: Incident) -> list[Event]:
        task = incident.follow_up(number)
        if task is None:
            open_ones = ", ".join(f"#{f.id}" for f in incident.follow_ups if not f.done)
            hint = f"Open ones: {open_ones}." if open_ones else "It has no open follow-ups."
            raise CommandRefused(f"{incident.id} has no follow-up #{number}. {hint}")
        if task.done:
            raise CommandRefused(
                f"Follow-up #{number} of {incident.id} is already done (by {task.done_by})."
            )
        return [FollowUpDone(number)]

    return engine.append(
        incident_id,
        decide,
        actor=actor,
        action="followup",
        idempotency_key=idempotency_key,
        actor_groups=actor_groups,
        names=names,
    )


def _number(value: int | str) -> int:
    if isinstance(value, int):
        return value
    text = value.strip().lstrip("#")
    if not text.isdigit():
        raise InvalidInput(
            f"{value!r} is not a follow-up number; give the number `firebell followups` or "
            "`/incident followups` shows, like 2.",
            field="follow-up",
        )
    return int(text)


def unended_incidents_holding(store: EventStore, text: str) -> list[Incident]:
    """The open and resolved incidents whose record holds ``text`` (e.g. in a timeline entry),
    newest first (:func:`incidents_holding` with those states).
    """
    return incidents_holding(store, text, states=(IncidentState.OPEN, IncidentState.RESOLVED))


def incidents_holding(
    store: EventStore, text: str, *, states: Collection[IncidentState] = tuple(IncidentState)
) -> list[Incident]:
    """The incidents in one of ``states`` whose record holds ``text``, newest first.

    The read model's rows are filtered in the database on ``text`` as their JSON writes it, so
    only the incidents that may hold it are parsed, however many there are.
    """
    encoded = json.dumps(text)[1:-1]
    query = (
        sa.select(incidents.c.data)
        .where(
            incidents.c.state.in_([state.value for state in states]),
            incidents.c.data.contains(encoded, autoescape=True),
        )
        .order_by(incidents.c.declared_at.desc(), incidents.c.id.desc())
    )
    with store.read() as connection:
        return [
            converter.structure(json.loads(data), Incident)
            for data in connection.execute(query).scalars()
        ]


# Incidents without follow-ups serialize this exact text in their read-model row (a quote in a
# person's text is escaped as \", so no text can imitate it); rows from before follow-ups lack
# the key. The filter only skips rows that certainly have none; the rest are checked below.
_NO_FOLLOW_UPS = '%"follow_ups":[]%'


def open_follow_ups(store: EventStore) -> list[tuple[Incident, FollowUp]]:
    """Every follow-up not done yet, of every incident (newest incident first).

    Reads the read model only, skipping the rows of incidents without follow-ups unparsed.
    """
    query = (
        sa.select(incidents.c.data)
        .where(incidents.c.data.not_like(_NO_FOLLOW_UPS))
        .order_by(incidents.c.declared_at.desc(), incidents.c.id.desc())
    )
    found = []
    with store.read() as connection:
        for data in connection.execute(query).scalars():
            incident = converter.structure(json.loads(data), Incident)
            found += [(incident, task) for task in incident.follow_ups if not task.done]
    return found
