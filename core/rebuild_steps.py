"""An incident's JSON form as a mutable *draft*, and one *step* per event type that changes it.

For :mod:`firebell.core.rebuild`. A draft holds exactly what the converter makes of an
:class:`~firebell.core.incident.Incident` (the ``data`` of its read-model row), in the same key
order, except that its times are kept as the database returned ``events.occurred_at``
(:class:`StoredTimes` turns them into JSON once, at the end). A step does to a draft, from an
event's decoded JSON payload, what :func:`~firebell.core.incident.apply` does to an incident; the
three fields every event moves (``version``, ``updated_at``, ``last_position``) are the caller's.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from firebell.core.events import (
    EVENT_TYPES,
    CommanderAssigned,
    IncidentClosed,
    IncidentCreated,
    IncidentReopened,
    IncidentResolved,
    IntegrationFailed,
    IntegrationRecovered,
    IntegrationSkipped,
    PersonNamed,
    ResourceLinked,
    SeverityChanged,
    StatusUpdatePosted,
)
from firebell.core.incident import FollowUp, Incident, IncidentState, Reminded, TimelineItem
from firebell.core.schema import events
from firebell.core.serialization import converter
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    ReminderSent,
    TimelineEntryAdded,
    TimelineEntryRemoved,
    parse_moment,
)

__all__ = [
    "CREATED_VERSION",
    "STEPS",
    "TIME_FIELDS",
    "Draft",
    "FoldState",
    "Step",
    "StoredTimes",
    "new_draft",
]

Draft = dict[str, Any]
Payload = dict[str, Any]

#: An incident's fields that hold times (a draft keeps them as stored).
TIME_FIELDS = tuple(
    name
    for name, hint in typing.get_type_hints(Incident).items()
    if hint in (datetime, datetime | None)
)
# A new draft: every field in the order the converter writes them, defaults unstructured.
_TEMPLATE: Draft = {
    field.name: None if field.default is attrs.NOTHING else converter.unstructure(field.default)
    for field in attrs.fields(Incident)
}
_unstructure_time = converter.get_unstructure_hook(datetime)
_fromisoformat = datetime.fromisoformat


class StoredTimes:
    """Times as the driver returns ``events.occurred_at`` (stored) and as an incident keeps them.

    The conversions are SQLAlchemy's for the column (:class:`~firebell.core.schema.UTCDateTime`)
    and the converter's for the JSON; the usual shapes (SQLite's naive UTC text, psycopg's aware
    datetime) take a shorter way to the same values.
    """

    def __init__(self, dialect: sa.Dialect) -> None:
        column_type = events.c.occurred_at.type.dialect_impl(dialect)
        #: An aware UTC datetime from a stored value.
        self.read: Callable[[Any], Any] = column_type.result_processor(dialect, None) or (
            lambda value: value
        )
        #: A stored value from an aware datetime.
        self.write: Callable[[datetime], Any] = column_type.bind_processor(dialect) or (
            lambda value: value
        )
        self._sqlite = dialect.name == "sqlite"
        self._postgres = dialect.name == "postgresql"

    def to_json(self, stored: Any) -> str:
        """What the converter writes for the stored time in an incident's JSON."""
        if self._sqlite and type(stored) is str:
            moment = _fromisoformat(stored)
            if moment.tzinfo is None:
                # SQLite keeps naive UTC; the converter writes the aware time's isoformat().
                return moment.isoformat() + "+00:00"
        elif self._postgres and type(stored) is datetime and stored.tzinfo is not None:
            # psycopg's aware time, which UTCDateTime only moves to UTC.
            return stored.astimezone(UTC).isoformat()
        text: str = _unstructure_time(self.read(stored))
        return text

    def to_column(self, stored: Any) -> Any:
        """The stored time as a column of the incidents table takes it (same type)."""
        if self._sqlite and type(stored) is str:
            moment = _fromisoformat(stored)
            # SQLAlchemy writes naive UTC in this shape: text in it is written as it is.
            if moment.tzinfo is None and moment.isoformat(" ", "microseconds") == stored:
                return stored
        elif self._postgres and type(stored) is datetime and stored.tzinfo is not None:
            return stored.astimezone(UTC)
        return self.write(self.read(stored))


