"""What the plugin says in Slack: the incident summary, announcements and one-line notices.

Every piece of text a person typed goes through :func:`~firebell.plugins.slack.text.safe`
(escaped for mrkdwn, cut to the block's limit), so a description containing ``<!channel>`` shows
as text and pings no one. Only Firebell's own mentions (the reporter, the cc'ed groups) are live.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from firebell.core.config import FirebellConfig
from firebell.core.incident import Incident, IncidentState, Resource
from firebell.core.timeline import format_duration
from firebell.plugins.slack.config import is_user_id
from firebell.plugins.slack.text import (
    HEADER_LIMIT,
    SECTION_LIMIT,
    TEXT_LIMIT,
    escape_mrkdwn,
    safe,
    truncate,
)
from firebell.plugins.slack.workspace import Message

__all__ = [
    "cc_line",
    "format_duration",
    "link",
    "linked_resources",
    "resource_label",
    "section_message",
    "summary_message",
    "who",
]

#: How each kind of linked resource is shown: an emoji and a label.
RESOURCE_KINDS: Final = {
    "document": (":memo:", "Post-mortem"),
    "pager-incident": (":pager:", "PagerDuty incident"),
    "status-incident": (":globe_with_meridians:", "Status page incident"),
}

_HTTP = re.compile(r"^https?://[^\s]+$")


def who(actor: str | None) -> str:
    """How a person (or Firebell) is named in a message: a live mention for Slack user ids."""
    if not actor:
        return "someone"
    if is_user_id(actor):
        return f"<@{actor}>"
    kind, _, name = actor.partition(":")
    if kind == "cli" and name:
        return f"{escape_mrkdwn(name)} (from the command line)"
    if kind == "plugin" and name:
        return f"Firebell ({escape_mrkdwn(name)})"
    return escape_mrkdwn(actor)


def link(url: str | None, label: str) -> str:
    """A mrkdwn link to ``url`` labelled ``label``; just the label when the URL is not http(s)."""
    if not url or not _HTTP.match(url):
        return escape_mrkdwn(label)
    target = escape_mrkdwn(url).replace("|", "%7C")
    return f"<{target}|{escape_mrkdwn(label)}>"


def cc_line(usergroups: Sequence[str]) -> str:
    """``cc <!subteam^S1> <!subteam^S2>``, or ``""`` without groups."""
    return "cc " + " ".join(f"<!subteam^{group}>" for group in usergroups) if usergroups else ""


def timestamp(moment: datetime) -> str:
    """A date Slack shows in each reader's time zone, with a UTC fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def resource_label(resource: Resource) -> str:
    """``:pager: PagerDuty incident`` (linked when it has a URL)."""
    emoji, default = RESOURCE_KINDS.get(resource.kind, (":link:", resource.kind))
    label = resource.title or default
    named = resource.title and resource.title.lower().startswith(default.lower())
    if resource.title and resource.kind in RESOURCE_KINDS and not named:
        label = f"{default}: {resource.title}"
    return f"{emoji} {link(resource.url, label)}"


def linked_resources(incident: Incident) -> list[Resource]:
    """What other plugins linked to the incident (the newest of each kind and id), oldest first."""
    latest: dict[tuple[str, str], Resource] = {}
    for resource in incident.resources:
        if resource.plugin == "slack":
            continue
        key = (resource.kind, resource.external_id)
        latest.pop(key, None)
        latest[key] = resource
    return list(latest.values())


def _section(text: str, block_id: str) -> dict[str, Any]:
    return {
        "type": "section",
        "block_id": block_id,
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)},
    }


def section_message(text: str, *, fallback: str | None = None) -> Message:
    """A one-section message (``text`` is mrkdwn already escaped where needed)."""
    return Message(
        text=truncate(fallback if fallback is not None else text, TEXT_LIMIT),
        blocks=(_section(text, "firebell-text"),),
    )


def _severity(settings: FirebellConfig | None, name: str) -> str:
    severity = settings.severity(name) if settings is not None else None
    if severity is None or not severity.description:
        return f"*{escape_mrkdwn(name)}*"
    return f"*{escape_mrkdwn(name)}*: {escape_mrkdwn(severity.description)}"


def summary_message(
    incident: Incident,
    *,
    channel_id: str,
    settings: FirebellConfig | None,
    cc_usergroups: Sequence[str],
    announcement_channels: Sequence[str] = (),
    announce_updates: bool = True,
) -> Message:
    """The incident summary posted first in the channel (and updated as resources appear)."""
    state = "" if incident.state is IncidentState.OPEN else f" ({incident.state.value})"
    header = truncate(f"Incident {incident.id}{state}", HEADER_LIMIT)
    title = safe(incident.title, 300)
    description = safe(incident.description, SECTION_LIMIT - len(title) - 10)
    about = f"*{title}*" + (f"\n{description}" if description else "")
    fields = [
        f"*Severity*\n{_severity(settings, incident.severity)}",
        f"*Declared by*\n{who(incident.reporter)} on {timestamp(incident.declared_at)}",
        f"*Commander*\n{who(incident.commander) if incident.commander else '_none yet_'}",
        f"*Channel*\n<#{channel_id}>",
    ]
    if cc_usergroups:
        fields.append(f"*cc*\n{cc_line(cc_usergroups).removeprefix('cc ')}")
    resources = linked_resources(incident)
    if resources:
        linked = "*Linked*\n" + "\n".join(f"• {resource_label(r)}" for r in resources)
    else:
        linked = (
            "*Linked*\n_Nothing yet: the post-mortem document, the page and the status page "
            "incident appear here as they are created._"
        )
    reminders = []
    if not incident.commander:
        reminders.append("No commander yet: take it with `/incident commander @you`.")
    update_hint = "Post progress with `/incident update <what changed>`"
    if announcement_channels and announce_updates:
        update_hint += " (it is shared in " + ", ".join(f"<#{c}>" for c in announcement_channels)
        update_hint += ")"
    reminders.append(update_hint + ".")
    reminders.append(
        "When the impact is over, run `/resolve-incident`; after the post-mortem, "
        "`/close-incident` archives this channel."
    )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": "firebell-header",
            "text": {"type": "plain_text", "text": header, "emoji": True},
        },
        _section(about, "firebell-about"),
        {
            "type": "section",
            "block_id": "firebell-fields",
            "fields": [{"type": "mrkdwn", "text": truncate(f, 2000)} for f in fields],
        },
        _section(linked, "firebell-linked"),
        {
            "type": "context",
            "block_id": "firebell-reminders",
            "elements": [{"type": "mrkdwn", "text": truncate(r, 2000)} for r in reminders],
        },
    ]
    fallback = (
        f"Incident {incident.id} ({escape_mrkdwn(incident.severity)}): {title}. "
        f"Declared by {who(incident.reporter)}. {cc_line(cc_usergroups)}"
    ).strip()
    return Message(text=truncate(fallback, TEXT_LIMIT), blocks=tuple(blocks))
