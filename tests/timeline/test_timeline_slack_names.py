"""The Slack adapter names the people its commands involve: the real Bolt app over HTTP, the real
slack_sdk asking the fake Slack's ``users.info``, and the names in the events and in the Markdown
post-mortem. A name never fails, holds up or reorders a command: the command is recorded at once
with the names known (the cache, else the username the request carries), and the person is
looked up afterwards; Slack refusing or hanging leaves them named by that username, or by id."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from firebell.adapters.slack.people import PeopleDirectory, user_name
from firebell.core import CommanderAssigned, PersonNamed
from firebell.core.incident import Incident
from firebell.core.timeline import incident_timeline
from firebell.plugins import markdown
from slack_sdk import WebClient
from timeline_support import (
    ANA,
    REPORTER,
    RESPONDER,
    ChannelMaker,
    Sent,
    SlackHarness,
    make_fake_slack,
    wait_for,
)

from firebell.testing import slack_requests as sr
from firebell.testing.fake_http import Fault
from firebell.testing.fake_slack import BOT_TOKEN, FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell
from firebell.testing.slack_side import declare_form

GENERAL = "C0000GENERAL"
USERS_INFO = r"/api/users\.info$"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = make_fake_slack()
    fake.add_user("rita", user_id=REPORTER, real_name="Rita Reporter")
    fake.add_user("ben", user_id=RESPONDER, real_name="Ben Okafor")
    fake.add_user("ana", user_id=ANA, real_name="Ana Lima")
    yield fake
    fake.stop()


@pytest.fixture
def harness(make_firebell: MakeFirebell, fake: FakeSlack, tmp_path: Path) -> Iterator[SlackHarness]:
    firebell = make_firebell(
        {"plugins": {"channels": {}, "markdown": {"folder": str(tmp_path / "pm")}}},
        extra_plugins={"channels": ChannelMaker(fake), "markdown": markdown},
        entry_points=False,
    )
    harness = SlackHarness(firebell, fake)
    yield harness
    harness.stop()


def command(
    harness: SlackHarness,
    text: str,
    *,
    channel_id: str = GENERAL,
    user_id: str = REPORTER,
    user_name: str = "rita",
) -> Sent:
    """``/incident text`` as Slack sends it, with the person's username."""
    trigger = harness.fake.issue_trigger_id()
    reply_to = f"{harness.fake.url}/commands/T0/{time.monotonic_ns()}/x"
    body = sr.slash_command(
        "/incident",
        text,
        user_id=user_id,
        user_name=user_name,
        channel_id=channel_id,
        trigger_id=trigger,
        response_url=reply_to,
    )
    response = harness.post(body)
    assert response.status_code == 200, response.text
    return Sent(response, trigger, reply_to)


def quick_declare(harness: SlackHarness, *, named: str | None = None, **options: Any) -> Incident:
    """Declare, and wait for the reporter's lookup after it: until ``named`` is recorded, or
    (no ``named``) until the lookup was made and had time to record anything."""
    harness.reply(command(harness, "Checkout is down", **options))
    [incident] = harness.firebell.store.list_incidents()
    if named is not None:
        wait_for(lambda: (REPORTER, named) in names(harness, incident.id), what=f"{named} recorded")
    else:
        settled(harness, REPORTER)
    harness.firebell.deliverer.drain()
    return harness.incident(incident.id)


def settled(harness: SlackHarness, user_id: str) -> None:
    """Wait until ``user_id`` was looked up, and the lookup had time to record a name."""
    wait_for(
        lambda: (
            user_id in [c.request.json().get("user") for c in harness.fake.calls_to(USERS_INFO)]
        ),
        what=f"the lookup of {user_id}",
    )
    time.sleep(0.3)


def names(harness: SlackHarness, incident_id: str) -> list[tuple[str, str]]:
    return [
        (e.data.person, e.data.name)
        for e in harness.events(incident_id)
        if isinstance(e.data, PersonNamed)
    ]


