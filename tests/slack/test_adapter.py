"""The Slack adapter behind its real HTTP stack (uvicorn + Starlette + Bolt), driven by requests
signed as Slack signs them, with the fake Slack Web API answering the app's calls (views.open,
usergroups, and the slash commands' response_url, which points at the fake).
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from firebell.adapters.slack import build_app, create_asgi_app, database_check
from firebell.core import Firebell, IncidentState, Link, PluginSpec, hookimpl
from firebell.core.incident import Incident
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firebell.testing import slack_requests as sr
from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_slack import BOT_TOKEN, FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell
from firebell.testing.slack_side import GENERAL, REPORTER, Sent, SlackSide, summary_form, wait_for
from firebell.testing.slack_side import declare_form as form

RESPONDER = "U0000RESPOND"
STRANGER = "U0000STRANGE"

T = Any


class ChannelLinker:
    """A stand-in for the Slack plugin: makes a channel in the fake for each new incident and
    links it, exactly as the real plugin reports its channel (``Link(kind="channel")``)."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(description="links a test channel")

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        channel_id = self.fake.add_channel(f"incd-{incident.id}", members=[REPORTER])
        return Link(kind="channel", external_id=channel_id)


class Harness(SlackSide):
    """The adapter served by uvicorn on an ephemeral port, and the fake Slack it talks to."""

    def __init__(self, firebell: Firebell, fake: FakeSlack, url: str) -> None:
        super().__init__(fake, url + "/slack/events")
        self.firebell = firebell
        self.fake = fake
        self.url = url

    def reply(self, sent: Sent) -> str:
        """The text of the (first) ephemeral reply to ``sent``, once it arrives."""
        replies = wait_for(lambda: self.reply_payloads(sent), what=f"a reply to {sent.trigger_id}")
        assert replies[0]["response_type"] == "ephemeral"
        text: str = replies[0]["text"]
        return text

    def incidents(self) -> list[Incident]:
        return self.firebell.store.list_incidents()

    def only_incident(self) -> Incident:
        incidents = self.incidents()
        assert len(incidents) == 1, incidents
        return incidents[0]

    def declare(self, title: str = "Checkout is down", *, channel: bool = True) -> Incident:
        """Declare through the form and (with ``channel``) link its incident channel."""
        sent = self.command("/incident")
        view = self.opened_view(sent)
        response = self.submit(view, form(title))
        assert response.status_code == 200 and not response.content, response.text
        self.firebell.deliverer.drain()
        incident = self.firebell.store.list_incidents()[0]
        assert not channel or incident.resource("channel") is not None
        return incident

    def channel_of(self, incident: Incident) -> str:
        current = self.firebell.engine.get(incident.id)
        resource = current.resource("channel")
        assert resource is not None
        return resource.external_id


