"""The incident aggregate: its state, the guards a command must pass, and how events change it.

State changes only by applying events (:func:`apply`); commands first run the ``check_*`` guards,
which raise :class:`~firebell.core.errors.CommandRefused` with a message a person can act on.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
from firebell.core.errors import CommandRefused
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
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    ReminderSent,
    TimelineEntryAdded,
    TimelineEntryRemoved,
    parse_moment,
)

__all__ = [
    "IF_THE_PROBLEM_IS_BACK",
    "WRITE_IT_IN_THE_POSTMORTEM",
    "FollowUp",
    "Incident",
    "IncidentState",
    "Person",
    "Reminded",
    "Resource",
    "TimelineItem",
    "apply",
    "replay",
]


class IncidentState(enum.StrEnum):
    """Where an incident is in its life: open -> resolved -> closed (resolved -> open on reopen)."""

    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


@attrs.frozen
class Resource:
    """Something a plugin created outside Firebell for an incident (a channel, a page, a doc…)."""

    plugin: str
    kind: str
    external_id: str
    url: str | None = None
    title: str | None = None


@attrs.frozen
class TimelineItem:
    """An entry on the incident's timeline: a marked message of its channel, or a note.

    ``at`` is when the message was written (for a note, when it was added); ``author`` wrote it,
    ``added_by`` marked it.
    """

    entry_id: str
    at: datetime
    author: str
    text: str
    source: str = "note"
    added_by: str | None = None
    message_ts: str | None = None
    permalink: str | None = None
    channel_id: str | None = None


@attrs.frozen
class FollowUp:
    """A mitigation task for section 4 of the post-mortem; ``id`` counts from 1 per incident."""

    id: int
    text: str
    owner: str | None
    added_at: datetime
    added_by: str
    done_at: datetime | None = None
    done_by: str | None = None

    @property
    def done(self) -> bool:
        """Whether someone marked it done."""
        return self.done_at is not None


@attrs.frozen
class Reminded:
    """When the last reminder of ``kind`` went out (one per kind is kept)."""

    kind: str
    at: datetime


@attrs.frozen
class Person:
    """What a person (``id``: a Slack user id) was last called in the incident (``person.named``)."""

    id: str
    name: str


#: What the refusal of a change to a closed incident advises by default: a closed incident's
#: story is over, and a problem that came back is a new one.
IF_THE_PROBLEM_IS_BACK = "If the problem is back, declare a new incident."

#: What the refusal of a timeline entry or note on a closed incident advises.
WRITE_IT_IN_THE_POSTMORTEM = (
    "Write it in the post-mortem instead, or declare a new incident if the problem is back."
)


def _at(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


@attrs.frozen
class Incident:
    """An incident's current state, as the events so far make it."""

    id: str
    version: int
    title: str
    description: str
    severity: str
    state: IncidentState
    reporter: str
    declared_at: datetime
    updated_at: datetime
    customer_facing: bool = False
    source: str = "cli"
    commander: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    last_update_at: datetime | None = None
    last_position: int = 0
    resources: tuple[Resource, ...] = ()
    failing_plugins: tuple[str, ...] = ()
    # The record kept during and after the incident (core/timeline_events.py).
    timeline_entries: tuple[TimelineItem, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    reminders: tuple[Reminded, ...] = ()
    first_update_at: datetime | None = None
    reopened_at: datetime | None = None
    # The names of the people it involves, as an adapter learned them (PersonNamed).
    people: tuple[Person, ...] = ()

    @property
    def name(self) -> str:
        """The incident's name (``YYYYMMDD-adjective-animal``), which is also its id."""
        return self.id

    def resource(self, kind: str, plugin: str | None = None) -> Resource | None:
        """The latest linked resource of ``kind`` (from ``plugin`` when given), or None."""
        for resource in reversed(self.resources):
            if resource.kind == kind and (plugin is None or resource.plugin == plugin):
                return resource
        return None

    def timeline_entry(self, entry_id: str) -> TimelineItem | None:
        """The timeline entry called ``entry_id`` (``slack:<channel>:<ts>``), or None."""
        return next((e for e in self.timeline_entries if e.entry_id == entry_id), None)

    def follow_up(self, follow_up_id: int) -> FollowUp | None:
        """Follow-up number ``follow_up_id``, or None."""
        return next((f for f in self.follow_ups if f.id == follow_up_id), None)

    def person_name(self, who: str) -> str:
        """What ``who`` (a Slack user id, or any actor) is called: the recorded name, else ``who``."""
        return next((p.name for p in self.people if p.id == who), who)

    @property
    def names(self) -> dict[str, str]:
        """The recorded name of each person by id (for rendering many at once)."""
        return {p.id: p.name for p in self.people}

    def last_reminded_at(self, kind: str) -> datetime | None:
        """When the last reminder of ``kind`` was sent, or None."""
        return next((r.at for r in self.reminders if r.kind == kind), None)

    # -- guards --------------------------------------------------------------------------------

    def check_not_closed(self, action: str, advice: str = IF_THE_PROBLEM_IS_BACK) -> None:
        """Refuse ``action`` on a closed incident, saying ``advice`` (what to do instead).

        Everything but its follow-ups is refused: they are worked through after the close
        (:mod:`firebell.core.timeline_commands`).
        """
        if self.state is IncidentState.CLOSED:
            raise CommandRefused(
                f"{self.id} is closed (by {self.closed_by} at {_at(self.closed_at)}); "
                f"a closed incident cannot be {action}. {advice}".rstrip()
            )

    def check_can_resolve(self, *, if_not_over: str = "Reopen it first if it is not over.") -> None:
        """Refuse to resolve unless the incident is open.

        ``if_not_over`` is the advice for a resolved one: an adapter that cannot reopen (the
        web console) says where to do it.
        """
        self.check_not_closed("resolved", "It was resolved before the close; nothing to do.")
        if self.state is IncidentState.RESOLVED:
            raise CommandRefused(
                f"{self.id} is already resolved, by {self.resolved_by} at {_at(self.resolved_at)}."
                f" {if_not_over}".rstrip()
            )

    def check_can_reopen(self) -> None:
        """Refuse to reopen unless the incident is resolved."""
        self.check_not_closed("reopened")
        if self.state is IncidentState.OPEN:
            raise CommandRefused(f"{self.id} is still open; there is nothing to reopen.")

    def check_can_close(self) -> None:
        """Refuse to close unless the incident is resolved."""
        if self.state is IncidentState.CLOSED:
            raise CommandRefused(
                f"{self.id} is already closed, by {self.closed_by} at {_at(self.closed_at)}."
            )
        if self.state is IncidentState.OPEN:
            raise CommandRefused(
                f"{self.id} is still open. Resolve it first, then close it after the post-mortem."
            )

    def check_can_change_severity(self, severity: str) -> None:
        """Refuse a severity change on a closed incident or to the same severity."""
        self.check_not_closed("changed")
        if severity == self.severity:
            raise CommandRefused(f"{self.id} is already {severity}.")

    def check_can_assign_commander(self, commander: str) -> None:
        """Refuse a commander change on a closed incident or to the same person."""
        self.check_not_closed("changed")
        if commander == self.commander:
            raise CommandRefused(f"{commander} is already the commander of {self.id}.")


def _created(recorded: RecordedEvent, data: IncidentCreated) -> Incident:
    return Incident(
        id=recorded.incident_id,
        version=recorded.version,
        title=data.title,
        description=data.description,
        severity=data.severity,
        state=IncidentState.OPEN,
        reporter=data.reporter,
        declared_at=recorded.occurred_at,
        updated_at=recorded.occurred_at,
        customer_facing=data.customer_facing,
        source=data.source,
        last_position=recorded.position,
    )


def apply(incident: Incident | None, recorded: RecordedEvent) -> Incident:
    """The incident after ``recorded``; ``incident`` is None only for the creation event."""
    data = recorded.data
    if isinstance(data, IncidentCreated):
        if incident is not None:
            raise ValueError(f"{recorded.incident_id} is created twice in the log")
        return _created(recorded, data)
    if incident is None:
        raise ValueError(f"{recorded.incident_id}: {recorded.type} before incident.created")
    return attrs.evolve(incident, **_changes(incident, recorded))


# core/rebuild_steps.py does the same to an incident's JSON form when the read model is rebuilt;
# tests/core/test_fold.py fails when the two disagree.
def _changes(incident: Incident, recorded: RecordedEvent) -> dict[str, Any]:
    """The fields ``recorded`` (not a creation) changes in ``incident``, with their new values."""
    at = recorded.occurred_at
    # Every event moves these.
    moved: dict[str, Any] = {
        "version": recorded.version,
        "updated_at": at,
        "last_position": recorded.position,
    }
    match recorded.data:
        case IncidentResolved():
            return {
                **moved,
                "state": IncidentState.RESOLVED,
                "resolved_at": at,
                "resolved_by": recorded.actor,
            }
        case IncidentReopened():
            return {
                **moved,
                "state": IncidentState.OPEN,
                "resolved_at": None,
                "resolved_by": None,
                "reopened_at": at,
            }
        case IncidentClosed():
            return {
                **moved,
                "state": IncidentState.CLOSED,
                "closed_at": at,
                "closed_by": recorded.actor,
            }
        case SeverityChanged(severity=severity):
            return {**moved, "severity": severity}
        case StatusUpdatePosted():
            return {
                **moved,
                "last_update_at": at,
                "first_update_at": incident.first_update_at or at,
            }
        case CommanderAssigned(commander=commander):
            return {**moved, "commander": commander}
        case ResourceLinked(
            plugin=plugin, kind=kind, external_id=external_id, url=url, title=title
        ):
            resource = Resource(plugin, kind, external_id, url, title)
            return {**moved, "resources": (*incident.resources, resource)}
        case IntegrationFailed(plugin=plugin):
            failing = incident.failing_plugins
            return {
                **moved,
                "failing_plugins": failing if plugin in failing else (*failing, plugin),
            }
        case IntegrationRecovered(plugin=plugin) | IntegrationSkipped(plugin=plugin):
            kept = tuple(p for p in incident.failing_plugins if p != plugin)
            return {**moved, "failing_plugins": kept}
        case TimelineEntryAdded() | TimelineEntryRemoved() | FollowUpAdded() | FollowUpDone():
            return {**moved, **_record(incident, recorded)}
        case ReminderSent(kind=kind):
            others = tuple(r for r in incident.reminders if r.kind != kind)
            return {**moved, "reminders": (*others, Reminded(kind, at))}
        case PersonNamed(person=person, name=name):
            known = tuple(p for p in incident.people if p.id != person)
            return {**moved, "people": (*known, Person(person, name))}
    # Events added by later versions or by plugins only move the version.
    return moved


def _record(incident: Incident, recorded: RecordedEvent) -> dict[str, Any]:
    """What the timeline and follow-up events change in ``incident`` (fields to evolve)."""
    match recorded.data:
        case TimelineEntryAdded() as data:
            item = TimelineItem(
                entry_id=data.entry_id,
                at=parse_moment(data.posted_at) if data.posted_at else recorded.occurred_at,
                author=data.author,
                text=data.text,
                source=data.source,
                added_by=recorded.actor,
                message_ts=data.message_ts,
                permalink=data.permalink,
                channel_id=data.channel_id,
            )
            kept = tuple(e for e in incident.timeline_entries if e.entry_id != data.entry_id)
            return {"timeline_entries": (*kept, item)}
        case TimelineEntryRemoved(entry_id=entry_id):
            kept = tuple(e for e in incident.timeline_entries if e.entry_id != entry_id)
            return {"timeline_entries": kept}
        case FollowUpAdded(follow_up_id=number, text=text, owner=owner):
            task = FollowUp(number, text, owner, recorded.occurred_at, recorded.actor)
            kept_tasks = tuple(f for f in incident.follow_ups if f.id != number)
            return {"follow_ups": (*kept_tasks, task)}
        case FollowUpDone(follow_up_id=number):
            done = tuple(
                attrs.evolve(f, done_at=recorded.occurred_at, done_by=recorded.actor)
                if f.id == number
                else f
                for f in incident.follow_ups
            )
            return {"follow_ups": done}
    return {}


def replay(events: Iterable[RecordedEvent]) -> Incident | None:
    """The state that a stream's events build, from nothing."""
    incident: Incident | None = None
    for recorded in events:
        incident = apply(incident, recorded)
    return incident
