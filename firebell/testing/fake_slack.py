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
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from firebell.testing.fake_http import Answer, FakeService, Request

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

# Block Kit and message limits from Slack's reference.
MAX_TEXT = 40_000
MAX_TOPIC = 250
MAX_CHANNEL_NAME = 80
MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_VIEW_TEXT = 24
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_STACK = 3
TRIGGER_TTL = 3.0


# -- rate limits -------------------------------------------------------------------------------


@attrs.frozen
class MethodLimit:
    """Slack's rate limit for one Web API method: a token bucket of ``burst`` refilled evenly.

    ``per_minute`` is the sustained rate; ``burst`` how many calls may go at once from a full
    bucket; ``per_channel`` keeps one bucket per ``channel`` argument (``chat.postMessage``).
    """

    per_minute: float
    burst: int
    per_channel: bool = False


# Slack documents tiers as "N+ per minute" with bursts tolerated but unquantified; the fake lets a
# full minute's quota go at once and then refills it evenly.
TIER_1 = MethodLimit(per_minute=1, burst=1)
TIER_2 = MethodLimit(per_minute=20, burst=20)
TIER_3 = MethodLimit(per_minute=50, burst=50)
TIER_4 = MethodLimit(per_minute=100, burst=100)
# "1 per second per channel, short bursts >1 allowed": the burst of 3 is the fake's choice.
POST_MESSAGE_LIMIT = MethodLimit(per_minute=60, burst=3, per_channel=True)

#: Slack's documented tier for each method the fake serves (auth.test and chat.getPermalink are
#: "special" and unlimited here).
RATE_LIMITS: Mapping[str, MethodLimit] = MappingProxyType(
    {
        "bookmarks.add": TIER_2,
        "bookmarks.list": TIER_3,
        "chat.postEphemeral": TIER_4,
        "chat.postMessage": POST_MESSAGE_LIMIT,
        "chat.update": TIER_3,
        "conversations.archive": TIER_2,
        "conversations.create": TIER_2,
        "conversations.history": TIER_3,
        "conversations.info": TIER_3,
        "conversations.invite": TIER_3,
        "conversations.join": TIER_3,
        "conversations.list": TIER_2,
        "conversations.members": TIER_4,
        "conversations.open": TIER_3,
        "conversations.rename": TIER_2,
        "conversations.setPurpose": TIER_2,
        "conversations.setTopic": TIER_2,
        "conversations.unarchive": TIER_2,
        "pins.add": TIER_2,
        "pins.list": TIER_2,
        "pins.remove": TIER_2,
        "reactions.add": TIER_3,
        "reactions.get": TIER_3,
        "reactions.remove": TIER_2,
        "usergroups.list": TIER_2,
        "usergroups.users.list": TIER_2,
        "users.info": TIER_4,
        "users.lookupByEmail": TIER_3,
        "views.open": TIER_4,
        "views.push": TIER_4,
        "views.update": TIER_4,
    }
)


@attrs.define
class _Bucket:
    tokens: float
    updated: float


# -- workspace state ---------------------------------------------------------------------------


@attrs.define
class Channel:
    """A conversation the fake holds: a public or private channel, or a bot's DM with a user."""

    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    is_archived: bool = False
    topic: str = ""
    purpose: str = ""
    previous_names: list[str] = attrs.field(factory=list)
    members: list[str] = attrs.field(factory=list)
    messages: list[dict[str, Any]] = attrs.field(factory=list)
    ephemeral: list[dict[str, Any]] = attrs.field(factory=list)
    bookmarks: list[dict[str, Any]] = attrs.field(factory=list)
    #: Pinned messages, oldest pin first: ``{"ts", "created", "created_by"}``.
    pins: list[dict[str, Any]] = attrs.field(factory=list)

    def to_slack(self, *, include_num_members: bool = False) -> dict[str, Any]:
        """The conversation object as Slack's ``conversations.*`` methods return it."""
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        answer: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "creator": self.creator,
            "is_archived": self.is_archived,
            "is_general": False,
            "unlinked": 0,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "is_member": BOT_USER_ID in self.members,
            "context_team_id": TEAM_ID,
            "shared_team_ids": [TEAM_ID],
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
            "previous_names": list(self.previous_names),
        }
        if include_num_members:
            answer["num_members"] = len(self.members)
        return answer


@attrs.define
class User:
    """A workspace member the fake knows."""

    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    tz: str = "UTC"

    def to_slack(self) -> dict[str, Any]:
        """The user object as ``users.info`` returns it."""
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.name,
            "team": TEAM_ID,
        }
        if self.email is not None:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "profile": profile,
        }


@attrs.define
class Usergroup:
    """A user group (``<!subteam^S…>``) the fake knows."""

    id: str
    handle: str
    name: str
    users: list[str] = attrs.field(factory=list)
    disabled: bool = False

    def to_slack(self, *, include_users: bool = False) -> dict[str, Any]:
        """The user group object as ``usergroups.list`` returns it."""
        answer: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "name": self.name,
            "handle": self.handle,
            "description": "",
            "is_external": False,
            "date_delete": 1 if self.disabled else 0,
            "user_count": len(self.users),
        }
        if include_users:
            answer["users"] = list(self.users)
        return answer


class _SlackError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _invalid_arguments(*messages: str) -> _SlackError:
    return _SlackError("invalid_arguments", response_metadata={"messages": list(messages)})


