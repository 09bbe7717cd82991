"""The post-mortem's header line (Markdown) and summary line (Notion) show the incident as it is
now: the severity after a change, the commander once assigned, and the reporter's and the
commander's names once learned (``person.named``, also when it comes after the command, as the
Slack adapter appends it). The timeline keeps the history. A line people rewrote stays theirs,
and what they wrote elsewhere stays as it is. Notion: updated in place, and no request when
nothing it shows changed (the real notion_client against the fake Notion)."""

from __future__ import annotations

from pathlib import Path

import notion_client
import pytest
from firebell.core import Firebell
from firebell.core.engine import people_named
from firebell.core.timeline_commands import add_follow_up
from postmortem_support import blocks_under, markdown_firebell, section_text
from timeline_support import Clock

from firebell.testing.fake_notion import NOTION_TOKEN, FakeBlock, FakeNotion, notion_fault
from firebell.testing.pytest_plugin import MakeFirebell

DECLARED = "declared 2026-06-01 14:02 UTC"
NOTION_DECLARED = "declared 2026-06-01 14:02:00 UTC"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def declare(firebell: Firebell, names: dict[str, str] | None = None) -> str:
    """Declared by U0REPORTER (by ``names`` if given, as Slack passes the request's username)."""
    name = firebell.engine.declare(
        title="Checkout is down", reporter="U0REPORTER", severity="SEV1", names=names
    ).incident.id
    firebell.deliverer.drain()
    return name


def name_later(firebell: Firebell, incident: str, person: str, name: str) -> None:
    """Record ``person``'s name on its own, after the command, as the Slack adapter does once
    Slack answered (adapters/slack/people.py)."""
    firebell.engine.append(
        incident,
        lambda state: people_named(state, {person: name}),
        actor=person,
        action="name",
        idempotency_key=f"name:{incident}:{person}:{name}",
    )
    firebell.deliverer.drain()


# -- Markdown -------------------------------------------------------------------------------------


@pytest.fixture
def markdown(make_firebell: MakeFirebell, clock: Clock, tmp_path: Path) -> Firebell:
    return markdown_firebell(make_firebell, clock, tmp_path / "pm")


def read(tmp_path: Path, name: str) -> list[str]:
    return (tmp_path / "pm" / f"{name}.md").read_text().split("\n")


def test_the_markdown_header_follows_severity_commander_and_names(
    markdown: Firebell, clock: Clock, tmp_path: Path
) -> None:
    name = declare(markdown, names={"U0REPORTER": "rita"})
    before = read(tmp_path, name)
    header = before.index(f"**Checkout is down** — SEV1, {DECLARED} by rita.")

    clock.advance(minutes=3)
    markdown.engine.change_severity(name, "SEV0", actor="U0REPORTER")
    markdown.deliverer.drain()
    assert read(tmp_path, name)[header] == f"**Checkout is down** — SEV0, {DECLARED} by rita."

    markdown.engine.assign_commander(name, "U0BEN", actor="U0REPORTER")
    markdown.deliverer.drain()
    assert read(tmp_path, name)[header] == (
        f"**Checkout is down** — SEV0, {DECLARED} by rita. Commander: U0BEN."
    )

    name_later(markdown, name, "U0REPORTER", "Rita Reporter")
    name_later(markdown, name, "U0BEN", "Ben Okafor")
    after = read(tmp_path, name)
    assert after[header] == (
        f"**Checkout is down** — SEV0, {DECLARED} by Rita Reporter. Commander: Ben Okafor."
    )
    # Only the header changed; the timeline keeps the history.
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [header]
    markdown.engine.resolve(name, actor="U0BEN")
    markdown.deliverer.drain()
    timeline = section_text("\n".join(read(tmp_path, name)), "2. Timeline")
    assert "Declared as SEV1: Checkout is down (Rita Reporter)" in timeline
    assert "Severity changed from SEV1 to SEV0" in timeline


