"""The post-mortems get the merged timeline and the follow-ups: the markdown file (markers in
sections 2 and 4) and the Notion page (bullets and to-dos, with the real notion_client against
the fake Notion)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import attrs
import notion_client
import pytest
from firebell.core import Firebell, FollowUp
from firebell.core.timeline_commands import (
    add_follow_up,
    add_note,
    add_timeline_entry,
    complete_follow_up,
    remove_timeline_entry,
)
from firebell.core.timeline_events import TimelineEntryAdded
from firebell.plugins.markdown import FOLLOW_UPS_START, replace_follow_ups
from postmortem_support import (
    CHANNEL,
    PERMALINK,
    blocks_under,
    markdown_firebell,
    notion_document,
    section_text,
)
from timeline_support import Clock

from firebell.testing import check_plugin_contract
from firebell.testing.fake_notion import NOTION_TOKEN, FakeNotion
from firebell.testing.pytest_plugin import MakeFirebell


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pin(firebell: Firebell, name: str, text: str, posted_at: datetime, ts: str) -> None:
    add_timeline_entry(
        firebell.engine,
        name,
        actor="U0PINNER",
        author="U0ANA",
        text=text,
        channel_id=CHANNEL,
        message_ts=ts,
        permalink=PERMALINK,
        posted_at=posted_at,
    )


def run_incident(firebell: Firebell, clock: Clock) -> str:
    """Declared 14:02, an update at 14:10, a message from 14:05 pinned at 14:20, one pinned and
    unpinned, a note at 14:25, resolved at 14:30, two follow-ups (one done) afterwards."""
    declared = clock()
    name = firebell.engine.declare(
        title="Checkout is down", reporter="U0REPORTER", severity="SEV1"
    ).incident.id
    firebell.deliverer.drain()
    clock.set(declared + timedelta(minutes=8))
    firebell.engine.post_update(name, "Rolled back", actor="U0BEN")
    clock.set(declared + timedelta(minutes=18))
    pin(
        firebell,
        name,
        "502s from the card gateway",
        declared + timedelta(minutes=3),
        "1780000000.000100",
    )
    pin(firebell, name, "pinned by mistake", declared + timedelta(minutes=4), "1780000000.000200")
    remove_timeline_entry(
        firebell.engine, name, actor="U0PINNER", channel_id=CHANNEL, message_ts="1780000000.000200"
    )
    clock.set(declared + timedelta(minutes=23))
    add_note(firebell.engine, name, "Error rate under 1%", actor="U0BEN")
    firebell.deliverer.drain()
    clock.set(declared + timedelta(minutes=28))
    firebell.engine.resolve(name, actor="U0BEN", summary="Gateway fixed")
    firebell.deliverer.drain()
    clock.advance(hours=20)
    add_follow_up(firebell.engine, name, "Alert on gateway 502s", actor="U0BEN", owner="U0ANA")
    add_follow_up(firebell.engine, name, "Runbook <for> failover", actor="U0BEN")
    complete_follow_up(firebell.engine, name, 1, actor="U0ANA")
    firebell.deliverer.drain()
    return name


def work_on_follow_ups_after_the_close(firebell: Firebell, clock: Clock) -> str:
    """:func:`run_incident`, closed after the post-mortem meeting; two weeks later follow-up #2
    is done and a new one is agreed (everything delivered)."""
    name = run_incident(firebell, clock)
    firebell.engine.close(name, actor="U0BEN")
    firebell.deliverer.drain()
    clock.advance(days=14)
    complete_follow_up(firebell.engine, name, 2, actor="U0BEN")
    add_follow_up(firebell.engine, name, "Chaos-test the gateway", actor="U0BEN", owner="U0ANA")
    firebell.deliverer.drain()
    return name


# -- markdown ------------------------------------------------------------------------------------------


@pytest.fixture
def markdown(make_firebell: MakeFirebell, clock: Clock, tmp_path: Path) -> Firebell:
    return markdown_firebell(make_firebell, clock, tmp_path / "pm")


def test_the_markdown_post_mortem_has_the_merged_timeline_and_the_follow_ups(
    markdown: Firebell, clock: Clock, tmp_path: Path
) -> None:
    name = run_incident(markdown, clock)

    document = (tmp_path / "pm" / f"{name}.md").read_text()

    timeline = section_text(document, "2. Timeline")
    lines = [line for line in timeline.splitlines() if line.startswith("- **")]
    assert lines == [
        "- **2026-06-01 14:02:00 UTC** — Declared as SEV1: Checkout is down (U0REPORTER)",
        "- **2026-06-01 14:02:00 UTC** — slack linked #incd https://example.slack.com/archives/C0INCIDENT (plugin:slack)",
        f"- **2026-06-01 14:02:00 UTC** — markdown linked Post-mortem (Markdown) {(tmp_path / 'pm' / (name + '.md')).resolve().as_uri()} (plugin:markdown)",
        f"- **2026-06-01 14:05:00 UTC** — [502s from the card gateway](<{PERMALINK}>) (U0ANA)",
        "- **2026-06-01 14:10:00 UTC** — Update: Rolled back (U0BEN)",
        "- **2026-06-01 14:25:00 UTC** — Note: Error rate under 1% (U0BEN)",
        "- **2026-06-01 14:30:00 UTC** — Resolved: Gateway fixed (U0BEN)",
    ]
    assert "pinned by mistake" not in document
    mitigation = section_text(document, "4. Mitigation tasks")
    assert "- [x] Alert on gateway 502s — U0ANA" in mitigation
    assert "- [ ] Runbook &lt;for> failover" in mitigation


def test_follow_ups_done_and_added_after_the_close_reach_the_markdown_section_4(
    markdown: Firebell, clock: Clock, tmp_path: Path
) -> None:
    name = work_on_follow_ups_after_the_close(markdown, clock)

    document = (tmp_path / "pm" / f"{name}.md").read_text()
    mitigation = section_text(document, "4. Mitigation tasks").splitlines()
    assert [line for line in mitigation if line.startswith("- [")] == [
        "- [x] Alert on gateway 502s — U0ANA",
        "- [x] Runbook &lt;for> failover",
        "- [ ] Chaos-test the gateway — U0ANA",
    ]
    timeline = section_text(document, "2. Timeline").splitlines()
    assert [line for line in timeline if line.startswith("- **")][-1].endswith(
        "— Closed (U0BEN)"
    ), "the timeline ends with the close"


def test_hand_written_parts_stay_and_each_entry_updates_the_file(
    markdown: Firebell, clock: Clock, tmp_path: Path
) -> None:
    name = markdown.engine.declare(title="Search is slow", reporter="U0A").incident.id
    markdown.deliverer.drain()
    path = tmp_path / "pm" / f"{name}.md"
    path.write_text(
        path.read_text()
        .replace(
            "_What caused it, and why our defences did not catch it._", "An index was dropped."
        )
        .replace(FOLLOW_UPS_START, "- [ ] Written by hand — Ana\n" + FOLLOW_UPS_START)
    )

    add_note(markdown.engine, name, "Recreated the index", actor="U0A")
    markdown.deliverer.drain()
    after_note = path.read_text()
    add_follow_up(markdown.engine, name, "Protect the index", actor="U0A")
    markdown.deliverer.drain()

    document = path.read_text()
    assert "Note: Recreated the index (U0A)" in after_note, (
        "refreshed on the note, before any resolve"
    )
    assert "An index was dropped." in document
    assert "- [ ] Written by hand — Ana" in document
    assert "- [ ] Protect the index" in document
    assert "_No follow-ups yet" not in document


def test_a_document_from_before_follow_ups_gets_them_under_its_heading() -> None:
    old = "# Post-mortem\n\n## 4. Mitigation tasks\n\n- [ ] _Task — owner_\n"
    no_heading = "# Post-mortem\n\nNotes.\n"
    task = FollowUp(1, "Alert earlier", "U0ANA", Clock()(), "U0A")

    updated = replace_follow_ups(old, [task])
    assert updated.index("- [ ] Alert earlier — U0ANA") < updated.index("- [ ] _Task — owner_")
    assert replace_follow_ups(updated, [task]) == updated, "markers found the second time"
    appended = replace_follow_ups(no_heading, [task])
    assert appended.endswith(
        "## Follow-ups (from Firebell)\n\n"
        + FOLLOW_UPS_START
        + "\n- [ ] Alert earlier — U0ANA\n<!-- firebell:followups:end -->\n"
    )


def test_the_markdown_plugin_keeps_the_contract_with_the_record(tmp_path: Path) -> None:
    folder = tmp_path / "pm"
    report = check_plugin_contract(
        "markdown",
        table={"folder": str(folder)},
        count_effects=lambda: sorted((p.name, p.read_text()) for p in folder.glob("*.md")),
        directory=tmp_path,
    )
    assert {
        "firebell_timeline_entry_added",
        "firebell_timeline_entry_removed",
        "firebell_followup_added",
        "firebell_followup_done",
    } <= set(report.hooks)


# -- Notion --------------------------------------------------------------------------------------------


def test_the_notion_page_gets_the_merged_timeline_and_follow_up_to_dos(
    with_notion: Firebell, notion: FakeNotion, clock: Clock
) -> None:
    run_incident(with_notion, clock)

    bullets = [
        b.text for b in blocks_under(notion, "2. Timeline") if b.type == "bulleted_list_item"
    ]
    assert bullets == [
        "2026-06-01 14:02:00 UTC — Declared as SEV1: Checkout is down — U0REPORTER",
        "2026-06-01 14:02:00 UTC — Incident channel #incd opened — plugin:slack",
        "2026-06-01 14:05:00 UTC — 502s from the card gateway — U0ANA",
        "2026-06-01 14:10:00 UTC — Status update: Rolled back — U0BEN",
        "2026-06-01 14:25:00 UTC — Note: Error rate under 1% — U0BEN",
        "2026-06-01 14:30:00 UTC — Resolved: Gateway fixed — U0BEN",
    ]
    to_dos = [(b.text, b.checked) for b in blocks_under(notion, "4. Mitigation tasks")]
    assert to_dos == [("Alert on gateway 502s — U0ANA", True), ("Runbook <for> failover", False)]


def test_follow_ups_done_and_added_after_the_close_reach_the_notion_to_dos(
    with_notion: Firebell, notion: FakeNotion, clock: Clock
) -> None:
    work_on_follow_ups_after_the_close(with_notion, clock)

    to_dos = [(b.text, b.checked) for b in blocks_under(notion, "4. Mitigation tasks")]
    assert to_dos == [
        ("Alert on gateway 502s — U0ANA", True),
        ("Runbook <for> failover", True),
        ("Chaos-test the gateway — U0ANA", False),
    ]
    assert notion.page_properties(str(notion.pages[0]["id"]))["Status"] == "Closed"


def test_an_entry_marked_after_the_resolve_reaches_the_notion_timeline(
    with_notion: Firebell, notion: FakeNotion, clock: Clock
) -> None:
    name = run_incident(with_notion, clock)
    pin(
        with_notion,
        name,
        "found in the logs later",
        datetime.fromisoformat("2026-06-01T14:15:00+00:00"),
        "1780000000.000300",
    )
    with_notion.deliverer.drain()

    bullets = [
        b.text for b in blocks_under(notion, "2. Timeline") if b.type == "bulleted_list_item"
    ]
    assert bullets[4] == "2026-06-01 14:15:00 UTC — found in the logs later — U0ANA"
    assert len(bullets) == 7


def test_an_entry_settled_after_the_close_reaches_the_notion_timeline(
    with_notion: Firebell, notion: FakeNotion, clock: Clock
) -> None:
    """The Slack adapter replaces a marked message's placeholder even after the close (its text
    came late, or could not be read): the page follows."""
    name = run_incident(with_notion, clock)
    pin(
        with_notion,
        name,
        "(not read yet)",
        datetime.fromisoformat("2026-06-01T14:15:00+00:00"),
        "1780000000.000300",
    )
    with_notion.engine.close(name, actor="U0BEN")
    with_notion.deliverer.drain()
    [added] = [
        e.data
        for e in with_notion.store.select_events(name)
        if isinstance(e.data, TimelineEntryAdded) and e.data.text == "(not read yet)"
    ]
    with_notion.engine.append(
        name,
        lambda _incident: [attrs.evolve(added, text="found in the logs later")],
        actor="U0PINNER",
    )
    with_notion.deliverer.drain()

    bullets = [
        b.text for b in blocks_under(notion, "2. Timeline") if b.type == "bulleted_list_item"
    ]
    assert bullets[4] == "2026-06-01 14:15:00 UTC — found in the logs later — U0ANA"
    assert not any("not read yet" in bullet for bullet in bullets)


def test_notion_to_dos_keep_what_people_did_and_are_written_once(
    with_notion: Firebell, notion: FakeNotion, clock: Clock
) -> None:
    name = with_notion.engine.declare(title="Search is slow", reporter="U0A").incident.id
    with_notion.deliverer.drain()
    add_follow_up(with_notion.engine, name, "Protect the index", actor="U0A")
    with_notion.deliverer.drain()
    [ours] = blocks_under(notion, "4. Mitigation tasks")
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    # A person ticks it in Notion, and writes a to-do of their own.
    client.blocks.update(
        ours.id, to_do={"rich_text": [{"text": {"content": "Protect the index"}}], "checked": True}
    )
    client.blocks.children.append(
        str(notion.pages[0]["id"]),
        after=ours.id,
        children=[{"type": "to_do", "to_do": {"rich_text": [{"text": {"content": "Mine"}}]}}],
    )

    add_follow_up(with_notion.engine, name, "Alert on slow queries", actor="U0A")
    with_notion.deliverer.drain()
    # The same event delivered again writes nothing more.
    event = with_notion.store.select_events(name)[-1]
    with_notion.host.call(
        "notion",
        "firebell_followup_added",
        {
            "event": event,
            "incident": with_notion.engine.get(name),
            "settings": with_notion.settings,
        },
        {"history": lambda: with_notion.store.select_events(name)},
    )

    to_dos = [(b.text, b.checked) for b in blocks_under(notion, "4. Mitigation tasks")]
    assert to_dos == [
        ("Protect the index", True),
        ("Mine", False),
        ("Alert on slow queries", False),
    ]


def test_the_notion_plugin_keeps_the_contract_with_the_record(
    notion: FakeNotion, tmp_path: Path
) -> None:
    def page_blocks() -> list[tuple[str, str, bool | None]]:
        return [
            (b.type, b.text, b.checked)
            for p in notion.pages
            for b in notion.page_blocks(str(p["id"]))
        ]

    report = check_plugin_contract(
        "notion",
        table=notion_document(notion)["plugins"]["notion"],
        environ={"NOTION_TOKEN": NOTION_TOKEN},
        count_effects=page_blocks,
        directory=tmp_path,
    )
    assert {
        "firebell_followup_added",
        "firebell_followup_done",
        "firebell_timeline_entry_added",
    } <= set(report.hooks)
