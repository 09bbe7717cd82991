"""The Notion post-mortem's channel paragraph follows the channel: written while Slack could not
make it (down, or its token refused), it says so (not "declared without Slack") and shows the
channel once the Slack plugin makes it on a retry, in place, once, unless people rewrote it.

The real Slack plugin against the fake Slack, the real notion_client against the fake Notion.
(Without Slack configured, the page says "declared without Slack":
tests/plugins/test_notion.py::test_without_slack_the_page_says_there_is_no_channel.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import notion_client
import pytest
from firebell.core import Firebell, Resource, ResourceLinked
from firebell.core.plugin_host import hook_name_for

from firebell.testing.fake_http import Fault
from firebell.testing.fake_notion import (
    NOTION_DATABASE_ID,
    NOTION_TOKEN,
    FakeBlock,
    FakeNotion,
    notion_fault,
)
from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell

NOT_YET = "Slack channel: none yet (Slack has not made it; it is filled in here once it has)"


class Clock:
    """A clock the test moves: event times and retry due times follow it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 14, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def notion() -> Iterator[FakeNotion]:
    with FakeNotion() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def open_firebell(
    make_firebell: MakeFirebell,
    slack: FakeSlack,
    notion: FakeNotion,
    clock: Clock,
    *,
    slack_token: str | None = None,
) -> Firebell:
    """Firebell with the Slack and Notion plugins; a failed delivery is due again in a minute."""
    document: dict[str, Any] = {
        "plugins": {
            "slack": {"bot_token": {"env": "SLACK_BOT_TOKEN"}, "api_url": slack.url + "/api/"},
            "notion": {
                "token": {"env": "NOTION_TOKEN"},
                "database_id": NOTION_DATABASE_ID,
                "api_url": notion.url,
                "requests_per_second": 200,
            },
        }
    }
    environ = {"SLACK_BOT_TOKEN": slack_token or slack.token, "NOTION_TOKEN": NOTION_TOKEN}
    return make_firebell(document, environ=environ, clock=clock, retry_base=60.0)


def declare(firebell: Firebell) -> str:
    name = firebell.engine.declare(title="Checkout is down", reporter="U0REPORTER").incident.id
    firebell.deliverer.drain()
    return name


def the_page(notion: FakeNotion) -> str:
    assert len(notion.pages) == 1, [p["id"] for p in notion.pages]
    return str(notion.pages[0]["id"])


def channel_paragraphs(notion: FakeNotion, page_id: str) -> list[FakeBlock]:
    return [b for b in notion.page_blocks(page_id) if b.text.startswith("Slack channel")]


def the_channel(firebell: Firebell, name: str) -> Resource:
    channel = firebell.engine.get(name).resource("channel", plugin="slack")
    assert channel is not None, "Slack made no channel"
    return channel


def block_links(notion: FakeNotion, block_id: str) -> list[str]:
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    block = client.blocks.retrieve(block_id)
    assert isinstance(block, dict)
    return [item["href"] for item in block["paragraph"]["rich_text"] if item["href"]]


def block_updates(notion: FakeNotion) -> int:
    return sum(1 for c in notion.calls_to(r"^/v1/blocks/[^/]+$") if c.request.method == "PATCH")


def redeliver_channel_link(firebell: Firebell, name: str) -> None:
    """Call the Notion plugin's hook again for the channel's link (a repeated delivery)."""
    event = next(
        e
        for e in firebell.store.select_events(name)
        if isinstance(e.data, ResourceLinked) and e.data.kind == "channel"
    )
    arguments: Mapping[str, Any] = {
        "event": event,
        "incident": firebell.engine.get(name),
        "settings": firebell.settings,
        "attempt": 2,
    }
    lazy = {"history": lambda: firebell.store.select_events(name)}
    firebell.host.call("notion", hook_name_for(event.type), dict(arguments), lazy)


