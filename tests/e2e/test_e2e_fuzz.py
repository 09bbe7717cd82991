"""Random sequences of what people (and Slack) send, through the adapter and the engine with every
integration on: never a 5xx, never an unexpected error, never a ping that came from someone's
text in anything posted to Slack, and the event log always replays to the same read model.

Each example is a random list of steps: the declare form submitted with random fields, slash
commands with random text in a random channel (the general one or an incident's), resolve and
close confirmations, raw interactivity payloads of random shape, and delivery rounds. One system
serves every example of the test (so later examples meet the incidents of earlier ones).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import attrs
import pytest
from e2e_support import (
    GENERAL,
    REPORTER,
    RESPONDER,
    MakeSystem,
    Sent,
    System,
    declare_form,
    summary_form,
)
from firebell.core.incident import Incident
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firebell.testing.fake_slack import BOT_USER_ID

USERS = (REPORTER, RESPONDER)

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0FAKEGRP>",
    "<@U0000STRANGE>",
    "<@U0000STRANGE|stranger>",
    "<@W0000OTHER>",
    "<#C0000GENERAL>",
    "<#C0000GENERAL|general>",
    "<https://evil.example/|click here>",
    "<!date^1700000000^{date}|x>",
    "&",
    "<",
    ">",
    "&lt;!channel&gt;",
    "*bold*",
    "`code`",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\x00",
    "\n",
    " ",
]
WORDS = [
    "update",
    "--public",
    "severity",
    "SEV0",
    "SEV1",
    "sev2",
    "SEV9",
    "commander",
    "me",
    "resolve",
    "reopen",
    "close",
    "help",
    "note",
    "followup",
    "followups",
    "done",
    "1",
    "<@U0000RESPOND>",
]

texts = st.lists(
    st.sampled_from(HOSTILE) | st.sampled_from(WORDS) | st.text(max_size=12),
    min_size=1,
    max_size=8,
).map(" ".join) | st.text(max_size=300)
users = st.sampled_from(USERS)
#: Where a command is typed: 0 is the general channel, n the n-th newest incident's channel.
places = st.integers(min_value=0, max_value=3)

_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["id", "type", "value", "values", "state", "user", "callback_id", "view"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@attrs.frozen
class DeclareForm:
    """``/incident`` in the general channel, then its form submitted with these fields."""

    title: str | None
    description: str | None
    severity: str | None
    customer_facing: bool
    user: str


@attrs.frozen
class Command:
    """A slash command with some text, typed somewhere."""

    command: str
    text: str
    place: int
    user: str


@attrs.frozen
class Confirm:
    """``/resolve-incident`` or ``/close-incident`` in an incident's channel, then confirmed."""

    action: str
    place: int
    summary: str | None
    user: str


@attrs.frozen
class RawPayload:
    """An interactivity payload of random shape (what a broken or hostile client might send)."""

    kind: str | None
    callback_id: str
    view: Any
    user: Any


@attrs.frozen
class Deliver:
    """A delivery round."""


steps = st.one_of(
    st.builds(
        DeclareForm,
        title=st.none() | texts,
        description=st.none() | texts,
        severity=st.sampled_from(["SEV0", "SEV1", "SEV2", "SEV9", "", None]),
        customer_facing=st.booleans(),
        user=users,
    ),
    st.builds(
        Command,
        command=st.sampled_from(["/incident", "/resolve-incident", "/close-incident"]),
        text=texts,
        place=places,
        user=users,
    ),
    st.builds(
        Confirm,
        action=st.sampled_from(["resolve", "close"]),
        place=st.integers(min_value=1, max_value=3),
        summary=st.none() | texts,
        user=users,
    ),
    st.builds(
        RawPayload,
        kind=st.sampled_from(["view_submission", "block_actions", "view_closed", None]),
        callback_id=st.sampled_from(["firebell_declare", "firebell_resolve", "firebell_close"]),
        view=_json
        | st.fixed_dictionaries(
            {
                "id": st.text(max_size=8),
                "type": st.just("modal"),
                "callback_id": st.sampled_from(
                    ["firebell_declare", "firebell_resolve", "firebell_close"]
                ),
                "private_metadata": st.sampled_from(["", "{}", '{"incident_id": "nope"}'])
                | st.text(max_size=20),
                "state": st.fixed_dictionaries({"values": _json}),
            }
        ),
        user=_json | st.fixed_dictionaries({"id": users}),
    ),
    st.just(Deliver()),
)


