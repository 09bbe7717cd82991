"""The ``[plugins.slack]`` table of ``plugins.toml``.

.. code-block:: toml

    [plugins.slack]
    bot_token = { env = "SLACK_BOT_TOKEN" }
    announcement_channels = ["C0123ANNOUNCE"]
    cc_usergroups = ["S0123ONCALL"]
    responders = ["U0123ALICE"]
    runbook_url = "https://wiki.example.com/incident-runbook"
    timeline_reaction = "pushpin"
    timeout = 30
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlsplit

import attrs
from firebell.core.secrets import Secret
from firebell.plugins.slack.client import REQUEST_TIMEOUT

__all__ = ["MAX_CHANNEL_PREFIX", "SlackConfig", "is_user_id"]

MAX_CHANNEL_PREFIX: Final = 20
"""Longest ``channel_prefix``: the incident name and ``-resolved`` must still fit in 80 chars."""

MAX_TIMEOUT: Final = 300
"""Longest ``timeout``: a delivery thread must not wait on Slack for longer."""

_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EMOJI = re.compile(r"^[a-z0-9_+'-]{1,100}$")


def _ids(pattern: re.Pattern[str], what: str, example: str) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: list[str]) -> None:
        for item in value:
            if not pattern.match(item):
                raise ValueError(
                    f"{attribute.name}: {item!r} is not a Slack {what} id (like {example!r}); "
                    f"Slack shows it in the {what}'s details"
                )

    return check


def _check_prefix(_instance: object, _attribute: attrs.Attribute[Any], value: str) -> None:
    if not _PREFIX.match(value) or len(value) > MAX_CHANNEL_PREFIX:
        raise ValueError(
            f"channel_prefix: {value!r} is not a valid start of a Slack channel name; use up to "
            f"{MAX_CHANNEL_PREFIX} lowercase letters, digits, '-' or '_' (like 'incd-')"
        )


def _check_reaction(_instance: object, _attribute: attrs.Attribute[Any], value: str) -> None:
    if value and not _EMOJI.match(value):
        raise ValueError(
            f"timeline_reaction: {value!r} is not an emoji name; write it without colons, "
            'like "pushpin" (or "" to mark timeline messages by pinning only)'
        )


def _check_timeout(_instance: object, _attribute: attrs.Attribute[Any], value: int) -> None:
    if not 1 <= value <= MAX_TIMEOUT:
        raise ValueError(
            f"timeout: {value!r} is not a number of seconds from 1 to {MAX_TIMEOUT} "
            "(how long one request to Slack may take)"
        )


def _check_url(_instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{attribute.name}: {value!r} is not an http(s) URL")


@attrs.frozen
class SlackConfig:
    """Settings of the built-in Slack plugin (``[plugins.slack]``).

    ``bot_token`` is the app's Bot User OAuth Token (``xoxb-…``), written as
    ``{ env = "SLACK_BOT_TOKEN" }``. ``api_url`` points at another Slack Web API (GovSlack, a
    test server); by default ``SLACK_API_URL``, else Slack's. ``announcement_channels`` (channel
    ids) hear of new, resolved and reopened incidents and of status updates (unless
    ``announce_updates`` is false), cc'ing ``cc_usergroups`` (user group ids). ``responders``
    (user ids) are invited to every incident channel. ``runbook_url`` is bookmarked in every
    incident channel. ``channel_prefix`` starts every incident channel's name.
    ``timeline_reaction`` is the emoji (name without colons) that puts a message of an incident
    channel on the timeline, like pinning it does; ``""`` leaves pins only (docs/timeline.md).
    """

    bot_token: Secret
    api_url: str | None = attrs.field(default=None, validator=_check_url)
    announcement_channels: list[str] = attrs.field(
        factory=list, validator=_ids(_CHANNEL_ID, "channel", "C0123ABCDEF")
    )
    cc_usergroups: list[str] = attrs.field(
        factory=list, validator=_ids(_USERGROUP_ID, "user group", "S0123ABCDEF")
    )
    responders: list[str] = attrs.field(
        factory=list, validator=_ids(_USER_ID, "user", "U0123ABCDEF")
    )
    runbook_url: str | None = attrs.field(default=None, validator=_check_url)
    channel_prefix: str = attrs.field(default="incd-", validator=_check_prefix)
    announce_updates: bool = True
    timeline_reaction: str = attrs.field(default="pushpin", validator=_check_reaction)
    timeout: int = attrs.field(default=REQUEST_TIMEOUT, validator=_check_timeout)


def is_user_id(value: str) -> bool:
    """Whether ``value`` looks like a Slack user id (``U…`` or ``W…``)."""
    return bool(_USER_ID.match(value))
