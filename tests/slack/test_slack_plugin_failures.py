"""The Slack plugin when things fail: Slack's rate limits, outages, bad tokens and scopes, and
other plugins failing for an incident (the channel hears of it once, and of the recovery)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from firebell.core import (
    Firebell,
    Incident,
    Link,
    NothingToDo,
    PluginSpec,
    RetryLater,
    hookimpl,
)
from firebell.core.errors import PermanentPluginError
from firebell.core.events import IntegrationFailed
from firebell.core.schema import deliveries

from firebell.testing.fake_http import Fault
from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell

PAGER_URL = "https://example.pagerduty.com/incidents/PABC123"
DOC_URL = "https://notion.example.com/postmortem-abc"
STATUS_URL = "https://status.example.com/incidents/sp-1"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def open_firebell(
    make_firebell: MakeFirebell,
    fake: FakeSlack,
    *,
    announcement_channels: list[str] | None = None,
    api_url: str | None = None,
    token: str | None = None,
    others: Mapping[str, object] | None = None,
    retry_base: float = 0.0,
) -> Firebell:
    document: dict[str, Any] = {
        "plugins": {
            "slack": {
                "bot_token": {"env": "SLACK_BOT_TOKEN"},
                "api_url": api_url or fake.url + "/api/",
                "announcement_channels": announcement_channels or [],
            },
            **{name: {} for name in others or {}},
        }
    }
    return make_firebell(
        document,
        environ={"SLACK_BOT_TOKEN": token or fake.token},
        extra_plugins=others,
        retry_base=retry_base,
    )


def declare(firebell: Firebell, reporter: str = "cli:alice") -> Incident:
    result = firebell.engine.declare(title="Checkout fails", reporter=reporter, severity="SEV1")
    firebell.deliverer.drain()
    return firebell.engine.get(result.incident.id)


def channel_of(firebell: Firebell, incident: Incident) -> str:
    channel = firebell.engine.get(incident.id).resource("channel", plugin="slack")
    assert channel is not None, "the incident has no Slack channel"
    return channel.external_id


def kinds_posted(fake: FakeSlack, channel_id: str) -> list[str]:
    return [m["metadata"]["event_payload"]["kind"] for m in fake.messages(channel_id)]


def text_of(fake: FakeSlack, channel_id: str, kind: str) -> str:
    [text] = [
        m["text"]
        for m in fake.messages(channel_id)
        if m["metadata"]["event_payload"]["kind"] == kind
    ]
    return text


def event_types(firebell: Firebell, incident: Incident) -> list[str]:
    return [e.type for e in firebell.store.select_events(incident.id)]


def slack_failures(firebell: Firebell, incident: Incident) -> list[IntegrationFailed]:
    return [
        e.data
        for e in firebell.store.select_events(incident.id)
        if isinstance(e.data, IntegrationFailed) and e.data.plugin == "slack"
    ]


class FlakyPager:
    """A stand-in for a pager plugin: fails ``failures`` times, then links a pager incident."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or RetryLater("PagerDuty answered HTTP 503 <!channel>")
        self.calls = 0

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(after=("slack",))

    @hookimpl
    def firebell_incident_created(self) -> Link:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return Link("pager-incident", "PABC123", PAGER_URL, "Checkout fails")


class PostMortemWriter:
    """A stand-in for a document plugin: links a post-mortem page on created."""

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(after=("slack",))

    @hookimpl
    def firebell_incident_created(self) -> Link:
        return Link("document", "page-abc", DOC_URL, "Post-mortem: Checkout fails")


# -- other plugins ---------------------------------------------------------------------------


