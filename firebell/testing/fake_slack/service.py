"""The fake Slack served over HTTP: each Web API method routed to its handler, after the token,
the scopes and (when on) the rate limits are checked, with Slack's answers for errors."""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_slack.arguments import _parse_params, _text
from firebell.testing.fake_slack.bookmarks import BookmarksMethods
from firebell.testing.fake_slack.chat import ChatMethods
from firebell.testing.fake_slack.conversations import ConversationsMethods
from firebell.testing.fake_slack.errors import _SlackError
from firebell.testing.fake_slack.identity import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    DEFAULT_SCOPES,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
)
from firebell.testing.fake_slack.limits import TRIGGER_TTL
from firebell.testing.fake_slack.objects import Channel, User, Usergroup
from firebell.testing.fake_slack.pins_and_reactions import PinsAndReactionsMethods
from firebell.testing.fake_slack.rate_limits import RATE_LIMITS, MethodLimit, _Bucket
from firebell.testing.fake_slack.users import UsersMethods
from firebell.testing.fake_slack.views import ViewsMethods

_Method = Callable[[dict[str, Any]], dict[str, Any]]


class FakeSlack(
    ConversationsMethods,
    ChatMethods,
    PinsAndReactionsMethods,
    BookmarksMethods,
    ViewsMethods,
    UsersMethods,
):
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
