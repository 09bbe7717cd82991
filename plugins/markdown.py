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

This module reads and writes the files; their text, and what in it the plugin may rewrite,
is :mod:`firebell.plugins.markdown_document`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import attrs
from firebell.core import Incident, Link, PluginSpec, RecordedEvent, hookimpl
from firebell.core.config import FirebellConfig
from firebell.core.events import PersonNamed, ResourceLinked
from firebell.core.files import not_writable_reason, write_atomically
from firebell.core.incident import replay
from firebell.plugins.markdown_document import (
    FOLLOW_UPS_START,
    render_skeleton,
    replace_channel,
    replace_follow_ups,
    replace_header,
    replace_timeline,
)
from firebell.plugins.postmortem_header import names_in_header

# The document's text and markers are markdown_document's; these stay importable from here.
__all__ = ["FOLLOW_UPS_START", "MarkdownConfig", "render_skeleton", "replace_follow_ups"]


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
