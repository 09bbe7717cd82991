"""What the Slack plugin does for each incident event: :class:`Delivery`, one event delivered,
with the helpers every handler uses and the handlers of the incident's course (resolved,
reopened, closed, severity, commander, updates) and of failing integrations.

The channel's set-up (``incident.created``) and the bookmarks of what other plugins link are
:mod:`.channel_setup`; notes, follow-ups and reminders are :mod:`.record`.

Each handler is safe to run twice for the same event: the channel is found again (the linked
one, or by name), and every message is posted through :meth:`Workspace.post_once`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import attrs
from firebell.core.config import FirebellConfig
from firebell.core.events import (
    CommanderAssigned,
    IncidentClosed,
    IncidentReopened,
    IncidentResolved,
    IntegrationFailed,
    IntegrationRecovered,
    IntegrationSkipped,
    RecordedEvent,
    SeverityChanged,
    StatusUpdatePosted,
)
from firebell.core.incident import Incident
from firebell.plugins.slack.channels import resolved_name, unresolved_name
from firebell.plugins.slack.config import SlackConfig, is_user_id
from firebell.plugins.slack.errors import api_error_code
from firebell.plugins.slack.messages import format_duration, section_message, summary_message, who
from firebell.plugins.slack.notices import (
    closed_text,
    integration_failed_text,
    integration_recovered_text,
    integration_skipped_text,
    severity_change_text,
    topic_text,
)
from firebell.plugins.slack.text import TOPIC_LIMIT, escape_mrkdwn, safe, truncate
from firebell.plugins.slack.workspace import ChannelUnavailable, Message, MessageKey, Workspace
from slack_sdk.errors import SlackApiError

__all__ = ["GONE_ERRORS", "SUMMARY_KIND", "Delivery"]

log = logging.getLogger("firebell.plugins.slack")

#: The kind of the link to the summary message (so it can be updated as the incident moves).
SUMMARY_KIND = "slack-summary"

#: The summary is one per incident; its key does not depend on an event's position.
_SUMMARY_POSITION = 0

#: Slack's errors for a channel or message no longer there to update or bookmark: not retried.
GONE_ERRORS = frozenset(
    {"is_archived", "channel_not_found", "message_not_found", "cant_update_message"}
)


@attrs.frozen
class Delivery:
    """One event delivered to the Slack plugin, with what it needs to act on it."""

    workspace: Workspace
    config: SlackConfig
    event: RecordedEvent
    incident: Incident
    settings: FirebellConfig | None = None
    #: The first attempt of this delivery by a plugin that never failed for the incident:
    #: nothing an earlier attempt posted can be there, so posts need not look first.
    first_attempt: bool = False

    # -- helpers ---------------------------------------------------------------------------

    @property
    def channel_id(self) -> str | None:
        """The incident channel's id, once the plugin linked it."""
        channel = self.incident.resource("channel", plugin="slack")
        return channel.external_id if channel else None

    def key(self, kind: str) -> MessageKey:
        """The dedup key of this event's message of ``kind``."""
        return MessageKey(self.incident.id, self.event.position, kind)

    @property
    def summary_key(self) -> MessageKey:
        """The dedup key of the incident's summary message (one per incident, not per event)."""
        return MessageKey(self.incident.id, _SUMMARY_POSITION, "summary")

    def post(self, channel_id: str, kind: str, message: Message, *, fresh: bool = False) -> str:
        """Post this event's ``kind`` message in ``channel_id`` once; returns its ts."""
        return self.workspace.post_once(
            channel_id, self.key(kind), message, since=self.event.occurred_at, fresh=fresh
        )

    def tell_channel(self, kind: str, text: str, *, fresh: bool = False) -> None:
        """Post a line in the incident channel (nothing if there is none or it is gone).

        ``fresh``: this delivery's first attempt, so no earlier attempt posted the line.
        """
        channel_id = self.channel_id
        if channel_id is None:
            log.info("%s has no Slack channel; not posting %s", self.incident.id, kind)
            return
        try:
            self.post(channel_id, kind, section_message(text), fresh=fresh)
        except ChannelUnavailable as problem:
            log.warning("cannot post in %s's channel: %s", self.incident.id, problem)

    def announce(self, kind: str, text: str) -> dict[str, str]:
        """Post a line in each announcement channel; returns the channels that refused, why."""
        problems: dict[str, str] = {}
        for channel_id in self.config.announcement_channels:
            code = self.announce_in(channel_id, kind, text)
            if code is not None:
                problems[channel_id] = code
        return problems

    def announce_in(
        self, channel_id: str, kind: str, text: str, *, fresh: bool = False
    ) -> str | None:
        """Post a line in one announcement channel; Slack's reason when it refused, or None."""
        try:
            self.post(channel_id, kind, section_message(text), fresh=fresh)
        except ChannelUnavailable as problem:
            log.warning("cannot announce in %s: %s", channel_id, problem.code)
            return problem.code
        return None

    def refresh_summary(self) -> None:
        """Rewrite the summary message with the incident as it is now (resources, commander)."""
        summary = self.incident.resource(SUMMARY_KIND, plugin="slack")
        channel_id = self.channel_id
        if summary is None or channel_id is None:
            return
        ts = summary.external_id.rpartition("/")[2]
        message = self.summary(channel_id)
        try:
            self.workspace.update_message(channel_id, ts, self.summary_key, message)
        except SlackApiError as error:
            if api_error_code(error) not in GONE_ERRORS:
                raise
            log.info("summary of %s can no longer be updated", self.incident.id)

    def summary(self, channel_id: str) -> Message:
        """The incident summary as it is now."""
        return summary_message(
            self.incident,
            channel_id=channel_id,
            settings=self.settings,
            cc_usergroups=self.config.cc_usergroups,
            announcement_channels=self.config.announcement_channels,
            announce_updates=self.config.announce_updates,
        )

    # -- the incident's course -------------------------------------------------------------

    def resolved(self) -> None:
        """Rename the channel to ``…-resolved``, say so there and in the announcements."""
        data = self.event.data
        assert isinstance(data, IncidentResolved)
        self._rename(resolved_name)
        lasted = format_duration(self.event.occurred_at - self.incident.declared_at)
        line = f":white_check_mark: *Resolved* by {who(self.event.actor)} after {lasted}."
        if data.summary:
            line += f"\n{safe(data.summary, 2500)}"
        line += (
            "\nThe channel stays open for the follow-up; `/close-incident` after the post-mortem."
        )
        self.tell_channel("resolved", line)
        where = f" <#{self.channel_id}> stays open for the follow-up." if self.channel_id else ""
        self.announce(
            "resolved",
            f":white_check_mark: Incident `{self.incident.id}` "
            f"_({escape_mrkdwn(self.incident.severity)})_ is *resolved* after {lasted}: "
            f"{safe(self.incident.title, 300)}.{where}",
        )
        self.refresh_summary()

    def reopened(self) -> None:
        """Drop ``-resolved`` from the channel's name and announce the reopening."""
        data = self.event.data
        assert isinstance(data, IncidentReopened)
        self._rename(unresolved_name)
        reason = f": {safe(data.reason, 2500)}" if data.reason else "."
        self.tell_channel(
            "reopened", f":arrows_counterclockwise: *Reopened* by {who(self.event.actor)}{reason}"
        )
        where = f" Join <#{self.channel_id}>." if self.channel_id else ""
        self.announce(
            "reopened",
            f":arrows_counterclockwise: Incident `{self.incident.id}` is *reopened*: "
            f"{safe(self.incident.title, 300)}.{where}",
        )
        self.refresh_summary()

    def closed(self) -> None:
        """Post the final summary, then archive the channel."""
        data = self.event.data
        assert isinstance(data, IncidentClosed)
        channel_id = self.channel_id
        if channel_id is None:
            return
        text = closed_text(
            self.incident,
            self.event.actor,
            data.summary,
            self.event.occurred_at - self.incident.declared_at,
        )
        self.refresh_summary()
        self.tell_channel("closed", text)
        self.workspace.archive(channel_id)

    def severity_changed(self) -> None:
        """Say the severity changed, show it in the topic, and update the summary."""
        data = self.event.data
        assert isinstance(data, SeverityChanged)
        self.tell_channel(
            "severity",
            severity_change_text(data.previous, data.severity, self.event.actor, self.settings),
        )
        self.retopic((data.previous, data.severity))
        self.refresh_summary()

    def retopic(self, severities: Sequence[str] = ()) -> None:
        """Set the topic again for the incident as it is now (its severity), unless people
        rewrote it: only a topic Firebell writes for a configured severity, or for one of
        ``severities``, is replaced."""
        channel_id = self.channel_id
        if channel_id is None:
            return
        known = [s.name for s in self.settings.severities] if self.settings else []
        ours = {
            truncate(topic_text(attrs.evolve(self.incident, severity=name)), TOPIC_LIMIT)
            for name in (*known, *severities)
        }
        wanted = truncate(topic_text(self.incident), TOPIC_LIMIT)
        try:
            if not self.workspace.replace_topic(channel_id, wanted, replacing=ours):
                log.info("left the topic of %s as it is (rewritten, or archived)", channel_id)
        except SlackApiError as error:
            if api_error_code(error) not in GONE_ERRORS:
                raise
            log.info("the topic of %s can no longer be set", self.incident.id)

    def commander_assigned(self) -> None:
        """Invite the new commander, say who it is, and update the summary."""
        data = self.event.data
        assert isinstance(data, CommanderAssigned)
        channel_id = self.channel_id
        if channel_id is not None and is_user_id(data.commander):
            self.workspace.invite(channel_id, [data.commander])
        was = f" (taking over from {who(data.previous)})" if data.previous else ""
        self.tell_channel(
            "commander",
            f":firefighter: {who(data.commander)} is now the incident commander{was}; "
            f"assigned by {who(self.event.actor)}.",
        )
        self.refresh_summary()

    def status_update_posted(self) -> None:
        """Post the update in the channel and, if configured, the announcement channels."""
        data = self.event.data
        assert isinstance(data, StatusUpdatePosted)
        text = safe(data.text, 2800)
        self.tell_channel("update", f":loudspeaker: *Update* from {who(self.event.actor)}:\n{text}")
        if self.config.announce_updates:
            where = f" in <#{self.channel_id}>" if self.channel_id else ""
            self.announce(
                "update",
                f":loudspeaker: *Update on* `{self.incident.id}` "
                f"_({escape_mrkdwn(self.incident.severity)})_{where}:\n{text}",
            )

    # -- integrations ----------------------------------------------------------------------

    def integration_failed(self) -> None:
        """Tell the responders, once, that a plugin is failing for this incident."""
        data = self.event.data
        assert isinstance(data, IntegrationFailed)
        self._tell_somewhere("integration-failed", integration_failed_text(data))

    def integration_recovered(self) -> None:
        """Tell the responders the failing plugin works again, and what it did."""
        data = self.event.data
        assert isinstance(data, IntegrationRecovered)
        self._tell_somewhere(
            "integration-recovered", integration_recovered_text(data, self.incident)
        )

    def integration_skipped(self) -> None:
        """Tell the responders a failing plugin has nothing left to do for this incident."""
        data = self.event.data
        assert isinstance(data, IntegrationSkipped)
        self._tell_somewhere("integration-skipped", integration_skipped_text(data))

    def _tell_somewhere(self, kind: str, text: str) -> None:
        # Without a channel (Slack itself failed to open it) the announcement channels are the
        # only place people look.
        if self.channel_id is not None:
            self.tell_channel(kind, text)
        else:
            self.announce(kind, f"`{self.incident.id}`: {text}")

    def _rename(self, new_name: Callable[[str], str]) -> None:
        channel_id = self.channel_id
        if channel_id is None:
            return
        info = self.workspace.channel_info(channel_id)
        name = str(info.get("name") or "")
        target = new_name(name)
        if info.get("is_archived") or not name or target == name:
            return
        if not self.workspace.rename(channel_id, target):
            log.warning("cannot rename #%s to #%s: the name is taken", name, target)
            self.tell_channel(
                "rename-warning",
                f":warning: Could not rename this channel to #{target}: another channel has "
                "that name.",
            )
