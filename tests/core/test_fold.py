"""The rebuild's fold (:class:`Fold`) builds exactly the incidents :func:`apply` builds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from firebell.core.events import (
    CommanderAssigned,
    Event,
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
from firebell.core.incident import Fold, Incident, apply
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    ReminderSent,
    TimelineEntryAdded,
    TimelineEntryRemoved,
)

T0 = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)

STREAM: list[Event] = [
    IncidentCreated("a", "Checkout is down", "Payments fail", "SEV2", "U1", True, "slack"),
    StatusUpdatePosted("Looking", False),
    StatusUpdatePosted("Rolled back", True),
    CommanderAssigned("U2"),
    SeverityChanged("SEV2", "SEV1"),
    ResourceLinked("slack", "channel", "C1", "https://slack/C1", "#inc-a"),
    ResourceLinked("notion", "document", "P1"),
    IntegrationFailed("pagerduty", "incident.created", "boom"),
    IntegrationFailed("pagerduty", "incident.created", "boom again"),
    IntegrationFailed("statuspage", "incident.created", "down"),
    IntegrationRecovered("pagerduty", "incident.created", 3),
    TimelineEntryAdded("note:1", "U1", "first", posted_at="2026-06-01T13:55:00+00:00"),
    TimelineEntryAdded("slack:C1:1.2", "U3", "pinned", "1.2", None, "C1", None, "slack"),
    TimelineEntryAdded("note:1", "U1", "first, edited"),
    TimelineEntryRemoved("slack:C1:1.2", "1.2", "C1"),
    FollowUpAdded(1, "Add an alert", "U2"),
    FollowUpAdded(2, "Write the runbook"),
    FollowUpDone(1),
    ReminderSent("status-update", "2026-06-01T14:30:00+00:00", "U2"),
    ReminderSent("status-update", "2026-06-01T15:00:00+00:00"),
    IncidentResolved("fixed"),
    IncidentReopened("back"),
    IncidentResolved("fixed again"),
    IncidentClosed("done"),
]


def _recorded(stream: str, events: list[Event], first_position: int) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            stream,
            version,
            first_position + version,
            T0 + timedelta(minutes=version),
            f"U{version % 3}",
            None,
            data,
        )
        for version, data in enumerate(events, start=1)
    ]


def _applied(log: list[RecordedEvent]) -> dict[str, Incident]:
    states: dict[str, Incident] = {}
    for event in log:
        states[event.incident_id] = apply(states.get(event.incident_id), event)
    return states


def test_fold_builds_the_incidents_apply_builds_after_every_event() -> None:
    short = [IncidentCreated("b", "Slow search", "p99 up", "SEV3", "U9"), IncidentResolved()]
    log = sorted(
        _recorded("a", STREAM, 0) + _recorded("b", short, 1000),
        key=lambda event: (event.version, event.incident_id),
    )
    for end in range(1, len(log) + 1):
        fold = Fold()
        for event in log[:end]:
            fold.add(event)
        assert {i.id: i for i in fold.incidents()} == _applied(log[:end])


def test_fold_refuses_what_apply_refuses() -> None:
    created = _recorded("a", STREAM[:2], 0)
    fold = Fold()
    with pytest.raises(ValueError, match=r"before incident\.created"):
        fold.add(created[1])
    fold.add(created[0])
    with pytest.raises(ValueError, match="created twice"):
        fold.add(created[0])
