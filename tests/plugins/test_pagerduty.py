"""The PagerDuty plugin, driven through the engine against the fake PagerDuty over HTTPS.

Every test uses the real ``pagerduty`` 7.x clients (the plugin builds them); the fake serves
REST API v2 and Events API v2 with a trustme certificate that ``ca_bundle`` makes the plugin trust.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from firebell.core import (
    Incident,
    IntegrationFailed,
    IntegrationRecovered,
    IntegrationSkipped,
    Link,
    RecordedEvent,
    hookimpl,
)
from firebell.core.runtime import Firebell
from firebell.core.schema import deliveries as deliveries_table

from firebell.testing.fake_http import Fault
from firebell.testing.fake_pagerduty import FakePagerDuty
from firebell.testing.pytest_plugin import MakeFirebell

ENVIRON = {
    "PAGERDUTY_API_KEY": FakePagerDuty.API_KEY,
    "PAGERDUTY_ROUTING_KEY": FakePagerDuty.ROUTING_KEY,
}
CREATE = r"^/incidents$"
CHANNEL_URL = "https://example.slack.com/archives/C0INCIDENT"


class Clock:
    """A clock the test moves by hand, so that retries come due only when the test says."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ChannelPlugin:
    """Stands in for the Slack plugin: links an incident channel on created."""

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        return Link("channel", "C0INCIDENT", CHANNEL_URL, f"#incd-{incident.id}")


class Recorder:
    """Another plugin, to show that PagerDuty's failures do not reach it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def firebell_event(self, event: RecordedEvent) -> None:
        self.seen.append(event.type)


@pytest.fixture
def fake() -> Iterator[FakePagerDuty]:
    with FakePagerDuty() as service:
        yield service


@pytest.fixture
def ca_bundle(fake: FakePagerDuty, tmp_path: Path) -> Path:
    return fake.write_ca_bundle(tmp_path / "fake-pagerduty-ca.pem")


@pytest.fixture
def document(fake: FakePagerDuty, ca_bundle: Path) -> Any:
    """``document(**options)``: a plugins.toml with the PagerDuty plugin pointed at the fake."""

    def make(**options: Any) -> dict[str, Any]:
        events_mode = options.get("mode") == "events"
        table: dict[str, Any] = {
            "api_url": fake.url,
            "ca_bundle": str(ca_bundle),
            "timeout": 5.0,
        }
        if events_mode:
            table["routing_key"] = {"env": "PAGERDUTY_ROUTING_KEY"}
        else:
            table |= {
                "api_key": {"env": "PAGERDUTY_API_KEY"},
                "service_id": FakePagerDuty.SERVICE_ID,
                "escalation_policy_id": FakePagerDuty.ESCALATION_POLICY_ID,
                "requester_email": FakePagerDuty.USER_EMAIL,
            }
        table |= options
        return {"plugins": {"pagerduty": table}}

    return make


def declare(firebell: Firebell, **options: Any) -> str:
    fields: dict[str, Any] = {
        "title": "Checkout is down",
        "reporter": "U123",
        "description": "5xx on /checkout since the 14:00 deploy.",
        "severity": "SEV1",
        **options,
    }
    return firebell.engine.declare(**fields).incident.id


def paged(firebell: Firebell, incident_id: str) -> Any:
    """The pager-incident resource the plugin linked, or None."""
    return firebell.engine.get(incident_id).resource("pager-incident", plugin="pagerduty")


def deliveries(firebell: Firebell) -> tuple[int, int, int, str | None]:
    """(pending, failed, done, last_error) of the pagerduty plugin."""
    backlog = firebell.deliverer.outbox.backlog()["pagerduty"]
    return backlog.pending, backlog.failed, backlog.done, backlog.last_error


def delivery(firebell: Firebell, event_type: str = "incident.created") -> tuple[str, int, str]:
    """(status, attempts, last_error) of the plugin's delivery of the first ``event_type``."""
    query = (
        sa.select(
            deliveries_table.c.status, deliveries_table.c.attempts, deliveries_table.c.last_error
        )
        .where(
            deliveries_table.c.plugin == "pagerduty",
            deliveries_table.c.event_type == event_type,
        )
        .order_by(deliveries_table.c.position)
    )
    with firebell.store.read() as connection:
        status, attempts, error = connection.execute(query).first() or ("missing", 0, None)
    return status, attempts, error or ""