def test_slack_down_at_declare_then_retried_fills_the_channel_in(
    make_firebell: MakeFirebell, slack: FakeSlack, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_firebell(make_firebell, slack, notion, clock)
    # Three answers of 500: the client's own retries run out, the delivery waits for its retry.
    slack.fail_next("/api/conversations.create", Fault(status=500), times=3)
    name = declare(firebell)

    page_id = the_page(notion)
    [paragraph] = channel_paragraphs(notion, page_id)
    assert paragraph.text == NOT_YET
    blocks = len(notion.page_blocks(page_id))

    clock.now += timedelta(minutes=5)  # Slack is back; the retry is due
    firebell.deliverer.drain()

    channel = the_channel(firebell, name)
    assert [b.text for b in channel_paragraphs(notion, page_id)] == [
        f"Slack channel: {channel.title}"
    ]
    assert channel_paragraphs(notion, page_id)[0].id == paragraph.id, "updated in place"
    assert block_links(notion, paragraph.id) == [channel.url]
    assert len(notion.page_blocks(page_id)) == blocks
    assert notion.page_properties(page_id)["Slack channel"] == channel.url
    assert "declared without Slack" not in [b.text for b in notion.page_blocks(page_id)]


def test_slack_refusing_the_token_then_retried_fills_the_channel_in_once(
    make_firebell: MakeFirebell, slack: FakeSlack, notion: FakeNotion, clock: Clock
) -> None:
    refused = open_firebell(make_firebell, slack, notion, clock, slack_token="xoxb-not-valid")
    name = declare(refused)
    page_id = the_page(notion)
    assert [b.text for b in channel_paragraphs(notion, page_id)] == [NOT_YET]
    assert refused.deliverer.outbox.backlog()["slack"].failed == 1
    refused.close()

    # SLACK_BOT_TOKEN is fixed, Firebell restarted, then `firebell retry --plugin slack`.
    firebell = open_firebell(make_firebell, slack, notion, clock)
    assert firebell.deliverer.outbox.requeue_failed(plugin="slack", now=clock())
    firebell.deliverer.drain()

    channel = the_channel(firebell, name)
    assert [b.text for b in channel_paragraphs(notion, page_id)] == [
        f"Slack channel: {channel.title}"
    ]
    assert block_updates(notion) == 1

    # A repeated delivery of the link finds the channel shown and writes no block again.
    redeliver_channel_link(firebell, name)
    assert block_updates(notion) == 1
    assert [b.text for b in channel_paragraphs(notion, page_id)] == [
        f"Slack channel: {channel.title}"
    ]


def test_a_channel_paragraph_people_rewrote_is_left_alone(
    make_firebell: MakeFirebell, slack: FakeSlack, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_firebell(make_firebell, slack, notion, clock)
    slack.fail_next("/api/conversations.create", Fault(status=500), times=3)
    name = declare(firebell)
    page_id = the_page(notion)
    [paragraph] = channel_paragraphs(notion, page_id)
    assert paragraph.text == NOT_YET
    rewritten = "Slack channel: we talked in #checkout-war-room meanwhile"
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    client.blocks.update(paragraph.id, paragraph={"rich_text": [{"text": {"content": rewritten}}]})
    edits = block_updates(notion)

    clock.now += timedelta(minutes=5)
    firebell.deliverer.drain()
    firebell.engine.resolve(name, actor="U0REPORTER")
    firebell.deliverer.drain()

    channel = the_channel(firebell, name)
    assert [b.text for b in channel_paragraphs(notion, page_id)] == [rewritten]
    assert block_updates(notion) == edits
    assert notion.page_properties(page_id)["Slack channel"] == channel.url
    assert notion.page_properties(page_id)["Status"] == "Resolved", "the rest went on as usual"


def test_the_resolve_fills_in_a_channel_its_link_delivery_could_not(
    make_firebell: MakeFirebell, slack: FakeSlack, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_firebell(make_firebell, slack, notion, clock)
    slack.fail_next("/api/conversations.create", Fault(status=500), times=3)
    name = declare(firebell)
    page_id = the_page(notion)

    # When the channel is linked, Notion refuses the token (fixed later): that delivery parks.
    notion.fail_next(r"^/v1/pages/", notion_fault(401, "unauthorized"))
    clock.now += timedelta(minutes=5)
    firebell.deliverer.drain()
    assert firebell.deliverer.outbox.backlog()["notion"].failed == 1
    assert [b.text for b in channel_paragraphs(notion, page_id)] == [NOT_YET]

    firebell.engine.resolve(name, actor="U0REPORTER")
    firebell.deliverer.drain()

    channel = the_channel(firebell, name)
    assert [b.text for b in channel_paragraphs(notion, page_id)] == [
        f"Slack channel: {channel.title}"
    ]
