"""The Notion post-mortem plugin, through the engine, with the real notion_client against FakeNotion."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import notion_client
import pytest
from firebell.core import (
    Firebell,
    Incident,
    IncidentCreated,
    IntegrationFailed,
    Link,
    PluginSpec,
    Secret,
    hookimpl,
)
from firebell.core.plugin_host import hook_name_for
from firebell.plugins.notion import NotionConfig, check

from firebell.testing.fake_http import Fault
from firebell.testing.fake_notion import (
    NOTION_DATA_SOURCE_ID,
    NOTION_DATABASE_ID,
    NOTION_TOKEN,
    POSTMORTEM_SCHEMA,
    FakeBlock,
    FakeNotion,
    notion_fault,
)
from firebell.testing.pytest_plugin import MakeFirebell

ENVIRON = {"NOTION_TOKEN": NOTION_TOKEN}
CHANNEL_ID = "C0INCIDENT"
CHANNEL_URL = f"https://example.slack.com/archives/{CHANNEL_ID}"
PAGER_URL = "https://example.pagerduty.com/incidents/PT4KHLK"
HEADINGS = [
    "1. Incident description",
    "2. Timeline",
    "3. Root cause analysis",
    "4. Mitigation tasks",
]
PLACEHOLDER = "Filled in when the incident is resolved."


class Clock:
    """A clock the test moves: event times, retry due times and incident names follow it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 14, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class ChannelStandIn:
    """Plays the slack plugin's part: links the incident channel on created."""

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        return Link("channel", CHANNEL_ID, CHANNEL_URL, f"#incd-{incident.id}")


class PagerStandIn:
    """Plays the pagerduty plugin's part, after the post-mortem page exists."""

    @hookimpl
    def firebell_plugin_spec(self) -> PluginSpec:
        return PluginSpec(after=("notion",))

    @hookimpl
    def firebell_incident_created(self) -> Link:
        return Link("pager-incident", "PT4KHLK", PAGER_URL, "PT4KHLK")


@pytest.fixture
def notion() -> Iterator[FakeNotion]:
    with FakeNotion() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def document(notion: FakeNotion, *, slack: bool = True, **options: Any) -> dict[str, Any]:
    table = {
        "token": {"env": "NOTION_TOKEN"},
        "database_id": NOTION_DATABASE_ID,
        "api_url": notion.url,
        "requests_per_second": 200,
        **options,
    }
    plugins: dict[str, Any] = {"slack": {}} if slack else {}
    return {"plugins": {**plugins, "notion": table}}


@pytest.fixture
def open_with(make_firebell: MakeFirebell, clock: Clock) -> Any:
    """``open_with(document, pager=False, environ=ENVIRON)``: a Firebell with stand-ins."""

    def make(
        doc: Mapping[str, Any], *, pager: bool = False, environ: Mapping[str, str] = ENVIRON
    ) -> Firebell:
        extra: dict[str, object] = {"slack": ChannelStandIn()}
        doc = dict(doc)
        if pager:
            extra["pagerduty"] = PagerStandIn()
            doc["plugins"] = {**doc["plugins"], "pagerduty": {}}
        return make_firebell(doc, extra_plugins=extra, environ=environ, clock=clock, retry_base=0.0)

    return make


def declare(firebell: Firebell, **fields: Any) -> str:
    fields.setdefault("title", "Checkout is down")
    fields.setdefault("reporter", "U0REPORTER")
    fields.setdefault("severity", "SEV1")
    return firebell.engine.declare(**fields).incident.id


def the_page(notion: FakeNotion) -> str:
    assert len(notion.pages) == 1, [p["id"] for p in notion.pages]
    return str(notion.pages[0]["id"])


def section(blocks: list[FakeBlock], title: str) -> list[FakeBlock]:
    """The blocks between the heading ``title`` and the next heading."""
    start = next(i for i, b in enumerate(blocks) if b.type == "heading_2" and b.text == title)
    following = []
    for block in blocks[start + 1 :]:
        if block.type == "heading_2":
            break
        following.append(block)
    return following


