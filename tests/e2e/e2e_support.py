"""The whole of Firebell for the end-to-end tests: every built-in plugin on, every vendor a fake.

:func:`running_system` starts the fake Slack, PagerDuty (HTTPS, its own CA), Notion and
Statuspage; writes a ``plugins.toml`` enabling slack, pagerduty, notion, statuspage, console and
markdown against them (an announcement channel, a cc'ed user group, a responder, a runbook) on a
new SQLite log; opens Firebell from that file, as ``firebell`` does; and serves the Slack adapter
(:func:`build_app` behind :func:`create_asgi_app`) with uvicorn on a local port. Requests reach
it signed as Slack signs them. Deliveries run when a test calls :meth:`System.drain`, so a test
decides when vendors are down and when they are back.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import httpx
from click.testing import CliRunner
from firebell.adapters.cli.main import main
from firebell.adapters.slack import build_app, create_asgi_app, database_check
from firebell.core import Firebell, open_firebell
from firebell.core.config import load_config
from firebell.core.incident import Incident

from firebell.testing import slack_requests as sr
from firebell.testing import slack_side
from firebell.testing.asgi_server import serve_in_thread
from firebell.testing.fake_http import Answer, FakeService, Request
from firebell.testing.fake_notion import NOTION_DATABASE_ID, NOTION_TOKEN, FakeNotion
from firebell.testing.fake_pagerduty import FakePagerDuty
from firebell.testing.fake_slack import BOT_TOKEN, FakeSlack
from firebell.testing.fake_statuspage import (
    STATUSPAGE_API_KEY,
    STATUSPAGE_COMPONENT_API,
    STATUSPAGE_PAGE_ID,
    FakeStatuspage,
)
from firebell.testing.plugins_toml import to_toml
from firebell.testing.slack_side import GENERAL, REPORTER, Sent, SlackSide, summary_form, wait_for

__all__ = [
    "GENERAL",
    "REPORTER",
    "RESPONDER",
    "RUNBOOK",
    "STRANGER",
    "Clock",
    "EndToEndSlack",
    "Fakes",
    "Hold",
    "MakeSystem",
    "Outcome",
    "Secrets",
    "Sent",
    "SlackSide",
    "System",
    "declare_form",
    "holding",
    "plugins_document",
    "running_system",
    "start_fakes",
    "summary_form",
    "to_toml",
    "wait_for",
]

T = TypeVar("T")

RESPONDER = "U0000RESPOND"
STRANGER = "U0000STRANGE"
RUNBOOK = "https://wiki.example.com/incident-runbook"

#: Every plugin Firebell ships, as ``firebell plugins`` lists them.
BUILT_IN = ("console", "markdown", "notion", "pagerduty", "slack", "statuspage")


class Clock:
    """Firebell's clock, moved by the test: a failed delivery is due again only when told.

    It starts at the real time, so the vendors' own timestamps (Slack message ts, Statuspage's
    created_at) stay within the few minutes the plugins' look-ups allow.
    """

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        with self._lock:
            self.now += timedelta(seconds=seconds)


@attrs.frozen
class Secrets:
    """The secret values the system runs with (the fakes accept exactly these)."""

    slack_token: str = BOT_TOKEN
    pagerduty_key: str = FakePagerDuty.API_KEY
    notion_token: str = NOTION_TOKEN
    statuspage_key: str = STATUSPAGE_API_KEY
    signing_secret: str = sr.SIGNING_SECRET

    def environ(self) -> dict[str, str]:
        """The environment ``plugins.toml``'s ``{ env = ... }`` references and the adapter read."""
        return {
            "SLACK_BOT_TOKEN": self.slack_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "PAGERDUTY_API_KEY": self.pagerduty_key,
            "NOTION_TOKEN": self.notion_token,
            "STATUSPAGE_API_KEY": self.statuspage_key,
        }

    def values(self) -> dict[str, str]:
        """Each secret by its variable's name."""
        return self.environ()


@attrs.define
class Fakes:
    """The four vendors, and the Slack objects the configuration names."""

    slack: FakeSlack
    pagerduty: FakePagerDuty
    notion: FakeNotion
    statuspage: FakeStatuspage
    ca_bundle: Path
    announce: str
    oncall: str

    def service(self, plugin: str) -> FakeService:
        """The fake behind ``plugin`` (``slack``, ``pagerduty``, ``notion``, ``statuspage``)."""
        service: FakeService = getattr(self, plugin)
        return service


