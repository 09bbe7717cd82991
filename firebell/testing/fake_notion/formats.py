"""How the fake writes ids and timestamps, shows a value in an error message, and reads the plain
text of rich text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _key(object_id: str) -> str:
    return object_id.replace("-", "").lower()


def _dashed(hex_id: str) -> str:
    return str(uuid.UUID(hex_id))


def _shown(value: Any) -> str:
    return "undefined" if value is None else repr(value)


def _plain(rich_text: list[dict[str, Any]]) -> str:
    return "".join(str(item.get("plain_text", "")) for item in rich_text)
