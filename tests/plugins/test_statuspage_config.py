"""The ``[plugins.statuspage]`` table: defaults, refused values, and ``check()`` for doctor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from firebell.core import ConfigError
from firebell.core.runtime import Firebell
from firebell.plugins.statuspage import StatuspageConfig, check

from firebell.testing.fake_statuspage import (
    STATUSPAGE_API_KEY,
    STATUSPAGE_COMPONENT_API,
    STATUSPAGE_PAGE_ID,
    FakeStatuspage,
)
from firebell.testing.pytest_plugin import MakeFirebell

ENVIRON = {"STATUSPAGE_API_KEY": STATUSPAGE_API_KEY}


@pytest.fixture
def statuspage() -> Iterator[FakeStatuspage]:
    with FakeStatuspage() as fake:
        yield fake


def table(**options: Any) -> dict[str, Any]:
    return {
        "plugins": {
            "statuspage": {
                "api_key": {"env": "STATUSPAGE_API_KEY"},
                "page_id": STATUSPAGE_PAGE_ID,
                **options,
            }
        }
    }


def config_of(firebell: Firebell) -> StatuspageConfig:
    config = firebell.host.enabled["statuspage"].config
    assert isinstance(config, StatuspageConfig)
    return config


def test_defaults(make_firebell: MakeFirebell) -> None:
    config = config_of(make_firebell(table(), environ=ENVIRON))

    assert config.api_key.reveal() == STATUSPAGE_API_KEY
    assert config.api_key.env == "STATUSPAGE_API_KEY"
    assert STATUSPAGE_API_KEY not in repr(config)
    assert config.api_url == "https://api.statuspage.io/v1"
    assert config.severities == []
    assert config.impact == {"SEV0": "critical", "SEV1": "major", "SEV2": "minor"}
    assert config.components == {}
    assert config.deliver_notifications is True
    assert config.update_status is None
    assert config.requests_per_second == 1.0
    assert config.timeout == 10.0
    assert config.impact_for("sev1") == "major"
    assert not config.opens_for("SEV0")


def test_every_key(make_firebell: MakeFirebell) -> None:
    settings = table(
        api_url="http://statuspage.internal:8080/v1/",
        severities=["SEV0"],
        impact={"SEV0": "major"},
        components={STATUSPAGE_COMPONENT_API: "under_maintenance"},
        deliver_notifications=False,
        initial_message="{title}",
        update_status="monitoring",
        resolved_message="Over: {summary}",
        reopened_message="Back: {summary}",
        requests_per_second=0.5,
        timeout=3,
    )
    config = config_of(make_firebell(settings, environ=ENVIRON))

    assert config.api_url == "http://statuspage.internal:8080/v1"
    assert config.opens_for("sev0")
    assert config.impact_for("SEV1") is None
    assert config.components == {STATUSPAGE_COMPONENT_API: "under_maintenance"}
    assert (config.update_status, config.requests_per_second, config.timeout) == (
        "monitoring",
        0.5,
        3.0,
    )


@pytest.mark.parametrize(
    ("options", "environ", "message"),
    [
        pytest.param(
            {}, {}, "api_key refers to the environment variable STATUSPAGE_API_KEY", id="no-env"
        ),
        pytest.param(
            {"api_key": STATUSPAGE_API_KEY},
            ENVIRON,
            "api_key: secrets are written as environment-variable references",
            id="plain-key",
        ),
        pytest.param({"page_id": None}, ENVIRON, "page_id", id="no-page"),
        pytest.param(
            {"page_id": "../pages"}, ENVIRON, "is not a Statuspage page id", id="page-id-path"
        ),
        pytest.param({"pageid": "x"}, ENVIRON, "unknown key 'pageid'", id="unknown-key"),
        pytest.param({"api_url": "statuspage.io"}, ENVIRON, "is not an http(s) URL", id="api-url"),
        pytest.param(
            {"impact": {"SEV0": "huge"}},
            ENVIRON,
            "impact.SEV0 = 'huge' is not a Statuspage impact; choose one from none, minor",
            id="impact",
        ),
        pytest.param(
            {"components": {STATUSPAGE_COMPONENT_API: "down"}},
            ENVIRON,
            f"components.{STATUSPAGE_COMPONENT_API} = 'down' is not a component status",
            id="component-status",
        ),
        pytest.param(
            {"components": {"API": "major_outage", "web site": "major_outage"}},
            ENVIRON,
            "'web site' is not a Statuspage component id",
            id="component-id",
        ),
        pytest.param(
            {"components": ["fbcompapi001"]},
            ENVIRON,
            'components: expected a table, like { name = "value" }',
            id="components-list",
        ),
        pytest.param(
            {"initial_message": "Hello {customer}"},
            ENVIRON,
            "initial_message uses {customer}; the placeholders are {title}",
            id="template-field",
        ),
        pytest.param(
            {"resolved_message": "{title.__class__}"},
            ENVIRON,
            "resolved_message uses {title.__class__}",
            id="template-attribute",
        ),
        pytest.param(
            {"reopened_message": "Back {"},
            ENVIRON,
            "reopened_message is not a valid template",
            id="template-syntax",
        ),
        pytest.param(
            {"update_status": "resolved"},
            ENVIRON,
            "update_status = 'resolved' is not an open incident status",
            id="update-status",
        ),
        pytest.param(
            {"requests_per_second": 0},
            ENVIRON,
            "requests_per_second must be more than 0",
            id="rate",
        ),
        pytest.param(
            {"severities": "SEV0"},
            ENVIRON,
            'severities: expected a list such as ["SEV0"], not a string',
            id="severities-string",
        ),
        pytest.param(
            {"deliver_notifications": "false"},
            ENVIRON,
            "deliver_notifications",
            id="notifications-string",
        ),
        pytest.param(
            {"severities": ["sev0", "SEV9"]},
            ENVIRON,
            "[plugins.statuspage] severities: 'SEV9' is not one of the severities (SEV0, SEV1, "
            "SEV2).",
            id="severities-not-firebells",
        ),
        pytest.param(
            {"impact": {"Sev1": "major", "P1": "minor"}},
            ENVIRON,
            "[plugins.statuspage] impact: 'P1' is not one of the severities (SEV0, SEV1, SEV2).",
            id="impact-not-firebells",
        ),
        pytest.param(
            {"timeout": "soon"},
            ENVIRON,
            "timeout: expected a number, got 'soon'",
            id="timeout",
        ),
    ],
)
def test_config_errors_name_the_table_and_key(
    make_firebell: MakeFirebell, options: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    settings = table(**options)
    statuspage_table = settings["plugins"]["statuspage"]
    for key in [k for k, v in statuspage_table.items() if v is None]:
        del statuspage_table[key]
    with pytest.raises(ConfigError) as raised:
        make_firebell(settings, environ=environ)
    text = str(raised.value)
    assert "[plugins.statuspage]" in text
    assert message in text or re.search(message, text), text
    assert STATUSPAGE_API_KEY not in text
    # The plugin's own words, not wrapped in the converter's ("(table): invalid type (…)").
    assert "(table)" not in text and "invalid type (" not in text, text


# -- check() -----------------------------------------------------------------------------------


def test_check_passes_a_working_setup(
    make_firebell: MakeFirebell, statuspage: FakeStatuspage
) -> None:
    firebell = make_firebell(
        table(
            api_url=statuspage.url + "/v1",
            components={STATUSPAGE_COMPONENT_API: "major_outage"},
            requests_per_second=1000.0,
        ),
        environ=ENVIRON,
    )
    assert check(config_of(firebell)) == []
    assert [c.path for c in statuspage.calls] == [
        f"/v1/pages/{STATUSPAGE_PAGE_ID}",
        f"/v1/pages/{STATUSPAGE_PAGE_ID}/components",
    ]


def test_check_names_what_is_wrong(make_firebell: MakeFirebell, statuspage: FakeStatuspage) -> None:
    firebell = make_firebell(
        table(
            api_url=statuspage.url + "/v1",
            components={"nosuchcomp01": "major_outage"},
            requests_per_second=1000.0,
        ),
        environ=ENVIRON,
    )
    problems = check(config_of(firebell))

    assert problems == [
        "[plugins.statuspage] components: 'nosuchcomp01' is not a component of page "
        f"'{STATUSPAGE_PAGE_ID}' (its components: fbcompapi001 (API), fbcompweb001 (Website))",
    ]


@pytest.mark.parametrize(
    ("options", "environ", "message"),
    [
        pytest.param(
            {},
            {"STATUSPAGE_API_KEY": "0000wrongkey0000"},
            "the Statuspage API key was refused (HTTP 401)",
            id="key",
        ),
        pytest.param(
            {"page_id": "nosuchpage"}, ENVIRON, "page id 'nosuchpage' not found", id="page"
        ),
    ],
)
def test_check_reports_a_refused_key_or_unknown_page(
    make_firebell: MakeFirebell,
    statuspage: FakeStatuspage,
    options: dict[str, Any],
    environ: dict[str, str],
    message: str,
) -> None:
    settings = table(api_url=statuspage.url + "/v1", requests_per_second=1000.0, **options)
    firebell = make_firebell(settings, environ=environ)

    [problem] = check(config_of(firebell))

    assert message in problem
    assert "STATUSPAGE_API_KEY" in problem
    assert "0000wrongkey0000" not in problem


def test_check_reports_an_unreachable_api(make_firebell: MakeFirebell) -> None:
    with FakeStatuspage() as stopped:
        url = stopped.url + "/v1"
    firebell = make_firebell(table(api_url=url, timeout=1), environ=ENVIRON)

    [problem] = check(config_of(firebell))

    assert problem.startswith(f"could not reach Statuspage at {url} to read the page")
