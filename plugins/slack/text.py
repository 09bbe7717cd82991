"""Making user text safe for Slack: mrkdwn escaping and length limits.

Slack reads ``<!channel>``, ``<@U…>``, ``<!subteam^…>`` and ``<url|label>`` in mrkdwn as control
sequences, so text a person typed must have ``&``, ``<`` and ``>`` escaped before it is placed in a
message; and Slack refuses (or cuts) texts longer than its limits.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ELLIPSIS",
    "HEADER_LIMIT",
    "SECTION_LIMIT",
    "TEXT_LIMIT",
    "TOPIC_LIMIT",
    "escape_mrkdwn",
    "safe",
    "truncate",
]

TOPIC_LIMIT: Final = 250
"""Longest channel topic ``conversations.setTopic`` accepts."""

SECTION_LIMIT: Final = 3000
"""Longest text of a Block Kit section block."""

HEADER_LIMIT: Final = 150
"""Longest text of a Block Kit header block."""

TEXT_LIMIT: Final = 3900
"""Longest plain ``text`` fallback we send (Slack truncates messages past about 4000 chars)."""

ELLIPSIS: Final = "…"

_ENTITIES: Final = ("&amp;", "&lt;", "&gt;")


def escape_mrkdwn(text: str) -> str:
    """Return ``text`` with ``&``, ``<`` and ``>`` escaped, so Slack shows it and pings no one."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Return ``text`` cut to at most ``limit`` characters, ending in an ellipsis if it was cut.

    An escape entity (``&amp;``, ``&lt;``, ``&gt;``) is never split: a half entity would show as
    garbage, so the cut moves before it.
    """
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&")
    partial_entity = amp != -1 and ";" not in cut[amp:]
    if partial_entity and any(text.startswith(entity, amp) for entity in _ENTITIES):
        cut = cut[:amp]
    return cut + ELLIPSIS


def safe(text: str, limit: int) -> str:
    """Return user ``text`` escaped for mrkdwn and cut to ``limit`` characters."""
    return truncate(escape_mrkdwn(text), limit)
