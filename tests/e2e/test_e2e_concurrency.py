"""People acting at the same moment, through Slack, with every integration on: two confirmations
of one resolve, a submission Slack retries while its person clicks again, and 200 incidents
declared at once."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import httpx
import pytest
from e2e_support import REPORTER, RESPONDER, MakeSystem, System, declare_form, summary_form
from firebell.adapters.slack.handlers import STILL_WORKING
from firebell.core import IncidentState
from firebell.core.events import IncidentCreated, IncidentResolved, PersonNamed

from firebell.testing import slack_requests as sr

T = TypeVar("T")


def at_once(*calls: Callable[[], T]) -> list[T]:
    """Run ``calls`` on threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def resolutions(system: System, incident_id: str) -> list[Any]:
    return [
        e
        for e in system.firebell.store.select_events(incident_id)
        if isinstance(e.data, IncidentResolved)
    ]


def test_two_people_confirming_a_resolve_at_once_give_one_resolve_and_one_refusal(
    make_system: MakeSystem,
) -> None:
    system = make_system(retry_base=0.0)
    for round_ in range(5):
        incident = system.declare(f"Checkout is down ({round_})", customer_facing=True)
        system.drain()
        channel_id = system.channel_of(incident)
        # Each opens the confirmation (both see an open incident), then both press Resolve.
        views = [
            system.opened_view(
                system.command("/resolve-incident", channel_id=channel_id, user_id=who)
            )
            for who in (REPORTER, RESPONDER)
        ]
        with httpx.Client(timeout=30) as other:
            answers = at_once(
                partial(system.submit, views[0], summary_form("Rolled back"), user_id=REPORTER),
                partial(
                    system.submit,
                    views[1],
                    summary_form("Failed over"),
                    user_id=RESPONDER,
                    client=other,
                ),
            )

        assert [a.status_code for a in answers] == [200, 200]
        [resolved] = resolutions(system, incident.id)
        winner = 0 if resolved.actor == REPORTER else 1
        assert answers[winner].content == b""  # the winner's modal closes
        refusal = answers[1 - winner].json()
        assert refusal["response_action"] == "errors"
        message = refusal["errors"]["summary"]
        # Inline errors are plain text in Slack, where a mention does not render: the winner is
        # named by a name the log held for them then (their username, or their name once Slack
        # was asked), else by id.
        called = {resolved.actor} | {
            e.data.name
            for e in system.firebell.store.select_events(incident.id)
            if isinstance(e.data, PersonNamed) and e.data.person == resolved.actor
        }
        assert any(
            f"{incident.id} is already resolved, by {who} at" in message for who in called
        ), (
            message,
            called,
        )

        system.drain()
        assert system.get(incident).state is IncidentState.RESOLVED
        assert system.undelivered() == {}
        assert system.slack.channels[channel_id].name == f"incd-{incident.id}-resolved"
        assert system.kinds_posted(channel_id).count("resolved") == 1
        pager = system.get(incident).resource("pager-incident", plugin="pagerduty")
        assert pager is not None
        resolves = [
            c
            for c in system.fakes.pagerduty.calls_to(rf"^/incidents/{pager.external_id}$")
            if c.request.method == "PUT"
        ]
        assert len(resolves) == 1
        status = system.get(incident).resource("status-incident", plugin="statuspage")
        assert status is not None
        assert system.fakes.statuspage.incident(status.external_id)["status"] == "resolved"


