"""``firebell.testing`` for third-party plugins: the fixtures, the lifecycle driver and the
contract check — including the mistakes the contract check must catch."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from firebell.core import Firebell, Incident, Link, PluginSpec, RecordedEvent, hookimpl

from firebell.testing import (
    FULL_LIFECYCLE,
    IncidentLifecycle,
    PluginContractError,
    check_plugin_contract,
)
from firebell.testing.contract import event_hook_names, hook_names, spec_problems
from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell, slack_environ, slack_plugin_table

# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def firebell_document(tmp_path: Path) -> dict[str, Any]:
    return {"plugins": {"markdown": {"folder": str(tmp_path / "pm")}}}


def test_the_firebell_fixture_uses_the_overridden_document(firebell: Firebell) -> None:
    assert list(firebell.host.enabled) == ["markdown"]
    assert firebell.settings.database_url.startswith("sqlite:///")


def test_incident_lifecycle_runs_every_command_and_delivers(
    incident_lifecycle: IncidentLifecycle, tmp_path: Path
) -> None:
    incident = incident_lifecycle.run()
    incident_lifecycle.assert_delivered()
    assert incident.state.value == "closed"
    types = incident_lifecycle.event_types()
    for expected in (
        "incident.created",
        "incident.commander_assigned",
        "incident.severity_changed",
        "incident.status_update_posted",
        "incident.resolved",
        "incident.reopened",
        "incident.closed",
    ):
        assert expected in types
    written = (tmp_path / "pm" / f"{incident.id}.md").read_text()
    assert "Incident closed" in written or "closed" in written.lower()


def test_lifecycle_steps_are_checked(incident_lifecycle: IncidentLifecycle) -> None:
    with pytest.raises(AssertionError, match="call declare"):
        _ = incident_lifecycle.incident_id
    with pytest.raises(ValueError, match="unknown lifecycle step 'explode'"):
        incident_lifecycle.run(("declare", "explode"))


def test_assert_delivered_names_the_failing_plugin(make_firebell: MakeFirebell) -> None:
    class Broken:
        @hookimpl
        def firebell_incident_created(self) -> None:
            raise RuntimeError("the vendor is down")

    firebell = make_firebell({"plugins": {"broken": {}}}, extra_plugins={"broken": Broken()})
    lifecycle = IncidentLifecycle(firebell)
    lifecycle.declare()
    with pytest.raises(AssertionError, match=r"broken: \d+ pending.*the vendor is down"):
        lifecycle.assert_delivered()


def test_fake_slack_fixture_drives_the_slack_plugin(
    make_firebell: MakeFirebell, fake_slack: FakeSlack
) -> None:
    firebell = make_firebell(
        {"plugins": {"slack": slack_plugin_table(fake_slack)}},
        environ=slack_environ(fake_slack),
        retry_base=0.0,
    )
    incident = IncidentLifecycle(firebell).declare()
    channel = incident.resource("channel", plugin="slack")
    assert channel is not None
    assert channel.external_id in fake_slack.channels


# -- the contract check: what passes ------------------------------------------------------------


def test_the_markdown_plugin_keeps_the_contract(tmp_path: Path) -> None:
    folder = tmp_path / "pm"
    report = check_plugin_contract(
        "markdown",
        table={"folder": str(folder)},
        count_effects=lambda: sorted(p.name for p in folder.glob("*.md")),
        directory=tmp_path,
    )
    assert report.name == "markdown"
    assert {"firebell_incident_created", "firebell_incident_resolved"} <= set(report.hooks)
    created = [c for c in report.calls if c.hook == "firebell_incident_created"]
    assert len(created) == 1 and created[0].first == created[0].second
    assert created[0].effects[1] == created[0].effects[2]  # the second call wrote nothing new


def test_every_event_hook_fires_during_the_contract_check(tmp_path: Path) -> None:
    called: set[str] = set()

    class Everything:
        pass

    for name in event_hook_names():

        def record(event: RecordedEvent, _name: str = name) -> None:
            called.add(_name)

        setattr(Everything, name, staticmethod(hookimpl(record)))
    report = check_plugin_contract(Everything(), name="everything", directory=tmp_path)
    assert called == set(event_hook_names()) == {call.hook for call in report.calls}
    assert set(report.hooks) == set(event_hook_names())
    assert steps_cover_every_command()


def steps_cover_every_command() -> bool:
    return set(FULL_LIFECYCLE) == {
        "declare",
        "assign_commander",
        "name_person",
        "change_severity",
        "update",
        "resolve",
        "reopen",
        "close",
        # the incident's record (core/timeline_commands.py, core/reminders.py)
        "mark_message",
        "note",
        "unmark_message",
        "remind",
        "follow_up",
        "complete_follow_up",
    }


# -- the contract check: what it catches --------------------------------------------------------


class Unmarked:
    @hookimpl
    def firebell_event(self) -> None:
        pass

    def firebell_incident_created(self) -> None:  # forgot @hookimpl
        pass


class Misspelt:
    @hookimpl
    def firebell_incident_creatd(self) -> None:
        pass


class ExtraParameter:
    @hookimpl
    def firebell_incident_created(self, event: RecordedEvent, channel: str) -> None:
        pass


class Wrapper:
    @hookimpl(wrapper=True)
    def firebell_event(self) -> Any:
        return (yield)


class BadSpec:
    @hookimpl
    def firebell_plugin_spec(self) -> object:
        return {"config_class": None}


class NotAttrs:
    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(config_class=dict)


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (Unmarked(), "firebell_incident_created is not marked @hookimpl"),
        (Misspelt(), "firebell_incident_creatd is not a Firebell hook (misspelt?)"),
        (ExtraParameter(), "'channel'"),
        (Wrapper(), "firebell_event is a wrapper"),
        (BadSpec(), "firebell_plugin_spec returned {'config_class': None}"),
        (NotAttrs(), "is not an attrs class"),
    ],
)
def test_spec_mistakes_are_named(plugin: object, message: str, tmp_path: Path) -> None:
    with pytest.raises(PluginContractError) as caught:
        check_plugin_contract(plugin, name="mistaken", directory=tmp_path)
    assert message in str(caught.value)
    assert str(caught.value).startswith("plugin 'mistaken' breaks the Firebell plugin contract:")


class Newer:
    """A plugin that implements a hook of a newer Firebell, marked optional on purpose."""

    @hookimpl(optionalhook=True)
    def firebell_incident_archived(self) -> None:
        pass


def test_a_hook_marked_optional_is_no_misspelling() -> None:
    assert spec_problems(Newer(), "newer") == []
    [problem] = spec_problems(Misspelt(), "misspelt")
    assert problem == (
        "firebell_incident_creatd is not a Firebell hook (misspelt?), so it is never called; "
        "did you mean firebell_incident_created?"
    )


def test_spec_problems_of_a_good_plugin_are_none() -> None:
    from firebell.plugins import markdown

    assert spec_problems(markdown, "markdown") == []
    assert "firebell_doctor" in hook_names() and "firebell_doctor" not in event_hook_names()


def test_a_second_thing_created_on_redelivery_is_caught(tmp_path: Path) -> None:
    counter = itertools.count(1)
    made: list[int] = []

    class Doubling:
        @hookimpl
        def firebell_incident_created(self, incident: Incident) -> Link:
            number = next(counter)  # a new channel on every call: no look-up first
            made.append(number)
            return Link("channel", f"C{number}", None, incident.id)

    with pytest.raises(PluginContractError) as caught:
        check_plugin_contract(Doubling(), name="doubling", directory=tmp_path)
    text = str(caught.value)
    assert "firebell_incident_created on incident.created" in text
    assert "external_id='C1'" in text and "external_id='C2'" in text
    assert "must not create a second thing outside" in text

    made.clear()
    with pytest.raises(PluginContractError, match="count_effects"):
        check_plugin_contract(
            Doubling(), name="doubling", directory=tmp_path, count_effects=lambda: len(made)
        )


def test_a_plugin_failing_on_redelivery_is_caught(tmp_path: Path) -> None:
    class NameTaken:
        def __init__(self) -> None:
            self.names: set[str] = set()

        @hookimpl
        def firebell_incident_created(self, incident: Incident) -> None:
            if incident.id in self.names:
                raise RuntimeError("name_taken")
            self.names.add(incident.id)

    with pytest.raises(PluginContractError, match="repeated call raised RuntimeError: name_taken"):
        check_plugin_contract(NameTaken(), name="taken", directory=tmp_path)


def test_a_plugin_whose_deliveries_fail_is_reported(tmp_path: Path) -> None:
    class Down:
        @hookimpl
        def firebell_incident_resolved(self) -> None:
            from firebell.core import PermanentPluginError

            raise PermanentPluginError("401 from the vendor")

    with pytest.raises(PluginContractError, match=r"did not all succeed.*401 from the vendor"):
        check_plugin_contract(Down(), name="down", directory=tmp_path)


def test_an_unknown_plugin_name_is_explained() -> None:
    with pytest.raises(PluginContractError, match="pip install the package"):
        check_plugin_contract("no_such_plugin_anywhere")


def test_a_doctor_hook_must_return_lines(tmp_path: Path) -> None:
    class Sloppy:
        @hookimpl
        def firebell_doctor(self) -> str:
            return "everything is fine"

    with pytest.raises(PluginContractError, match="firebell_doctor returned 'everything is fine'"):
        check_plugin_contract(Sloppy(), name="sloppy", directory=tmp_path)

    class Raising:
        @hookimpl
        def firebell_doctor(self) -> list[str]:
            raise ConnectionError("no network")

    with pytest.raises(PluginContractError, match="firebell_doctor raised ConnectionError"):
        check_plugin_contract(Raising(), name="raising", directory=tmp_path)