def _reply(_request: Request) -> Answer:
    return Answer(200, raw=b"ok")


def start_fakes(stack: ExitStack, folder: Path, keys: Secrets) -> Fakes:
    """Start the four fakes (stopped when ``stack`` closes) accepting ``keys``."""
    slack = FakeSlack(token=keys.slack_token)
    pagerduty = FakePagerDuty()
    pagerduty.api_keys = {keys.pagerduty_key}
    notion = FakeNotion(token=keys.notion_token)
    statuspage = FakeStatuspage(api_key=keys.statuspage_key)
    for fake in (slack, pagerduty, notion, statuspage):
        fake.start()
        stack.callback(fake.stop)
    # Slash commands' response_url points at the fake; it answers like hooks.slack.com.
    slack.route("POST", "/commands/{team}/{first}/{second}", _reply)
    slack.add_user("reporter", user_id=REPORTER)
    slack.add_user("responder", user_id=RESPONDER)
    slack.add_user("stranger", user_id=STRANGER)
    announce = slack.add_channel("incidents")
    oncall = slack.add_usergroup("oncall", users=[RESPONDER])
    ca_bundle = pagerduty.write_ca_bundle(folder / "pagerduty-ca.pem")
    return Fakes(slack, pagerduty, notion, statuspage, ca_bundle, announce, oncall)


def plugins_document(
    fakes: Fakes,
    folder: Path,
    *,
    timeout: float = 5.0,
    plugins: Collection[str] = BUILT_IN,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    **engine: Any,
) -> dict[str, Any]:
    """``plugins.toml`` (as a document) enabling the built-in ``plugins`` (all by default)
    against ``fakes``.

    ``timeout`` bounds each request to a vendor (Slack's in whole seconds); ``options`` adds
    keys to plugins' tables (``{"pagerduty": {"after": []}}``); ``engine`` goes to the
    ``[firebell]`` table.
    """
    tables = _plugin_tables(fakes, folder, timeout)
    for name, extra in (options or {}).items():
        tables[name] = {**tables[name], **extra}
    return {
        "firebell": {"database_url": f"sqlite:///{folder / 'firebell.db'}", **engine},
        "plugins": {name: table for name, table in tables.items() if name in plugins},
    }


def _plugin_tables(fakes: Fakes, folder: Path, timeout: float) -> dict[str, dict[str, Any]]:
    return {
        "slack": {
            "bot_token": {"env": "SLACK_BOT_TOKEN"},
            "api_url": fakes.slack.url + "/api/",
            "announcement_channels": [fakes.announce],
            "cc_usergroups": [fakes.oncall],
            "responders": [RESPONDER],
            "runbook_url": RUNBOOK,
            "timeout": max(1, round(timeout)),
        },
        "pagerduty": {
            "api_key": {"env": "PAGERDUTY_API_KEY"},
            "api_url": fakes.pagerduty.url,
            "ca_bundle": str(fakes.ca_bundle),
            "service_id": FakePagerDuty.SERVICE_ID,
            "escalation_policy_id": FakePagerDuty.ESCALATION_POLICY_ID,
            "requester_email": FakePagerDuty.USER_EMAIL,
            "timeout": timeout,
        },
        "notion": {
            "token": {"env": "NOTION_TOKEN"},
            "database_id": NOTION_DATABASE_ID,
            "api_url": fakes.notion.url,
            "requests_per_second": 1000.0,
            "timeout_seconds": timeout,
        },
        "statuspage": {
            "api_key": {"env": "STATUSPAGE_API_KEY"},
            "page_id": STATUSPAGE_PAGE_ID,
            "api_url": fakes.statuspage.url + "/v1",
            "components": {STATUSPAGE_COMPONENT_API: "major_outage"},
            "requests_per_second": 1000.0,
            "timeout": timeout,
        },
        "console": {},
        "markdown": {"folder": str(folder / "postmortems")},
    }


def declare_form(
    title: str | None = "Checkout is down",
    *,
    description: str | None = "5xx on /pay since the 14:00 deploy",
    severity: str | None = "SEV1",
    customer_facing: bool = True,
) -> dict[str, dict[str, dict[str, Any]]]:
    """The declare form as these tests fill it: customer facing, so Statuspage takes part."""
    return slack_side.declare_form(
        title, description=description, severity=severity, customer_facing=customer_facing
    )