def _record_reply(request: Request) -> Answer:
    return Answer(200, raw=b"ok")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        # Slash commands' response_url points at the fake; it answers like hooks.slack.com.
        fake.route("POST", "/commands/{team}/{first}/{second}", _record_reply)
        fake.add_user("reporter", user_id=REPORTER)
        fake.add_user("responder", user_id=RESPONDER)
        fake.add_user("stranger", user_id=STRANGER)
        yield fake


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="uvicorn to start")
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def make_harness(
    make_firebell: MakeFirebell, fake_slack: FakeSlack
) -> Iterator[Callable[..., Harness]]:
    running: list[tuple[uvicorn.Server, threading.Thread, Harness]] = []

    def make(
        firebell_table: Mapping[str, Any] | None = None,
        *,
        link_channels: bool = True,
        plugins: Mapping[str, Any] | None = None,
        app_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Harness:
        """A harness; with ``plugins`` the installed plugins run (the real Slack plugin)."""
        document: dict[str, Any] = {"firebell": dict(firebell_table or {}), "plugins": {}}
        extra: dict[str, object] = {}
        if plugins is not None:
            document["plugins"] = dict(plugins)
            options.setdefault("environ", {"SLACK_BOT_TOKEN": BOT_TOKEN})
        elif link_channels:
            document["plugins"]["channels"] = {}
            extra["channels"] = ChannelLinker(fake_slack)
        firebell = make_firebell(
            document, extra_plugins=extra, entry_points=plugins is not None, **options
        )
        bolt = build_app(
            firebell,
            bot_token=BOT_TOKEN,
            signing_secret=sr.SIGNING_SECRET,
            api_url=fake_slack.url + "/api",
            **(app_options or {}),
        )
        asgi = create_asgi_app(
            bolt, signing_secret=sr.SIGNING_SECRET, checks=[database_check(firebell)]
        )
        server, thread, url = _serve(asgi)
        harness = Harness(firebell, fake_slack, url)
        running.append((server, thread, harness))
        return harness

    yield make
    for server, thread, harness in running:
        harness.http.close()
        server.should_exit = True
        thread.join(5)


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()


# -- /incident and the declare form ----------------------------------------------------------


def test_incident_opens_the_form_with_the_configured_severities(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(
        {
            "severities": {"P1": "Everything is down", "P2": "Something is slow"},
            "default_severity": "P2",
        }
    )
    sent = h.command("/incident", channel_id="C0000ORIGIN")
    assert sent.response.content == b""  # acknowledged at once, nothing else in the answer
    view = h.opened_view(sent)

    assert view["callback_id"] == "firebell_declare"
    blocks = {b["block_id"]: b for b in view["blocks"] if "block_id" in b}
    assert blocks["title"]["element"]["max_length"] == 150
    assert blocks["description"]["element"]["multiline"] is True
    assert blocks["description"]["element"]["max_length"] == 3000
    select = blocks["severity"]["element"]
    assert select["type"] == "static_select"
    assert [o["value"] for o in select["options"]] == ["P1", "P2"]
    assert select["options"][0]["text"]["text"] == "P1: Everything is down"
    assert select["initial_option"]["value"] == "P2"
    assert blocks["customer_facing"]["element"]["type"] == "checkboxes"
    assert json.loads(view["private_metadata"])["channel_id"] == "C0000ORIGIN"
    assert h.incidents() == []


def test_submitting_the_form_declares_one_incident(harness: Harness) -> None:
    sent = harness.command("/incident")
    view = harness.opened_view(sent)

    response = harness.submit(
        view,
        form("Checkout is down", description="5xx on /pay", severity="SEV1", customer_facing=True),
    )

    assert response.status_code == 200 and response.content == b""  # the modal closes
    incident = harness.only_incident()
    assert (incident.title, incident.description, incident.severity) == (
        "Checkout is down",
        "5xx on /pay",
        "SEV1",
    )
    assert incident.customer_facing is True
    assert (incident.reporter, incident.source) == (REPORTER, "slack")
    confirmation = harness.reply(sent)
    assert incident.id in confirmation and "SEV1" in confirmation


def test_a_retried_or_double_submitted_form_declares_one_incident(harness: Harness) -> None:
    view = harness.opened_view(harness.command("/incident"))
    first = harness.submit(view, form())
    retried = harness.submit(view, form(), retry_num=1)
    with httpx.Client() as other:
        pool = [
            threading.Thread(
                target=lambda: sr.send(
                    harness.events_url,
                    sr.view_submission(
                        view["callback_id"],
                        form(),
                        view_id=view["id"],
                        private_metadata=view["private_metadata"],
                    ),
                    client=other,
                )
            )
            for _ in range(5)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()

    assert first.status_code == retried.status_code == 200
    incident = harness.only_incident()
    # Declared once (with the reporter's name).
    assert [e.type for e in harness.firebell.store.select_events(incident.id)] == [
        "incident.created",
        "person.named",
    ]
    # Only the first submission confirms on the response_url.
    time.sleep(0.2)
    assert len([c for c in harness.fake.calls if c.path.startswith("/commands/")]) == 1


@pytest.mark.parametrize(
    ("values", "block", "words"),
    [
        (form(title=""), "title", "empty"),
        (form(title=None), "title", "empty"),
        (form(title="x" * 151), "title", "151 characters"),
        (form(title=" \u200b\u200f "), "title", "empty"),
        (form(description="d" * 100_000), "description", "100000 characters"),
        (form(severity="SEV9"), "severity", "Unknown severity"),
    ],
)
def test_invalid_form_input_is_shown_inline_and_nothing_is_declared(
    harness: Harness, values: dict[str, Any], block: str, words: str
) -> None:
    view = harness.opened_view(harness.command("/incident"))

    response = harness.submit(view, values)

    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block]
    assert words in answer["errors"][block]
    assert len(answer["errors"][block]) <= 1000
    assert harness.incidents() == []


def _tampered(body: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """A form-encoded interactivity body with its JSON payload changed by ``change``."""
    payload = json.loads(dict(httpx.QueryParams(body.decode()))["payload"])
    change(payload)
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_a_form_with_wrong_typed_fields_gets_inline_errors_not_a_crash(harness: Harness) -> None:
    view = harness.opened_view(harness.command("/incident"))
    body = sr.view_submission(
        view["callback_id"], form(), view_id=view["id"], private_metadata=view["private_metadata"]
    )

    def scramble(payload: dict[str, Any]) -> None:
        payload["view"]["state"]["values"] = {
            "title": {"value": {"type": "plain_text_input", "value": ["not", "a", "string"]}},
            "severity": "SEV1",
            "customer_facing": {"value": {"selected_options": "yes"}},
        }
        payload["view"]["private_metadata"] = {"channel_id": 5}

    response = harness.post(_tampered(body, scramble))

    errors = response.json()["errors"]
    assert list(errors) == ["title"] and "empty" in errors["title"]
    assert harness.incidents() == []


def test_an_expired_trigger_is_reported_with_what_to_do(harness: Harness) -> None:
    trigger = harness.fake.issue_trigger_id()
    harness.fake.expire_trigger(trigger)

    sent = harness.command("/incident", trigger_id=trigger)

    text = harness.reply(sent)
    assert "expired_trigger_id" in text and "/incident <what is wrong>" in text


# -- quick declare and help ------------------------------------------------------------------


def test_quick_declare_uses_the_default_severity_and_is_idempotent(harness: Harness) -> None:
    trigger = harness.fake.issue_trigger_id()
    sent = harness.command("/incident", "Login page returns 502", trigger_id=trigger)
    text = harness.reply(sent)
    # Slack sends a retried command with the same trigger id.
    again = harness.command("/incident", "Login page returns 502", trigger_id=trigger)
    harness.reply(again)

    incident = harness.only_incident()
    assert incident.title == "Login page returns 502"
    assert incident.severity == "SEV2"  # the seed's default
    assert incident.source == "slack" and incident.reporter == REPORTER
    assert incident.id in text


def test_quick_declare_of_a_long_text_keeps_it_as_the_description(harness: Harness) -> None:
    text = "Payments fail " * 30 + "\nsecond line"

    harness.reply(harness.command("/incident", text))

    incident = harness.only_incident()
    assert len(incident.title) == 150 and incident.title.endswith("…")
    assert incident.description == text.strip()


def test_a_command_whose_text_says_payload_is_not_lost(harness: Harness) -> None:
    # Bolt reads any form body containing "payload" as an interactivity payload.
    harness.reply(harness.command("/incident", "payload service rejects every payload"))

    assert harness.only_incident().title == "payload service rejects every payload"


def test_help_lists_the_subcommands_and_severities(harness: Harness) -> None:
    text = harness.reply(harness.command("/incident", "help"))

    for needle in ("/incident update", "/incident severity", "/incident commander", "SEV0"):
        assert needle in text
    assert harness.incidents() == []


# -- a subcommand's word typed as a title ----------------------------------------------------


def _prefilled(view: Mapping[str, Any], block_id: str) -> str | None:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    value: str | None = block["element"].get("initial_value")
    return value


@pytest.mark.parametrize(
    "text",
    [
        "Close button broken",
        "update fails on iOS",
        "Resolve &amp; retry loop in the billing job",  # as Slack sends "&"
        "reopen link in emails 404s",
        "severity labels wrong on the dashboard",
        "commander app crashes at start",
        "Note taking app is down",  # the record's subcommands have their own listener
        "followup emails not sent",
        "followups page is blank",
        "Done button does nothing",
    ],
)
def test_a_title_starting_with_a_subcommand_opens_the_filled_in_form_outside_incidents(
    harness: Harness, text: str
) -> None:
    sent = harness.command("/incident", text, channel_id=GENERAL)

    view = harness.opened_view(sent)
    typed = text.replace("&amp;", "&")
    assert view["callback_id"] == "firebell_declare"
    assert _prefilled(view, "title") == typed
    assert _prefilled(view, "description") is None  # the title holds all of it
    note = view["blocks"][0]["text"]["text"]
    word = typed.split()[0].lower()
    assert f"`/incident {word}`" in note and "not one" in note
    assert harness.incidents() == []  # nothing declared, nothing closed until submitted
    assert harness.replies(sent) == []

    assert harness.submit(view, form(_prefilled(view, "title"), severity="SEV1")).content == b""
    incident = harness.only_incident()
    assert (incident.title, incident.severity, incident.reporter) == (typed, "SEV1", REPORTER)
    assert incident.id in harness.reply(sent)


def test_a_long_text_taken_as_a_title_fills_in_the_description_too(harness: Harness) -> None:
    text = "close " + "button broken " * 20 + "\nsince the release"

    view = harness.opened_view(harness.command("/incident", text))

    title = _prefilled(view, "title")
    assert title is not None and len(title) == 150 and title.startswith("close button broken")
    assert _prefilled(view, "description") == text.strip()


@pytest.mark.parametrize(
    ("text", "title", "description"),
    [
        # Slack sends a multi-line command (Shift+Enter) with its newlines: any whitespace
        # ends the subcommand's word, which then reads with the rest as the title.
        ("close\nbutton broken", "close button broken", None),
        ("Close\tbutton broken", "Close button broken", None),
        (
            "update\nfails on iOS\nsince 2.3",
            "update fails on iOS",
            "update fails on iOS\nsince 2.3",
        ),
        ("followup\r\nmails not sent", "followup mails not sent", None),
    ],
)
def test_a_subcommand_word_then_a_new_line_outside_incidents_opens_the_filled_in_form(
    harness: Harness, text: str, title: str, description: str | None
) -> None:
    sent = harness.command("/incident", text, channel_id=GENERAL)

    view = harness.opened_view(sent)
    assert (_prefilled(view, "title"), _prefilled(view, "description")) == (title, description)
    word = title.split()[0].lower()
    assert f"`/incident {word}`" in view["blocks"][0]["text"]["text"]
    assert harness.incidents() == [] and harness.replies(sent) == []


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (f"commander <@{RESPONDER}|responder> takes it", "commander @responder takes it"),
        (f"update <@{RESPONDER}> broken", f"update @{RESPONDER} broken"),
        (
            "update <#C0GENERAL1|general> spammed by <!subteam^S0ONCALL1|@oncall>",
            "update #general spammed by @oncall",
        ),
        (
            "followup link <https://x.example/a?b=1&amp;c=2|the runbook> is dead",
            "followup link the runbook (https://x.example/a?b=1&c=2) is dead",
        ),
        ("close <https://x.example/status> shows 500", "close https://x.example/status shows 500"),
        ("note &lt;script&gt; &amp; more", "note <script> & more"),
    ],
)
def test_the_filled_in_form_shows_mentions_and_links_as_people_read_them(
    harness: Harness, text: str, title: str
) -> None:
    sent = harness.command("/incident", text + "\nsecond line", channel_id=GENERAL)

    view = harness.opened_view(sent)
    assert _prefilled(view, "title") == title
    assert _prefilled(view, "description") == title + "\nsecond line"

    assert harness.submit(view, form(title)).content == b""
    assert harness.only_incident().title == title


def test_a_subcommand_word_then_a_new_line_in_an_incident_channel_runs_it(
    harness: Harness,
) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)

    update = "update\nRolled back deploy 4127\nerrors are falling"
    assert "Status update recorded" in harness.reply(
        harness.command("/incident", update, channel_id=channel)
    )
    assert "status page" in harness.reply(
        harness.command("/incident", "status\t--public\nFixed", channel_id=channel)
    )
    assert "Added to the timeline" in harness.reply(
        harness.command("/incident", "note\nsaw 5xx", channel_id=channel)
    )
    assert "Follow-up #1 recorded" in harness.reply(
        harness.command("/incident", f"followup\nwrite RCA <@{RESPONDER}>", channel_id=channel)
    )
    assert "is now SEV0" in harness.reply(
        harness.command("/incident", "severity\nSEV0", channel_id=channel)
    )

    current = harness.firebell.engine.get(incident.id)
    events = harness.firebell.store.select_events(incident.id)
    updates = [e.data for e in events if e.type == "incident.status_update_posted"]
    assert [(u.text, u.public) for u in updates] == [  # type: ignore[attr-defined]
        ("Rolled back deploy 4127\nerrors are falling", False),  # its line breaks kept
        ("Fixed", True),
    ]
    assert [(e.source, e.text) for e in current.timeline_entries] == [("note", "saw 5xx")]
    assert [(f.text, f.owner) for f in current.follow_ups] == [("write RCA", RESPONDER)]
    assert current.severity == "SEV0" and len(harness.incidents()) == 1


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("close", "/incident close"),
        ("Close  ", "/incident close"),
        ("resolve", "/incident resolve"),
        ("severity sev1", "/incident severity"),
        ("sev SEV0", "/incident severity"),
        ("commander me", "/incident commander"),
        (f"commander <@{RESPONDER}|responder>", "/incident commander"),
        ("done #2", "/incident done"),
        ("followups", "/incident followups"),
        ("note", "/incident note"),
    ],
)
def test_a_subcommand_alone_or_with_its_own_argument_outside_incidents_says_where(
    harness: Harness, text: str, command: str
) -> None:
    reply = harness.reply(harness.command("/incident", text, channel_id=GENERAL))

    assert "not an incident channel" in reply and f"`{command}`" in reply
    assert harness.incidents() == []
    assert not harness.fake.calls_to(r"views\.open")