def bullets(notion: FakeNotion, page_id: str) -> list[str]:
    blocks = section(notion.page_blocks(page_id), "2. Timeline")
    return [b.text for b in blocks if b.type == "bulleted_list_item"]


def rich_text_items(value: Any) -> Iterator[dict[str, Any]]:
    """Every rich-text item anywhere in a request body."""
    if isinstance(value, dict):
        if value.get("type") == "text" and "text" in value:
            yield value
        for item in value.values():
            yield from rich_text_items(item)
    elif isinstance(value, list):
        for item in value:
            yield from rich_text_items(item)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def last_error(firebell: Firebell) -> str:
    backlog = firebell.deliverer.outbox.backlog()["notion"]
    assert backlog.failed == 1, backlog
    assert backlog.last_error is not None
    return backlog.last_error


# -- created -----------------------------------------------------------------------------------


def test_created_page_has_the_properties_and_the_four_sections(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion))
    name = declare(firebell, description="Payments time out after the deploy.")
    firebell.deliverer.drain()

    page_id = the_page(notion)
    assert notion.page_properties(page_id) == {
        "Name": name,
        "Title": "Checkout is down",
        "Severity": "SEV1",
        "Status": "Open",
        "Slack channel": CHANNEL_URL,
        "PagerDuty": None,
        "Declared at": "2026-06-01T14:02:00+00:00",
        "Duration (minutes)": None,
        "Incident": name,
    }
    blocks = notion.page_blocks(page_id)
    assert [b.text for b in blocks if b.type == "heading_2"] == HEADINGS
    description = [b.text for b in section(blocks, "1. Incident description")]
    assert "Payments time out after the deploy." in description
    assert f"Slack channel: #incd-{name}" in description
    assert [(b.type, b.text) for b in section(blocks, "2. Timeline")] == [
        ("paragraph", PLACEHOLDER)
    ]
    assert [b.type for b in section(blocks, "3. Root cause analysis")] == ["paragraph"]
    assert [(b.type, b.text, b.checked) for b in section(blocks, "4. Mitigation tasks")] == [
        ("to_do", "", False)
    ]
    # The channel mention links to the channel.
    created = notion.calls_to(r"^/v1/pages$")[0].request.json()
    links = [i["text"].get("link") for i in rich_text_items(created["children"])]
    assert {"url": CHANNEL_URL} in links

    document_link = firebell.engine.get(name).resource("document", plugin="notion")
    assert document_link is not None
    assert document_link.external_id == page_id
    assert document_link.url == notion.page(page_id)["url"]
    assert document_link.title == "Post-mortem"
    # Made with the channel in it: the channel's link asks Notion for nothing more (Notion's 3
    # requests a second make each one count).
    assert [c.request.method for c in notion.calls_to(rf"^/v1/(pages|blocks)/{page_id}")] == []


def test_the_page_is_made_in_the_data_source_resolved_once_per_process(
    open_with: Any, notion: FakeNotion
) -> None:
    firebell = open_with(document(notion))
    for title in ("Checkout is down", "Search is slow", "Login fails"):
        declare(firebell, title=title)
    firebell.deliverer.drain()

    assert len(notion.pages) == 3
    assert len(notion.calls_to(r"^/v1/databases/")) == 1
    assert len(notion.calls_to(rf"^/v1/data_sources/{NOTION_DATA_SOURCE_ID}$")) == 1
    parents = [c.request.json()["parent"] for c in notion.calls_to(r"^/v1/pages$")]
    assert parents == [{"type": "data_source_id", "data_source_id": NOTION_DATA_SOURCE_ID}] * 3


def test_without_slack_the_page_says_there_is_no_channel(
    open_with: Any, notion: FakeNotion
) -> None:
    firebell = open_with(document(notion, slack=False))
    declare(firebell)
    firebell.deliverer.drain()

    page_id = the_page(notion)
    assert notion.page_properties(page_id)["Slack channel"] is None
    description = section(notion.page_blocks(page_id), "1. Incident description")
    assert "Slack channel: none (declared without Slack)" in [b.text for b in description]


