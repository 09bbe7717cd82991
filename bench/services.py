"""Firebell as ``firebell run`` serves it, with every plugin pointed at the local fakes.

:func:`running_firebell` starts fake Slack, PagerDuty (HTTPS), Notion and Statuspage, each
answering every call after the same fixed delay and stamping when it answered; writes a
``plugins.toml`` with the four plugins configured as a real workspace would have them (three
announcement channels, two responders, a runbook, a cc'd user group) on a new SQLite log; and
starts ``firebell run`` on it in a process of its own, serving Slack's HTTP requests with the
delivery worker in a thread, exactly as in production. The fakes stay in the bench's process:
like the real services, they do not compete with Firebell for its interpreter lock.

``in_process=True`` runs the same pieces (:func:`build_app` behind :func:`create_asgi_app` on
uvicorn, and the worker) in the bench's process instead, for the profiler.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import attrs
import httpx
import sqlalchemy as sa
from firebell.core.config import parse_config
from firebell.core.outbox import Outbox
from firebell.core.runtime import Firebell, open_firebell
from firebell.core.schema import deliveries
from firebell.core.store import EventStore

from firebell.testing import slack_requests as sr
from firebell.testing.asgi_server import serve_in_thread
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
from firebell.testing.plugins_toml import to_toml

__all__ = [
    "REPORTER",
    "Delivered",
    "DeliveryLog",
    "Running",
    "Stamp",
    "parse_delivery",
    "running_firebell",
    "to_toml",
]

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


@attrs.frozen
class Delivered:
    """One delivery as Firebell logged it: start and end (``perf_counter``), what, outcome."""

    start: float
    end: float
    plugin: str
    event: str
    outcome: str


_DELIVERY = re.compile(
    r"delivery plugin=(?P<plugin>\S+) event=(?P<event>\S+) .* attempt=(?P<attempt>\d+) "
    r"outcome=(?P<outcome>\S+) duration_ms=(?P<ms>[\d.]+)"
)


def parse_delivery(line: str, offset: float) -> Delivered | None:
    """A ``firebell -v`` delivery log line as a :class:`Delivered`, or None.

    The line's time (local, to the millisecond) is turned into ``perf_counter`` time with
    ``offset`` (``time.time() - time.perf_counter()``).
    """
    match = _DELIVERY.search(line)
    if match is None:
        return None
    try:
        logged = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return None
    end = logged - offset
    return Delivered(
        end - float(match["ms"]) / 1000, end, match["plugin"], match["event"], match["outcome"]
    )


class DeliveryLog(logging.Handler):
    """Keeps the delivery worker's log lines, stamped, when Firebell runs in this process."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.items: list[Delivered] = []
        self._items_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        match = _DELIVERY.search(record.getMessage())
        if match is None:
            return
        end = time.perf_counter()
        delivered = Delivered(
            end - float(match["ms"]) / 1000, end, match["plugin"], match["event"], match["outcome"]
        )
        with self._items_lock:
            self.items.append(delivered)

    def since(self, moment: float) -> list[Delivered]:
        """Deliveries that ended after ``moment``."""
        with self._items_lock:
            return [item for item in self.items if item.end >= moment]

    def __enter__(self) -> DeliveryLog:
        logger = logging.getLogger("firebell.delivery")
        self._level = logger.level
        self._propagate = logger.propagate
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("firebell.delivery")
        logger.removeHandler(self)
        logger.setLevel(self._level)
        logger.propagate = self._propagate


