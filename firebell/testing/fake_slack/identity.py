"""The fake workspace's team, its bot's ids and token, and the scopes the bot holds."""

from __future__ import annotations

TEAM_ID = "T0FIREBELL"
TEAM_DOMAIN = "firebell-test"
TEAM_NAME = "Firebell Test"
BOT_USER_ID = "U0FIREBOT"
BOT_ID = "B0FIREBOT"
API_APP_ID = "A0FIREBELL"
BOT_TOKEN = "xoxb-firebell-test-token"

#: The bot scopes the fake grants unless told otherwise: everything Firebell asks for.
DEFAULT_SCOPES: tuple[str, ...] = (
    "bookmarks:read",
    "bookmarks:write",
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "chat:write.public",
    "commands",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:history",
    "im:read",
    "im:write",
    "pins:read",
    "reactions:read",
    "usergroups:read",
    "users:read",
    "users:read.email",
)