@attrs.frozen
class Outcome:
    """What one ``firebell`` command gave: exit code, standard output, standard error."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Standard output as JSON."""
        return json.loads(self.stdout)


class EndToEndSlack(SlackSide):
    """Slack's side, with the end-to-end tests' declare form."""

    def submit_declare_form(self, title: str, *, user_id: str = REPORTER, **form: Any) -> Sent:
        """``/incident`` → the form → submitted; returns the command once it was confirmed."""
        sent = self.command("/incident", user_id=user_id)
        view = self.opened_view(sent)
        response = self.submit(view, declare_form(title, **form), user_id=user_id)
        assert response.status_code == 200 and not response.content, response.text
        self.reply(sent)
        return sent


class System(EndToEndSlack):
    """Firebell with every plugin, the adapter on ``url``, and the fakes behind it."""

    def __init__(
        self,
        firebell: Firebell,
        fakes: Fakes,
        url: str,
        config_path: Path,
        keys: Secrets,
    ) -> None:
        super().__init__(fakes.slack, url + "/slack/events", keys.signing_secret)
        self.firebell = firebell
        self.fakes = fakes
        self.url = url
        self.config_path = config_path
        self.secrets = keys

    # -- the commands people run ---------------------------------------------------------------

    def declare(
        self,
        title: str = "Checkout is down",
        *,
        user_id: str = REPORTER,
        **form: Any,
    ) -> Incident:
        """``/incident`` → the form → submitted: the new incident (nothing delivered yet).

        Returns once the reporter got the confirmation on the command's ``response_url``, so
        the adapter is done talking to Slack.
        """
        before = {i.id for i in self.incidents()}
        sent = self.submit_declare_form(title, user_id=user_id, **form)
        [incident] = [i for i in self.incidents() if i.id not in before]
        assert incident.id in self.reply(sent)
        return incident

    def confirm(
        self,
        action: str,
        incident: Incident,
        summary: str = "",
        *,
        user_id: str = REPORTER,
    ) -> httpx.Response:
        """``/<action>-incident`` in the incident's channel, then its confirmation submitted."""
        sent = self.command(f"/{action}-incident", channel_id=self.channel_of(incident))
        view = self.opened_view(sent)
        return self.submit(view, summary_form(summary), user_id=user_id)

    def drain(self) -> int:
        """One delivery round: everything due reaches every plugin (retries not yet due wait)."""
        return self.firebell.deliverer.drain(timeout=60.0)

    # -- reading -------------------------------------------------------------------------------

    def incidents(self) -> list[Incident]:
        """Every incident in the read model."""
        return self.firebell.store.list_incidents(limit=10_000)

    def get(self, incident: Incident | str) -> Incident:
        """The incident as the read model holds it now."""
        return self.firebell.engine.get(incident if isinstance(incident, str) else incident.id)

    def channel_of(self, incident: Incident) -> str:
        """The id of the incident's linked Slack channel."""
        channel = self.get(incident).resource("channel", plugin="slack")
        assert channel is not None, f"{incident.id} has no Slack channel linked"
        return channel.external_id

    def kinds_posted(self, channel_id: str) -> list[str]:
        """What Firebell posted in a channel, by message kind (from the message metadata)."""
        return [
            m["metadata"]["event_payload"]["kind"]
            for m in self.slack.messages(channel_id)
            if m.get("metadata")
        ]

    def texts_of(self, channel_id: str, kind: str) -> list[str]:
        """The texts of Firebell's messages of ``kind`` in a channel."""
        return [
            m["text"]
            for m in self.slack.messages(channel_id)
            if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == kind
        ]

    def event_types(self, incident: Incident) -> list[str]:
        """The incident's event names, oldest first."""
        return [e.type for e in self.firebell.store.select_events(incident.id)]

    def backlog(self, plugin: str) -> tuple[int, int, str | None]:
        """``(pending, failed, last_error)`` of a plugin's deliveries."""
        figures = self.firebell.deliverer.outbox.backlog().get(plugin)
        if figures is None:
            return 0, 0, None
        return figures.pending, figures.failed, figures.last_error

    def undelivered(self) -> dict[str, tuple[int, int, str | None]]:
        """Plugins with deliveries pending or parked."""
        found = {}
        for name in BUILT_IN:
            pending, failed, error = self.backlog(name)
            if pending or failed:
                found[name] = (pending, failed, error)
        return found

    # -- the command line ----------------------------------------------------------------------

    def cli(self, *args: str) -> Outcome:
        """``firebell --config <the system's plugins.toml> ARGS``, in this process."""
        runner = CliRunner()
        env = {**self.secrets.environ(), "FIREBELL_CONFIG": None, "FIREBELL_DATABASE_URL": None}
        with runner.isolation(env=env) as (out, err, _mixed):
            try:
                main(["--config", str(self.config_path), *args])
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(bool(exit_.code))
            sys.stdout.flush()
            sys.stderr.flush()
            return Outcome(code, out.getvalue().decode(), err.getvalue().decode())

    def plugins_json(self) -> dict[str, dict[str, Any]]:
        """``firebell plugins --json``, by plugin name."""
        outcome = self.cli("plugins", "--json")
        assert outcome.code == 0, outcome
        return {row["name"]: row for row in outcome.json()}