def events_of(firebell: Firebell, incident_id: str, kind: type) -> list[Any]:
    return [e.data for e in firebell.store.select_events(incident_id) if isinstance(e.data, kind)]


# -- created -----------------------------------------------------------------------------------


def test_declaring_opens_a_pagerduty_incident_and_links_it(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    table = document(after=["chat"])
    table["plugins"]["chat"] = {}
    firebell = make_firebell(table, environ=ENVIRON, extra_plugins={"chat": ChannelPlugin()})
    incident_id = declare(firebell)
    firebell.deliverer.drain()

    [created] = fake.incidents
    assert created["title"] == f"{incident_id} (Checkout is down)"
    assert created["incident_key"] == incident_id
    assert created["urgency"] == "high"
    assert created["service"]["id"] == FakePagerDuty.SERVICE_ID
    assert created["escalation_policy"]["id"] == FakePagerDuty.ESCALATION_POLICY_ID
    details = created["body"]["details"]
    assert "5xx on /checkout since the 14:00 deploy." in details
    assert CHANNEL_URL in details
    assert "Severity: SEV1" in details
    [post] = fake.calls_to(CREATE)
    assert post.request.method == "POST"
    assert post.request.header("from") == FakePagerDuty.USER_EMAIL

    resource = paged(firebell, incident_id)
    assert resource.external_id == created["id"]
    assert resource.url == created["html_url"]
    assert resource.title == f"PagerDuty #{created['incident_number']}"
    assert deliveries(firebell)[:3] == (0, 0, 3)  # created, then the two links


def test_urgency_follows_the_severity_mapping(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(urgency={"SEV0": "low"}), environ=ENVIRON)
    low_by_default = declare(firebell, severity="SEV2")
    overridden = declare(firebell, severity="SEV0")
    high_by_default = declare(firebell, severity="SEV1")
    firebell.deliverer.drain()

    urgency = {i["incident_key"]: i["urgency"] for i in fake.incidents}
    assert urgency == {low_by_default: "low", overridden: "low", high_by_default: "high"}


def test_severities_outside_the_filter_are_not_paged_until_raised_into_it(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(severities=["SEV0", "SEV1"]), environ=ENVIRON)
    incident_id = declare(firebell, severity="SEV2")
    firebell.deliverer.drain()

    assert fake.calls == []
    assert paged(firebell, incident_id) is None
    assert deliveries(firebell)[:3] == (0, 0, 1)

    firebell.engine.change_severity(incident_id, "SEV1", actor="U123")
    firebell.deliverer.drain()
    [created] = fake.incidents
    assert created["incident_key"] == incident_id
    assert created["urgency"] == "high"
    assert paged(firebell, incident_id).external_id == created["id"]


def test_lowering_the_severity_lowers_the_urgency(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON)
    incident_id = declare(firebell, severity="SEV0")
    firebell.deliverer.drain()
    firebell.engine.change_severity(incident_id, "SEV1", actor="U123")  # high -> high: no call
    firebell.deliverer.drain()
    assert fake.calls_to(r"^/incidents/PI\d+$") == []

    firebell.engine.change_severity(incident_id, "SEV2", actor="U123")
    firebell.deliverer.drain()
    [pd] = fake.incidents
    assert pd["urgency"] == "low"
    assert [c.request.method for c in fake.calls_to(r"^/incidents/PI\d+$")] == ["PUT"]


# -- resolved, reopened, closed ----------------------------------------------------------------


def test_resolving_resolves_the_pagerduty_incident(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()

    [pd] = fake.incidents
    assert pd["status"] == "resolved"
    [put] = fake.calls_to(r"^/incidents/PI\d+$")
    assert put.request.header("from") == FakePagerDuty.USER_EMAIL

    firebell.engine.close(incident_id, actor="U123")
    calls = len(fake.calls)
    firebell.deliverer.drain()
    assert len(fake.calls) == calls  # closing asks nothing more of PagerDuty
    assert deliveries(firebell)[:2] == (0, 0)


def test_an_incident_resolved_in_pagerduty_first_resolves_quietly(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    fake.set_incident_status(fake.incidents[0]["id"], "resolved")

    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()
    assert deliveries(firebell)[:2] == (0, 0)
    assert events_of(firebell, incident_id, IntegrationFailed) == []


def test_resolve_on_resolved_false_leaves_pagerduty_alone(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(resolve_on_resolved=False), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()
    assert fake.incidents[0]["status"] == "triggered"

    # Reopened while the PagerDuty incident is still open: responders are on it already.
    firebell.engine.reopen(incident_id, actor="U123")
    firebell.deliverer.drain()
    assert len(fake.incidents) == 1
    assert deliveries(firebell)[:2] == (0, 0)


def test_reopening_pages_again_with_a_new_incident(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()
    reopened = firebell.engine.reopen(incident_id, actor="U123", reason="errors are back")
    firebell.deliverer.drain()

    first, second = fake.incidents
    assert first["status"] == "resolved"
    assert second["status"] == "triggered"
    assert second["incident_key"] == f"{incident_id}:reopen:{reopened.events[0].position}"
    assert second["title"] == first["title"]
    assert paged(firebell, incident_id).external_id == second["id"]

    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()
    assert fake.incident(second["id"])["status"] == "resolved"
    assert deliveries(firebell)[:2] == (0, 0)


# -- status updates as notes -------------------------------------------------------------------


def test_status_updates_become_notes_once(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(notes_for_updates=True), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    pd_id = fake.incidents[0]["id"]
    first = firebell.engine.post_update(incident_id, "Rolled back the deploy", actor="U123")
    firebell.deliverer.drain()
    [note] = fake.notes(pd_id)
    expected = (
        f"Rolled back the deploy\n\n— U123 in Firebell ({incident_id}, "
        f"update {first.events[0].position})"
    )
    assert note["content"] == expected
    assert note["user"]["id"] == FakePagerDuty.USER_ID  # written as the requester

    # A repeated delivery (the note was written, then Firebell crashed before recording it):
    # the plugin sees the note is there and does not write it twice.
    second = firebell.engine.post_update(incident_id, "Errors back to normal", actor="U123")
    content = (
        f"Errors back to normal\n\n— U123 in Firebell ({incident_id}, "
        f"update {second.events[0].position})"
    )
    with fake.rest_client() as client:
        client.rpost(f"incidents/{pd_id}/notes", json={"content": content})
    firebell.deliverer.drain()
    assert [n["content"] for n in fake.notes(pd_id)] == [expected, content]


def test_notes_are_off_by_default(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    firebell.engine.post_update(incident_id, "Rolled back the deploy", actor="U123")
    firebell.deliverer.drain()
    assert fake.notes(fake.incidents[0]["id"]) == []
    assert fake.calls_to("/notes") == []


# -- events mode -------------------------------------------------------------------------------


def test_events_mode_triggers_and_resolves_by_dedup_key(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(mode="events"), environ=ENVIRON)
    incident_id = declare(firebell, severity="SEV2")
    firebell.deliverer.drain()

    [trigger] = fake.events
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == incident_id
    assert trigger["routing_key"] == FakePagerDuty.ROUTING_KEY
    payload = trigger["payload"]
    assert payload["summary"] == f"{incident_id} (Checkout is down)"
    assert payload["source"] == "firebell"
    assert payload["severity"] == "warning"  # SEV2 is low urgency
    assert payload["custom_details"]["description"] == "5xx on /checkout since the 14:00 deploy."
    resource = paged(firebell, incident_id)
    assert (resource.external_id, resource.url) == (incident_id, None)
    assert fake.calls_to(r"^/incidents") == []  # no REST call in events mode

    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()
    assert [(e["event_action"], e["dedup_key"]) for e in fake.events[1:]] == [
        ("resolve", incident_id)
    ]
    assert fake.incidents[0]["status"] == "resolved"

    firebell.engine.reopen(incident_id, actor="U123")
    firebell.deliverer.drain()
    assert [(e["event_action"], e["dedup_key"]) for e in fake.events[2:]] == [
        ("trigger", incident_id)
    ]
    assert [i["status"] for i in fake.incidents] == ["resolved", "triggered"]
    links = [r for r in firebell.engine.get(incident_id).resources if r.plugin == "pagerduty"]
    assert len(links) == 1
    assert deliveries(firebell)[:2] == (0, 0)


def test_events_mode_with_an_unknown_routing_key_is_parked(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    environ = {**ENVIRON, "PAGERDUTY_ROUTING_KEY": "X" * 32}
    firebell = make_firebell(document(mode="events"), environ=environ)
    declare(firebell)
    firebell.deliverer.drain()

    pending, failed, _, error = deliveries(firebell)
    assert (pending, failed) == (0, 1)
    assert error is not None
    assert "routing key" in error
    assert "PAGERDUTY_ROUTING_KEY" in error
    assert "X" * 32 not in error


# -- idempotency -------------------------------------------------------------------------------


def test_a_retry_after_a_crash_between_call_and_record_pages_once(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON)
    incident_id = declare(firebell)
    # The first delivery opened the PagerDuty incident, then the process died before recording.
    with fake.rest_client() as client:
        before = client.rpost(
            "incidents",
            json={
                "type": "incident",
                "title": f"{incident_id} (Checkout is down)",
                "service": {"id": FakePagerDuty.SERVICE_ID, "type": "service_reference"},
                "incident_key": incident_id,
            },
        )
    firebell.deliverer.drain()

    assert len(fake.incidents) == 1
    assert [c.status for c in fake.calls_to(CREATE) if c.request.method == "POST"] == [201, 400]
    assert paged(firebell, incident_id).external_id == before["id"]
    assert deliveries(firebell)[:2] == (0, 0)


def test_a_timed_out_create_that_pagerduty_finished_is_found_on_the_retry(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    clock = Clock()
    firebell = make_firebell(document(timeout=0.3), environ=ENVIRON, clock=clock)
    incident_id = declare(firebell)
    fake.delay = 1.0  # slower than the timeout; the fake still creates the incident afterwards
    firebell.deliverer.drain()

    status, attempts, error = delivery(firebell)
    assert (status, attempts) == ("pending", 1)
    assert "did not answer within 0.3 s" in error
    deadline = time.monotonic() + 5
    while not fake.incidents and time.monotonic() < deadline:
        time.sleep(0.05)
    [created] = fake.incidents
    # A responder resolved it in PagerDuty meanwhile: its key no longer blocks a second one,
    # so the retry must look before it creates.
    fake.set_incident_status(created["id"], "resolved")
    fake.delay = 0.0
    clock.advance(600)
    firebell.deliverer.drain()

    assert len(fake.incidents) == 1
    assert paged(firebell, incident_id).external_id == created["id"]
    assert deliveries(firebell)[:2] == (0, 0)
    assert len(events_of(firebell, incident_id, IntegrationRecovered)) == 1


# -- vendor errors -----------------------------------------------------------------------------


def test_a_refused_api_key_parks_the_delivery_without_touching_other_plugins(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    recorder = Recorder()
    table = document()
    table["plugins"]["recorder"] = {}
    environ = {**ENVIRON, "PAGERDUTY_API_KEY": "u+wrong-key-1234"}
    firebell = make_firebell(table, environ=environ, extra_plugins={"recorder": recorder})
    incident_id = declare(firebell)
    firebell.deliverer.drain()

    pending, failed, _, error = deliveries(firebell)
    assert (pending, failed) == (0, 1)
    assert error is not None
    assert "the PagerDuty API key was refused" in error
    assert "set PAGERDUTY_API_KEY to a valid REST API key" in error
    assert "then run `firebell retry --plugin pagerduty`" in error
    assert "wrong-key" not in error and "1234" not in error
    assert len(fake.calls_to(CREATE)) == 1  # never retried
    [failure] = events_of(firebell, incident_id, IntegrationFailed)
    assert (failure.plugin, failure.will_retry) == ("pagerduty", False)
    assert "incident.created" in recorder.seen
    assert "incident.integration_failed" in recorder.seen
    recorder_backlog = firebell.deliverer.outbox.backlog()["recorder"]
    assert (recorder_backlog.failed, recorder_backlog.pending) == (0, 0)


def test_forbidden_is_parked_with_what_to_fix(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON)
    declare(firebell)
    forbidden = Fault(status=403, body={"error": {"message": "Access Denied", "code": 2010}})
    fake.fail_next(CREATE, forbidden)
    firebell.deliverer.drain()

    _, failed, _, error = deliveries(firebell)
    assert failed == 1
    assert error is not None
    assert "403 Forbidden" in error
    assert "full-access" in error


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"service_id": "PNOSUCH"}, "service_id = 'PNOSUCH' is not a PagerDuty service"),
        (
            {"escalation_policy_id": "PNOSUCH"},
            "escalation_policy_id = 'PNOSUCH' is not a PagerDuty escalation policy",
        ),
        ({"requester_email": "nobody@example.com"}, "Set requester_email"),
    ],
)
def test_unknown_ids_are_parked_naming_the_key(
    make_firebell: MakeFirebell,
    fake: FakePagerDuty,
    document: Any,
    options: dict[str, str],
    named: str,
) -> None:
    firebell = make_firebell(document(**options), environ=ENVIRON)
    declare(firebell)
    firebell.deliverer.drain()

    pending, failed, _, error = deliveries(firebell)
    assert (pending, failed) == (0, 1)
    assert error is not None
    assert named in error
    assert fake.incidents == []


def test_a_server_error_is_retried_until_it_passes(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON, retry_base=0.0)
    incident_id = declare(firebell)
    fake.fail_next(CREATE, Fault(status=500), times=2)
    firebell.deliverer.drain()

    # One try per attempt (the outbox does the retrying); a retry looks before it creates.
    calls = [(c.request.method, c.status) for c in fake.calls_to(CREATE)]
    assert calls == [("POST", 500), ("GET", 500), ("GET", 200), ("POST", 201)]
    assert len(fake.incidents) == 1
    assert paged(firebell, incident_id) is not None
    [failure] = events_of(firebell, incident_id, IntegrationFailed)
    assert failure.will_retry
    assert "PagerDuty answered 500" in failure.error
    assert len(events_of(firebell, incident_id, IntegrationRecovered)) == 1


def test_rate_limits_wait_for_retry_after(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    clock = Clock()
    firebell = make_firebell(document(), environ=ENVIRON, clock=clock, retry_base=0.0)
    incident_id = declare(firebell)
    # The client tries a 429 once more by itself (it cannot be told not to), then gives up.
    fake.fail_next(CREATE, fake.rate_limited_fault(retry_after=120), times=2)
    firebell.deliverer.drain()

    status, attempts, error = delivery(firebell)
    assert (status, attempts) == ("pending", 1)
    assert "rate limiting" in error
    assert [c.status for c in fake.calls_to(CREATE)] == [429, 429]

    clock.advance(100)
    assert firebell.deliverer.drain() == 0  # not due before Retry-After has passed
    clock.advance(21)
    firebell.deliverer.drain()
    assert paged(firebell, incident_id) is not None
    assert len(fake.incidents) == 1


def test_one_rate_limited_answer_is_absorbed_by_the_client(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(), environ=ENVIRON)
    incident_id = declare(firebell)
    fake.fail_next(CREATE, fake.rate_limited_fault(retry_after=1))
    firebell.deliverer.drain()
    assert [c.status for c in fake.calls_to(CREATE)] == [429, 201]
    assert paged(firebell, incident_id) is not None
    assert events_of(firebell, incident_id, IntegrationFailed) == []


def test_a_stopped_pagerduty_is_retried_later(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    clock = Clock()
    firebell = make_firebell(document(), environ=ENVIRON, clock=clock)
    declare(firebell)
    url = fake.url
    fake.stop()
    firebell.deliverer.drain()

    status, attempts, error = delivery(firebell)
    assert (status, attempts) == ("pending", 1)
    assert f"could not reach PagerDuty at {url}" in error
    assert "ConnectError" in error


def test_dropped_connections_are_retried_until_pagerduty_is_back(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    clock = Clock()
    firebell = make_firebell(document(), environ=ENVIRON, clock=clock)
    incident_id = declare(firebell)
    with fake.down():
        firebell.deliverer.drain()
        assert delivery(firebell)[:2] == ("pending", 1)
    clock.advance(600)
    firebell.deliverer.drain()
    assert paged(firebell, incident_id) is not None
    assert deliveries(firebell)[:2] == (0, 0)


def test_an_incident_resolved_while_pagerduty_is_down_is_not_paged_nor_called_recovered(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    clock = Clock()
    firebell = make_firebell(document(), environ=ENVIRON, clock=clock)
    incident_id = declare(firebell)
    with fake.down():
        firebell.deliverer.drain()
        assert delivery(firebell)[:2] == ("pending", 1)
        firebell.engine.resolve(incident_id, actor="U123")
        clock.advance(600)
        firebell.deliverer.drain()

    # Nobody is woken for an incident that is over, and PagerDuty was never reached: the
    # failure ends as skipped, not as "works again".
    assert fake.incidents == []
    assert delivery(firebell)[:2] == ("done", 2)
    assert events_of(firebell, incident_id, IntegrationRecovered) == []
    [skipped] = events_of(firebell, incident_id, IntegrationSkipped)
    assert (skipped.plugin, skipped.deliveries) == ("pagerduty", 1)
    assert skipped.reason == "the incident was resolved before PagerDuty could be paged"
    assert firebell.engine.get(incident_id).failing_plugins == ()
    assert deliveries(firebell)[:2] == (0, 0)


def test_a_malformed_answer_is_retried(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    clock = Clock()
    firebell = make_firebell(document(), environ=ENVIRON, clock=clock)
    incident_id = declare(firebell)
    fake.fail_next(CREATE, Fault(status=201, raw=b"<html>upstream error</html>"))
    firebell.deliverer.drain()

    status, attempts, error = delivery(firebell)
    assert (status, attempts) == ("pending", 1)
    assert "malformed body" in error
    clock.advance(600)
    firebell.deliverer.drain()
    assert paged(firebell, incident_id) is not None
    assert len(fake.incidents) == 1


def test_events_mode_server_errors_are_retried(
    make_firebell: MakeFirebell, fake: FakePagerDuty, document: Any
) -> None:
    firebell = make_firebell(document(mode="events"), environ=ENVIRON, retry_base=0.0)
    incident_id = declare(firebell)
    fake.fail_next(r"^/v2/enqueue$", Fault(status=503))
    firebell.deliverer.drain()
    assert [c.status for c in fake.calls_to(r"^/v2/enqueue$")] == [503, 202]
    assert paged(firebell, incident_id) is not None