def test_the_same_text_in_an_incident_channel_is_still_the_subcommand(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness({"close_requires_followups": "off"})
    incident = harness.declare()
    channel = harness.channel_of(incident)
    harness.firebell.engine.resolve(incident.id, actor=REPORTER)

    text = harness.reply(harness.command("/incident", "Close button fixed", channel_id=channel))

    assert "is closed" in text
    closed = harness.firebell.engine.get(incident.id)
    assert closed.state is IncidentState.CLOSED and len(harness.incidents()) == 1
    assert len(harness.fake.calls_to(r"views\.open")) == 1  # only the first declaration's form


# -- /resolve-incident and /close-incident ---------------------------------------------------


def test_resolve_incident_outside_an_incident_channel_says_where_to_run_it(
    harness: Harness,
) -> None:
    harness.declare()

    text = harness.reply(harness.command("/resolve-incident", channel_id=GENERAL))

    assert "not an incident channel" in text and "/resolve-incident" in text
    assert harness.fake.calls_to(r"views\.open").__len__() == 1  # only the declare form


def test_a_channel_named_like_an_incident_is_not_one(harness: Harness) -> None:
    impostor = harness.fake.add_channel("incd-20260101-fake-channel")

    text = harness.reply(harness.command("/resolve-incident", channel_id=impostor))

    assert "not an incident channel" in text


def test_resolve_incident_confirms_then_resolves_then_refuses(harness: Harness) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)

    sent = harness.command("/resolve-incident", "rolled back", channel_id=channel)
    view = harness.opened_view(sent)
    assert view["callback_id"] == "firebell_resolve"
    summary_input = next(b for b in view["blocks"] if b.get("block_id") == "summary")
    assert summary_input["element"]["initial_value"] == "rolled back"
    response = harness.submit(view, summary_form("Rolled back release 42"), user_id=RESPONDER)
    assert response.status_code == 200 and response.content == b""

    resolved = harness.firebell.engine.get(incident.id)
    assert resolved.state is IncidentState.RESOLVED and resolved.resolved_by == RESPONDER
    # The same confirmation submitted again is the same command.
    assert harness.submit(view, summary_form("Rolled back release 42")).content == b""
    events = harness.firebell.store.select_events(incident.id)
    assert [e.type for e in events if e.type != "person.named"] == [
        "incident.created",
        "incident.resource_linked",
        "incident.resolved",
    ]

    again = harness.command("/resolve-incident", channel_id=channel)
    text = harness.reply(again)
    assert "already resolved" in text and f"<@{RESPONDER}>" in text
    assert len(harness.fake.calls_to(r"views\.open")) == 2  # no modal for the refusal