def test_a_submission_retried_by_slack_and_clicked_twice_declares_one_incident(
    make_system: MakeSystem,
) -> None:
    system = make_system(retry_base=0.0)
    sent = system.command("/incident")
    view = system.opened_view(sent)
    values = declare_form("Payments fail", customer_facing=True)

    with httpx.Client(timeout=30) as second, httpx.Client(timeout=30) as third:
        answers = at_once(
            lambda: system.submit(view, values),
            # Slack sends the same submission again when the first answer is slow...
            lambda: system.submit(view, values, retry_num=1, client=second),
            # ... and the person, seeing nothing happen, presses Submit again.
            lambda: system.submit(view, values, client=third),
        )
    # And a late retry, after the incident exists.
    answers.append(system.submit(view, values, retry_num=2))

    assert [(a.status_code, a.content) for a in answers] == [(200, b"")] * 4
    [incident] = system.incidents()
    created = [
        e
        for e in system.firebell.store.select_events(incident.id)
        if isinstance(e.data, IncidentCreated)
    ]
    assert len(created) == 1
    system.drain()
    assert system.undelivered() == {}
    channels = [c for c in system.slack.channels.values() if c.name.startswith("incd-")]
    assert [c.name for c in channels] == [f"incd-{incident.id}"]
    assert len(system.fakes.pagerduty.incidents) == 1
    assert len(system.fakes.notion.pages) == 1
    assert len(system.fakes.statuspage.incidents) == 1
    assert len(system.replies(sent)) == 1, "one confirmation for the reporter"
    announced = [
        m for m in system.slack.messages(system.fakes.announce) if incident.id in m["text"]
    ]
    assert len(announced) == 1


DECLARERS = 20
EACH = 10


@pytest.mark.slow
def test_two_hundred_incidents_declared_at_once_through_slack(make_system: MakeSystem) -> None:
    # Slack and PagerDuty only: a channel and a page per incident are what must not double, and
    # each further plugin's link costs Slack five more calls (a bookmark, a line, the summary).
    system = make_system(retry_base=0.0, max_workers=16, plugins=("slack", "pagerduty"))
    total = DECLARERS * EACH
    answers: dict[str, list[int]] = {}
    lock = threading.Lock()

    def submit(view_id: str, title: str, client: httpx.Client) -> None:
        body = sr.view_submission(
            "firebell_declare",
            declare_form(title, customer_facing=False),
            user_id=REPORTER,
            view_id=view_id,
            private_metadata=json.dumps({"channel_id": "C0000GENERAL"}),
        )
        tries = []
        for _ in range(10):
            response = sr.send(
                system.events_url, body, signing_secret=system.signing_secret, client=client
            )
            tries.append(response.status_code)
            if response.status_code == 200 and response.content == b"":
                break
            # A slow answer asks the person to press Submit again; nothing else is expected.
            assert response.json()["errors"]["title"] == STILL_WORKING, response.text
        with lock:
            answers[view_id] = tries

    def declarer(number: int) -> None:
        with httpx.Client(timeout=30) as client:
            for n in range(EACH):
                submit(f"V{number:03d}X{n:03d}", f"Outage {number}-{n}", client)

    at_once(*[lambda number=number: declarer(number) for number in range(DECLARERS)])

    assert len(answers) == total and all(tries[-1] == 200 for tries in answers.values())
    incidents = system.incidents()
    assert len(incidents) == total
    assert len({i.id for i in incidents}) == total
    assert sorted(i.title for i in incidents) == sorted(
        f"Outage {d}-{n}" for d in range(DECLARERS) for n in range(EACH)
    )
    created = Counter(
        e.incident_id
        for e in system.firebell.store.select_events(limit=100_000)
        if isinstance(e.data, IncidentCreated)
    )
    assert len(created) == total and set(created.values()) == {1}

    system.drain()

    assert system.undelivered() == {}
    channels = [c for c in system.slack.channels.values() if c.name.startswith("incd-")]
    assert len(channels) == total
    assert len({c.name for c in channels}) == total
    by_incident = {system.channel_of(i): i.id for i in incidents}
    assert len(by_incident) == total
    for channel in channels:
        assert channel.name == f"incd-{by_incident[channel.id]}"
    assert len({i["incident_key"] for i in system.fakes.pagerduty.incidents}) == total
    assert len(system.fakes.pagerduty.incidents) == total
