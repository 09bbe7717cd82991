"""The Slack plugin driven through the engine, against the fake Slack over HTTP.

Each test declares (and resolves, closes…) incidents with ``firebell.engine``, runs the deliveries
with ``firebell.deliverer.drain()`` and looks at what the fake workspace holds afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from firebell.core import ConfigError, Firebell, Incident, Link
from firebell.core.naming import NameGenerator
from firebell.core.outbox import Claim
from firebell.core.plugin_host import hook_name_for
from firebell.plugins.slack.channels import MAX_CHANNEL_NAME

from firebell.testing.fake_http import Fault
from firebell.testing.fake_slack import BOT_USER_ID, TEAM_DOMAIN, FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell


class FixedName(NameGenerator):
    """Names every incident ``name`` (so a test can take the channel name first)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def draw(self, moment: datetime) -> str:
        return self.name


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def open_firebell(
    make_firebell: MakeFirebell,
    fake: FakeSlack,
    *,
    token: str | None = None,
    others: Mapping[str, Any] | None = None,
    extra_plugins: Mapping[str, object] | None = None,
    names: NameGenerator | None = None,
    **slack: Any,
) -> Firebell:
    document = {
        "plugins": {
            "slack": {
                "bot_token": {"env": "SLACK_BOT_TOKEN"},
                "api_url": fake.url + "/api/",
                **slack,
            },
            **(others or {}),
        }
    }
    return make_firebell(
        document,
        environ={"SLACK_BOT_TOKEN": token or fake.token},
        extra_plugins=extra_plugins,
        names=names,
        retry_base=0.0,
    )


def declare(firebell: Firebell, reporter: str, **fields: Any) -> Incident:
    fields.setdefault("title", "Checkout fails")
    fields.setdefault("description", "Card payments time out since 14:02.")
    fields.setdefault("severity", "SEV1")
    result = firebell.engine.declare(reporter=reporter, **fields)
    firebell.deliverer.drain()
    return firebell.engine.get(result.incident.id)


def channel_of(firebell: Firebell, incident: Incident) -> str:
    channel = firebell.engine.get(incident.id).resource("channel", plugin="slack")
    assert channel is not None, "the incident has no Slack channel"
    return channel.external_id


def texts(fake: FakeSlack, channel_id: str) -> list[str]:
    return [m["text"] for m in fake.messages(channel_id)]


def all_block_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def calls(fake: FakeSlack, method: str) -> int:
    return sum(1 for call in fake.calls if call.path == f"/api/{method}")


def failed_deliveries(firebell: Firebell) -> int:
    return sum(b.failed + b.pending for b in firebell.deliverer.outbox.backlog().values())


# -- incident.created ------------------------------------------------------------------------


