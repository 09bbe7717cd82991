"""The Bolt listeners of the incident's record: pins and reactions, notes and follow-ups.

**Marking messages.** On ``pin_added``, ``pin_removed``, ``reaction_added`` and
``reaction_removed`` (the configured emoji only) in an incident channel, the listener asks Slack
for the message as it is *now* (``reactions.get``: its text, author, reactions and permalink,
thread replies included; ``pins.list``: whether it is pinned) and makes the timeline match: an
entry when the message is pinned or carries the reaction, none when it has neither. Deciding
from Slack's state rather than from the event makes the order events arrive in irrelevant
(an unpin delivered before its pin ends with no entry, as it should) and keeps one entry for a
message both pinned and reacted to. The append's idempotency key is ``slack-event:<event_id>``:
Slack keeps the id when it delivers an event again, so a retry adds nothing.

Slack has its 200 before the lookup, so a lookup that fails (rate-limited past what the client
waits, a 5xx, a timeout, a refusal) must not lose the mark: a pin or reaction is then recorded
from what its event carries (a reaction's text as a placeholder) and the lookup is retried with
backoff until the timeline matches Slack (:mod:`~firebell.adapters.slack.mark_lookups`), or
until the incident is closed: then once more, and a message Slack still cannot show is left as
a linked "could not be read" line rather than a placeholder.

**Subcommands.** ``/incident note <text>``, ``/incident followup <text> [@owner]``,
``/incident followups`` and ``/incident done <number>`` in an incident channel. Their listener
is registered before the adapter's own ``/incident`` listener with a matcher, so it takes only
these subcommands and every other ``/incident`` goes on to the adapter. Outside an incident
channel, text that reads as a title (``/incident Note taking app is down``) is handed back to
the adapter, which offers the declare form filled in with it.

**Names.** Each append passes the names of the people it involves (who marked the message and
who wrote it; who ran the subcommand and a follow-up's owner) through the adapter's
:class:`~firebell.adapters.slack.people.PeopleDirectory`, for the post-mortems. A mark is
recorded after Slack's reads, with names looked up after the ack; a subcommand is recorded at
once with the names known (the cache, else the request's username), and the people are looked
up after its reply (:meth:`~firebell.adapters.slack.people.PeopleDirectory.record_names`).
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Mapping
from typing import Any

from firebell.adapters.slack.groups import GroupDirectory
from firebell.adapters.slack.handlers import SlackAdapter
from firebell.adapters.slack.listener_support import SlashCommand, after_ack
from firebell.adapters.slack.mark_lookups import (
    DEFAULT_RETRY_BASE,
    DEFAULT_RETRY_MAX,
    LookupRetries,
    PendingLookup,
    lookup_failure,
)
from firebell.adapters.slack.message_marks import MessageMarks, message_marks
from firebell.adapters.slack.pending_entries import (
    PENDING_TEXT,
    drop_entry,
    fill_in_entry,
    give_up_entry,
    is_pending,
    message_link,
)
from firebell.adapters.slack.people import PeopleDirectory
from firebell.adapters.slack.replies import NOT_AN_INCIDENT_CHANNEL, error_text
from firebell.adapters.slack.timeline_parsing import (
    MARK_EVENTS,
    RecordCommand,
    event_message,
    parse_record_command,
    plain_text,
    reaction_name,
    ts_to_datetime,
)
from firebell.core import timeline_commands
from firebell.core.errors import CommandRefused, DatabaseUnavailable
from firebell.core.incident import FollowUp, Incident, IncidentState
from firebell.core.runtime import Firebell
from firebell.core.timeline_events import FollowUpAdded, message_entry_id
from firebell.plugins.slack.config import is_user_id
from firebell.plugins.slack.text import SECTION_LIMIT, escape_mrkdwn, safe, truncate
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["DEFAULT_REACTION", "TimelineListeners"]

log = logging.getLogger("firebell.slack.timeline")

DEFAULT_REACTION = "pushpin"


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


class TimelineListeners:
    """Registers the record's listeners on a Bolt app and runs them."""

    def __init__(
        self,
        firebell: Firebell,
        client: WebClient,
        *,
        groups: GroupDirectory,
        people: PeopleDirectory | None = None,
        reaction: str = DEFAULT_REACTION,
        adapter: SlackAdapter | None = None,
        lookup_retry_base: float = DEFAULT_RETRY_BASE,
        lookup_retry_max: float = DEFAULT_RETRY_MAX,
    ) -> None:
        self.firebell = firebell
        #: Offers the declare form for a subcommand's word typed as a title (None: never).
        self.adapter = adapter
        self.engine = firebell.engine
        self.client = client
        self.groups = groups
        self.people = people or PeopleDirectory(client)
        self.reaction = reaction
        # The work after the ack (Bolt answers Slack when the listener returns): reading the
        # marked message from Slack, the append, the reply.
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="firebell-slack-record"
        )
        #: Lookups Slack refused or failed, tried again until it answers (started by register).
        self.retries = LookupRetries(
            firebell.store,
            self._retry_lookup,
            retry_base=lookup_retry_base,
            retry_max=lookup_retry_max,
        )

    @classmethod
    def for_firebell(
        cls,
        firebell: Firebell,
        client: WebClient,
        *,
        groups: GroupDirectory,
        people: PeopleDirectory | None = None,
        adapter: SlackAdapter | None = None,
        lookup_retry_base: float = DEFAULT_RETRY_BASE,
        lookup_retry_max: float = DEFAULT_RETRY_MAX,
    ) -> TimelineListeners:
        """Listeners with the Slack plugin's ``timeline_reaction`` (default ``pushpin``)."""
        slack = firebell.host.enabled.get("slack")
        reaction = getattr(slack.config, "timeline_reaction", None) if slack else None
        return cls(
            firebell,
            client,
            groups=groups,
            people=people,
            reaction=DEFAULT_REACTION if reaction is None else str(reaction),
            adapter=adapter,
            lookup_retry_base=lookup_retry_base,
            lookup_retry_max=lookup_retry_max,
        )

    def register(self, app: App) -> None:
        """Add the listeners; call before the adapter's own, so the matcher sees ``/incident``
        first. Starts the retries of lookups, with the entries the log holds as pending."""
        app.command("/incident", matchers=[_is_record_command])(self.record_command)
        for kind in sorted(MARK_EVENTS):
            app.event(kind)(self.mark_event)
        self.retries.start()

    # -- pins and reactions --------------------------------------------------------------------

    def mark_event(self, ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Make the timeline match a message whose pin or reaction changed (after the ack)."""
        ack()
        after_ack(self._pool, self._mark, body, event)

    def _mark(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        kind = str(event.get("type"))
        item = event.get("item") or {}
        if item.get("type") != "message":
            return
        if kind.startswith("reaction"):
            if not self.reaction or reaction_name(str(event.get("reaction"))) != self.reaction:
                return
            channel_id, ts = str(item["channel"]), str(item["ts"])
        else:
            channel_id, ts = str(event["channel_id"]), str(item["message"]["ts"])
        incident = self.firebell.store.find_incident_by_resource("channel", channel_id)
        if incident is None or incident.state is IncidentState.CLOSED:
            return
        actor = str(event["user"])
        try:
            try:
                marks = message_marks(self.client, channel_id, ts, self.reaction)
            except Exception as error:
                problem = lookup_failure(error)
                if problem is None:
                    raise
                self._lookup_failed(
                    incident, kind, channel_id, ts, actor, body, event, error, problem
                )
                return
            self._apply(incident, marks, channel_id, ts, actor=actor, key=_event_key(body))
        except DatabaseUnavailable as error:
            # Slack retries an event it got no answer for, not one answered; log it for people.
            log.warning("could not record %s on %s: %s", kind, incident.id, error)
        except CommandRefused as error:
            log.info("%s on %s not recorded: %s", kind, incident.id, error)

    def _lookup_failed(
        self,
        incident: Incident,
        kind: str,
        channel_id: str,
        ts: str,
        actor: str,
        body: Mapping[str, Any],
        event: Mapping[str, Any],
        error: Exception,
        problem: str,
    ) -> None:
        """Slack cannot show the marked message now (``problem``, from ``error``): record what
        the event tells, try later."""
        code = error.response.get("error") if isinstance(error, SlackApiError) else None
        advice = (
            " Add pins:read and reactions:read to the Slack app (slack-app-manifest.yaml) "
            "and reinstall it."
            if code == "missing_scope"
            else ""
        )
        log.warning(
            "could not read the marked message on %s: %s; %s, and Slack is asked again later.%s",
            incident.id,
            problem,
            "recorded from the event" if kind.endswith("_added") else "the entry stays for now",
            advice,
        )
        # Scheduled first: should the append fail too, the retry still records the mark.
        lookup = PendingLookup(incident.id, channel_id, ts, actor)
        self.retries.schedule(lookup, wait=self.retries.delay(0, error))
        if kind.endswith("_added"):
            self._add_from_event(incident, kind, channel_id, ts, actor, body, event)

    def _add_from_event(
        self,
        incident: Incident,
        kind: str,
        channel_id: str,
        ts: str,
        actor: str,
        body: Mapping[str, Any],
        event: Mapping[str, Any],
    ) -> None:
        if incident.timeline_entry(message_entry_id(channel_id, ts)) is not None:
            return
        message = event_message(event)
        timeline_commands.add_timeline_entry(
            self.engine,
            incident.id,
            actor=actor,
            author=message.author,
            text=PENDING_TEXT if message.text is None else plain_text(message.text),
            channel_id=channel_id,
            message_ts=ts,
            permalink=message.permalink,
            posted_at=ts_to_datetime(ts),
            source="pin" if kind.startswith("pin") else "reaction",
            idempotency_key=_event_key(body),
            actor_groups=self.groups.groups_for("timeline", actor),
            # Slack is refusing calls now: names come from the cache, the rest after.
            names=self.people.names([actor, message.author], incident=incident, look_up=False),
        )
        self.people.record_names(self.engine, incident.id, [actor, message.author], actor=actor)

    def _retry_lookup(self, lookup: PendingLookup) -> None:
        """One more try of a lookup that failed (run by :class:`LookupRetries`)."""
        incident = self.firebell.store.get_incident(lookup.incident_id)
        if incident is None:
            return
        if incident.state is IncidentState.CLOSED:
            try:
                self._last_lookup(incident, lookup)
            except CommandRefused as error:
                log.info("the marked message on closed %s not settled: %s", incident.id, error)
            return
        marks = message_marks(self.client, lookup.channel_id, lookup.ts, self.reaction)
        try:
            self._apply(incident, marks, lookup.channel_id, lookup.ts, actor=lookup.actor, key=None)
        except CommandRefused as error:
            log.info("the looked-up message on %s not recorded: %s", incident.id, error)

    def _last_lookup(self, incident: Incident, lookup: PendingLookup) -> None:
        """Settle a pending entry of a closed incident: no retry comes after this one.

        Slack's answer fills the entry in (or takes it off, its mark gone); when Slack still
        cannot show the message, the entry says so, linked to the message.
        """
        entry = incident.timeline_entry(message_entry_id(lookup.channel_id, lookup.ts))
        if entry is None or not is_pending(entry):
            return
        groups = self.groups.groups_for("timeline", entry.added_by or lookup.actor)
        try:
            marks = message_marks(self.client, lookup.channel_id, lookup.ts, self.reaction)
        except Exception as error:
            problem = lookup_failure(error)
            if problem is None:
                raise  # not Slack's answer (the database?): tried again later
            log.warning(
                "could not read the marked message %s of %s in %s, now closed: %s; the "
                "timeline says so and links to it",
                lookup.ts,
                lookup.channel_id,
                incident.id,
                problem,
            )
            marks = None
        if marks is not None and marks.marked:
            fill_in_entry(
                self.engine,
                incident.id,
                entry,
                marks,
                actor_groups=groups,
                names=self.people.names([marks.author], incident=incident),
            )
        elif marks is not None:
            drop_entry(self.engine, incident.id, entry, actor_groups=groups)
        else:
            give_up_entry(
                self.engine,
                incident.id,
                entry,
                permalink=self._permalink(incident, lookup.channel_id, lookup.ts),
                actor_groups=groups,
            )

    def _permalink(self, incident: Incident, channel_id: str, ts: str) -> str | None:
        """The message's link: built from the channel's, else asked of Slack (None if refused)."""
        link = message_link(incident, channel_id, ts)
        if link is not None:
            return link
        try:
            return str(
                self.client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"]
            )
        except Exception as error:
            if lookup_failure(error) is None:
                raise
            return None

    def _apply(
        self,
        incident: Incident,
        marks: MessageMarks | None,
        channel_id: str,
        ts: str,
        *,
        actor: str,
        key: str | None,
    ) -> None:
        """Make the timeline match ``marks``, Slack's answer about the message ``ts``."""
        entry = incident.timeline_entry(message_entry_id(channel_id, ts))
        groups = self.groups.groups_for("timeline", actor)
        if marks is not None and marks.marked and entry is None:
            names = self.people.names([actor, marks.author], incident=incident)
            timeline_commands.add_timeline_entry(
                self.engine,
                incident.id,
                actor=actor,
                author=marks.author,
                text=plain_text(marks.text),
                channel_id=channel_id,
                message_ts=ts,
                permalink=marks.permalink,
                posted_at=ts_to_datetime(ts),
                source="pin" if marks.pinned else "reaction",
                idempotency_key=key,
                actor_groups=groups,
                names=names,
            )
        elif marks is not None and marks.marked and entry is not None and is_pending(entry):
            fill_in_entry(
                self.engine,
                incident.id,
                entry,
                marks,
                actor_groups=self.groups.groups_for("timeline", entry.added_by or actor),
                names=self.people.names([marks.author], incident=incident),
            )
        elif (marks is None or not marks.marked) and entry is not None:
            timeline_commands.remove_timeline_entry(
                self.engine,
                incident.id,
                actor=actor,
                channel_id=channel_id,
                message_ts=ts,
                idempotency_key=key,
                actor_groups=groups,
                names=self.people.names([actor], incident=incident),
            )

    # -- /incident note | followup | followups | done ------------------------------------------

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


def _event_key(body: Mapping[str, Any]) -> str:
    """The idempotency key of an event's append: Slack keeps the id when it sends it again."""
    return f"slack-event:{body['event_id']}"


def _is_record_command(command: dict[str, Any]) -> bool:
    text = command.get("text")
    return isinstance(text, str) and parse_record_command(text) is not None