def test_a_delivery_repeated_after_the_link_was_recorded_creates_nothing(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion, slack=False))
    name = declare(firebell)
    firebell.deliverer.drain()
    calls = len(notion.calls)

    redeliver(firebell, clock, "notion", name, "incident.created")

    assert len(notion.pages) == 1
    assert len(notion.calls) == calls  # it looked at incident.resources, not at Notion


def test_a_crash_between_create_and_record_finds_the_page_instead_of_making_another(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion, slack=False))
    name = declare(firebell)

    # The process makes the page, then dies before the delivery and its link are recorded.
    deliver_and_die(firebell, clock, "notion")
    assert len(notion.pages) == 1
    assert firebell.engine.get(name).resource("document") is None

    firebell.deliverer.drain()  # the delivery runs again (attempt 2)

    page_id = the_page(notion)
    assert len(notion.calls_to(r"^/v1/pages$")) == 1
    link = firebell.engine.get(name).resource("document", plugin="notion")
    assert link is not None
    assert link.external_id == page_id


def test_a_5000_character_description_is_split_into_rich_text_of_2000_at_most(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    # The engine takes 3000 characters; a log written with a larger limit (or imported) may hold
    # more, so the plugin must not rely on the engine's limit.
    description = ("Payments time out 😀 " * 250)[:5000]
    firebell = open_with(document(notion, slack=False))
    created = IncidentCreated(
        "20260601-long-story", "Checkout is down", description, "SEV1", "U0REPORTER"
    )
    firebell.store.insert_events(
        created.name,
        [created],
        actor="U0REPORTER",
        occurred_at=clock(),
        expected_version=0,
        subscribers=firebell.engine.subscribers,
    )
    firebell.deliverer.drain()

    page_id = the_page(notion)
    body = notion.calls_to(r"^/v1/pages$")[0].request.json()
    pieces = [item["text"]["content"] for item in rich_text_items(body)]
    assert pieces and all(utf16_length(piece) <= 2000 for piece in pieces)
    paragraphs = section(notion.page_blocks(page_id), "1. Incident description")
    assert description in [b.text for b in paragraphs]
    assert sum(1 for p in pieces if p in description) >= 3


def test_a_description_at_the_engine_limit_fits(open_with: Any, notion: FakeNotion) -> None:
    description = "x" * 1999 + "😀" + "y" * 1000  # the emoji straddles the 2000 boundary
    firebell = open_with(document(notion, slack=False))
    declare(firebell, description=description)
    firebell.deliverer.drain()

    paragraphs = section(notion.page_blocks(the_page(notion)), "1. Incident description")
    assert description in [b.text for b in paragraphs]


# -- resource_linked ---------------------------------------------------------------------------


def test_a_pager_incident_linked_after_the_page_sets_the_pagerduty_property(
    open_with: Any, notion: FakeNotion
) -> None:
    firebell = open_with(document(notion), pager=True)
    declare(firebell)
    firebell.deliverer.drain()

    page_id = the_page(notion)
    properties = notion.page_properties(page_id)
    assert properties["PagerDuty"] == PAGER_URL
    assert properties["Slack channel"] == CHANNEL_URL


# -- resolved ----------------------------------------------------------------------------------


def run_incident(firebell: Firebell, clock: Clock) -> str:
    """Declare, page, change severity, assign a commander, post an update, resolve."""
    name = declare(firebell)
    firebell.deliverer.drain()
    respond_and_resolve(firebell, clock, name)
    return name


def respond(firebell: Firebell, clock: Clock, name: str) -> None:
    """What the responders do after the declaration, before the resolve."""
    clock.advance(minutes=3)
    firebell.engine.change_severity(name, "SEV0", actor="U0ALICE")
    clock.advance(minutes=1)
    firebell.engine.assign_commander(name, "U0BOB", actor="U0ALICE")
    clock.advance(minutes=10)
    firebell.engine.post_update(name, "Rolled back the deploy.", actor="U0BOB")


def resolve(firebell: Firebell, clock: Clock, name: str) -> None:
    """The resolve, 44.5 minutes after the declaration when it follows :func:`respond`."""
    clock.advance(minutes=30, seconds=30)
    firebell.engine.resolve(name, actor="U0BOB", summary="Error rates are back to normal.")
    firebell.deliverer.drain()


def respond_and_resolve(firebell: Firebell, clock: Clock, name: str) -> None:
    """What the responders do after the declaration, up to the resolve."""
    respond(firebell, clock, name)
    resolve(firebell, clock, name)


def test_resolve_fills_the_timeline_in_order_with_utc_times_and_actors(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion), pager=True)
    name = run_incident(firebell, clock)

    page_id = the_page(notion)
    assert bullets(notion, page_id) == [
        "2026-06-01 14:02:00 UTC — Declared as SEV1: Checkout is down — U0REPORTER",
        f"2026-06-01 14:02:00 UTC — Incident channel #incd-{name} opened — plugin:slack",
        "2026-06-01 14:02:00 UTC — Paged on-call: PT4KHLK — plugin:pagerduty",
        "2026-06-01 14:05:00 UTC — Severity changed from SEV1 to SEV0 — U0ALICE",
        "2026-06-01 14:06:00 UTC — U0BOB became incident commander — U0ALICE",
        "2026-06-01 14:16:00 UTC — Status update: Rolled back the deploy. — U0BOB",
        "2026-06-01 14:46:30 UTC — Resolved: Error rates are back to normal. — U0BOB",
    ]
    timeline = section(notion.page_blocks(page_id), "2. Timeline")
    assert PLACEHOLDER not in [b.text for b in timeline]
    properties = notion.page_properties(page_id)
    assert properties["Status"] == "Resolved"
    assert properties["Duration (minutes)"] == 44.5
    # The other sections are left as they were.
    blocks = notion.page_blocks(page_id)
    assert [b.text for b in blocks if b.type == "heading_2"] == HEADINGS
    assert [b.type for b in section(blocks, "4. Mitigation tasks")] == ["to_do"]


