"""The ``[plugins.statuspage]`` table: which page, which components, what to tell customers.

Values are checked when ``plugins.toml`` is read, so a typo in a component status or a template
fails at start-up, not in the middle of an incident.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, Final

import attrs
from firebell.core.secrets import Secret

__all__ = [
    "COMPONENT_STATUSES",
    "DEFAULT_API_URL",
    "DEFAULT_IMPACT",
    "IMPACTS",
    "TEMPLATE_FIELDS",
    "UPDATE_STATUSES",
    "InvalidSetting",
    "StatuspageConfig",
    "render",
]

DEFAULT_API_URL: Final = "https://api.statuspage.io/v1"
"""Statuspage's REST API v1."""

IMPACTS: Final = ("none", "minor", "major", "critical")
"""The values Statuspage accepts for an incident's ``impact_override``."""

COMPONENT_STATUSES: Final = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
"""The statuses a Statuspage component can be set to."""

UPDATE_STATUSES: Final = ("investigating", "identified", "monitoring")
"""The statuses of an unresolved Statuspage incident."""

DEFAULT_IMPACT: Final = {"SEV0": "critical", "SEV1": "major", "SEV2": "minor"}
"""Firebell's default severities mapped to Statuspage impacts."""

TEMPLATE_FIELDS: Final = ("title", "description", "severity", "impact", "summary")
"""The ``{placeholders}`` the message templates may use."""

DEFAULT_INITIAL_MESSAGE: Final = (
    "We are investigating an issue affecting our service and will post updates here."
)
DEFAULT_RESOLVED_MESSAGE: Final = "This incident has been resolved. Thank you for your patience."
DEFAULT_REOPENED_MESSAGE: Final = (
    "The issue has come back. We are investigating and will post updates here."
)

_ID: Final = re.compile(r"^[A-Za-z0-9_-]+$")


class InvalidSetting(ValueError):
    """Raised when a ``[plugins.statuspage]`` value has the right type but is not allowed; the
    core adds the file and the table to its message."""


def _one_of(allowed: tuple[str, ...], what: str) -> str:
    return f"choose {what} from {', '.join(allowed)}"


def _check_page_id(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not _ID.match(value):
        raise InvalidSetting(
            f"{attribute.name} = {value!r} is not a Statuspage page id; copy it from "
            "Statuspage > your page > API info (letters and digits, e.g. 'kctbh9vrtdwd')"
        )


def _check_api_url(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not re.match(r"^https?://[^/\s]+", value):
        raise InvalidSetting(
            f"{attribute.name} = {value!r} is not an http(s) URL; leave it out for "
            f"{DEFAULT_API_URL}"
        )


def _check_severities(_: Any, attribute: attrs.Attribute[list[str]], value: list[str]) -> None:
    # A string instead of a list ("SEV0") is refused when the table is read, for every plugin.
    for name in value:
        if not name.strip():
            raise InvalidSetting(f"{attribute.name} holds an empty severity name")


def _check_impact(
    _: Any, attribute: attrs.Attribute[dict[str, str]], value: dict[str, str]
) -> None:
    for severity, impact in value.items():
        if impact not in IMPACTS:
            raise InvalidSetting(
                f"{attribute.name}.{severity} = {impact!r} is not a Statuspage impact; "
                + _one_of(IMPACTS, "one")
            )


def _check_components(
    _: Any, attribute: attrs.Attribute[dict[str, str]], value: dict[str, str]
) -> None:
    for component_id, status in value.items():
        if not _ID.match(component_id):
            raise InvalidSetting(
                f"{attribute.name}: {component_id!r} is not a Statuspage component id; copy the "
                "ids from Statuspage > Components > (component) > the id in the address, or "
                "GET /pages/{page_id}/components"
            )
        if status not in COMPONENT_STATUSES:
            raise InvalidSetting(
                f"{attribute.name}.{component_id} = {status!r} is not a component status; "
                + _one_of(COMPONENT_STATUSES, "one")
            )


def _check_template(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
    except ValueError as error:
        raise InvalidSetting(
            f"{attribute.name} is not a valid template ({error}); write {{{{ and }}}} for "
            "literal braces"
        ) from error
    for field in fields:
        if field not in TEMPLATE_FIELDS:
            raise InvalidSetting(
                f"{attribute.name} uses {{{field}}}; the placeholders are "
                + ", ".join(f"{{{name}}}" for name in TEMPLATE_FIELDS)
            )


def _check_update_status(_: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and value not in UPDATE_STATUSES:
        raise InvalidSetting(
            f"{attribute.name} = {value!r} is not an open incident status; "
            + _one_of(UPDATE_STATUSES, "one")
            + ", or leave it out to keep the status as it is"
        )


def _check_bool(_: Any, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidSetting(f"{attribute.name} must be true or false, not {value!r}")


def _check_positive(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise InvalidSetting(f"{attribute.name} must be more than 0, not {value!r}")


def _strip_slash(url: str) -> str:
    return url.rstrip("/")


# eq=False: settings are compared by identity, which makes them hashable (dict fields are not),
# so the plugin can keep one HTTP client per settings object.
@attrs.frozen(eq=False)
class StatuspageConfig:
    """The ``[plugins.statuspage]`` table.

    ``api_key`` and ``page_id`` are required; everything else has a default. See
    docs/plugins/statuspage.md for each key.
    """

    api_key: Secret
    page_id: str = attrs.field(validator=_check_page_id)
    api_url: str = attrs.field(
        default=DEFAULT_API_URL, converter=_strip_slash, validator=_check_api_url
    )
    severities: list[str] = attrs.field(factory=list, validator=_check_severities)
    impact: dict[str, str] = attrs.field(
        factory=lambda: dict(DEFAULT_IMPACT), validator=_check_impact
    )
    components: dict[str, str] = attrs.field(factory=dict, validator=_check_components)
    deliver_notifications: bool = attrs.field(default=True, validator=_check_bool)
    initial_message: str = attrs.field(default=DEFAULT_INITIAL_MESSAGE, validator=_check_template)
    update_status: str | None = attrs.field(default=None, validator=_check_update_status)
    resolved_message: str = attrs.field(default=DEFAULT_RESOLVED_MESSAGE, validator=_check_template)
    reopened_message: str = attrs.field(default=DEFAULT_REOPENED_MESSAGE, validator=_check_template)
    requests_per_second: float = attrs.field(default=1.0, validator=_check_positive)
    timeout: float = attrs.field(default=10.0, validator=_check_positive)

    def impact_for(self, severity: str) -> str | None:
        """The Statuspage impact for ``severity``, or None when the mapping leaves it out."""
        for name, impact in self.impact.items():
            if name.lower() == severity.lower():
                return impact
        return None

    def opens_for(self, severity: str) -> bool:
        """Whether ``severity`` opens a status incident even when not marked customer facing."""
        return any(name.lower() == severity.lower() for name in self.severities)


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders filled; unknown ones were refused with the settings."""
    return template.format_map({name: values.get(name, "") for name in TEMPLATE_FIELDS})
