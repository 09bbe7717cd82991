"""Notion-shaped errors: the one a handler raises, the bodies Notion sends, and faults to inject."""

from __future__ import annotations

import uuid
from typing import Any

from firebell.testing.fake_http import Fault


def notion_fault(status: int, code: str, message: str | None = None, **fault: Any) -> Fault:
    """A :class:`Fault` whose body has Notion's error shape, e.g. ``notion_fault(503,
    "service_unavailable")``; extra keyword arguments (``headers``, ``delay``) go to the fault."""
    body = _error_body(status, code, message or f"Injected {code}.")
    return Fault(status=status, body=body, **fault)


class _Refused(Exception):
    """Raised inside a handler to answer with a Notion error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _invalid(message: str) -> _Refused:
    return _Refused(400, "validation_error", message)


def _body_invalid(message: str) -> _Refused:
    return _invalid(f"body failed validation: {message}")


def _error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "object": "error",
        "status": status,
        "code": code,
        "message": message,
        "request_id": str(uuid.uuid4()),
    }