def test_the_markdown_header_changes_in_place_around_what_people_wrote(
    markdown: Firebell, tmp_path: Path
) -> None:
    name = declare(markdown)
    path = tmp_path / "pm" / f"{name}.md"
    written = path.read_text()
    ours = f"**Checkout is down** — SEV1, {DECLARED} by U0REPORTER."
    edited = (
        written.replace(ours, "Ana's summary first.\n\n" + ours)
        .replace("_What caused it, and why our defences did not catch it._", "The card gateway.")
        .replace("## 1. Incident description\n", "## 1. Incident description\n\nSee #ops.\n")
    )
    path.write_text(edited)

    markdown.engine.change_severity(name, "SEV2", actor="U0REPORTER")
    markdown.deliverer.drain()

    assert path.read_text() == edited.replace(ours, ours.replace("SEV1", "SEV2"))


def test_a_markdown_header_people_rewrote_is_left_alone(markdown: Firebell, tmp_path: Path) -> None:
    name = declare(markdown)
    path = tmp_path / "pm" / f"{name}.md"
    ours = f"**Checkout is down** — SEV1, {DECLARED} by U0REPORTER."
    theirs = f"**Checkout is down** — SEV1, {DECLARED} by Rita, for the support team."
    path.write_text(path.read_text().replace(ours, theirs))
    edited = path.read_text()

    markdown.engine.change_severity(name, "SEV0", actor="U0REPORTER")
    markdown.engine.assign_commander(name, "U0BEN", actor="U0REPORTER", names={"U0BEN": "Ben"})
    markdown.deliverer.drain()

    assert path.read_text() == edited


def test_the_markdown_header_is_brought_up_to_date_at_the_next_refresh(
    markdown: Firebell, tmp_path: Path
) -> None:
    # A header written from an earlier state (its own delivery never ran, say the file was
    # restored from a copy) is rewritten by the next refresh, the resolve here.
    name = declare(markdown)
    path = tmp_path / "pm" / f"{name}.md"
    old = path.read_text()
    markdown.engine.change_severity(name, "SEV0", actor="U0REPORTER")
    markdown.deliverer.drain()
    path.write_text(old)

    markdown.engine.resolve(name, actor="U0REPORTER")
    markdown.deliverer.drain()

    assert f"**Checkout is down** — SEV0, {DECLARED} by U0REPORTER." in read(tmp_path, name)


# -- Notion ---------------------------------------------------------------------------------------


def summary(notion: FakeNotion) -> FakeBlock:
    return blocks_under(notion, "1. Incident description")[0]


def requests(notion: FakeNotion) -> list[str]:
    """Every request the fake Notion answered: ``METHOD path``."""
    return [f"{c.request.method} {c.request.path}" for c in notion.calls]


def page_id(notion: FakeNotion) -> str:
    [page] = notion.pages
    return str(page["id"])


def test_the_notion_summary_follows_the_severity_in_place_and_in_the_property(
    with_notion: Firebell, notion: FakeNotion, clock: Clock
) -> None:
    name = declare(with_notion)
    before = summary(notion)
    assert before.text == f"Checkout is down — SEV1, {NOTION_DECLARED} by U0REPORTER."
    blocks = [(b.id, b.text) for b in notion.page_blocks(page_id(notion))]
    seen = len(notion.calls)

    clock.advance(minutes=3)
    with_notion.engine.change_severity(name, "SEV0", actor="U0REPORTER")
    with_notion.deliverer.drain()

    after = summary(notion)
    assert (after.id, after.text) == (
        before.id,
        f"Checkout is down — SEV0, {NOTION_DECLARED} by U0REPORTER.",
    )
    assert notion.page_properties(page_id(notion))["Severity"] == "SEV0"
    # One read of the page, the line updated, the property set; nothing else on the page moved.
    made = sorted(requests(notion)[seen:])
    assert made == sorted(
        [
            f"GET /v1/blocks/{page_id(notion)}/children",
            f"PATCH /v1/blocks/{before.id}",
            f"PATCH /v1/pages/{page_id(notion)}",
        ]
    )
    assert [(b.id, b.text) for b in notion.page_blocks(page_id(notion))] == [
        (i, after.text if i == before.id else text) for i, text in blocks
    ]


