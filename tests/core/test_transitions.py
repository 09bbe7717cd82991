"""Every incident command in every state: what is allowed, and the refusals a person can act on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from core_support import FixedClock, assert_log_consistent
from firebell.core import (
    AppendResult,
    CommanderAssigned,
    CommandRefused,
    Engine,
    Firebell,
    IncidentNotFound,
    IncidentState,
    InvalidInput,
    SeverityChanged,
)
from firebell.core.timeline_commands import add_follow_up, complete_follow_up

from firebell.testing.pytest_plugin import MakeFirebell

Command = Callable[[Engine, str], AppendResult]

COMMANDS: dict[str, Command] = {
    "resolve": lambda e, i: e.resolve(i, actor="U_DAN", summary="fixed"),
    "reopen": lambda e, i: e.reopen(i, actor="U_DAN", reason="errors are back"),
    "close": lambda e, i: e.close(i, actor="U_DAN", summary="post-mortem held"),
    "severity": lambda e, i: e.change_severity(i, "SEV0", actor="U_DAN"),
    "update": lambda e, i: e.post_update(i, "Rolled back the deploy", actor="U_DAN"),
    "commander": lambda e, i: e.assign_commander(i, "U_CAROL", actor="U_DAN"),
    "followup": lambda e, i: add_follow_up(e, i, "Alert on 5xx", actor="U_DAN"),
    "done": lambda e, i: complete_follow_up(e, i, 1, actor="U_DAN"),
}

#: What each command appends when allowed.
EVENT_OF = {
    "resolve": "incident.resolved",
    "reopen": "incident.reopened",
    "close": "incident.closed",
    "severity": "incident.severity_changed",
    "update": "incident.status_update_posted",
    "commander": "incident.commander_assigned",
    "followup": "followup.added",
    "done": "followup.done",
}

#: Follow-ups go on after the close: the tasks agreed at the post-mortem meeting are done later.
FOLLOW_UPS = {"followup", "done"}

ALLOWED = {
    IncidentState.OPEN: {"resolve", "severity", "update", "commander", *FOLLOW_UPS},
    IncidentState.RESOLVED: {"reopen", "close", "severity", "update", "commander", *FOLLOW_UPS},
    IncidentState.CLOSED: FOLLOW_UPS,
}

#: The state each allowed command leaves the incident in.
STATE_AFTER = {
    "resolve": IncidentState.RESOLVED,
    "reopen": IncidentState.OPEN,
    "close": IncidentState.CLOSED,
}

#: How the closed-incident refusal words each command, and what it advises.
IF_BACK = "If the problem is back, declare a new incident."
CLOSED_REFUSAL = {
    "resolve": "cannot be resolved. It was resolved before the close; nothing to do.",
    "reopen": f"cannot be reopened. {IF_BACK}",
    "severity": f"cannot be changed. {IF_BACK}",
    "update": f"cannot be updated. {IF_BACK}",
    "commander": f"cannot be changed. {IF_BACK}",
}


def incident_in(
    fb: Firebell, clock: FixedClock, state: IncidentState, *, follow_up: bool = False
) -> str:
    """Declare an incident (14:02), with a follow-up if asked, and resolve it (U_ANA, 14:10)
    and close it (U_BOB, 15:00)."""
    name = fb.engine.declare(title="Checkout failing", reporter="U_REPORTER").incident.id
    if follow_up:
        add_follow_up(fb.engine, name, "Write the runbook", actor="U_REPORTER")
    if state is IncidentState.OPEN:
        return name
    clock.advance(8 * 60)
    fb.engine.resolve(name, actor="U_ANA")
    if state is IncidentState.RESOLVED:
        return name
    clock.advance(50 * 60)
    fb.engine.close(name, actor="U_BOB")
    return name


@pytest.mark.parametrize("state", list(IncidentState), ids=lambda s: s.value)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_in_every_state(
    fb: Firebell, clock: FixedClock, state: IncidentState, command: str
) -> None:
    name = incident_in(fb, clock, state, follow_up=command == "done")
    before = fb.engine.get(name)
    clock.advance(60)

    if command in ALLOWED[state]:
        result = COMMANDS[command](fb.engine, name)
        assert not result.duplicate
        assert [e.type for e in result.events] == [EVENT_OF[command]]
        after = fb.engine.get(name)
        assert after.version == before.version + 1
        assert after.state is STATE_AFTER.get(command, state)
        assert result.events[0].actor == "U_DAN"
        assert result.events[0].occurred_at == clock()
    else:
        with pytest.raises(CommandRefused) as refused:
            COMMANDS[command](fb.engine, name)
        message = str(refused.value)
        assert name in message
        # "Declare a new incident instead" was the advice for closing twice too.
        assert "instead" not in message
        if state is IncidentState.CLOSED and command == "close":
            assert message == f"{name} is already closed, by U_BOB at 2026-06-01 15:00 UTC."
        elif state is IncidentState.CLOSED:
            assert message.startswith(f"{name} is closed (by U_BOB at 2026-06-01 15:00 UTC); ")
            assert message.endswith(f"a closed incident {CLOSED_REFUSAL[command]}")
        elif command == "resolve":
            assert f"{name} is already resolved, by U_ANA at 2026-06-01 14:10 UTC" in message
            assert "Reopen it first" in message
        elif command == "reopen":
            assert f"{name} is still open; there is nothing to reopen" in message
        else:
            assert command == "close"
            assert f"{name} is still open. Resolve it first" in message
        assert fb.engine.get(name) == before, "a refused command changes nothing"
    assert_log_consistent(fb.store)


def test_resolve_records_who_and_when_and_reopen_forgets_it(
    fb: Firebell, clock: FixedClock
) -> None:
    name = incident_in(fb, clock, IncidentState.RESOLVED)
    resolved = fb.engine.get(name)
    assert (resolved.resolved_by, resolved.resolved_at) == ("U_ANA", clock())

    clock.advance(5 * 60)
    fb.engine.reopen(name, actor="U_ANA")
    reopened = fb.engine.get(name)
    assert reopened.state is IncidentState.OPEN
    assert (reopened.resolved_by, reopened.resolved_at) == (None, None)

    clock.advance(30 * 60)  # 14:45
    fb.engine.resolve(name, actor="U_ERIN")
    with pytest.raises(
        CommandRefused, match=rf"{name} is already resolved, by U_ERIN at .*14:45 UTC"
    ):
        fb.engine.resolve(name, actor="U_ANA")

    clock.advance(60)
    fb.engine.close(name, actor="U_ERIN", summary="done")
    closed = fb.engine.get(name)
    assert (closed.state, closed.closed_by, closed.closed_at) == (
        IncidentState.CLOSED,
        "U_ERIN",
        clock(),
    )


def test_no_change_is_refused_naming_the_incident(fb: Firebell, clock: FixedClock) -> None:
    name = incident_in(fb, clock, IncidentState.OPEN)
    with pytest.raises(CommandRefused, match=rf"{name} is already SEV2"):
        fb.engine.change_severity(name, "sev2", actor="U_DAN")
    fb.engine.assign_commander(name, "U_CAROL", actor="U_DAN")
    with pytest.raises(CommandRefused, match=rf"U_CAROL is already the commander of {name}"):
        fb.engine.assign_commander(name, "U_CAROL", actor="U_DAN")
    assert fb.store.count_events() == 2


def test_severity_and_commander_changes_remember_what_was_before(
    fb: Firebell, clock: FixedClock
) -> None:
    name = incident_in(fb, clock, IncidentState.OPEN)
    raised = fb.engine.change_severity(name, "sev0", actor="U_DAN")  # names are case-insensitive
    assert isinstance(raised.events[0].data, SeverityChanged)
    assert (raised.events[0].data.previous, raised.incident.severity) == ("SEV2", "SEV0")
    fb.engine.assign_commander(name, "U_CAROL", actor="U_DAN")
    handed = fb.engine.assign_commander(name, "U_ERIN", actor="U_CAROL")
    assert isinstance(handed.events[0].data, CommanderAssigned)
    assert handed.events[0].data.previous == "U_CAROL"
    assert fb.engine.get(name).commander == "U_ERIN"


def test_bad_input_is_refused_before_anything_is_written(fb: Firebell, clock: FixedClock) -> None:
    name = incident_in(fb, clock, IncidentState.OPEN)
    with pytest.raises(
        InvalidInput, match="Unknown severity 'SEV9'; choose one of SEV0, SEV1, SEV2"
    ):
        fb.engine.change_severity(name, "SEV9", actor="U_DAN")
    with pytest.raises(
        InvalidInput, match=r"The update is empty; say in a few words what changed\.$"
    ):
        fb.engine.post_update(name, " \u200b\n", actor="U_DAN")
    with pytest.raises(
        InvalidInput, match=r"The title is empty; say in a few words what is wrong\.$"
    ):
        fb.engine.declare(title="  ", reporter="U_DAN")
    with pytest.raises(InvalidInput, match="keep it under 150"):
        fb.engine.declare(title="x" * 151, reporter="U_DAN")
    with pytest.raises(InvalidInput, match="Name the new commander"):
        fb.engine.assign_commander(name, "  ", actor="U_DAN")
    assert fb.store.count_events() == 1


def test_unknown_incident_is_named(fb: Firebell) -> None:
    for command in COMMANDS.values():
        with pytest.raises(IncidentNotFound, match="no incident called '20260601-no-such'"):
            command(fb.engine, "20260601-no-such")


def test_an_incident_is_found_by_its_channel_style_name(fb: Firebell, clock: FixedClock) -> None:
    name = incident_in(fb, clock, IncidentState.OPEN)
    assert fb.engine.get(f" INCD-{name.upper()} ").id == name


def test_declare_records_everything_said(fb: Firebell, clock: FixedClock) -> None:
    result = fb.engine.declare(
        title="  Payments down\u202e ",
        description="Card payments fail",
        severity="sev1",
        reporter="U_REPORTER",
        customer_facing=True,
        source="slack",
    )
    incident = result.incident
    assert incident.title == "Payments down", "invisible characters and spaces are cleaned"
    assert (incident.severity, incident.customer_facing, incident.source) == ("SEV1", True, "slack")
    assert (incident.reporter, incident.declared_at, incident.state) == (
        "U_REPORTER",
        clock(),
        IncidentState.OPEN,
    )
    assert result.events[0].version == 1
    assert fb.engine.get(incident.id) == incident


def test_configured_severities_and_permissions(make_firebell: MakeFirebell) -> None:
    fb = make_firebell(
        {
            "firebell": {
                "severities": {"P1": "Down", "P2": "Degraded"},
                "default_severity": "P2",
                "permissions": {"close": ["commander"], "resolve": ["commander", "reporter"]},
            }
        },
        entry_points=False,
    )
    name = fb.engine.declare(title="Search slow", reporter="U_REPORTER").incident.id
    assert fb.engine.get(name).severity == "P2"
    with pytest.raises(InvalidInput, match="choose one of P1, P2"):
        fb.engine.change_severity(name, "SEV0", actor="U_DAN")
    with pytest.raises(CommandRefused, match=rf"You may not resolve {name}: only the commander"):
        fb.engine.resolve(name, actor="U_DAN")
    fb.engine.resolve(name, actor="U_REPORTER")
    with pytest.raises(CommandRefused, match=rf"You may not close {name}"):
        fb.engine.close(name, actor="U_REPORTER")
    fb.engine.close(name, actor="cli:operator")  # people at the command line are not restricted
    assert fb.engine.get(name).state is IncidentState.CLOSED


def test_an_empty_permission_list_leaves_the_action_to_the_command_line(
    make_firebell: MakeFirebell,
) -> None:
    fb = make_firebell({"firebell": {"permissions": {"resolve": []}}}, entry_points=False)
    name = fb.engine.declare(title="Search slow", reporter="U_REPORTER").incident.id

    with pytest.raises(CommandRefused) as refused:
        fb.engine.resolve(name, actor="U_REPORTER")
    fb.engine.resolve(name, actor="cli:operator")

    assert str(refused.value) == (
        f"You may not resolve {name}: [firebell.permissions] in plugins.toml leaves it to "
        "operators at the command line. Ask one of them."
    )
    assert fb.engine.get(name).state is IncidentState.RESOLVED