def test_a_failure_then_success_is_retried_and_shows_in_the_timeline(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion, slack=False))
    notion.fail_next(r"^/v1/pages$", notion_fault(500, "internal_server_error"))
    name = declare(firebell)
    firebell.deliverer.drain()

    page_id = the_page(notion)
    assert [c.status for c in notion.calls_to(r"^/v1/pages$")] == [500, 200]
    clock.advance(minutes=5)
    firebell.engine.resolve(name, actor="U0BOB")
    firebell.deliverer.drain()

    lines = bullets(notion, page_id)
    assert len(lines) == 4
    assert lines[1].startswith(
        "2026-06-01 14:02:00 UTC — notion failed on incident.created (retrying): RetryLater: "
        "Notion failed to create the post-mortem page (500 internal_server_error)"
    )
    assert lines[1].endswith("— plugin:notion")
    assert (
        lines[2]
        == "2026-06-01 14:02:00 UTC — notion works again (after 2 attempts) — plugin:notion"
    )
    assert lines[3] == "2026-06-01 14:07:00 UTC — Resolved — U0BOB"


def test_notions_error_repeating_the_token_is_logged_without_it(
    open_with: Any, notion: FakeNotion, caplog: pytest.LogCaptureFixture
) -> None:
    firebell = open_with(document(notion, slack=False))
    said = f"Token {NOTION_TOKEN} hit an internal error."
    notion.fail_next(r"^/v1/pages$", notion_fault(500, "internal_server_error", said))
    declare(firebell)
    firebell.deliverer.drain()

    assert "Token <NOTION_TOKEN> hit an internal error." in caplog.text  # notion_client's warning
    assert NOTION_TOKEN not in caplog.text
    assert [c.status for c in notion.calls_to(r"^/v1/pages$")] == [500, 200]


