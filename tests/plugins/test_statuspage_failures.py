"""The Statuspage plugin when Statuspage or the process fails: refused keys, unknown pages,
rate limits, outages, timeouts, garbage, and a crash between creating and recording."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from firebell.core import IntegrationFailed, IntegrationRecovered
from firebell.core.events import IntegrationSkipped
from firebell.core.runtime import Firebell
from firebell.plugins.statuspage.api import retry_after_seconds

from firebell.testing.fake_http import Answer, Fault, Request
from firebell.testing.fake_statuspage import (
    STATUSPAGE_API_KEY,
    STATUSPAGE_COMPONENT_API,
    STATUSPAGE_PAGE_ID,
    FakeStatuspage,
)
from firebell.testing.pytest_plugin import MakeFirebell

ENVIRON = {"STATUSPAGE_API_KEY": STATUSPAGE_API_KEY}
CREATE = rf"^/v1/pages/{STATUSPAGE_PAGE_ID}/incidents$"
UNRESOLVED = rf"^/v1/pages/{STATUSPAGE_PAGE_ID}/incidents/unresolved$"
ONE_INCIDENT = rf"^/v1/pages/{STATUSPAGE_PAGE_ID}/incidents/inc\w+$"


class Clock:
    """A clock the test moves by hand (the engine's and the deliverer's)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class AnswersLate(FakeStatuspage):
    """Does what the next incident creation asks, then answers it with ``fault`` instead.

    That is Statuspage creating the incident while the caller times out or reads garbage; the
    base class's faults stop a request before it takes effect.
    """

    def __init__(self, fault: Fault, **options: Any) -> None:
        super().__init__(**options)
        self.fault: Fault | None = fault

    def dispatch(self, request: Request) -> Answer | Fault:
        answer = super().dispatch(request)
        creates = request.method == "POST" and request.path.endswith("/incidents")
        if creates and isinstance(answer, Answer) and answer.status == 201 and self.fault:
            fault, self.fault = self.fault, None
            return fault
        return answer


class KillsTheCaller(FakeStatuspage):
    """Creates the incident, then kills the process that asked before it hears the answer."""

    victim: int | None = None

    def dispatch(self, request: Request) -> Answer | Fault:
        answer = super().dispatch(request)
        creates = request.method == "POST" and request.path.endswith("/incidents")
        if creates and self.victim is not None and isinstance(answer, Answer):
            os.kill(self.victim, signal.SIGKILL)
            return Fault(drop=True)
        return answer


class LosesPatchAnswer(FakeStatuspage):
    """Does what the next PATCH asks, then drops the connection instead of answering."""

    lose_next_patch = True

    def dispatch(self, request: Request) -> Answer | Fault:
        answer = super().dispatch(request)
        if request.method == "PATCH" and self.lose_next_patch:
            self.lose_next_patch = False
            return Fault(drop=True)
        return answer


@pytest.fixture
def statuspage() -> Iterator[FakeStatuspage]:
    with FakeStatuspage() as fake:
        yield fake


def document(url: str, **options: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "api_key": {"env": "STATUSPAGE_API_KEY"},
        "page_id": STATUSPAGE_PAGE_ID,
        "api_url": url + "/v1",
        "components": {STATUSPAGE_COMPONENT_API: "major_outage"},
        "requests_per_second": 1000.0,
        **options,
    }
    return {"plugins": {"statuspage": table}}


def declare(firebell: Firebell) -> str:
    return firebell.engine.declare(
        title="Checkout errors", reporter="U123", severity="SEV1", customer_facing=True
    ).incident.id


def backlog(firebell: Firebell) -> tuple[int, int, int, str]:
    """(pending, failed, done, last_error) of the statuspage plugin."""
    figures = firebell.deliverer.outbox.backlog()["statuspage"]
    return figures.pending, figures.failed, figures.done, figures.last_error or ""


def failures(firebell: Firebell, incident_id: str) -> list[IntegrationFailed]:
    return [
        e.data
        for e in firebell.store.select_events(incident_id)
        if isinstance(e.data, IntegrationFailed)
    ]


