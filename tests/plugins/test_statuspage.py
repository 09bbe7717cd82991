"""The Statuspage plugin, driven through the engine against the fake Statuspage API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from firebell.core import IncidentState, IntegrationFailed, ResourceLinked
from firebell.core.runtime import Firebell

from firebell.testing.fake_statuspage import (
    STATUSPAGE_API_KEY,
    STATUSPAGE_COMPONENT_API,
    STATUSPAGE_COMPONENT_WEB,
    STATUSPAGE_PAGE_ID,
    FakeStatuspage,
)
from firebell.testing.pytest_plugin import MakeFirebell

ENVIRON = {"STATUSPAGE_API_KEY": STATUSPAGE_API_KEY}
INCIDENTS = rf"^/v1/pages/{STATUSPAGE_PAGE_ID}/incidents"
CREATE = INCIDENTS + "$"


@pytest.fixture
def statuspage() -> Iterator[FakeStatuspage]:
    with FakeStatuspage() as fake:
        yield fake


def document(statuspage: FakeStatuspage, **options: Any) -> dict[str, Any]:
    """A plugins.toml with only the Statuspage plugin, pointed at the fake."""
    table: dict[str, Any] = {
        "api_key": {"env": "STATUSPAGE_API_KEY"},
        "page_id": STATUSPAGE_PAGE_ID,
        "api_url": statuspage.url + "/v1",
        "components": {STATUSPAGE_COMPONENT_API: "major_outage"},
        # The fake does not limit by default; a high rate keeps the tests fast.
        "requests_per_second": 1000.0,
        **options,
    }
    return {"plugins": {"statuspage": table}}


def declare(firebell: Firebell, **options: Any) -> str:
    fields: dict[str, Any] = {
        "title": "Checkout errors",
        "reporter": "U123",
        "description": "Payments time out on the internal checkout service.",
        "severity": "SEV1",
        "customer_facing": True,
        **options,
    }
    return firebell.engine.declare(**fields).incident.id


def linked_id(firebell: Firebell, incident_id: str) -> str:
    resource = firebell.engine.get(incident_id).resource("status-incident", plugin="statuspage")
    assert resource is not None, "no status incident linked"
    return resource.external_id


def deliveries(firebell: Firebell) -> tuple[int, int, int, str | None]:
    """(pending, failed, done, last_error) of the statuspage plugin."""
    backlog = firebell.deliverer.outbox.backlog()["statuspage"]
    return backlog.pending, backlog.failed, backlog.done, backlog.last_error


def failures(firebell: Firebell, incident_id: str) -> list[IntegrationFailed]:
    return [
        e.data
        for e in firebell.store.select_events(incident_id)
        if isinstance(e.data, IntegrationFailed)
    ]


# -- created -----------------------------------------------------------------------------------


def test_customer_facing_incident_opens_a_status_incident(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()

    [status_incident] = statuspage.incidents
    assert status_incident["name"] == "Checkout errors"
    assert status_incident["name"] != incident_id
    assert status_incident["status"] == "investigating"
    assert status_incident["impact_override"] == "major"
    assert status_incident["metadata"] == {"firebell": {"incident_id": incident_id}}
    assert [c["id"] for c in status_incident["components"]] == [STATUSPAGE_COMPONENT_API]
    [update] = status_incident["incident_updates"]
    assert update["body"].startswith("We are investigating")
    assert update["deliver_notifications"] is True
    # The description is for responders; the default public message does not repeat it.
    assert "internal" not in update["body"]
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "major_outage"
    assert statuspage.component_status(STATUSPAGE_COMPONENT_WEB) == "operational"
    [create] = statuspage.calls_to(CREATE)
    assert create.request.method == "POST"
    assert create.request.header("Authorization") == f"OAuth {STATUSPAGE_API_KEY}"

    incident = firebell.engine.get(incident_id)
    resource = incident.resource("status-incident", plugin="statuspage")
    assert resource is not None
    assert resource.external_id == status_incident["id"]
    assert resource.url == status_incident["shortlink"]
    assert resource.title == "Status page"
    assert deliveries(firebell) == (0, 0, 2, None)  # incident.created and its resource_linked


def test_templates_impact_mapping_and_notifications_come_from_the_settings(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    settings = document(
        statuspage,
        impact={"SEV0": "critical", "SEV1": "minor"},
        components={
            STATUSPAGE_COMPONENT_API: "partial_outage",
            STATUSPAGE_COMPONENT_WEB: "degraded_performance",
        },
        deliver_notifications=False,
        initial_message="{title} ({severity}, {impact} impact): we are on it.",
    )
    firebell = make_firebell(settings, environ=ENVIRON)
    declare(firebell)
    firebell.deliverer.drain()

    [status_incident] = statuspage.incidents
    assert status_incident["impact_override"] == "minor"
    [update] = status_incident["incident_updates"]
    assert update["body"] == "Checkout errors (SEV1, minor impact): we are on it."
    assert update["deliver_notifications"] is False
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "partial_outage"
    assert statuspage.component_status(STATUSPAGE_COMPONENT_WEB) == "degraded_performance"


def test_unmapped_severity_lets_statuspage_derive_the_impact(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage, impact={}), environ=ENVIRON)
    declare(firebell)
    firebell.deliverer.drain()

    [status_incident] = statuspage.incidents
    assert status_incident["impact_override"] is None
    assert status_incident["impact"] == "critical"  # from the major_outage component


def test_internal_incident_opens_nothing(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage), environ=ENVIRON)
    incident_id = declare(firebell, customer_facing=False, severity="SEV0")
    firebell.engine.post_update(incident_id, "Public words", actor="U123", public=True)
    firebell.engine.change_severity(incident_id, "SEV1", actor="U123")
    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()

    assert statuspage.calls == []
    assert firebell.engine.get(incident_id).resources == ()
    assert deliveries(firebell) == (0, 0, 4, None)


def test_listed_severities_open_a_status_incident_without_the_flag(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage, severities=["SEV0"]), environ=ENVIRON)
    critical = declare(firebell, title="Everything is down", severity="SEV0", customer_facing=False)
    minor = declare(firebell, title="Slow admin page", severity="SEV2", customer_facing=False)
    firebell.deliverer.drain()

    assert [i["name"] for i in statuspage.incidents] == ["Everything is down"]
    assert statuspage.incidents[0]["impact_override"] == "critical"
    linked_id(firebell, critical)
    assert firebell.engine.get(minor).resources == ()


def test_raising_to_a_listed_severity_opens_it_then(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage, severities=["SEV0"]), environ=ENVIRON)
    incident_id = declare(firebell, severity="SEV2", customer_facing=False)
    firebell.deliverer.drain()
    assert statuspage.incidents == []

    firebell.engine.change_severity(incident_id, "SEV0", actor="U123")
    firebell.deliverer.drain()

    [status_incident] = statuspage.incidents
    assert status_incident["impact_override"] == "critical"
    assert linked_id(firebell, incident_id) == status_incident["id"]


# -- updates and severity ----------------------------------------------------------------------


def test_public_updates_reach_the_page_and_internal_ones_do_not(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    status_id = linked_id(firebell, incident_id)

    firebell.engine.post_update(incident_id, "db-7 is wedged, failing over", actor="U123")
    firebell.engine.post_update(
        incident_id, "We found the cause and are fixing it.", actor="U123", public=True
    )
    firebell.deliverer.drain()

    status_incident = statuspage.incident(status_id)
    bodies = [u["body"] for u in status_incident["incident_updates"]]
    assert bodies[0] == "We found the cause and are fixing it."
    assert len(bodies) == 2
    assert "db-7" not in str(status_incident)
    assert status_incident["status"] == "investigating"
    [patch] = [c for c in statuspage.calls_to(INCIDENTS) if c.request.method == "PATCH"]
    assert patch.request.json() == {
        "incident": {"body": "We found the cause and are fixing it.", "deliver_notifications": True}
    }


def test_update_status_moves_the_status_incident_along(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage, update_status="identified"), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.engine.post_update(incident_id, "Rolling back.", actor="U123", public=True)
    firebell.deliverer.drain()

    status_incident = statuspage.incident(linked_id(firebell, incident_id))
    assert status_incident["status"] == "identified"
    assert status_incident["incident_updates"][0]["status"] == "identified"


def test_severity_change_sets_the_impact(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage), environ=ENVIRON)
    incident_id = declare(firebell, severity="SEV2")
    firebell.deliverer.drain()
    status_id = linked_id(firebell, incident_id)
    assert statuspage.incident(status_id)["impact_override"] == "minor"

    firebell.engine.change_severity(incident_id, "SEV0", actor="U123")
    firebell.deliverer.drain()

    status_incident = statuspage.incident(status_id)
    assert status_incident["impact_override"] == "critical"
    assert status_incident["impact"] == "critical"
    assert len(status_incident["incident_updates"]) == 1  # no public message for a re-rating


# -- resolved, reopened, closed ----------------------------------------------------------------


def test_resolve_restores_the_components(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    statuspage.set_component_status(STATUSPAGE_COMPONENT_WEB, "partial_outage")
    settings = document(statuspage, resolved_message="Resolved: {summary}")
    firebell = make_firebell(settings, environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.deliverer.drain()
    status_id = linked_id(firebell, incident_id)
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "major_outage"

    firebell.engine.resolve(incident_id, actor="U123", summary="payments flow again")
    firebell.deliverer.drain()

    status_incident = statuspage.incident(status_id)
    assert status_incident["status"] == "resolved"
    assert status_incident["incident_updates"][0]["body"] == "Resolved: payments flow again"
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "operational"
    # A component Firebell was not told about is left as someone set it.
    assert statuspage.component_status(STATUSPAGE_COMPONENT_WEB) == "partial_outage"
    assert deliveries(firebell) == (0, 0, 3, None)


def test_reopen_degrades_the_components_again_and_close_sends_nothing(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()
    status_id = linked_id(firebell, incident_id)
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "operational"

    firebell.engine.reopen(incident_id, actor="U123", reason="errors are back")
    firebell.deliverer.drain()
    status_incident = statuspage.incident(status_id)
    assert status_incident["status"] == "investigating"
    assert status_incident["resolved_at"] is None
    assert status_incident["incident_updates"][0]["body"].startswith("The issue has come back")
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "major_outage"

    firebell.engine.resolve(incident_id, actor="U123")
    firebell.deliverer.drain()
    calls_before_close = len(statuspage.calls)
    firebell.engine.close(incident_id, actor="U123")
    firebell.deliverer.drain()

    assert len(statuspage.calls) == calls_before_close
    assert statuspage.incident(status_id)["status"] == "resolved"
    assert firebell.engine.get(incident_id).state is IncidentState.CLOSED
    assert deliveries(firebell)[:2] == (0, 0)


def test_links_are_recorded_once_and_seen_by_later_events(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(document(statuspage), environ=ENVIRON)
    incident_id = declare(firebell)
    firebell.engine.post_update(incident_id, "Still on it.", actor="U123", public=True)
    firebell.deliverer.drain()

    links = [
        e.data
        for e in firebell.store.select_events(incident_id)
        if isinstance(e.data, ResourceLinked)
    ]
    assert [(link.plugin, link.kind) for link in links] == [("statuspage", "status-incident")]
    assert len(statuspage.calls_to(CREATE)) == 1
    assert (
        statuspage.incident(links[0].external_id)["incident_updates"][0]["body"] == "Still on it."
    )
