"""The ``markdown`` doc store: a post-mortem skeleton as a Markdown file per incident.

On ``incident.created`` it writes the seed's four sections (1. description and channel link,
2. timeline, 3. root cause analysis, 4. mitigation tasks) to ``<folder>/<name>.md``; on
``incident.resolved`` and ``incident.closed`` it replaces the timeline section (between markers)
with the incident's events, leaving everything people wrote by hand alone.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs
from firebell.core import Incident, Link, PluginSpec, RecordedEvent, hookimpl
from firebell.core.timeline import timeline

__all__ = ["MarkdownConfig", "render_skeleton", "replace_timeline"]

TIMELINE_START = "<!-- firebell:timeline:start -->"
TIMELINE_END = "<!-- firebell:timeline:end -->"


@attrs.frozen
class MarkdownConfig:
    """``[plugins.markdown]``: ``folder`` where post-mortems are written (default ``postmortems``)."""

    folder: str = "postmortems"


@hookimpl
def firebell_plugin_spec() -> PluginSpec:
    """The markdown doc store's settings; it waits for slack so the channel link is known."""
    return PluginSpec(
        config_class=MarkdownConfig,
        after=("slack",),
        description="Writes post-mortem skeletons as Markdown files.",
    )


def _path(config: MarkdownConfig | None, incident: Incident) -> Path:
    folder = Path(config.folder if config else "postmortems")
    return folder / f"{incident.id}.md"


def _timeline_block(events: Sequence[RecordedEvent]) -> str:
    lines = [entry.as_markdown() for entry in timeline(events)] or ["_No events yet._"]
    return "\n".join([TIMELINE_START, *lines, TIMELINE_END])


def render_skeleton(incident: Incident, events: Sequence[RecordedEvent]) -> str:
    """The post-mortem document for a new incident."""
    channel = incident.resource("channel")
    channel_line = (
        f"Incident channel: [{channel.title or channel.external_id}]({channel.url})"
        if channel and channel.url
        else "Incident channel: none (declared without Slack)"
    )
    return "\n".join(
        [
            f"# Post-mortem: {incident.id}",
            "",
            f"**{incident.title}** — {incident.severity}, declared "
            f"{incident.declared_at:%Y-%m-%d %H:%M UTC} by {incident.reporter}.",
            "",
            "## 1. Incident description",
            "",
            incident.description or "_No description given._",
            "",
            channel_line,
            "",
            "## 2. Timeline",
            "",
            "Filled in from the incident's events when it is resolved (times in UTC).",
            "",
            _timeline_block(events),
            "",
            "## 3. Root cause analysis",
            "",
            "_What caused it, and why our defences did not catch it._",
            "",
            "## 4. Mitigation tasks",
            "",
            "- [ ] _Task — owner_",
            "",
        ]
    )


def replace_timeline(document: str, events: Sequence[RecordedEvent]) -> str:
    """``document`` with the text between the timeline markers replaced by ``events``."""
    start = document.find(TIMELINE_START)
    end = document.find(TIMELINE_END)
    block = _timeline_block(events)
    if start == -1 or end == -1 or end < start:
        # The markers were edited away: append the timeline rather than lose it.
        return document.rstrip("\n") + "\n\n## Timeline (from Firebell)\n\n" + block + "\n"
    return document[:start] + block + document[end + len(TIMELINE_END) :]


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def _link(path: Path) -> Link:
    return Link("document", str(path), path.resolve().as_uri(), "Post-mortem (Markdown)")


@hookimpl
def firebell_incident_created(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> Link:
    """Write the skeleton (never overwriting a file that exists: someone may have edited it)."""
    path = _path(config, incident)
    if not path.exists():
        _write_atomically(path, render_skeleton(incident, history))
    return _link(path)


def _refresh(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    path = _path(config, incident)
    document = path.read_text(encoding="utf-8") if path.exists() else render_skeleton(incident, [])
    _write_atomically(path, replace_timeline(document, history))


@hookimpl
def firebell_incident_resolved(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    """Fill the timeline section from the event log."""
    _refresh(incident, config, history)


@hookimpl
def firebell_incident_closed(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    """Bring the timeline up to date once more (events after the resolve included)."""
    _refresh(incident, config, history)
