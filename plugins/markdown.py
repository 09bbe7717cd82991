"""The ``markdown`` doc store: a post-mortem skeleton as a Markdown file per incident.

On ``incident.created`` it writes the seed's four sections (1. description and channel link,
2. timeline, 3. root cause analysis, 4. mitigation tasks) to ``<folder>/<name>.md``; on
``incident.resolved`` and ``incident.closed``, and whenever a timeline entry or a follow-up is
added, removed or done, it replaces the timeline (the system events merged with the messages
people marked, in time order) and the follow-ups (``- [ ] text — owner``) between their
markers, leaving everything people wrote by hand alone.

The header line under the title (title, severity, who declared it and when, the commander)
shows the incident as it is now: it is rewritten in place when the severity changes, a commander
is assigned, or the reporter's or commander's name is learned (``person.named``), and at each
refresh, unless people rewrote it (see :mod:`firebell.plugins.postmortem_header`).

The channel line of section 1 shows the channel linked when the file is written; written
before there was one (Slack down or refusing at declare time), it says so and is filled in when
the channel is linked (``incident.resource_linked``) or at the next refresh, unless people
rewrote that line.

People are shown by the names the log recorded for them (``person.named``: the Slack adapter
records what Slack calls them), else as they were given (a Slack user id, ``cli:<login>``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
from firebell.core import FollowUp, Incident, Link, PluginSpec, RecordedEvent, hookimpl
from firebell.core.config import FirebellConfig
from firebell.core.events import PersonNamed, ResourceLinked
from firebell.core.files import not_writable_reason, write_atomically
from firebell.core.incident import replay
from firebell.core.timeline import follow_up_line, incident_timeline, markdown_inline
from firebell.plugins.postmortem_header import (
    Header,
    current_header,
    earlier_headers,
    names_in_header,
)

__all__ = [
    "MarkdownConfig",
    "channel_line",
    "header_line",
    "render_skeleton",
    "replace_channel",
    "replace_follow_ups",
    "replace_header",
    "replace_timeline",
]

TIMELINE_START = "<!-- firebell:timeline:start -->"
TIMELINE_END = "<!-- firebell:timeline:end -->"
FOLLOW_UPS_START = "<!-- firebell:followups:start -->"
FOLLOW_UPS_END = "<!-- firebell:followups:end -->"
MITIGATION_HEADING = "## 4. Mitigation tasks"
#: How the channel line starts while there is no channel (whatever the reason given).
NO_CHANNEL = "Incident channel: none"
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


def channel_line(incident: Incident, settings: FirebellConfig | None = None) -> str:
    """Section 1's line about the incident channel: a link to it once linked, else why there
    is none (Slack not set up in ``settings``, or the channel not made yet)."""
    channel = incident.resource("channel")
    if channel is not None:
        label = channel.title or channel.external_id
        return f"Incident channel: {f'[{label}]({channel.url})' if channel.url else label}"
    if settings is not None and "slack" in settings.enabled_plugins():
        return f"{NO_CHANNEL} yet (Slack has not made it; it is filled in here once it has)"
    return f"{NO_CHANNEL} (declared without Slack)"


def render_skeleton(
    incident: Incident,
    events: Sequence[RecordedEvent],
    settings: FirebellConfig | None = None,
) -> str:
    """The post-mortem document for a new incident (``settings`` tell whether Slack is on)."""
    return "\n".join(
        [
            f"# Post-mortem: {incident.id}",
            "",
            header_line(current_header(incident)),
            "",
            "## 1. Incident description",
            "",
            incident.description or "_No description given._",
            "",
            channel_line(incident, settings),
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


def header_line(header: Header) -> str:
    """The line under the title: ``**title** — SEV1, declared … by who.`` (`` Commander: who.``
    once there is one)."""
    line = (
        f"**{header.title}** — {header.severity}, declared "
        f"{header.declared_at:%Y-%m-%d %H:%M UTC} by {markdown_inline(header.reporter)}."
    )
    if header.commander is not None:
        line += f" Commander: {markdown_inline(header.commander)}."
    return line


def replace_header(document: str, incident: Incident, history: Sequence[RecordedEvent]) -> str:
    """``document`` with its header line showing ``incident`` as it is now (severity, commander,
    names learned since), if the line still reads as the plugin may have written it at some point
    of ``history``; a line people rewrote is left alone."""
    current = header_line(current_header(incident))
    earlier = {header_line(header) for header in earlier_headers(incident, history)}
    lines = document.split("\n")
    for number, line in enumerate(lines):
        if line == current:
            return document
        if line in earlier:
            lines[number] = current
            return "\n".join(lines)
    return document


def replace_channel(document: str, incident: Incident) -> str:
    """``document`` with its "no channel" line (see :data:`NO_CHANNEL`) showing the incident's
    channel once one is linked; a line people rewrote is left alone."""
    if incident.resource("channel") is None:
        return document
    lines = document.split("\n")
    for number, line in enumerate(lines):
        if line.startswith(NO_CHANNEL):
            lines[number] = channel_line(incident)
            return "\n".join(lines)
    return document


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
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> Link:
    """Write the skeleton (never overwriting a file that exists: someone may have edited it)."""
    path = _path(config, incident)
    if not path.exists():
        write_atomically(path, render_skeleton(incident, history, settings))
    return _link(path)


@hookimpl
def firebell_incident_resource_linked(
    event: RecordedEvent, incident: Incident, config: MarkdownConfig | None
) -> None:
    """Fill in the incident channel once it is linked (it was not when the file was written)."""
    if not isinstance(event.data, ResourceLinked) or event.data.kind != "channel":
        return
    path = _path(config, incident)
    if not path.exists():
        return  # not written yet (incident.created comes first), or deleted on purpose
    document = path.read_text(encoding="utf-8")
    updated = replace_channel(document, incident)
    if updated != document:
        write_atomically(path, updated)


def _refresh(
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig | None,
) -> None:
    path = _path(config, incident)
    document = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else render_skeleton(incident, [], settings)
    )
    # The follow-ups as the history says (the incident may be ahead of the event delivered).
    state = replay(history) or incident
    document = replace_follow_ups(
        replace_timeline(document, history), state.follow_ups, state.names
    )
    document = replace_header(replace_channel(document, incident), incident, history)
    write_atomically(path, document)


def _update_header(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    path = _path(config, incident)
    if not path.exists():
        return  # not written yet (it will be written as the incident is then), or deleted
    document = path.read_text(encoding="utf-8")
    updated = replace_header(document, incident, history)
    if updated != document:
        write_atomically(path, updated)


@hookimpl
def firebell_incident_severity_changed(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    """Show the new severity in the header line."""
    _update_header(incident, config, history)


@hookimpl
def firebell_incident_commander_assigned(
    incident: Incident, config: MarkdownConfig | None, history: Sequence[RecordedEvent]
) -> None:
    """Show the commander in the header line."""
    _update_header(incident, config, history)


@hookimpl
def firebell_person_named(
    event: RecordedEvent,
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
) -> None:
    """Show a name learned for the reporter or the commander in the header."""
    data = event.data
    if isinstance(data, PersonNamed) and data.person in names_in_header(incident):
        _update_header(incident, config, history)


@hookimpl
def firebell_incident_resolved(
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> None:
    """Fill the timeline section from the event log."""
    _refresh(incident, config, history, settings)


@hookimpl
def firebell_incident_closed(
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> None:
    """Bring the timeline up to date once more (events after the resolve included)."""
    _refresh(incident, config, history, settings)


@hookimpl
def firebell_timeline_entry_added(
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> None:
    """Put the newly marked message (or note) into the timeline."""
    _refresh(incident, config, history, settings)


@hookimpl
def firebell_timeline_entry_removed(
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> None:
    """Take the unmarked message out of the timeline."""
    _refresh(incident, config, history, settings)


@hookimpl
def firebell_followup_added(
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> None:
    """List the new follow-up in section 4."""
    _refresh(incident, config, history, settings)


@hookimpl
def firebell_followup_done(
    incident: Incident,
    config: MarkdownConfig | None,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> None:
    """Tick the follow-up off in section 4."""
    _refresh(incident, config, history, settings)


@hookimpl
def firebell_doctor(config: MarkdownConfig) -> list[str]:
    """Whether the post-mortems can be written: the folder, or while it is missing the folder
    it would be created in, must be a folder this user may write. Writes nothing."""
    folder = Path(config.folder).expanduser()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [
            f"folder = {config.folder!r}: {existing} is a file, not a folder; set "
            "[plugins.markdown] folder to a folder"
        ]
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == folder else f" (to be created in {existing})"
        return [
            f"the post-mortems' folder {folder}{where} cannot be written "
            f"({not_writable_reason(existing)}): make it writable by the user Firebell runs "
            "as, or set [plugins.markdown] folder to one that is"
        ]
    return []