def test_a_resolve_confirmation_that_lost_a_race_says_so_in_the_modal(harness: Harness) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)
    view = harness.opened_view(harness.command("/resolve-incident", channel_id=channel))
    harness.firebell.engine.resolve(incident.id, actor=RESPONDER)

    response = harness.submit(view, summary_form())

    error = response.json()["errors"]["summary"]
    assert "already resolved" in error and f"by {RESPONDER} at" in error  # no name recorded


def test_a_lost_resolve_race_names_the_resolver_in_the_modal(harness: Harness) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)
    view = harness.opened_view(harness.command("/resolve-incident", channel_id=channel))
    harness.firebell.engine.resolve(
        incident.id, actor=RESPONDER, names={RESPONDER: "Rita Responder"}
    )

    response = harness.submit(view, summary_form())

    # The modal's error is plain text: a mention would show as the raw id.
    error = response.json()["errors"]["summary"]
    assert "already resolved, by Rita Responder at" in error and RESPONDER not in error


def test_close_incident_is_refused_until_resolved_then_confirms_and_closes(
    harness: Harness,
) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)

    refused = harness.reply(harness.command("/close-incident", channel_id=channel))
    assert "still open" in refused and "Resolve it first" in refused

    harness.firebell.engine.resolve(incident.id, actor=REPORTER)
    view = harness.opened_view(harness.command("/close-incident", channel_id=channel))
    assert view["callback_id"] == "firebell_close"
    assert harness.submit(view, summary_form("Post-mortem done")).content == b""

    assert harness.firebell.engine.get(incident.id).state is IncidentState.CLOSED
    closed = harness.reply(harness.command("/close-incident", channel_id=channel))
    assert "is already closed, by" in closed


# -- subcommands in the incident channel -----------------------------------------------------


def test_update_severity_and_commander_subcommands(harness: Harness) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)

    text = harness.reply(
        harness.command("/incident", "update --public DB failover started", channel_id=channel)
    )
    assert "status page" in text
    text = harness.reply(
        harness.command("/incident", "update \u2014public Recovering", channel_id=channel)
    )
    assert "status page" in text
    harness.reply(
        harness.command("/incident", "update smart dash\u2014public? no", channel_id=channel)
    )
    text = harness.reply(harness.command("/incident", "severity sev0", channel_id=channel))
    assert "SEV0" in text
    text = harness.reply(
        harness.command("/incident", f"commander <@{RESPONDER}|responder>", channel_id=channel)
    )
    assert f"<@{RESPONDER}>" in text

    current = harness.firebell.engine.get(incident.id)
    assert current.severity == "SEV0" and current.commander == RESPONDER
    updates = [
        e.data
        for e in harness.firebell.store.select_events(incident.id)
        if e.type == "incident.status_update_posted"
    ]
    assert [(u.text, u.public) for u in updates] == [  # type: ignore[attr-defined]
        ("DB failover started", True),
        ("Recovering", True),
        ("smart dash\u2014public? no", False),
    ]


def test_free_text_in_an_incident_channel_does_not_declare_a_second_incident(
    harness: Harness,
) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)

    text = harness.reply(harness.command("/incident", "DB is back", channel_id=channel))

    assert f"channel of *{incident.id}*" in text and "/incident update" in text
    assert len(harness.incidents()) == 1


def test_commander_me_takes_the_command(harness: Harness) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)

    text = harness.reply(
        harness.command("/incident", "commander me", channel_id=channel, user_id=RESPONDER)
    )

    assert f"<@{RESPONDER}> is now the commander" in text
    assert harness.firebell.engine.get(incident.id).commander == RESPONDER


def test_resolve_reopen_and_close_subcommands(make_harness: Callable[..., Harness]) -> None:
    # Closing without follow-ups would ask first (docs/timeline.md); this test is about the
    # subcommands themselves.
    harness = make_harness({"close_requires_followups": "off"})
    incident = harness.declare()
    channel = harness.channel_of(incident)

    assert "is resolved" in harness.reply(
        harness.command("/incident", "resolve fixed", channel_id=channel)
    )
    assert "open again" in harness.reply(
        harness.command("/incident", "reopen not fixed", channel_id=channel)
    )
    harness.reply(harness.command("/incident", "resolve really fixed", channel_id=channel))
    assert "is closed" in harness.reply(harness.command("/incident", "close", channel_id=channel))

    states = [e.type for e in harness.firebell.store.select_events(incident.id)]
    assert states[-4:] == [
        "incident.resolved",
        "incident.reopened",
        "incident.resolved",
        "incident.closed",
    ]
    refused = harness.reply(harness.command("/incident", "update still here?", channel_id=channel))
    assert "is closed" in refused


