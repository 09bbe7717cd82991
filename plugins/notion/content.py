"""What goes on the post-mortem page: rich text within Notion's limits, the skeleton, the timeline.

Notion takes at most 2000 characters per rich-text item (counted in UTF-16 code units, as
JavaScript does) and 100 items per block; longer text is split into several items, which Notion
shows as one run of text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from firebell.core import (
    CommanderAssigned,
    Incident,
    IncidentClosed,
    IncidentCreated,
    IncidentReopened,
    IncidentResolved,
    IntegrationFailed,
    IntegrationRecovered,
    RecordedEvent,
    Resource,
    ResourceLinked,
    SeverityChanged,
    StatusUpdatePosted,
    TimelineItem,
)
from firebell.core.incident import replay
from firebell.core.timeline import attempts_note, describe_entry, timeline_items
from firebell.plugins.postmortem_header import Header, current_header

__all__ = [
    "CHANNEL_LABEL",
    "MAX_BLOCKS_PER_REQUEST",
    "MAX_RICH_TEXT_ITEMS",
    "MAX_RICH_TEXT_LENGTH",
    "MITIGATION_HEADING",
    "NO_CHANNEL_TEXTS",
    "NO_CHANNEL_YET",
    "NO_SLACK",
    "ROOT_CAUSE_PLACEHOLDER",
    "TIMELINE_HEADING",
    "TIMELINE_PLACEHOLDER",
    "Block",
    "TimelineLine",
    "block_text",
    "bullet",
    "channel_text",
    "chunks",
    "heading",
    "paragraph",
    "rich_text",
    "skeleton",
    "split_text",
    "summary_rich_text",
    "summary_text",
    "timeline_bullets",
    "timeline_lines",
    "to_do",
    "utc",
]

MAX_RICH_TEXT_LENGTH = 2000
MAX_RICH_TEXT_ITEMS = 100
MAX_BLOCKS_PER_REQUEST = 100

DESCRIPTION_HEADING = "1. Incident description"
TIMELINE_HEADING = "2. Timeline"
ROOT_CAUSE_HEADING = "3. Root cause analysis"
MITIGATION_HEADING = "4. Mitigation tasks"
TIMELINE_PLACEHOLDER = "Filled in when the incident is resolved."
ROOT_CAUSE_PLACEHOLDER = (
    "What caused the incident? Why did it happen, why was it not caught earlier, and what "
    "made it worse or better?"
)

CHANNEL_LABEL = "Slack channel: "
NO_CHANNEL_YET = "none yet (Slack has not made it; it is filled in here once it has)"
NO_SLACK = "none (declared without Slack)"
#: The channel paragraph's texts while there is no channel, as the plugin writes them: a
#: paragraph reading otherwise was rewritten by people and is theirs. "declared without Slack"
#: is there for pages written before "none yet" existed, when a failing Slack read so too.
NO_CHANNEL_TEXTS = frozenset({CHANNEL_LABEL + NO_CHANNEL_YET, CHANNEL_LABEL + NO_SLACK})

Block = dict[str, Any]


def utc(moment: datetime) -> str:
    """``2026-06-01 14:02:05 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def split_text(text: str, limit: int = MAX_RICH_TEXT_LENGTH) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 code units, never inside a character."""
    if len(text) * 2 <= limit or len(text.encode("utf-16-le")) // 2 <= limit:
        return [text] if text else []
    pieces: list[str] = []
    start = 0
    used = 0
    for index, char in enumerate(text):
        size = _units(char)
        if used + size > limit:
            pieces.append(text[start:index])
            start, used = index, 0
        used += size
    pieces.append(text[start:])
    return pieces


def rich_text(
    text: str,
    *,
    link: str | None = None,
    bold: bool = False,
    italic: bool = False,
    color: str = "default",
) -> list[dict[str, Any]]:
    """Rich-text items for ``text``, split at Notion's 2000-character limit."""
    annotations = {"bold": bold, "italic": italic, "color": color}
    items = []
    for piece in split_text(text):
        content: dict[str, Any] = {"content": piece}
        if link:
            content["link"] = {"url": link}
        items.append({"type": "text", "text": content, "annotations": annotations})
    return items


