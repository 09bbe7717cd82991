"""A severity name in a plugin's table that is not one of Firebell's (a typo: nobody would ever
be paged, no customer told) stops every command at start, as doctor reports it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import run_firebell_process, write_config

PAGERDUTY = """
[plugins.pagerduty]
api_key = { env = "PAGERDUTY_API_KEY" }
service_id = "PSERVICE1"
requester_email = "oncall@example.com"
"""
STATUSPAGE = """
[plugins.statuspage]
api_key = { env = "STATUSPAGE_API_KEY" }
page_id = "kctbh9vrtdwd"
"""
ENVIRON = {"PAGERDUTY_API_KEY": "u+test-key", "STATUSPAGE_API_KEY": "test-key"}


@pytest.mark.parametrize(
    ("table", "plugin", "said"),
    [
        (
            PAGERDUTY + 'severities = ["SEV-0", "sev1"]\n',
            "pagerduty",
            "severities: 'SEV-0' is not one of the severities (SEV0, SEV1, SEV2)",
        ),
        (
            PAGERDUTY + 'urgency = { "SEV-1" = "high" }\n',
            "pagerduty",
            "urgency: 'SEV-1' is not one of the severities (SEV0, SEV1, SEV2)",
        ),
        (
            STATUSPAGE + 'severities = ["SEV9"]\n',
            "statuspage",
            "severities: 'SEV9' is not one of the severities (SEV0, SEV1, SEV2)",
        ),
        (
            STATUSPAGE + 'impact = { SEV0 = "critical", P1 = "major" }\n',
            "statuspage",
            "impact: 'P1' is not one of the severities (SEV0, SEV1, SEV2)",
        ),
    ],
    ids=["pagerduty-severities", "pagerduty-urgency", "statuspage-severities", "impact"],
)
def test_a_severity_firebell_does_not_have_stops_declare_and_fails_doctor(
    tmp_path: Path, table: str, plugin: str, said: str
) -> None:
    config = write_config(tmp_path, table)
    refusal = f"{config}: [plugins.{plugin}] {said}."

    declare = run_firebell_process(["--config", str(config), "declare", "never paged"], ENVIRON)
    doctor = run_firebell_process(["--config", str(config), "doctor"], ENVIRON)

    assert (declare.code, declare.stdout, declare.stderr.strip()) == (2, "", f"error: {refusal}")
    assert doctor.code == 1
    assert f"fail plugin {plugin}: {refusal}" in doctor.stdout.splitlines()
    assert not (tmp_path / "firebell.db").exists()  # nothing was recorded


def test_severities_of_the_configured_set_in_any_case_are_accepted(tmp_path: Path) -> None:
    config = write_config(tmp_path, PAGERDUTY + 'severities = ["p1"]\nurgency = { P2 = "low" }\n')
    own = '[firebell]\ndefault_severity = "P2"\nseverities = { P1 = "Down", P2 = "Degraded" }\n'
    config.write_text(config.read_text().replace("[firebell]\n", own, 1), encoding="utf-8")

    listing = run_firebell_process(["--config", str(config), "list"], ENVIRON)

    assert (listing.code, listing.stderr) == (0, "")
