"""Firebell's core: events, the incident state machine, the event log, plugins and config.

The core knows nothing of Slack, HTTP or any vendor; adapters drive it, plugins react to it.
"""

from __future__ import annotations

from firebell.core.config import FirebellConfig, Severity, load_config
from firebell.core.engine import Engine
from firebell.core.errors import (
    CommandRefused,
    ConcurrencyConflict,
    ConfigError,
    DatabaseOutOfDate,
    DatabaseUnavailable,
    DatabaseUnusable,
    FirebellError,
    IncidentNotFound,
    InvalidInput,
    NameSpaceExhausted,
    NothingToDo,
    PermanentPluginError,
    RetryLater,
)
from firebell.core.events import (
    CommanderAssigned,
    Event,
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
    event_type,
)
from firebell.core.hookspecs import HOOKSPEC_VERSION, Link, PluginSpec, hookimpl
from firebell.core.incident import (
    FollowUp,
    Incident,
    IncidentState,
    Person,
    Resource,
    TimelineItem,
)
from firebell.core.runtime import Firebell, open_firebell
from firebell.core.secrets import Secret
from firebell.core.store import AppendResult, EventStore
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    ReminderSent,
    TimelineEntryAdded,
    TimelineEntryRemoved,
)

__all__ = [
    "HOOKSPEC_VERSION",
    "AppendResult",
    "CommandRefused",
    "CommanderAssigned",
    "ConcurrencyConflict",
    "ConfigError",
    "DatabaseOutOfDate",
    "DatabaseUnavailable",
    "DatabaseUnusable",
    "Engine",
    "Event",
    "EventStore",
    "Firebell",
    "FirebellConfig",
    "FirebellError",
    "FollowUp",
    "FollowUpAdded",
    "FollowUpDone",
    "Incident",
    "IncidentClosed",
    "IncidentCreated",
    "IncidentNotFound",
    "IncidentReopened",
    "IncidentResolved",
    "IncidentState",
    "IntegrationFailed",
    "IntegrationRecovered",
    "IntegrationSkipped",
    "InvalidInput",
    "Link",
    "NameSpaceExhausted",
    "NothingToDo",
    "PermanentPluginError",
    "Person",
    "PersonNamed",
    "PluginSpec",
    "RecordedEvent",
    "ReminderSent",
    "Resource",
    "ResourceLinked",
    "RetryLater",
    "Secret",
    "Severity",
    "SeverityChanged",
    "StatusUpdatePosted",
    "TimelineEntryAdded",
    "TimelineEntryRemoved",
    "TimelineItem",
    "event_type",
    "hookimpl",
    "load_config",
    "open_firebell",
]