@attrs.define
class FoldState:
    """What steps share beyond their incident's draft."""

    times: StoredTimes
    #: The resources table as the appends leave it: one row per key (kind, external_id,
    #: plugin), the last link wins; rows are (kind, external_id, plugin, incident_id, url).
    linked: dict[tuple[str, str, str], tuple[str, str, str, str, str | None]] = attrs.Factory(dict)


#: A step: ``(draft, payload, stored occurred_at, actor, state) -> taken``. It returns False,
#: having changed nothing, when the payload is not in the shape it reads.
Step = Callable[[Draft, Payload, Any, str, FoldState], bool]


# -- steps ---------------------------------------------------------------------------------------
#
# Each mirrors what apply does for its event (incident.py's _created, _changes and _record) on the
# draft, after the three fields every event moves (set by DraftFold.add). A step takes the payload
# only when each field it reads has the JSON type dump_event writes and each required field is
# there (cattrs would coerce or refuse anything else); otherwise it returns False, before changing
# anything, and the event goes the exact way.


def new_draft(
    incident_id: str, version: int, position: int, at: Any, data: Payload
) -> Draft | None:
    """The draft an ``incident.created`` payload starts, or None when it goes the exact way."""
    title, description = data.get("title"), data.get("description")
    severity, reporter = data.get("severity"), data.get("reporter")
    customer_facing, source = data.get("customer_facing", False), data.get("source", "cli")
    if not (
        "name" in data
        and type(title) is str
        and type(description) is str
        and type(severity) is str
        and type(reporter) is str
        and type(customer_facing) is bool
        and type(source) is str
    ):
        return None
    draft = _TEMPLATE.copy()
    draft.update(
        id=incident_id,
        version=version,
        title=title,
        description=description,
        severity=severity,
        state=IncidentState.OPEN.value,
        reporter=reporter,
        declared_at=at,
        updated_at=at,
        customer_facing=customer_facing,
        source=source,
        last_position=position,
    )
    return draft