def test_a_retried_resolve_replaces_the_timeline_instead_of_adding_it_twice(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion))
    name = declare(firebell)
    respond(firebell, clock, name)
    firebell.deliverer.drain()
    before = len(notion.calls_to(r"/children$"))
    # Setting the status after the timeline fails once: the whole delivery runs again.
    notion.fail_next(r"^/v1/pages/[0-9a-f-]+$", notion_fault(503, "service_unavailable"))
    resolve(firebell, clock, name)

    page_id = the_page(notion)
    lines = bullets(notion, page_id)
    assert len(lines) == 6
    assert len(set(lines)) == len(lines)
    assert notion.page_properties(page_id)["Status"] == "Resolved"
    assert [c.status for c in notion.calls_to(r"^/v1/pages/[0-9a-f-]+$")][-2:] == [503, 200]
    # The second run found the bullets already there and wrote nothing more.
    children = [c.request.method for c in notion.calls_to(r"/children$")][before:]
    assert children == ["GET", "PATCH", "GET"]


def test_reopen_and_resolve_again_extend_the_timeline_and_keep_peoples_notes(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion))
    name = run_incident(firebell, clock)
    page_id = the_page(notion)
    heading = next(b for b in notion.page_blocks(page_id) if b.text == "2. Timeline")
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    client.blocks.children.append(
        page_id,
        after=heading.id,
        children=[
            {
                "type": "paragraph",
                "paragraph": {"rich_text": [{"text": {"content": "Ana: the alert fired late."}}]},
            }
        ],
    )

    clock.advance(minutes=5)
    firebell.engine.reopen(name, actor="U0ALICE", reason="Errors are back.")
    firebell.deliverer.drain()
    assert notion.page_properties(page_id)["Status"] == "Open"
    clock.advance(minutes=5)
    firebell.engine.resolve(name, actor="U0ALICE")
    firebell.deliverer.drain()

    lines = bullets(notion, page_id)
    assert len(lines) == 8
    assert len(set(lines)) == 8
    assert lines[-2:] == [
        "2026-06-01 14:51:30 UTC — Reopened: Errors are back. — U0ALICE",
        "2026-06-01 14:56:30 UTC — Resolved — U0ALICE",
    ]
    timeline = section(notion.page_blocks(page_id), "2. Timeline")
    assert "Ana: the alert fired late." in [b.text for b in timeline]
    assert notion.page_properties(page_id)["Duration (minutes)"] == 54.5
    # Only the two new lines were written the second time.
    appended = [
        c.request.json() for c in notion.calls_to(r"/children$") if c.request.method == "PATCH"
    ]
    assert [len(body["children"]) for body in appended] == [6, 1, 2]

    firebell.engine.close(name, actor="U0ALICE")
    firebell.deliverer.drain()
    assert notion.page_properties(page_id)["Status"] == "Closed"


def test_lines_that_no_longer_match_the_log_are_rewritten_in_place(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion))
    name = run_incident(firebell, clock)
    page_id = the_page(notion)
    before = bullets(notion, page_id)
    # A line Firebell wrote was changed (by hand, or by an older Firebell's wording).
    third = [b for b in notion.page_blocks(page_id) if b.type == "bulleted_list_item"][2]
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    client.blocks.update(
        third.id, bulleted_list_item={"rich_text": [{"text": {"content": "paged someone"}}]}
    )

    firebell.engine.reopen(name, actor="U0ALICE")
    firebell.engine.resolve(name, actor="U0ALICE")
    firebell.deliverer.drain()

    after = bullets(notion, page_id)
    assert after[: len(before)] == before
    assert [line.split(" — ")[1] for line in after[len(before) :]] == ["Reopened", "Resolved"]
    assert "paged someone" not in after


