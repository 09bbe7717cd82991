"""Helpers for the web console tests: a plugin that links resources, incident seeding and
clients by address.

They live here, not in ``conftest.py``: every test folder has a ``conftest`` module, and a test
importing ``from conftest`` gets whichever folder's was imported first when several folders run in
one pytest call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from firebell.core import Firebell, Link, hookimpl
from firebell.core.incident import Incident
from firebell.core.timeline_commands import add_follow_up, add_note, complete_follow_up
from starlette.applications import Starlette
from starlette.testclient import TestClient

__all__ = [
    "TOKEN",
    "Linker",
    "MakeConsole",
    "csrf_fields",
    "local_client",
    "remote_client",
    "seed",
]

TOKEN = "correct-horse-battery-staple-42"
"""The console's shared token in the tests (``FIREBELL_WEB_TOKEN``)."""

MakeConsole = Callable[..., tuple[Firebell, Starlette]]
"""The type of the ``make_console`` fixture."""


def local_client(app: Starlette, host: str = "127.0.0.1") -> TestClient:
    """A client on this machine (peer 127.0.0.1, ``Host: 127.0.0.1:8080``)."""
    shown = f"[{host}]" if ":" in host else host
    return TestClient(app, base_url=f"http://{shown}:8080", client=(host, 50123))


def remote_client(app: Starlette, address: str = "198.51.100.7", **options: Any) -> TestClient:
    """A client elsewhere (peer ``address``), asking for the machine by its name."""
    return TestClient(
        app,
        base_url="http://firebell.example.internal:8080",
        client=(address, 50123),
        follow_redirects=False,
        **options,
    )


class Linker:
    """A test plugin: links what the real plugins would, plus a link no page may make clickable."""

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> list[Link]:
        """Link a channel, a page, a post-mortem, a status page incident and a hostile URL."""
        name = incident.id
        key = name  # each incident its own ids, as real services give
        return [
            Link("channel", f"C{key}", f"https://acme.slack.com/archives/C{key}", f"#incd-{name}"),
            Link(
                "pager-incident",
                f"Q{key}",
                f"https://acme.pagerduty.com/incidents/Q{key}",
                f"PagerDuty Q{key}",
            ),
            Link(
                "document", f"doc-{key}", f"https://www.notion.so/doc-{key}", f"Post-mortem: {name}"
            ),
            Link(
                "status-incident",
                f"sp-{key}",
                f"https://status.acme.test/incidents/sp-{key}",
                "Statuspage",
            ),
            Link("runbook", f"rb-{key}", "javascript:alert(document.cookie)", "Hostile runbook"),
        ]


def seed(firebell: Firebell) -> dict[str, Incident]:
    """Four incidents: checkout (SEV1, resolved, a note, follow-up #1 open and #2 done),
    search (SEV2, open), login (SEV0, closed), billing (SEV2, open, with a commander and an
    update); delivered to the linker."""
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
    checkout = made["checkout"].id
    add_note(engine, checkout, "Payments queue drained", actor="U0COMMANDER")
    add_follow_up(engine, checkout, "Alert on 5xx above 2%", actor="U0COMMANDER", owner="U0SRE")
    add_follow_up(engine, checkout, "Canary the payments deploy", actor="U0COMMANDER")
    complete_follow_up(engine, checkout, 2, actor="U0SRE")
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