def test_the_post_mortem_names_everyone_a_slack_incident_involved(
    harness: SlackHarness, fake: FakeSlack, tmp_path: Path
) -> None:
    incident = quick_declare(harness, named="Rita Reporter")
    channel = incident.resource("channel")
    assert channel is not None
    where = {"channel_id": channel.external_id}

    harness.reply(command(harness, f"commander <@{RESPONDER}|ben>", **where))
    ts = fake.post_user_message(channel.external_id, ANA, "502s from the card gateway")
    harness.handled(lambda: harness.event(fake.pin_message(channel.external_id, ts, RESPONDER)))
    harness.reply(
        command(
            harness,
            f"followup Alert on gateway 502s <@{ANA}|ana>",
            user_id=RESPONDER,
            user_name="ben",
            **where,
        )
    )
    harness.reply(
        command(harness, "resolve Gateway fixed", user_id=RESPONDER, user_name="ben", **where)
    )
    harness.firebell.deliverer.drain()

    recorded = names(harness, incident.id)
    # The declare was recorded at once with the username; the real name followed its lookup.
    assert recorded[:2] == [(REPORTER, "rita"), (REPORTER, "Rita Reporter")]
    assert len(recorded) == 4
    assert dict(recorded) == {ANA: "Ana Lima", RESPONDER: "Ben Okafor", REPORTER: "Rita Reporter"}
    document = (tmp_path / "pm" / f"{incident.id}.md").read_text()
    assert "declared 2026" in document and "by Rita Reporter." in document
    assert "Declared as SEV" in document and "Checkout is down (Rita Reporter)" in document
    assert "Ben Okafor is now the incident commander (Rita Reporter)" in document
    assert "502s from the card gateway](" in document and ") (Ana Lima)" in document
    assert "Resolved: Gateway fixed (Ben Okafor)" in document
    assert "- [ ] Alert on gateway 502s — Ana Lima" in document
    for user_id in (REPORTER, RESPONDER, ANA):
        assert user_id not in document
    # Each person was asked for once, however many commands they ran.
    asked = [c.request.json().get("user") for c in fake.calls_to(USERS_INFO)]
    assert sorted(asked) == sorted([REPORTER, RESPONDER, ANA])


def test_a_name_is_recorded_once_per_incident(harness: SlackHarness) -> None:
    incident = quick_declare(harness, named="Rita Reporter")
    channel = incident.resource("channel")
    assert channel is not None
    first = [(REPORTER, "rita"), (REPORTER, "Rita Reporter")]
    assert names(harness, incident.id) == first

    for text in ("update Looking", "update Still looking", "severity SEV2"):
        harness.reply(command(harness, text, channel_id=channel.external_id))
    time.sleep(0.3)  # any lookup after the last reply

    assert names(harness, incident.id) == first