def test_a_long_history_is_appended_in_chunks_of_100_blocks(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion, slack=False))
    name = declare(firebell)
    for number in range(1, 231):
        clock.advance(seconds=10)
        firebell.engine.post_update(name, f"Update {number}", actor="U0BOB")
    firebell.engine.resolve(name, actor="U0BOB")
    firebell.deliverer.drain()

    page_id = the_page(notion)
    lines = bullets(notion, page_id)
    assert len(lines) == 232
    assert lines[0].endswith("Declared as SEV1: Checkout is down — U0REPORTER")
    assert [line.split(" — ")[1] for line in lines[1:-1]] == [
        f"Status update: Update {n}" for n in range(1, 231)
    ]
    assert lines[-1].endswith("Resolved — U0BOB")
    appended = [
        c.request.json() for c in notion.calls_to(r"/children$") if c.request.method == "PATCH"
    ]
    assert [len(body["children"]) for body in appended] == [100, 100, 32]
    # Each chunk goes after the last block of the chunk before.
    assert all("after" in body for body in appended)


def test_a_page_missing_at_resolve_is_made_then(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion, slack=False), environ={"NOTION_TOKEN": "ntn_wrong"})
    name = declare(firebell)
    firebell.deliverer.drain()  # parked: the token is wrong
    assert notion.pages == []
    notion.tokens.add("ntn_wrong")  # the integration's token is fixed in Notion

    firebell.engine.resolve(name, actor="U0BOB")
    firebell.deliverer.drain()

    page_id = the_page(notion)
    link = firebell.engine.get(name).resource("document", plugin="notion")
    assert link is not None
    assert link.external_id == page_id
    assert bullets(notion, page_id)[-1].endswith("Resolved — U0BOB")


# -- vendor errors -----------------------------------------------------------------------------


def test_a_wrong_token_is_parked_with_a_message_that_says_what_to_fix(
    open_with: Any, notion: FakeNotion
) -> None:
    secret = "ntn_this_is_not_the_token"
    firebell = open_with(document(notion, slack=False), environ={"NOTION_TOKEN": secret})
    name = declare(firebell)
    firebell.deliverer.drain()

    error = last_error(firebell)
    assert "401" in error
    assert "Set NOTION_TOKEN to the integration's Internal Integration Secret" in error
    assert secret not in error
    failed = [
        e.data for e in firebell.store.select_events(name) if isinstance(e.data, IntegrationFailed)
    ]
    assert [(f.plugin, f.will_retry) for f in failed] == [("notion", False)]
    assert secret not in failed[0].error
    assert notion.pages == []


def test_a_database_not_shared_with_the_integration_says_to_share_it(
    open_with: Any, notion: FakeNotion
) -> None:
    unshared = "5a3a9f0c-2f3b-4b8e-9d0a-7b7c2b1e6f10"
    firebell = open_with(document(notion, slack=False, database_id=unshared))
    declare(firebell)
    firebell.deliverer.drain()

    error = last_error(firebell)
    assert "404 object_not_found" in error
    assert "share the database with the integration" in error
    assert unshared in error


