"""The page properties: which database property holds what, checked against the database.

A role's property may be of several types (Status as a *Status* or a *Select* property, the
Slack channel as a *URL* or *Text*); the value is written in the shape the type needs. ``name``
(the title) and ``incident`` (how a page is found again) are required; a missing optional
property is left out and reported by ``firebell doctor``. :func:`initial_values` are the values a
new page starts with.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
from firebell.core import Incident
from firebell.plugins.notion.api import Schema
from firebell.plugins.notion.config import NotionConfig
from firebell.plugins.notion.content import MAX_RICH_TEXT_ITEMS, rich_text

__all__ = ["ROLE_TYPES", "PropertyPlan", "initial_values", "minutes_between", "plan_properties"]

#: The property types each role accepts, the preferred one first.
ROLE_TYPES: Mapping[str, tuple[str, ...]] = {
    "name": ("title",),
    "title": ("rich_text",),
    "severity": ("select", "status", "rich_text"),
    "status": ("status", "select", "rich_text"),
    "channel": ("url", "rich_text"),
    "pager": ("url", "rich_text"),
    "declared_at": ("date",),
    "duration": ("number",),
    "incident": ("rich_text",),
}

REQUIRED_ROLES = ("name", "incident")

# The names Notion's property menu uses, for messages.
_TYPE_LABELS = {
    "title": "Title",
    "rich_text": "Text",
    "select": "Select",
    "status": "Status",
    "url": "URL",
    "date": "Date",
    "number": "Number",
}


def _label(prop_type: str) -> str:
    return _TYPE_LABELS.get(prop_type, prop_type)


@attrs.frozen
class PropertyPlan:
    """What the database offers: role → (property name, type), what is missing, what is wrong.

    ``problems`` stop the plugin (a required property missing, a wrong type, a status option
    that does not exist); ``missing`` roles are only left out.
    """

    columns: Mapping[str, tuple[str, str]]
    missing: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Notion property values for ``values`` (role → Python value; None is skipped)."""
        result: dict[str, Any] = {}
        for role, value in values.items():
            if value is None or role not in self.columns:
                continue
            name, prop_type = self.columns[role]
            result[name] = _notion_value(prop_type, value)
        return result


def _notion_value(prop_type: str, value: Any) -> dict[str, Any]:
    if prop_type in ("title", "rich_text"):
        text = str(value)
        link = text if text.startswith(("https://", "http://")) else None
        return {prop_type: rich_text(text, link=link)[:MAX_RICH_TEXT_ITEMS]}
    if prop_type in ("select", "status"):
        return {prop_type: {"name": str(value)}}
    if prop_type == "url":
        return {"url": str(value)}
    if prop_type == "date":
        moment: datetime = value
        return {"date": {"start": moment.astimezone(UTC).isoformat()}}
    if prop_type == "number":
        return {"number": value}
    raise ValueError(f"no value shape for a {prop_type} property")


def plan_properties(config: NotionConfig, schema: Schema) -> PropertyPlan:
    """Match the configured property names against the data source's ``schema``."""
    columns: dict[str, tuple[str, str]] = {}
    missing: list[str] = []
    problems: list[str] = []
    for role, name in config.properties.roles().items():
        accepted = ROLE_TYPES[role]
        found = schema.get(name)
        if found is None:
            if role in REQUIRED_ROLES:
                problems.append(
                    f"the database has no property {name!r} (properties.{role}); add a "
                    f"{_label(accepted[0])} property called {name!r} or set properties.{role} "
                    "to the name of an existing one"
                )
            else:
                missing.append(role)
            continue
        prop_type = str(found.get("type"))
        if prop_type not in accepted:
            kinds = " or ".join(_label(t) for t in accepted)
            problems.append(
                f"property {name!r} (properties.{role}) is a {_label(prop_type)} property; "
                f"it must be {kinds}"
            )
            continue
        columns[role] = (name, prop_type)
    problems += _status_problems(config, schema, columns)
    return PropertyPlan(columns, tuple(missing), tuple(problems))


def _status_problems(
    config: NotionConfig, schema: Schema, columns: Mapping[str, tuple[str, str]]
) -> list[str]:
    # A Status property only takes options that exist (a Select creates them on first use).
    if columns.get("status", ("", ""))[1] != "status":
        return []
    name = columns["status"][0]
    options = [str(o.get("name")) for o in schema[name].get("status", {}).get("options", [])]
    wanted = attrs.asdict(config.status_values)
    return [
        f"the Status property {name!r} has no option {value!r} (status_values.{state}); add "
        f"it in Notion or set status_values.{state} to one of {', '.join(map(repr, options))}"
        for state, value in wanted.items()
        if value not in options
    ]


def initial_values(config: NotionConfig, incident: Incident) -> dict[str, Any]:
    """The property values (role → value) of a new page for ``incident``."""
    channel = incident.resource("channel")
    pager = incident.resource("pager-incident")
    values: dict[str, Any] = {
        "name": incident.name,
        "title": incident.title,
        "severity": incident.severity,
        "status": config.status_values.for_state(incident.state.value),
        "channel": channel.url if channel else None,
        "pager": pager.url if pager else None,
        "declared_at": incident.declared_at,
        "incident": incident.id,
    }
    if incident.resolved_at is not None:
        values["duration"] = minutes_between(incident.declared_at, incident.resolved_at)
    return values


def minutes_between(start: datetime, end: datetime) -> float:
    """Minutes from ``start`` to ``end``, to one decimal."""
    return round((end - start).total_seconds() / 60, 1)