def test_subcommand_problems_are_explained(harness: Harness) -> None:
    incident = harness.declare()
    channel = harness.channel_of(incident)

    outside = harness.reply(harness.command("/incident", "severity SEV1", channel_id=GENERAL))
    assert "not an incident channel" in outside and "/incident severity" in outside
    no_level = harness.reply(harness.command("/incident", "severity", channel_id=channel))
    assert "SEV0, SEV1, SEV2" in no_level
    unknown = harness.reply(harness.command("/incident", "severity <!here>", channel_id=channel))
    assert "Unknown severity" in unknown and "&lt;!here&gt;" in unknown and "<!here>" not in unknown
    same = harness.reply(harness.command("/incident", "severity SEV1", channel_id=channel))
    assert "already SEV1" in same
    who = harness.reply(harness.command("/incident", "commander bob", channel_id=channel))
    assert "Mention the new commander" in who
    empty = harness.reply(harness.command("/incident", "update", channel_id=channel))
    assert "empty" in empty


# -- hostile input ---------------------------------------------------------------------------


def test_mrkdwn_and_invisible_characters_never_ping_or_hide(harness: Harness) -> None:
    hostile = "<!channel> <@U0000STRANGE> <!subteam^S123> \u202eevil\u202c & <https://x.test|click>"

    text = harness.reply(harness.command("/incident", hostile))

    for raw in ("<!channel>", "<@U0000STRANGE>", "<!subteam^S123>", "<https://"):
        assert raw not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    incident = harness.only_incident()
    assert "\u202e" not in incident.title and "<!channel>" in incident.title  # stored as typed


def test_a_100_kb_quick_declare_is_refused_clearly(harness: Harness) -> None:
    text = harness.reply(harness.command("/incident", "<!channel> " + "x" * 100_000))

    assert "keep it under 3000" in text
    assert "<!channel>" not in text
    assert harness.incidents() == []


@pytest.mark.parametrize(
    "body",
    [
        b"payload=not-json",
        b"payload=%5B1%2C2%5D",  # a JSON list
        b'payload={"type":"view_submission","view":"V1","user":{"id":"U1"}}',
        b'payload={"type":"view_submission","view":{"id":"V1"},"user":{"id":"U1"}}',
        b'payload={"type":"view_submission","view":{"id":"V1","callback_id":"firebell_declare"},"user":"U1"}',
        b'payload={"type":"view_submission","view":{"id":7,"callback_id":"firebell_declare"},"user":{"id":"U1"}}',
        b'payload={"type":"view_submission","view":{"id":"V1","callback_id":"firebell_resolve"},"user":{"id":"U1"}}',
        b"command=%2Fincident&text=hello",  # no user, no channel
        b"command=/incident&user_id=U1&channel_id=C1&text=\xff\xfe\xc3\x28",  # raw invalid UTF-8
        b"\x00\x01\x02",
        b"",
    ],
)
def test_malformed_requests_are_refused_without_a_crash(harness: Harness, body: bytes) -> None:
    response = harness.post(body, content_type=sr.FORM)

    assert response.status_code in {200, 400, 404}, response.text
    assert "Traceback" not in response.text
    assert harness.incidents() == []
    # The app still serves the next request.
    assert "/incident update" in harness.reply(harness.command("/incident", "help"))


def test_percent_encoded_invalid_utf8_becomes_replacement_characters(harness: Harness) -> None:
    body = sr.slash_command(
        "/incident", "placeholder", response_url=harness.fake.url + "/commands/T/1/x"
    )
    body = body.replace(b"text=placeholder", b"text=%FF%FE%C3%28+down")

    assert harness.post(body).status_code == 200

    incident = wait_for(lambda: harness.incidents(), what="the declare")[0]
    assert incident.title == "\ufffd\ufffd\ufffd( down"


def test_declaring_with_only_a_title_works_from_the_bare_payload(harness: Harness) -> None:
    view = harness.opened_view(harness.command("/incident"))
    values = {"title": {"value": sr.plain_text_value("Only a title")}}

    assert harness.submit(view, values).content == b""

    incident = harness.only_incident()
    assert incident.severity == "SEV2" and incident.description == ""


# -- request signatures ----------------------------------------------------------------------


def _signed_incident_command(harness: Harness) -> tuple[bytes, str]:
    trigger = harness.fake.issue_trigger_id()
    return sr.slash_command("/incident", "Unsigned declare", trigger_id=trigger), trigger


def test_unsigned_requests_are_rejected(harness: Harness) -> None:
    body, _ = _signed_incident_command(harness)

    response = harness.http.post(
        harness.events_url, content=body, headers={"Content-Type": sr.FORM}
    )

    assert response.status_code == 401
    time.sleep(0.2)
    assert harness.incidents() == [] and not harness.fake.calls_to(r"views\.open")


def test_wrongly_signed_requests_are_rejected(harness: Harness) -> None:
    body, _ = _signed_incident_command(harness)

    wrong_secret = harness.post(body, signing_secret="not-the-secret")
    headers = sr.headers_for(body)
    tampered = harness.http.post(
        harness.events_url, content=body.replace(b"Unsigned", b"Tampered"), headers=headers
    )
    garbage = harness.http.post(
        harness.events_url,
        content=body,
        headers={**headers, "X-Slack-Request-Timestamp": "yesterday"},
    )

    assert wrong_secret.status_code == tampered.status_code == garbage.status_code == 401
    time.sleep(0.2)
    assert harness.incidents() == []


def test_replayed_requests_with_a_stale_timestamp_are_rejected(harness: Harness) -> None:
    body, _ = _signed_incident_command(harness)
    view = harness.opened_view(harness.command("/incident"))
    submission = sr.view_submission(
        view["callback_id"], form(), view_id=view["id"], private_metadata=view["private_metadata"]
    )

    stale = harness.post(body, timestamp=int(time.time()) - 6 * 60)
    stale_submission = harness.post(submission, timestamp=int(time.time()) - 301)
    future = harness.post(submission, timestamp=int(time.time()) + 10 * 60)

    assert stale.status_code == stale_submission.status_code == future.status_code == 401
    time.sleep(0.2)
    assert harness.incidents() == []