def recoveries(firebell: Firebell, incident_id: str) -> list[IntegrationRecovered]:
    return [
        e.data
        for e in firebell.store.select_events(incident_id)
        if isinstance(e.data, IntegrationRecovered)
    ]


def linked(firebell: Firebell, incident_id: str) -> str | None:
    resource = firebell.engine.get(incident_id).resource("status-incident", plugin="statuspage")
    return None if resource is None else resource.external_id


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- looking for what an earlier attempt made -----------------------------------------------------


def test_a_first_attempt_creates_at_once_and_a_retry_looks_first(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
    declare(firebell)
    firebell.deliverer.drain()
    # Nothing can exist yet: no lookup, which would cost a request slot (about a second).
    assert [(c.request.method, c.path) for c in statuspage.calls] == [
        ("POST", f"/v1/pages/{STATUSPAGE_PAGE_ID}/incidents")
    ]

    statuspage.calls.clear()
    declare(firebell)
    statuspage.fail_next(CREATE, Fault(500))
    firebell.deliverer.drain()
    methods = [c.request.method for c in statuspage.calls]
    assert methods == ["POST", "GET", "POST"]  # refused; then look first, then create


def test_a_parked_creation_put_back_in_the_queue_looks_first(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    # `firebell retry` counts attempts from 1 again; the failure in the log still says look.
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
    incident_id = declare(firebell)
    statuspage.fail_next(CREATE, Fault(401, {"error": "Could not authenticate"}))
    firebell.deliverer.drain()
    assert backlog(firebell)[:2] == (0, 1)

    statuspage.calls.clear()
    assert firebell.deliverer.outbox.requeue_failed(now=datetime.now(UTC)) == 1
    firebell.deliverer.drain()
    assert [c.request.method for c in statuspage.calls] == ["GET", "POST"]
    assert linked(firebell, incident_id) == statuspage.incidents[0]["id"]


# -- permanent failures ------------------------------------------------------------------------


def test_refused_key_is_parked_with_a_clear_message_and_retried_once_fixed(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    wrong_key = "0000wrongkey0000"
    firebell = make_firebell(
        document(statuspage.url), environ={"STATUSPAGE_API_KEY": wrong_key}, retry_base=0.0
    )
    incident_id = declare(firebell)
    firebell.deliverer.drain()

    pending, failed, _, error = backlog(firebell)
    assert (pending, failed) == (0, 1)
    assert "the Statuspage API key was refused (HTTP 401)" in error
    assert "STATUSPAGE_API_KEY" in error
    assert wrong_key not in error
    [failure] = failures(firebell, incident_id)
    assert failure.will_retry is False
    assert "API key was refused" in failure.error
    assert statuspage.incidents == []
    assert len(statuspage.calls) == 1  # parked at once, not hammered

    fixed = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
    assert fixed.deliverer.outbox.requeue_failed(now=datetime.now(UTC)) == 1
    fixed.deliverer.drain()
    [status_incident] = statuspage.incidents
    assert linked(fixed, incident_id) == status_incident["id"]
    assert [r.plugin for r in recoveries(fixed, incident_id)] == ["statuspage"]


def test_unknown_page_is_parked_naming_the_page_id(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    settings = document(statuspage.url, page_id="nosuchpage")
    firebell = make_firebell(settings, environ=ENVIRON, retry_base=0.0)
    declare(firebell)
    firebell.deliverer.drain()

    pending, failed, _, error = backlog(firebell)
    assert (pending, failed) == (0, 1)
    assert "page id 'nosuchpage' not found" in error
    assert "page_id" in error


def test_component_not_on_the_page_is_parked_with_statuspages_reason(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    settings = document(statuspage.url, components={"nosuchcomp01": "major_outage"})
    firebell = make_firebell(settings, environ=ENVIRON, retry_base=0.0)
    declare(firebell)
    firebell.deliverer.drain()

    _, failed, _, error = backlog(firebell)
    assert failed == 1
    assert "HTTP 422" in error
    assert "'nosuchcomp01' does not belong to page" in error
    assert statuspage.incidents == []


def test_status_incident_gone_from_statuspage_is_parked(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    status_id = linked(firebell, incident_id)

    statuspage.fail_next(ONE_INCIDENT, Fault(404, {"error": "not found"}))
    firebell.engine.post_update(incident_id, "Fixed soon.", actor="U123", public=True)
    firebell.deliverer.drain()

    _, failed, _, error = backlog(firebell)
    assert failed == 1
    assert f"Statuspage has no incident {status_id}" in error


# -- rate limits -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [420, 429])
def test_rate_limit_waits_for_retry_after(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage, status: int
) -> None:
    clock = Clock()
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0, clock=clock)
    incident_id = declare(firebell)
    statuspage.fail_next(
        CREATE,
        Fault(status, {"error": "Rate limit exceeded"}, headers={"Retry-After": "30"}),
    )
    firebell.deliverer.drain()

    _, failed, _, error = backlog(firebell)
    assert failed == 0
    assert f"rate-limited the request to create the status incident (HTTP {status})" in error
    assert failures(firebell, incident_id) == []  # a rate limit is not announced as a failure

    clock.advance(20)
    assert firebell.deliverer.drain() == 0  # Retry-After is honoured
    assert statuspage.incidents == []

    clock.advance(11)
    firebell.deliverer.drain()
    [status_incident] = statuspage.incidents
    assert linked(firebell, incident_id) == status_incident["id"]
    assert recoveries(firebell, incident_id) == []


def test_requests_keep_to_the_per_key_rate(
    make_firebell: MakeFirebell,
) -> None:
    with FakeStatuspage(requests_per_second=1, rate_limit_status=420) as statuspage:
        # A little under Statuspage's rate, so that a loaded test machine delaying one request's
        # arrival does not make the fake see two within a second.
        settings = document(statuspage.url, requests_per_second=0.8)
        firebell = make_firebell(settings, environ=ENVIRON)
        incident_id = declare(firebell)
        firebell.engine.post_update(incident_id, "Looking into it.", actor="U123", public=True)
        started = time.monotonic()
        firebell.deliverer.drain()
        elapsed = time.monotonic() - started

        statuses = [call.status for call in statuspage.calls]
    # create (a first attempt has no earlier one to look for), post the update: never refused
    assert statuses == [201, 200]
    assert elapsed >= 1.25
    assert backlog(firebell)[:2] == (0, 0)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"retry-after": "7"}, now=now) == 7.0
    assert retry_after_seconds({"retry-after": "Mon, 01 Jun 2026 12:00:42 GMT"}, now=now) == 42.0
    assert retry_after_seconds({}, now=now) == 1.0
    assert retry_after_seconds({"retry-after": "soon"}, now=now) == 1.0


# -- transient failures ------------------------------------------------------------------------


def test_server_error_then_success(make_firebell: MakeFirebell, statuspage: FakeStatuspage) -> None:
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
    incident_id = declare(firebell)
    statuspage.fail_next(CREATE, Fault(500, {"error": "Internal Server Error"}))
    firebell.deliverer.drain()

    [status_incident] = statuspage.incidents
    assert linked(firebell, incident_id) == status_incident["id"]
    [failure] = failures(firebell, incident_id)
    assert "Statuspage failed to create the status incident (HTTP 500" in failure.error
    assert failure.will_retry is True
    assert len(recoveries(firebell, incident_id)) == 1
    assert [c.status for c in statuspage.calls_to(CREATE)] == [500, 201]


def test_timeout_is_retried(make_firebell: MakeFirebell, statuspage: FakeStatuspage) -> None:
    clock = Clock()
    settings = document(statuspage.url, timeout=0.3)
    firebell = make_firebell(settings, environ=ENVIRON, retry_base=0.0, clock=clock)
    incident_id = declare(firebell)
    statuspage.fail_next(CREATE, Fault(delay=1.0))
    firebell.deliverer.drain()

    [failure] = failures(firebell, incident_id)
    assert "Statuspage did not answer within 0.3 s" in failure.error
    firebell.deliverer.drain()
    assert linked(firebell, incident_id) == statuspage.incidents[0]["id"]


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(201, delay=1.0), id="timeout"),
        pytest.param(Fault(201, raw=b"<html>Bad gateway</html>"), id="malformed-json"),
        pytest.param(Fault(drop=True), id="dropped-connection"),
    ],
)
def test_incident_created_but_answer_lost_is_not_created_twice(
    make_firebell: MakeFirebell, fault: Fault
) -> None:
    with AnswersLate(fault) as statuspage:
        settings = document(statuspage.url, timeout=0.5)
        firebell = make_firebell(settings, environ=ENVIRON, retry_base=0.0)
        incident_id = declare(firebell)
        firebell.deliverer.drain()

        [status_incident] = statuspage.incidents
        assert linked(firebell, incident_id) == status_incident["id"]
        assert len(failures(firebell, incident_id)) == 1
        time.sleep(fault.delay)  # the late answer is recorded once it has been given
        assert len(statuspage.calls_to(CREATE)) == 1