#: The ``make_system`` fixture: ``make_system(**options)`` -> a running :class:`System`.
MakeSystem = Callable[..., System]


class Hold:
    """Requests a fake carries out, then does not answer until :meth:`release` (or ever, if
    the client is killed meanwhile): the moment between a vendor's write and Firebell's record
    of it."""

    def __init__(self, fake: FakeService, method: str, path_pattern: str) -> None:
        self.fake = fake
        self.method = method
        self.pattern = re.compile(path_pattern)
        self.reached = threading.Event()
        self.released = threading.Event()
        self.held: list[Request] = []

    def wait(self, timeout: float = 30.0) -> None:
        """Until a matching request was carried out and is being held."""
        if not self.reached.wait(timeout):
            raise AssertionError(
                f"no {self.method} {self.pattern.pattern} reached {type(self.fake).__name__}"
            )

    def release(self) -> None:
        """Let the held answers go (to whoever still listens)."""
        self.released.set()


@contextmanager
def holding(fake: FakeService, method: str, path_pattern: str) -> Iterator[Hold]:
    """While inside, ``fake`` carries out ``method`` requests matching ``path_pattern`` and
    holds their answers; leaving releases them."""
    hold = Hold(fake, method, path_pattern)
    served = type(fake).dispatch

    def dispatch(request: Request) -> Any:
        answer = served(fake, request)
        if request.method == method and hold.pattern.search(request.path):
            hold.held.append(request)
            hold.reached.set()
            hold.released.wait(60)
        return answer

    fake.dispatch = dispatch  # type: ignore[method-assign]
    try:
        yield hold
    finally:
        hold.release()
        del fake.dispatch


@contextmanager
def running_system(
    folder: Path,
    *,
    keys: Secrets | None = None,
    timeout: float = 5.0,
    plugins: Collection[str] = BUILT_IN,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    engine: Mapping[str, Any] | None = None,
    **open_options: Any,
) -> Iterator[System]:
    """The whole system in ``folder`` (``plugins``: the ones to enable, by default all;
    ``options``: keys added to their tables); ``open_options`` go to :func:`open_firebell`
    (``clock=``, ``retry_base=``, ``max_workers=``)."""
    keys = keys or Secrets()
    with ExitStack() as stack:
        fakes = start_fakes(stack, folder, keys)
        document = plugins_document(
            fakes,
            folder,
            timeout=timeout,
            plugins=plugins,
            options=options,
            **dict(engine or {}),
        )
        config_path = folder / "plugins.toml"
        config_path.write_text(to_toml(document), encoding="utf-8")
        settings = load_config(config_path, environ=keys.environ())
        firebell = open_firebell(settings, **open_options)
        stack.callback(firebell.close)
        bolt = build_app(
            firebell,
            bot_token=keys.slack_token,
            signing_secret=keys.signing_secret,
            api_url=fakes.slack.url + "/api",
        )
        asgi = create_asgi_app(
            bolt, signing_secret=keys.signing_secret, checks=[database_check(firebell)]
        )
        server, thread, url = serve_in_thread(asgi)

        def stop_server() -> None:
            server.should_exit = True
            thread.join(10)

        stack.callback(stop_server)
        system = System(firebell, fakes, url, config_path, keys)
        stack.callback(system.http.close)
        yield system
