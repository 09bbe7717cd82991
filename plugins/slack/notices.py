"""The short messages the plugin posts as the incident moves: lines for the channel and the
announcement channels, and the warnings about failing integrations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from firebell.core.config import FirebellConfig
from firebell.core.events import IntegrationFailed, IntegrationRecovered, IntegrationSkipped
from firebell.core.incident import Incident, Resource
from firebell.core.timeline import attempts_note
from firebell.plugins.slack.messages import (
    cc_line,
    format_duration,
    link,
    linked_resources,
    resource_label,
    who,
)
from firebell.plugins.slack.text import SECTION_LIMIT, escape_mrkdwn, safe, truncate

__all__ = [
    "announcement_new",
    "closed_text",
    "integration_failed_text",
    "integration_recovered_text",
    "integration_skipped_text",
    "plugin_label",
    "severity_change_text",
    "topic_text",
]

#: How plugins are named to people.
PLUGIN_LABELS: Final = {
    "slack": "Slack",
    "pagerduty": "PagerDuty",
    "notion": "Notion",
    "statuspage": "Statuspage",
    "markdown": "The post-mortem writer",
    "console": "The console announcer",
}

#: What responders can do by hand while a plugin is failing.
_WORKAROUNDS: Final = {
    "pagerduty": "page on-call by hand if this is urgent",
    "statuspage": "update the status page by hand if customers need to know",
    "notion": "the post-mortem document will be linked here once it works",
    "markdown": "the post-mortem document will be linked here once it works",
    "slack": "some channel messages or changes may arrive late",
}

#: What a plugin was doing, by event type.
_DOING: Final = {
    "incident.created": "setting up the incident",
    "incident.resolved": "resolving the incident",
    "incident.reopened": "reopening the incident",
    "incident.closed": "closing the incident",
    "incident.severity_changed": "changing the severity",
    "incident.status_update_posted": "passing on a status update",
    "incident.commander_assigned": "recording the new commander",
    "incident.resource_linked": "handling a linked resource",
}


def plugin_label(plugin: str) -> str:
    """``PagerDuty`` for ``pagerduty``; unknown plugins by their (escaped) name."""
    return PLUGIN_LABELS.get(plugin) or f"The {escape_mrkdwn(plugin)} plugin"


def _doing(event_type: str) -> str:
    return _DOING.get(event_type) or f"handling {escape_mrkdwn(event_type)}"


def topic_text(incident: Incident) -> str:
    """The channel topic: severity, title and description on one line (escaped, not cut)."""
    text = f"{incident.severity} | {incident.title}"
    if incident.description:
        text += " | " + " ".join(incident.description.split())
    return escape_mrkdwn(text)


def announcement_new(incident: Incident, channel_id: str | None, cc: Sequence[str]) -> str:
    """The "New incident" line for the announcement channels."""
    where = f" Join <#{channel_id}>." if channel_id else ""
    text = (
        f":rotating_light: *New incident* `{incident.id}` _({escape_mrkdwn(incident.severity)})_: "
        f"{safe(incident.title, 300)}. Declared by {who(incident.reporter)}.{where}"
    )
    return f"{text} {cc_line(cc)}".strip()


def severity_change_text(
    previous: str, severity: str, actor: str, settings: FirebellConfig | None
) -> str:
    """``:arrow_up: Severity raised from SEV2 to SEV1 (…) by @ana.``"""
    order = [s.name for s in settings.severities] if settings is not None else []
    verb, emoji = "changed", ":twisted_rightwards_arrows:"
    if previous in order and severity in order:
        # The list goes from most to least severe.
        if order.index(severity) < order.index(previous):
            verb, emoji = "raised", ":arrow_up:"
        else:
            verb, emoji = "lowered", ":arrow_down:"
    level = settings.severity(severity) if settings is not None else None
    meaning = f" ({escape_mrkdwn(level.description)})" if level and level.description else ""
    return (
        f"{emoji} Severity {verb} from *{escape_mrkdwn(previous)}* to "
        f"*{escape_mrkdwn(severity)}*{meaning} by {who(actor)}."
    )


def integration_failed_text(data: IntegrationFailed) -> str:
    """The warning posted once when a plugin starts failing for the incident."""
    name = plugin_label(data.plugin)
    error = safe(data.error, 600)
    if data.will_retry:
        next_step = "Firebell keeps retrying"
    else:
        next_step = (
            "Firebell stopped retrying: fix the cause, then run "
            f"`firebell retry --plugin {escape_mrkdwn(data.plugin)}`"
        )
    workaround = _WORKAROUNDS.get(data.plugin)
    text = f":warning: *{name} failed* while {_doing(data.event_type)}: {error}\n{next_step}"
    text += f"; {workaround}." if workaround else "."
    return truncate(text, SECTION_LIMIT)


def integration_recovered_text(data: IntegrationRecovered, incident: Incident) -> str:
    """The all-clear posted once a failing plugin succeeded after all."""
    name = plugin_label(data.plugin)
    done: list[Resource] = [r for r in linked_resources(incident) if r.plugin == data.plugin]
    if done:
        what = "linked " + ", ".join(resource_label(r) for r in done)
    else:
        what = f"it caught up on {_doing(data.event_type)}"
    return f":white_check_mark: *{name} works again*{attempts_note(data.attempts)}; {what}."


def integration_skipped_text(data: IntegrationSkipped) -> str:
    """What is said once a failing plugin has nothing left to do for the incident."""
    reason = data.reason.rstrip(".")
    return (
        f":information_source: *{plugin_label(data.plugin)}* has nothing left to do here: {reason}."
    )


def closed_text(incident: Incident, actor: str, summary: str, closed_after: timedelta) -> str:
    """The final summary posted before the channel is archived."""
    lasted = (
        format_duration(incident.resolved_at - incident.declared_at)
        if incident.resolved_at is not None
        else "unknown"
    )
    document = incident.resource("document")
    postmortem = link(document.url, document.title or "post-mortem") if document else "none linked"
    lines = [
        f":lock: *Incident `{incident.id}` is closed* by {who(actor)}.",
        f"• Severity: *{escape_mrkdwn(incident.severity)}*",
        f"• Impact lasted {lasted} (declared to resolved); closed "
        f"{format_duration(closed_after)} after it was declared",
        f"• Post-mortem: {postmortem}",
    ]
    if summary:
        lines.append(f"• Summary: {safe(summary, 1500)}")
    lines.append("This channel is archived now; it stays searchable.")
    return "\n".join(lines)
