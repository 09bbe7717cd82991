"""The fake Slack's pins and reactions, through the real slack_sdk client, and the events its
person-side helpers return."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from firebell.testing.fake_slack import BOT_USER_ID, FakeSlack

ANA = "U0000ANA0001"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user("ana", user_id=ANA)
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.token, base_url=fake.url + "/api/")


def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()  # type: ignore[operator]
    return str(raised.value.response["error"])


def test_pins_through_the_web_api(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("incd-x", members=[ANA])
    first = fake.post_user_message(channel, ANA, "first")
    second = fake.post_user_message(channel, ANA, "second")
    fake.scopes.add("pins:write")

    client.pins_add(channel=channel, timestamp=first)
    client.pins_add(channel=channel, timestamp=second)
    items = client.pins_list(channel=channel)["items"]

    assert [i["message"]["ts"] for i in items] == [second, first], "newest pin first"
    assert items[0]["message"]["pinned_to"] == [channel]
    assert items[0]["created_by"] == BOT_USER_ID
    assert items[0]["message"]["permalink"].endswith(
        f"/archives/{channel}/p{second.replace('.', '')}"
    )
    assert error_of(lambda: client.pins_add(channel=channel, timestamp=first)) == "already_pinned"
    client.pins_remove(channel=channel, timestamp=first)
    assert error_of(lambda: client.pins_remove(channel=channel, timestamp=first)) == "not_pinned"
    assert (
        error_of(lambda: client.pins_add(channel=channel, timestamp="1.000001"))
        == "message_not_found"
    )
    assert fake.pinned(channel) == [second]


def test_reactions_through_the_web_api(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("incd-x", members=[ANA])
    ts = fake.post_user_message(channel, ANA, "hello")
    fake.scopes.add("reactions:write")
    fake.react(channel, ts, ANA, "pushpin")

    client.reactions_add(channel=channel, name="pushpin", timestamp=ts)
    message = client.reactions_get(channel=channel, timestamp=ts, full=True)["message"]

    assert message["reactions"] == [{"name": "pushpin", "users": [ANA, BOT_USER_ID], "count": 2}]
    assert message["text"] == "hello" and message["user"] == ANA and "permalink" in message
    assert (
        error_of(lambda: client.reactions_add(channel=channel, name="pushpin", timestamp=ts))
        == "already_reacted"
    )
    client.reactions_remove(channel=channel, name="pushpin", timestamp=ts)
    fake.unreact(channel, ts, ANA, "pushpin")
    assert "reactions" not in client.reactions_get(channel=channel, timestamp=ts)["message"]
    assert (
        error_of(lambda: client.reactions_remove(channel=channel, name="pushpin", timestamp=ts))
        == "no_reaction"
    )


def test_reading_needs_the_read_scopes_and_writing_the_write_ones(
    fake: FakeSlack, client: WebClient
) -> None:
    channel = fake.add_channel("incd-x")
    ts = fake.post_user_message(channel, ANA, "hello")
    fake.scopes -= {"pins:read", "reactions:read"}

    assert error_of(lambda: client.pins_list(channel=channel)) == "missing_scope"
    assert error_of(lambda: client.reactions_get(channel=channel, timestamp=ts)) == "missing_scope"
    assert error_of(lambda: client.pins_add(channel=channel, timestamp=ts)) == "missing_scope"
    assert (
        error_of(lambda: client.reactions_add(channel=channel, name="x", timestamp=ts))
        == "missing_scope"
    )


def test_the_person_side_helpers_return_the_events_slack_sends(fake: FakeSlack) -> None:
    channel = fake.add_channel("incd-x", members=[ANA])
    ts = fake.post_user_message(channel, ANA, "hello")

    pinned = fake.pin_message(channel, ts, ANA)
    unpinned = fake.unpin_message(channel, ts, ANA)
    reacted = fake.react(channel, ts, ANA, "pushpin")
    unreacted = fake.unreact(channel, ts, ANA, "pushpin")

    assert pinned["type"] == "pin_added" and pinned["channel_id"] == channel
    assert pinned["item"]["message"]["ts"] == ts and pinned["item"]["created_by"] == ANA
    assert unpinned["type"] == "pin_removed" and unpinned["has_pins"] is False
    assert reacted == {
        "type": "reaction_added",
        "user": ANA,
        "reaction": "pushpin",
        "item_user": ANA,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": reacted["event_ts"],
    }
    assert unreacted["type"] == "reaction_removed"
    assert fake.pinned(channel) == [] and "reactions" not in fake.messages(channel)[0]
