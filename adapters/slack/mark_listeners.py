"""The listeners of pins and reactions: the timeline made to match how Slack marks a message.

On ``pin_added``, ``pin_removed``, ``reaction_added`` and ``reaction_removed`` (the configured
emoji only) in an incident channel, the listener asks Slack for the message as it is *now*
(``reactions.get``: its text, author, reactions and permalink, thread replies included;
``pins.list``: whether it is pinned) and makes the timeline match: an entry when the message is
pinned or carries the reaction, none when it has neither. Deciding from Slack's state rather than
from the event makes the order events arrive in irrelevant (an unpin delivered before its pin ends
with no entry, as it should) and keeps one entry for a message both pinned and reacted to. The
append's idempotency key is ``slack-event:<event_id>``: Slack keeps the id when it delivers an
event again, so a retry adds nothing.

Slack has its 200 before the lookup, so a lookup that fails (rate-limited past what the client
waits, a 5xx, a timeout, a refusal) must not lose the mark: a pin or reaction is then recorded
from what its event carries (a reaction's text as a placeholder) and the lookup is retried with
backoff until the timeline matches Slack (:mod:`~firebell.adapters.slack.mark_lookups`), or
until the incident is closed: then once more, and a message Slack still cannot show is left as
a linked "could not be read" line rather than a placeholder. An unpin or a reaction taken back
whose lookup fails takes the entry off at once (the retry puts it back if the message is still
marked otherwise): the log holds the change, so a restart does not leave it on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from firebell.adapters.slack.listener_support import after_ack
from firebell.adapters.slack.mark_lookups import PendingLookup, lookup_failure
from firebell.adapters.slack.message_marks import MessageMarks, message_marks
from firebell.adapters.slack.pending_entries import (
    PENDING_TEXT,
    drop_entry,
    fill_in_entry,
    give_up_entry,
    is_pending,
    message_link,
)
from firebell.adapters.slack.timeline_parsing import (
    event_message,
    plain_text,
    reaction_name,
    ts_to_datetime,
)
from firebell.adapters.slack.timeline_parts import TimelineParts
from firebell.core import timeline_commands
from firebell.core.errors import CommandRefused, DatabaseUnavailable
from firebell.core.incident import Incident, IncidentState
from firebell.core.timeline_events import message_entry_id
from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

__all__ = ["MarkListeners"]

log = logging.getLogger("firebell.slack.timeline")


class MarkListeners(TimelineParts):
    """The pin and reaction listeners of
    :class:`~firebell.adapters.slack.timeline_listeners.TimelineListeners`."""

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
            "recorded from the event"
            if kind.endswith("_added")
            else "the entry is taken off now and comes back if the message is still marked",
            advice,
        )
        lookup = PendingLookup(incident.id, channel_id, ts, actor)
        if kind.endswith("_added"):
            # Scheduled first: should the append fail too, the retry still records the mark.
            self.retries.schedule(lookup, wait=self.retries.delay(0, error))
            self._add_from_event(incident, kind, channel_id, ts, actor, body, event)
            return
        try:
            self._take_off_now(incident, channel_id, ts, actor, body)
        finally:
            # Scheduled after the removal, so that its answer comes after it, and whatever
            # the removal's fate.
            self.retries.schedule(lookup, wait=self.retries.delay(0, error))

    def _take_off_now(
        self, incident: Incident, channel_id: str, ts: str, actor: str, body: Mapping[str, Any]
    ) -> None:
        """Take an unmarked message's entry off before Slack has shown the message.

        Recorded in the log, not held with the retry (a restart loses that): the usual unmark
        takes the message's only mark. A message still marked otherwise (pinned and reacted to)
        gets its entry back when the retry finds it so.
        """
        if incident.timeline_entry(message_entry_id(channel_id, ts)) is None:
            return
        timeline_commands.remove_timeline_entry(
            self.engine,
            incident.id,
            actor=actor,
            channel_id=channel_id,
            message_ts=ts,
            idempotency_key=_event_key(body),
            actor_groups=self.groups.groups_for("timeline", actor),
            names=self.people.names([actor], incident=incident, look_up=False),
        )

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


def _event_key(body: Mapping[str, Any]) -> str:
    """The idempotency key of an event's append: Slack keeps the id when it sends it again."""
    return f"slack-event:{body['event_id']}"
