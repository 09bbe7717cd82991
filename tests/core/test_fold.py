"""The rebuild's fold (:class:`DraftFold`) makes exactly the rows :func:`apply` makes.

The reference is the exact way, as the rebuild went before it had steps: each row decoded by
:func:`load_event` into a :class:`RecordedEvent`, applied by :func:`apply`, and written by the
store's ``incident_row`` (``firebell.core.store_appends``). Rows are given as each database's
driver returns them (SQLite: the time as stored text; PostgreSQL: an aware datetime in the
session's zone), and compared as each driver would be handed them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from firebell.core.events import (
    EVENT_TYPES,
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
from firebell.core.incident import Incident, apply
from firebell.core.rebuild import DraftFold
from firebell.core.rebuild_steps import CREATED_VERSION, STEPS, StoredTimes
from firebell.core.serialization import converter, dump_event, load_event
from firebell.core.store_appends import incident_row
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    ReminderSent,
    TimelineEntryAdded,
    TimelineEntryRemoved,
    write_moment,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

T0 = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
# What psycopg hands back for a timestamptz when the session's zone is not UTC.
SESSION_ZONE = timezone(timedelta(hours=2))


@event_type("test.fold_noted")
@attrs.frozen
class Noted(Event):
    """An event a plugin defined: the rebuild has no step for it."""

    text: str


DIALECTS = [
    pytest.param(sqlite.dialect(), id="sqlite"),
    pytest.param(postgresql.psycopg.dialect(), id="postgres"),
]

STREAM: list[Event] = [
    IncidentCreated("a", "Checkout is down", "Payments fail", "SEV2", "U1", True, "slack"),
    StatusUpdatePosted("Looking", False),
    StatusUpdatePosted("Rolled back", True),
    CommanderAssigned("U2"),
    SeverityChanged("SEV2", "SEV1"),
    ResourceLinked("slack", "channel", "C1", "https://slack/C1", "#inc-a"),
    ResourceLinked("notion", "document", "P1"),
    Noted("a plugin's own event"),
    IntegrationFailed("pagerduty", "incident.created", "boom"),
    IntegrationFailed("pagerduty", "incident.created", "boom again"),
    IntegrationFailed("statuspage", "incident.created", "down"),
    IntegrationRecovered("pagerduty", "incident.created", 3),
    IntegrationFailed("pagerduty", "incident.resolved", "boom"),
    IntegrationSkipped("statuspage", 2, "skipped: statuspage was off when a was closed"),
    TimelineEntryAdded("note:1", "U1", "first", posted_at="2026-06-01T15:55:00+02:00"),
    TimelineEntryAdded("slack:C1:1.2", "U3", "pinned", "1.2", None, "C1", None, "slack"),
    TimelineEntryAdded("note:1", "U1", "first, edited \u00e9\u2603"),
    TimelineEntryRemoved("slack:C1:1.2", "1.2", "C1"),
    FollowUpAdded(1, "Add an alert", "U2"),
    FollowUpAdded(2, "Write the runbook"),
    FollowUpDone(1),
    ReminderSent("update", "2026-06-01T14:30:00+00:00", "U2"),
    ReminderSent("update", "2026-06-01T15:00:00+00:00"),
    ResourceLinked("slack", "channel", "C1", "https://slack/C1-renamed", "#inc-a"),
    PersonNamed("U1", "Ana Lima"),
    PersonNamed("U2", "ben"),
    PersonNamed("U1", "Ana Lima-Souza \u00e9"),
    IncidentResolved("fixed"),
    IncidentReopened("back"),
    IncidentResolved("fixed again"),
    IncidentClosed("done"),
]


def _log(stream: str, events: Sequence[Event], first_position: int) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            stream,
            version,
            first_position + version,
            # Whole seconds and not: SQLite's text and the JSON differ in how they write them.
            T0 + timedelta(minutes=version, microseconds=version % 2 * 1500),
            f"U{version % 3}",
            f"key-{version}" if version % 4 == 0 else None,
            data,
        )
        for version, data in enumerate(events, start=1)
    ]


def _interleaved() -> list[RecordedEvent]:
    short = [IncidentCreated("b", "Slow search", "p99 up", "SEV3", "U9"), IncidentResolved()]
    log = sorted(
        _log("a", STREAM, 0) + _log("b", short, 1000),
        key=lambda event: (event.version, event.incident_id),
    )
    return [attrs.evolve(event, position=number) for number, event in enumerate(log, start=1)]


def _rows(log: Sequence[RecordedEvent], dialect: sa.Dialect) -> list[tuple[Any, ...]]:
    """``log`` as the events table's rows come from ``dialect``'s driver."""
    times = StoredTimes(dialect)
    rows = []
    for event in log:
        stored = times.write(event.occurred_at)
        if isinstance(stored, datetime):
            stored = stored.astimezone(SESSION_ZONE)
        rows.append(
            (
                event.position,
                event.incident_id,
                event.version,
                stored,
                event.actor,
                event.causation_id,
                event.type,
                event.data.schema_version,
                dump_event(event.data),
            )
        )
    return rows


def _exactly(
    rows: Sequence[tuple[Any, ...]], dialect: sa.Dialect
) -> tuple[dict[str, Incident], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The incidents, incidents rows and resources rows of the exact way."""
    times = StoredTimes(dialect)
    states: dict[str, Incident] = {}
    linked: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for position, incident_id, version, at, actor, causation, kind, schema, payload in rows:
        data = load_event(kind, schema, payload)
        recorded = RecordedEvent(
            incident_id, version, position, times.read(at), actor, causation, data
        )
        states[incident_id] = apply(states.get(incident_id), recorded)
        if isinstance(data, ResourceLinked):
            key = (data.kind, data.external_id, data.plugin)
            linked[key] = (*key, incident_id, data.url)
    incident_rows = []
    for incident in states.values():
        row = incident_row(incident)
        incident_rows.append(
            (
                row["id"],
                row["version"],
                row["title"],
                row["severity"],
                row["state"],
                row["commander"],
                times.write(row["declared_at"]),
                times.write(row["updated_at"]),
                row["last_position"],
                row["data"],
            )
        )
    return states, incident_rows, list(linked.values())


