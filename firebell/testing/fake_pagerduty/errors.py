"""PagerDuty's error answers, worded as PagerDuty words them: REST API errors and Events API
refusals."""

from __future__ import annotations

from typing import Any

from firebell.testing.fake_http import Answer

# Body shapes and messages as PagerDuty answers them (developer docs and reported responses).
_FROM_MISSING = (
    'You must specify a user\'s email address in the "From" header to perform this action'
)
_DUPLICATE_KEY = "Open incident with matching dedup key already exists on this service"
_EVENTS_THROTTLED = {
    "status": "throttle event",
    "message": "Requests for this service are arriving too quickly. Please retry later.",
}


def _error(status: int, message: str, code: int, errors: list[str] | None = None) -> Answer:
    """A REST API error answer: ``{"error": {"message", "code", "errors"?}}``."""
    error: dict[str, Any] = {"message": message, "code": code}
    if errors:
        error["errors"] = errors
    return Answer(status, {"error": error})


def _invalid_input(*errors: str) -> Answer:
    return _error(400, "Invalid Input Provided", 2001, list(errors))


def _not_found() -> Answer:
    return _error(404, "Not Found", 2100)


def _invalid_event(errors: list[str]) -> Answer:
    """An Events API v2 400: ``{"status": "invalid event", "message", "errors"}``."""
    return Answer(
        400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    )
