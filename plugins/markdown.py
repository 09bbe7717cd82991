"""The ``markdown`` doc store: a post-mortem skeleton as a Markdown file per incident.

On ``incident.created`` it writes the seed's four sections (1. description and channel link,
2. timeline, 3. root cause analysis, 4. mitigation tasks) to ``<folder>/<name>.md``; on
``incident.resolved`` and ``incident.closed``, and whenever a timeline entry or a follow-up is
added, removed or done, it replaces the timeline (the system events merged with the messages
people marked, in time order) and the follow-ups (``- [ ] text — owner``) between their
markers, leaving everything people wrote by hand alone.

People are shown by the names the log recorded for them (``person.named``: the Slack adapter
records what Slack calls them), else as they were given (a Slack user id, ``cli:<login>``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
from firebell.core import FollowUp, Incident, Link, PluginSpec, RecordedEvent, hookimpl
from firebell.core.files import write_atomically
from firebell.core.incident import replay
from firebell.core.timeline import follow_up_line, incident_timeline, markdown_inline

__all__ = ["MarkdownConfig", "render_skeleton", "replace_follow_ups", "replace_timeline"]

TIMELINE_START = "<!-- firebell:timeline:start -->"
TIMELINE_END = "<!-- firebell:timeline:end -->"
FOLLOW_UPS_START = "<!-- firebell:followups:start -->"
FOLLOW_UPS_END = "<!-- firebell:followups:end -->"
MITIGATION_HEADING = "## 4. Mitigation tasks"
NO_FOLLOW_UPS = (
    "_No follow-ups yet: `/incident followup <task> @owner` in Slack, or "
    "`firebell followup NAME TASK --owner WHO`._"
)


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
    lines = [entry.as_markdown() for entry in incident_timeline(events)] or ["_No events yet._"]
    return "\n".join([TIMELINE_START, *lines, TIMELINE_END])


def follow_up_markdown(task: FollowUp, names: Mapping[str, str] | None = None) -> str:
    """``- [ ] text — owner`` (``- [x]`` once done), the owner by ``names`` where known."""
    box = "[x]" if task.done else "[ ]"
    owner = (names or {}).get(task.owner, task.owner) if task.owner else None
    return f"- {box} {markdown_inline(follow_up_line(task.text, owner))}"


def _follow_ups_block(follow_ups: Sequence[FollowUp], names: Mapping[str, str]) -> str:
    lines = [follow_up_markdown(task, names) for task in follow_ups] or [NO_FOLLOW_UPS]
    return "\n".join([FOLLOW_UPS_START, *lines, FOLLOW_UPS_END])


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
            f"{incident.declared_at:%Y-%m-%d %H:%M UTC} by "
            f"{markdown_inline(incident.person_name(incident.reporter))}.",
            "",
            "## 1. Incident description",
            "",
            incident.description or "_No description given._",
            "",
            channel_line,
            "",
            "## 2. Timeline",
            "",
            "Filled in from the incident's events and the messages marked in its channel "
            "(pinned, or given the timeline reaction), times in UTC.",
            "",
            _timeline_block(events),
            "",
            "## 3. Root cause analysis",
            "",
            "_What caused it, and why our defences did not catch it._",
            "",
            MITIGATION_HEADING,
            "",
            _follow_ups_block(incident.follow_ups, incident.names),
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


def replace_follow_ups(
    document: str, follow_ups: Sequence[FollowUp], names: Mapping[str, str] | None = None
) -> str:
    """``document`` with the text between the follow-up markers replaced by ``follow_ups``
    (owners by ``names`` where known).

    A document written before follow-ups existed gets the block under its "4. Mitigation
    tasks" heading (or at the end, when that heading is gone too).
    """
    start = document.find(FOLLOW_UPS_START)
    end = document.find(FOLLOW_UPS_END)
    block = _follow_ups_block(follow_ups, names or {})
    if start != -1 and end > start:
        return document[:start] + block + document[end + len(FOLLOW_UPS_END) :]
    heading = document.find(MITIGATION_HEADING)
    if heading == -1:
        return document.rstrip("\n") + "\n\n## Follow-ups (from Firebell)\n\n" + block + "\n"
    after = heading + len(MITIGATION_HEADING)
    return document[:after] + "\n\n" + block + document[after:]


def _link(path: Path) -> Link:
    return Link("document", str(path), path.resolve().as_uri(), "Post-mortem (Markdown)")


@hookimpl
def firebell_incident_created(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> Link:
    """Write the skeleton (never overwriting a file that exists: someone may have edited it)."""
    path = _path(config, incident)
    if not path.exists():
        write_atomically(path, render_skeleton(incident, history))
    return _link(path)


def _refresh(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    path = _path(config, incident)
    document = path.read_text(encoding="utf-8") if path.exists() else render_skeleton(incident, [])
    # The follow-ups as the history says (the incident may be ahead of the event delivered).
    state = replay(history) or incident
    document = replace_follow_ups(
        replace_timeline(document, history), state.follow_ups, state.names
    )
    write_atomically(path, document)


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


@hookimpl
def firebell_timeline_entry_added(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    """Put the newly marked message (or note) into the timeline."""
    _refresh(incident, config, history)


@hookimpl
def firebell_timeline_entry_removed(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    """Take the unmarked message out of the timeline."""
    _refresh(incident, config, history)


@hookimpl
def firebell_followup_added(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    """List the new follow-up in section 4."""
    _refresh(incident, config, history)


@hookimpl
def firebell_followup_done(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    """Tick the follow-up off in section 4."""
    _refresh(incident, config, history)
