"""Helpers for the web console tests: a plugin that links resources, and incident seeding."""

from __future__ import annotations

import re

from firebell.core import Firebell, Link, hookimpl
from firebell.core.incident import Incident

__all__ = ["Linker", "csrf_fields", "seed"]


class Linker:
    """A test plugin: links what the real plugins would, plus a link no page may make clickable."""

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> list[Link]:
        """Link a channel, a page, a post-mortem, a status page incident and a hostile URL."""
        name = incident.id
        return [
            Link(
                "channel", "C0WEB0001", "https://acme.slack.com/archives/C0WEB0001", f"#incd-{name}"
            ),
            Link(
                "pager-incident",
                "Q1WEB",
                "https://acme.pagerduty.com/incidents/Q1WEB",
                "PagerDuty Q1WEB",
            ),
            Link("document", "abc123", "https://www.notion.so/abc123", f"Post-mortem: {name}"),
            Link(
                "status-incident", "sp-1", "https://status.acme.test/incidents/sp-1", "Statuspage"
            ),
            Link("runbook", "rb", "javascript:alert(document.cookie)", "Hostile runbook"),
        ]


def seed(firebell: Firebell) -> dict[str, Incident]:
    """Four incidents: checkout (SEV1, resolved), search (SEV2, open), login (SEV0, closed),
    billing (SEV2, open, with a commander and an update); delivered to the linker."""
    engine = firebell.engine
    made = {}
    for key, title, severity in [
        ("checkout", "Checkout returns 502", "SEV1"),
        ("search", "Search latency above 2 s", "SEV2"),
        ("login", "Login emails delayed", "SEV0"),
        ("billing", "Billing export stuck", "SEV2"),
    ]:
        made[key] = engine.declare(title=title, severity=severity, reporter="U0REPORTER").incident
    firebell.deliverer.drain()
    engine.resolve(made["checkout"].id, actor="U0COMMANDER", summary="Rolled back")
    engine.resolve(made["login"].id, actor="U0COMMANDER")
    engine.close(made["login"].id, actor="U0COMMANDER")
    engine.assign_commander(made["billing"].id, "U0COMMANDER", actor="U0REPORTER")
    engine.post_update(made["billing"].id, "Export job restarted", actor="U0COMMANDER")
    firebell.deliverer.drain()
    return {
        key: firebell.store.get_incident(incident.id) or incident for key, incident in made.items()
    }


def csrf_fields(html: str) -> dict[str, str]:
    """The hidden fields (csrf, nonce) of the first form on a page."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
