"""The ``bookmarks.*`` methods: links bookmarked in a channel's header."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from firebell.testing.fake_slack.arguments import _text
from firebell.testing.fake_slack.errors import _invalid_arguments, _SlackError
from firebell.testing.fake_slack.identity import API_APP_ID, BOT_USER_ID, TEAM_ID
from firebell.testing.fake_slack.workspace import SlackWorkspace


class BookmarksMethods(SlackWorkspace):
    """``bookmarks.add`` and ``bookmarks.list``."""

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
