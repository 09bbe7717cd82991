"""The incident aggregate: its state, the guards a command must pass, and how events change it.

State changes only by applying events (:func:`apply`); commands first run the ``check_*`` guards,
which raise :class:`~firebell.core.errors.CommandRefused` with a message a person can act on.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

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
    RecordedEvent,
    ResourceLinked,
    SeverityChanged,
    StatusUpdatePosted,
)

__all__ = ["Incident", "IncidentState", "Resource", "apply", "replay"]


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

    # -- guards --------------------------------------------------------------------------------

    def check_not_closed(self, action: str) -> None:
        """Refuse ``action`` on a closed incident."""
        if self.state is IncidentState.CLOSED:
            raise CommandRefused(
                f"{self.id} is closed (by {self.closed_by} at {_at(self.closed_at)}); "
                f"a closed incident cannot be {action}. Declare a new incident instead."
            )

    def check_can_resolve(self) -> None:
        """Refuse to resolve unless the incident is open."""
        self.check_not_closed("resolved")
        if self.state is IncidentState.RESOLVED:
            raise CommandRefused(
                f"{self.id} is already resolved, by {self.resolved_by} at {_at(self.resolved_at)}."
                " Reopen it first if it is not over."
            )

    def check_can_reopen(self) -> None:
        """Refuse to reopen unless the incident is resolved."""
        self.check_not_closed("reopened")
        if self.state is IncidentState.OPEN:
            raise CommandRefused(f"{self.id} is still open; there is nothing to reopen.")

    def check_can_close(self) -> None:
        """Refuse to close unless the incident is resolved."""
        self.check_not_closed("closed again")
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
    base = attrs.evolve(
        incident,
        version=recorded.version,
        updated_at=recorded.occurred_at,
        last_position=recorded.position,
    )
    match data:
        case IncidentResolved():
            return attrs.evolve(
                base,
                state=IncidentState.RESOLVED,
                resolved_at=recorded.occurred_at,
                resolved_by=recorded.actor,
            )
        case IncidentReopened():
            return attrs.evolve(base, state=IncidentState.OPEN, resolved_at=None, resolved_by=None)
        case IncidentClosed():
            return attrs.evolve(
                base,
                state=IncidentState.CLOSED,
                closed_at=recorded.occurred_at,
                closed_by=recorded.actor,
            )
        case SeverityChanged(severity=severity):
            return attrs.evolve(base, severity=severity)
        case StatusUpdatePosted():
            return attrs.evolve(base, last_update_at=recorded.occurred_at)
        case CommanderAssigned(commander=commander):
            return attrs.evolve(base, commander=commander)
        case ResourceLinked(
            plugin=plugin, kind=kind, external_id=external_id, url=url, title=title
        ):
            resource = Resource(plugin, kind, external_id, url, title)
            return attrs.evolve(base, resources=(*incident.resources, resource))
        case IntegrationFailed(plugin=plugin):
            failing = incident.failing_plugins
            return attrs.evolve(
                base,
                failing_plugins=failing if plugin in failing else (*failing, plugin),
            )
        case IntegrationRecovered(plugin=plugin):
            kept = tuple(p for p in incident.failing_plugins if p != plugin)
            return attrs.evolve(base, failing_plugins=kept)
    # Events added by later versions or by plugins only move the version.
    return base


def replay(events: Iterable[RecordedEvent]) -> Incident | None:
    """The state that a stream's events build, from nothing."""
    incident: Incident | None = None
    for recorded in events:
        incident = apply(incident, recorded)
    return incident