def test_malformed_json_is_retried(make_firebell: MakeFirebell, statuspage: FakeStatuspage) -> None:
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
    incident_id = declare(firebell)
    statuspage.fail_next(CREATE, Fault(200, raw=b"{not json"))
    firebell.deliverer.drain()

    [failure] = failures(firebell, incident_id)
    assert "a body that is not JSON" in failure.error
    assert linked(firebell, incident_id) == statuspage.incidents[0]["id"]


def test_connection_refused_is_retried(make_firebell: MakeFirebell) -> None:
    clock = Clock()
    url = f"http://127.0.0.1:{closed_port()}"
    firebell = make_firebell(document(url), environ=ENVIRON, clock=clock)
    incident_id = declare(firebell)
    firebell.deliverer.drain()

    _, failed, _, error = backlog(firebell)
    assert failed == 0
    assert linked(firebell, incident_id) is None
    assert f"could not reach Statuspage at {url}/v1" in error
    assert [f.will_retry for f in failures(firebell, incident_id)] == [True]


def test_outage_then_recovery(make_firebell: MakeFirebell, statuspage: FakeStatuspage) -> None:
    clock = Clock()
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, clock=clock)
    incident_id = declare(firebell)
    with statuspage.down():
        firebell.deliverer.drain()
        firebell.engine.post_update(incident_id, "We are on it.", actor="U123", public=True)
        firebell.deliverer.drain()
    assert backlog(firebell)[1] == 0  # nothing parked: an outage passes
    assert statuspage.incidents == []

    clock.advance(60)
    firebell.deliverer.drain()
    [status_incident] = statuspage.incidents
    assert status_incident["incident_updates"][0]["body"] == "We are on it."
    assert backlog(firebell)[:2] == (0, 0)