@attrs.define
class Running:
    """Everything :func:`running_firebell` started."""

    store: EventStore
    slack: FakeSlack
    pagerduty: FakePagerDuty
    notion: FakeNotion
    statuspage: FakeStatuspage
    app_url: str
    stamps: _Stamps
    announcement_channels: tuple[str, ...]
    delay: float
    firebell: Firebell | None = None
    log_path: Path | None = None
    deliveries: DeliveryLog | None = None
    http: httpx.Client = attrs.field(factory=lambda: httpx.Client(timeout=30))

    @property
    def outbox(self) -> Outbox:
        """The outbox of the log Firebell writes (read from the bench's side)."""
        return Outbox(self.store, [])

    def deliveries_since(self, moment: float) -> list[Delivered]:
        """The deliveries that ended after ``moment`` (``perf_counter``), from Firebell's log."""
        if self.deliveries is not None:
            return self.deliveries.since(moment)
        if self.log_path is None:
            return []
        offset = time.time() - time.perf_counter()
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            delivered = parse_delivery(line, offset)
            if delivered is not None and delivered.end >= moment:
                found.append(delivered)
        return found

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
        with self.store.read() as connection:
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
                    f"deliveries still pending after {timeout:.0f} s: {self.outbox.backlog()}"
                )
            time.sleep(poll)
        if not check_parked:
            return
        parked = {name: b.last_error for name, b in self.outbox.backlog().items() if b.failed}
        if parked:
            raise RuntimeError(f"parked deliveries: {parked}")


def _reply(_request: Request) -> Answer:
    return Answer(200, raw=b"ok")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _firebell_run(
    folder: Path, document: dict[str, Any], environ: dict[str, str], api_url: str
) -> Iterator[tuple[str, Path]]:
    """``firebell run`` in a process of its own; yields its URL and its log file."""
    config = folder / "plugins.toml"
    config.write_text(to_toml(document))
    log_path = folder / "firebell-run.log"
    port = _free_port()
    env = {
        **os.environ,
        **environ,
        "SLACK_SIGNING_SECRET": sr.SIGNING_SECRET,
        "SLACK_API_URL": api_url,
    }
    env.pop("SLACK_APP_TOKEN", None)
    env.pop("FIREBELL_DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "firebell.adapters.cli.main",
        "--config",
        str(config),
        "-v",
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log_path.open("w") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"firebell run exited: {log_path.read_text()[-3000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"firebell run did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url, log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def _in_process(
    settings_document: dict[str, Any], folder: Path, environ: dict[str, str], api_url: str
) -> Iterator[tuple[Firebell, str, DeliveryLog]]:
    """The same pieces as ``firebell run``, in this process (for the profiler)."""
    from firebell.adapters.slack import build_app, create_asgi_app, database_check

    with ExitStack() as stack:
        deliveries_log = stack.enter_context(DeliveryLog())
        settings = parse_config(settings_document, path=folder / "plugins.toml", environ=environ)
        firebell = open_firebell(settings)
        stack.callback(firebell.close)
        bolt = build_app(
            firebell, bot_token=BOT_TOKEN, signing_secret=sr.SIGNING_SECRET, api_url=api_url
        )
        asgi = create_asgi_app(
            bolt, signing_secret=sr.SIGNING_SECRET, checks=[database_check(firebell)]
        )
        server, thread, url = serve_in_thread(asgi)

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
        yield firebell, url, deliveries_log


@contextmanager
def running_firebell(
    *,
    delay: float,
    slack_rate_limits: bool = False,
    time_scale: float = 1.0,
    pagerduty: bool = True,
    notion: bool = True,
    statuspage: bool = True,
    in_process: bool = False,
) -> Iterator[Running]:
    """Firebell served by ``firebell run``, its plugins talking to fakes that wait ``delay`` s."""
    # Keep Firebell's own log lines (in process) off the console.
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
        api_url = slack.url + "/api/"
        plugins: dict[str, Any] = {
            "slack": {
                "bot_token": {"env": "SLACK_BOT_TOKEN"},
                "api_url": api_url,
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
        database_url = f"sqlite:///{folder / 'firebell.db'}"
        document = {"firebell": {"database_url": database_url}, "plugins": plugins}
        firebell: Firebell | None = None
        delivery_log: DeliveryLog | None = None
        log_path: Path | None = None
        if in_process:
            firebell, url, delivery_log = stack.enter_context(
                _in_process(document, folder, environ, api_url)
            )
        else:
            url, log_path = stack.enter_context(_firebell_run(folder, document, environ, api_url))
        store = EventStore(database_url)
        stack.callback(store.dispose)
        running = Running(
            store,
            slack,
            pd,
            nt,
            sp,
            url,
            stamps,
            announcements,
            delay,
            firebell=firebell,
            log_path=log_path,
            deliveries=delivery_log,
        )
        stack.callback(running.http.close)
        yield running