def test_declaring_opens_and_sets_up_the_channel(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    alice = fake.add_user("alice")
    bob = fake.add_user("bob")
    carol = fake.add_user("carol")
    oncall = fake.add_usergroup("oncall", users=[bob])
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(
        make_firebell,
        fake,
        announcement_channels=[announcements],
        cc_usergroups=[oncall],
        responders=[bob, carol],
        runbook_url="https://wiki.example.com/runbook",
    )

    incident = declare(firebell, alice)

    channel_id = channel_of(firebell, incident)
    channel = fake.channels[channel_id]
    assert channel.name == f"incd-{incident.id}"
    assert incident.id in channel.purpose
    linked = firebell.engine.get(incident.id).resource("channel")
    assert linked is not None
    assert linked.url == f"https://{TEAM_DOMAIN}.slack.com/archives/{channel_id}"
    assert linked.title == f"#incd-{incident.id}"
    assert fake.topic(channel_id) == "SEV1 | Checkout fails | Card payments time out since 14:02."
    assert fake.members(channel_id) == [BOT_USER_ID, alice, bob, carol]
    assert [(b["title"], b["link"]) for b in fake.bookmarks(channel_id)] == [
        ("Runbook", "https://wiki.example.com/runbook")
    ]

    [summary] = fake.messages(channel_id)
    blocks = all_block_text(summary)
    assert f"Incident {incident.id}" in blocks
    assert "*SEV1*: Product is unusable for some users or degraded for most" in blocks
    assert "Checkout fails" in blocks and "Card payments time out since 14:02." in blocks
    assert f"<@{alice}>" in blocks
    assert f"<!subteam^{oncall}>" in blocks
    assert f"<#{channel_id}>" in blocks
    assert "No commander yet" in blocks
    assert "/incident update" in blocks and "/resolve-incident" in blocks
    assert summary["text"].startswith(f"Incident {incident.id} (SEV1): Checkout fails")

    dm = fake.dm_channel(alice)
    assert dm is not None
    [dm_text] = texts(fake, dm.id)
    assert f"<#{channel_id}>" in dm_text and "invited you" in dm_text

    [announcement] = texts(fake, announcements)
    assert "New incident" in announcement and incident.id in announcement
    assert f"<#{channel_id}>" in announcement and f"<!subteam^{oncall}>" in announcement
    assert failed_deliveries(firebell) == 0


def test_a_reporter_from_the_command_line_is_not_invited_or_messaged(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    firebell = open_firebell(make_firebell, fake)

    incident = declare(firebell, "cli:alice")

    channel_id = channel_of(firebell, incident)
    assert fake.members(channel_id) == [BOT_USER_ID]
    assert [c for c in fake.channels.values() if c.is_im] == []
    [summary] = fake.messages(channel_id)
    assert "alice (from the command line)" in all_block_text(summary)


@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived"])
def test_a_taken_channel_name_gets_the_next_free_one(
    make_firebell: MakeFirebell, fake: FakeSlack, archived: bool
) -> None:
    name = "20260601-honest-rhino"
    someone_elses = fake.add_channel(f"incd-{name}", is_archived=archived)
    fake.add_channel(f"incd-{name}-2", is_private=True, bot_is_member=False)
    firebell = open_firebell(make_firebell, fake, names=FixedName(name))

    incident = declare(firebell, fake.add_user("alice"))

    channel_id = channel_of(firebell, incident)
    assert channel_id != someone_elses
    assert fake.channels[channel_id].name == f"incd-{name}-3"
    assert fake.messages(someone_elses) == []
    assert failed_deliveries(firebell) == 0


def test_channel_names_leave_room_for_resolved_within_80_characters(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    name = "20260601-" + "-".join(["extraordinarily-long"] * 4)  # 93 characters
    fake.add_channel(f"incd-{name}"[:71])
    firebell = open_firebell(make_firebell, fake, names=FixedName(name))

    incident = declare(firebell, fake.add_user("alice"))
    channel_id = channel_of(firebell, incident)
    opened = fake.channels[channel_id].name
    firebell.engine.resolve(incident.id, actor="cli:alice")
    firebell.deliverer.drain()

    assert opened.startswith("incd-20260601-extraordinarily-long") and opened.endswith("-2")
    resolved = fake.channels[channel_id].name
    assert resolved == opened + "-resolved"
    assert len(resolved) <= MAX_CHANNEL_NAME
    assert failed_deliveries(firebell) == 0


def test_user_text_pings_no_one(make_firebell: MakeFirebell, fake: FakeSlack) -> None:
    alice = fake.add_user("alice")
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(make_firebell, fake, announcement_channels=[announcements])
    hostile = "<!channel> <!here> <@U0VICTIM> <!subteam^S0GROUP> <https://evil.example|login> & co"

    incident = declare(firebell, alice, title="Outage <!everyone>", description=hostile)
    firebell.engine.post_update(incident.id, f"update {hostile}", actor=alice)
    firebell.engine.resolve(incident.id, actor=alice, summary=hostile)
    firebell.deliverer.drain()

    channel_id = channel_of(firebell, incident)
    dm = fake.dm_channel(alice)
    assert dm is not None
    sent = [
        json.dumps(m, ensure_ascii=False)
        for c in (channel_id, announcements, dm.id)
        for m in fake.messages(c)
    ]
    sent.append(fake.topic(channel_id))
    for control in ("<!channel>", "<!here>", "<!everyone>", "<@U0VICTIM>", "<!subteam^S0GROUP>"):
        assert not any(control in text for text in sent), control
    assert not any("<https://evil.example" in text for text in sent)
    assert "&lt;!channel&gt;" in fake.topic(channel_id)
    assert any("&lt;!channel&gt; &lt;!here&gt;" in text for text in sent)
    assert any("&amp; co" in text for text in sent)


def test_texts_are_cut_to_slacks_limits(make_firebell: MakeFirebell, fake: FakeSlack) -> None:
    firebell = open_firebell(make_firebell, fake)

    incident = declare(firebell, fake.add_user("alice"), title="T" * 150, description="<" * 3000)

    channel_id = channel_of(firebell, incident)
    topic = fake.topic(channel_id)
    assert len(topic) <= 250 and topic.endswith("…")
    assert "&l…" not in topic and "&lt…" not in topic  # never half an escape
    [summary] = fake.messages(channel_id)
    for block in summary["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    assert failed_deliveries(firebell) == 0


# -- repeated deliveries ---------------------------------------------------------------------


def claim_next(firebell: Firebell) -> Claim:
    """Claim Slack's next delivery as the worker does (the claim counts as an attempt)."""
    [claim] = firebell.deliverer.outbox.claim(
        owner="crashed-process",
        now=firebell.deliverer.clock(),
        lease=timedelta(minutes=5),
        dependencies=firebell.host.dependencies(),
        limit=1,
        plugins=["slack"],
    )
    return claim


def deliver_and_die(firebell: Firebell, *, link_now: bool = False) -> tuple[str, list[Link]]:
    """Run Slack's next delivery as the worker does, but die before recording its outcome.

    Returns the event type delivered and the links the hook returned (never recorded; those
    it passed to ``link_now`` are, when ``link_now``, as the worker records them); the retry is
    the next attempt.
    """
    outbox = firebell.deliverer.outbox
    claim = claim_next(firebell)
    arguments: dict[str, Any] = {
        "event": outbox.load_event(claim.position),
        "incident": firebell.store.get_incident(claim.incident_id),
        "settings": firebell.settings,
        "attempt": claim.attempt,
    }
    if link_now:
        arguments["link_now"] = lambda *links: outbox.release(claim, links, now=datetime.now(UTC))
    lazy = {"history": lambda: firebell.store.select_events(claim.incident_id)}
    links = firebell.host.call("slack", hook_name_for(claim.event_type), arguments, lazy)
    # ... and the process is killed here; at start-up its leases are released.
    outbox.release_leases(["crashed-process"])
    return claim.event_type, links


def test_a_delivery_repeated_after_a_crash_creates_nothing_twice(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    alice = fake.add_user("alice")
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(
        make_firebell,
        fake,
        announcement_channels=[announcements],
        runbook_url="https://wiki.example.com/runbook",
    )
    declared = firebell.engine.declare(title="Checkout fails", reporter=alice)
    incident_id = declared.incident.id
    # The worker created and set up the channel in Slack and died before recording anything
    # (before even its early link): the channel exists, but the log knows nothing of it.
    event_type, links = deliver_and_die(firebell)
    assert event_type == "incident.created"
    assert [link.kind for link in links] == ["channel", "slack-summary"]
    assert firebell.engine.get(incident_id).resource("channel") is None

    # The lease ran out: the event is delivered again (attempt 2), the channel is found by its
    # name and purpose and linked at once, and the process dies again during the set-up.
    event_type, again = deliver_and_die(firebell, link_now=True)
    assert event_type == "incident.created"
    assert [link.external_id for link in again] == [link.external_id for link in links]
    channel_id = channel_of(firebell, firebell.engine.get(incident_id))
    assert channel_id == links[0].external_id
    assert firebell.engine.get(incident_id).resource("slack-summary") is None

    firebell.deliverer.drain()  # attempt 3: the linked channel, set up once more

    incident = firebell.engine.get(incident_id)
    assert [c.name for c in fake.channels.values() if c.name.startswith("incd-")] == [
        f"incd-{incident_id}"
    ]
    assert calls(fake, "conversations.create") == 2  # the second one met name_taken
    assert len(fake.messages(channel_id)) == 1
    assert len(fake.bookmarks(channel_id)) == 1
    assert len(texts(fake, announcements)) == 1
    dm = fake.dm_channel(alice)
    assert dm is not None and len(fake.messages(dm.id)) == 1
    summary = incident.resource("slack-summary")
    assert summary is not None and summary.external_id == links[1].external_id
    assert failed_deliveries(firebell) == 0


def test_a_first_attempt_posts_without_looking_and_a_retry_looks_first(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    alice = fake.add_user("alice")
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(make_firebell, fake, announcement_channels=[announcements])

    incident = declare(firebell, alice)

    # Nothing can be there before a first attempt: no history read, no topic compared.
    assert calls(fake, "conversations.history") == 0
    assert calls(fake, "conversations.info") == 0
    channel_id = channel_of(firebell, incident)
    assert len(fake.messages(channel_id)) == 1
    assert len(texts(fake, announcements)) == 1

    # Setting the topic fails past the client's retries while the summary, the DM and the
    # announcement are posted: the set-up is retried (attempt 2) and looks before each post.
    fake.fail_next("/api/conversations.setTopic", Fault(status=503), times=3)
    other = declare(firebell, alice, title="Search is slow")
    assert calls(fake, "conversations.history") > 0
    other_channel = channel_of(firebell, other)
    assert len(fake.messages(other_channel)) == 3  # summary, integration failed, recovered
    assert len(texts(fake, announcements)) == 2
    dm = fake.dm_channel(alice)
    assert dm is not None and len(fake.messages(dm.id)) == 2
    assert failed_deliveries(firebell) == 0


def test_a_delivery_retried_after_a_failure_halfway_posts_nothing_twice(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    alice = fake.add_user("alice")
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(make_firebell, fake, announcement_channels=[announcements])
    # Setting the topic fails while the summary, the DM and the announcement are posted, three
    # times in a row: more than Slack's client retries by itself, so the delivery fails and
    # runs again (and finds the DM it sent to the reporter's id in their DM channel).
    fake.fail_next("/api/conversations.setTopic", Fault(status=503), times=3)

    incident = declare(firebell, alice)

    kinds = [e.type for e in firebell.store.select_events(incident.id)]
    assert "incident.integration_failed" in kinds  # the first attempt did fail
    channel_id = channel_of(firebell, incident)
    assert [c.name for c in fake.channels.values() if c.name.startswith("incd-")] == [
        f"incd-{incident.id}"
    ]
    posted = [m["metadata"]["event_payload"]["kind"] for m in fake.messages(channel_id)]
    assert posted == ["summary", "integration-failed", "integration-recovered"]
    assert len(texts(fake, announcements)) == 1
    dm = fake.dm_channel(alice)
    assert dm is not None and len(fake.messages(dm.id)) == 1
    assert failed_deliveries(firebell) == 0


def test_the_same_event_delivered_twice_posts_once(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    alice = fake.add_user("alice")
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(make_firebell, fake, announcement_channels=[announcements])
    incident = declare(firebell, alice)
    firebell.engine.post_update(incident.id, "Rolled back the deploy.", actor=alice)
    firebell.deliverer.drain()
    channel_id = channel_of(firebell, incident)
    before = (texts(fake, channel_id), texts(fake, announcements))

    update = firebell.store.select_events(incident.id)[-1]
    for hook in ("firebell_incident_status_update_posted", "firebell_incident_created"):
        firebell.host.call(
            "slack",
            hook,
            {
                "event": update
                if "update" in hook
                else firebell.store.select_events(incident.id)[0],
                "incident": firebell.engine.get(incident.id),
                "settings": firebell.settings,
                "attempt": 2,
            },
        )

    assert (texts(fake, channel_id), texts(fake, announcements)) == before
    assert calls(fake, "conversations.create") == 1


# -- the incident's course -------------------------------------------------------------------


def test_resolve_reopen_and_close(make_firebell: MakeFirebell, fake: FakeSlack) -> None:
    alice = fake.add_user("alice")
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(make_firebell, fake, announcement_channels=[announcements])
    incident = declare(firebell, alice)
    channel_id = channel_of(firebell, incident)
    name = fake.channels[channel_id].name

    firebell.engine.resolve(incident.id, actor=alice, summary="Rolled back.")
    firebell.deliverer.drain()
    assert fake.channels[channel_id].name == f"{name}-resolved"
    assert not fake.channels[channel_id].is_archived
    assert "*Resolved* by" in texts(fake, channel_id)[-1]
    assert "Rolled back." in texts(fake, channel_id)[-1]
    assert "*resolved*" in texts(fake, announcements)[-1]

    firebell.engine.reopen(incident.id, actor=alice, reason="Errors are back.")
    firebell.deliverer.drain()
    assert fake.channels[channel_id].name == name
    assert "*Reopened*" in texts(fake, channel_id)[-1]
    assert "*reopened*" in texts(fake, announcements)[-1]

    firebell.engine.resolve(incident.id, actor=alice)
    firebell.engine.close(incident.id, actor=alice, summary="Post-mortem held.")
    firebell.deliverer.drain()
    channel = fake.channels[channel_id]
    assert channel.is_archived
    assert channel.name == f"{name}-resolved"
    final = texts(fake, channel_id)[-1]
    assert "is closed*" in final and "*SEV1*" in final and "Impact lasted" in final
    assert "Post-mortem: none linked" in final and "Post-mortem held." in final
    summary = fake.messages(channel_id)[0]
    assert "(closed)" in all_block_text(summary)
    assert failed_deliveries(firebell) == 0


def test_closing_a_channel_archived_by_hand_is_fine(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    firebell = open_firebell(make_firebell, fake)
    incident = declare(firebell, fake.add_user("alice"))
    channel_id = channel_of(firebell, incident)
    firebell.engine.resolve(incident.id, actor="cli:alice")
    firebell.deliverer.drain()
    fake.channels[channel_id].is_archived = True  # someone archived it in Slack

    firebell.engine.close(incident.id, actor="cli:alice")
    firebell.deliverer.drain()

    assert fake.channels[channel_id].is_archived
    assert failed_deliveries(firebell) == 0


def test_updates_severity_and_commander_are_told(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    alice = fake.add_user("alice")
    bob = fake.add_user("bob")
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(make_firebell, fake, announcement_channels=[announcements])
    incident = declare(firebell, alice, severity="SEV2")
    channel_id = channel_of(firebell, incident)

    firebell.engine.post_update(incident.id, "Payments are queued, not lost.", actor=alice)
    firebell.engine.change_severity(incident.id, "SEV0", actor=alice)
    firebell.engine.assign_commander(incident.id, bob, actor=alice)
    firebell.deliverer.drain()

    said = texts(fake, channel_id)[1:]
    assert said[0] == f":loudspeaker: *Update* from <@{alice}>:\nPayments are queued, not lost."
    assert said[1].startswith(":arrow_up: Severity raised from *SEV2* to *SEV0*")
    assert "Product is unusable for most users" in said[1]
    assert said[2].startswith(f":firefighter: <@{bob}> is now the incident commander")
    assert bob in fake.members(channel_id)
    announced = texts(fake, announcements)
    assert len(announced) == 2 and "Payments are queued, not lost." in announced[1]
    summary = all_block_text(fake.messages(channel_id)[0])
    assert f"*Commander*\\n<@{bob}>" in summary and "No commander yet" not in summary
    assert "*SEV0*" in summary


def test_the_topic_follows_the_severity_unless_people_rewrote_it(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    firebell = open_firebell(make_firebell, fake)
    incident = declare(firebell, "cli:alice", severity="SEV0")
    channel_id = channel_of(firebell, incident)
    assert fake.topic(channel_id).startswith("SEV0 | Checkout fails")

    firebell.engine.change_severity(incident.id, "SEV1", actor="cli:alice")
    firebell.deliverer.drain()
    set_before = calls(fake, "conversations.setTopic")
    for command in ("resolve", "reopen", "resolve", "close"):
        getattr(firebell.engine, command)(incident.id, actor="cli:alice")
    firebell.deliverer.drain()

    assert fake.channels[channel_id].is_archived
    assert fake.topic(channel_id) == "SEV1 | Checkout fails | Card payments time out since 14:02."
    assert calls(fake, "conversations.setTopic") == set_before
    assert failed_deliveries(firebell) == 0

    # A topic people wrote themselves stays.
    other = declare(firebell, "cli:alice", severity="SEV0")
    other_channel = channel_of(firebell, other)
    fake.channels[other_channel].topic = "Bridge: https://meet.example.com/checkout"
    firebell.engine.change_severity(other.id, "SEV1", actor="cli:alice")
    firebell.deliverer.drain()
    assert fake.topic(other_channel) == "Bridge: https://meet.example.com/checkout"
    assert texts(fake, other_channel)[-1].startswith(":arrow_down: Severity lowered")


def test_updates_stay_in_the_channel_when_announce_updates_is_off(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    announcements = fake.add_channel("announcements")
    firebell = open_firebell(
        make_firebell, fake, announcement_channels=[announcements], announce_updates=False
    )
    incident = declare(firebell, "cli:alice")

    firebell.engine.post_update(incident.id, "Still looking.", actor="cli:alice")
    firebell.deliverer.drain()

    assert "Still looking." in texts(fake, channel_of(firebell, incident))[-1]
    assert len(texts(fake, announcements)) == 1  # the "New incident" line only


def test_an_announcement_channel_the_bot_has_not_joined_is_joined(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    announcements = fake.add_channel("announcements", bot_is_member=False)
    firebell = open_firebell(make_firebell, fake, announcement_channels=[announcements])

    incident = declare(firebell, "cli:alice")
    firebell.engine.post_update(incident.id, "Still looking.", actor="cli:alice")
    firebell.deliverer.drain()

    assert BOT_USER_ID in fake.members(announcements)
    assert len(texts(fake, announcements)) == 2
    assert failed_deliveries(firebell) == 0


def test_an_unusable_announcement_channel_is_reported_in_the_incident_channel(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    private = fake.add_channel("leadership", is_private=True, bot_is_member=False)
    firebell = open_firebell(make_firebell, fake, announcement_channels=[private])

    incident = declare(firebell, "cli:alice")

    warning = texts(fake, channel_of(firebell, incident))[-1]
    assert warning.startswith(":warning:")
    assert f"<#{private}> (channel_not_found)" in warning and "announcement_channels" in warning
    assert fake.messages(private) == []
    assert failed_deliveries(firebell) == 0


def test_a_responder_slack_does_not_know_is_reported_not_fatal(
    make_firebell: MakeFirebell, fake: FakeSlack
) -> None:
    bob = fake.add_user("bob")
    firebell = open_firebell(make_firebell, fake, responders=["U0GONE", bob])

    incident = declare(firebell, "cli:alice")

    channel_id = channel_of(firebell, incident)
    assert fake.members(channel_id) == [BOT_USER_ID, bob]
    warning = texts(fake, channel_id)[-1]
    assert warning.startswith(":warning:")
    assert "could not invite <@U0GONE> (user_not_found)" in warning and "`responders`" in warning
    assert failed_deliveries(firebell) == 0


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("channel_prefix", "INC ", "channel_prefix: 'INC ' is not a valid start"),
        ("responders", ["bob"], "responders: 'bob' is not a Slack user id"),
        ("cc_usergroups", ["oncall"], "cc_usergroups: 'oncall' is not a Slack user group id"),
        ("runbook_url", "wiki/runbook", "runbook_url: 'wiki/runbook' is not an http(s) URL"),
        ("timeout", 0, "timeout: 0 is not a number of seconds from 1 to 300"),
        ("timeout", 2.5, "timeout"),
        (
            "bot_token",
            "xoxb-in-the-file",
            "bot_token: secrets are written as environment-variable references",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_key(
    make_firebell: MakeFirebell, fake: FakeSlack, key: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=r"\[plugins\.slack\]") as refused:
        open_firebell(make_firebell, fake, **{key: value})
    assert message in str(refused.value)
