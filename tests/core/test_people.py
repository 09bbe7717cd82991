"""People's names in the log: ``person.named`` appended with the commands that bring names,
once per person and again only when the name changed, applied to the incident, and read back
from old read-model rows and logs that have none."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from firebell.core import CommandRefused, Firebell, Person, PersonNamed
from firebell.core.engine import MAX_PERSON_NAME
from firebell.core.incident import Incident, replay
from firebell.core.serialization import converter, dump_event, load_event
from firebell.core.store_appends import incident_row
from firebell.core.timeline_commands import add_follow_up, add_note

NAMED = "person.named"


def declare(fb: Firebell, names: Mapping[str, str] | None = None) -> str:
    return fb.engine.declare(title="Checkout is down", reporter="U0ANA", names=names).incident.id


def types(fb: Firebell, name: str) -> list[str]:
    return [event.type for event in fb.store.select_events(name)]


def test_the_reporters_name_is_recorded_with_the_declaration(fb: Firebell) -> None:
    name = declare(fb, names={"U0ANA": "Ana Lima"})

    assert types(fb, name) == ["incident.created", NAMED]
    [_, named] = fb.store.select_events(name)
    assert named.data == PersonNamed("U0ANA", "Ana Lima")
    assert named.actor == "U0ANA"
    incident = fb.engine.get(name)
    assert incident.people == (Person("U0ANA", "Ana Lima"),)
    assert incident.person_name("U0ANA") == "Ana Lima"
    assert incident.person_name("U0SOMEONE") == "U0SOMEONE"


def test_a_name_is_recorded_once_and_again_only_when_it_changed(fb: Firebell) -> None:
    name = declare(fb, names={"U0ANA": "Ana Lima"})
    fb.engine.post_update(name, "Looking", actor="U0ANA", names={"U0ANA": "Ana Lima"})
    fb.engine.assign_commander(
        name, "U0BEN", actor="U0ANA", names={"U0ANA": "Ana Lima", "U0BEN": "Ben Okafor"}
    )
    fb.engine.resolve(name, actor="U0BEN", names={"U0BEN": "Ben O."})

    assert types(fb, name) == [
        "incident.created",
        NAMED,
        "incident.status_update_posted",
        # The names come first: a hook that reads the history up to its event finds them.
        NAMED,
        "incident.commander_assigned",
        NAMED,
        "incident.resolved",
    ]
    incident = fb.engine.get(name)
    assert incident.names == {"U0ANA": "Ana Lima", "U0BEN": "Ben O."}
    assert incident == replay(fb.store.select_events(name))


def test_empty_names_and_names_that_are_the_id_are_left_out_and_names_are_cleaned(
    fb: Firebell,
) -> None:
    name = declare(
        fb,
        names={
            "U0ANA": "  Ana\n\u200bLima  ",
            "U0BEN": "U0BEN",
            "U0CY": " \t",
            "": "Nobody",
            "U0LONG": "x" * (MAX_PERSON_NAME + 50),
        },
    )

    incident = fb.engine.get(name)
    assert incident.names == {"U0ANA": "Ana Lima", "U0LONG": "x" * MAX_PERSON_NAME}


def test_a_refused_command_records_no_name(fb: Firebell) -> None:
    name = declare(fb)
    fb.engine.resolve(name, actor="U0ANA")
    before = types(fb, name)

    with pytest.raises(CommandRefused):
        fb.engine.resolve(name, actor="U0BEN", names={"U0BEN": "Ben Okafor"})

    assert types(fb, name) == before
    assert fb.engine.get(name).people == ()


def test_a_repeated_command_records_its_names_once(fb: Firebell) -> None:
    name = declare(fb)
    for _ in range(2):
        fb.engine.post_update(
            name, "Looking", actor="U0BEN", idempotency_key="k1", names={"U0BEN": "Ben Okafor"}
        )

    assert types(fb, name).count(NAMED) == 1


def test_the_record_commands_take_names_too(fb: Firebell) -> None:
    name = declare(fb)
    add_note(fb.engine, name, "Rolled back", actor="U0ANA", names={"U0ANA": "Ana Lima"})
    add_follow_up(
        fb.engine,
        name,
        "Add an alert",
        actor="U0ANA",
        owner="U0BEN",
        names={"U0ANA": "Ana Lima", "U0BEN": "Ben Okafor"},
    )

    assert fb.engine.get(name).names == {"U0ANA": "Ana Lima", "U0BEN": "Ben Okafor"}
    assert types(fb, name).count(NAMED) == 2


def test_a_read_model_row_from_before_names_loads_without_people(fb: Firebell) -> None:
    name = declare(fb, names={"U0ANA": "Ana Lima"})
    row = json.loads(incident_row(fb.engine.get(name))["data"])
    del row["people"]

    old = converter.structure(row, Incident)

    assert old.people == ()
    assert old.person_name("U0ANA") == "U0ANA"


def test_the_event_is_stored_as_plain_json_at_schema_version_1() -> None:
    event = PersonNamed("U0ANA", "Ana Lima")

    assert PersonNamed.schema_version == 1
    assert json.loads(dump_event(event)) == {"name": "Ana Lima", "person": "U0ANA"}
    assert load_event(NAMED, 1, '{"name":"Ana Lima","person":"U0ANA"}') == event


def test_a_rebuild_gives_the_people_the_appends_gave(fb: Firebell) -> None:
    name = declare(fb, names={"U0ANA": "Ana Lima"})
    fb.engine.assign_commander(name, "U0BEN", actor="U0ANA", names={"U0BEN": "Ben Okafor"})
    fb.engine.assign_commander(name, "U0ANA", actor="U0BEN", names={"U0BEN": "Ben O."})
    appended = fb.engine.get(name)

    fb.store.rebuild_read_model()

    assert fb.engine.get(name) == appended
    assert appended.people == (Person("U0ANA", "Ana Lima"), Person("U0BEN", "Ben O."))
