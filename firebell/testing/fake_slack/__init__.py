"""A stateful fake of the Slack Web API that the real ``slack_sdk.WebClient`` talks to over HTTP.

Point a client at it with ``WebClient(token=fake.token, base_url=fake.url + "/api/")``. The fake
keeps channels, members, messages, topics, bookmarks, views, users and user groups in memory and
answers like Slack: ``POST``/``GET /api/<method>`` with a form-encoded, query-string or JSON body,
the token in ``Authorization: Bearer``, errors as HTTP 200 with ``{"ok": false, "error": ...}``,
``missing_scope`` when the token lacks a scope, and (with ``rate_limits=True``) HTTP 429 with
``Retry-After`` past the documented per-method tiers in :data:`RATE_LIMITS`.

Pins and reactions (``pins.*``, ``reactions.*``) are kept on the messages as Slack shows them
(``pinned_to``, ``reactions``); :meth:`FakeSlack.pin_message`, :meth:`FakeSlack.react` and their
opposites do what a person does in Slack and return the Events API event Slack then sends.

Method names, arguments and error codes follow Slack's published method reference and its Web API
OpenAPI description. Where Slack leaves a number unstated (the size of a burst), the choice is
written next to it.

The package holds one module per concern: :mod:`.service` (:class:`FakeSlack`: routing, tokens,
scopes, rate limits), :mod:`.workspace` (the state, test set-up and inspection), one module per
group of Web API methods (:mod:`.conversations`, :mod:`.chat`, :mod:`.pins_and_reactions`,
:mod:`.bookmarks`, :mod:`.views`, :mod:`.users`), and the pieces they share: :mod:`.identity`
(team and bot ids, token, scopes), :mod:`.limits`, :mod:`.rate_limits`, :mod:`.objects`
(channels, users, user groups), :mod:`.arguments`, :mod:`.errors` and :mod:`.block_kit`.
"""

from __future__ import annotations

from firebell.testing.fake_slack.identity import (
    API_APP_ID,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    DEFAULT_SCOPES,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
)

# Public names of the former single module that are not in __all__, still importable from here.
from firebell.testing.fake_slack.limits import MAX_CHANNEL_NAME as MAX_CHANNEL_NAME
from firebell.testing.fake_slack.limits import MAX_MESSAGE_BLOCKS as MAX_MESSAGE_BLOCKS
from firebell.testing.fake_slack.limits import MAX_MODAL_BLOCKS as MAX_MODAL_BLOCKS
from firebell.testing.fake_slack.limits import MAX_PRIVATE_METADATA as MAX_PRIVATE_METADATA
from firebell.testing.fake_slack.limits import MAX_TEXT as MAX_TEXT
from firebell.testing.fake_slack.limits import MAX_TOPIC as MAX_TOPIC
from firebell.testing.fake_slack.limits import MAX_VIEW_STACK as MAX_VIEW_STACK
from firebell.testing.fake_slack.limits import MAX_VIEW_TEXT as MAX_VIEW_TEXT
from firebell.testing.fake_slack.limits import TRIGGER_TTL as TRIGGER_TTL
from firebell.testing.fake_slack.objects import Channel, User, Usergroup
from firebell.testing.fake_slack.rate_limits import POST_MESSAGE_LIMIT as POST_MESSAGE_LIMIT
from firebell.testing.fake_slack.rate_limits import RATE_LIMITS, MethodLimit
from firebell.testing.fake_slack.rate_limits import TIER_1 as TIER_1
from firebell.testing.fake_slack.rate_limits import TIER_2 as TIER_2
from firebell.testing.fake_slack.rate_limits import TIER_3 as TIER_3
from firebell.testing.fake_slack.rate_limits import TIER_4 as TIER_4
from firebell.testing.fake_slack.service import FakeSlack

__all__ = [
    "API_APP_ID",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "DEFAULT_SCOPES",
    "RATE_LIMITS",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "Channel",
    "FakeSlack",
    "MethodLimit",
    "User",
    "Usergroup",
]