def test_public_update_retried_after_a_lost_answer_is_posted_once(
    make_firebell: MakeFirebell,
) -> None:
    with LosesPatchAnswer() as statuspage:
        firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
        incident_id = declare(firebell)
        firebell.engine.post_update(incident_id, "Rolling back.", actor="U123", public=True)
        firebell.deliverer.drain()

        [status_incident] = statuspage.incidents
        bodies = [u["body"] for u in status_incident["incident_updates"]]
        assert bodies.count("Rolling back.") == 1
        assert len(failures(firebell, incident_id)) == 1
        assert backlog(firebell)[:2] == (0, 0)


def test_resolve_retried_after_a_lost_answer_resolves_once(
    make_firebell: MakeFirebell,
) -> None:
    with LosesPatchAnswer() as statuspage:
        firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
        incident_id = declare(firebell)
        firebell.engine.resolve(incident_id, actor="U123")
        statuspage.lose_next_patch = False
        firebell.deliverer.drain()  # created and resolved at once: the incident was over
        firebell.engine.reopen(incident_id, actor="U123")
        firebell.deliverer.drain()
        statuspage.lose_next_patch = True
        firebell.engine.resolve(incident_id, actor="U123")
        firebell.deliverer.drain()

        [status_incident] = statuspage.incidents
        statuses = [u["status"] for u in reversed(status_incident["incident_updates"])]
        assert statuses == ["investigating", "resolved", "investigating", "resolved"]
        assert len(failures(firebell, incident_id)) == 1
        assert backlog(firebell)[:2] == (0, 0)


