"""An incident's history as lines a person reads: time, who, what.

The CLI's ``show``, the markdown post-mortem and other doc stores share this wording.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
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

__all__ = ["TimelineEntry", "describe", "timeline"]


@attrs.frozen
class TimelineEntry:
    """One line of the timeline."""

    at: str
    actor: str
    text: str
    type: str

    def as_markdown(self) -> str:
        """``- **14:02 UTC** — text (actor)``."""
        return f"- **{self.at}** — {self.text} ({self.actor})"


def describe(event: RecordedEvent) -> str:
    """What ``event`` means, in one sentence."""
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
            return f"{commander} is now the incident commander"
        case ResourceLinked(plugin=plugin, kind=kind, url=url, title=title):
            label = title or kind
            return f"{plugin} linked {label}{' ' + url if url else ''}"
        case IntegrationFailed(plugin=plugin, error=error, will_retry=will_retry):
            then = "retrying" if will_retry else "gave up; needs attention"
            return f"{plugin} failed ({then}): {error}"
        case IntegrationRecovered(plugin=plugin, attempts=attempts):
            return f"{plugin} works again (after {attempts} attempts)"
    return event.type


def timeline(events: Iterable[RecordedEvent]) -> list[TimelineEntry]:
    """The timeline of an incident's events, oldest first, times in UTC."""
    return [
        TimelineEntry(
            at=event.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            actor=event.actor,
            text=describe(event),
            type=event.type,
        )
        for event in events
    ]
