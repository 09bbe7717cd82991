"""What the Bolt listeners share: a slash command's fields, and the work run after an ack.

Bolt answers Slack as soon as a listener returns (``process_before_response``, see
:func:`~firebell.adapters.slack.build_app`), so a listener acks and hands anything slow to a pool
of its own with :func:`after_ack`.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["SlashCommand", "after_ack"]

log = logging.getLogger("firebell.slack")


@attrs.frozen
class SlashCommand:
    """The fields of a slash command the adapter uses (form fields are all strings)."""

    text: str
    user_id: str
    channel_id: str
    trigger_id: str
    response_url: str
    #: The person's username (Slack's ``user_name``): their name when ``users.info`` gives none.
    user_name: str = ""

    @classmethod
    def from_body(cls, command: Mapping[str, Any]) -> SlashCommand:
        """Read the fields, treating any missing or non-string one as empty."""

        def field(name: str) -> str:
            value = command.get(name)
            return value if isinstance(value, str) else ""

        return cls(
            field("text"),
            field("user_id"),
            field("channel_id"),
            field("trigger_id"),
            field("response_url"),
            field("user_name"),
        )

    @property
    def idempotency_key(self) -> str | None:
        """The key that makes a retried command one command (Slack retries keep the trigger id)."""
        return f"slack-cmd:{self.trigger_id}" if self.trigger_id else None


def after_ack(
    pool: concurrent.futures.Executor, work: Callable[..., object], *args: object
) -> None:
    """Run ``work(*args)`` on ``pool`` once the listener returned (and Bolt answered Slack).

    What it raises is logged: nobody waits for its result.
    """

    def run() -> None:
        try:
            work(*args)
        except Exception:
            log.exception("a Slack request's work after its ack failed")

    pool.submit(run)
