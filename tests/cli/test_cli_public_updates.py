"""``firebell update NAME TEXT --public`` says when the update reached no status page, and why:
Statuspage not enabled, or the incident has no status page incident (not customer facing, its
severity not listed). The Statuspage plugin runs against the fake Statuspage over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Outcome, run_firebell, write_config

from firebell.testing.fake_statuspage import STATUSPAGE_API_KEY, STATUSPAGE_PAGE_ID, FakeStatuspage

ENV = {"STATUSPAGE_API_KEY": STATUSPAGE_API_KEY}


@pytest.fixture
def statuspage() -> Iterator[FakeStatuspage]:
    with FakeStatuspage() as fake:
        yield fake


def fb(config: Path, *args: str) -> Outcome:
    outcome = run_firebell(["--config", str(config), *args], env=ENV)
    assert outcome.code == 0, outcome
    return outcome


def notes(outcome: Outcome) -> str:
    """The notes on standard error (the console plugin writes its lines there too)."""
    return "".join(line + "\n" for line in outcome.stderr.splitlines() if line.startswith("note"))


def declare(config: Path, *args: str) -> str:
    name: str = fb(config, "declare", "Checkout failing", *args, "--json").json()["incident"]["id"]
    return name


def test_a_public_update_without_statuspage_says_it_stayed_inside(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    name = declare(config)

    posted = fb(config, "update", name, "We fixed it", "--public")

    assert posted.stdout == f"{name}: update posted. State: open, SEV2.\n"
    assert notes(posted) == (
        f"note: {name}: the update was posted internally only: Statuspage is not enabled "
        f"(no [plugins.statuspage] table in {config}).\n"
    )
    assert notes(fb(config, "update", name, "Still looking")) == "", "internal: nothing to say"


def test_a_public_update_of_an_incident_without_a_status_incident_says_why(
    tmp_path: Path, statuspage: FakeStatuspage
) -> None:
    config = write_config(
        tmp_path,
        f"""
[plugins.statuspage]
api_key = {{ env = "STATUSPAGE_API_KEY" }}
page_id = "{STATUSPAGE_PAGE_ID}"
api_url = "{statuspage.url}/v1"
severities = ["SEV0"]
""",
    )
    internal = declare(config, "-s", "SEV2")
    public = declare(config, "-s", "SEV0")
    assert len(statuspage.incidents) == 1

    quiet = fb(config, "update", internal, "We fixed it", "--public", "--json")
    assert quiet.json()["incident"]["id"] == internal
    assert notes(quiet) == (
        f"note: {internal}: the update was posted internally only: it has no status page "
        "incident, as it is not customer facing and SEV2 is not in [plugins.statuspage] "
        "severities (SEV0).\n"
    )
    told = fb(config, "update", public, "We fixed it", "--public")
    assert notes(told) == "", "published: nothing to add"
    [opened] = statuspage.incidents
    assert "We fixed it" in [update["body"] for update in opened["incident_updates"]]

    config.write_text(
        config.read_text().replace("[plugins.statuspage]", "[plugins.statuspage]\nenabled = false")
    )
    off = fb(config, "update", internal, "Monitoring", "--public")
    assert (
        f"note: {internal}: the update was posted internally only: Statuspage is switched off "
        f"(`enabled = false` in [plugins.statuspage] of {config}).\n"
    ) in notes(off)