def _text_blocks(block_type: str, items: list[dict[str, Any]], **extra: Any) -> list[Block]:
    # One block holds at most 100 items; a longer text continues in the next block.
    groups = [
        items[i : i + MAX_RICH_TEXT_ITEMS] for i in range(0, len(items), MAX_RICH_TEXT_ITEMS)
    ] or [[]]
    return [
        {"object": "block", "type": block_type, block_type: {"rich_text": group, **extra}}
        for group in groups
    ]


def heading(text: str) -> Block:
    """A ``heading_2`` block."""
    return _text_blocks("heading_2", rich_text(text))[0]


def paragraph(*runs: list[dict[str, Any]]) -> list[Block]:
    """Paragraph block(s) of the given rich-text runs (more than one past 100 items)."""
    return _text_blocks("paragraph", [item for run in runs for item in run])


def bullet(*runs: list[dict[str, Any]]) -> list[Block]:
    """Bulleted-list block(s) of the given rich-text runs."""
    return _text_blocks("bulleted_list_item", [item for run in runs for item in run])


def to_do(text: str = "", *, checked: bool = False) -> Block:
    """A to-do block (unchecked unless ``checked``)."""
    return _text_blocks("to_do", rich_text(text), checked=checked)[0]


def block_text(block: Block) -> str:
    """The plain text of a block as Notion returns it (empty for blocks without text)."""
    content = block.get(block.get("type", ""), {})
    if not isinstance(content, dict):
        return ""
    return "".join(
        str(item.get("plain_text") or item.get("text", {}).get("content", ""))
        for item in content.get("rich_text", [])
    )


def chunks(blocks: Sequence[Block], size: int = MAX_BLOCKS_PER_REQUEST) -> list[list[Block]]:
    """``blocks`` in request-sized lists."""
    return [list(blocks[i : i + size]) for i in range(0, len(blocks), size)]


# -- the skeleton ------------------------------------------------------------------------------


def skeleton(incident: Incident, *, slack_configured: bool = False) -> list[Block]:
    """The seed's four sections: description and channel, timeline, root cause, mitigations.

    ``slack_configured``: whether the Slack plugin is on, so that a missing channel reads as
    not made yet rather than as an incident declared without Slack.
    """
    return [
        heading(DESCRIPTION_HEADING),
        *paragraph(summary_rich_text(summary_text(current_header(incident)))),
        *paragraph(rich_text(incident.description or "No description given.")),
        *paragraph(channel_text(incident.resource("channel"), slack_configured=slack_configured)),
        heading(TIMELINE_HEADING),
        *paragraph(rich_text(TIMELINE_PLACEHOLDER, italic=True, color="gray")),
        heading(ROOT_CAUSE_HEADING),
        *paragraph(rich_text(ROOT_CAUSE_PLACEHOLDER, italic=True, color="gray")),
        heading(MITIGATION_HEADING),
        to_do(),
    ]


def summary_text(header: Header) -> str:
    """Section 1's summary line: ``title — SEV1, declared … by who.`` (`` Commander: who.`` once
    there is one)."""
    text = f"{header.title} — {header.severity}, declared {utc(header.declared_at)} by "
    text += f"{header.reporter}."
    if header.commander is not None:
        text += f" Commander: {header.commander}."
    return text


def summary_rich_text(text: str) -> list[dict[str, Any]]:
    """The summary line's rich text (bold), within one block's 100 items."""
    return rich_text(text, bold=True)[:MAX_RICH_TEXT_ITEMS]


def channel_text(
    channel: Resource | None, *, slack_configured: bool = False
) -> list[dict[str, Any]]:
    """The rich text of section 1's channel paragraph: a link to ``channel``, else why there is
    none (the channel not made yet while Slack is configured, or no Slack at all)."""
    if channel is not None:
        run = rich_text(channel.title or channel.external_id, link=channel.url)
    elif slack_configured:
        run = rich_text(NO_CHANNEL_YET, italic=True)
    else:
        run = rich_text(NO_SLACK, italic=True)
    return [*rich_text(CHANNEL_LABEL), *run]