def test_oversized_bodies_are_refused(harness: Harness) -> None:
    body = urlencode({"command": "/incident", "text": "x" * (2 * 1024 * 1024)}).encode()

    assert harness.post(body).status_code == 413


# -- permissions -----------------------------------------------------------------------------


def test_a_rule_restricting_close_to_the_commander_refuses_others(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness({"permissions": {"close": ["commander"]}})
    incident = h.declare()
    channel = h.channel_of(incident)
    h.firebell.engine.assign_commander(incident.id, RESPONDER, actor=REPORTER)
    h.firebell.engine.resolve(incident.id, actor=REPORTER)

    refused = h.reply(h.command("/close-incident", channel_id=channel, user_id=REPORTER))
    typed = h.reply(h.command("/incident", "close", channel_id=channel, user_id=REPORTER))

    for text in (refused, typed):
        assert "You may not close" in text and "only the commander" in text
    assert len(h.fake.calls_to(r"views\.open")) == 1  # only the declare form
    assert h.firebell.engine.get(incident.id).state is IncidentState.RESOLVED

    view = h.opened_view(h.command("/close-incident", channel_id=channel, user_id=RESPONDER))
    assert h.submit(view, summary_form(), user_id=RESPONDER).content == b""
    assert h.firebell.engine.get(incident.id).state is IncidentState.CLOSED


def test_a_group_rule_looks_up_membership_once_and_refuses_non_members(
    make_harness: Callable[..., Harness], fake_slack: FakeSlack
) -> None:
    oncall = fake_slack.add_usergroup("oncall", users=[RESPONDER])
    h = make_harness(
        {"permissions": {"resolve": [f"group:{oncall}"], "severity": [f"group:{oncall}"]}}
    )
    incident = h.declare()
    channel = h.channel_of(incident)

    view = h.opened_view(h.command("/resolve-incident", channel_id=channel, user_id=STRANGER))
    refused = h.submit(view, summary_form(), user_id=STRANGER).json()["errors"]["summary"]
    assert "You may not resolve" in refused and oncall in refused
    text = h.reply(h.command("/incident", "severity SEV0", channel_id=channel, user_id=STRANGER))
    assert "may not" in text and oncall in text

    h.reply(h.command("/incident", "severity SEV0", channel_id=channel, user_id=RESPONDER))
    view = h.opened_view(h.command("/resolve-incident", channel_id=channel, user_id=RESPONDER))
    assert h.submit(view, summary_form(), user_id=RESPONDER).content == b""

    current = h.firebell.engine.get(incident.id)
    assert current.severity == "SEV0" and current.state is IncidentState.RESOLVED
    assert len(fake_slack.calls_to(r"usergroups\.users\.list")) == 1  # cached
    # Declaring is not restricted, so no lookup is made for it.


def test_when_slack_will_not_list_a_group_its_members_are_refused_not_let_through(
    make_harness: Callable[..., Harness], fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    oncall = fake_slack.add_usergroup("oncall", users=[RESPONDER])
    fake_slack.scopes.discard("usergroups:read")
    h = make_harness({"permissions": {"severity": [f"group:{oncall}"]}})
    incident = h.declare()
    channel = h.channel_of(incident)

    text = h.reply(h.command("/incident", "severity SEV0", channel_id=channel, user_id=RESPONDER))

    assert "may not" in text and oncall in text
    assert h.firebell.engine.get(incident.id).severity == "SEV1"
    assert "usergroups:read" in caplog.text


# -- failures ---------------------------------------------------------------------------------


def test_an_unavailable_database_gets_a_clear_answer(
    make_harness: Callable[..., Harness],
) -> None:
    # Nothing listens on port 9: every connection is refused at once.
    h = make_harness(
        {"database_url": "postgresql://firebell@127.0.0.1:9/firebell"},
        link_channels=False,
        create_tables=False,
    )

    quick = h.reply(h.command("/incident", "Everything is on fire"))
    view = h.opened_view(h.command("/incident"))
    inline = h.submit(view, form()).json()["errors"]["title"]
    resolve = h.reply(h.command("/resolve-incident", channel_id=GENERAL))

    assert "database is unavailable; nothing was recorded" in quick
    assert "database is unavailable" in inline
    assert "database is unavailable" in resolve
    assert h.http.get(h.url + "/healthz").status_code == 503


def test_a_database_that_refuses_writes_is_not_worth_retrying(
    make_harness: Callable[..., Harness], tmp_path: Path
) -> None:
    # A file that is not an SQLite database: it answers, and no retry will make it one.
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"this is not an SQLite file" * 200)
    h = make_harness(
        {"database_url": f"sqlite:///{garbage}"}, link_channels=False, create_tables=False
    )

    quick = h.reply(h.command("/incident", "Everything is on fire"))
    resolve = h.reply(h.command("/resolve-incident", channel_id=GENERAL))

    for answer in (quick, resolve):
        assert "whoever runs Firebell has to fix it" in answer
        assert "Try again in a moment" not in answer
        assert str(tmp_path) not in answer  # the path is for the operator's log, not Slack
    assert h.http.get(h.url + "/healthz").status_code == 503


def test_a_slow_database_keeps_the_modal_open_and_a_resubmit_records_once(
    make_harness: Callable[..., Harness],
) -> None:
    h = make_harness(app_options={"submit_deadline": 0.5})
    view = h.opened_view(h.command("/incident"))
    path = h.firebell.settings.database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the log
    try:
        answer = h.submit(view, form()).json()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert "slow to answer" in answer["errors"]["title"]
    assert "will not be recorded twice" in answer["errors"]["title"]
    wait_for(h.incidents, what="the declare to finish once the log is free")
    assert h.submit(view, form()).content == b""  # Submit again: the modal closes
    assert len(h.incidents()) == 1


def test_healthz_answers_when_the_log_is_reachable(harness: Harness) -> None:
    response = harness.http.get(harness.url + "/healthz")

    assert response.status_code == 200 and response.json() == {"ok": True}


# -- end to end with the Slack plugin -------------------------------------------------------------


def test_end_to_end_declare_resolve_close_through_slack(
    make_harness: Callable[..., Harness], fake_slack: FakeSlack
) -> None:
    announce = fake_slack.add_channel("incidents")
    oncall = fake_slack.add_usergroup("oncall", users=[RESPONDER])
    h = make_harness(
        plugins={
            "slack": {
                "bot_token": {"env": "SLACK_BOT_TOKEN"},
                "api_url": fake_slack.url + "/api/",
                "announcement_channels": [announce],
                "cc_usergroups": [oncall],
                "responders": [RESPONDER],
            }
        }
    )
    hostile = "Payments fail <!channel> <@U0000STRANGE> & more"

    # /incident -> modal -> submit (twice: a retry) -> deliveries
    sent = h.command("/incident")
    view = h.opened_view(sent)
    values = form("Checkout is down <!here>", description=hostile, severity="SEV1")
    assert h.submit(view, values).content == b""
    assert h.submit(view, values, retry_num=1).content == b""
    h.firebell.deliverer.drain()

    incident = h.firebell.engine.get(h.only_incident().id)
    channel = fake_slack.channel_by_name(f"incd-{incident.id}")
    assert channel is not None and not channel.is_archived
    assert incident.resource("channel") is not None
    assert incident.resource("channel").external_id == channel.id  # type: ignore[union-attr]
    assert "Payments fail" in fake_slack.topic(channel.id)
    assert {REPORTER, RESPONDER} <= set(fake_slack.members(channel.id))
    summary = " ".join(m["text"] for m in fake_slack.messages(channel.id))
    assert incident.id in summary and "SEV1" in summary
    dm = fake_slack.dm_channel(REPORTER)
    assert dm is not None and channel.id in " ".join(m["text"] for m in dm.messages)
    announced = " ".join(m["text"] for m in fake_slack.messages(announce))
    assert incident.id in announced and f"<!subteam^{oncall}>" in announced
    assert len([c for c in fake_slack.channels.values() if c.name.startswith("incd-")]) == 1

    # Nothing anywhere pings because of what the reporter typed.
    for conversation in fake_slack.channels.values():
        for message in conversation.messages:
            text = json.dumps(message)
            assert "<!channel>" not in text and "<!here>" not in text
            assert "<@U0000STRANGE>" not in text

    # /resolve-incident -> confirm -> renamed, announced
    view = h.opened_view(h.command("/resolve-incident", channel_id=channel.id))
    assert h.submit(view, summary_form("Rolled back"), user_id=RESPONDER).content == b""
    h.firebell.deliverer.drain()
    assert fake_slack.channels[channel.id].name == f"incd-{incident.id}-resolved"
    assert "resolved" in " ".join(m["text"] for m in fake_slack.messages(announce)[1:]).lower()

    # The adapter still finds the incident after the rename (by id, not by name).
    refused = h.reply(h.command("/resolve-incident", channel_id=channel.id))
    assert "already resolved" in refused

    # /close-incident -> confirm -> archived
    view = h.opened_view(h.command("/close-incident", channel_id=channel.id))
    assert h.submit(view, summary_form("Post-mortem held")).content == b""
    h.firebell.deliverer.drain()
    assert fake_slack.channels[channel.id].is_archived
    assert h.firebell.engine.get(incident.id).state is IncidentState.CLOSED


def test_command_text_is_stored_as_typed_and_escaped_once_for_slack(
    make_harness: Callable[..., Harness], fake_slack: FakeSlack
) -> None:
    h = make_harness(
        plugins={
            "slack": {"bot_token": {"env": "SLACK_BOT_TOKEN"}, "api_url": fake_slack.url + "/api/"}
        }
    )

    # Slack sends "DB p99 > 2s & rising" escaped, as below.
    declared = h.reply(h.command("/incident", "DB p99 &gt; 2s &amp; rising"))
    h.firebell.deliverer.drain()

    incident = h.only_incident()
    assert incident.title == "DB p99 > 2s & rising"
    assert "DB p99 &gt; 2s &amp; rising" in declared and "&amp;gt;" not in declared
    channel = h.channel_of(incident)
    assert "DB p99 &gt; 2s &amp; rising" in fake_slack.topic(channel)

    h.reply(h.command("/incident", "update Q&amp;A service &lt;eu-1&gt; up", channel_id=channel))
    h.firebell.deliverer.drain()
    [update] = [
        e.data
        for e in h.firebell.store.select_events(incident.id)
        if e.type == "incident.status_update_posted"
    ]
    assert update.text == "Q&A service <eu-1> up"  # type: ignore[attr-defined]
    posted = " ".join(m["text"] for m in fake_slack.messages(channel))
    assert "Q&amp;A service &lt;eu-1&gt; up" in posted and "&amp;amp;" not in posted

    # The confirm modal's input is not escaped by Slack: it is filled with the typed text.
    view = h.opened_view(h.command("/resolve-incident", "p99 &lt; 1s", channel_id=channel))
    summary_input = next(b for b in view["blocks"] if b.get("block_id") == "summary")
    assert summary_input["element"]["initial_value"] == "p99 < 1s"

    h.reply(h.command("/incident", "resolve p99 &lt; 1s &amp; flat", channel_id=channel))
    assert h.firebell.engine.get(incident.id).state is IncidentState.RESOLVED
    [resolved] = [
        e.data for e in h.firebell.store.select_events(incident.id) if e.type == "incident.resolved"
    ]
    assert resolved.summary == "p99 < 1s & flat"  # type: ignore[attr-defined]


# -- random input ------------------------------------------------------------------------------

_TOKENS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0123>",
    "<@U0000STRANGE>",
    "<@U0000RESPOND|responder>",
    "<#C0000GENERAL>",
    "<https://example.test|click>",
    "&",
    "<",
    ">",
    "*bold*",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\x00",
    "update",
    "--public",
    "severity",
    "sev",
    "commander",
    "resolve",
    "reopen",
    "close",
    "help",
    "SEV0",
    "SEV9",
    " ",
    "\n",
]