def test_a_failing_plugin_is_reported_once_and_its_recovery_once(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    pager = FlakyPager(failures=3)
    firebell = open_firebell(make_firebell, fake, others={"pagerduty": pager})

    incident = declare(firebell)

    assert pager.calls == 4
    channel_id = channel_of(firebell, incident)
    assert kinds_posted(fake, channel_id) == [
        "summary",
        "integration-failed",
        "linked",
        "integration-recovered",
    ]
    warning = text_of(fake, channel_id, "integration-failed")
    assert warning.startswith(":warning: *PagerDuty failed* while setting up the incident: ")
    assert "PagerDuty answered HTTP 503 &lt;!channel&gt;" in warning
    assert "Firebell keeps retrying; page on-call by hand if this is urgent." in warning
    recovered = text_of(fake, channel_id, "integration-recovered")
    assert recovered.startswith(":white_check_mark: *PagerDuty works again* (after 4 attempts)")
    assert f"<{PAGER_URL}|PagerDuty incident: Checkout fails>" in recovered
    assert [b["link"] for b in fake.bookmarks(channel_id)] == [PAGER_URL]
    summary = json.dumps(fake.messages(channel_id)[0]["blocks"])
    assert PAGER_URL in summary and "Nothing yet" not in summary


def test_a_failing_plugin_with_nothing_left_to_do_says_so_not_works_again(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    reason = "the incident was resolved before PagerDuty could be paged"
    pager = FlakyPager(failures=1_000)  # down, retried in an hour
    firebell = open_firebell(make_firebell, fake, others={"pagerduty": pager}, retry_base=3600.0)
    incident = declare(firebell)
    pager.error = NothingToDo(reason)  # at its next attempt, the page is not wanted any more
    firebell.deliverer.outbox.retry_now(plugins=["pagerduty"], now=firebell.deliverer.clock())
    firebell.deliverer.drain()

    channel_id = channel_of(firebell, incident)
    assert kinds_posted(fake, channel_id) == [
        "summary",
        "integration-failed",
        "integration-skipped",
    ]
    told = text_of(fake, channel_id, "integration-skipped")
    assert told == f":information_source: *PagerDuty* has nothing left to do here: {reason}."
    assert firebell.engine.get(incident.id).failing_plugins == ()


def test_a_plugin_that_gave_up_is_reported_with_what_to_do(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    pager = FlakyPager(failures=1, error=PermanentPluginError("the service id PXYZ is unknown"))
    firebell = open_firebell(make_firebell, fake, others={"pagerduty": pager})

    incident = declare(firebell)

    channel_id = channel_of(firebell, incident)
    assert kinds_posted(fake, channel_id) == ["summary", "integration-failed"]
    warning = text_of(fake, channel_id, "integration-failed")
    assert "the service id PXYZ is unknown" in warning
    assert (
        "Firebell stopped retrying: fix the cause, then run `firebell retry --plugin pagerduty`"
        in warning
    )


def test_a_linked_document_is_bookmarked_once(make_firebell: MakeFirebell, fake: FakeSlack) -> None:
    firebell = open_firebell(make_firebell, fake, others={"notion": PostMortemWriter()})
    incident = declare(firebell)
    channel_id = channel_of(firebell, incident)
    [linked] = [e for e in firebell.store.select_events(incident.id) if e.actor == "plugin:notion"]

    firebell.host.call(  # the same event delivered again
        "slack",
        "firebell_incident_resource_linked",
        {
            "event": linked,
            "incident": firebell.engine.get(incident.id),
            "settings": firebell.settings,
            "attempt": 2,
        },
        {"history": lambda: firebell.store.select_events(incident.id)},  # as the worker does
    )

    assert [(b["title"], b["link"], b["emoji"]) for b in fake.bookmarks(channel_id)] == [
        ("Post-mortem", DOC_URL, ":memo:")
    ]
    assert kinds_posted(fake, channel_id) == ["summary", "linked"]
    assert text_of(fake, channel_id, "linked") == (
        f":memo: <{DOC_URL}|Post-mortem: Checkout fails> (from Notion)"
    )

    firebell.engine.resolve(incident.id, actor="cli:alice")
    firebell.engine.close(incident.id, actor="cli:alice")
    firebell.deliverer.drain()
    assert f"Post-mortem: <{DOC_URL}|" in text_of(fake, channel_id, "closed")


class StatusPageOpener:
    """A stand-in for a status page plugin: waits for no one, links a status incident."""

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(after=())

    @hookimpl
    def firebell_incident_created(self) -> Link:
        return Link("status-incident", "sp-1", STATUS_URL, "Checkout fails")


class WatchingPager:
    """A pager stand-in waiting for Slack: notes what the channel held when it was called."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.seen: list[tuple[str | None, int]] = []

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(after=("slack",))

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        channel = incident.resource("channel", plugin="slack")
        posted = len(self.fake.messages(channel.external_id)) if channel else -1
        self.seen.append((channel.external_id if channel else None, posted))
        return Link("pager-incident", "PABC123", PAGER_URL, "Checkout fails")


def test_plugins_after_slack_start_once_the_channel_is_linked_not_set_up(
    make_firebell: MakeFirebell,
) -> None:
    with FakeSlack(delay=0.3) as fake:  # every Slack call takes 0.3 s
        pager = WatchingPager(fake)
        firebell = open_firebell(
            make_firebell,
            fake,
            others={"pagerduty": pager, "statuspage": StatusPageOpener()},
        )
        incident = declare(firebell)

        channel_id = channel_of(firebell, incident)
        # The pager had the channel's link while the set-up's posts were still on their way.
        assert pager.seen == [(channel_id, 0)]
        assert kinds_posted(fake, channel_id)[0] == "summary"
        # The status incident, linked while Slack was still creating the channel, is bookmarked
        # and told once, by its own delivery after the set-up; as is the page.
        assert sorted(b["link"] for b in fake.bookmarks(channel_id)) == [PAGER_URL, STATUS_URL]
        assert kinds_posted(fake, channel_id).count("linked") == 2
        backlog = firebell.deliverer.outbox.backlog().values()
        assert sum(b.pending + b.failed for b in backlog) == 0


# -- Slack itself ----------------------------------------------------------------------------


def test_a_rate_limit_is_waited_out_not_failed(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    firebell = open_firebell(make_firebell, fake)
    limited = Fault(
        status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"}
    )
    fake.fail_next("/api/conversations.create", limited)

    started = time.monotonic()
    incident = declare(firebell)

    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    assert sum(c.path == "/api/conversations.create" for c in fake.calls) == 2
    assert [c.status for c in fake.calls if c.path == "/api/conversations.create"] == [429, 200]
    assert fake.channels[channel_of(firebell, incident)].name == f"incd-{incident.id}"
    assert "incident.integration_failed" not in event_types(firebell, incident)


def test_slacks_own_rate_limits_slow_a_burst_of_messages_down(
    make_firebell: MakeFirebell,
) -> None:
    with FakeSlack(rate_limits=True) as fake:  # 3 messages at once per channel, then 1/s
        firebell = open_firebell(make_firebell, fake)
        incident = declare(firebell)
        for n in range(4):
            firebell.engine.post_update(incident.id, f"Update {n}", actor="cli:alice")
        firebell.deliverer.drain()

        channel_id = channel_of(firebell, incident)
        assert kinds_posted(fake, channel_id) == ["summary"] + ["update"] * 4
        assert any(c.status == 429 for c in fake.calls)
        assert "incident.integration_failed" not in event_types(firebell, incident)


def test_a_long_retry_after_is_handed_to_the_engine(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    firebell = open_firebell(make_firebell, fake)
    limited = Fault(
        status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "600"}
    )
    fake.fail_next("/api/conversations.create", limited)

    started = time.monotonic()
    declare(firebell)

    assert time.monotonic() - started < 30  # the worker did not sleep ten minutes
    with firebell.store.read() as connection:
        row = connection.execute(
            sa.select(deliveries).where(
                deliveries.c.plugin == "slack", deliveries.c.event_type == "incident.created"
            )
        ).one()
    assert row.status == "pending"
    assert "Slack rate-limited conversations.create" in row.last_error
    assert (row.next_attempt_at - row.updated_at).total_seconds() >= 600


def test_slack_down_is_retried_and_the_channel_told_afterwards(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    firebell = open_firebell(make_firebell, fake)
    # Three answers of 500: the client's own retries run out once, the delivery is retried.
    fake.fail_next("/api/conversations.create", Fault(status=500), times=3)

    incident = declare(firebell)

    [failure] = slack_failures(firebell, incident)
    assert failure.will_retry
    channel_id = channel_of(firebell, incident)
    assert [c.name for c in fake.channels.values() if c.name.startswith("incd-")] == [
        f"incd-{incident.id}"
    ]
    # The retry opens and sets up the channel; the failure (logged before the channel
    # existed) and the recovery are told there after the summary.
    assert kinds_posted(fake, channel_id) == [
        "summary",
        "integration-failed",
        "integration-recovered",
    ]
    assert "*Slack failed* while setting up the incident" in text_of(
        fake, channel_id, "integration-failed"
    )
    assert "*Slack works again*" in text_of(fake, channel_id, "integration-recovered")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"ok": true, "channel": {"id": "C1", "name": ', "malformed JSON"),
        (b"<html><body>502 Bad Gateway</body></html>", "a body that is not JSON"),
    ],
)
def test_an_answer_that_is_not_json_is_retried_not_parked(
    make_firebell: MakeFirebell, fake: FakeSlack, body: bytes, said: str
) -> None:
    firebell = open_firebell(make_firebell, fake)
    fake.fail_next("/api/conversations.create", Fault(status=200, raw=body))

    incident = declare(firebell)

    [failure] = slack_failures(firebell, incident)
    assert failure.will_retry and said in failure.error
    assert "trying again later" in failure.error
    assert fake.channels[channel_of(firebell, incident)].name == f"incd-{incident.id}"
    assert firebell.deliverer.outbox.backlog()["slack"].failed == 0


def test_slack_unreachable_is_retried_later(make_firebell: MakeFirebell, fake: FakeSlack) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    firebell = open_firebell(
        make_firebell, fake, api_url=f"http://127.0.0.1:{port}/api/", retry_base=60.0
    )

    incident = declare(firebell)

    backlog = firebell.deliverer.outbox.backlog()["slack"]
    # incident.created waits for its retry; the integration_failed notice waits behind it.
    assert backlog.pending == 2 and backlog.failed == 0
    assert backlog.last_error is not None
    assert "Slack could not be reached" in backlog.last_error
    assert slack_failures(firebell, incident)[0].will_retry


def test_a_wrong_token_parks_the_delivery_with_a_clear_message(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    firebell = open_firebell(make_firebell, fake, token="xoxb-not-the-right-one")

    incident = declare(firebell)

    backlog = firebell.deliverer.outbox.backlog()["slack"]
    assert backlog.failed == 1
    assert backlog.last_error is not None
    assert "PermanentPluginError: Slack does not accept the bot token (invalid_auth" in (
        backlog.last_error
    )
    assert "SLACK_BOT_TOKEN" in backlog.last_error
    assert "xoxb-not-the-right-one" not in backlog.last_error
    [failure] = slack_failures(firebell, incident)
    assert not failure.will_retry
    assert [c for c in fake.channels.values() if c.name.startswith("incd-")] == []


def test_a_missing_scope_names_the_scope_to_add(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    fake.scopes.discard("channels:manage")
    firebell = open_firebell(make_firebell, fake)

    declare(firebell)

    backlog = firebell.deliverer.outbox.backlog()["slack"]
    assert backlog.failed == 1
    assert backlog.last_error is not None
    assert "lacks the channels:manage scope that conversations.create needs" in (backlog.last_error)
    assert "reinstall the app" in backlog.last_error


def test_without_a_channel_the_failure_is_told_in_the_announcement_channels(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    fake.scopes.discard("channels:manage")  # the app can post, but not open channels
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(make_firebell, fake, announcement_channels=[announcements])

    incident = declare(firebell)

    [warning] = [m["text"] for m in fake.messages(announcements)]
    assert warning.startswith(f"`{incident.id}`: :warning: *Slack failed* while setting up")
    assert "channels:manage" in warning
    assert "`firebell retry --plugin slack`" in warning
