"""``firebell doctor`` for the Slack plugin: the token, the scopes and the configured ids.

Only reads: ``auth.test`` (whose ``x-oauth-scopes`` header lists the token's scopes),
``conversations.info`` for each announcement channel, and, when the token may, ``users.info``
for the responders and ``usergroups.list`` for the cc'ed groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from firebell.core.errors import PermanentPluginError, RetryLater
from firebell.plugins.slack.config import SlackConfig
from firebell.plugins.slack.errors import api_error_code, slack_errors
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["REQUIRED_SCOPES", "check"]

#: The bot scopes the plugin uses (docs/plugins/slack.md says what each is for).
REQUIRED_SCOPES: Final = (
    "bookmarks:read",
    "bookmarks:write",
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "im:history",
    "im:write",
)


def _granted(headers: Mapping[str, object]) -> set[str] | None:
    for key, value in headers.items():
        if key.lower() == "x-oauth-scopes":
            raw = value[0] if isinstance(value, list) and value else value
            return {scope.strip() for scope in str(raw).split(",") if scope.strip()}
    return None


def check(client: WebClient, config: SlackConfig) -> list[str]:
    """One line per problem with the Slack setup, each saying what to fix; [] when all is well."""
    try:
        with slack_errors(config.bot_token.env):
            answer = client.auth_test()
    except (PermanentPluginError, RetryLater) as error:
        return [f"Slack: {error}"]
    problems: list[str] = []
    granted = _granted(answer.headers)
    if granted is not None:
        missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
        if missing:
            problems.append(
                f"Slack: the app lacks the scopes {', '.join(missing)}. Add them to the bot token "
                "scopes (OAuth & Permissions, or the app manifest) and reinstall the app."
            )
    problems += _check_channels(client, config, granted)
    if granted is None or "users:read" in granted:
        problems += _check_users(client, config)
    if config.cc_usergroups and (granted is None or "usergroups:read" in granted):
        known = {
            group["id"]
            for group in client.usergroups_list(include_disabled=False).get("usergroups") or []
        }
        problems += [
            f"Slack: cc_usergroups: user group {group} does not exist or is disabled."
            for group in config.cc_usergroups
            if group not in known
        ]
    return problems


def _check_channels(client: WebClient, config: SlackConfig, granted: set[str] | None) -> list[str]:
    problems: list[str] = []
    for channel_id in config.announcement_channels:
        try:
            channel = client.conversations_info(channel=channel_id)["channel"]
        except SlackApiError as error:
            if api_error_code(error) != "channel_not_found":
                raise
            problems.append(
                f"Slack: announcement channel {channel_id} was not found: the id is wrong, or it "
                "is a private channel the app is not in (invite the app there)."
            )
            continue
        name = channel.get("name", channel_id)
        if channel.get("is_archived"):
            problems.append(
                f"Slack: announcement channel #{name} ({channel_id}) is archived; unarchive it or "
                "remove it from announcement_channels."
            )
        elif channel.get("is_private") and granted is not None and "groups:history" not in granted:
            problems.append(
                f"Slack: announcement channel #{name} ({channel_id}) is private: add the "
                "groups:history scope and reinstall the app."
            )
    return problems


def _check_users(client: WebClient, config: SlackConfig) -> list[str]:
    problems: list[str] = []
    for user_id in config.responders:
        try:
            user = client.users_info(user=user_id)["user"]
        except SlackApiError as error:
            if api_error_code(error) != "user_not_found":
                raise
            problems.append(f"Slack: responders: no user {user_id} in this workspace.")
            continue
        if user.get("deleted"):
            problems.append(f"Slack: responders: {user_id} is deactivated; remove them.")
    return problems