_command_texts = st.lists(st.sampled_from(_TOKENS) | st.text(max_size=20), max_size=12).map(
    "".join
) | st.text(max_size=400)


def _quiet(fake: FakeSlack, *, settle: float = 0.3, timeout: float = 10.0) -> None:
    """Wait until the adapter's background work stops calling the fake."""
    deadline = time.monotonic() + timeout
    seen, since = len(fake.calls), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if len(fake.calls) != seen:
            seen, since = len(fake.calls), time.monotonic()
        elif time.monotonic() - since >= settle:
            return


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(_command_texts, min_size=1, max_size=3), in_channel=st.booleans())
def test_random_command_texts_never_crash_or_ping(
    harness: Harness, texts: list[str], in_channel: bool
) -> None:
    channel = GENERAL
    if in_channel:
        incident = harness.firebell.engine.declare(title="Fuzzed", reporter=REPORTER)
        harness.firebell.deliverer.drain()
        channel = harness.channel_of(incident.incident)
    for text in texts:
        for command in ("/incident", "/resolve-incident", "/close-incident"):
            assert harness.command(command, text, channel_id=channel).response.status_code == 200
    _quiet(harness.fake)

    replies = [
        json.loads(c.request.body)["text"]
        for c in harness.fake.calls
        if c.path.startswith("/commands/")
    ]
    for reply in replies:
        assert "<!" not in reply and "<#" not in reply and "<http" not in reply, reply
        for mention in reply.split("<@")[1:]:
            assert re.match(r"[UW][A-Z0-9]+>", mention), reply
        assert "Traceback" not in reply and "unexpected error" not in reply, reply
    assert harness.http.get(harness.url + "/healthz").status_code == 200


