"""The fake Statuspage answers plain httpx the way api.statuspage.io/v1 does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from firebell.testing.fake_statuspage import (
    STATUSPAGE_API_KEY,
    STATUSPAGE_COMPONENT_API,
    STATUSPAGE_COMPONENT_WEB,
    STATUSPAGE_PAGE_ID,
    FakeStatuspage,
)

INCIDENTS = f"/pages/{STATUSPAGE_PAGE_ID}/incidents"


@pytest.fixture
def statuspage() -> Iterator[FakeStatuspage]:
    with FakeStatuspage() as fake:
        yield fake


@pytest.fixture
def api(statuspage: FakeStatuspage) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"OAuth {STATUSPAGE_API_KEY}"}
    with httpx.Client(base_url=f"{statuspage.url}/v1", headers=headers) as client:
        yield client


def declare(api: httpx.Client, name: str = "Checkout errors", **extra: Any) -> dict[str, Any]:
    incident = {
        "name": name,
        "status": "investigating",
        "impact_override": "major",
        "body": "We are looking into failed checkouts.",
        "component_ids": [STATUSPAGE_COMPONENT_API],
        "components": {STATUSPAGE_COMPONENT_API: "major_outage"},
        "deliver_notifications": True,
        "metadata": {"firebell": {"incident": "INC-1"}},
        **extra,
    }
    answer = api.post(INCIDENTS, json={"incident": incident})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_page_and_components(api: httpx.Client) -> None:
    page = api.get(f"/pages/{STATUSPAGE_PAGE_ID}").json()
    assert page["id"] == STATUSPAGE_PAGE_ID
    components = api.get(f"/pages/{STATUSPAGE_PAGE_ID}/components").json()
    assert {c["id"]: c["status"] for c in components} == {
        STATUSPAGE_COMPONENT_API: "operational",
        STATUSPAGE_COMPONENT_WEB: "operational",
    }


def test_create_an_incident(api: httpx.Client, statuspage: FakeStatuspage) -> None:
    incident = declare(api)

    assert incident["status"] == "investigating"
    assert incident["impact"] == "major"
    assert incident["shortlink"].startswith("https://stspg.io/")
    assert incident["metadata"] == {"firebell": {"incident": "INC-1"}}
    assert [c["id"] for c in incident["components"]] == [STATUSPAGE_COMPONENT_API]
    [update] = incident["incident_updates"]
    assert update["body"] == "We are looking into failed checkouts."
    assert update["affected_components"] == [
        {
            "code": STATUSPAGE_COMPONENT_API,
            "name": "API",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "major_outage"
    assert statuspage.component_status(STATUSPAGE_COMPONENT_WEB) == "operational"
    assert statuspage.incidents == [incident]
    assert api.get(f"{INCIDENTS}/{incident['id']}").json() == incident


def test_update_posts_an_incident_update(api: httpx.Client, statuspage: FakeStatuspage) -> None:
    incident = declare(api)
    answer = api.patch(
        f"{INCIDENTS}/{incident['id']}",
        json={
            "incident": {
                "status": "identified",
                "body": "A bad deploy; rolling back.",
                "components": {STATUSPAGE_COMPONENT_API: "partial_outage"},
            }
        },
    )
    assert answer.status_code == 200
    updated = answer.json()
    assert updated["status"] == "identified"
    assert [u["status"] for u in updated["incident_updates"]] == ["identified", "investigating"]
    assert updated["incident_updates"][0]["body"] == "A bad deploy; rolling back."
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "partial_outage"

    renamed = api.patch(f"{INCIDENTS}/{incident['id']}", json={"incident": {"name": "Checkout"}})
    assert renamed.json()["name"] == "Checkout"
    assert len(renamed.json()["incident_updates"]) == 2


def test_resolve_restores_components_only_when_asked(
    api: httpx.Client, statuspage: FakeStatuspage
) -> None:
    first = declare(api)
    second = declare(
        api, "Slow website", components={STATUSPAGE_COMPONENT_WEB: "degraded_performance"}
    )

    resolved = api.patch(
        f"{INCIDENTS}/{first['id']}",
        json={
            "incident": {
                "status": "resolved",
                "body": "Rolled back; checkouts succeed again.",
                "components": {STATUSPAGE_COMPONENT_API: "operational"},
            }
        },
    ).json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    assert resolved["impact"] == "major"
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "operational"

    api.patch(f"{INCIDENTS}/{second['id']}", json={"incident": {"status": "resolved"}})
    assert statuspage.component_status(STATUSPAGE_COMPONENT_WEB) == "degraded_performance"
    assert api.get(f"{INCIDENTS}/unresolved").json() == []


def test_unresolved_and_search(api: httpx.Client) -> None:
    old = declare(api, "Database failover")
    api.patch(f"{INCIDENTS}/{old['id']}", json={"incident": {"status": "resolved"}})
    new = declare(api, "Checkout errors")

    unresolved = api.get(f"{INCIDENTS}/unresolved").json()
    assert [i["id"] for i in unresolved] == [new["id"]]
    found = api.get(INCIDENTS, params={"q": "failover"}).json()
    assert [i["id"] for i in found] == [old["id"]]
    everything = api.get(INCIDENTS).json()
    assert [i["id"] for i in everything] == [new["id"], old["id"]]
    assert api.get(f"{INCIDENTS}.json", params={"limit": 1}).json()[0]["id"] == new["id"]


def test_invalid_incidents_are_refused(api: httpx.Client, statuspage: FakeStatuspage) -> None:
    def refused(incident: dict[str, Any]) -> httpx.Response:
        return api.post(INCIDENTS, json={"incident": {"name": "x", **incident}})

    assert refused({"status": "on_fire"}).status_code == 422
    assert refused({"impact_override": "apocalyptic"}).status_code == 422
    assert refused({"components": {STATUSPAGE_COMPONENT_API: "meh"}}).status_code == 422
    assert refused({"component_ids": ["nope"]}).status_code == 422
    assert "component_id" in refused({"component_id": ["typo"]}).json()["error"]
    assert api.post(INCIDENTS, json={"incident": {"status": "investigating"}}).status_code == 422
    assert api.post(INCIDENTS, json={"name": "unwrapped"}).status_code == 400
    assert statuspage.incidents == []
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "operational"


def test_a_wrong_key_is_401(statuspage: FakeStatuspage) -> None:
    for headers in (
        {"Authorization": "OAuth wrong"},
        {"Authorization": f"Bearer {STATUSPAGE_API_KEY}"},
        {},
    ):
        answer = httpx.get(f"{statuspage.url}/v1/pages/{STATUSPAGE_PAGE_ID}", headers=headers)
        assert answer.status_code == 401
        assert "error" in answer.json()


def test_unknown_page_and_incident_are_404(api: httpx.Client) -> None:
    assert api.get("/pages/nosuchpage000").status_code == 404
    assert api.get(f"{INCIDENTS}/nosuchincident").status_code == 404
    missing = api.patch(f"{INCIDENTS}/nosuchincident", json={"incident": {"status": "resolved"}})
    assert missing.status_code == 404
    assert "error" in missing.json()


@pytest.mark.parametrize("status", [420, 429])
def test_one_request_per_second_per_key(status: int) -> None:
    with FakeStatuspage(requests_per_second=1, rate_limit_status=status) as statuspage:
        statuspage.api_keys.add("second-key")
        url = f"{statuspage.url}/v1/pages/{STATUSPAGE_PAGE_ID}"
        first = {"Authorization": f"OAuth {STATUSPAGE_API_KEY}"}
        assert httpx.get(url, headers=first).status_code == 200
        limited = httpx.get(url, headers=first)
        assert limited.status_code == status
        assert limited.headers["Retry-After"] == "1"
        assert httpx.get(url, headers={"Authorization": "OAuth second-key"}).status_code == 200
        time.sleep(1.05)
        assert httpx.get(url, headers=first).status_code == 200
