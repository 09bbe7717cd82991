"""The ``views.*`` methods (modals opened, pushed and updated) and the trigger ids they need."""

from __future__ import annotations

import secrets
import time
from typing import Any

from firebell.testing.fake_slack.arguments import _structured, _text
from firebell.testing.fake_slack.block_kit import _view_problems
from firebell.testing.fake_slack.errors import _invalid_arguments, _SlackError
from firebell.testing.fake_slack.identity import API_APP_ID, BOT_ID, TEAM_ID
from firebell.testing.fake_slack.limits import MAX_VIEW_STACK
from firebell.testing.fake_slack.workspace import SlackWorkspace


class ViewsMethods(SlackWorkspace):
    """``views.open``, ``views.push`` and ``views.update``, and the trigger ids a test issues."""

    # -- trigger ids, as a person's click in Slack makes them ------------------------------

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
