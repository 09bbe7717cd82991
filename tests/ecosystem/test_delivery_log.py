"""One structured log line per delivery: plugin, event, incident, outcome and duration."""

from __future__ import annotations

import logging
import re

import pytest
from firebell.core import PermanentPluginError, RetryLater, hookimpl

from firebell.testing import IncidentLifecycle
from firebell.testing.pytest_plugin import MakeFirebell

LINE = re.compile(
    r"^delivery plugin=(?P<plugin>\S+) event=(?P<event>\S+) incident=(?P<incident>\S+) "
    r"position=(?P<position>\d+) attempt=(?P<attempt>\d+) outcome=(?P<outcome>\S+) "
    r"duration_ms=(?P<duration>\d+\.\d)$"
)


class Flaky:
    """Raises ``errors`` in turn on incident.created, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)

    @hookimpl
    def firebell_incident_created(self) -> None:
        if self.errors:
            raise self.errors.pop(0)

    @hookimpl
    def firebell_incident_resolved(self) -> None:
        """A delivery too (an event a plugin has no hook for is done without one)."""


def deliveries(caplog: pytest.LogCaptureFixture) -> list[dict[str, str]]:
    found = []
    for record in caplog.records:
        if record.name == "firebell.delivery" and record.getMessage().startswith("delivery "):
            match = LINE.match(record.getMessage())
            assert match, f"unstructured delivery line: {record.getMessage()!r}"
            assert record.levelno == logging.INFO
            found.append(match.groupdict())
    return found


def test_each_delivery_logs_one_line(
    make_firebell: MakeFirebell, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="firebell.delivery")
    firebell = make_firebell(extra_plugins={"flaky": Flaky()}, document={"plugins": {"flaky": {}}})
    lifecycle = IncidentLifecycle(firebell)
    lifecycle.declare()
    lifecycle.resolve()
    lines = deliveries(caplog)
    events = lifecycle.events()
    assert [(line["event"], line["outcome"]) for line in lines] == [
        (event.type, "done") for event in events
    ]
    assert {line["plugin"] for line in lines} == {"flaky"}
    assert {line["incident"] for line in lines} == {lifecycle.incident_id}
    assert [int(line["position"]) for line in lines] == [event.position for event in events]
    assert all(float(line["duration"]) >= 0 for line in lines)


def test_failures_log_their_outcome_and_attempt(
    make_firebell: MakeFirebell, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="firebell.delivery")
    flaky = Flaky(RetryLater("vendor busy", retry_after=0), PermanentPluginError("bad key"))
    firebell = make_firebell(
        {"plugins": {"flaky": {}}}, extra_plugins={"flaky": flaky}, retry_base=0.0
    )
    lifecycle = IncidentLifecycle(firebell)
    lifecycle.declare()
    created = [line for line in deliveries(caplog) if line["event"] == "incident.created"]
    assert [(line["attempt"], line["outcome"]) for line in created] == [
        ("1", "retry"),
        ("2", "failed"),
    ]
    caplog.clear()
    firebell.deliverer.outbox.requeue_failed(plugin="flaky", now=firebell.engine.clock())
    lifecycle.deliver()
    retried = [line for line in deliveries(caplog) if line["event"] == "incident.created"]
    assert [line["outcome"] for line in retried] == ["done"]