_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "type",
                    "callback_id",
                    "state",
                    "values",
                    "value",
                    "user",
                    "view",
                    "private_metadata",
                    "selected_option",
                    "selected_options",
                    "title",
                    "severity",
                    "summary",
                    "actions",
                    "team",
                    "channel",
                    "trigger_id",
                    "response_urls",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


_views = _json | st.fixed_dictionaries(
    {
        "id": st.sampled_from(["V0FUZZ", "", "V0FUZZ2"]) | _json,
        "type": st.just("modal"),
        "callback_id": st.sampled_from(["firebell_declare", "firebell_resolve", "firebell_close"]),
        "private_metadata": st.sampled_from(["", "{}", '{"incident_id": "nope"}', "[1]"]) | _json,
        "state": st.fixed_dictionaries(
            {
                "values": st.dictionaries(
                    st.sampled_from(["title", "description", "severity", "summary", "x"]),
                    st.dictionaries(st.sampled_from(["value", "other"]), _json, max_size=2),
                    max_size=4,
                )
            }
        )
        | _json,
    }
)
_users = _json | st.fixed_dictionaries({"id": st.sampled_from([REPORTER, "", "U0FUZZ"])})


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["view_submission", "view_closed", "block_actions", "shortcut", None]),
    callback=st.sampled_from(["firebell_declare", "firebell_resolve", "firebell_close", "other"]),
    view=_views,
    user=_users,
    extra=st.dictionaries(
        st.sampled_from(
            [
                "team",
                "actions",
                "channel",
                "container",
                "event",
                "function_data",
                "message",
                "authorizations",
                "enterprise",
                "response_urls",
                "is_enterprise_install",
                "trigger_id",
            ]
        ),
        _json,
    ),
)
def test_random_interactivity_payloads_get_an_answer_not_a_crash(
    harness: Harness, kind: str | None, callback: str, view: Any, user: Any, extra: Any
) -> None:
    if isinstance(view, dict) and callback != "other":
        view.setdefault("callback_id", callback)
    payload = {"type": kind, "view": view, "user": user, **extra}
    body = urlencode({"payload": json.dumps(payload)}).encode()

    response = harness.post(body)

    assert response.status_code in {200, 400}, (payload, response.text)
    assert all(i.title for i in harness.incidents())


# -- Slack refusing the bot token when an incident is declared --------------------------------


def _slack_plugin(fake_slack: FakeSlack) -> dict[str, Any]:
    return {"slack": {"bot_token": {"env": "SLACK_BOT_TOKEN"}, "api_url": fake_slack.url + "/api/"}}


@pytest.mark.parametrize("how", ["form", "quick"])
def test_a_refused_bot_token_is_told_to_the_reporter_on_the_response_url(
    make_harness: Callable[..., Harness], fake_slack: FakeSlack, how: str
) -> None:
    h = make_harness(plugins=_slack_plugin(fake_slack))
    if how == "form":
        sent = h.command("/incident")
        view = h.opened_view(sent)
        fake_slack.token = "xoxb-revoked"  # revoked while the form was open
        assert h.submit(view, form("Checkout is down")).content == b""
    else:
        fake_slack.token = "xoxb-revoked"  # the command and its reply need no token
        sent = h.command("/incident", "Checkout is down")
    h.reply(sent)  # "Declared ..."
    h.firebell.deliverer.drain()

    replies = wait_for(lambda: h.replies(sent)[1:], what="the reply about the token")
    incident = h.only_incident()
    assert incident.resource("channel") is None and "slack" in incident.failing_plugins
    [told] = replies
    assert told.startswith(":warning: Slack refused Firebell's bot token (`invalid_auth`)")
    for needle in (
        f"*{incident.id}* is recorded",
        "SLACK_BOT_TOKEN environment variable",
        "`[plugins.slack]` in plugins.toml",
        "`firebell retry --plugin slack`",
        "Page whoever must know by hand",
    ):
        assert needle in told, needle
    assert "xoxb-" not in told.replace("(xoxb-…)", "")
    time.sleep(1.2)  # told once
    assert len(h.replies(sent)) == 2


def test_a_refusal_that_is_not_the_token_says_the_retry_to_run_once(
    make_harness: Callable[..., Harness], fake_slack: FakeSlack
) -> None:
    fake_slack.scopes.discard("channels:manage")  # Slack refuses conversations.create
    h = make_harness(plugins=_slack_plugin(fake_slack))
    sent = h.command("/incident", "Checkout is down")
    h.reply(sent)  # "Declared ..."
    h.firebell.deliverer.drain()

    [told] = wait_for(lambda: h.replies(sent)[1:], what="the reply about the set-up")
    incident = h.only_incident()
    assert told.startswith(f":warning: Slack refused to set up *{incident.id}*: ")
    assert "channels:manage" in told and "reinstall the app" in told
    assert told.count("firebell retry --plugin slack") == 1, told
    assert told.endswith(
        f"recorded under its name *{incident.id}*; its channel is opened by that retry."
    )


def test_a_declaration_slack_sets_up_gets_no_warning(
    make_harness: Callable[..., Harness], fake_slack: FakeSlack
) -> None:
    h = make_harness(plugins=_slack_plugin(fake_slack))
    sent = h.command("/incident", "Checkout is down")
    h.reply(sent)
    h.firebell.deliverer.drain()

    assert h.only_incident().resource("channel") is not None
    time.sleep(1.2)  # the watch looks every 0.5 s
    assert len(h.replies(sent)) == 1
