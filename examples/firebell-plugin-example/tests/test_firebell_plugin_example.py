"""The example plugin's own tests, written with the fixtures of ``firebell.testing``.

The fixtures come with Firebell (its ``pytest11`` entry point): no conftest needed. The plugin is
found through its ``firebell`` entry point, so these tests need the package installed
(``pip install -e .``), as a user's would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from firebell.core import ConfigError
from firebell_plugin_example import (
    AuditLogConfig,
    firebell_doctor,
    read_audit_log,
    verify_line,
)

from firebell.testing import IncidentLifecycle, PluginContractError, check_plugin_contract
from firebell.testing.pytest_plugin import MakeFirebell

KEY = "correct horse battery staple"


@pytest.fixture
def audit_file(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "audit.jsonl"


@pytest.fixture
def firebell_document(audit_file: Path) -> dict[str, Any]:
    """Enable the plugin for the ``firebell`` fixture, with a signing key."""
    return {"plugins": {"example": {"path": str(audit_file), "signing_key": {"env": "AUDIT_KEY"}}}}


@pytest.fixture
def firebell_environ() -> dict[str, str]:
    return {"AUDIT_KEY": KEY}


def test_every_event_of_a_lifecycle_is_one_signed_line(
    incident_lifecycle: IncidentLifecycle, audit_file: Path
) -> None:
    incident_lifecycle.run()
    incident_lifecycle.assert_delivered()

    records = read_audit_log(audit_file)
    events = incident_lifecycle.events()
    assert [r["position"] for r in records] == [e.position for e in events]
    assert [r["type"] for r in records] == [e.type for e in events]
    assert records[0]["data"]["title"] == "Checkout is failing"
    assert records[-1]["state"] == "closed"
    lines = audit_file.read_text(encoding="utf-8").splitlines()
    assert all(verify_line(line, KEY) for line in lines)


def test_an_edited_line_no_longer_verifies(
    incident_lifecycle: IncidentLifecycle, audit_file: Path
) -> None:
    incident_lifecycle.declare()
    line = audit_file.read_text(encoding="utf-8").splitlines()[0]
    assert verify_line(line, KEY)
    assert not verify_line(line.replace("Checkout is failing", "Nothing happened"), KEY)
    assert not verify_line(line, "another key")


def test_the_incident_links_its_audit_trail(
    incident_lifecycle: IncidentLifecycle, audit_file: Path
) -> None:
    incident = incident_lifecycle.declare()
    resource = incident.resource("audit-log", plugin="example")
    assert resource is not None
    assert resource.external_id == f"{audit_file.resolve()}#{incident.id}"


def test_a_redelivered_event_is_not_written_twice(
    incident_lifecycle: IncidentLifecycle, audit_file: Path
) -> None:
    incident = incident_lifecycle.declare()
    firebell = incident_lifecycle.firebell
    created = incident_lifecycle.events()[0]
    arguments = {"event": created, "incident": incident, "settings": firebell.settings}
    for attempt in (2, 3):
        firebell.host.call("example", "firebell_event", {**arguments, "attempt": attempt})
    assert [r["position"] for r in read_audit_log(audit_file)].count(created.position) == 1


def test_only_the_chosen_events_are_written(make_firebell: MakeFirebell, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    table = {"path": str(path), "events": ["incident.resolved"], "include_data": False}
    firebell = make_firebell({"plugins": {"example": table}})
    IncidentLifecycle(firebell).run(("declare", "update", "resolve"))
    records = read_audit_log(path)
    assert [r["type"] for r in records] == ["incident.resolved"]
    assert "data" not in records[0] and "signature" not in records[0]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"events": ["incident.exploded"]}, "'incident.exploded' is not an event type"),
        ({"include_data": "no"}, "include_data"),
        ({"colour": "red"}, "colour"),
        ({"signing_key": "plain text"}, 'key = { env = "VARIABLE" }'),
        ({"path": ""}, "path: give the file"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(
    make_firebell: MakeFirebell, table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        make_firebell({"plugins": {"example": table}})
    assert "[plugins.example]" in str(refused.value)
    assert message in str(refused.value)


def test_doctor_accepts_a_writable_path_and_names_an_unwritable_one(tmp_path: Path) -> None:
    assert firebell_doctor(AuditLogConfig(path=str(tmp_path / "new" / "audit.jsonl"))) == []
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "audit.jsonl").write_text("")
    (locked / "audit.jsonl").chmod(0o400)
    try:
        problems = firebell_doctor(AuditLogConfig(path=str(locked / "audit.jsonl")))
    finally:
        (locked / "audit.jsonl").chmod(0o600)
    import os

    if os.geteuid() == 0:  # root may write anything: the check rightly finds no problem
        assert problems == []
    else:
        assert problems and "not writable" in problems[0]


def test_the_plugin_keeps_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    report = check_plugin_contract(
        "example",
        table={"path": str(path)},
        count_effects=lambda: len(read_audit_log(path)),
        directory=tmp_path,
    )
    assert set(report.hooks) >= {"firebell_event", "firebell_incident_created"}
    assert {call.event_type for call in report.calls} >= {
        "incident.created",
        "incident.resolved",
        "incident.closed",
        "incident.integration_failed",
    }


def test_the_contract_check_catches_a_plugin_that_writes_twice(tmp_path: Path) -> None:
    # The same hooks without the look-up of what was written: a redelivery doubles the line.
    import firebell_plugin_example as plugin
    from firebell.core import Incident, RecordedEvent, hookimpl

    path = tmp_path / "audit.jsonl"

    class Careless:
        firebell_plugin_spec = staticmethod(plugin.firebell_plugin_spec)

        @hookimpl
        def firebell_event(
            self, event: RecordedEvent, incident: Incident, config: AuditLogConfig
        ) -> None:
            with open(config.path, "a", encoding="utf-8") as out:
                out.write(plugin._line(event, incident, config) + "\n")

    with pytest.raises(PluginContractError, match="must not create two things outside"):
        check_plugin_contract(
            Careless(),
            name="careless",
            table={"path": str(path)},
            count_effects=lambda: len(read_audit_log(path)),
            directory=tmp_path,
        )
