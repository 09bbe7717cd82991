"""The error a method handler raises to answer ``{"ok": false, "error": ...}``."""

from __future__ import annotations

from typing import Any


class _SlackError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _invalid_arguments(*messages: str) -> _SlackError:
    return _SlackError("invalid_arguments", response_metadata={"messages": list(messages)})
