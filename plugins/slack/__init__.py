"""The built-in Slack plugin: the incident channel, its summary and the announcements.

On ``incident.created`` it opens ``#incd-<name>`` (another name when that one is taken), links
it at once (``link_now``: the plugins waiting for Slack start as soon as the channel exists),
then sets the purpose and topic, invites the reporter and the responders, bookmarks the runbook,
posts the summary, sends the reporter a DM and announces the incident, all side by side. Later
events are told in the channel (and the announcement channels), ``-resolved`` is added and
dropped, and closing archives the channel.
Other plugins' documents, pages and status incidents are bookmarked as they are linked, and a
failing integration is reported in the channel once, as is its recovery. Notes, follow-ups and
reminders get one line each in the channel (:mod:`.record`; pins and reactions none).
After the close the channel is archived and the plugin posts nothing more: follow-ups recorded
or done then, and the integration notices they may cause, are left to the post-mortem and
``firebell show`` (:func:`_after_close`).

Every hook is safe to run again for the same event (see :mod:`.workspace`). Slack errors become
``RetryLater`` (outages, rate limits past the client's own retries) or ``PermanentPluginError``
(a bad token, a missing scope), see :mod:`.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from firebell.core.config import FirebellConfig
from firebell.core.events import IncidentClosed, IntegrationFailed, RecordedEvent
from firebell.core.hookspecs import Link, LinkNow, PluginSpec, hookimpl
from firebell.core.incident import Incident
from firebell.plugins.slack.channel_setup import created, resource_linked
from firebell.plugins.slack.client import make_web_client
from firebell.plugins.slack.config import SlackConfig
from firebell.plugins.slack.doctor import check
from firebell.plugins.slack.errors import slack_errors
from firebell.plugins.slack.handlers import Delivery
from firebell.plugins.slack.record import (
    follow_up_added,
    follow_up_done,
    note_added,
    reminder_sent,
)
from firebell.plugins.slack.workspace import Workspace

__all__ = ["PLUGIN_NAME", "SlackConfig"]

#: The name the plugin is installed under (entry point ``slack``); its links carry it.
PLUGIN_NAME = "slack"

T = TypeVar("T")


def _run(
    action: Callable[[Delivery], T],
    event: RecordedEvent,
    incident: Incident,
    config: SlackConfig,
    settings: FirebellConfig,
    *,
    first_attempt: bool = False,
) -> T:
    with slack_errors(config.bot_token.env):
        client = make_web_client(
            config.bot_token.reveal(), base_url=config.api_url, timeout=config.timeout
        )
        delivery = Delivery(
            Workspace(client),
            config,
            event,
            incident,
            settings,
            first_attempt=first_attempt,
        )
        return action(delivery)


def _failed_before(history: Sequence[RecordedEvent]) -> bool:
    """Whether this plugin ever failed for the incident (a parked delivery put back in the queue
    by ``firebell retry`` counts its attempts from 1 again, but its failure stays in the log)."""
    return any(
        isinstance(e.data, IntegrationFailed) and e.data.plugin == PLUGIN_NAME for e in history
    )


def _after_close(event: RecordedEvent, history: Sequence[RecordedEvent]) -> bool:
    """Whether ``event`` came after the incident was closed: its channel is archived (or about
    to be, by the close's own delivery, which comes first), so there is nowhere to post."""
    return any(isinstance(e.data, IncidentClosed) and e.position < event.position for e in history)


@hookimpl
def firebell_plugin_spec() -> PluginSpec:
    """The Slack plugin's settings; it goes first, so others find the channel linked."""
    return PluginSpec(
        config_class=SlackConfig,
        after=(),
        description="Incident channels, summaries and announcements in Slack",
    )


@hookimpl
def firebell_doctor(config: SlackConfig) -> Sequence[str]:
    """Check the token, its scopes, the announcement channels, responders and groups."""
    client = make_web_client(
        config.bot_token.reveal(), base_url=config.api_url, timeout=config.timeout
    )
    return check(client, config)


@hookimpl
def firebell_incident_created(
    event: RecordedEvent,
    incident: Incident,
    config: SlackConfig,
    settings: FirebellConfig,
    link_now: LinkNow,
) -> list[Link]:
    """Open the incident channel and link it at once (the plugins waiting for Slack start
    then), then set it up: topic, invites, bookmark, summary, DM, announcements."""
    return _run(lambda delivery: created(delivery, link_now), event, incident, config, settings)


@hookimpl
def firebell_incident_resource_linked(
    event: RecordedEvent,
    incident: Incident,
    config: SlackConfig,
    settings: FirebellConfig,
    history: Sequence[RecordedEvent],
    attempt: int,
) -> list[Link]:
    """Bookmark and mention what another plugin linked, and update the summary."""
    # Every claim counts as an attempt, so a retry after a crash midway is attempt 2 and looks
    # for what the first one posted; a first attempt has nothing to find.
    first = attempt == 1 and not _failed_before(history)
    return _run(resource_linked, event, incident, config, settings, first_attempt=first)


@hookimpl
def firebell_incident_resolved(
    event: RecordedEvent, incident: Incident, config: SlackConfig, settings: FirebellConfig
) -> None:
    """Rename the channel to ``…-resolved`` and announce the resolution."""
    _run(Delivery.resolved, event, incident, config, settings)


@hookimpl
def firebell_incident_reopened(
    event: RecordedEvent, incident: Incident, config: SlackConfig, settings: FirebellConfig
) -> None:
    """Drop ``-resolved`` from the channel name and announce the reopening."""
    _run(Delivery.reopened, event, incident, config, settings)


@hookimpl
def firebell_incident_closed(
    event: RecordedEvent, incident: Incident, config: SlackConfig, settings: FirebellConfig
) -> None:
    """Post the final summary and archive the channel."""
    _run(Delivery.closed, event, incident, config, settings)


@hookimpl
def firebell_incident_severity_changed(
    event: RecordedEvent, incident: Incident, config: SlackConfig, settings: FirebellConfig
) -> None:
    """Tell the channel about the new severity, and show it in the channel topic."""
    _run(Delivery.severity_changed, event, incident, config, settings)


@hookimpl
def firebell_incident_commander_assigned(
    event: RecordedEvent, incident: Incident, config: SlackConfig, settings: FirebellConfig
) -> None:
    """Invite the new commander and tell the channel."""
    _run(Delivery.commander_assigned, event, incident, config, settings)


@hookimpl
def firebell_incident_status_update_posted(
    event: RecordedEvent, incident: Incident, config: SlackConfig, settings: FirebellConfig
) -> None:
    """Post the update in the channel and the announcement channels."""
    _run(Delivery.status_update_posted, event, incident, config, settings)


@hookimpl
def firebell_incident_integration_failed(
    event: RecordedEvent,
    incident: Incident,
    config: SlackConfig,
    settings: FirebellConfig,
    history: Sequence[RecordedEvent],
) -> None:
    """Warn the channel, once, that a plugin is failing for this incident (not after the
    close: ``firebell show`` and ``firebell plugins`` tell it then)."""
    if _after_close(event, history):
        return
    _run(Delivery.integration_failed, event, incident, config, settings)


@hookimpl
def firebell_incident_integration_recovered(
    event: RecordedEvent,
    incident: Incident,
    config: SlackConfig,
    settings: FirebellConfig,
    history: Sequence[RecordedEvent],
) -> None:
    """Tell the channel the failing plugin works again (not after the close)."""
    if _after_close(event, history):
        return
    _run(Delivery.integration_recovered, event, incident, config, settings)


@hookimpl
def firebell_incident_integration_skipped(
    event: RecordedEvent,
    incident: Incident,
    config: SlackConfig,
    settings: FirebellConfig,
    history: Sequence[RecordedEvent],
) -> None:
    """Tell the channel a failing plugin has nothing left to do (not after the close)."""
    if _after_close(event, history):
        return
    _run(Delivery.integration_skipped, event, incident, config, settings)


@hookimpl
def firebell_timeline_entry_added(
    event: RecordedEvent, incident: Incident, config: SlackConfig, settings: FirebellConfig
) -> None:
    """Echo a note in the channel (a pinned or reacted-to message needs no reply)."""
    _run(note_added, event, incident, config, settings)


@hookimpl
def firebell_followup_added(
    event: RecordedEvent,
    incident: Incident,
    config: SlackConfig,
    settings: FirebellConfig,
    history: Sequence[RecordedEvent],
) -> None:
    """Say in the channel that a follow-up was recorded, naming its owner (nothing after the
    close: the channel is archived)."""
    if _after_close(event, history):
        return
    _run(follow_up_added, event, incident, config, settings)


@hookimpl
def firebell_followup_done(
    event: RecordedEvent,
    incident: Incident,
    config: SlackConfig,
    settings: FirebellConfig,
    history: Sequence[RecordedEvent],
) -> None:
    """Say in the channel that a follow-up was done (nothing after the close: the channel is
    archived)."""
    if _after_close(event, history):
        return
    _run(follow_up_done, event, incident, config, settings)


@hookimpl
def firebell_reminder_sent(
    event: RecordedEvent, incident: Incident, config: SlackConfig, settings: FirebellConfig
) -> None:
    """Post the reminder in the incident channel (unless the incident moved on meanwhile)."""
    _run(reminder_sent, event, incident, config, settings)
