"""The fake PagerDuty, driven through the real ``pagerduty`` clients over HTTPS."""

from __future__ import annotations

import inspect
import ssl
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pagerduty
import pytest

from firebell.testing import fake_pagerduty
from firebell.testing.fake_http import Fault
from firebell.testing.fake_pagerduty import FakePagerDuty


@pytest.fixture
def fake() -> Iterator[FakePagerDuty]:
    with FakePagerDuty() as service:
        yield service


@pytest.fixture
def rest(fake: FakePagerDuty) -> Iterator[pagerduty.RestApiV2Client]:
    with fake.rest_client() as client:
        yield client


@pytest.fixture
def events(fake: FakePagerDuty) -> Iterator[pagerduty.EventsApiV2Client]:
    with fake.events_client() as client:
        yield client


def incident(
    key: str | None = None, *, title: str = "Checkout is down", service: str = "PSERVICE1"
) -> dict[str, Any]:
    """A ``POST /incidents`` entity as Firebell's PagerDuty plugin sends it."""
    body: dict[str, Any] = {
        "type": "incident",
        "title": title,
        "service": {"id": service, "type": "service_reference"},
        "urgency": "high",
        "body": {"type": "incident_body", "details": "Declared from Slack"},
    }
    if key is not None:
        body["incident_key"] = key
    return body


def error_body(error: pytest.ExceptionInfo[pagerduty.HttpError]) -> Any:
    """The decoded body of the response an ``HttpError`` carries."""
    response = error.value.response
    assert response is not None
    return response.json()


# -- the documented recipe --------------------------------------------------------------------


def test_the_recipe_in_the_module_docstring_runs() -> None:
    doc = inspect.getdoc(fake_pagerduty) or ""
    recipe = doc.split("Working code, against this fake")[1].split("::\n", 1)[1]
    code = textwrap.dedent(recipe.split("\n\n:meth:")[0])
    namespace: dict[str, Any] = {"pagerduty": pagerduty, "FakePagerDuty": FakePagerDuty}
    try:
        exec(code, namespace)
    finally:
        namespace["fake"].stop()
    fake: FakePagerDuty = namespace["fake"]
    declared, triggered = fake.incidents  # the event came after the declared one was resolved
    assert declared["incident_key"] == triggered["incident_key"] == "firebell-honest-rhino"
    assert declared["status"] == triggered["status"] == "resolved"
    assert [n["content"] for n in fake.notes(declared["id"])] == ["Rolled back"]
    assert [e["event_action"] for e in fake.events] == ["trigger", "resolve"]
    namespace["rest"].close()
    namespace["events"].close()


# -- REST API: incidents ------------------------------------------------------------------------


