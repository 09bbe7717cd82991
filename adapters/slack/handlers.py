"""The Bolt listeners: slash commands and modal submissions turned into engine commands.

Slash commands are acknowledged at once; the work (a fast read or append, and any ``views.open``
while the trigger is fresh) runs after the acknowledgement on a pool of the adapter's, and the
outcome comes back as an ephemeral reply on the command's ``response_url``. Modal submissions
must be answered with the outcome (inline errors keep the modal open), so the engine command
runs first, bounded by a deadline under Slack's three seconds. Bolt answers Slack as soon as a
listener returns (``process_before_response``, see :func:`~firebell.adapters.slack.build_app`),
so no listener does anything slow after its ack on Bolt's thread.

Each command passes the names of the people it involves (``names=``, from a
:class:`~firebell.adapters.slack.people.PeopleDirectory`), which the engine records with it
when the incident lacks them, for the post-mortems. Those are the names already known (the
cache, else the username the request carries), so that a slow ``users.info`` never holds up
a command or reorders commands; the people are looked up after the command is recorded and
answered, and a better name (a real name where the incident holds a username or an id) is
appended then (:meth:`~firebell.adapters.slack.people.PeopleDirectory.record_names`).
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

import attrs
from firebell.adapters.slack.declaration_watch import DeclarationWatch, post_ephemeral
from firebell.adapters.slack.groups import GroupDirectory
from firebell.adapters.slack.modals import (
    CLOSE_CALLBACK,
    DECLARE_CALLBACK,
    DESCRIPTION_BLOCK,
    RESOLVE_CALLBACK,
    SEVERITY_BLOCK,
    SUMMARY_BLOCK,
    TITLE_BLOCK,
    ModalMetadata,
    confirm_modal,
    declare_modal,
    read_declare_form,
    read_text,
)
from firebell.adapters.slack.parsing import (
    Subcommand,
    offered_declaration,
    parse_incident_text,
    parse_user_mention,
    payload_problem,
    reads_as_title,
    title_and_description,
)
from firebell.adapters.slack.people import PeopleDirectory
from firebell.adapters.slack.replies import (
    NOT_AN_INCIDENT_CHANNEL,
    describe_error,
    error_text,
    help_text,
    named_people,
)
from firebell.adapters.slack.timeline_parsing import (
    close_warning,
    needs_close_confirmation,
    unescape_slack,
)
from firebell.core.errors import CommandRefused, InvalidInput
from firebell.core.incident import Incident
from firebell.core.runtime import Firebell
from firebell.core.store import AppendResult
from firebell.plugins.slack.text import escape_mrkdwn
from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["SUBMIT_DEADLINE", "SlackAdapter", "SlashCommand", "after_ack"]

log = logging.getLogger("firebell.slack")

T = TypeVar("T")

SUBMIT_DEADLINE = 2.5
"""Seconds a modal submission may spend in the engine before the modal is answered anyway."""

STILL_WORKING = (
    "Firebell's database is slow to answer, so this may not be recorded yet. Press the button "
    "again in a moment: it will not be recorded twice."
)
IN_INCIDENT_CHANNEL = (
    "This is the channel of *{name}*. For it: `/incident update <text>` (see `/incident help`). "
    "To declare another incident, use the form (`/incident` with no text) or run the command in "
    "another channel."
)
INCOMPLETE_FORM = "Slack sent an incomplete form. Close it and run the command again."
TAKEN_AS_TITLE = (
    "`/incident {word}` works in an incident's own channel, and this channel is not one, so "
    "Firebell took your text for a new incident. Check it and declare, or cancel and run the "
    "command in the incident's channel (`/incident help` lists the commands)."
)

_INLINE_ERROR_LIMIT = 1000
#: Threads sending confirmations on response_urls (each a short HTTPS POST, 5 s at most).
_REPLY_THREADS = 4
#: Threads running slash commands after their ack (a read or append, views.open, the reply).
_COMMAND_THREADS = 8


@attrs.frozen
class SlashCommand:
    """The fields of a slash command the adapter uses (form fields are all strings)."""

    text: str
    user_id: str
    channel_id: str
    trigger_id: str
    response_url: str
    #: The person's username (Slack's ``user_name``): their name when ``users.info`` gives none.
    user_name: str = ""

    @classmethod
    def from_body(cls, command: Mapping[str, Any]) -> SlashCommand:
        """Read the fields, treating any missing or non-string one as empty."""

        def field(name: str) -> str:
            value = command.get(name)
            return value if isinstance(value, str) else ""

        return cls(
            field("text"),
            field("user_id"),
            field("channel_id"),
            field("trigger_id"),
            field("response_url"),
            field("user_name"),
        )

    @property
    def idempotency_key(self) -> str | None:
        """The key that makes a retried command one command (Slack retries keep the trigger id)."""
        return f"slack-cmd:{self.trigger_id}" if self.trigger_id else None


def _reject_malformed(body: Any, next: Callable[[], None], resp: BoltResponse) -> BoltResponse:
    # The HTTP endpoint refuses these before Bolt; Socket Mode envelopes come here directly.
    problem = payload_problem(body)
    if problem is not None:
        log.warning("refused a malformed Slack request: %s", problem)
        return BoltResponse(status=400, body={"error": "malformed request", "detail": problem})
    next()
    return resp


class SlackAdapter:
    """Registers Firebell's slash commands and modals on a Bolt app and runs them."""

    def __init__(
        self,
        firebell: Firebell,
        client: WebClient,
        *,
        groups: GroupDirectory,
        people: PeopleDirectory | None = None,
        submit_deadline: float = SUBMIT_DEADLINE,
        declarations: DeclarationWatch | None = None,
    ) -> None:
        self.firebell = firebell
        # Tells a reporter when Slack refused to set up what they declared (the bot cannot).
        self.declarations = declarations or DeclarationWatch(firebell)
        self.engine = firebell.engine
        self.client = client
        self.groups = groups
        self.people = people or PeopleDirectory(client)
        self.submit_deadline = submit_deadline
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="firebell-slack"
        )
        # Confirmations on a response_url are sent from here, not from Bolt's listener thread:
        # its pool is small, and a reply's round trip there held up the next submissions' acks
        # (536 ms median under a burst of 100 declarations, against 13 ms alone).
        self._replies = concurrent.futures.ThreadPoolExecutor(
            max_workers=_REPLY_THREADS, thread_name_prefix="firebell-slack-reply"
        )
        # A slash command's work after its ack: Bolt answers Slack only when the listener
        # returns, and the answer must not wait for views.open or the reply.
        self._commands = concurrent.futures.ThreadPoolExecutor(
            max_workers=_COMMAND_THREADS, thread_name_prefix="firebell-slack-command"
        )

    def register(self, app: App) -> None:
        """Add the listeners (and the malformed-payload guard) to ``app``."""
        app.use(_reject_malformed)
        app.command("/incident")(self.incident_command)
        app.command("/resolve-incident")(self.resolve_command)
        app.command("/close-incident")(self.close_command)
        app.view(DECLARE_CALLBACK)(self.declare_submitted)
        app.view(RESOLVE_CALLBACK)(self.resolve_submitted)
        app.view(CLOSE_CALLBACK)(self.close_submitted)

    # -- slash commands ----------------------------------------------------------------------

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
        _reply(respond, _declared_text(result))
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

    # -- modal submissions -------------------------------------------------------------------

    def declare_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The declare form was submitted: declare (once per view) or show what to fix."""
        user_id = body["user"]["id"]
        form = read_declare_form(view)
        metadata = ModalMetadata.load(view.get("private_metadata"))
        handles = {user_id: _username(body["user"])}
        names = self.people.names([user_id], handles=handles, look_up=False)

        def declare() -> AppendResult:
            return self.engine.declare(
                title=form.title,
                description=form.description,
                severity=form.severity,
                customer_facing=form.customer_facing,
                reporter=user_id,
                source="slack",
                idempotency_key=f"slack-view:{view['id']}",
                actor_groups=self.groups.groups_for("declare", user_id),
                names=names,
            )

        fields = {TITLE_BLOCK, DESCRIPTION_BLOCK, SEVERITY_BLOCK}
        result = self._submit(ack, declare, fields=fields, default_block=TITLE_BLOCK)
        if result is None or result.duplicate:
            return
        if metadata.response_url:
            self._replies.submit(post_ephemeral, metadata.response_url, _declared_text(result))
            self.declarations.watch(result.incident.id, metadata.response_url)
        # Submitted on a process that did not open the form: nothing cached, look them up now.
        after_ack(
            self._commands,
            functools.partial(self.people.record_names, actor=user_id, handles=handles),
            self.engine,
            result.incident.id,
            [user_id],
        )

    def resolve_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The resolve confirmation was submitted."""
        self._confirm_submitted("resolve", ack, body, view)

    def close_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The close confirmation was submitted."""
        self._confirm_submitted("close", ack, body, view)

    def _confirm_submitted(
        self,
        action: Literal["resolve", "close"],
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
    ) -> None:
        user_id = body["user"]["id"]
        metadata = ModalMetadata.load(view.get("private_metadata"))
        incident_id = metadata.incident_id
        if incident_id is None:
            ack(response_action="errors", errors={SUMMARY_BLOCK: INCOMPLETE_FORM})
            return
        summary = read_text(view, SUMMARY_BLOCK)
        key = f"slack-view:{view['id']}"
        # Only a name looked up before: a username could replace the real name recorded earlier.
        names = self.people.names([user_id], look_up=False)

        def run() -> AppendResult:
            groups = self.groups.groups_for(action, user_id)
            command = self.engine.resolve if action == "resolve" else self.engine.close
            try:
                return command(
                    incident_id,
                    actor=user_id,
                    summary=summary,
                    idempotency_key=key,
                    actor_groups=groups,
                    names=names,
                )
            except CommandRefused as error:
                # The modal's error is plain text, where a mention shows as a raw id.
                named = named_people(str(error), self.engine.get(incident_id).names)
                raise CommandRefused(named) from error

        self._submit(ack, run, fields={SUMMARY_BLOCK}, default_block=SUMMARY_BLOCK)

    def _submit(
        self,
        ack: Ack,
        work: Callable[[], T],
        *,
        fields: set[str],
        default_block: str,
    ) -> T | None:
        """Run ``work`` within the deadline and answer the modal: closed, or inline errors."""
        future = self._pool.submit(work)
        try:
            result = future.result(timeout=self.submit_deadline)
        except concurrent.futures.TimeoutError:
            log.warning(
                "a modal submission took over %.1fs; asked to submit again", self.submit_deadline
            )
            ack(response_action="errors", errors={default_block: STILL_WORKING})
            return None
        except Exception as error:
            field = error.field if isinstance(error, InvalidInput) else None
            block = field if field in fields else default_block
            message = describe_error(error, doing="recording the form")
            ack(response_action="errors", errors={block: message[:_INLINE_ERROR_LIMIT]})
            return None
        ack()
        return result


def after_ack(
    pool: concurrent.futures.Executor, work: Callable[..., object], *args: object
) -> None:
    """Run ``work(*args)`` on ``pool`` once the listener returned (and Bolt answered Slack).

    What it raises is logged: nobody waits for its result.
    """

    def run() -> None:
        try:
            work(*args)
        except Exception:
            log.exception("a Slack request's work after its ack failed")

    pool.submit(run)


def _typed(command: Mapping[str, Any]) -> SlashCommand:
    """The slash command with its text as the person typed it (Slack escapes ``&``, ``<``, ``>``)."""
    request = SlashCommand.from_body(command)
    return attrs.evolve(request, text=unescape_slack(request.text))


def _username(user: Mapping[str, Any]) -> str:
    """The username a view submission's ``user`` carries (``username``, else ``name``)."""
    for key in ("username", "name"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _declared_text(result: AppendResult) -> str:
    incident = result.incident
    return (
        f"Declared *{escape_mrkdwn(incident.id)}* ({escape_mrkdwn(incident.severity)}): "
        f"{escape_mrkdwn(incident.title)}\nFirebell is opening its channel and will DM you a link."
    )


def _reply(respond: Respond | None, text: str) -> None:
    """Send an ephemeral reply on the command's response_url; a failure is only logged."""
    if respond is None:
        log.warning("cannot reply (the request had no response_url): %s", text)
        return
    try:
        respond(text=text, response_type="ephemeral")
    except Exception as error:
        log.warning("could not reply on the response_url: %s", error)