def test_resolve_undone_before_delivery_is_not_shown(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=0.0)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    firebell.engine.resolve(incident_id, actor="U123")
    firebell.engine.reopen(incident_id, actor="U123", reason="not over")
    firebell.deliverer.drain()

    [status_incident] = statuspage.incidents
    assert status_incident["status"] == "investigating"
    assert len(status_incident["incident_updates"]) == 1
    assert [c for c in statuspage.calls if c.request.method == "PATCH"] == []


def test_a_resolve_superseded_while_statuspage_was_down_is_not_called_a_recovery(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage.url), environ=ENVIRON, retry_base=3600.0)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    statuspage.fail_next(ONE_INCIDENT, Fault(503, {"error": "Service Unavailable"}))
    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()  # fails: retried in an hour
    firebell.engine.reopen(incident_id, actor="U123", reason="not over")
    firebell.deliverer.outbox.retry_now(plugins=["statuspage"], now=firebell.deliverer.clock())
    firebell.deliverer.drain()

    [status_incident] = statuspage.incidents
    assert status_incident["status"] == "investigating"
    assert [f.event_type for f in failures(firebell, incident_id)] == ["incident.resolved"]
    assert recoveries(firebell, incident_id) == [], "Statuspage was not reached for the resolve"
    [skipped] = [
        e.data
        for e in firebell.store.select_events(incident_id)
        if isinstance(e.data, IntegrationSkipped)
    ]
    assert skipped.reason == "the incident was reopened before Statuspage could resolve it"
    assert firebell.engine.get(incident_id).failing_plugins == ()


# -- crash -------------------------------------------------------------------------------------

_DELIVER_IN_A_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from firebell.core.config import parse_config
    from firebell.core.runtime import open_firebell

    raw, path, environ = json.loads(sys.argv[1])
    firebell = open_firebell(parse_config(raw, path=Path(path), environ=environ))
    print("ready", flush=True)
    sys.stdin.readline()
    firebell.deliverer.drain()
    print("survived", flush=True)
    """
)


def test_crash_between_create_and_record_creates_no_second_incident(
    make_firebell: MakeFirebell, tmp_path: Path
) -> None:
    with KillsTheCaller() as statuspage:
        settings = document(statuspage.url)
        settings["firebell"] = {"database_url": f"sqlite:///{tmp_path / 'crash.db'}"}
        firebell = make_firebell(settings, environ=ENVIRON, retry_base=0.0)
        incident_id = declare(firebell)

        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _DELIVER_IN_A_CHILD,
                json.dumps([settings, str(tmp_path / "plugins.toml"), ENVIRON]),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        statuspage.victim = child.pid
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(timeout=60) == -signal.SIGKILL
        statuspage.victim = None

        # Statuspage has the incident; Firebell's log has no link and the delivery is leased.
        [status_incident] = statuspage.incidents
        assert linked(firebell, incident_id) is None
        assert firebell.deliverer.release_dead_leases() == 1
        firebell.deliverer.drain()

        assert len(statuspage.calls_to(CREATE)) == 1
        assert len(statuspage.incidents) == 1
        assert linked(firebell, incident_id) == status_incident["id"]
        assert backlog(firebell)[:2] == (0, 0)


def test_parked_creation_retried_after_resolve_opens_and_resolves_at_once(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    refused = make_firebell(
        document(statuspage.url), environ={"STATUSPAGE_API_KEY": "0000wrongkey0000"}
    )
    incident_id = declare(refused)
    refused.deliverer.drain()
    refused.engine.resolve(incident_id, actor="U123", summary="Rolled back.")
    refused.deliverer.drain()  # nothing linked: the resolve has nothing to do
    assert backlog(refused)[1] == 1

    fixed = make_firebell(document(statuspage.url), environ=ENVIRON)
    fixed.deliverer.outbox.requeue_failed(plugin="statuspage", now=datetime.now(UTC))
    fixed.deliverer.drain()

    [status_incident] = statuspage.incidents
    assert linked(fixed, incident_id) == status_incident["id"]
    assert status_incident["status"] == "resolved"
    assert [u["status"] for u in reversed(status_incident["incident_updates"])] == [
        "investigating",
        "resolved",
    ]
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "operational"
