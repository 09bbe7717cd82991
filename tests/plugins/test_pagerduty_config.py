"""``[plugins.pagerduty]``: what is refused when Firebell starts, and the defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from firebell.core import ConfigError
from firebell.plugins.pagerduty import PagerDutyConfig

from firebell.testing.pytest_plugin import MakeFirebell

ENVIRON = {"PAGERDUTY_API_KEY": "u+secret-rest-key", "PAGERDUTY_ROUTING_KEY": "R" * 32}
REST: dict[str, Any] = {
    "api_key": {"env": "PAGERDUTY_API_KEY"},
    "service_id": "PSERVICE1",
    "requester_email": "oncall@example.com",
}


def document(**table: Any) -> dict[str, Any]:
    return {"plugins": {"pagerduty": table}}


def config_of(make_firebell: MakeFirebell, **table: Any) -> PagerDutyConfig:
    firebell = make_firebell(document(**table), environ=ENVIRON)
    config = firebell.host.enabled["pagerduty"].config
    assert isinstance(config, PagerDutyConfig)
    return config


def refused(make_firebell: MakeFirebell, environ: dict[str, str] = ENVIRON, **table: Any) -> str:
    with pytest.raises(ConfigError) as error:
        make_firebell(document(**table), environ=environ)
    message = str(error.value)
    assert "plugins.toml" in message
    assert "[plugins.pagerduty]" in message
    assert "u+secret-rest-key" not in message
    return message


def test_rest_defaults(make_firebell: MakeFirebell) -> None:
    config = config_of(make_firebell, **REST)
    assert config.mode == "rest"
    assert config.base_url == "https://api.pagerduty.com"
    assert config.escalation_policy_id is None
    assert config.severities is None
    assert all(config.pages_for(s) for s in ("SEV0", "SEV1", "SEV2"))
    assert [config.urgency_for(s) for s in ("SEV0", "SEV1", "SEV2")] == ["high", "high", "low"]
    assert (config.resolve_on_resolved, config.notes_for_updates) == (True, False)
    assert config.timeout == 10.0
    assert config.api_key is not None
    assert config.api_key.reveal() == "u+secret-rest-key"
    assert "secret" not in repr(config)


def test_events_defaults(make_firebell: MakeFirebell) -> None:
    config = config_of(make_firebell, mode="events", routing_key={"env": "PAGERDUTY_ROUTING_KEY"})
    assert config.base_url == "https://events.pagerduty.com"
    assert config.api_key is None


def test_severities_and_urgency_are_matched_without_case(make_firebell: MakeFirebell) -> None:
    config = config_of(
        make_firebell,
        **REST,
        severities=["sev0", "SEV1"],
        urgency={"sev2": "high", "SEV0": "low"},
        api_url="https://api.eu.pagerduty.com/",
    )
    assert (config.pages_for("SEV0"), config.pages_for("SEV1"), config.pages_for("SEV2")) == (
        True,
        True,
        False,
    )
    # The table adds to the defaults: SEV1 stays high although it is not listed.
    assert [config.urgency_for(s) for s in ("SEV0", "SEV1", "SEV2", "SEV9")] == [
        "low",
        "high",
        "high",
        "low",
    ]
    assert config.base_url == "https://api.eu.pagerduty.com"


@pytest.mark.parametrize(
    ("missing", "hint"),
    [
        ("api_key", 'api_key = { env = "PAGERDUTY_API_KEY" }'),
        ("service_id", 'service_id = "PXXXXXX"'),
        ("requester_email", "requester_email = "),
    ],
)
def test_rest_mode_requires_its_keys(make_firebell: MakeFirebell, missing: str, hint: str) -> None:
    table = {key: value for key, value in REST.items() if key != missing}
    message = refused(make_firebell, **table)
    assert f'{missing} is required when mode = "rest"' in message
    assert hint in message


def test_events_mode_requires_a_routing_key(make_firebell: MakeFirebell) -> None:
    message = refused(make_firebell, mode="events", api_key={"env": "PAGERDUTY_API_KEY"})
    assert 'routing_key is required when mode = "events"' in message
    assert "Events API v2 integration" in message


def test_an_unknown_key_is_refused_with_the_valid_ones(make_firebell: MakeFirebell) -> None:
    message = refused(make_firebell, **REST, urgencies={"SEV1": "high"})
    assert "urgencies" in message
    assert "Valid keys:" in message
    assert "urgency" in message.split("Valid keys:")[1]


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"timeout": "fast"}, "timeout: expected a number, got 'fast'"),
        ({"resolve_on_resolved": "false"}, "resolve_on_resolved: expected true or false"),
        ({"urgency": "high"}, "urgency"),
        ({"severities": 5}, "severities"),
        ({"mode": "pager"}, "mode = 'pager' is not a mode"),
        ({"urgency": {"SEV1": "urgent"}}, "urgency.SEV1 = 'urgent' is not a PagerDuty urgency"),
        ({"severities": "SEV1"}, 'severities: expected a list such as ["SEV1"], not a string'),
        ({"api_url": "http://api.pagerduty.com"}, "api_url = 'http://api.pagerduty.com' is not"),
        ({"requester_email": "oncall"}, "requester_email = 'oncall' is not an email address"),
        ({"service_id": "P-1 2"}, "service_id = 'P-1 2' is not a PagerDuty id"),
        ({"timeout": 0}, "timeout must be more than 0"),
        ({"ca_bundle": "/no/such/ca.pem"}, "ca_bundle = '/no/such/ca.pem' is not a file"),
    ],
)
def test_wrong_values_are_refused_naming_the_key(
    make_firebell: MakeFirebell, table: dict[str, Any], words: str
) -> None:
    message = refused(make_firebell, **{**REST, **table})
    assert words in message


def test_a_key_written_in_the_file_is_refused(make_firebell: MakeFirebell) -> None:
    message = refused(make_firebell, **{**REST, "api_key": "u+secret-rest-key"})
    assert "api_key: secrets are written as environment-variable references" in message
    assert "u+secret-rest-key" not in message


def test_an_unset_environment_variable_is_named(make_firebell: MakeFirebell) -> None:
    message = refused(make_firebell, environ={}, **REST)
    assert "api_key refers to the environment variable PAGERDUTY_API_KEY" in message
    assert "Export PAGERDUTY_API_KEY=" in message


def test_a_ca_bundle_that_exists_is_kept(make_firebell: MakeFirebell, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not checked until a connection is made")
    assert config_of(make_firebell, **REST, ca_bundle=str(bundle)).ca_bundle == str(bundle)
