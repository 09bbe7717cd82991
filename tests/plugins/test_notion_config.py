"""``[plugins.notion]``: defaults, what is refused at start-up, and how the refusal reads."""

from __future__ import annotations

from typing import Any

import pytest
from firebell.core import ConfigError
from firebell.plugins.notion import NotionConfig, PropertyNames, StatusValues

from firebell.testing.fake_notion import NOTION_DATABASE_ID
from firebell.testing.pytest_plugin import MakeFirebell

ENVIRON = {"NOTION_TOKEN": "ntn_secret_value"}


def notion_table(**options: Any) -> dict[str, Any]:
    table: dict[str, Any] = {"token": {"env": "NOTION_TOKEN"}, "database_id": NOTION_DATABASE_ID}
    table.update(options)
    return {key: value for key, value in table.items() if value is not None}


def configured(make_firebell: MakeFirebell, **options: Any) -> NotionConfig:
    firebell = make_firebell({"plugins": {"notion": notion_table(**options)}}, environ=ENVIRON)
    config = firebell.host.enabled["notion"].config
    assert isinstance(config, NotionConfig)
    return config


def test_defaults(make_firebell: MakeFirebell) -> None:
    config = configured(make_firebell)

    assert config.token.reveal() == "ntn_secret_value"
    assert config.database_id == NOTION_DATABASE_ID
    assert config.api_url == "https://api.notion.com"
    assert config.requests_per_second == 3.0
    assert config.timeout_seconds == 30.0
    assert config.properties == PropertyNames()
    assert config.properties.roles() == {
        "name": "Name",
        "title": "Title",
        "severity": "Severity",
        "status": "Status",
        "channel": "Slack channel",
        "pager": "PagerDuty",
        "declared_at": "Declared at",
        "duration": "Duration (minutes)",
        "incident": "Incident",
    }
    assert config.status_values == StatusValues("Open", "Resolved", "Closed")
    assert "ntn_secret_value" not in repr(config)


def test_the_plugin_waits_for_slack(make_firebell: MakeFirebell) -> None:
    firebell = make_firebell(
        {"plugins": {"slack": {"enabled": False}, "notion": notion_table()}}, environ=ENVIRON
    )
    spec = firebell.host.enabled["notion"].spec
    assert spec.after == ("slack",)


@pytest.mark.parametrize(
    "given",
    [
        "0442a94f7f6045fe9cad3d06bb956d4d",
        "0442A94F-7F60-45FE-9CAD-3D06BB956D4D",
        "https://www.notion.so/acme/0442a94f7f6045fe9cad3d06bb956d4d?v=1b2c3d4e5f60718293a4b5c6d7e8f901",
        "https://www.notion.so/acme/Post-mortems-0442a94f7f6045fe9cad3d06bb956d4d?v=abc&pvs=4",
    ],
)
def test_the_database_id_may_be_copied_from_notion(make_firebell: MakeFirebell, given: str) -> None:
    assert configured(make_firebell, database_id=given).database_id == NOTION_DATABASE_ID


def test_properties_and_status_values_can_be_renamed_or_switched_off(
    make_firebell: MakeFirebell,
) -> None:
    config = configured(
        make_firebell,
        api_url="http://localhost:9000/",
        requests_per_second=1,
        properties={"name": "Incident name", "pager": "", "duration": ""},
        status_values={"closed": "Done"},
    )

    assert config.api_url == "http://localhost:9000"
    assert config.requests_per_second == 1.0
    roles = config.properties.roles()
    assert roles["name"] == "Incident name"
    assert "pager" not in roles and "duration" not in roles
    assert config.status_values.for_state("closed") == "Done"
    assert config.status_values.for_state("open") == "Open"


@pytest.mark.parametrize(
    ("options", "environ", "message"),
    [
        ({"token": None}, ENVIRON, "token: required field missing"),
        (
            {"token": "ntn_pasted_in_the_file"},
            ENVIRON,
            "token: secrets are written as environment-variable references",
        ),
        ({}, {}, "refers to the environment variable NOTION_TOKEN, which is not set"),
        ({"database_id": None}, ENVIRON, "database_id: required field missing"),
        ({"database_id": "post-mortems"}, ENVIRON, "is not a Notion database id"),
        (
            {"api_url": "api.notion.com"},
            ENVIRON,
            "api_url = 'api.notion.com' must be an http(s) URL",
        ),
        ({"requests_per_second": 0}, ENVIRON, "requests_per_second must be more than 0"),
        ({"requests_per_second": "fast"}, ENVIRON, "requests_per_second: expected a number"),
        ({"timeout_seconds": -1}, ENVIRON, "timeout_seconds must be more than 0"),
        ({"databse_id": NOTION_DATABASE_ID}, ENVIRON, "unknown key 'databse_id'"),
        ({"properties": {"severty": "Sev"}}, ENVIRON, "properties: unknown key 'severty'"),
        ({"properties": {"incident": ""}}, ENVIRON, "incident must name something"),
        (
            {"properties": {"title": "Name"}},
            ENVIRON,
            "properties.name and properties.title both name 'Name'",
        ),
        ({"status_values": {"open": " "}}, ENVIRON, "open must name something"),
    ],
    ids=[
        "no-token",
        "token-in-the-file",
        "token-variable-unset",
        "no-database",
        "database-not-an-id",
        "api-url-not-a-url",
        "zero-rate",
        "rate-not-a-number",
        "negative-timeout",
        "misspelt-key",
        "unknown-role",
        "incident-switched-off",
        "two-roles-one-property",
        "empty-status",
    ],
)
def test_config_errors_name_the_table_and_say_what_is_wrong(
    make_firebell: MakeFirebell, options: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        make_firebell({"plugins": {"notion": notion_table(**options)}}, environ=environ)

    text = str(raised.value)
    assert "[plugins.notion]" in text
    assert message in text
    assert "plugins.toml" in text
    assert "ntn_" not in text  # neither the token from the environment nor one pasted in