def test_the_notion_summary_names_the_commander_and_names_learned_later(
    with_notion: Firebell, notion: FakeNotion
) -> None:
    name = declare(with_notion, names={"U0REPORTER": "rita"})
    assert summary(notion).text.endswith("by rita.")

    with_notion.engine.assign_commander(name, "U0BEN", actor="U0REPORTER")
    with_notion.deliverer.drain()
    assert summary(notion).text.endswith("by rita. Commander: U0BEN.")

    name_later(with_notion, name, "U0REPORTER", "Rita Reporter")
    name_later(with_notion, name, "U0BEN", "Ben Okafor")

    assert summary(notion).text == (
        f"Checkout is down — SEV1, {NOTION_DECLARED} by Rita Reporter. Commander: Ben Okafor."
    )
    with_notion.engine.resolve(name, actor="U0BEN")
    with_notion.deliverer.drain()
    bullets = [b.text for b in blocks_under(notion, "2. Timeline")]
    assert any(
        b.endswith("— Ben Okafor became incident commander — Rita Reporter") for b in bullets
    )
    assert any("Declared as SEV1: Checkout is down — Rita Reporter" in b for b in bullets)


def test_notion_is_not_asked_when_the_summary_cannot_have_changed(
    with_notion: Firebell, notion: FakeNotion
) -> None:
    # Names that came with the declaration are on the page as made: no request after it.
    name = declare(with_notion, names={"U0REPORTER": "Rita Reporter"})
    assert summary(notion).text.endswith("by Rita Reporter.")
    seen = len(notion.calls)

    # Someone the summary does not show is named: no request.
    name_later(with_notion, name, "U0ANA", "Ana Lima")
    assert len(notion.calls) == seen

    # A commander with their name in the same command: one read, one update, not a second read
    # for the name.
    with_notion.engine.assign_commander(
        name, "U0BEN", actor="U0REPORTER", names={"U0BEN": "Ben Okafor"}
    )
    with_notion.deliverer.drain()
    assert [r.split(" ")[0] for r in requests(notion)[seen:]] == ["GET", "PATCH"]
    assert summary(notion).text.endswith("by Rita Reporter. Commander: Ben Okafor.")


def test_a_notion_summary_people_rewrote_is_left_alone(
    with_notion: Firebell, notion: FakeNotion
) -> None:
    name = declare(with_notion)
    line = summary(notion)
    rewritten = "Checkout was down for card payments only (Rita)."
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    client.blocks.update(line.id, paragraph={"rich_text": [{"text": {"content": rewritten}}]})

    with_notion.engine.change_severity(name, "SEV0", actor="U0REPORTER")
    with_notion.engine.assign_commander(name, "U0BEN", actor="U0REPORTER")
    with_notion.deliverer.drain()

    assert summary(notion).text == rewritten
    assert notion.page_properties(page_id(notion))["Severity"] == "SEV0"


def test_a_repeated_severity_delivery_writes_nothing_more(
    with_notion: Firebell, notion: FakeNotion
) -> None:
    name = declare(with_notion)
    with_notion.engine.change_severity(name, "SEV0", actor="U0REPORTER")
    with_notion.deliverer.drain()
    updates = [r for r in requests(notion) if r.startswith("PATCH /v1/blocks/")]

    event = with_notion.store.select_events(name)[-1]
    assert event.type == "incident.severity_changed"
    with_notion.host.call(
        "notion",
        "firebell_incident_severity_changed",
        {"event": event, "incident": with_notion.engine.get(name)},
        {"history": lambda: with_notion.store.select_events(name)},
    )

    assert [r for r in requests(notion) if r.startswith("PATCH /v1/blocks/")] == updates
    assert summary(notion).text.startswith("Checkout is down — SEV0,")


def test_the_notion_summary_is_brought_up_to_date_when_the_page_is_read_anyway(
    with_notion: Firebell, notion: FakeNotion
) -> None:
    # The severity's delivery was parked (Notion refused the token, fixed since, and the
    # delivery not retried): the follow-up's delivery, which reads the page anyway, catches up.
    name = declare(with_notion)
    notion.fail_next(r"^/v1/", notion_fault(401, "unauthorized"))
    with_notion.engine.change_severity(name, "SEV0", actor="U0REPORTER")
    with_notion.deliverer.drain()
    assert with_notion.deliverer.outbox.backlog()["notion"].failed == 1
    assert "SEV1" in summary(notion).text

    add_follow_up(with_notion.engine, name, "Alert on gateway 502s", actor="U0REPORTER")
    with_notion.deliverer.drain()

    assert summary(notion).text.startswith("Checkout is down — SEV0,")