def quiet(system: System, *, settle: float = 0.2, timeout: float = 10.0) -> None:
    """Wait until the app's work after its answers (replies, modals) stops reaching Slack."""
    deadline = time.monotonic() + timeout
    seen, since = len(system.slack.calls), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        if len(system.slack.calls) != seen:
            seen, since = len(system.slack.calls), time.monotonic()
        elif time.monotonic() - since >= settle:
            return


def channel_for(system: System, place: int) -> str:
    """The general channel (0) or the channel of the ``place``-th newest incident with one."""
    if place == 0:
        return GENERAL
    with_channels = [
        resource.external_id
        for incident in system.incidents()
        if (resource := incident.resource("channel", plugin="slack")) is not None
    ]
    return with_channels[place - 1] if len(with_channels) >= place else GENERAL


def opened_or_replied(system: System, sent: Sent) -> dict[str, Any] | None:
    """The modal ``sent`` opened, or None once it was answered with a reply instead."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for call in system.slack.calls_to(r"/api/views\.open$"):
            if call.status == 200 and call.request.json().get("trigger_id") == sent.trigger_id:
                return system.opened_view(sent)
        if system.replies(sent):
            return None
        time.sleep(0.01)
    raise AssertionError(f"{sent.trigger_id} got neither a modal nor a reply")


def posted_strings(value: Any) -> Iterator[str]:
    """Every string Slack would render from a posted body (plain_text objects and message
    metadata are shown as typed, so they cannot ping)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from posted_strings(item)
    elif isinstance(value, dict):
        if value.get("type") == "plain_text":
            return
        for key, item in value.items():
            if key != "metadata":
                yield from posted_strings(item)


_RENDERED = re.compile(
    r"^/api/(chat\.(postMessage|update|postEphemeral)|conversations\.(setTopic|setPurpose)"
    r"|bookmarks\.add)$|^/commands/"
)


def unexpected_control_sequences(system: System, since: int, allowed_users: set[str]) -> list[str]:
    """Control sequences in what was posted to Slack (from call ``since`` on) that nobody put
    there on purpose: broadcasts, foreign mentions, groups and channels Firebell did not name."""
    channels = set(system.slack.channels)
    problems = []
    for call in system.slack.calls[since:]:
        if not _RENDERED.search(call.request.path):
            continue
        body = call.request.json()
        for text in posted_strings(body):
            for broadcast in re.findall(r"<!(?:channel|here|everyone)\b[^>]*>?", text):
                problems.append(f"{call.request.path}: {broadcast} in {text!r}")
            for user in re.findall(r"<@([^>|]*)", text):
                if user not in allowed_users:
                    problems.append(f"{call.request.path}: <@{user}> in {text!r}")
            for group in re.findall(r"<!subteam\^([^>|]*)", text):
                if group != system.fakes.oncall:
                    problems.append(f"{call.request.path}: <!subteam^{group}> in {text!r}")
            for channel in re.findall(r"<#([^>|]*)", text):
                if channel not in channels:
                    problems.append(f"{call.request.path}: <#{channel}> in {text!r}")
    return problems


def named_people(system: System) -> set[str]:
    """Who Firebell may mention: the bot, the people acting, and whoever a command named as a
    commander or a follow-up's owner (people chose to name them; that is not text pasted)."""
    named = {BOT_USER_ID, *USERS}
    for event in system.firebell.store.select_events(limit=1_000_000):
        named.add(event.actor)
        for field in ("commander", "previous", "owner", "author", "reporter"):
            value = getattr(event.data, field, None)
            if isinstance(value, str):
                named.add(value)
    return named


