"""Requests to a Slack app built exactly as Slack sends them: signed slash commands, interactivity
payloads and Events API callbacks.

Each builder returns the raw body (``bytes``); :func:`sign` gives the signature headers for a body
and :func:`send` posts a body to the app the way Slack does, retries included. Defaults name the
same workspace, bot and app as :class:`firebell.testing.fake_slack.FakeSlack`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from firebell.testing.fake_slack import API_APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

__all__ = [
    "SIGNING_SECRET",
    "VERIFICATION_TOKEN",
    "block_actions",
    "event_callback",
    "headers_for",
    "new_trigger_id",
    "plain_text_value",
    "send",
    "sign",
    "slash_command",
    "static_select_value",
    "url_verification",
    "view_submission",
]

SIGNING_SECRET = "firebell-test-signing-secret"
# The deprecated verification token Slack still puts in every payload; Bolt ignores it.
VERIFICATION_TOKEN = "firebell-verification-token"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The ``X-Slack-Signature`` and ``X-Slack-Request-Timestamp`` headers for ``body``.

    The signature is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed by the signing
    secret; ``timestamp`` (Unix seconds) defaults to now. Pass an old one to test replay refusal.
    """
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Signature": f"v0={digest.hexdigest()}", "X-Slack-Request-Timestamp": stamp}


def new_trigger_id() -> str:
    """A fresh trigger id shaped like Slack's (``digits.digits.hex``)."""
    return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def _response_url(kind: str) -> str:
    return f"https://hooks.slack.com/{kind}/{TEAM_ID}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"


def _user(user_id: str, user_name: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID}


def _form_payload(payload: Mapping[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


# -- slash commands ----------------------------------------------------------------------------


def slash_command(
    command: str,
    text: str = "",
    *,
    user_id: str = "U0000REPORT",
    user_name: str = "reporter",
    channel_id: str = "C0000GENERAL",
    channel_name: str = "general",
    trigger_id: str | None = None,
    response_url: str | None = None,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
) -> bytes:
    """The form-encoded body Slack posts for a slash command (``command`` like ``/incident``)."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or _response_url("commands"),
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return urlencode(fields).encode()


# -- interactivity -----------------------------------------------------------------------------


def plain_text_value(value: str | None) -> dict[str, Any]:
    """The ``state.values`` entry of a ``plain_text_input`` holding ``value``."""
    return {"type": "plain_text_input", "value": value}


def static_select_value(value: str | None, text: str | None = None) -> dict[str, Any]:
    """The ``state.values`` entry of a ``static_select`` with option ``value`` chosen (or none)."""
    if value is None:
        return {"type": "static_select", "selected_option": None}
    label = {"type": "plain_text", "text": text or value, "emoji": True}
    return {"type": "static_select", "selected_option": {"text": label, "value": value}}


def view_submission(
    callback_id: str,
    values: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    user_id: str = "U0000REPORT",
    user_name: str = "reporter",
    view_id: str = "V0000000001",
    private_metadata: str = "",
    hash: str | None = None,
    title: str = "Modal",
    blocks: list[dict[str, Any]] | None = None,
    external_id: str = "",
    trigger_id: str | None = None,
) -> bytes:
    """The form-encoded ``payload=<json>`` Slack posts when a modal is submitted.

    ``values`` is the view's ``state.values`` in Slack's shape,
    ``{block_id: {action_id: {"type": "plain_text_input", "value": ...}}}`` (see
    :func:`plain_text_value` and :func:`static_select_value`).
    """
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": {k: {a: dict(v) for a, v in e.items()} for k, e in values.items()}},
            "hash": hash or f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": title, "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": API_APP_ID,
            "external_id": external_id,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form_payload(payload)


def block_actions(
    action_id: str,
    *,
    value: str | None = None,
    block_id: str = "actions",
    action_type: str = "button",
    user_id: str = "U0000REPORT",
    user_name: str = "reporter",
    channel_id: str | None = "C0000GENERAL",
    channel_name: str = "general",
    message_ts: str | None = None,
    view: Mapping[str, Any] | None = None,
    state_values: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
) -> bytes:
    """The form-encoded ``payload=<json>`` Slack posts when someone clicks a button (or similar).

    Give ``message_ts`` for an element in a message, or ``view`` (the view object) for one in a
    modal or App Home.
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{time.time():.6f}",
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
    if value is not None:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": dict(state_values or {})},
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = dict(view)
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["message"] = {"type": "message", "user": BOT_USER_ID, "ts": message_ts}
        payload["response_url"] = _response_url("actions")
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": channel_name}
    return _form_payload(payload)


# -- Events API --------------------------------------------------------------------------------


def event_callback(
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
    team_id: str = TEAM_ID,
) -> bytes:
    """The JSON body Slack posts for one Events API event (``event`` is the inner event)."""
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": API_APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": secrets.token_urlsafe(24),
    }
    return json.dumps(body).encode()


def url_verification(challenge: str) -> bytes:
    """The JSON body Slack posts to check a new Request URL."""
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(body).encode()


# -- sending -----------------------------------------------------------------------------------


def headers_for(
    body: bytes,
    *,
    signing_secret: str = SIGNING_SECRET,
    content_type: str | None = None,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """Every header Slack sends with ``body``: content type, user agent, signature and retries.

    The content type is JSON for a body that is a JSON object, form-encoded otherwise, unless
    given. ``retry_num`` adds ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason``, as Slack does
    when it sends an event again.
    """
    if content_type is None:
        content_type = JSON if body.lstrip().startswith(b"{") else FORM
    headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
    headers.update(sign(body, signing_secret, timestamp))
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


def send(
    url: str,
    body: bytes,
    *,
    signing_secret: str = SIGNING_SECRET,
    content_type: str | None = None,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST ``body`` to the app at ``url`` with the headers of :func:`headers_for`.

    Pass ``client`` to reuse a connection pool or to reach an app through an httpx transport.
    """
    headers = headers_for(
        body,
        signing_secret=signing_secret,
        content_type=content_type,
        timestamp=timestamp,
        retry_num=retry_num,
        retry_reason=retry_reason,
    )
    if client is not None:
        return client.post(url, content=body, headers=headers, timeout=timeout)
    with httpx.Client() as own:
        return own.post(url, content=body, headers=headers, timeout=timeout)