def test_creating_an_incident_returns_it_triggered(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    created = rest.rpost("incidents", json=incident("k-1"))
    assert isinstance(created, dict)
    assert created["status"] == "triggered"
    assert created["incident_key"] == "k-1"
    assert created["incident_number"] == 1
    assert created["urgency"] == "high"
    assert created["service"]["id"] == FakePagerDuty.SERVICE_ID
    assert created["escalation_policy"]["id"] == FakePagerDuty.ESCALATION_POLICY_ID
    assert created["html_url"].endswith(f"/incidents/{created['id']}")
    [call] = fake.calls_to("^/incidents$")
    assert call.status == 201
    assert call.request.header("from") == FakePagerDuty.USER_EMAIL
    assert rest.rget(created) == created


def test_a_duplicate_open_incident_key_is_refused_and_lookup_finds_the_first(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    first = rest.rpost("incidents", json=incident("firebell-honest-rhino"))
    with pytest.raises(pagerduty.HttpError) as refused:
        rest.rpost("incidents", json=incident("firebell-honest-rhino", title="again"))
    assert refused.value.response is not None
    assert refused.value.response.status_code == 400
    assert error_body(refused) == {
        "error": {
            "message": "Invalid Input Provided",
            "code": 2001,
            "errors": ["Open incident with matching dedup key already exists on this service"],
        }
    }
    found = rest.list_all(
        "incidents", params={"incident_key": "firebell-honest-rhino", "date_range": "all"}
    )
    assert found == [first]
    assert len(fake.incidents) == 1


def test_a_resolved_incident_frees_its_key(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    first = rest.rpost("incidents", json=incident("k"))
    rest.rput(first, json={"type": "incident_reference", "status": "resolved"})
    second = rest.rpost("incidents", json=incident("k"))
    assert isinstance(first, dict) and isinstance(second, dict)
    assert second["id"] != first["id"]
    assert fake.incident_by_key("k") == second


def test_acknowledging_then_resolving(fake: FakePagerDuty, rest: pagerduty.RestApiV2Client) -> None:
    created = rest.rpost("incidents", json=incident("k"))
    assert isinstance(created, dict)
    path = f"incidents/{created['id']}"
    acked = rest.rput(path, json={"type": "incident_reference", "status": "acknowledged"})
    assert isinstance(acked, dict)
    assert acked["status"] == "acknowledged"
    assert acked["acknowledgements"][0]["acknowledger"]["id"] == FakePagerDuty.USER_ID
    resolved = rest.rput(path, json={"type": "incident_reference", "status": "resolved"})
    assert isinstance(resolved, dict)
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    with pytest.raises(pagerduty.HttpError) as again:
        rest.rput(path, json={"type": "incident_reference", "status": "resolved"})
    assert error_body(again)["error"]["code"] == 1001
    assert fake.incident(created["id"])["status"] == "resolved"


def test_a_note_is_added_and_listed(fake: FakePagerDuty, rest: pagerduty.RestApiV2Client) -> None:
    created = rest.rpost("incidents", json=incident())
    assert isinstance(created, dict)
    note = rest.rpost(f"incidents/{created['id']}/notes", json={"content": "Rolled back v42"})
    assert isinstance(note, dict)
    assert note["content"] == "Rolled back v42"
    assert note["user"]["id"] == FakePagerDuty.USER_ID
    assert fake.calls_to("/notes$")[-1].status == 200  # the spec's status, not 201
    assert rest.rget(f"incidents/{created['id']}/notes") == [note]
    assert fake.notes(created["id"]) == [note]


def test_unknown_incident_is_404(rest: pagerduty.RestApiV2Client) -> None:
    with pytest.raises(pagerduty.HttpError) as missing:
        rest.rget("incidents/PNOPE00")
    assert error_body(missing) == {"error": {"message": "Not Found", "code": 2100}}


def test_listing_filters_and_pages(fake: FakePagerDuty, rest: pagerduty.RestApiV2Client) -> None:
    fake.add_service("PSERVICE2", "Search")
    one = rest.rpost("incidents", json=incident("a"))
    rest.rpost("incidents", json=incident("b"))
    rest.rpost("incidents", json=incident("c", service="PSERVICE2"))
    assert isinstance(one, dict)
    rest.rput(one, json={"type": "incident_reference", "status": "resolved"})

    everything = rest.list_all("incidents", page_size=2)
    assert [i["incident_key"] for i in everything] == ["a", "b", "c"]
    assert len(fake.calls_to("^/incidents$")) == 3 + 2  # three creations, two pages
    open_ones = rest.list_all("incidents", params={"statuses": ["triggered", "acknowledged"]})
    assert [i["incident_key"] for i in open_ones] == ["b", "c"]
    on_search = rest.list_all("incidents", params={"service_ids": ["PSERVICE2"]})
    assert [i["incident_key"] for i in on_search] == ["c"]
    assert rest.get_total("incidents") == 3


def test_a_bad_status_filter_is_400(rest: pagerduty.RestApiV2Client) -> None:
    with pytest.raises(pagerduty.HttpError) as refused:
        rest.list_all("incidents", params={"statuses": ["open"]})
    assert error_body(refused)["error"]["code"] == 2001


# -- REST API: authentication, From and validation ----------------------------------------------


def test_a_wrong_api_key_raises_401_at_once(fake: FakePagerDuty) -> None:
    with fake.rest_client(api_key="not-the-key") as rest, pytest.raises(pagerduty.HttpError) as e:
        rest.rpost("incidents", json=incident())
    assert error_body(e) == {"error": {"message": "Authentication failed", "code": 2006}}
    assert len(fake.calls) == 1
    assert fake.incidents == []


def test_a_missing_from_header_is_400(fake: FakePagerDuty) -> None:
    with fake.rest_client(default_from=None) as rest:
        with pytest.raises(pagerduty.HttpError) as missing:
            rest.rpost("incidents", json=incident())
        assert error_body(missing)["error"] == {
            "message": 'You must specify a user\'s email address in the "From" header to '
            "perform this action",
            "code": 2016,
        }
        created = rest.rpost("incidents", json=incident(), headers={"From": fake.USER_EMAIL})
    assert isinstance(created, dict)
    assert created["last_status_change_by"]["id"] == FakePagerDuty.USER_ID


def test_an_unknown_from_user_is_400(fake: FakePagerDuty) -> None:
    stranger = fake.rest_client(default_from="stranger@example.com")
    with stranger as rest, pytest.raises(pagerduty.HttpError) as unknown:
        rest.rpost("incidents", json=incident())
    assert error_body(unknown)["error"]["code"] == 1008
    fake.add_user("stranger@example.com")
    with fake.rest_client(default_from="stranger@example.com") as rest:
        rest.rpost("incidents", json=incident())
    assert len(fake.incidents) == 1


def test_a_malformed_incident_lists_every_problem(rest: pagerduty.RestApiV2Client) -> None:
    bad = {"type": "incident", "title": " ", "service": {"id": "PSERVICE1"}, "urgency": "urgent"}
    with pytest.raises(pagerduty.HttpError) as refused:
        rest.rpost("incidents", json=bad)
    assert error_body(refused)["error"]["errors"] == [
        "Title cannot be empty.",
        "Service must be a service_reference with an id.",
        "Urgency must be high or low.",
    ]


def test_an_unknown_service_or_policy_is_400(rest: pagerduty.RestApiV2Client) -> None:
    with pytest.raises(pagerduty.HttpError) as no_service:
        rest.rpost("incidents", json=incident(service="PNOPE"))
    assert no_service.value.response is not None
    assert no_service.value.response.status_code == 400
    assert error_body(no_service)["error"]["errors"] == ["Service Not Found"]
    body = incident()
    body["escalation_policy"] = {"id": "PNOPE", "type": "escalation_policy_reference"}
    with pytest.raises(pagerduty.HttpError) as no_policy:
        rest.rpost("incidents", json=body)
    assert error_body(no_policy)["error"]["errors"] == ["Escalation Policy Not Found"]


def test_a_body_that_is_not_json_is_400(rest: pagerduty.RestApiV2Client) -> None:
    response = rest.post("incidents", content=b"title=oops")
    assert response.status_code == 400
    assert response.json()["error"]["errors"] == ["params must be a Hash"]


# -- REST API: services, policies, users --------------------------------------------------------


def test_services_policies_and_users_are_readable(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    service = rest.rget(f"services/{FakePagerDuty.SERVICE_ID}")
    assert isinstance(service, dict)
    assert service["name"] == FakePagerDuty.SERVICE_NAME
    assert service["escalation_policy"]["id"] == FakePagerDuty.ESCALATION_POLICY_ID
    policy = rest.rget(service["escalation_policy"])
    assert isinstance(policy, dict)
    assert [s["id"] for s in policy["services"]] == [FakePagerDuty.SERVICE_ID]
    user = rest.find("users", "ONCALL@example.com", attribute="email")
    assert user is not None
    assert user["id"] == FakePagerDuty.USER_ID
    assert rest.find("users", "nobody@example.com", attribute="email") is None
    with pytest.raises(pagerduty.HttpError) as missing:
        rest.rget("services/PNOPE")
    assert error_body(missing)["error"]["code"] == 2100


# -- retries, rate limits, timeouts and TLS -----------------------------------------------------


def test_a_server_error_then_success_is_retried(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    fake.fail_next("^/incidents$", Fault(500, {"error": {"message": "boom", "code": 2000}}))
    created = rest.rpost("incidents", json=incident("k"))
    assert isinstance(created, dict)
    assert [c.status for c in fake.calls_to("^/incidents$")] == [500, 201]
    assert len(fake.incidents) == 1


def test_the_rest_client_does_not_retry_server_errors_by_default(fake: FakePagerDuty) -> None:
    fake.fail_next("^/incidents$", Fault(503, {"error": {"message": "down", "code": 2000}}))
    with pagerduty.RestApiV2Client(
        fake.API_KEY,
        default_from=fake.USER_EMAIL,
        base_url=fake.url,
        verify=fake.client_ssl_context(),
    ) as rest:
        assert rest.retry == {}
        with pytest.raises(pagerduty.ServerHttpError):
            rest.rpost("incidents", json=incident())
    assert len(fake.calls) == 1


def test_rate_limit_retries_are_capped(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    fake.rate_limit("^/incidents$", per_second=0, retry_after=7)
    with pytest.raises(pagerduty.HttpError) as limited:
        rest.rpost("incidents", json=incident())
    response = limited.value.response
    assert response is not None
    assert response.status_code == 429
    assert response.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert response.headers["Retry-After"] == "7"
    assert response.headers["ratelimit-reset"] == "7"
    assert response.headers["ratelimit-remaining"] == "0"
    assert len(fake.calls_to("^/incidents$")) == 3  # the first attempt and two retries
    assert fake.incidents == []


def test_a_rate_limit_then_success_is_retried_ignoring_retry_after(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    fake.fail_next("^/incidents$", fake.rate_limited_fault(retry_after=30))
    started = time.monotonic()
    rest.rpost("incidents", json=incident())
    assert time.monotonic() - started < 5  # the client waits sleep_timer, not Retry-After
    assert [c.status for c in fake.calls_to("^/incidents$")] == [429, 201]


def test_the_timeout_attribute_governs_and_the_keyword_is_ignored(fake: FakePagerDuty) -> None:
    with pagerduty.RestApiV2Client(fake.API_KEY, base_url=fake.url, timeout=3) as ignored:
        assert ignored.timeout == pagerduty.TIMEOUT
    fake.fail_next("^/incidents/", Fault(delay=1.0), times=2)
    with fake.rest_client(timeout=0.2) as rest, pytest.raises(pagerduty.Error) as timed_out:
        rest.rget("incidents/PI00001")
    assert not isinstance(timed_out.value, pagerduty.HttpError)
    assert timed_out.value.response is None
    assert isinstance(timed_out.value.__cause__, httpx2.TimeoutException)


def test_an_outage_raises_error_without_a_response(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    with fake.down(), pytest.raises(pagerduty.Error) as outage:
        rest.rpost("incidents", json=incident())
    assert outage.value.response is None
    assert len(fake.calls) == 2  # max_network_attempts = 1: one retry


def test_the_client_needs_https_and_the_fake_ca(fake: FakePagerDuty) -> None:
    with pytest.raises(pagerduty.UrlError):
        pagerduty.RestApiV2Client(fake.API_KEY, base_url=fake.url.replace("https", "http"))
    with pagerduty.RestApiV2Client(fake.API_KEY, base_url=fake.url, trust_env=False) as rest:
        rest.max_network_attempts = 0
        with pytest.raises(pagerduty.Error) as untrusted:
            rest.rget(f"services/{fake.SERVICE_ID}")
    assert isinstance(untrusted.value.__cause__, httpx2.ConnectError)


def test_a_written_ca_bundle_is_trusted(fake: FakePagerDuty, tmp_path: Path) -> None:
    bundle = fake.write_ca_bundle(tmp_path / "ca.pem")
    trusting = ssl.create_default_context(cafile=str(bundle))
    with pagerduty.RestApiV2Client(fake.API_KEY, base_url=fake.url, verify=trusting) as rest:
        service = rest.rget(f"services/{fake.SERVICE_ID}")
    assert isinstance(service, dict)
    assert service["id"] == fake.SERVICE_ID


# -- Events API v2 ------------------------------------------------------------------------------


def test_events_trigger_deduplicates_and_resolve_closes(
    fake: FakePagerDuty, events: pagerduty.EventsApiV2Client
) -> None:
    assert len(FakePagerDuty.ROUTING_KEY) == 32
    key = events.trigger("Checkout is down", "firebell", dedup_key="firebell-honest-rhino")
    assert key == "firebell-honest-rhino"
    assert events.trigger("Checkout is down", "firebell", dedup_key=key) == key
    assert len(fake.incidents) == 1
    opened = fake.incident_by_key(key)
    assert opened is not None
    assert opened["title"] == "Checkout is down"
    assert opened["status"] == "triggered"
    assert events.acknowledge(key) == key
    assert fake.incident(opened["id"])["status"] == "acknowledged"
    assert events.resolve(key) == key
    assert fake.incident(opened["id"])["status"] == "resolved"
    assert [e["event_action"] for e in fake.events] == [
        "trigger",
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert all(c.status == 202 for c in fake.calls_to("^/v2/enqueue$"))

    events.trigger("Checkout is down again", "firebell", dedup_key=key)
    assert len(fake.incidents) == 2


def test_events_share_dedup_keys_with_rest_incidents(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client, events: pagerduty.EventsApiV2Client
) -> None:
    rest.rpost("incidents", json=incident("shared"))
    events.trigger("Checkout is down", "firebell", dedup_key="shared")
    assert len(fake.incidents) == 1
    events.resolve("shared")
    assert [i["status"] for i in fake.incidents] == ["resolved"]


def test_events_without_a_dedup_key_get_one(
    fake: FakePagerDuty, events: pagerduty.EventsApiV2Client
) -> None:
    key = events.trigger("Disk full", "db-1", severity="warning")
    assert len(key) == 32
    assert fake.incident_by_key(key) is not None
    events.resolve("never-triggered")  # accepted and dropped, as PagerDuty does
    assert len(fake.incidents) == 1


def test_an_invalid_event_is_400_with_the_errors(
    fake: FakePagerDuty, events: pagerduty.EventsApiV2Client
) -> None:
    with pytest.raises(pagerduty.HttpError) as refused:
        events.trigger("Checkout is down", "", severity="fatal")
    assert error_body(refused) == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [
            "'payload.source' is missing or blank",
            "'payload.severity' is invalid (must be critical, error, warning or info)",
        ],
    }
    assert fake.events == []


def test_bad_routing_keys_are_400(fake: FakePagerDuty) -> None:
    malformed_key = fake.events_client(routing_key="not-a-key")
    with malformed_key as events, pytest.raises(pagerduty.HttpError) as malformed:
        events.trigger("x", "y")
    assert error_body(malformed)["errors"] == [
        "Length of 'routing_key' is incorrect (should be 32 characters)",
        "'routing_key' cannot contain non-alphanumeric characters.",
    ]
    unknown_key = fake.events_client(routing_key="0" * 32)
    with unknown_key as events, pytest.raises(pagerduty.HttpError) as unknown:
        events.trigger("x", "y")
    assert error_body(unknown)["errors"] == ["Invalid routing key"]
    fake.add_routing_key("0" * 32)
    with fake.events_client(routing_key="0" * 32) as events:
        events.trigger("x", "y")
    assert len(fake.incidents) == 1


def test_events_rate_limits_are_capped(
    fake: FakePagerDuty, events: pagerduty.EventsApiV2Client
) -> None:
    fake.rate_limit("^/v2/enqueue$", per_second=0)
    with pytest.raises(pagerduty.HttpError) as limited:
        events.trigger("x", "y")
    assert error_body(limited)["status"] == "throttle event"
    assert len(fake.calls) == 3


def test_a_responder_resolving_in_pagerduty_is_visible(
    fake: FakePagerDuty, rest: pagerduty.RestApiV2Client
) -> None:
    created = rest.rpost("incidents", json=incident("k"))
    assert isinstance(created, dict)
    fake.set_incident_status(created["id"], "resolved")
    fetched = rest.rget(created)
    assert isinstance(fetched, dict)
    assert fetched["status"] == "resolved"