# -- the timeline ------------------------------------------------------------------------------


@attrs.frozen
class TimelineLine:
    """One timeline entry: when (UTC), who, what, and a link to what it names."""

    at: datetime
    actor: str
    text: str
    link: str | None = None


def _describe(event: RecordedEvent, names: Mapping[str, str]) -> tuple[str, str | None] | None:
    """What ``event`` says in the timeline and what it links to; None to leave it out."""
    match event.data:
        case IncidentCreated(title=title, severity=severity):
            return f"Declared as {severity}: {title}", None
        case ResourceLinked(kind="document"):
            return None  # post-mortem documents are where the timeline goes, not part of it
        case ResourceLinked(kind="pager-incident", external_id=external_id, url=url, title=title):
            return f"Paged on-call: {title or external_id}", url
        case ResourceLinked(kind="channel", external_id=external_id, url=url, title=title):
            return f"Incident channel {title or external_id} opened", url
        case ResourceLinked(kind="status-incident", external_id=external_id, url=url, title=title):
            return f"Status page incident opened: {title or external_id}", url
        case ResourceLinked(
            plugin=plugin, kind=kind, external_id=external_id, url=url, title=title
        ):
            return f"{plugin} linked {kind} {title or external_id}", url
        case SeverityChanged(previous=previous, severity=severity):
            return f"Severity changed from {previous} to {severity}", None
        case CommanderAssigned(commander=commander):
            return f"{names.get(commander, commander)} became incident commander", None
        case StatusUpdatePosted(text=text, public=public):
            return f"{'Public status update' if public else 'Status update'}: {text}", None
        case IncidentResolved(summary=summary):
            return f"Resolved{': ' + summary if summary else ''}", None
        case IncidentReopened(reason=reason):
            return f"Reopened{': ' + reason if reason else ''}", None
        case IncidentClosed(summary=summary):
            return f"Closed{': ' + summary if summary else ''}", None
        case IntegrationFailed(plugin=plugin, event_type=event_type, error=error, will_retry=again):
            then = "retrying" if again else "gave up until someone runs `firebell retry`"
            return f"{plugin} failed on {event_type} ({then}): {error}", None
        case IntegrationRecovered(plugin=plugin, attempts=attempts):
            return f"{plugin} works again{attempts_note(attempts)}", None
    # Events defined outside the core (timeline entries, follow-ups…): their text if they have one.
    own_text = getattr(event.data, "text", None)
    return (f"{event.type}: {own_text}" if isinstance(own_text, str) else event.type), None


def timeline_lines(history: Iterable[RecordedEvent]) -> list[TimelineLine]:
    """The timeline of ``history``: its events merged with the entries marked in the channel
    (pinned messages, reactions, notes, each at the time it was written), in time order.

    People show by the names the log recorded for them (``person.named``), else by their ids.
    """
    events = list(history)
    incident = replay(events)
    names = incident.names if incident else {}
    lines = []
    for item in timeline_items(events):
        if isinstance(item, TimelineItem):
            author = names.get(item.author, item.author)
            lines.append(TimelineLine(item.at, author, describe_entry(item), item.permalink))
            continue
        described = _describe(item, names)
        if described is not None:
            text, link = described
            actor = names.get(item.actor, item.actor)
            lines.append(TimelineLine(item.occurred_at, actor, text, link))
    return lines


def timeline_bullets(lines: Sequence[TimelineLine]) -> list[Block]:
    """One bulleted-list block per line: **time** — what (link) — who."""
    blocks: list[Block] = []
    for line in lines:
        blocks += bullet(
            rich_text(utc(line.at), bold=True),
            rich_text(" — "),
            rich_text(line.text, link=line.link),
            rich_text(f" — {line.actor}", italic=True, color="gray"),
        )
    return blocks
