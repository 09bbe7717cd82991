"""``check(config)``: what ``firebell doctor`` will ask PagerDuty about the settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from firebell.core import ConfigError
from firebell.plugins.pagerduty import PagerDutyConfig, check

from firebell.testing.fake_http import Fault
from firebell.testing.fake_pagerduty import FakePagerDuty
from firebell.testing.pytest_plugin import MakeFirebell

ENVIRON = {
    "PAGERDUTY_API_KEY": FakePagerDuty.API_KEY,
    "PAGERDUTY_ROUTING_KEY": FakePagerDuty.ROUTING_KEY,
}


@pytest.fixture
def fake() -> Iterator[FakePagerDuty]:
    with FakePagerDuty() as service:
        yield service


@pytest.fixture
def configure(make_firebell: MakeFirebell, fake: FakePagerDuty, tmp_path: Path) -> Any:
    """``configure(environ=..., **table)``: the plugin's config as Firebell builds it."""
    bundle = fake.write_ca_bundle(tmp_path / "ca.pem")

    def make(environ: dict[str, str] = ENVIRON, **table: Any) -> PagerDutyConfig:
        options: dict[str, Any] = {
            "api_key": {"env": "PAGERDUTY_API_KEY"},
            "service_id": FakePagerDuty.SERVICE_ID,
            "escalation_policy_id": FakePagerDuty.ESCALATION_POLICY_ID,
            "requester_email": FakePagerDuty.USER_EMAIL,
            "api_url": fake.url,
            "ca_bundle": str(bundle),
            **table,
        }
        firebell = make_firebell({"plugins": {"pagerduty": options}}, environ=environ)
        config = firebell.host.enabled["pagerduty"].config
        assert isinstance(config, PagerDutyConfig)
        return config

    return make


def test_good_settings_have_no_problems(configure: Any, fake: FakePagerDuty) -> None:
    assert check(configure()) == []
    paths = [c.path for c in fake.calls]
    assert paths == [
        f"/services/{FakePagerDuty.SERVICE_ID}",
        f"/escalation_policies/{FakePagerDuty.ESCALATION_POLICY_ID}",
        "/users",
    ]
    assert all(c.request.method == "GET" for c in fake.calls)  # check never writes


def test_unknown_ids_and_requester_are_each_reported(configure: Any) -> None:
    problems = check(
        configure(
            service_id="PNOSUCH",
            escalation_policy_id="PNOPOLICY",
            requester_email="nobody@example.com",
        )
    )
    assert problems == [
        "service_id = 'PNOSUCH' was not found in PagerDuty; copy the id from the address of "
        "its page in PagerDuty",
        "escalation_policy_id = 'PNOPOLICY' was not found in PagerDuty; copy the id from the "
        "address of its page in PagerDuty",
        "requester_email = 'nobody@example.com' is not a PagerDuty user; give the email of a "
        "user who may open incidents on the service",
    ]


def test_a_refused_key_is_reported_once(configure: Any, fake: FakePagerDuty) -> None:
    environ = {**ENVIRON, "PAGERDUTY_API_KEY": "u+not-a-key"}
    [problem] = check(configure(environ=environ))
    assert "the PagerDuty API key was refused" in problem
    assert "PAGERDUTY_API_KEY" in problem
    assert "not-a-key" not in problem
    assert len(fake.calls) == 1


def test_an_outage_is_reported(configure: Any, fake: FakePagerDuty) -> None:
    config = configure()
    fake.fail_next(".*", Fault(status=503), times=5)
    [problem] = check(config)
    assert "PagerDuty answered 503" in problem


def test_severity_names_firebell_does_not_have_are_refused_when_loading(
    configure: Any,
) -> None:
    with pytest.raises(ConfigError) as refused:
        configure(severities=["sev0", "SEV9"], urgency={"P1": "high", "Sev1": "low"})

    assert str(refused.value).endswith(
        "plugins.toml: [plugins.pagerduty] severities: 'SEV9' is not one of the severities "
        "(SEV0, SEV1, SEV2); urgency: 'P1' is not one of the severities (SEV0, SEV1, SEV2)."
    )


def test_events_mode_checks_the_routing_key_shape(configure: Any, fake: FakePagerDuty) -> None:
    good = configure(mode="events", routing_key={"env": "PAGERDUTY_ROUTING_KEY"})
    assert check(good) == []
    short = configure(
        environ={**ENVIRON, "PAGERDUTY_ROUTING_KEY": "abc"},
        mode="events",
        routing_key={"env": "PAGERDUTY_ROUTING_KEY"},
    )
    [problem] = check(short)
    assert "PAGERDUTY_ROUTING_KEY does not look like an Events API v2 routing key" in problem
    assert fake.calls == []  # nothing is sent: an event would page someone
