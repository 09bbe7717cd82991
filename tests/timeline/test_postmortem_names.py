"""The post-mortems name people: the reporter, who did what on the timeline, whose message was
marked, the commander and the follow-up owners show by the names the log recorded for them
(``person.named``), with no Slack to ask when the document is written. The Markdown file and the
Notion page (the real notion_client against the fake Notion)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from firebell.adapters.cli.timeline_command import timeline_json
from firebell.core import Firebell
from firebell.core.incident import replay
from firebell.core.timeline import incident_timeline
from firebell.core.timeline_commands import (
    add_follow_up,
    add_note,
    add_timeline_entry,
    complete_follow_up,
)
from firebell.plugins.markdown import render_skeleton
from firebell.plugins.notion.content import timeline_lines
from postmortem_support import (
    CHANNEL,
    PERMALINK,
    blocks_under,
    markdown_firebell,
    section_text,
)
from timeline_support import Clock

from firebell.testing.fake_notion import FakeNotion
from firebell.testing.pytest_plugin import MakeFirebell

NAMES = {
    "U0REPORTER": "Rita Reporter",
    "U0BEN": "Ben Okafor",
    "U0ANA": "Ana Lima",
    "U0PINNER": "Pia Pinner",
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


def named(*people: str) -> dict[str, str]:
    """The names the Slack adapter would pass for ``people``."""
    return {person: NAMES[person] for person in people}


def run_incident(firebell: Firebell, clock: Clock) -> str:
    """Declared 14:02 by Rita, an update by Ben, Ana's message pinned by Pia, Ben made
    commander, a note, resolved by Ben, a follow-up for Ana (done)."""
    engine = firebell.engine
    declared = clock()
    name = engine.declare(
        title="Checkout is down",
        reporter="U0REPORTER",
        severity="SEV1",
        names=named("U0REPORTER"),
    ).incident.id
    firebell.deliverer.drain()
    clock.set(declared + timedelta(minutes=8))
    engine.post_update(name, "Rolled back", actor="U0BEN", names=named("U0BEN"))
    clock.set(declared + timedelta(minutes=18))
    add_timeline_entry(
        engine,
        name,
        actor="U0PINNER",
        author="U0ANA",
        text="502s from the card gateway",
        channel_id=CHANNEL,
        message_ts="1780000000.000100",
        permalink=PERMALINK,
        posted_at=declared + timedelta(minutes=3),
        names=named("U0PINNER", "U0ANA"),
    )
    clock.set(declared + timedelta(minutes=20))
    engine.assign_commander(name, "U0BEN", actor="U0REPORTER", names=named("U0REPORTER", "U0BEN"))
    clock.set(declared + timedelta(minutes=23))
    add_note(engine, name, "Error rate under 1%", actor="U0BEN", names=named("U0BEN"))
    firebell.deliverer.drain()
    clock.set(declared + timedelta(minutes=28))
    engine.resolve(name, actor="U0BEN", summary="Gateway fixed", names=named("U0BEN"))
    firebell.deliverer.drain()
    clock.advance(hours=20)
    add_follow_up(
        engine,
        name,
        "Alert on gateway 502s",
        actor="U0BEN",
        owner="U0ANA",
        names=named("U0BEN", "U0ANA"),
    )
    complete_follow_up(engine, name, 1, actor="U0ANA", names=named("U0ANA"))
    firebell.deliverer.drain()
    return name


# -- markdown ------------------------------------------------------------------------------------------


@pytest.fixture
def markdown(make_firebell: MakeFirebell, clock: Clock, tmp_path: Path) -> Firebell:
    return markdown_firebell(make_firebell, clock, tmp_path / "pm")


def test_the_markdown_post_mortem_names_people(
    markdown: Firebell, clock: Clock, tmp_path: Path
) -> None:
    name = run_incident(markdown, clock)

    document = (tmp_path / "pm" / f"{name}.md").read_text()

    assert "declared 2026-06-01 14:02 UTC by Rita Reporter." in document
    timeline = section_text(document, "2. Timeline")
    lines = [
        line for line in timeline.splitlines() if line.startswith("- **") and "linked" not in line
    ]
    assert lines == [
        "- **2026-06-01 14:02:00 UTC** — Declared as SEV1: Checkout is down (Rita Reporter)",
        f"- **2026-06-01 14:05:00 UTC** — [502s from the card gateway](<{PERMALINK}>) (Ana Lima)",
        "- **2026-06-01 14:10:00 UTC** — Update: Rolled back (Ben Okafor)",
        "- **2026-06-01 14:22:00 UTC** — Ben Okafor is now the incident commander (Rita Reporter)",
        "- **2026-06-01 14:25:00 UTC** — Note: Error rate under 1% (Ben Okafor)",
        "- **2026-06-01 14:30:00 UTC** — Resolved: Gateway fixed (Ben Okafor)",
    ]
    assert "- [x] Alert on gateway 502s — Ana Lima" in section_text(document, "4. Mitigation tasks")
    for person in NAMES:
        assert person not in document


def test_the_names_come_from_the_log_alone(markdown: Firebell, clock: Clock) -> None:
    name = run_incident(markdown, clock)
    history = markdown.store.select_events(name)

    # What a post-mortem is made of, rebuilt from the log: the same names, no Slack asked.
    markdown.store.rebuild_read_model()
    incident = markdown.engine.get(name)
    assert incident.names == NAMES
    assert incident == replay(history)
    actors = {line.actor for line in incident_timeline(history)}
    assert {"Rita Reporter", "Ana Lima", "Ben Okafor"} <= actors
    assert "by Rita Reporter." in render_skeleton(incident, history)


def test_the_timeline_as_json_keeps_who_as_recorded_beside_the_name(
    markdown: Firebell, clock: Clock
) -> None:
    name = run_incident(markdown, clock)

    lines = [timeline_json(line) for line in incident_timeline(markdown.store.select_events(name))]

    people = {(line["actor"], line["actor_id"]) for line in lines}
    assert ("Ben Okafor", "U0BEN") in people
    assert ("Rita Reporter", "U0REPORTER") in people
    assert all(line["actor_id"] in NAMES or line["actor_id"] == line["actor"] for line in lines)


def test_people_without_a_recorded_name_show_as_given(markdown: Firebell, tmp_path: Path) -> None:
    name = markdown.engine.declare(title="Search is slow", reporter="cli:ana").incident.id
    add_follow_up(markdown.engine, name, "Protect the index", actor="cli:ana", owner="U0BEN")
    markdown.deliverer.drain()

    document = (tmp_path / "pm" / f"{name}.md").read_text()
    assert "by cli:ana." in document
    assert "- [ ] Protect the index — U0BEN" in document


# -- Notion --------------------------------------------------------------------------------------------


def test_the_notion_page_names_people(
    with_notion: Firebell, notion: FakeNotion, clock: Clock
) -> None:
    run_incident(with_notion, clock)

    [summary, *_] = [b.text for b in blocks_under(notion, "1. Incident description")]
    assert summary.endswith(
        "declared 2026-06-01 14:02:00 UTC by Rita Reporter. Commander: Ben Okafor."
    )
    bullets = [
        b.text for b in blocks_under(notion, "2. Timeline") if b.type == "bulleted_list_item"
    ]
    assert bullets == [
        "2026-06-01 14:02:00 UTC — Declared as SEV1: Checkout is down — Rita Reporter",
        "2026-06-01 14:02:00 UTC — Incident channel #incd opened — plugin:slack",
        "2026-06-01 14:05:00 UTC — 502s from the card gateway — Ana Lima",
        "2026-06-01 14:10:00 UTC — Status update: Rolled back — Ben Okafor",
        "2026-06-01 14:22:00 UTC — Ben Okafor became incident commander — Rita Reporter",
        "2026-06-01 14:25:00 UTC — Note: Error rate under 1% — Ben Okafor",
        "2026-06-01 14:30:00 UTC — Resolved: Gateway fixed — Ben Okafor",
    ]
    to_dos = [(b.text, b.checked) for b in blocks_under(notion, "4. Mitigation tasks")]
    assert to_dos == [("Alert on gateway 502s — Ana Lima", True)]


def test_the_resolvers_name_is_in_the_timeline_the_resolve_writes(
    with_notion: Firebell, notion: FakeNotion
) -> None:
    # The resolve's delivery reads the history up to its own event: the name recorded with it
    # must come before it.
    name = with_notion.engine.declare(title="Search is slow", reporter="U0ANA").incident.id
    with_notion.engine.resolve(name, actor="U0BEN", names=named("U0BEN"))
    with_notion.deliverer.drain()

    bullets = [
        b.text for b in blocks_under(notion, "2. Timeline") if b.type == "bulleted_list_item"
    ]
    assert bullets[-1].endswith("— Resolved — Ben Okafor")
    resolved = next(
        e for e in with_notion.store.select_events(name) if e.type == "incident.resolved"
    )
    upto = [e for e in with_notion.store.select_events(name) if e.position <= resolved.position]
    assert timeline_lines(upto)[-1].actor == "Ben Okafor"


def test_a_to_do_written_before_its_owner_was_named_is_renamed_in_place(
    with_notion: Firebell, notion: FakeNotion
) -> None:
    name = with_notion.engine.declare(title="Search is slow", reporter="U0ANA").incident.id
    with_notion.deliverer.drain()
    add_follow_up(with_notion.engine, name, "Protect the index", actor="U0ANA", owner="U0CY")
    with_notion.deliverer.drain()
    [before] = blocks_under(notion, "4. Mitigation tasks")
    assert before.text == "Protect the index — U0CY"

    # Cy acts later, through Slack, which knows Cy's name.
    add_follow_up(
        with_notion.engine, name, "Alert on slow queries", actor="U0CY", names={"U0CY": "Cy Young"}
    )
    complete_follow_up(with_notion.engine, name, 1, actor="U0CY")
    with_notion.deliverer.drain()

    to_dos = [(b.id, b.text, b.checked) for b in blocks_under(notion, "4. Mitigation tasks")]
    assert to_dos == [
        (before.id, "Protect the index — Cy Young", True),
        (to_dos[1][0], "Alert on slow queries", False),
    ]
