"""The post-mortem's header line, shared by the ``markdown`` and ``notion`` plugins: the title,
the severity, when and by whom the incident was declared, and its commander.

The header shows the incident as it is now (the timeline keeps the history): the plugins rewrite
it when the severity changes, a commander is assigned, or the reporter's or commander's name is
learned (``person.named``). They rewrite only a line that still reads as they may have written
it at some point of the incident (:func:`earlier_headers`); a line people rewrote is theirs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

import attrs
from firebell.core import (
    CommanderAssigned,
    Event,
    Incident,
    IncidentCreated,
    PersonNamed,
    RecordedEvent,
    SeverityChanged,
)

__all__ = ["Header", "appended_with", "current_header", "earlier_headers", "names_in_header"]

_T = TypeVar("_T")


@attrs.frozen
class Header:
    """What the header says: people as shown (their recorded name, else their id)."""

    title: str
    severity: str
    declared_at: datetime
    reporter: str
    commander: str | None = None


def current_header(incident: Incident) -> Header:
    """The header of ``incident`` as it is now."""
    commander = incident.commander
    return Header(
        title=incident.title,
        severity=incident.severity,
        declared_at=incident.declared_at,
        reporter=incident.person_name(incident.reporter),
        commander=incident.person_name(commander) if commander else None,
    )


def names_in_header(incident: Incident) -> frozenset[str]:
    """The people the header names (by id): the reporter and the commander, if any."""
    return frozenset(p for p in (incident.reporter, incident.commander) if p)


def earlier_headers(incident: Incident, history: Iterable[RecordedEvent]) -> list[Header]:
    """Every header the incident may have had: each severity it had, each way its reporter and
    its commanders were shown (the id, then each name recorded), and none or any commander.

    Some combinations never happened; that is harmless, since a line reading as one of them was
    still written by a plugin rather than by people.
    """
    events = [recorded.data for recorded in history]
    severities = _unique(
        [
            *(e.severity for e in events if isinstance(e, IncidentCreated)),
            *(
                s
                for e in events
                if isinstance(e, SeverityChanged)
                for s in (e.previous, e.severity)
            ),
            incident.severity,
        ]
    )
    commanders = _unique(
        [
            *(e.commander for e in events if isinstance(e, CommanderAssigned)),
            *([incident.commander] if incident.commander else []),
        ]
    )
    reporters = _shown_as(incident, incident.reporter, events)
    shown_commanders: list[str | None] = [None]
    for commander in commanders:
        shown_commanders += _shown_as(incident, commander, events)
    return [
        Header(incident.title, severity, incident.declared_at, reporter, commander)
        for severity, reporter, commander in itertools.product(
            severities, reporters, _unique(shown_commanders)
        )
    ]


def _shown_as(incident: Incident, person: str, events: Sequence[Event]) -> list[str]:
    named = [e.name for e in events if isinstance(e, PersonNamed) and e.person == person]
    return _unique([person, *named, incident.person_name(person)])


def _unique(values: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(values))


def appended_with(event: RecordedEvent, history: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """The events of ``history`` appended together with ``event`` (``event`` included): the run
    of neighbours with its command's idempotency key, actor and time.

    (The log keeps no append id; two commands of one actor without a key at the very same
    microsecond would read as one append.)
    """
    index = next((i for i, e in enumerate(history) if e.position == event.position), None)
    if index is None:
        return [event]
    key = _append_key(event)
    low = high = index
    while low > 0 and _append_key(history[low - 1]) == key:
        low -= 1
    while high + 1 < len(history) and _append_key(history[high + 1]) == key:
        high += 1
    return list(history[low : high + 1])


def _append_key(event: RecordedEvent) -> tuple[str | None, str, datetime]:
    return (event.causation_id, event.actor, event.occurred_at)
