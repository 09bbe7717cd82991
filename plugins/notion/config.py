"""``[plugins.notion]``: the token, the post-mortems database, property names and limits."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import attrs
from firebell.core import Secret

__all__ = [
    "DEFAULT_API_URL",
    "NotionConfig",
    "PropertyNames",
    "StatusValues",
    "normalize_database_id",
]

DEFAULT_API_URL = "https://api.notion.com"

_HEX_ID = re.compile(r"[0-9a-fA-F]{32}")


def normalize_database_id(value: str) -> str:
    """The database id in ``value``: a UUID with or without dashes, or a Notion database URL.

    People copy the database's link from Notion (``https://www.notion.so/team/Post-mortems-
    0442a94f7f6045fe9cad3d06bb956d4d?v=…``); the id is the 32 hex digits before ``?v=``.
    """
    text = value.strip()
    if "://" in text:
        path = urlsplit(text).path
        found = _HEX_ID.findall(path.replace("-", ""))
        if found:
            return _dashed(found[-1])
    elif _HEX_ID.fullmatch(text.replace("-", "")):
        return _dashed(text.replace("-", ""))
    raise ValueError(
        f"database_id = {value!r} is not a Notion database id; copy the database's link "
        "from Notion (Share → Copy link) and use the 32 hexadecimal digits before '?v='"
    )


def _dashed(hex_id: str) -> str:
    h = hex_id.lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _strip_url(value: str) -> str:
    return value.strip().rstrip("/")


def _check_api_url(_instance: Any, _attribute: Any, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"api_url = {value!r} must be an http(s) URL such as {DEFAULT_API_URL!r} (without /v1)."
        )


def _positive(_instance: Any, attribute: Any, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be more than 0, got {value!r}.")


def _non_empty(_instance: Any, attribute: Any, value: str) -> None:
    if not value.strip():
        raise ValueError(f"{attribute.name} must name something; it is empty.")


@attrs.frozen
class PropertyNames:
    """``[plugins.notion.properties]``: which database property holds what.

    ``name`` must be the database's title property and ``incident`` a text property (it is how
    Firebell finds an incident's page again). Set any other role to ``""`` to leave it out.
    """

    name: str = attrs.field(default="Name", validator=_non_empty)
    title: str = "Title"
    severity: str = "Severity"
    status: str = "Status"
    channel: str = "Slack channel"
    pager: str = "PagerDuty"
    declared_at: str = "Declared at"
    duration: str = "Duration (minutes)"
    incident: str = attrs.field(default="Incident", validator=_non_empty)

    def __attrs_post_init__(self) -> None:
        seen: dict[str, str] = {}
        for role, prop in self.roles().items():
            if prop in seen:
                raise ValueError(
                    f"properties.{seen[prop]} and properties.{role} both name {prop!r}; "
                    "each role needs its own property."
                )
            seen[prop] = role

    def roles(self) -> dict[str, str]:
        """Role → property name, for the roles that are switched on (non-empty)."""
        return {
            field.name: getattr(self, field.name)
            for field in attrs.fields(PropertyNames)
            if getattr(self, field.name).strip()
        }


@attrs.frozen
class StatusValues:
    """``[plugins.notion.status_values]``: the Status option for each incident state."""

    open: str = attrs.field(default="Open", validator=_non_empty)
    resolved: str = attrs.field(default="Resolved", validator=_non_empty)
    closed: str = attrs.field(default="Closed", validator=_non_empty)

    def for_state(self, state: str) -> str:
        """The option for an incident state (``open``, ``resolved`` or ``closed``)."""
        value: str = getattr(self, state)
        return value


# eq=False: the plugin keeps one client (and the resolved data source id) per configuration
# object, which needs an identity hash.
@attrs.frozen(eq=False)
class NotionConfig:
    """``[plugins.notion]``.

    ``token`` is the integration's secret (``{ env = "NOTION_TOKEN" }``); ``database_id`` the
    post-mortems database (its id or its link); ``api_url`` where the Notion API is (a proxy or
    a local fake in tests); ``requests_per_second`` stays under Notion's average of 3;
    ``timeout_seconds`` bounds each request.
    """

    token: Secret
    database_id: str = attrs.field(converter=normalize_database_id)
    api_url: str = attrs.field(
        default=DEFAULT_API_URL,
        converter=_strip_url,
        validator=_check_api_url,
    )
    properties: PropertyNames = attrs.field(factory=PropertyNames)
    status_values: StatusValues = attrs.field(factory=StatusValues)
    requests_per_second: float = attrs.field(default=3.0, validator=_positive)
    timeout_seconds: float = attrs.field(default=30.0, validator=_positive)
