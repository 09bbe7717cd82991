"""Firebell as ``firebell run`` serves it, with every plugin pointed at the local fakes.

:func:`running_firebell` starts fake Slack, PagerDuty (HTTPS), Notion and Statuspage, each
answering every call after the same fixed delay and stamping when it answered; opens Firebell on
a new SQLite log with the four plugins configured as a real workspace would have them (three
announcement channels, two responders, a runbook, a cc'd user group); builds the Slack app with
:func:`firebell.adapters.slack.build_app` behind :func:`create_asgi_app` on uvicorn; and runs the
delivery worker in a thread, exactly as ``firebell run`` does.
"""

from __future__ import annotations

import json
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import httpx
import sqlalchemy as sa
import uvicorn
from firebell.core.config import parse_config
from firebell.core.runtime import Firebell, open_firebell
from firebell.core.schema import deliveries

from firebell.testing import slack_requests as sr
from firebell.testing.fake_http import Answer, FakeService, Request
from firebell.testing.fake_notion import NOTION_DATABASE_ID, NOTION_TOKEN, FakeNotion
from firebell.testing.fake_pagerduty import FakePagerDuty
from firebell.testing.fake_slack import BOT_TOKEN, TEAM_ID, FakeSlack
from firebell.testing.fake_statuspage import (
    STATUSPAGE_API_KEY,
    STATUSPAGE_COMPONENT_API,
    STATUSPAGE_PAGE_ID,
    FakeStatuspage,
)

__all__ = ["REPORTER", "Running", "Stamp", "running_firebell"]

F = TypeVar("F", bound=FakeService)

REPORTER = "U0000REPORT"
RESPONDERS = ("U0000RESP01", "U0000RESP02")
RUNBOOK = "https://wiki.example.com/incident-runbook"


@attrs.frozen
class Stamp:
    """A call a fake answered: when (``perf_counter``), which service, the request, the status."""

    at: float
    service: str
    request: Request
    status: int

    @property
    def method(self) -> str:
        """The Slack method (``chat.postMessage``) or the HTTP method and path."""
        if self.service == "slack":
            return self.request.path.rsplit("/", 1)[-1]
        return f"{self.request.method} {self.request.path}"

    def params(self) -> dict[str, Any]:
        """The request's parameters (form, query string or JSON body)."""
        try:
            body = self.request.json()
        except ValueError:
            body = {}
        params = dict(self.request.query)
        if isinstance(body, dict):
            params.update(body)
        return params


class _Stamps:
    """What every fake shares here: one list of stamps, in the order calls were answered."""

    def __init__(self) -> None:
        self.items: list[Stamp] = []
        self.lock = threading.Lock()

    def add(self, service: str, request: Request, status: int) -> None:
        with self.lock:
            self.items.append(Stamp(time.perf_counter(), service, request, status))

    def since(self, moment: float) -> list[Stamp]:
        with self.lock:
            return [s for s in self.items if s.at >= moment]


def _stamped(base: type[F], service: str, stamps: _Stamps) -> type[F]:
    """A subclass of ``base`` that stamps every call it records."""

    def record(self: FakeService, request: Request, status: int) -> None:
        base.record(self, request, status)
        stamps.add(service, request, status)

    subclass: type[F] = type(f"Stamped{base.__name__}", (base,), {"record": record})
    return subclass


@attrs.define
class Running:
    """Everything :func:`running_firebell` started."""

    firebell: Firebell
    slack: FakeSlack
    pagerduty: FakePagerDuty
    notion: FakeNotion
    statuspage: FakeStatuspage
    app_url: str
    stamps: _Stamps
    announcement_channels: tuple[str, ...]
    delay: float
    http: httpx.Client = attrs.field(factory=lambda: httpx.Client(timeout=30))

    @property
    def events_url(self) -> str:
        """Where Slack posts requests to the app."""
        return self.app_url + "/slack/events"

    def open_form(self) -> dict[str, Any]:
        """Run ``/incident`` as Slack would and return the declare modal it opened."""
        trigger = self.slack.issue_trigger_id()
        reply_to = f"{self.slack.url}/commands/{TEAM_ID}/1/{trigger.rsplit('.', 1)[-1]}"
        body = sr.slash_command(
            "/incident", user_id=REPORTER, trigger_id=trigger, response_url=reply_to
        )
        answer = sr.send(self.events_url, body, client=self.http)
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for call in self.slack.calls_to(r"/api/views\.open$"):
                params = call.request.json()
                if params.get("trigger_id") != trigger:
                    continue
                view = params["view"]
                view = json.loads(view) if isinstance(view, str) else view
                for opened in self.slack.opened_views:
                    if opened["private_metadata"] == view["private_metadata"]:
                        return dict(opened)
            time.sleep(0.005)
        raise RuntimeError("the /incident form never opened")

    def submission(self, view: dict[str, Any], title: str) -> bytes:
        """The signed body of the declare form submitted with ``title``, customer facing."""
        checked = [{"value": "customer_facing", "text": {"type": "plain_text", "text": "x"}}]
        values = {
            "title": {"value": sr.plain_text_value(title)},
            "description": {"value": sr.plain_text_value("5xx on /pay since the 14:00 deploy")},
            "severity": {"value": sr.static_select_value("SEV1")},
            "customer_facing": {"value": {"type": "checkboxes", "selected_options": checked}},
        }
        return sr.view_submission(
            view["callback_id"],
            values,
            user_id=REPORTER,
            view_id=view["id"],
            private_metadata=view["private_metadata"],
        )

    def pending_deliveries(self) -> bool:
        """Whether any delivery is still pending (a cheap indexed query: this is polled)."""
        with self.firebell.store.read() as connection:
            row = connection.execute(
                sa.select(deliveries.c.position).where(deliveries.c.status == "pending").limit(1)
            ).first()
        return row is not None

    def wait_quiet(
        self, *, timeout: float = 120.0, poll: float = 0.02, check_parked: bool = True
    ) -> None:
        """Wait until the outbox has nothing pending (every side effect of every event done).

        Only the end of the wait depends on ``poll``; the times measured come from the fakes'
        stamps. A parked (failed) delivery is reported as an error.
        """
        deadline = time.monotonic() + timeout
        while self.pending_deliveries():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"deliveries still pending after {timeout:.0f} s: "
                    f"{self.firebell.deliverer.outbox.backlog()}"
                )
            time.sleep(poll)
        if not check_parked:
            return
        parked = {
            name: b.last_error
            for name, b in self.firebell.deliverer.outbox.backlog().items()
            if b.failed
        }
        if parked:
            raise RuntimeError(f"parked deliveries: {parked}")


