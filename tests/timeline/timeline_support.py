"""Shared pieces of the timeline tests: a clock the test moves, and the Slack adapter served over
HTTP (uvicorn + Starlette + Bolt) with the fake Slack answering its Web API calls."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs
import httpx
import uvicorn
from firebell.adapters.slack import build_app, create_asgi_app
from firebell.adapters.slack.mark_lookups import running_retries
from firebell.core import Firebell, Link, hookimpl
from firebell.core.events import RecordedEvent
from firebell.core.incident import Incident

from firebell.testing import slack_requests as sr
from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_slack import BOT_TOKEN, TEAM_ID, FakeSlack

T = TypeVar("T")

REPORTER = "U0000REPORT"
RESPONDER = "U0000RESPOND"
ANA = "U0000ANA0001"


class Clock:
    """A clock the test moves: event times, reminders and incident names follow it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 6, 1, 14, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def set(self, moment: datetime) -> None:
        self.now = moment


def wait_for(predicate: Callable[[], T], *, timeout: float = 5.0, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy (listeners work after the ack)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class ChannelMaker:
    """Plays the Slack plugin's part on created: makes the incident channel in the fake (with
    the reporter and a responder in it) and links it, as the real plugin does."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        channel_id = self.fake.add_channel(f"incd-{incident.id}", members=[REPORTER, RESPONDER])
        return Link("channel", channel_id, f"https://example.slack.com/archives/{channel_id}")


def _record_reply(request: Request) -> Answer:
    return Answer(200, raw=b"ok")


def make_fake_slack() -> FakeSlack:
    """A started fake Slack whose slash-command ``response_url`` answers like hooks.slack.com."""
    fake = FakeSlack().start()
    fake.route("POST", "/commands/{team}/{first}/{second}", _record_reply)
    for name, user_id in (("reporter", REPORTER), ("responder", RESPONDER), ("ana", ANA)):
        fake.add_user(name, user_id=user_id)
    return fake


@attrs.define
class Sent:
    """A slash command as sent: its reply address."""

    response: httpx.Response
    trigger_id: str
    response_url: str


class SlackHarness:
    """The adapter on an ephemeral port, the Firebell behind it and the fake Slack."""

    def __init__(self, firebell: Firebell, fake: FakeSlack, **app_options: Any) -> None:
        """``app_options`` go to :func:`build_app` (e.g. ``lookup_retry_base``)."""
        self.firebell = firebell
        self.fake = fake
        before = running_retries()
        bolt = build_app(
            firebell,
            bot_token=BOT_TOKEN,
            signing_secret=sr.SIGNING_SECRET,
            api_url=fake.url + "/api",
            **app_options,
        )
        # Its retries of refused lookups would go on asking a stopped fake after the test.
        self.lookups = [r for r in running_retries() if r not in before]
        asgi = create_asgi_app(bolt, signing_secret=sr.SIGNING_SECRET)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.server = uvicorn.Server(uvicorn.Config(asgi, lifespan="off", log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        wait_for(lambda: self.server.started, what="uvicorn to start")
        self.events_url = f"http://127.0.0.1:{sock.getsockname()[1]}/slack/events"
        self.http = httpx.Client(timeout=10)

    def stop(self) -> None:
        for retries in self.lookups:
            retries.stop()
        self.http.close()
        self.server.should_exit = True
        self.thread.join(5)

    # -- sending ---------------------------------------------------------------------------

    def post(self, body: bytes, **options: Any) -> httpx.Response:
        return sr.send(self.events_url, body, client=self.http, **options)

    def event(
        self, inner: Mapping[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> str:
        """Send ``inner`` as Slack sends an Events API event; returns its event id."""
        event_id = event_id or f"Ev{secrets.token_hex(5).upper()}"
        response = self.post(sr.event_callback(inner, event_id=event_id), retry_num=retry_num)
        assert response.status_code == 200, response.text
        return event_id

    def handled(self, send: Callable[[], object]) -> None:
        """Run ``send`` (one mark event) and wait until its listener asked Slack for the message's
        marks and had time to act on the answer."""
        before = len(self.fake.calls_to(r"/api/pins\.list$"))
        send()
        wait_for(
            lambda: len(self.fake.calls_to(r"/api/pins\.list$")) > before,
            what="the listener to read the message's marks",
        )
        time.sleep(0.3)  # the append (if any) follows the answer at once

    def ignored(self, send: Callable[[], object]) -> None:
        """Run ``send`` (an event the listener should ignore without asking Slack anything) and
        give its listener time to act wrongly, should it."""
        send()
        time.sleep(0.3)

    def command(self, text: str, *, channel_id: str, user_id: str = REPORTER) -> Sent:
        trigger = self.fake.issue_trigger_id()
        reply_to = (
            f"{self.fake.url}/commands/{TEAM_ID}/{secrets.randbelow(10**9)}/{secrets.token_hex(8)}"
        )
        body = sr.slash_command(
            "/incident",
            text,
            user_id=user_id,
            channel_id=channel_id,
            trigger_id=trigger,
            response_url=reply_to,
        )
        response = self.post(body)
        assert response.status_code == 200, response.text
        return Sent(response, trigger, reply_to)

    def reply(self, sent: Sent) -> str:
        path = httpx.URL(sent.response_url).path

        def replies() -> list[dict[str, Any]]:
            return [json.loads(c.request.body) for c in self.fake.calls if c.path == path]

        found = wait_for(replies, what="the ephemeral reply")
        assert found[0]["response_type"] == "ephemeral"
        text: str = found[0]["text"]
        return text

    def opened_view(self, sent: Sent) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for call in self.fake.calls_to(r"/api/views\.open$"):
                params = call.request.json()
                if params.get("trigger_id") == sent.trigger_id and call.status == 200:
                    view = params["view"]
                    return json.loads(view) if isinstance(view, str) else dict(view)
            return None

        found: dict[str, Any] = wait_for(find, what="views.open")
        return found

    # -- reading ---------------------------------------------------------------------------

    def declare(self, title: str = "Checkout is down") -> tuple[Incident, str]:
        result = self.firebell.engine.declare(title=title, reporter=REPORTER, severity="SEV1")
        self.firebell.deliverer.drain()
        incident = self.firebell.engine.get(result.incident.id)
        channel = incident.resource("channel")
        assert channel is not None
        return incident, channel.external_id

    def incident(self, incident_id: str) -> Incident:
        return self.firebell.engine.get(incident_id)

    def events(self, incident_id: str, *types: str) -> list[RecordedEvent]:
        return [
            e
            for e in self.firebell.store.select_events(incident_id)
            if not types or e.type in types
        ]


def entries(harness: SlackHarness, incident_id: str) -> list[tuple[str, str]]:
    """The incident's timeline entries as (entry id, text), in order."""
    return [(e.entry_id, e.text) for e in harness.incident(incident_id).timeline_entries]
