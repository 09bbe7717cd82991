"""The record's subcommands: ``/incident note``, ``followup``, ``followups`` and ``done``.

``/incident note <text>``, ``/incident followup <text> [@owner]``, ``/incident followups`` and
``/incident done <number>`` run in an incident channel. Their listener is registered before the
adapter's own ``/incident`` listener with a matcher (:func:`is_record_command`), so it takes
only these subcommands and every other ``/incident`` goes on to the adapter. Outside an incident
channel, text that reads as a title (``/incident Note taking app is down``) is handed back to
the adapter, which offers the declare form filled in with it.
"""

from __future__ import annotations

import logging
from typing import Any

from firebell.adapters.slack.listener_support import SlashCommand, after_ack
from firebell.adapters.slack.replies import NOT_AN_INCIDENT_CHANNEL, error_text
from firebell.adapters.slack.timeline_parsing import RecordCommand, parse_record_command
from firebell.adapters.slack.timeline_parts import TimelineParts
from firebell.core import timeline_commands
from firebell.core.incident import FollowUp, Incident
from firebell.core.timeline_events import FollowUpAdded
from firebell.plugins.slack.config import is_user_id
from firebell.plugins.slack.text import SECTION_LIMIT, escape_mrkdwn, safe, truncate
from slack_bolt import Ack, Respond

__all__ = ["RecordCommands", "is_record_command"]

log = logging.getLogger("firebell.slack.timeline")


def _reply(respond: Respond | None, text: str) -> None:
    if respond is None:
        log.warning("cannot reply (the request had no response_url): %s", text)
        return
    try:
        respond(text=truncate(text, SECTION_LIMIT), response_type="ephemeral")
    except Exception as error:
        log.warning("could not reply on the response_url: %s", error)


def _follow_up_line(task: FollowUp) -> str:
    owner = ""
    if task.owner:
        # A mention in an ephemeral reply notifies nobody; it shows the name.
        owner = f" — <@{task.owner}>" if is_user_id(task.owner) else f" — {safe(task.owner, 100)}"
    box = ":ballot_box_with_check:" if task.done else ":white_square:"
    return f"{box} *#{task.id}* {safe(task.text, 300)}{owner}"


class RecordCommands(TimelineParts):
    """The subcommand listener of
    :class:`~firebell.adapters.slack.timeline_listeners.TimelineListeners`."""

    def record_command(self, ack: Ack, command: dict[str, Any], respond: Respond | None) -> None:
        """Run a record subcommand in the incident channel it was typed in (after the ack)."""
        ack()
        after_ack(self._pool, self._record, SlashCommand.from_body(command), respond)

    def _record(self, request: SlashCommand, respond: Respond | None) -> None:
        sub = parse_record_command(request.text)
        if sub is None:  # the matcher let it through: cannot happen, but never crash
            return
        try:
            incident = self.firebell.store.find_incident_by_resource("channel", request.channel_id)
            if incident is None and self.adapter and self.adapter.taken_as_title(request):
                self.adapter.offer_declaration(request, respond)
                return
            if incident is None:
                _reply(respond, NOT_AN_INCIDENT_CHANNEL.format(command=f"/incident {sub.name}"))
                return
            _reply(respond, self._run(incident, request, sub))
            if sub.name == "followups":
                return  # a read: nobody to name
            owner = sub.owner if sub.name == "followup" else None
            self.people.record_names(
                self.engine,
                incident.id,
                [request.user_id, owner],
                actor=request.user_id,
                handles={request.user_id: request.user_name},
            )
        except Exception as error:
            _reply(respond, error_text(error, doing=f"running /incident {sub.name}"))

    def _run(self, incident: Incident, request: SlashCommand, sub: RecordCommand) -> str:
        actor = request.user_id
        name = escape_mrkdwn(incident.id)
        if sub.name == "followups":
            return self._list(incident)
        common: dict[str, Any] = {
            "actor": actor,
            "idempotency_key": request.idempotency_key,
            "names": self.people.names(
                [actor, sub.owner],
                incident=incident,
                handles={actor: request.user_name},
                look_up=False,
            ),
        }
        if sub.name == "note":
            if not sub.argument:
                return "Write the note: `/incident note <what happened>`."
            timeline_commands.add_note(
                self.engine,
                incident.id,
                sub.argument,
                actor_groups=self.groups.groups_for("timeline", actor),
                **common,
            )
            return f"Added to the timeline of *{name}*."
        if sub.name == "done":
            if not sub.argument:
                return "Name the follow-up: `/incident done <number>` (`/incident followups`)."
            if not sub.argument.strip().lstrip("#").isdigit():
                # Said here rather than by the core, whose message names the CLI's list too.
                return (
                    f"`{escape_mrkdwn(sub.argument)}` is not a follow-up number: "
                    "`/incident followups` lists them with theirs, like `/incident done 2`."
                )
            result = timeline_commands.complete_follow_up(
                self.engine,
                incident.id,
                sub.argument,
                actor_groups=self.groups.groups_for("followup", actor),
                **common,
            )
            left = sum(1 for f in result.incident.follow_ups if not f.done)
            return f"Follow-up {escape_mrkdwn(sub.argument)} of *{name}* is done; {left} open."
        if not sub.argument:
            return "Write the task: `/incident followup <what to do> [@owner]`."
        result = timeline_commands.add_follow_up(
            self.engine,
            incident.id,
            sub.argument,
            owner=sub.owner,
            actor_groups=self.groups.groups_for("followup", actor),
            **common,
        )
        added = next((e.data for e in result.events if isinstance(e.data, FollowUpAdded)), None)
        number = f"#{added.follow_up_id} " if added is not None else ""
        return (
            f"Follow-up {number}recorded for *{name}*; it goes into the post-mortem's "
            "mitigation tasks."
        )

    def _list(self, incident: Incident) -> str:
        name = escape_mrkdwn(incident.id)
        if not incident.follow_ups:
            return f"*{name}* has no follow-ups yet: `/incident followup <what to do> [@owner]`."
        lines = [_follow_up_line(task) for task in incident.follow_ups]
        left = sum(1 for f in incident.follow_ups if not f.done)
        return f"*Follow-ups of {name}* ({left} open):\n" + "\n".join(lines)


def is_record_command(command: dict[str, Any]) -> bool:
    """Whether ``command`` is one of the record's ``/incident`` subcommands (the matcher)."""
    text = command.get("text")
    return isinstance(text, str) and parse_record_command(text) is not None