def _folded(
    rows: Sequence[tuple[Any, ...]], dialect: sa.Dialect
) -> tuple[dict[str, Incident], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    fold = DraftFold(dialect)
    fold.add(rows)
    states = {incident.id: incident for incident in fold.incidents()}
    return states, fold.incident_rows(), fold.resource_rows()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_fold_makes_the_rows_apply_makes_after_every_event(dialect: sa.Dialect) -> None:
    rows = _rows(_interleaved(), dialect)
    for end in range(1, len(rows) + 1):
        assert _folded(rows[:end], dialect) == _exactly(rows[:end], dialect), rows[end - 1]


def test_every_event_type_of_the_core_has_a_step_for_its_schema_version() -> None:
    core = {
        name: cls for name, cls in EVENT_TYPES.items() if cls.__module__.startswith("firebell.")
    }
    assert "incident.created" in core and "reminder.sent" in core
    missing = [
        name
        for name, cls in core.items()
        if (name, cls.schema_version) not in STEPS
        and not (cls is IncidentCreated and cls.schema_version == CREATED_VERSION)
    ]
    assert missing == []


def _changed(row: tuple[Any, ...], **changes: Any) -> tuple[Any, ...]:
    names = ("position", "incident_id", "version", "at", "actor", "causation", "type", "schema")
    values = dict(zip((*names, "payload"), row, strict=True))
    values.update(changes)
    return tuple(values.values())


def _payload(row: tuple[Any, ...], **fields: Any) -> tuple[Any, ...]:
    return _changed(row, payload=json.dumps({**json.loads(row[8]), **fields}))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_what_the_steps_do_not_read_as_written_goes_the_exact_way(dialect: sa.Dialect) -> None:
    rows = _rows(_interleaved(), dialect)
    by_type: dict[str, int] = {}
    for index, row in enumerate(rows):
        by_type.setdefault(row[6], index)

    def at(kind: str) -> int:
        return by_type[kind]

    # Values cattrs coerces (the steps take only the JSON types dump_event writes), a payload
    # with spaces around it, a stored schema version that is not the class's, a missing field
    # that has a default.
    odd = {
        at("incident.created"): _payload(rows[at("incident.created")], customer_facing=1),
        at("incident.severity_changed"): _payload(
            rows[at("incident.severity_changed")], severity=1
        ),
        at("incident.resource_linked"): _payload(rows[at("incident.resource_linked")], url=5),
        at("incident.integration_recovered"): _payload(
            rows[at("incident.integration_recovered")], attempts="3"
        ),
        at("incident.integration_skipped"): _payload(
            rows[at("incident.integration_skipped")], deliveries=True
        ),
        at("followup.added"): _payload(rows[at("followup.added")], follow_up_id=1.0),
        at("incident.status_update_posted"): _changed(
            rows[at("incident.status_update_posted")],
            payload=" " + rows[at("incident.status_update_posted")][8] + "\n",
        ),
        at("incident.commander_assigned"): _changed(
            rows[at("incident.commander_assigned")], schema=0
        ),
        at("timeline.entry_added"): _changed(
            rows[at("timeline.entry_added")],
            payload=json.dumps(
                {
                    k: v
                    for k, v in json.loads(rows[at("timeline.entry_added")][8]).items()
                    if k != "source"
                }
            ),
        ),
    }
    changed = [odd.get(index, row) for index, row in enumerate(rows)]
    assert changed != rows
    # After every event: a later event that goes the exact way remakes the whole draft.
    for end in range(1, len(changed) + 1):
        assert _folded(changed[:end], dialect) == _exactly(changed[:end], dialect), changed[end - 1]


def _error(call: Any) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as raised:
        call()
    return raised.type, str(raised.value)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_fold_refuses_what_the_exact_way_refuses(dialect: sa.Dialect) -> None:
    rows = _rows(_interleaved(), dialect)
    creation, update = rows[0], next(r for r in rows if r[1] == rows[0][1] and r[2] == 2)
    bad_logs = [
        [update],  # before the creation
        [creation, creation],  # created twice
        [creation, _changed(update, payload="{not json")],
        [creation, _changed(update, payload=update[8] + " and more")],
        [creation, _changed(update, type="test.nobody_defined")],
        [creation, _changed(update, payload="{}")],  # a required field missing
        [
            creation,
            _changed(
                update,
                type="incident.integration_recovered",
                payload='{"attempts":"many","event_type":"incident.created","plugin":"slack"}',
            ),
        ],
        [_changed(creation, payload="[]")],
    ]
    for log in bad_logs:
        assert _error(lambda log=log: _folded(log, dialect)) == _error(
            lambda log=log: _exactly(log, dialect)
        )


def _outcome(fold: Any, rows: Sequence[tuple[Any, ...]], dialect: sa.Dialect) -> Any:
    try:
        return fold(rows, dialect)
    except Exception as error:
        return type(error), str(error)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_field_missing_or_of_another_type_gives_what_the_exact_way_gives(
    dialect: sa.Dialect,
) -> None:
    rows = _rows(_interleaved(), dialect)
    others: list[Any] = [None, 7, 1.5, True, "x", "", [], {}]
    for index, row in enumerate(rows):
        payload = json.loads(row[8])
        variants = [{k: v for k, v in payload.items() if k != field} for field in payload]
        variants += [{**payload, field: other} for field in payload for other in others]
        for variant in variants:
            log = [*rows[:index], _changed(row, payload=json.dumps(variant))]
            assert _outcome(_folded, log, dialect) == _outcome(_exactly, log, dialect), log[-1]


@pytest.mark.parametrize(
    ("dialect", "stored"),
    [
        (sqlite.dialect(), "2026-06-01 14:00:00.000000"),
        (sqlite.dialect(), "2026-06-01 14:00:00.001500"),
        (sqlite.dialect(), "2026-06-01 14:00:00"),
        (sqlite.dialect(), "2026-06-01T14:00:00.250000"),
        (sqlite.dialect(), "2026-06-01 16:00:00.000000+02:00"),
        (postgresql.psycopg.dialect(), T0),
        (postgresql.psycopg.dialect(), (T0 + timedelta(microseconds=7)).astimezone(SESSION_ZONE)),
    ],
)
def test_stored_times_take_the_short_way_to_the_same_values(
    dialect: sa.Dialect, stored: Any
) -> None:
    times = StoredTimes(dialect)

    assert times.to_json(stored) == converter.unstructure(times.read(stored))
    assert times.to_column(stored) == times.write(times.read(stored))
    assert type(times.to_column(stored)) is type(times.write(times.read(stored)))
    if isinstance(stored, datetime):
        assert times.to_column(stored).tzinfo == UTC


# -- generated logs ------------------------------------------------------------------------------

_words = st.text(alphabet="ab\u00e9\u2603 ", max_size=4)
_maybe = st.none() | _words
_moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
_plugins = st.sampled_from(["slack", "pagerduty"])
_EVENTS = st.one_of(
    st.builds(IncidentResolved, _words),
    st.builds(IncidentReopened, _words),
    st.builds(IncidentClosed, _words),
    st.builds(SeverityChanged, _words, st.sampled_from(["SEV1", "SEV2"])),
    st.builds(StatusUpdatePosted, _words, st.booleans()),
    st.builds(CommanderAssigned, st.sampled_from(["U1", "U2"]), _maybe),
    st.builds(
        ResourceLinked, _plugins, st.sampled_from(["channel", "doc"]), _words, _maybe, _maybe
    ),
    st.builds(IntegrationFailed, _plugins, _words, _words, st.booleans()),
    st.builds(IntegrationRecovered, _plugins, _words, st.integers(0, 5)),
    st.builds(IntegrationSkipped, _plugins, st.integers(0, 5), _words),
    st.builds(
        TimelineEntryAdded,
        st.sampled_from(["note:1", "note:2"]),
        _words,
        _words,
        _maybe,
        _maybe,
        _maybe,
        st.none() | st.just("") | _moments.map(write_moment),
        _words,
    ),
    st.builds(TimelineEntryRemoved, st.sampled_from(["note:1", "note:2"]), _maybe, _maybe),
    st.builds(FollowUpAdded, st.integers(1, 3), _words, _maybe),
    st.builds(FollowUpDone, st.integers(1, 3)),
    st.builds(ReminderSent, st.sampled_from(["update", "commander"]), _words, _maybe),
    st.builds(PersonNamed, st.sampled_from(["U1", "U2"]), _words),
    st.builds(Noted, _words),
)


@st.composite
def _logs(draw: st.DrawFn) -> list[RecordedEvent]:
    names = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    pending = {
        name: [
            IncidentCreated(name, draw(_words), draw(_words), "SEV2", "U1", draw(st.booleans())),
            *draw(st.lists(_EVENTS, max_size=12)),
        ]
        for name in names
    }
    log: list[RecordedEvent] = []
    moment = draw(_moments)
    while pending:
        name = draw(st.sampled_from(sorted(pending)))
        data = pending[name].pop(0)
        if not pending[name]:
            del pending[name]
        version = 1 + sum(1 for event in log if event.incident_id == name)
        moment += timedelta(microseconds=draw(st.sampled_from([0, 1, 10**6, 59 * 10**6])))
        log.append(RecordedEvent(name, version, len(log) + 1, moment, "U7", None, data))
    return log


@settings(max_examples=150, deadline=None)
@given(log=_logs(), spaced=st.sets(st.integers(0, 40), max_size=4))
def test_generated_logs_fold_as_apply_folds_them(
    log: list[RecordedEvent], spaced: set[int]
) -> None:
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        rows = _rows(log, dialect)
        # A few payloads with a trailing space go the exact way, between steps.
        rows = [
            _changed(row, payload=row[8] + " ") if index in spaced else row
            for index, row in enumerate(rows)
        ]
        assert _folded(rows, dialect) == _exactly(rows, dialect)