def test_a_post_mortem_page_gone_from_notion_is_named(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    firebell = open_with(document(notion, slack=False))
    name = declare(firebell)
    firebell.deliverer.drain()
    page_id = the_page(notion)
    notion.fail_next(r"/children$", notion_fault(404, "object_not_found"))
    firebell.engine.resolve(name, actor="U0BOB")
    firebell.deliverer.drain()

    error = last_error(firebell)
    assert f"Notion cannot find the post-mortem page {page_id}" in error
    assert "Restore it from Notion's trash" in error


def test_a_missing_capability_is_parked(open_with: Any, notion: FakeNotion) -> None:
    notion.fail_next(r"^/v1/pages$", notion_fault(403, "restricted_resource"))
    firebell = open_with(document(notion, slack=False))
    declare(firebell)
    firebell.deliverer.drain()

    assert "Insert content capabilities" in last_error(firebell)


def test_a_rate_limited_request_waits_for_retry_after(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    notion.fail_next(
        r"^/v1/pages$", notion_fault(429, "rate_limited", headers={"Retry-After": "30"})
    )
    firebell = open_with(document(notion, slack=False))
    declare(firebell)
    firebell.deliverer.drain()
    assert notion.pages == []
    backlog = firebell.deliverer.outbox.backlog()["notion"]
    assert backlog.failed == 0
    assert backlog.last_error is not None and "retrying in 30 s" in backlog.last_error

    clock.advance(seconds=29)
    assert firebell.deliverer.drain() == 0  # not due yet
    clock.advance(seconds=1)
    firebell.deliverer.drain()
    the_page(notion)


@pytest.mark.parametrize(
    ("fault", "options", "message"),
    [
        (Fault(drop=True), {}, "Could not reach Notion at"),
        (Fault(delay=0.6), {"timeout_seconds": 0.2}, "Notion did not answer within 0.2 s"),
        (Fault(status=200, raw=b"<html>oops"), {}, "malformed JSON"),
        (Fault(status=502, raw=b"<html>Bad gateway</html>"), {}, "answered 502"),
        (notion_fault(409, "conflict_error"), {}, "409 conflict_error"),
    ],
    ids=["connection-dropped", "timeout", "malformed-json", "gateway-html", "conflict"],
)
def test_transient_failures_are_retried(
    open_with: Any, notion: FakeNotion, fault: Fault, options: dict[str, Any], message: str
) -> None:
    # A first attempt creates the page without looking (nothing earlier can exist), so the
    # creation is what fails; the retry (attempt 2) looks first, and a page the failed call made
    # after all is found, not made twice.
    notion.fail_next(r"^/v1/pages$", fault)
    firebell = open_with(document(notion, slack=False, **options))
    name = declare(firebell)
    firebell.deliverer.drain()

    the_page(notion)
    assert len(notion.calls_to(r"^/v1/data_sources/.*/query$")) == 1  # only the retry looked
    failed = [
        e.data for e in firebell.store.select_events(name) if isinstance(e.data, IntegrationFailed)
    ]
    assert len(failed) == 1
    assert message in failed[0].error
    assert failed[0].will_retry


def test_stays_under_notions_rate_limit(make_firebell: MakeFirebell, clock: Clock) -> None:
    with FakeNotion(requests_per_second=3) as notion:
        doc = document(notion, slack=False)
        del doc["plugins"]["notion"]["requests_per_second"]  # the default, 3
        firebell = make_firebell(doc, environ=ENVIRON, clock=clock, retry_base=0.0)
        name = declare(firebell)
        firebell.engine.resolve(name, actor="U0BOB")
        firebell.engine.reopen(name, actor="U0BOB")  # a first attempt no longer looks first
        firebell.deliverer.drain()

        assert len(notion.calls) >= 8
        assert [c.status for c in notion.calls if c.status != 200] == []
        the_page(notion)


# -- the database's properties -----------------------------------------------------------------

OTHER_DATABASE = "8f0b4a52-1c3e-4d5f-9a6b-7c8d9e0f1a2b"
OTHER_SOURCE = "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"


def test_a_database_without_the_incident_property_is_reported(
    open_with: Any, notion: FakeNotion
) -> None:
    schema = {k: v for k, v in POSTMORTEM_SCHEMA.items() if k != "Incident"}
    notion.add_database(OTHER_DATABASE, OTHER_SOURCE, schema)
    firebell = open_with(document(notion, slack=False, database_id=OTHER_DATABASE))
    declare(firebell)
    firebell.deliverer.drain()

    assert "add a Text property called 'Incident'" in last_error(firebell)
    assert notion.pages == []


def test_optional_properties_the_database_lacks_are_left_out(
    open_with: Any, notion: FakeNotion, clock: Clock
) -> None:
    schema: dict[str, Any] = {
        "Incident name": {"title": {}},
        "Status": {"select": {"options": []}},
        "Slack channel": "rich_text",
        "Incident": "rich_text",
    }
    notion.add_database(OTHER_DATABASE, OTHER_SOURCE, schema)
    firebell = open_with(
        document(
            notion, database_id=OTHER_DATABASE, properties={"name": "Incident name", "pager": ""}
        )
    )
    name = declare(firebell)
    firebell.deliverer.drain()
    firebell.engine.resolve(name, actor="U0BOB")
    firebell.deliverer.drain()

    page_id = the_page(notion)
    assert notion.page_properties(page_id) == {
        "Incident name": name,
        "Status": "Resolved",  # a Select here, not a Status property
        "Slack channel": CHANNEL_URL,  # a Text property, with the URL as a link
        "Incident": name,
    }
    config = firebell.host.enabled["notion"].config
    problems = check(config)
    assert any("no property 'Title'" in p for p in problems)
    assert any("no property 'Duration (minutes)'" in p for p in problems)
    assert not any("PagerDuty" in p for p in problems)  # switched off with ""


def test_a_status_option_that_does_not_exist_is_reported(
    open_with: Any, notion: FakeNotion
) -> None:
    firebell = open_with(document(notion, slack=False, status_values={"closed": "Done"}))
    declare(firebell)
    firebell.deliverer.drain()

    error = last_error(firebell)
    assert "has no option 'Done' (status_values.closed)" in error
    assert "'Open', 'Resolved', 'Closed'" in error


# -- check (for firebell doctor) ---------------------------------------------------------------


def config_for(notion: FakeNotion, token: str = NOTION_TOKEN, **options: Any) -> NotionConfig:
    return NotionConfig(
        token=Secret("NOTION_TOKEN", token),
        database_id=options.pop("database_id", NOTION_DATABASE_ID),
        api_url=notion.url,
        **options,
    )


def test_check_passes_for_the_default_database(notion: FakeNotion) -> None:
    assert check(config_for(notion)) == []
    assert len(notion.calls_to(r"^/v1/data_sources/")) == 1


def test_check_reports_a_wrong_token_without_showing_it(notion: FakeNotion) -> None:
    problems = check(config_for(notion, token="ntn_not_it"))
    assert len(problems) == 1
    assert "401" in problems[0] and "NOTION_TOKEN" in problems[0]
    assert "ntn_not_it" not in problems[0]


def test_check_reports_an_unreachable_api(notion: FakeNotion) -> None:
    with notion.down():
        problems = check(config_for(notion))
    assert len(problems) == 1
    assert "Could not reach Notion" in problems[0]


# -- redelivery helpers ------------------------------------------------------------------------


def deliver_and_die(firebell: Firebell, clock: Clock, plugin: str) -> None:
    """Run ``plugin``'s next delivery like the worker does, but die before recording it."""
    outbox = firebell.deliverer.outbox
    claims = outbox.claim(
        owner="crashed-process",
        now=clock(),
        lease=timedelta(minutes=5),
        dependencies=firebell.host.dependencies(),
        limit=1,
        plugins=[plugin],
    )
    assert len(claims) == 1
    claim = claims[0]
    event = outbox.load_event(claim.position)
    arguments = {
        "event": event,
        "incident": firebell.store.get_incident(claim.incident_id),
        "settings": firebell.settings,
        "attempt": claim.attempt,
    }
    lazy = {"history": lambda: firebell.store.select_events(claim.incident_id)}
    firebell.host.call(plugin, hook_name_for(claim.event_type), arguments, lazy)
    # ... and the process is killed here; at start-up its leases are released.
    outbox.release_leases(["crashed-process"])


def redeliver(firebell: Firebell, clock: Clock, plugin: str, name: str, event_type: str) -> None:
    """Call ``plugin``'s hook again for an event it already handled (a duplicate delivery)."""
    event = next(e for e in firebell.store.select_events(name) if e.type == event_type)
    arguments = {
        "event": event,
        "incident": firebell.engine.get(name),
        "settings": firebell.settings,
        "attempt": 2,
    }
    lazy = {"history": lambda: firebell.store.select_events(name)}
    links = firebell.host.call(plugin, hook_name_for(event_type), arguments, lazy)
    assert links == []
