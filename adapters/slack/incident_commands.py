"""The adapter's slash commands: ``/incident``, ``/resolve-incident`` and ``/close-incident``.

Each is acknowledged at once; the work (a fast read or append, and any ``views.open`` while the
trigger is fresh) runs after the acknowledgement on the adapter's command pool, and the outcome
comes back as an ephemeral reply on the command's ``response_url``. ``/incident`` opens the
declare form, shows the help, declares from its text, or runs a subcommand in an incident's
channel; ``/resolve-incident`` and ``/close-incident`` check, then open the confirm modal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import attrs
from firebell.adapters.slack.adapter_parts import AdapterParts
from firebell.adapters.slack.listener_support import SlashCommand, after_ack
from firebell.adapters.slack.modals import ModalMetadata, confirm_modal, declare_modal
from firebell.adapters.slack.parsing import (
    Subcommand,
    offered_declaration,
    parse_incident_text,
    parse_user_mention,
    reads_as_title,
    title_and_description,
)
from firebell.adapters.slack.replies import (
    NOT_AN_INCIDENT_CHANNEL,
    declared_text,
    error_text,
    help_text,
)
from firebell.adapters.slack.timeline_parsing import (
    close_warning,
    needs_close_confirmation,
    unescape_slack,
)
from firebell.core.incident import Incident
from firebell.plugins.slack.text import escape_mrkdwn
from slack_bolt import Ack, Respond
from slack_sdk.errors import SlackApiError

__all__ = ["IN_INCIDENT_CHANNEL", "TAKEN_AS_TITLE", "IncidentCommands"]

log = logging.getLogger("firebell.slack")

IN_INCIDENT_CHANNEL = (
    "This is the channel of *{name}*. For it: `/incident update <text>` (see `/incident help`). "
    "To declare another incident, use the form (`/incident` with no text) or run the command in "
    "another channel."
)
TAKEN_AS_TITLE = (
    "`/incident {word}` works in an incident's own channel, and this channel is not one, so "
    "Firebell took your text for a new incident. Check it and declare, or cancel and run the "
    "command in the incident's channel (`/incident help` lists the commands)."
)


class IncidentCommands(AdapterParts):
    """The slash-command listeners of :class:`~firebell.adapters.slack.handlers.SlackAdapter`."""

    def incident_command(self, ack: Ack, command: dict[str, Any], respond: Respond | None) -> None:
        """``/incident [subcommand]``: the form, help, a quick declare or an in-channel command."""
        ack()
        after_ack(self._commands, self._incident_command, SlashCommand.from_body(command), respond)

    def _incident_command(self, request: SlashCommand, respond: Respond | None) -> None:
        sub = parse_incident_text(request.text)
        try:
            if sub.name == "form":
                self._open_declare_form(request, respond)
            elif sub.name == "help":
                _reply(respond, help_text(self.engine.settings))
            elif sub.name == "declare":
                self._quick_declare(request, sub, respond)
            else:
                self._channel_subcommand(request, sub, respond)
        except Exception as error:
            _reply(respond, error_text(error, doing=f"running /incident {sub.name}"))

    def resolve_command(self, ack: Ack, command: dict[str, Any], respond: Respond | None) -> None:
        """``/resolve-incident``: check, then open the confirm modal."""
        ack()
        after_ack(self._commands, self._open_confirm, "resolve", _typed(command), respond)

    def close_command(self, ack: Ack, command: dict[str, Any], respond: Respond | None) -> None:
        """``/close-incident``: check, then open the confirm modal."""
        ack()
        after_ack(self._commands, self._open_confirm, "close", _typed(command), respond)

    def _open_declare_form(
        self,
        request: SlashCommand,
        respond: Respond | None,
        *,
        title: str = "",
        description: str = "",
        note: str = "",
    ) -> None:
        metadata = ModalMetadata(channel_id=request.channel_id, response_url=request.response_url)
        view = declare_modal(
            self.engine.settings,
            metadata=metadata,
            title=title,
            description=description,
            note=note,
        )
        self._open_view(request, view, respond)
        # The submission must answer at once: it names the reporter from the cache.
        self.people.name(request.user_id)

    def _open_view(
        self, request: SlashCommand, view: dict[str, Any], respond: Respond | None
    ) -> None:
        try:
            self.client.views_open(trigger_id=request.trigger_id, view=view)
        except SlackApiError as error:
            code = error.response.get("error")
            log.warning("views.open failed: %s", code)
            _reply(
                respond,
                f"Slack would not open the form (`{escape_mrkdwn(str(code))}`); run the command "
                "again. To declare without the form, type `/incident <what is wrong>`.",
            )

    def offer_declaration(self, request: SlashCommand, respond: Respond | None) -> None:
        """Open the declare form filled in with the command's text, for ``/incident <text>``
        whose first word is a subcommand but which is read as a title (see
        :func:`~firebell.adapters.slack.parsing.reads_as_title`): the person confirms or cancels.
        """
        word, title, description = offered_declaration(request.text)
        note = TAKEN_AS_TITLE.format(word=escape_mrkdwn(word))
        self._open_declare_form(request, respond, title=title, description=description, note=note)

    def taken_as_title(self, request: SlashCommand) -> bool:
        """Whether ``request``, typed outside an incident channel with a subcommand's word first,
        is read as a new incident's title."""
        severities = [s.name for s in self.engine.settings.severities]
        return reads_as_title(request.text, severities=severities)

    def _quick_declare(
        self, request: SlashCommand, sub: Subcommand, respond: Respond | None
    ) -> None:
        current = self._incident_in(request.channel_id)
        if current is not None:
            # Text typed in an incident's channel is far more often meant for that incident than
            # for a second one; declaring one by accident would make a duplicate.
            _reply(respond, IN_INCIDENT_CHANNEL.format(name=escape_mrkdwn(current.id)))
            return
        title, description = title_and_description(sub.argument)
        handles = {request.user_id: request.user_name}
        result = self.engine.declare(
            title=title,
            description=description,
            reporter=request.user_id,
            source="slack",
            idempotency_key=request.idempotency_key,
            actor_groups=self.groups.groups_for("declare", request.user_id),
            names=self.people.names([request.user_id], handles=handles, look_up=False),
        )
        _reply(respond, declared_text(result))
        if not result.duplicate:
            self.declarations.watch(result.incident.id, request.response_url)
        self.people.record_names(
            self.engine,
            result.incident.id,
            [request.user_id],
            actor=request.user_id,
            handles=handles,
        )

    def _incident_in(self, channel_id: str) -> Incident | None:
        # The channel's incident comes from the log's linked resources, never from its name.
        return self.firebell.store.find_incident_by_resource("channel", channel_id)

    def _channel_subcommand(
        self, request: SlashCommand, sub: Subcommand, respond: Respond | None
    ) -> None:
        incident = self._incident_in(request.channel_id)
        if incident is None and self.taken_as_title(request):
            self.offer_declaration(request, respond)
            return
        if incident is None:
            _reply(respond, NOT_AN_INCIDENT_CHANNEL.format(command=f"/incident {sub.name}"))
            return
        actor = request.user_id
        commander = parse_user_mention(sub.argument, me=actor) if sub.name == "commander" else None
        handles = {actor: request.user_name}
        common: dict[str, Any] = {
            "actor": actor,
            "idempotency_key": request.idempotency_key,
            "actor_groups": self.groups.groups_for(sub.name, actor),
            "names": self.people.names(
                [actor, commander], incident=incident, handles=handles, look_up=False
            ),
        }
        name = escape_mrkdwn(incident.id)
        if sub.name == "update":
            self.engine.post_update(incident.id, sub.argument, public=sub.public, **common)
            where = "here and on the status page" if sub.public else "here"
            text = f"Status update recorded for *{name}*; Firebell posts it {where}."
        elif sub.name == "severity":
            if not sub.argument:
                choices = ", ".join(s.name for s in self.engine.settings.severities)
                text = f"Name the severity: `/incident severity <level>` (one of {choices})."
            else:
                result = self.engine.change_severity(incident.id, sub.argument, **common)
                text = f"*{name}* is now {escape_mrkdwn(result.incident.severity)}."
        elif sub.name == "commander":
            if commander is None:
                text = "Mention the new commander: `/incident commander @name`."
            else:
                self.engine.assign_commander(incident.id, commander, **common)
                text = f"<@{commander}> is now the commander of *{name}*."
        elif sub.name == "resolve":
            self.engine.resolve(incident.id, summary=sub.argument, **common)
            text = f"*{name}* is resolved. Close it with `/close-incident` after the post-mortem."
        elif sub.name == "reopen":
            self.engine.reopen(incident.id, reason=sub.argument, **common)
            text = f"*{name}* is open again."
        elif sub.name == "close" and needs_close_confirmation(incident, self.engine.settings):
            # No follow-ups yet: the close dialog says so and asks (docs/timeline.md).
            self._open_confirm("close", attrs.evolve(request, text=sub.argument), respond)
            return
        else:
            self.engine.close(incident.id, summary=sub.argument, **common)
            text = f"*{name}* is closed; Firebell archives this channel."
        _reply(respond, text)
        self.people.record_names(
            self.engine, incident.id, [actor, commander], actor=actor, handles=handles
        )

    def _open_confirm(
        self,
        action: Literal["resolve", "close"],
        request: SlashCommand,
        respond: Respond | None,
    ) -> None:
        command = f"/{action}-incident"
        try:
            incident = self._incident_in(request.channel_id)
            if incident is None:
                _reply(respond, NOT_AN_INCIDENT_CHANNEL.format(command=command))
                return
            # Refuse before the modal (the engine checks again on submit, against races).
            if action == "resolve":
                incident.check_can_resolve()
            else:
                incident.check_can_close()
            if not self.groups.needs_lookup(action):
                self.engine.permissions.check(action, request.user_id, incident)
            metadata = ModalMetadata(
                channel_id=request.channel_id,
                incident_id=incident.id,
                response_url=request.response_url,
            )
            view = confirm_modal(
                action,
                incident,
                metadata=metadata,
                summary=request.text.strip(),
                warning=close_warning(incident, self.engine.settings) if action == "close" else "",
            )
            self._open_view(request, view, respond)
            # The submission must answer at once: it names the person from the cache.
            self.people.name(request.user_id)
        except Exception as error:
            _reply(respond, error_text(error, doing=f"running {command}"))


def _typed(command: Mapping[str, Any]) -> SlashCommand:
    """The slash command with its text as the person typed it (Slack escapes ``&``, ``<``, ``>``)."""
    request = SlashCommand.from_body(command)
    return attrs.evolve(request, text=unescape_slack(request.text))


def _reply(respond: Respond | None, text: str) -> None:
    """Send an ephemeral reply on the command's response_url; a failure is only logged."""
    if respond is None:
        log.warning("cannot reply (the request had no response_url): %s", text)
        return
    try:
        respond(text=text, response_type="ephemeral")
    except Exception as error:
        log.warning("could not reply on the response_url: %s", error)
