"""The text of a Markdown post-mortem: the skeleton, and the parts the ``markdown`` plugin keeps
up to date in it (the header line, the channel line, the timeline and the follow-ups).

Each ``replace_*`` function takes the document as people may have edited it and changes only
what the plugin wrote: text between its markers, or a line that still reads as the plugin wrote
it. The plugin itself (:mod:`firebell.plugins.markdown`) reads and writes the files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from firebell.core import FollowUp, Incident, RecordedEvent
from firebell.core.config import FirebellConfig
from firebell.core.timeline import follow_up_line, incident_timeline, markdown_inline
from firebell.plugins.postmortem_header import Header, current_header, earlier_headers

__all__ = [
    "FOLLOW_UPS_END",
    "FOLLOW_UPS_START",
    "MITIGATION_HEADING",
    "NO_CHANNEL",
    "NO_FOLLOW_UPS",
    "TIMELINE_END",
    "TIMELINE_START",
    "channel_line",
    "follow_up_markdown",
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
