"""Slack's side of a conversation with a running Firebell Slack app, for tests and benchmarks.

:class:`SlackSide` sends slash commands and modal submissions signed as Slack signs them to the
app's events URL; their replies and the modals the app opens are read back from the fake Slack.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import httpx

from firebell.testing import slack_requests as sr
from firebell.testing.fake_slack import TEAM_ID, FakeSlack

__all__ = [
    "GENERAL",
    "REPORTER",
    "Sent",
    "SlackSide",
    "declare_form",
    "summary_form",
    "wait_for",
]

T = TypeVar("T")

#: The user who sends commands unless told otherwise.
REPORTER = "U0000REPORT"
#: The channel commands come from unless told otherwise (not an incident channel).
GENERAL = "C0000GENERAL"


def wait_for(
    predicate: Callable[[], T | None], *, timeout: float = 10.0, what: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns something truthy (the app works after its ack)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def declare_form(
    title: str | None = "Checkout is down",
    *,
    description: str | None = "Error rate above 20% since 14:00",
    severity: str | None = "SEV1",
    customer_facing: bool = False,
) -> dict[str, dict[str, dict[str, Any]]]:
    """The declare form's ``state.values`` as Slack sends them (None: a field left empty)."""
    checked = [{"value": "customer_facing", "text": {"type": "plain_text", "text": "x"}}]
    return {
        "title": {"value": sr.plain_text_value(title)},
        "description": {"value": sr.plain_text_value(description)},
        "severity": {"value": sr.static_select_value(severity)},
        "customer_facing": {
            "value": {"type": "checkboxes", "selected_options": checked if customer_facing else []}
        },
    }


def summary_form(text: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """The resolve or close confirmation's ``state.values``."""
    return {"summary": {"value": sr.plain_text_value(text)}}


@attrs.frozen
class Sent:
    """A slash command as sent: its HTTP answer, trigger id and reply address."""

    response: httpx.Response
    trigger_id: str
    response_url: str


class SlackSide:
    """Slash commands and modal submissions to the app at ``events_url``, signed with
    ``signing_secret``; ``slack`` is the fake Slack the app talks to."""

    def __init__(
        self, slack: FakeSlack, events_url: str, signing_secret: str = sr.SIGNING_SECRET
    ) -> None:
        self.slack = slack
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.http = httpx.Client(timeout=30)

    def post(self, body: bytes, **options: Any) -> httpx.Response:
        """POST a body to the app, signed with the signing secret (``options`` go to ``send``)."""
        options.setdefault("client", self.http)
        options.setdefault("signing_secret", self.signing_secret)
        return sr.send(self.events_url, body, **options)

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = REPORTER,
        channel_id: str = GENERAL,
        trigger_id: str | None = None,
    ) -> Sent:
        """Send a slash command; its reply comes to a ``response_url`` on the fake."""
        trigger = trigger_id or self.slack.issue_trigger_id()
        reply_to = (
            f"{self.slack.url}/commands/{TEAM_ID}/{secrets.randbelow(10**9)}/{secrets.token_hex(8)}"
        )
        body = sr.slash_command(
            command,
            text,
            user_id=user_id,
            channel_id=channel_id,
            trigger_id=trigger,
            response_url=reply_to,
        )
        response = self.post(body)
        assert response.status_code == 200, response.text
        return Sent(response, trigger, reply_to)

    def submit(
        self,
        view: Mapping[str, Any],
        values: Mapping[str, Mapping[str, Mapping[str, Any]]],
        *,
        user_id: str = REPORTER,
        retry_num: int | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """Submit ``view`` with ``values`` (``retry_num``: as Slack's retry of it)."""
        body = sr.view_submission(
            view["callback_id"],
            values,
            user_id=user_id,
            view_id=view["id"],
            private_metadata=view["private_metadata"],
        )
        return self.post(body, retry_num=retry_num, client=client or self.http)

    def reply_payloads(self, sent: Sent) -> list[dict[str, Any]]:
        """The messages replied to ``sent`` so far, as posted to its ``response_url``."""
        path = httpx.URL(sent.response_url).path
        return [json.loads(c.request.body) for c in self.slack.calls if c.path == path]

    def replies(self, sent: Sent) -> list[str]:
        """The texts replied to ``sent`` so far."""
        return [payload["text"] for payload in self.reply_payloads(sent)]

    def reply(self, sent: Sent) -> str:
        """The first reply to ``sent``, once it arrives."""
        return wait_for(lambda: self.replies(sent), what=f"a reply to {sent.trigger_id}")[0]

    def opened_view(self, sent: Sent) -> dict[str, Any]:
        """The modal opened with ``sent``'s trigger id, once it is."""

        def find() -> dict[str, Any] | None:
            for call in self.slack.calls_to(r"/api/views\.open$"):
                params = call.request.json()
                if call.status != 200 or params.get("trigger_id") != sent.trigger_id:
                    continue
                view = params["view"]
                view = json.loads(view) if isinstance(view, str) else view
                for opened in self.slack.opened_views:
                    if opened["private_metadata"] == view["private_metadata"]:
                        return dict(opened)
            return None

        return wait_for(find, what=f"views.open with {sent.trigger_id}")
