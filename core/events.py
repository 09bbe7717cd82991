"""The incident events: immutable, past-tense facts, each with a stable name and schema version.

An event's *name* (``incident.created``) is what the log stores; the class name may change, the
name never does. To change what an event means, add a new event or bump ``schema_version`` and
teach :meth:`Event.upcast` to read the old shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, TypeVar

import attrs

__all__ = [
    "EVENT_TYPES",
    "CommanderAssigned",
    "Event",
    "IncidentClosed",
    "IncidentCreated",
    "IncidentReopened",
    "IncidentResolved",
    "IntegrationFailed",
    "IntegrationRecovered",
    "IntegrationSkipped",
    "PersonNamed",
    "RecordedEvent",
    "ResourceLinked",
    "SeverityChanged",
    "StatusUpdatePosted",
    "event_type",
]

#: Every known event class by its stable name.
EVENT_TYPES: dict[str, type[Event]] = {}

E = TypeVar("E", bound="type[Event]")


def event_type(name: str, *, schema_version: int = 1) -> Any:
    """Class decorator: register an :class:`Event` subclass under its stable ``name``."""

    def register(cls: E) -> E:
        if name in EVENT_TYPES:
            raise ValueError(f"event name {name!r} is already taken by {EVENT_TYPES[name]!r}")
        cls.type = name
        cls.schema_version = schema_version
        EVENT_TYPES[name] = cls
        return cls

    return register


@attrs.frozen
class Event:
    """Base of every event payload. Subclasses are frozen attrs classes named in the past tense."""

    type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    @classmethod
    def upcast(cls, data: dict[str, Any], stored_version: int) -> dict[str, Any]:
        """Turn a payload stored at ``stored_version`` into the current shape (default: as is)."""
        return data


@event_type("incident.created")
@attrs.frozen
class IncidentCreated(Event):
    """An incident was declared."""

    name: str
    title: str
    description: str
    severity: str
    reporter: str
    customer_facing: bool = False
    source: str = "cli"


@event_type("incident.resolved")
@attrs.frozen
class IncidentResolved(Event):
    """The incident's impact is over; the channel stays open for the follow-up discussion."""

    summary: str = ""


@event_type("incident.reopened")
@attrs.frozen
class IncidentReopened(Event):
    """A resolved incident turned out not to be over."""

    reason: str = ""


@event_type("incident.closed")
@attrs.frozen
class IncidentClosed(Event):
    """The post-mortem is done; the incident is read-only from now on."""

    summary: str = ""


@event_type("incident.severity_changed")
@attrs.frozen
class SeverityChanged(Event):
    """The incident's severity was raised or lowered."""

    previous: str
    severity: str


@event_type("incident.status_update_posted")
@attrs.frozen
class StatusUpdatePosted(Event):
    """Someone posted a free-text status update; ``public`` ones may reach the status page."""

    text: str
    public: bool = False


@event_type("incident.commander_assigned")
@attrs.frozen
class CommanderAssigned(Event):
    """Someone became the incident commander."""

    commander: str
    previous: str | None = None


@event_type("incident.resource_linked")
@attrs.frozen
class ResourceLinked(Event):
    """A plugin created something outside Firebell for this incident (channel, page, document…)."""

    plugin: str
    kind: str
    external_id: str
    url: str | None = None
    title: str | None = None


@event_type("incident.integration_failed")
@attrs.frozen
class IntegrationFailed(Event):
    """A plugin failed to handle one of this incident's events; it will be retried (or was parked)."""

    plugin: str
    event_type: str
    error: str
    will_retry: bool = True


@event_type("incident.integration_recovered")
@attrs.frozen
class IntegrationRecovered(Event):
    """A plugin that had failed for this incident handled the event after all."""

    plugin: str
    event_type: str
    attempts: int


@event_type("incident.integration_skipped")
@attrs.frozen
class IntegrationSkipped(Event):
    """A plugin that was failing for this incident had its pending deliveries of it skipped.

    Either it was switched off when the incident ended and had created nothing for it
    (:mod:`firebell.core.stale_deliveries`), or its hook said the event needs nothing from it
    any more (:class:`~firebell.core.errors.NothingToDo`, e.g. an incident resolved before the
    pager could page). Nothing of the incident is left for it to do: it is no longer failing for
    it, and no ``IntegrationRecovered`` will follow. ``deliveries`` is how many were skipped,
    ``reason`` why (as ``firebell show`` lists it).
    """

    plugin: str
    deliveries: int
    reason: str


@event_type("person.named")
@attrs.frozen
class PersonNamed(Event):
    """Who an id stands for: ``person`` (a Slack user id) is called ``name``.

    An adapter that knows people's names (the Slack adapter asks ``users.info``) records one
    when a person first acts or is named in the incident, and again when the name changed: in
    the same append as the command when it knows the name already (its cache, the request's
    username), else right after it, once Slack was asked. Post-mortems show the name without
    asking Slack, and a rebuild from the log shows it the same way.
    """

    person: str
    name: str


@attrs.frozen
class RecordedEvent:
    """An event as the log holds it: the payload with its place in the log and who caused it.

    ``incident_id`` is the stream (the incident's name), ``version`` its place in that stream
    (1 for the creation), ``position`` its place in the whole log (increasing, never reused),
    ``actor`` who did it (a Slack user id, ``cli:<user>`` or ``plugin:<name>``) and
    ``causation_id`` the idempotency key of the command that appended it.
    """

    incident_id: str
    version: int
    position: int
    occurred_at: datetime
    actor: str
    causation_id: str | None
    data: Event

    @property
    def type(self) -> str:
        """The event's stable name, e.g. ``incident.created``."""
        return self.data.type