_Method = Callable[[dict[str, Any]], dict[str, Any]]


# -- the fake ----------------------------------------------------------------------------------


class FakeSlack(FakeService):
    """A fake Slack workspace with one bot, served over HTTP for the real Slack clients.

    ``token`` is the only bot token accepted. ``scopes`` are the bot's granted scopes (a test
    removes one to see ``missing_scope``); they are also sent back in ``x-oauth-scopes``.
    ``rate_limits`` enforces :data:`RATE_LIMITS` (or ``rate_limit_table``); ``time_scale`` makes
    the limits' clock run faster, so that with ``time_scale=60`` a minute's quota refills in one
    second (``Retry-After`` is still in real, whole seconds, at least 1). ``trigger_ttl`` is how
    long a trigger from :meth:`issue_trigger_id` lives. ``delay`` and ``ssl_context`` are those of
    :class:`FakeService`.
    """

    def __init__(
        self,
        *,
        token: str = BOT_TOKEN,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        rate_limits: bool = False,
        rate_limit_table: Mapping[str, MethodLimit] = RATE_LIMITS,
        time_scale: float = 1.0,
        trigger_ttl: float = TRIGGER_TTL,
        delay: float = 0.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(delay=delay, ssl_context=ssl_context)
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, not {time_scale!r}")
        self.token = token
        self.scopes: set[str] = set(scopes)
        self.rate_limits = rate_limits
        self.rate_limit_table = rate_limit_table
        self.time_scale = time_scale
        self.trigger_ttl = trigger_ttl
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.opened_views: list[dict[str, Any]] = []
        self._view_stacks: list[list[str]] = []
        self._triggers_issued: dict[str, float] = {}
        self._triggers_expired: set[str] = set()
        self._triggers_used: set[str] = set()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._counters: dict[str, int] = {}
        self._last_ts_micros = 0
        self.users[BOT_USER_ID] = User(BOT_USER_ID, "firebell", "Firebell", is_bot=True)
        self._methods: dict[str, _Method] = {
            "auth.test": self._auth_test,
            "bookmarks.add": self._bookmarks_add,
            "bookmarks.list": self._bookmarks_list,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.archive": self._conversations_archive,
            "conversations.create": self._conversations_create,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.invite": self._conversations_invite,
            "conversations.join": self._conversations_join,
            "conversations.list": self._conversations_list,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "conversations.rename": self._conversations_rename,
            "conversations.setPurpose": self._conversations_set_purpose,
            "conversations.setTopic": self._conversations_set_topic,
            "conversations.unarchive": self._conversations_unarchive,
            "pins.add": self._pins_add,
            "pins.list": self._pins_list,
            "pins.remove": self._pins_remove,
            "reactions.add": self._reactions_add,
            "reactions.get": self._reactions_get,
            "reactions.remove": self._reactions_remove,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
        }
        self.route("POST", "/api/{method}", self._serve_method)
        self.route("GET", "/api/{method}", self._serve_method)

    def start(self) -> FakeSlack:
        """Listen on an ephemeral loopback port; ``url`` is then set."""
        super().start()
        return self

    def __enter__(self) -> FakeSlack:
        return self.start()

    # -- what the base class answers, Slack-style ------------------------------------------

    def rate_limited_body(self) -> Any:
        """Slack's body for HTTP 429."""
        return {"ok": False, "error": "ratelimited"}

    def not_found(self, request: Request) -> Answer:
        """Slack's answer for a method it does not know."""
        method = request.path.rsplit("/", 1)[-1]
        return Answer(404, {"ok": False, "error": "unknown_method", "req_method": method})

    # -- test set-up -----------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        user_id: str | None = None,
        email: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "UTC",
    ) -> str:
        """Add a workspace member and return its id (``U…``)."""
        with self._lock:
            uid = user_id or self._new_id("U")
            self.users[uid] = User(uid, name, real_name or name, email, is_bot, deleted, tz)
            return uid

    def add_usergroup(
        self,
        handle: str,
        *,
        users: Iterable[str] = (),
        name: str | None = None,
        usergroup_id: str | None = None,
        disabled: bool = False,
    ) -> str:
        """Add a user group and return its id (``S…``)."""
        with self._lock:
            gid = usergroup_id or self._new_id("S")
            self.usergroups[gid] = Usergroup(gid, handle, name or handle, list(users), disabled)
            return gid

    def add_channel(
        self,
        name: str,
        *,
        members: Iterable[str] = (),
        is_private: bool = False,
        bot_is_member: bool = True,
        is_archived: bool = False,
    ) -> str:
        """Add a channel as if a person had made it and return its id (``C…``)."""
        with self._lock:
            channel = Channel(
                self._new_id("C"),
                name,
                int(time.time()),
                creator="",
                is_private=is_private,
                is_archived=is_archived,
            )
            channel.members = [*([BOT_USER_ID] if bot_is_member else []), *members]
            self.channels[channel.id] = channel
            return channel.id

    def post_user_message(self, channel_id: str, user_id: str, text: str) -> str:
        """Record a message a person wrote in a channel and return its ``ts``."""
        with self._lock:
            ts = self._new_ts()
            self.channels[channel_id].messages.append(
                {"type": "message", "user": user_id, "team": TEAM_ID, "text": text, "ts": ts}
            )
            return ts

    # -- what people do in Slack: each returns the Events API event Slack then sends ----------

    def pin_message(self, channel_id: str, ts: str, user_id: str) -> dict[str, Any]:
        """``user_id`` pins message ``ts``; returns the ``pin_added`` event."""
        with self._lock:
            channel = self.channels[channel_id]
            message = self._pin(channel, ts, user_id)
            return {
                "type": "pin_added",
                "user": user_id,
                "channel_id": channel_id,
                "item": self._pin_item(channel, message),
                "event_ts": self._new_ts(),
            }

    def unpin_message(self, channel_id: str, ts: str, user_id: str) -> dict[str, Any]:
        """``user_id`` unpins message ``ts``; returns the ``pin_removed`` event."""
        with self._lock:
            channel = self.channels[channel_id]
            message = self._unpin(channel, ts)
            return {
                "type": "pin_removed",
                "user": user_id,
                "channel_id": channel_id,
                "item": self._pin_item(channel, message),
                "has_pins": bool(channel.pins),
                "event_ts": self._new_ts(),
            }

    def react(self, channel_id: str, ts: str, user_id: str, name: str) -> dict[str, Any]:
        """``user_id`` reacts to message ``ts`` with ``:name:``; returns ``reaction_added``."""
        with self._lock:
            message = self._react(self.channels[channel_id], ts, user_id, name)
            return self._reaction_event("reaction_added", channel_id, message, user_id, name)

    def unreact(self, channel_id: str, ts: str, user_id: str, name: str) -> dict[str, Any]:
        """``user_id`` takes back ``:name:`` from message ``ts``; returns ``reaction_removed``."""
        with self._lock:
            message = self._unreact(self.channels[channel_id], ts, user_id, name)
            return self._reaction_event("reaction_removed", channel_id, message, user_id, name)

    def pinned(self, channel_id: str) -> list[str]:
        """The ``ts`` of each pinned message of a channel, oldest pin first."""
        with self._lock:
            return [pin["ts"] for pin in self.channels[channel_id].pins]

    def issue_trigger_id(self) -> str:
        """A trigger id that expires ``trigger_ttl`` seconds from now, as Slack's do."""
        with self._lock:
            trigger_id = (
                f"{self._next('trigger')}.{secrets.randbelow(10**9)}.{secrets.token_hex(8)}"
            )
            self._triggers_issued[trigger_id] = time.monotonic()
            return trigger_id

    def expire_trigger(self, trigger_id: str) -> None:
        """Make ``views.open``/``views.push`` with this trigger answer ``expired_trigger_id``."""
        with self._lock:
            self._triggers_expired.add(trigger_id)

    # -- inspection ------------------------------------------------------------------------

    def channel_by_name(self, name: str) -> Channel | None:
        """The channel (archived or not) now called ``name``, or None."""
        with self._lock:
            return next((c for c in self.channels.values() if c.name == name), None)

    def dm_channel(self, user_id: str) -> Channel | None:
        """The bot's DM with ``user_id``, or None if the bot never wrote to them."""
        with self._lock:
            return next((c for c in self.channels.values() if c.im_user == user_id), None)

    def messages(self, channel_id: str, *, include_system: bool = False) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first, thread replies included.

        System messages (``channel_join``, ``channel_topic``, …) are left out unless asked for.
        """
        with self._lock:
            return [
                dict(m)
                for m in self.channels[channel_id].messages
                if include_system or "subtype" not in m
            ]

    def ephemeral_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Ephemeral messages sent in a channel, oldest first (each names its ``user``)."""
        with self._lock:
            return [dict(m) for m in self.channels[channel_id].ephemeral]

    def members(self, channel_id: str) -> list[str]:
        """Member ids of a channel, in the order they joined (the bot first if it created it)."""
        with self._lock:
            return list(self.channels[channel_id].members)

    def topic(self, channel_id: str) -> str:
        """A channel's topic."""
        with self._lock:
            return self.channels[channel_id].topic

    def bookmarks(self, channel_id: str) -> list[dict[str, Any]]:
        """A channel's bookmarks, in the order they were added."""
        with self._lock:
            return [dict(b) for b in self.channels[channel_id].bookmarks]

    # -- serving ---------------------------------------------------------------------------

    def _serve_method(self, request: Request) -> Answer:
        name = request.path_params["method"]
        method = self._methods.get(name)
        if method is None:
            return self.not_found(request)
        headers: dict[str, str] = {}
        try:
            params = _parse_params(request)
            self._authenticate(request, params)
            headers["x-oauth-scopes"] = ",".join(sorted(self.scopes))
            refused = self._take_token(name, params)
            if refused is not None:
                return refused
            body = method(params)
        except _SlackError as e:
            return Answer(200, {"ok": False, "error": e.error, **e.extra}, headers)
        return Answer(200, {"ok": True, **body}, headers)

    def _authenticate(self, request: Request, params: dict[str, Any]) -> None:
        authorization = request.header("authorization") or ""
        token: str | None = None
        if authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip()
        elif "application/json" not in (request.header("content-type") or ""):
            # Slack takes a token argument in a form or query string, never in a JSON body.
            token = _text(params, "token")
        if not token:
            raise _SlackError("not_authed")
        if token != self.token:
            raise _SlackError("invalid_auth")

    def _take_token(self, name: str, params: dict[str, Any]) -> Answer | None:
        limit = self.rate_limit_table.get(name) if self.rate_limits else None
        if limit is None:
            return None
        key = (name, (_text(params, "channel") or "") if limit.per_channel else "")
        now = time.monotonic()
        rate = limit.per_minute / 60.0 * self.time_scale
        bucket = self._buckets.setdefault(key, _Bucket(float(limit.burst), now))
        bucket.tokens = min(float(limit.burst), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        retry_after = max(1, math.ceil((1.0 - bucket.tokens) / rate))
        return Answer(429, self.rate_limited_body(), {"Retry-After": str(retry_after)})

    def _require_scope(self, *any_of: str) -> None:
        if not self.scopes.intersection(any_of):
            provided = ",".join(sorted(self.scopes))
            raise _SlackError("missing_scope", needed=any_of[0], provided=provided)

    # -- ids, timestamps, lookups ----------------------------------------------------------

    def _next(self, prefix: str) -> int:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return self._counters[prefix]

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{self._next(prefix):010d}"

    def _new_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, params: dict[str, Any], arg: str = "channel") -> Channel:
        channel = self.channels.get(_text(params, arg) or "")
        if channel is None or (channel.is_private and BOT_USER_ID not in channel.members):
            raise _SlackError("channel_not_found")
        return channel

    def _manage_scope(self, channel: Channel, *alternatives: str) -> None:
        if channel.is_private:
            self._require_scope("groups:write", *(f"groups:{a}" for a in alternatives))
        else:
            self._require_scope("channels:manage", *(f"channels:{a}" for a in alternatives))

    def _read_scope(self, channel: Channel, what: str) -> None:
        if channel.is_im:
            self._require_scope(f"im:{what}")
        elif channel.is_private:
            self._require_scope(f"groups:{what}")
        else:
            self._require_scope(f"channels:{what}")

    def _check_name(self, name: str | None, *, renaming: Channel | None = None) -> str:
        if not name:
            raise _SlackError("invalid_name_required")
        if len(name) > MAX_CHANNEL_NAME:
            raise _SlackError("invalid_name_maxlength")
        if not all(
            ch in "-_" or ch.isdigit() or (ch.isalpha() and not ch.isupper()) for ch in name
        ):
            raise _SlackError("invalid_name_specials")
        if all(ch in "-_" for ch in name):
            raise _SlackError("invalid_name_punctuation")
        taken = next((c for c in self.channels.values() if c.name == name), None)
        if taken is not None and taken is not renaming:
            raise _SlackError("name_taken")
        return name

    def _system_message(
        self, channel: Channel, subtype: str, text: str, *, user: str = BOT_USER_ID, **extra: Any
    ) -> None:
        """Record what Slack itself posts when a channel changes (a join, a new topic, …)."""
        message = {"type": "message", "subtype": subtype, "user": user, "text": text, **extra}
        channel.messages.append(message | {"ts": self._new_ts()})

    # -- auth ------------------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": self.users[BOT_USER_ID].name,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    # -- conversations ---------------------------------------------------------------------

    def _conversations_create(self, params: dict[str, Any]) -> dict[str, Any]:
        is_private = _flag(params, "is_private")
        self._require_scope("groups:write" if is_private else "channels:manage")
        name = self._check_name(_text(params, "name"))
        channel = Channel(
            self._new_id("C"),
            name,
            int(time.time()),
            BOT_USER_ID,
            is_private=is_private,
            members=[BOT_USER_ID],
        )
        self.channels[channel.id] = channel
        self._system_message(channel, "channel_join", f"<@{BOT_USER_ID}> has joined the channel")
        return {"channel": channel.to_slack()}

    def _conversations_rename(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel)
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        name = self._check_name(_text(params, "name"), renaming=channel)
        if name != channel.name:
            channel.previous_names.insert(0, channel.name)
            channel.name = name
            self._system_message(
                channel, "channel_name", f"renamed the channel to #{name}", name=name
            )
        return {"channel": channel.to_slack()}

    def _conversations_archive(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel)
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("already_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        channel.is_archived = True
        self._system_message(channel, "channel_archive", "archived the channel")
        return {}

    def _conversations_unarchive(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel)
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if not channel.is_archived:
            raise _SlackError("not_archived")
        channel.is_archived = False
        self._system_message(channel, "channel_unarchive", "un-archived the channel")
        return {}

    def _conversations_set_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel, "write.topic")
        topic = _text(params, "topic") or ""
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        if len(topic) > MAX_TOPIC:
            raise _SlackError("too_long")
        channel.topic = topic
        self._system_message(
            channel, "channel_topic", f"set the channel topic: {topic}", topic=topic
        )
        return {"channel": channel.to_slack()}

    def _conversations_set_purpose(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel, "write.topic")
        purpose = _text(params, "purpose") or ""
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        if len(purpose) > MAX_TOPIC:
            raise _SlackError("too_long")
        channel.purpose = purpose
        self._system_message(
            channel, "channel_purpose", f"set the channel purpose: {purpose}", purpose=purpose
        )
        return {"channel": channel.to_slack()}

    def _conversations_invite(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._manage_scope(channel, "write.invites")
        if channel.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID not in channel.members:
            raise _SlackError("not_in_channel")
        user_ids = [u.strip() for u in (_text(params, "users") or "").split(",") if u.strip()]
        if not user_ids:
            raise _SlackError("no_user")
        if len(user_ids) > 1000:
            raise _SlackError("too_many_users")
        errors: list[dict[str, Any]] = []
        valid: list[str] = []
        for uid in dict.fromkeys(user_ids):
            user = self.users.get(uid)
            if user is None:
                error = "user_not_found"
            elif uid == BOT_USER_ID:
                error = "cant_invite_self"
            elif user.deleted:
                error = "cant_invite"
            elif uid in channel.members:
                error = "already_in_channel"
            else:
                valid.append(uid)
                continue
            errors.append({"user": uid, "ok": False, "error": error})
        if errors and not _flag(params, "force"):
            raise _SlackError(errors[0]["error"], errors=errors)
        for uid in valid:
            channel.members.append(uid)
            self._system_message(
                channel,
                "channel_join",
                f"<@{uid}> has joined the channel",
                user=uid,
                inviter=BOT_USER_ID,
            )
        answer: dict[str, Any] = {"channel": channel.to_slack()}
        if errors:
            answer["errors"] = errors
        return answer

    def _conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._require_scope("channels:join")
        if channel.is_im or channel.is_private:
            raise _SlackError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _SlackError("is_archived")
        if BOT_USER_ID in channel.members:
            return {
                "channel": channel.to_slack(),
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        channel.members.append(BOT_USER_ID)
        self._system_message(channel, "channel_join", f"<@{BOT_USER_ID}> has joined the channel")
        return {"channel": channel.to_slack()}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._read_scope(channel, "read")
        return {
            "channel": channel.to_slack(include_num_members=_flag(params, "include_num_members"))
        }

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._read_scope(channel, "read")
        page, next_cursor = _paginate(channel.members, params, default=100, maximum=1000)
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        self._read_scope(channel, "history")
        if BOT_USER_ID not in channel.members and not channel.is_im:
            raise _SlackError("not_in_channel")
        oldest = _ts_arg(params, "oldest", "invalid_ts_oldest", 0.0)
        latest = _ts_arg(params, "latest", "invalid_ts_latest", math.inf)
        inclusive = _flag(params, "inclusive")
        # Message metadata is only returned when asked for, as on Slack.
        with_metadata = _flag(params, "include_all_metadata")

        def in_range(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        # History lists top-level messages only; thread replies come from conversations.replies.
        newest_first = [
            {k: v for k, v in m.items() if with_metadata or k != "metadata"}
            for m in reversed(channel.messages)
            if in_range(float(m["ts"]))
            and (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
        ]
        page, next_cursor = _paginate(newest_first, params, default=100, maximum=999)
        return {
            "messages": page,
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        types = set((_text(params, "types") or "public_channel").split(","))
        known = {"public_channel", "private_channel", "im", "mpim"}
        if not types <= known:
            raise _SlackError("invalid_types")
        for kind, scope in (
            ("public_channel", "channels:read"),
            ("private_channel", "groups:read"),
            ("im", "im:read"),
        ):
            if kind in types:
                self._require_scope(scope)
        exclude_archived = _flag(params, "exclude_archived")
        chosen = [
            c.to_slack(include_num_members=True)
            for c in self.channels.values()
            if (
                (c.is_im and "im" in types)
                or (not c.is_im and c.is_private and "private_channel" in types)
                or (not c.is_im and not c.is_private and "public_channel" in types)
            )
            and (not c.is_private or BOT_USER_ID in c.members)
            and not (exclude_archived and c.is_archived)
        ]
        page, next_cursor = _paginate(chosen, params, default=100, maximum=1000)
        return {"channels": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("im:write")
        user_ids = [u for u in (_text(params, "users") or "").split(",") if u]
        if not user_ids:
            raise _SlackError("users_list_not_supplied")
        if len(user_ids) > 1:
            raise _SlackError("method_not_supported_for_channel_type")
        if user_ids[0] not in self.users:
            raise _SlackError("user_not_found")
        already = self.dm_channel(user_ids[0]) is not None
        channel = self._open_im(user_ids[0])
        return {"no_op": already, "already_open": already, "channel": {"id": channel.id}}

    def _open_im(self, user_id: str) -> Channel:
        channel = self.dm_channel(user_id)
        if channel is None:
            channel = Channel(self._new_id("D"), user_id, int(time.time()), BOT_USER_ID)
            channel.is_im = True
            channel.im_user = user_id
            channel.members = [user_id, BOT_USER_ID]
            self.channels[channel.id] = channel
        return channel

    # -- chat ------------------------------------------------------------------------------

    def _message_target(self, params: dict[str, Any]) -> Channel:
        target = _text(params, "channel") or ""
        if target[:1] in ("U", "W"):
            user = self.users.get(target)
            if user is None or user.is_bot:
                raise _SlackError("channel_not_found")
            return self._open_im(target)
        channel = self._channel(params)
        if channel.is_archived:
            raise _SlackError("is_archived")
        return channel

    def _message_content(self, params: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
        text = _text(params, "text")
        blocks = _structured(params, "blocks", "invalid_blocks_format")
        attachments = _structured(params, "attachments", "invalid_attachments")
        if required and not text and not blocks and not attachments:
            raise _SlackError("no_text")
        if text is not None and len(text) > MAX_TEXT:
            raise _SlackError("msg_too_long")
        content: dict[str, Any] = {}
        if text is not None:
            content["text"] = text
        if blocks is not None:
            if not isinstance(blocks, list):
                raise _SlackError("invalid_blocks_format")
            problems = _block_problems(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
            if problems:
                raise _SlackError("invalid_blocks", response_metadata={"messages": problems})
            content["blocks"] = blocks
        if attachments is not None:
            content["attachments"] = attachments
        metadata = _structured(params, "metadata", "invalid_metadata_format")
        if metadata is not None:
            if (
                not isinstance(metadata, dict)
                or not isinstance(metadata.get("event_type"), str)
                or not metadata["event_type"]
                or not isinstance(metadata.get("event_payload"), dict)
            ):
                raise _SlackError("invalid_metadata_format")
            content["metadata"] = {
                "event_type": metadata["event_type"],
                "event_payload": metadata["event_payload"],
            }
        return content

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("chat:write")
        channel = self._message_target(params)
        if BOT_USER_ID not in channel.members and "chat:write.public" not in self.scopes:
            raise _SlackError("not_in_channel")
        content = self._message_content(params)
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "team": TEAM_ID,
            "text": content.pop("text", ""),
            **content,
            "ts": self._new_ts(),
        }
        thread_ts = _text(params, "thread_ts")
        if thread_ts:
            parent = next((m for m in channel.messages if m["ts"] == thread_ts), None)
            if parent is None:
                raise _SlackError("thread_not_found")
            message["thread_ts"] = thread_ts
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
            if _flag(params, "reply_broadcast"):
                message["subtype"] = "thread_broadcast"
        channel.messages.append(message)
        return {"channel": channel.id, "ts": message["ts"], "message": dict(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("chat:write")
        channel = self._channel(params)
        ts = _text(params, "ts")
        message = next((m for m in channel.messages if m["ts"] == ts), None)
        if message is None or message.get("subtype", "thread_broadcast") != "thread_broadcast":
            raise _SlackError("message_not_found")
        if message.get("bot_id") != BOT_ID:
            raise _SlackError("cant_update_message")
        content = self._message_content(params)
        message.update(content)
        if "blocks" not in content and "text" in content:
            message.pop("blocks", None)
        return {
            "channel": channel.id,
            "ts": ts,
            "text": message.get("text", ""),
            "message": dict(message),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("chat:write")
        channel = self._channel(params)
        if channel.is_archived:
            raise _SlackError("is_archived")
        user = _text(params, "user") or ""
        if user not in channel.members:
            raise _SlackError("user_not_in_channel")
        content = self._message_content(params)
        ts = self._new_ts()
        channel.ephemeral.append({"type": "message", "user": user, "ts": ts, **content})
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = _text(params, "message_ts") or ""
        message = next((m for m in channel.messages if m["ts"] == ts), None)
        if message is None:
            raise _SlackError("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    # -- pins and reactions ----------------------------------------------------------------

    def _message(self, channel: Channel, ts: str | None) -> dict[str, Any]:
        if not ts:
            raise _SlackError("no_item_specified")
        message = next((m for m in channel.messages if m["ts"] == ts), None)
        if message is None:
            raise _SlackError("message_not_found")
        return message

    def _permalink(self, channel: Channel, ts: str) -> str:
        return f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"

    def _with_permalink(self, channel: Channel, message: dict[str, Any]) -> dict[str, Any]:
        return {**message, "permalink": self._permalink(channel, message["ts"])}

    def _pin(self, channel: Channel, ts: str, user_id: str) -> dict[str, Any]:
        message = self._message(channel, ts)
        if any(pin["ts"] == ts for pin in channel.pins):
            raise _SlackError("already_pinned")
        channel.pins.append({"ts": ts, "created": int(time.time()), "created_by": user_id})
        message["pinned_to"] = [*message.get("pinned_to", []), channel.id]
        return message

    def _unpin(self, channel: Channel, ts: str) -> dict[str, Any]:
        message = self._message(channel, ts)
        if not any(pin["ts"] == ts for pin in channel.pins):
            raise _SlackError("not_pinned")
        channel.pins = [pin for pin in channel.pins if pin["ts"] != ts]
        kept = [c for c in message.get("pinned_to", []) if c != channel.id]
        if kept:
            message["pinned_to"] = kept
        else:
            message.pop("pinned_to", None)
        return message

    def _pin_item(self, channel: Channel, message: dict[str, Any]) -> dict[str, Any]:
        pin = next((p for p in channel.pins if p["ts"] == message["ts"]), None)
        item: dict[str, Any] = {
            "type": "message",
            "channel": channel.id,
            "message": self._with_permalink(channel, message),
        }
        if pin is not None:
            item.update(created=pin["created"], created_by=pin["created_by"])
        return item

    def _react(self, channel: Channel, ts: str, user_id: str, name: str) -> dict[str, Any]:
        message = self._message(channel, ts)
        reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if user_id in reaction["users"]:
            raise _SlackError("already_reacted")
        reaction["users"].append(user_id)
        reaction["count"] += 1
        return message

    def _unreact(self, channel: Channel, ts: str, user_id: str, name: str) -> dict[str, Any]:
        message = self._message(channel, ts)
        reactions: list[dict[str, Any]] = message.get("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None or user_id not in reaction["users"]:
            raise _SlackError("no_reaction")
        reaction["users"].remove(user_id)
        reaction["count"] -= 1
        if not reaction["count"]:
            reactions.remove(reaction)
        if not reactions:
            message.pop("reactions", None)
        return message

    def _reaction_event(
        self, kind: str, channel_id: str, message: dict[str, Any], user_id: str, name: str
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "user": user_id,
            "reaction": name,
            "item_user": message.get("user"),
            "item": {"type": "message", "channel": channel_id, "ts": message["ts"]},
            "event_ts": self._new_ts(),
        }

    def _pins_add(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("pins:write")
        channel = self._channel(params)
        self._pin(channel, _text(params, "timestamp") or "", BOT_USER_ID)
        return {}

    def _pins_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("pins:write")
        channel = self._channel(params)
        self._unpin(channel, _text(params, "timestamp") or "")
        return {}

    def _pins_list(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("pins:read")
        channel = self._channel(params)
        # Slack lists the newest pin first.
        items = [
            self._pin_item(channel, self._message(channel, pin["ts"]))
            for pin in reversed(channel.pins)
        ]
        return {"items": items}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("reactions:write")
        channel = self._channel(params)
        name = _text(params, "name")
        if not name:
            raise _SlackError("invalid_name")
        self._react(channel, _text(params, "timestamp") or "", BOT_USER_ID, name)
        return {}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("reactions:write")
        channel = self._channel(params)
        name = _text(params, "name")
        if not name:
            raise _SlackError("invalid_name")
        self._unreact(channel, _text(params, "timestamp") or "", BOT_USER_ID, name)
        return {}

    def _reactions_get(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("reactions:read")
        channel = self._channel(params)
        message = self._message(channel, _text(params, "timestamp"))
        # Slack may cut the user lists of big reactions unless full=true; the fake's are small
        # and always whole.
        shown = self._with_permalink(channel, message)
        return {"type": "message", "channel": channel.id, "message": shown}

    # -- bookmarks -------------------------------------------------------------------------

    def _bookmarks_add(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("bookmarks:write")
        channel = self._channel(params, "channel_id")
        title = _text(params, "title")
        kind = _text(params, "type")
        if not title:
            raise _invalid_arguments("[ERROR] missing required field: title")
        if not kind:
            raise _invalid_arguments("[ERROR] missing required field: type")
        if kind != "link":
            raise _SlackError("invalid_bookmark_type")
        link = _text(params, "link") or ""
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _SlackError("invalid_link")
        now = int(time.time())
        bookmark = {
            "id": self._new_id("Bk"),
            "channel_id": channel.id,
            "title": title,
            "link": link,
            "emoji": _text(params, "emoji"),
            "icon_url": None,
            "type": "link",
            "entity_id": None,
            "date_created": now,
            "date_updated": 0,
            "rank": chr(ord("U") + len(channel.bookmarks) % 5),
            "last_updated_by_user_id": BOT_USER_ID,
            "last_updated_by_team_id": TEAM_ID,
            "shortcut_id": None,
            "app_id": API_APP_ID,
        }
        channel.bookmarks.append(bookmark)
        return {"bookmark": dict(bookmark)}

    def _bookmarks_list(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("bookmarks:read")
        channel = self._channel(params, "channel_id")
        return {"bookmarks": [dict(b) for b in channel.bookmarks]}

    # -- views -----------------------------------------------------------------------------

    def _take_trigger(self, params: dict[str, Any]) -> None:
        trigger_id = _text(params, "trigger_id")
        if not trigger_id:
            raise _SlackError("invalid_trigger_id")
        issued = self._triggers_issued.get(trigger_id)
        too_old = issued is not None and time.monotonic() - issued > self.trigger_ttl
        if trigger_id in self._triggers_expired or too_old:
            raise _SlackError("expired_trigger_id")
        if trigger_id in self._triggers_used:
            raise _SlackError("exchanged_trigger_id")
        self._triggers_used.add(trigger_id)

    def _checked_view(self, params: dict[str, Any]) -> dict[str, Any]:
        view = _structured(params, "view", "invalid_arguments")
        if not isinstance(view, dict):
            raise _invalid_arguments("[ERROR] missing required field: view")
        problems = _view_problems(view)
        if problems:
            raise _invalid_arguments(*problems)
        external_id = view.get("external_id")
        if external_id and any(v.get("external_id") == external_id for v in self.views.values()):
            raise _SlackError("duplicate_external_id")
        return view

    def _store_view(
        self, view: dict[str, Any], *, view_id: str, root_view_id: str, previous: str | None
    ) -> dict[str, Any]:
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": view["title"],
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous,
            "root_view_id": root_view_id,
            "app_id": API_APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        self.views[view_id] = stored
        return dict(stored)

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._take_trigger(params)
        view = self._checked_view(params)
        view_id = self._new_id("V")
        stored = self._store_view(view, view_id=view_id, root_view_id=view_id, previous=None)
        self._view_stacks.append([view_id])
        self.opened_views.append(stored)
        return {"view": stored}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        self._take_trigger(params)
        view = self._checked_view(params)
        if not self._view_stacks:
            raise _SlackError("not_found")
        # Slack pushes onto the modal the trigger came from; the fake takes the latest one.
        stack = self._view_stacks[-1]
        if len(stack) >= MAX_VIEW_STACK:
            raise _SlackError("push_limit_reached")
        view_id = self._new_id("V")
        stored = self._store_view(view, view_id=view_id, root_view_id=stack[0], previous=stack[-1])
        stack.append(view_id)
        self.opened_views.append(stored)
        return {"view": stored}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = _text(params, "view_id")
        external_id = _text(params, "external_id")
        if not view_id and not external_id:
            raise _invalid_arguments("[ERROR] either view_id or external_id is required")
        current = next(
            (
                v
                for v in self.views.values()
                if (view_id and v["id"] == view_id)
                or (external_id and v["external_id"] == external_id)
            ),
            None,
        )
        if current is None:
            raise _SlackError("not_found")
        expected_hash = _text(params, "hash")
        if expected_hash and expected_hash != current["hash"]:
            raise _SlackError("hash_conflict")
        view = _structured(params, "view", "invalid_arguments")
        if not isinstance(view, dict):
            raise _invalid_arguments("[ERROR] missing required field: view")
        problems = _view_problems(view)
        if problems:
            raise _invalid_arguments(*problems)
        stored = self._store_view(
            view,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous=current["previous_view_id"],
        )
        return {"view": stored}

    # -- users and user groups -------------------------------------------------------------

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("users:read")
        user = self.users.get(_text(params, "user") or "")
        if user is None:
            raise _SlackError("user_not_found")
        return {"user": user.to_slack()}

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("users:read.email")
        email = (_text(params, "email") or "").lower()
        user = next((u for u in self.users.values() if u.email and u.email.lower() == email), None)
        if user is None or user.deleted:
            raise _SlackError("users_not_found")
        return {"user": user.to_slack()}

    def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("usergroups:read")
        include_disabled = _flag(params, "include_disabled")
        include_users = _flag(params, "include_users")
        return {
            "usergroups": [
                g.to_slack(include_users=include_users)
                for g in self.usergroups.values()
                if include_disabled or not g.disabled
            ]
        }

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("usergroups:read")
        group = self.usergroups.get(_text(params, "usergroup") or "")
        if group is None or (group.disabled and not _flag(params, "include_disabled")):
            raise _SlackError("no_such_subteam")
        return {"users": list(group.users)}


# -- argument parsing --------------------------------------------------------------------------


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


# -- Block Kit validation ----------------------------------------------------------------------

_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)


def _too_long(value: Any, limit: int, pointer: str) -> list[str]:
    text = value.get("text") if isinstance(value, dict) else value
    if isinstance(text, str) and len(text) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _block_problems(blocks: list[Any], pointer: str, max_blocks: int) -> list[str]:
    """What Slack would refuse in a list of Block Kit blocks, in its message format."""
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:{pointer}]")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        here = f"{pointer}/{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else block
            problems.append(f"[ERROR] unsupported type: {kind} [json-pointer:{here}/type]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            problems += _too_long(block_id, 255, f"{here}/block_id")
            if block_id in seen:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{here}/block_id]")
            seen.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] must provide text or fields [json-pointer:{here}]")
            problems += _too_long(block.get("text"), 3000, f"{here}/text")
            fields = block.get("fields") or []
            if len(fields) > 10:
                problems.append(
                    f"[ERROR] no more than 10 items allowed [json-pointer:{here}/fields]"
                )
            for j, field in enumerate(fields):
                problems += _too_long(field, 2000, f"{here}/fields/{j}")
        elif kind == "header":
            problems += _too_long(block.get("text"), 150, f"{here}/text")
        elif kind == "context" and len(block.get("elements") or []) > 10:
            problems.append(f"[ERROR] no more than 10 items allowed [json-pointer:{here}/elements]")
        elif kind == "actions" and len(block.get("elements") or []) > 25:
            problems.append(f"[ERROR] no more than 25 items allowed [json-pointer:{here}/elements]")
        elif kind == "input":
            problems += _too_long(block.get("label"), 2000, f"{here}/label")
            if "element" not in block:
                problems.append(f"[ERROR] missing required field: element [json-pointer:{here}]")
            element = block.get("element") or {}
            max_length = element.get("max_length") if isinstance(element, dict) else None
            if isinstance(max_length, int) and max_length > 3000:
                problems.append(
                    f"[ERROR] must be at most 3000 [json-pointer:{here}/element/max_length]"
                )
    return problems


def _view_problems(view: Mapping[str, Any]) -> list[str]:
    """What Slack would refuse in a modal view."""
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append("[ERROR] must be a valid enum value [json-pointer:/view/type]")
    if not isinstance(view.get("title"), dict):
        problems.append("[ERROR] missing required field: title [json-pointer:/view]")
    for name in ("title", "submit", "close"):
        problems += _too_long(view.get(name), MAX_VIEW_TEXT, f"/view/{name}/text")
    problems += _too_long(
        view.get("private_metadata"), MAX_PRIVATE_METADATA, "/view/private_metadata"
    )
    problems += _too_long(view.get("callback_id"), 255, "/view/callback_id")
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        return [*problems, "[ERROR] must be an array [json-pointer:/view/blocks]"]
    problems += _block_problems(blocks, "/view/blocks", MAX_MODAL_BLOCKS)
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and "submit" not in view:
        problems.append(
            "[ERROR] must provide a submit property when using input blocks [json-pointer:/view]"
        )
    return problems
