"""The one cattrs converter that turns events into JSON-ready dicts and back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import cattrs
from firebell.core.events import EVENT_TYPES, Event

__all__ = ["converter", "dump_event", "load_event"]

converter = cattrs.Converter(forbid_extra_keys=False)


def _unstructure_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} in an event; events carry UTC times")
    return value.astimezone(UTC).isoformat()


def _structure_datetime(value: Any, _: type) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


converter.register_unstructure_hook(datetime, _unstructure_datetime)
converter.register_structure_hook(datetime, _structure_datetime)


def dump_event(event: Event) -> str:
    """The event's payload as compact JSON (the type and schema version are stored beside it)."""
    return json.dumps(converter.unstructure(event), separators=(",", ":"), sort_keys=True)


def load_event(type_name: str, schema_version: int, payload: str | dict[str, Any]) -> Event:
    """Rebuild an event from its stored name, schema version and JSON payload."""
    try:
        cls = EVENT_TYPES[type_name]
    except KeyError:
        raise ValueError(
            f"unknown event type {type_name!r} in the log; is a plugin that defines it missing?"
        ) from None
    data = json.loads(payload) if isinstance(payload, str) else dict(payload)
    if schema_version != cls.schema_version:
        data = cls.upcast(data, schema_version)
    return converter.structure(data, cls)
