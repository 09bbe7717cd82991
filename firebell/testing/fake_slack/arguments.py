"""A method's arguments read as Slack reads them: from the query string and a form or JSON body,
as text, flags, JSON values or timestamps, and a page of a long list by cursor."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from firebell.testing.fake_http import Request
from firebell.testing.fake_slack.errors import _SlackError


def _parse_params(request: Request) -> dict[str, Any]:
    """Arguments from the query string and the body (form-encoded or JSON), as Slack reads them."""
    params: dict[str, Any] = dict(request.query)
    if not request.body:
        return params
    content_type = request.header("content-type") or ""
    if "application/json" in content_type:
        try:
            body = json.loads(request.body)
        except ValueError as e:
            raise _SlackError("invalid_json") from e
        if not isinstance(body, dict):
            raise _SlackError("json_not_object")
        params.update(body)
    elif "application/x-www-form-urlencoded" in content_type or not content_type:
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        params.update({name: values[0] for name, values in form.items()})
    else:
        raise _SlackError("invalid_post_type")
    return params


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flag(params: Mapping[str, Any], name: str) -> bool:
    return (_text(params, name) or "").lower() in ("1", "true")


def _structured(params: Mapping[str, Any], name: str, error: str) -> Any:
    """A JSON argument: a list or object in a JSON body, a JSON string in a form."""
    value = params.get(name)
    if isinstance(value, str):
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError as e:
            raise _SlackError(error) from e
    return value


def _ts_arg(params: Mapping[str, Any], name: str, error: str, default: float) -> float:
    value = _text(params, name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as e:
        raise _SlackError(error) from e


def _paginate(
    items: list[Any], params: Mapping[str, Any], *, default: int, maximum: int
) -> tuple[list[Any], str]:
    """One page of ``items`` and the cursor of the next page (``""`` on the last)."""
    try:
        limit = int(_text(params, "limit") or 0) or default
    except ValueError as e:
        raise _SlackError("invalid_limit") from e
    limit = min(max(limit, 1), maximum)
    cursor = _text(params, "cursor")
    start = 0
    if cursor:
        try:
            kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
            start = int(offset)
        except ValueError as e:
            raise _SlackError("invalid_cursor") from e
        if kind != "next" or not 0 <= start <= len(items):
            raise _SlackError("invalid_cursor")
    end = start + limit
    next_cursor = base64.b64encode(f"next:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], next_cursor