def read_model(system: System) -> list[Incident]:
    return sorted(system.incidents(), key=lambda incident: incident.id)


def run_step(system: System, step: Any, answers: list[int]) -> None:
    """Send one step to the app, as Slack would; the HTTP statuses go to ``answers``."""
    if isinstance(step, Deliver):
        system.drain()
    elif isinstance(step, DeclareForm):
        sent = system.command("/incident", user_id=step.user)
        answers.append(sent.response.status_code)
        view = system.opened_view(sent)
        values = declare_form(
            step.title,
            description=step.description,
            severity=step.severity or None,
            customer_facing=step.customer_facing,
        )
        answers.append(system.submit(view, values, user_id=step.user).status_code)
    elif isinstance(step, Command):
        channel = channel_for(system, step.place)
        sent = system.command(step.command, step.text, channel_id=channel, user_id=step.user)
        answers.append(sent.response.status_code)
    elif isinstance(step, Confirm):
        channel = channel_for(system, step.place)
        sent = system.command(f"/{step.action}-incident", channel_id=channel, user_id=step.user)
        answers.append(sent.response.status_code)
        confirmation = opened_or_replied(system, sent)
        if confirmation is not None:
            submitted = system.submit(confirmation, summary_form(step.summary), user_id=step.user)
            answers.append(submitted.status_code)
    elif isinstance(step, RawPayload):
        shape = step.view
        if isinstance(shape, dict):
            shape = {"callback_id": step.callback_id, **shape}
        payload = {"type": step.kind, "view": shape, "user": step.user}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        answers.append(system.post(body).status_code)


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sequence=st.tuples(
        # Most examples start by declaring (with the form, or typed), so there is an incident
        # with someone's text in it to act on and to post about.
        st.builds(
            DeclareForm,
            title=texts,
            description=st.none() | texts,
            severity=st.sampled_from(["SEV0", "SEV1", "SEV2", None]),
            customer_facing=st.booleans(),
            user=users,
        )
        | st.builds(
            Command, command=st.just("/incident"), text=texts, place=st.just(0), user=users
        ),
        st.lists(steps, max_size=6),
    ).map(lambda first_and_rest: [first_and_rest[0], Deliver(), *first_and_rest[1]])
)
def test_random_sequences_through_slack_never_crash_ping_or_diverge(
    make_system: MakeSystem, caplog: pytest.LogCaptureFixture, sequence: list[Any]
) -> None:
    caplog.set_level(logging.WARNING)
    system = shared_system(make_system)
    since_call, since_record = len(system.slack.calls), len(caplog.records)
    answers: list[int] = []

    for step in sequence:
        run_step(system, step, answers)
    system.drain()
    quiet(system)

    assert all(status < 500 for status in answers), answers
    errors = [r for r in caplog.records[since_record:] if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]
    problems = unexpected_control_sequences(system, since_call, named_people(system))
    assert problems == [], problems
    replies = [
        json.loads(c.request.body).get("text", "")
        for c in system.slack.calls[since_call:]
        if c.path.startswith("/commands/")
    ]
    assert not [r for r in replies if "unexpected error" in r or "Traceback" in r], replies
    before = read_model(system)
    system.firebell.store.rebuild_read_model()
    assert read_model(system) == before
    assert system.http.get(system.url + "/healthz").status_code == 200


_shared: list[tuple[MakeSystem, System]] = []


def shared_system(make_system: MakeSystem) -> System:
    """One system for every example of a test run (``make_system`` is that run's fixture)."""
    if not _shared or _shared[0][0] is not make_system:
        _shared[:] = [(make_system, make_system(retry_base=0.0))]
    return _shared[0][1]