def _reply(_request: Request) -> Answer:
    return Answer(200, raw=b"ok")


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


@contextmanager
def running_firebell(
    *,
    delay: float,
    slack_rate_limits: bool = False,
    time_scale: float = 1.0,
    max_workers: int = 8,
    pagerduty: bool = True,
    notion: bool = True,
    statuspage: bool = True,
) -> Iterator[Running]:
    """Firebell served like ``firebell run``, its plugins talking to fakes that wait ``delay`` s."""
    from firebell.adapters.slack import build_app, create_asgi_app, database_check

    # The delivery log lines are the waterfall's raw material; keep them from the console.
    logging.getLogger("firebell").setLevel(logging.WARNING)
    stamps = _Stamps()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="firebell-bench-")))
        slack_class = _stamped(FakeSlack, "slack", stamps)
        slack: FakeSlack = slack_class(
            delay=delay, rate_limits=slack_rate_limits, time_scale=time_scale
        )
        slack.route("POST", "/commands/{team}/{first}/{second}", _reply)
        pd: FakePagerDuty = _stamped(FakePagerDuty, "pagerduty", stamps)(delay=delay)
        nt: FakeNotion = _stamped(FakeNotion, "notion", stamps)(delay=delay)
        sp: FakeStatuspage = _stamped(FakeStatuspage, "statuspage", stamps)(delay=delay)
        for fake in (slack, pd, nt, sp):
            fake.start()
            stack.callback(fake.stop)
        slack.add_user("reporter", user_id=REPORTER)
        for index, user in enumerate(RESPONDERS):
            slack.add_user(f"responder{index}", user_id=user)
        announcements = tuple(
            slack.add_channel(name) for name in ("incidents", "engineering", "support")
        )
        group = slack.add_usergroup("oncall", users=list(RESPONDERS))
        plugins: dict[str, Any] = {
            "slack": {
                "bot_token": {"env": "SLACK_BOT_TOKEN"},
                "api_url": slack.url + "/api/",
                "announcement_channels": list(announcements),
                "cc_usergroups": [group],
                "responders": list(RESPONDERS),
                "runbook_url": RUNBOOK,
            }
        }
        environ = {"SLACK_BOT_TOKEN": BOT_TOKEN}
        if pagerduty:
            ca = pd.write_ca_bundle(folder / "pagerduty-ca.pem")
            plugins["pagerduty"] = {
                "api_key": {"env": "PAGERDUTY_API_KEY"},
                "api_url": pd.url,
                "ca_bundle": str(ca),
                "service_id": FakePagerDuty.SERVICE_ID,
                "escalation_policy_id": FakePagerDuty.ESCALATION_POLICY_ID,
                "requester_email": FakePagerDuty.USER_EMAIL,
            }
            environ["PAGERDUTY_API_KEY"] = FakePagerDuty.API_KEY
        if notion:
            plugins["notion"] = {
                "token": {"env": "NOTION_TOKEN"},
                "database_id": NOTION_DATABASE_ID,
                "api_url": nt.url,
            }
            environ["NOTION_TOKEN"] = NOTION_TOKEN
        if statuspage:
            plugins["statuspage"] = {
                "api_key": {"env": "STATUSPAGE_API_KEY"},
                "page_id": STATUSPAGE_PAGE_ID,
                "api_url": sp.url + "/v1",
                "components": {STATUSPAGE_COMPONENT_API: "major_outage"},
            }
            environ["STATUSPAGE_API_KEY"] = STATUSPAGE_API_KEY
        document = {
            "firebell": {"database_url": f"sqlite:///{folder / 'firebell.db'}"},
            "plugins": plugins,
        }
        settings = parse_config(document, path=folder / "plugins.toml", environ=environ)
        firebell = open_firebell(settings, max_workers=max_workers)
        stack.callback(firebell.close)
        bolt = build_app(
            firebell,
            bot_token=BOT_TOKEN,
            signing_secret=sr.SIGNING_SECRET,
            api_url=slack.url + "/api",
        )
        asgi = create_asgi_app(
            bolt, signing_secret=sr.SIGNING_SECRET, checks=[database_check(firebell)]
        )
        server, thread, url = _serve(asgi)

        def stop_server() -> None:
            server.should_exit = True
            thread.join(10)

        stack.callback(stop_server)
        stop = threading.Event()
        worker = threading.Thread(
            target=firebell.deliverer.run_forever, args=(stop,), name="bench-deliverer", daemon=True
        )
        worker.start()

        def stop_worker() -> None:
            stop.set()
            firebell.deliverer.wake()
            worker.join(30)

        stack.callback(stop_worker)
        running = Running(firebell, slack, pd, nt, sp, url, stamps, announcements, delay)
        stack.callback(running.http.close)
        yield running
