"""The ``[plugins.pagerduty]`` table: how to reach PagerDuty and when to page.

Values are checked when ``plugins.toml`` is read, so a missing key for the chosen mode or a typo in
an urgency fails at start-up, not in the middle of an incident.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import attrs
from firebell.core.secrets import Secret

__all__ = [
    "DEFAULT_EVENTS_URL",
    "DEFAULT_REST_URL",
    "DEFAULT_URGENCY",
    "MODES",
    "URGENCIES",
    "InvalidSetting",
    "PagerDutyConfig",
]

DEFAULT_REST_URL: Final = "https://api.pagerduty.com"
"""PagerDuty's REST API v2 (US service region)."""

DEFAULT_EVENTS_URL: Final = "https://events.pagerduty.com"
"""PagerDuty's Events API v2 (US service region)."""

MODES: Final = ("rest", "events")
"""``rest``: REST API v2 with an API key; ``events``: Events API v2 with a routing key."""

URGENCIES: Final = ("high", "low")
"""The urgencies a PagerDuty incident can have."""

DEFAULT_URGENCY: Final = {"SEV0": "high", "SEV1": "high"}
"""Severities paged with high urgency by default; every other severity is low."""

_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+$")


class InvalidSetting(ValueError):
    """Raised when a ``[plugins.pagerduty]`` value has the right type but is not allowed; the
    core adds the file and the table to its message."""


def _check_mode(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in MODES:
        raise InvalidSetting(
            f'{attribute.name} = {value!r} is not a mode; choose "rest" (REST API key, the '
            'default) or "events" (Events API v2 routing key)'
        )


def _check_optional_id(_: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not re.fullmatch(r"[A-Za-z0-9]+", value):
        raise InvalidSetting(
            f"{attribute.name} = {value!r} is not a PagerDuty id; copy it from the address of "
            "its page in PagerDuty (letters and digits, e.g. 'PABC123')"
        )


def _check_email(_: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not _EMAIL.match(value):
        raise InvalidSetting(
            f"{attribute.name} = {value!r} is not an email address; give the email of a "
            "PagerDuty user (it is sent as the From: header)"
        )


def _check_api_url(_: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not re.match(r"^https://[^/\s]+", value):
        raise InvalidSetting(
            f"{attribute.name} = {value!r} is not an https:// URL (the pagerduty client "
            f"refuses anything else); leave it out for {DEFAULT_REST_URL} (rest) or "
            f"{DEFAULT_EVENTS_URL} (events)"
        )


def _check_severities(
    _: Any, attribute: attrs.Attribute[tuple[str, ...] | None], value: tuple[str, ...] | None
) -> None:
    if value is None:
        return
    # A string instead of a list ("SEV1") is refused when the table is read, for every plugin.
    for name in value:
        if not name.strip():
            raise InvalidSetting(f"{attribute.name} holds an empty severity name")


def _check_urgency(
    _: Any, attribute: attrs.Attribute[dict[str, str]], value: dict[str, str]
) -> None:
    for severity, urgency in value.items():
        if urgency not in URGENCIES:
            raise InvalidSetting(
                f"{attribute.name}.{severity} = {urgency!r} is not a PagerDuty urgency; "
                'choose "high" or "low"'
            )


def _check_timeout(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 < value <= 120:
        raise InvalidSetting(
            f"{attribute.name} must be more than 0 and at most 120 seconds, not {value!r}"
        )


def _check_ca_bundle(_: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not Path(value).is_file():
        raise InvalidSetting(
            f"{attribute.name} = {value!r} is not a file; give the path of a PEM file with the "
            "certificate authority to trust, or leave it out to trust the system's"
        )


# eq=False: settings are compared by identity, which keeps them hashable (dict fields are not).
@attrs.frozen(eq=False)
class PagerDutyConfig:
    """The ``[plugins.pagerduty]`` table; every key is described in docs/plugins/pagerduty.md.

    ``mode = "rest"`` (default) needs ``api_key``, ``service_id`` and ``requester_email``;
    ``mode = "events"`` needs ``routing_key``.
    """

    mode: str = attrs.field(default="rest", validator=_check_mode)
    api_key: Secret | None = None
    routing_key: Secret | None = None
    service_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    escalation_policy_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    requester_email: str | None = attrs.field(default=None, validator=_check_email)
    api_url: str | None = attrs.field(default=None, validator=_check_api_url)
    severities: tuple[str, ...] | None = attrs.field(default=None, validator=_check_severities)
    urgency: dict[str, str] = attrs.field(factory=dict, validator=_check_urgency)
    resolve_on_resolved: bool = True
    notes_for_updates: bool = False
    timeout: float = attrs.field(default=10.0, validator=_check_timeout)
    ca_bundle: str | None = attrs.field(default=None, validator=_check_ca_bundle)

    def __attrs_post_init__(self) -> None:
        if self.mode == "rest":
            missing = [
                (key, hint)
                for key, value, hint in (
                    ("api_key", self.api_key, 'api_key = { env = "PAGERDUTY_API_KEY" }'),
                    ("service_id", self.service_id, 'service_id = "PXXXXXX"'),
                    (
                        "requester_email",
                        self.requester_email,
                        'requester_email = "oncall-bot@example.com"',
                    ),
                )
                if value is None
            ]
            if missing:
                key, hint = missing[0]
                raise InvalidSetting(
                    f'{key} is required when mode = "rest"; add {hint}, or set mode = "events" '
                    "with a routing_key"
                )
        elif self.routing_key is None:
            raise InvalidSetting(
                'routing_key is required when mode = "events"; add routing_key = '
                '{ env = "PAGERDUTY_ROUTING_KEY" } (the Integration Key of an Events API v2 '
                "integration on your service)"
            )

    @property
    def base_url(self) -> str:
        """``api_url`` without a trailing slash, or the real service's URL for the mode."""
        if self.api_url is not None:
            return self.api_url.rstrip("/")
        return DEFAULT_REST_URL if self.mode == "rest" else DEFAULT_EVENTS_URL

    def pages_for(self, severity: str) -> bool:
        """Whether an incident of ``severity`` is paged (``severities`` unset: every one)."""
        if self.severities is None:
            return True
        return any(name.casefold() == severity.casefold() for name in self.severities)

    def urgency_for(self, severity: str) -> str:
        """``high`` or ``low``: ``urgency`` first, then :data:`DEFAULT_URGENCY`, else ``low``."""
        for mapping in (self.urgency, DEFAULT_URGENCY):
            for name, urgency in mapping.items():
                if name.casefold() == severity.casefold():
                    return urgency
        return "low"
