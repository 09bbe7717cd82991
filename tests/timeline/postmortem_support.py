"""What the post-mortem tests share: a stand-in for the Slack plugin's channel, the Markdown and
Notion set-ups, and readers of what they wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from firebell.core import Firebell, Incident, Link, hookimpl
from timeline_support import Clock

from firebell.testing.fake_notion import NOTION_DATABASE_ID, NOTION_TOKEN, FakeBlock, FakeNotion
from firebell.testing.pytest_plugin import MakeFirebell

__all__ = [
    "CHANNEL",
    "PERMALINK",
    "ChannelStandIn",
    "blocks_under",
    "markdown_firebell",
    "notion_document",
    "notion_firebell",
    "section_text",
]

CHANNEL = "C0INCIDENT"
PERMALINK = f"https://example.slack.com/archives/{CHANNEL}/p1780000000000100"


class ChannelStandIn:
    """Plays the Slack plugin's part: links the incident channel on created."""

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        return Link("channel", CHANNEL, f"https://example.slack.com/archives/{CHANNEL}", "#incd")


def markdown_firebell(make_firebell: MakeFirebell, clock: Clock, folder: Path) -> Firebell:
    """Firebell with the Markdown plugin writing into ``folder`` and the channel stand-in."""
    return make_firebell(
        {"plugins": {"slack": {}, "markdown": {"folder": str(folder)}}},
        extra_plugins={"slack": ChannelStandIn()},
        clock=clock,
        retry_base=0.0,
    )


def notion_document(notion: FakeNotion) -> dict[str, Any]:
    """A plugins.toml document enabling the Notion plugin against ``notion``."""
    table = {
        "token": {"env": "NOTION_TOKEN"},
        "database_id": NOTION_DATABASE_ID,
        "api_url": notion.url,
        "requests_per_second": 200,
    }
    return {"plugins": {"slack": {}, "notion": table}}


def notion_firebell(make_firebell: MakeFirebell, notion: FakeNotion, clock: Clock) -> Firebell:
    """Firebell with the Notion plugin against ``notion`` and the channel stand-in."""
    return make_firebell(
        notion_document(notion),
        extra_plugins={"slack": ChannelStandIn()},
        environ={"NOTION_TOKEN": NOTION_TOKEN},
        clock=clock,
        retry_base=0.0,
    )


def section_text(document: str, heading: str) -> str:
    """The text of a Markdown post-mortem's section ``heading`` (without its heading)."""
    return document.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def blocks_under(notion: FakeNotion, title: str) -> list[FakeBlock]:
    """The blocks of the only Notion page between heading ``title`` and the next heading."""
    [page] = notion.pages
    blocks = notion.page_blocks(str(page["id"]))
    start = next(i for i, b in enumerate(blocks) if b.type == "heading_2" and b.text == title)
    found = []
    for block in blocks[start + 1 :]:
        if block.type == "heading_2":
            break
        found.append(block)
    return found
