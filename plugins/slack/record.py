"""What the Slack plugin says about the incident's record: notes, follow-ups and reminders.

Modest on purpose (docs/timeline.md): a pinned or reacted-to message gets no reply (the pin or
the reaction is already there for everyone to see), nor does one taken off the timeline. A note
is echoed in one line (it was typed in a slash command only its author saw), a follow-up
recorded or done in one line each, and a reminder in one line that says what to do. A reminder
the incident has outrun by the time it is delivered (an update came in, a commander was named,
the incident was closed) is not posted at all.
"""

from __future__ import annotations

from firebell.core.incident import IncidentState
from firebell.core.timeline_events import (
    FollowUpAdded,
    FollowUpDone,
    ReminderSent,
    TimelineEntryAdded,
    parse_moment,
)
from firebell.plugins.slack.handlers import Delivery
from firebell.plugins.slack.messages import format_duration, link, who
from firebell.plugins.slack.text import safe

__all__ = [
    "follow_up_added",
    "follow_up_done",
    "note_added",
    "reminder_sent",
    "reminder_text",
]


def note_added(delivery: Delivery) -> None:
    """Echo a ``/incident note`` in the channel; marked messages get no reply."""
    data = delivery.event.data
    assert isinstance(data, TimelineEntryAdded)
    if data.source != "note":
        return
    delivery.tell_channel(
        "note",
        f":pushpin: *Timeline note* from {who(delivery.event.actor)}: {safe(data.text, 2800)}",
    )


def follow_up_added(delivery: Delivery) -> None:
    """Say a follow-up was recorded, naming (and so notifying) its owner."""
    data = delivery.event.data
    assert isinstance(data, FollowUpAdded)
    owner = f" — owner {who(data.owner)}" if data.owner else ""
    delivery.tell_channel(
        "followup",
        f":clipboard: *Follow-up #{data.follow_up_id}* recorded by {who(delivery.event.actor)}: "
        f"{safe(data.text, 2500)}{owner}. `/incident done {data.follow_up_id}` when it is done.",
    )


def follow_up_done(delivery: Delivery) -> None:
    """Say a follow-up was done, and how many are left."""
    data = delivery.event.data
    assert isinstance(data, FollowUpDone)
    task = delivery.incident.follow_up(data.follow_up_id)
    what = f" ({safe(task.text, 300)})" if task else ""
    left = sum(1 for f in delivery.incident.follow_ups if not f.done)
    delivery.tell_channel(
        "followup-done",
        f":ballot_box_with_check: Follow-up #{data.follow_up_id}{what} done by "
        f"{who(delivery.event.actor)}; {left} still open.",
    )


def reminder_text(delivery: Delivery) -> str | None:
    """The reminder's line, or None when the incident has moved on since it fell due."""
    data = delivery.event.data
    assert isinstance(data, ReminderSent)
    incident = delivery.incident
    due_at = parse_moment(data.due_at)
    if data.kind == "update":
        updated = incident.last_update_at
        if incident.state is not IncidentState.OPEN or (updated is not None and updated > due_at):
            return None
        quiet_since = max(
            m for m in (incident.declared_at, updated, incident.reopened_at) if m is not None
        )
        quiet = format_duration(delivery.event.occurred_at - quiet_since)
        return (
            f":hourglass_flowing_sand: No status update for {quiet}. Whoever is on it: post one "
            "with `/incident update <what changed>` — even “still investigating” helps."
        )
    if data.kind == "commander":
        if incident.state is not IncidentState.OPEN or incident.commander:
            return None
        return (
            f":firefighter: {who(data.recipient or incident.reporter)}, this incident still has "
            "no commander. Take the role with `/incident commander me`, or hand it to someone "
            "with `/incident commander @name`."
        )
    if data.kind == "postmortem":
        if incident.state is not IncidentState.RESOLVED or incident.resolved_at is None:
            return None
        document = incident.resource("document")
        where = (
            link(document.url, document.title or "the post-mortem")
            if document
            else ("the post-mortem (no document is linked yet)")
        )
        open_tasks = sum(1 for f in incident.follow_ups if not f.done)
        since = format_duration(delivery.event.occurred_at - incident.resolved_at)
        return (
            f":memo: {who(data.recipient or incident.reporter)}: resolved {since} ago — time for "
            f"the post-mortem. Fill in {where} and schedule the post-mortem meeting. Follow-ups "
            f"so far: {open_tasks} open (`/incident followup <task> @owner`). After the meeting, "
            "`/close-incident`."
        )
    return None


def reminder_sent(delivery: Delivery) -> None:
    """Post the reminder in the incident channel (once, however often it is delivered)."""
    data = delivery.event.data
    assert isinstance(data, ReminderSent)
    text = reminder_text(delivery)
    if text is not None:
        delivery.tell_channel(f"reminder-{data.kind}", text)
