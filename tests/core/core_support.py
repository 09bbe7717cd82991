"""Helpers for the engine tests: a clock to move by hand, recording plugins, log checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa
from firebell.core import (
    Firebell,
    Incident,
    Link,
    PluginSpec,
    RecordedEvent,
    hookimpl,
)
from firebell.core.incident import replay
from firebell.core.schema import deliveries
from firebell.core.store import EventStore

__all__ = [
    "START",
    "Call",
    "FixedClock",
    "Linker",
    "Recorder",
    "assert_log_consistent",
    "delivery_rows",
    "event_types",
]

#: When the tests' incidents happen: a Monday afternoon in June, UTC.
START = datetime(2026, 6, 1, 14, 2, 0, tzinfo=UTC)


class FixedClock:
    """A clock that stands still until a test moves it (thread-safe)."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds``; returns the new time."""
        with self._lock:
            self.now += timedelta(seconds=seconds)
            return self.now


@attrs.frozen
class Call:
    """One hook call a :class:`Recorder` saw."""

    hook: str
    event_type: str
    incident_id: str
    position: int
    attempt: int
    resources: tuple[tuple[str, str, str], ...]


class Recorder:
    """A plugin that records every event it is given, and what the incident had linked then.

    ``fail`` maps an event type to a function deciding, from the attempt number, what to raise
    (or None to succeed); ``after`` becomes its :class:`PluginSpec` ordering.
    """

    def __init__(
        self,
        *,
        after: Sequence[str] = (),
        fail: Mapping[str, Callable[[int], BaseException | None]] | None = None,
        config_class: type | None = None,
    ) -> None:
        self.calls: list[Call] = []
        self.after = tuple(after)
        self.fail = dict(fail or {})
        self.config_class = config_class
        self._lock = threading.Lock()

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        """Ordering and config class as given."""
        return PluginSpec(config_class=self.config_class, after=self.after)

    @hookimpl
    def firebell_event(self, event: RecordedEvent, incident: Incident, attempt: int) -> None:
        """Record the call; raise what ``fail`` says for this event type and attempt."""
        decide = self.fail.get(event.type)
        error = decide(attempt) if decide is not None else None
        with self._lock:
            self.calls.append(
                Call(
                    "firebell_event",
                    event.type,
                    event.incident_id,
                    event.position,
                    attempt,
                    tuple((r.plugin, r.kind, r.external_id) for r in incident.resources),
                )
            )
        if error is not None:
            raise error

    def seen(self, event_type: str | None = None) -> list[Call]:
        """The calls so far (of ``event_type`` when given)."""
        with self._lock:
            return [c for c in self.calls if event_type is None or c.event_type == event_type]


class Linker:
    """A plugin that "opens a channel" for every new incident and returns its Link."""

    def __init__(self, kind: str = "channel") -> None:
        self.kind = kind
        self.created = 0

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        """Return the same link for the same incident, however often it is called."""
        self.created += 1
        return Link(self.kind, f"C-{incident.id}", f"https://chat.example/{incident.id}", "room")


def event_types(firebell: Firebell, incident_id: str) -> list[str]:
    """The incident's event types in log order."""
    return [event.type for event in firebell.store.select_events(incident_id)]


def delivery_rows(store: EventStore) -> list[Any]:
    """Every row of the outbox, by position and plugin."""
    with store.read() as connection:
        return list(
            connection.execute(
                sa.select(deliveries).order_by(deliveries.c.position, deliveries.c.plugin)
            )
        )


def assert_log_consistent(store: EventStore) -> None:
    """The log's invariants: contiguous versions, increasing positions, read model == replay."""
    events = store.select_events()
    positions = [event.position for event in events]
    assert positions == sorted(set(positions)), "positions must strictly increase"
    streams: dict[str, list[RecordedEvent]] = {}
    for event in events:
        streams.setdefault(event.incident_id, []).append(event)
    for incident_id, stream in streams.items():
        versions = [event.version for event in stream]
        assert versions == list(range(1, len(stream) + 1)), (incident_id, versions)
        assert store.get_incident(incident_id) == replay(stream), incident_id
    assert store.count_incidents() == len(streams)


def eventually(condition: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    """Wait until ``condition`` holds (a worker thread's doing), failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)
