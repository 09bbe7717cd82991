"""Page property values: checked against the data source's schema, empty ones, select options,
and a value as plain Python."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

from firebell.testing.fake_notion.errors import _body_invalid, _invalid
from firebell.testing.fake_notion.formats import _plain
from firebell.testing.fake_notion.rich_text import _rich_text

_TEXT_PROPERTIES = frozenset({"title", "rich_text", "url", "email", "phone_number"})
_WRITABLE_PROPERTIES = _TEXT_PROPERTIES | {
    "select",
    "multi_select",
    "status",
    "number",
    "date",
    "checkbox",
    "people",
    "relation",
    "files",
}


def _option(given: Any) -> dict[str, Any]:
    if isinstance(given, str):
        given = {"name": given}
    return {
        "id": given.get("id") or uuid.uuid4().hex[:8],
        "name": given["name"],
        "color": given.get("color", "default"),
    }


def _property_value(schema: dict[str, Any], given: Any, where: str) -> dict[str, Any]:
    name, prop_type = schema["name"], schema["type"]
    if prop_type not in _WRITABLE_PROPERTIES:
        raise _invalid(f"{name} is a {prop_type} property, which cannot be written.")
    if not isinstance(given, dict) or prop_type not in given:
        raise _invalid(f"{name} is expected to be {prop_type}.")
    raw = given[prop_type]
    at = f"{where}.{prop_type}"
    value: Any
    if prop_type in ("title", "rich_text"):
        value = _rich_text(raw, at)
    elif prop_type in ("url", "email", "phone_number"):
        if raw is not None and not isinstance(raw, str):
            raise _body_invalid(f"{at} should be a string or `null`, instead was `{raw!r}`.")
        if isinstance(raw, str) and len(raw) > 2000:
            raise _body_invalid(f"{at}.length should be ≤ `2000`, instead was `{len(raw)}`.")
        value = raw
    elif prop_type == "number":
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float)):
            raise _body_invalid(f"{at} should be a number or `null`, instead was `{raw!r}`.")
        value = raw
    elif prop_type == "checkbox":
        if not isinstance(raw, bool):
            raise _body_invalid(f"{at} should be a boolean, instead was `{raw!r}`.")
        value = raw
    elif prop_type == "date":
        value = _date_value(raw, at)
    elif prop_type == "select":
        value = None if raw is None else _chosen_option(schema, raw, at, create=True)
    elif prop_type == "status":
        value = None if raw is None else _chosen_option(schema, raw, at, create=False)
    elif prop_type == "multi_select":
        if not isinstance(raw, list):
            raise _body_invalid(f"{at} should be an array, instead was `{raw!r}`.")
        value = [_chosen_option(schema, o, f"{at}[{i}]", create=True) for i, o in enumerate(raw)]
    else:
        value = copy.deepcopy(raw)
    return {"id": schema["id"], "type": prop_type, prop_type: value}


def _date_value(raw: Any, at: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("start"), str):
        raise _body_invalid(f"{at}.start should be defined, instead was `undefined`.")
    for edge in ("start", "end"):
        if raw.get(edge) is not None:
            try:
                datetime.fromisoformat(str(raw[edge]))
            except ValueError as e:
                raise _body_invalid(
                    f"{at}.{edge} should be a valid ISO 8601 date string, instead was "
                    f"`{raw[edge]!r}`."
                ) from e
    return {"start": raw["start"], "end": raw.get("end"), "time_zone": raw.get("time_zone")}


def _chosen_option(schema: dict[str, Any], raw: Any, at: str, *, create: bool) -> dict[str, Any]:
    prop_type = schema["type"]
    options: list[dict[str, Any]] = schema[prop_type]["options"]
    if not isinstance(raw, dict) or not (isinstance(raw.get("name"), str) or "id" in raw):
        raise _body_invalid(f"{at}.name should be defined, instead was `undefined`.")
    known = next(
        (o for o in options if o["name"] == raw.get("name") or o["id"] == raw.get("id")), None
    )
    if known is not None:
        return dict(known)
    if "name" not in raw:
        raise _invalid(f"Invalid option id {raw['id']!r} for {schema['name']}.")
    if not create:
        raise _invalid(
            f'Invalid status option. Status option "{raw["name"]}" does not exist for '
            f'"{schema["name"]}".'
        )
    if "," in raw["name"] or len(raw["name"]) > 100:
        raise _invalid(f"Invalid select option {raw['name']!r}: no commas, at most 100 characters.")
    return {"name": raw["name"], "color": raw.get("color", "default")}


def _empty_value(schema: dict[str, Any]) -> dict[str, Any]:
    prop_type = schema["type"]
    empty: Any = None
    if prop_type in ("title", "rich_text", "multi_select", "people", "relation", "files"):
        empty = []
    elif prop_type == "checkbox":
        empty = False
    elif prop_type == "status" and schema["status"]["options"]:
        empty = dict(schema["status"]["options"][0])
    return {"id": schema["id"], "type": prop_type, prop_type: empty}


def _simple_value(value: dict[str, Any]) -> Any:
    prop_type = value["type"]
    raw = value[prop_type]
    if prop_type in ("title", "rich_text"):
        return _plain(raw)
    if prop_type in ("select", "status"):
        return raw["name"] if raw else None
    if prop_type == "multi_select":
        return [o["name"] for o in raw]
    if prop_type == "date":
        return raw["start"] if raw else None
    return raw