def test_slack_refusing_the_lookup_names_the_person_by_username(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    fake.fail_next(USERS_INFO, Fault(status=200, body={"ok": False, "error": "user_not_found"}))

    incident = quick_declare(harness, user_name="rita.r")

    assert incident.reporter == REPORTER
    assert names(harness, incident.id) == [(REPORTER, "rita.r")]


def test_a_rate_limited_lookup_is_not_retried_and_the_command_goes_on(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    fake.fail_next(
        USERS_INFO,
        Fault(
            status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "30"}
        ),
    )
    started = time.monotonic()

    incident = quick_declare(harness)

    assert time.monotonic() - started < 10, "the command waited for Slack's Retry-After"
    assert len(fake.calls_to(USERS_INFO)) == 1
    assert names(harness, incident.id) == [(REPORTER, "rita")]


def test_a_slow_lookup_neither_delays_nor_reorders_commands(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident = quick_declare(harness, named="Rita Reporter")
    channel = incident.resource("channel")
    assert channel is not None
    where = {"channel_id": channel.external_id}
    harness.reply(command(harness, "update Ana here", user_id=ANA, user_name="ana", **where))
    wait_for(lambda: (ANA, "Ana Lima") in names(harness, incident.id), what="Ana's name")
    # Ben is not cached and Slack takes 1.5 s to say who he is (under the 2 s timeout).
    slow = {"ok": True, "user": fake.users[RESPONDER].to_slack()}
    fake.fail_next(USERS_INFO, Fault(status=200, body=slow, delay=1.5))

    started = time.monotonic()
    ben = command(harness, "commander me", user_id=RESPONDER, user_name="ben", **where)
    time.sleep(0.3)
    ana = command(harness, "commander me", user_id=ANA, user_name="ana", **where)
    assert "is now the commander" in harness.reply(ben)
    assert "is now the commander" in harness.reply(ana)
    assert time.monotonic() - started < 1.2, "a reply waited for the slow lookup"

    # Ana asked last, so she is the commander; Ben's command came first, under his username.
    assert harness.incident(incident.id).commander == ANA
    wait_for(lambda: (RESPONDER, "Ben Okafor") in names(harness, incident.id), what="Ben's name")
    recorded: list[tuple[str, ...]] = []
    for event in harness.events(incident.id, CommanderAssigned.type, PersonNamed.type):
        if isinstance(event.data, CommanderAssigned):
            recorded.append(("commander", event.data.commander))
        elif isinstance(event.data, PersonNamed):
            recorded.append((event.data.person, event.data.name, event.actor))
    assert recorded[-4:] == [
        (RESPONDER, "ben", RESPONDER),
        ("commander", RESPONDER),
        ("commander", ANA),
        (RESPONDER, "Ben Okafor", RESPONDER),
    ]
    # The timeline (firebell timeline, the post-mortems) shows both commands in that order.
    lines = [
        (line.actor, line.text)
        for line in incident_timeline(harness.events(incident.id))
        if "commander" in line.text
    ]
    assert lines == [
        ("Ben Okafor", "Ben Okafor is now the incident commander"),
        ("Ana Lima", "Ana Lima is now the incident commander"),
    ]


def test_a_mentioned_user_slack_does_not_know_stays_an_id(harness: SlackHarness) -> None:
    incident = quick_declare(harness, named="Rita Reporter")
    channel = incident.resource("channel")
    assert channel is not None

    harness.reply(command(harness, "commander <@U0NOBODY1>", channel_id=channel.external_id))
    settled(harness, "U0NOBODY1")

    assert harness.incident(incident.id).commander == "U0NOBODY1"
    assert names(harness, incident.id) == [(REPORTER, "rita"), (REPORTER, "Rita Reporter")]


def test_the_declare_form_names_the_reporter_from_the_lookup_its_command_made(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    harness.opened_view(command(harness, ""))
    [view] = fake.opened_views
    # The /incident that opened the form looks the reporter up after opening it.
    wait_for(lambda: fake.calls_to(USERS_INFO), what="the lookup after views.open")

    body = sr.view_submission(
        view["callback_id"],
        declare_form(),
        user_id=REPORTER,
        user_name="rita",
        view_id=view["id"],
        private_metadata=view["private_metadata"],
    )
    response = harness.post(body)

    assert response.status_code == 200 and not response.content, response.text
    [incident] = harness.firebell.store.list_incidents()
    assert names(harness, incident.id) == [(REPORTER, "Rita Reporter")]
    assert len(fake.calls_to(USERS_INFO)) == 1, "the submission itself asked nobody"


def test_a_form_submitted_without_a_cached_name_uses_the_username_then_looks_it_up(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    # Nothing cached (the form was opened by another process): the username is recorded with
    # the declaration, and the real name after the answer.
    body = sr.view_submission(
        "firebell_declare", declare_form(), user_id=REPORTER, user_name="rita", view_id="V1"
    )

    response = harness.post(body)

    assert response.status_code == 200 and not response.content, response.text
    [incident] = harness.firebell.store.list_incidents()
    created, named = harness.events(incident.id)[:2]
    assert (created.type, named.data) == ("incident.created", PersonNamed(REPORTER, "rita"))
    wait_for(lambda: len(names(harness, incident.id)) == 2, what="the name after the lookup")
    assert names(harness, incident.id) == [(REPORTER, "rita"), (REPORTER, "Rita Reporter")]


def test_a_username_never_replaces_a_recorded_real_name(
    harness: SlackHarness, fake: FakeSlack
) -> None:
    incident = quick_declare(harness, named="Rita Reporter")
    assert names(harness, incident.id) == [(REPORTER, "rita"), (REPORTER, "Rita Reporter")]
    # Another process (nothing cached) while Slack fails: the username is not passed on.
    people = PeopleDirectory(WebClient(token=BOT_TOKEN, base_url=fake.url + "/api/"))
    fake.fail_next(USERS_INFO, Fault(status=500), times=2)

    handles = {REPORTER: "rita"}
    assert people.names([REPORTER], incident=incident, handles=handles) == {}
    assert people.names([REPORTER], handles=handles) == {REPORTER: "rita"}, "no incident yet"


# -- the directory -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def directory(fake: FakeSlack) -> Callable[..., tuple[PeopleDirectory, Clock]]:
    def make(**options: Any) -> tuple[PeopleDirectory, Clock]:
        clock = Clock()
        client = WebClient(token=BOT_TOKEN, base_url=fake.url + "/api/")
        return PeopleDirectory(client, clock=clock, **options), clock

    return make


def test_names_are_cached_for_the_ttl(
    directory: Callable[..., tuple[PeopleDirectory, Clock]], fake: FakeSlack
) -> None:
    people, clock = directory(ttl=600)

    assert people.name(REPORTER) == "Rita Reporter"
    fake.users[REPORTER].real_name = "Rita Reporter-Ng"
    clock.now += 599
    assert people.name(REPORTER) == "Rita Reporter"
    clock.now += 1
    assert people.name(REPORTER) == "Rita Reporter-Ng"
    assert len(fake.calls_to(USERS_INFO)) == 2


def test_a_failure_is_remembered_for_a_shorter_time(
    directory: Callable[..., tuple[PeopleDirectory, Clock]], fake: FakeSlack
) -> None:
    people, clock = directory(ttl=600, failure_ttl=60)
    fake.fail_next(USERS_INFO, Fault(status=500))

    assert people.name(ANA) is None
    assert people.name(ANA) is None
    assert len(fake.calls_to(USERS_INFO)) == 1, "Slack is not asked again at once"
    clock.now += 60
    assert people.name(ANA) == "Ana Lima"


def test_the_cache_keeps_the_most_recently_used_people(
    directory: Callable[..., tuple[PeopleDirectory, Clock]], fake: FakeSlack
) -> None:
    people, _ = directory(max_size=2)

    people.name(REPORTER)
    people.name(RESPONDER)
    people.name(REPORTER)
    people.name(ANA)  # RESPONDER, the least recently used, goes

    assert people.cached(REPORTER) == (True, "Rita Reporter")
    assert people.cached(ANA) == (True, "Ana Lima")
    assert people.cached(RESPONDER) == (False, None)


def test_a_hung_lookup_gives_up_after_the_timeout(
    directory: Callable[..., tuple[PeopleDirectory, Clock]], fake: FakeSlack
) -> None:
    people, _ = directory(timeout=1)
    fake.fail_next(USERS_INFO, Fault(status=200, delay=5))
    started = time.monotonic()

    assert people.name(ANA) is None
    assert time.monotonic() - started < 3


def test_only_slack_user_ids_are_looked_up(
    directory: Callable[..., tuple[PeopleDirectory, Clock]], fake: FakeSlack
) -> None:
    people, _ = directory()

    found = people.names([REPORTER, None, "B0BOT1234", "cli:ana", "Ana from ops", REPORTER])

    assert found == {REPORTER: "Rita Reporter"}
    assert len(fake.calls_to(USERS_INFO)) == 1


def test_the_real_name_comes_first_then_the_display_name_then_the_username() -> None:
    profile = {"real_name": "Egon Spengler", "display_name": "spengler"}
    assert user_name({"name": "egon", "real_name": "E S", "profile": profile}) == "Egon Spengler"
    assert (
        user_name({"name": "egon", "profile": {"real_name": " ", "display_name": "spengler"}})
        == "spengler"
    )
    assert user_name({"name": "egon", "profile": {}}) == "egon"
    assert user_name({"profile": "not an object"}) is None