def _resolved(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    draft["state"] = IncidentState.RESOLVED.value
    draft["resolved_at"] = at
    draft["resolved_by"] = actor
    return True


def _reopened(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    draft["state"] = IncidentState.OPEN.value
    draft["resolved_at"] = None
    draft["resolved_by"] = None
    draft["reopened_at"] = at
    return True


def _closed(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    draft["state"] = IncidentState.CLOSED.value
    draft["closed_at"] = at
    draft["closed_by"] = actor
    return True


def _severity_changed(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    severity = data.get("severity")
    if not (type(severity) is str and "previous" in data):
        return False
    draft["severity"] = severity
    return True


def _status_update_posted(
    draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState
) -> bool:
    if "text" not in data:
        return False
    draft["last_update_at"] = at
    draft["first_update_at"] = draft["first_update_at"] or at
    return True


def _commander_assigned(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    commander = data.get("commander")
    if type(commander) is not str:
        return False
    draft["commander"] = commander
    return True


def _resource_linked(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    plugin, kind, external_id = data.get("plugin"), data.get("kind"), data.get("external_id")
    url, title = data.get("url"), data.get("title")
    if not (
        type(plugin) is str
        and type(kind) is str
        and type(external_id) is str
        and (url is None or type(url) is str)
        and (title is None or type(title) is str)
    ):
        return False
    resource = {
        "plugin": plugin,
        "kind": kind,
        "external_id": external_id,
        "url": url,
        "title": title,
    }
    draft["resources"] = [*draft["resources"], resource]
    fold.linked[(kind, external_id, plugin)] = (kind, external_id, plugin, draft["id"], url)
    return True


def _integration_failed(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    plugin = data.get("plugin")
    if not (type(plugin) is str and "event_type" in data and "error" in data):
        return False
    failing = draft["failing_plugins"]
    if plugin not in failing:
        draft["failing_plugins"] = [*failing, plugin]
    return True


def _integration_recovered(
    draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState
) -> bool:
    plugin = data.get("plugin")
    if not (type(plugin) is str and "event_type" in data and type(data.get("attempts")) is int):
        return False
    draft["failing_plugins"] = [p for p in draft["failing_plugins"] if p != plugin]
    return True


def _integration_skipped(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    plugin = data.get("plugin")
    if not (type(plugin) is str and type(data.get("deliveries")) is int and "reason" in data):
        return False
    draft["failing_plugins"] = [p for p in draft["failing_plugins"] if p != plugin]
    return True


def _entry_added(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    entry_id, author, text = data.get("entry_id"), data.get("author"), data.get("text")
    message_ts, permalink = data.get("message_ts"), data.get("permalink")
    channel_id, posted_at = data.get("channel_id"), data.get("posted_at")
    source = data.get("source", "note")
    if not (
        type(entry_id) is str
        and type(author) is str
        and type(text) is str
        and (message_ts is None or type(message_ts) is str)
        and (permalink is None or type(permalink) is str)
        and (channel_id is None or type(channel_id) is str)
        and (posted_at is None or type(posted_at) is str)
        and type(source) is str
    ):
        return False
    item = TimelineItem(
        entry_id=entry_id,
        at=parse_moment(posted_at) if posted_at else fold.times.read(at),
        author=author,
        text=text,
        source=source,
        added_by=actor,
        message_ts=message_ts,
        permalink=permalink,
        channel_id=channel_id,
    )
    kept = [e for e in draft["timeline_entries"] if e["entry_id"] != entry_id]
    draft["timeline_entries"] = [*kept, converter.unstructure(item)]
    return True


def _entry_removed(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    entry_id = data.get("entry_id")
    if type(entry_id) is not str:
        return False
    draft["timeline_entries"] = [e for e in draft["timeline_entries"] if e["entry_id"] != entry_id]
    return True


def _follow_up_added(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    number, text, owner = data.get("follow_up_id"), data.get("text"), data.get("owner")
    if not (type(number) is int and type(text) is str and (owner is None or type(owner) is str)):
        return False
    task = FollowUp(number, text, owner, fold.times.read(at), actor)
    kept = [f for f in draft["follow_ups"] if f["id"] != number]
    draft["follow_ups"] = [*kept, converter.unstructure(task)]
    return True


def _follow_up_done(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    number = data.get("follow_up_id")
    if type(number) is not int:
        return False
    done_at = fold.times.to_json(at)
    draft["follow_ups"] = [
        {**f, "done_at": done_at, "done_by": actor} if f["id"] == number else f
        for f in draft["follow_ups"]
    ]
    return True


def _reminder_sent(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    kind = data.get("kind")
    if not (type(kind) is str and "due_at" in data):
        return False
    others = [r for r in draft["reminders"] if r["kind"] != kind]
    draft["reminders"] = [*others, converter.unstructure(Reminded(kind, fold.times.read(at)))]
    return True


def _person_named(draft: Draft, data: Payload, at: Any, actor: str, fold: FoldState) -> bool:
    person, name = data.get("person"), data.get("name")
    if not (type(person) is str and type(name) is str):
        return False
    known = [p for p in draft["people"] if p["id"] != person]
    draft["people"] = [*known, {"id": person, "name": name}]
    return True


# The steps by event class, for the schema version they were written for: an event class whose
# version has moved on since goes the exact way until its step is brought up to date.
_WRITTEN_FOR: list[tuple[type[Any], int, Step]] = [
    (IncidentResolved, 1, _resolved),
    (IncidentReopened, 1, _reopened),
    (IncidentClosed, 1, _closed),
    (SeverityChanged, 1, _severity_changed),
    (StatusUpdatePosted, 1, _status_update_posted),
    (CommanderAssigned, 1, _commander_assigned),
    (ResourceLinked, 1, _resource_linked),
    (IntegrationFailed, 1, _integration_failed),
    (IntegrationRecovered, 1, _integration_recovered),
    (IntegrationSkipped, 1, _integration_skipped),
    (TimelineEntryAdded, 1, _entry_added),
    (TimelineEntryRemoved, 1, _entry_removed),
    (FollowUpAdded, 1, _follow_up_added),
    (FollowUpDone, 1, _follow_up_done),
    (ReminderSent, 1, _reminder_sent),
    (PersonNamed, 1, _person_named),
]
#: The steps by stored event type and schema version.
STEPS: dict[tuple[str, int], Step] = {
    (cls.type, version): step
    for cls, version, step in _WRITTEN_FOR
    if cls.schema_version == version and EVENT_TYPES.get(cls.type) is cls
}
#: The schema version of ``incident.created`` that :func:`new_draft` reads (-1: none).
CREATED_VERSION = 1 if IncidentCreated.schema_version == 1 else -1
