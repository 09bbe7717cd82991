"""The ``notion`` plugin: a post-mortem page per incident in a Notion database.

- ``incident.created``: a page with the incident's properties and the seed's four sections
  (description and Slack channel link, timeline, root cause analysis, mitigation to-dos),
  recorded as a ``document`` link (the Slack plugin bookmarks it).
- ``incident.resource_linked``: the Slack channel and PagerDuty URLs go into their properties;
  a channel made after the page (Slack down or refusing at declare time) also replaces the
  page's "none yet" channel paragraph, unless people rewrote it (the resolve, the timeline and
  the follow-ups do the same when they read the page).
- ``incident.resolved``: the Timeline section is filled from the event log (UTC times, who),
  merged with the messages marked in the channel; Duration and Status are set.
  ``incident.reopened`` and ``incident.closed`` set the Status.
- ``timeline.entry_added`` / ``_removed`` after the resolve: the Timeline is brought up to date
  (before it, the resolve fills it).
- ``followup.added`` / ``followup.done``: the to-dos under "4. Mitigation tasks" follow them.
- ``incident.severity_changed``, ``incident.commander_assigned`` and ``person.named`` (the
  reporter's or the commander's): the summary line at the top shows the incident as it is now,
  updated in place unless people rewrote it (the resolve, the timeline and the follow-ups do the
  same when they read the page); a severity change also sets the Severity property.

People (the reporter, who did what on the timeline, follow-up owners) show by the names the log
recorded for them (``person.named``), else by their ids.

The hooks that keep the summary line are in :mod:`.summary_line`, ``firebell doctor``'s check in
:mod:`.doctor`; the page itself is written by :mod:`.postmortem`. See docs/plugins/notion.md for
the settings and how to set up the integration.
"""

from __future__ import annotations

from collections.abc import Sequence

from firebell.core import (
    Incident,
    IncidentState,
    IntegrationFailed,
    Link,
    PluginSpec,
    RecordedEvent,
    Resource,
    ResourceLinked,
    hookimpl,
)
from firebell.core.config import FirebellConfig
from firebell.core.incident import replay
from firebell.plugins.notion.config import NotionConfig, PropertyNames, StatusValues
from firebell.plugins.notion.content import timeline_lines
from firebell.plugins.notion.doctor import check, firebell_doctor
from firebell.plugins.notion.incident_page import (
    PLUGIN_NAME,
    linked_page_id,
    page_or_create,
    slack_configured,
)
from firebell.plugins.notion.postmortem import Summary, postmortems_for
from firebell.plugins.notion.properties import minutes_between
from firebell.plugins.notion.summary_line import (
    firebell_incident_commander_assigned,
    firebell_incident_severity_changed,
    firebell_person_named,
)

__all__ = [
    "PLUGIN_NAME",
    "NotionConfig",
    "PropertyNames",
    "StatusValues",
    "check",
    "firebell_doctor",
    "firebell_followup_added",
    "firebell_followup_done",
    "firebell_incident_closed",
    "firebell_incident_commander_assigned",
    "firebell_incident_created",
    "firebell_incident_reopened",
    "firebell_incident_resolved",
    "firebell_incident_resource_linked",
    "firebell_incident_severity_changed",
    "firebell_person_named",
    "firebell_plugin_spec",
    "firebell_timeline_entry_added",
    "firebell_timeline_entry_removed",
]

# Which property a linked resource's URL goes to.
_LINKED_ROLES = {"channel": "channel", "pager-incident": "pager"}


@hookimpl
def firebell_plugin_spec() -> PluginSpec:
    """The Notion plugin's settings; it waits for slack so the channel link is on the page."""
    return PluginSpec(
        config_class=NotionConfig,
        after=("slack",),
        description="Writes a post-mortem page per incident in a Notion database.",
    )


def _page_linked_after(incident: Incident, linked: ResourceLinked) -> bool:
    """Whether this plugin's page was linked after ``linked`` (an incident keeps its resources in
    the order they were linked).

    A page found again after an interrupted delivery is linked late too, but was perhaps made
    before the link: that path fills the channel in itself
    (:func:`~firebell.plugins.notion.incident_page.page_or_create`).
    """
    order = incident.resources
    key = (linked.kind, linked.external_id, linked.plugin)
    link = next((i for i, r in enumerate(order) if (r.kind, r.external_id, r.plugin) == key), None)
    page = [i for i, r in enumerate(order) if r.kind == "document" and r.plugin == PLUGIN_NAME]
    return link is not None and bool(page) and page[-1] > link


@hookimpl
def firebell_incident_created(
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
    attempt: int,
    settings: FirebellConfig,
) -> Link | None:
    """Create the post-mortem page (or find the one an interrupted delivery created)."""
    if linked_page_id(incident) is not None:
        return None
    # A first attempt has nothing earlier to find (the attempt counts every claim, so a retry
    # after a crash is attempt 2); a parked delivery put back by `firebell retry` counts from 1
    # again, but its failure stays in the log.
    fresh = attempt == 1 and not _failed_before(history)
    return postmortems_for(config).ensure_page(
        incident, fresh=fresh, slack_configured=slack_configured(settings)
    )


def _failed_before(history: Sequence[RecordedEvent]) -> bool:
    """Whether this plugin ever failed for the incident."""
    return any(
        isinstance(e.data, IntegrationFailed) and e.data.plugin == PLUGIN_NAME for e in history
    )


@hookimpl
def firebell_incident_resource_linked(
    event: RecordedEvent, incident: Incident, config: NotionConfig
) -> None:
    """Put a newly linked Slack channel or PagerDuty incident's URL into the page's properties,
    and show a channel made after the page in its channel paragraph."""
    data = event.data
    if not isinstance(data, ResourceLinked) or data.kind not in _LINKED_ROLES:
        return
    page_id = linked_page_id(incident)
    if page_id is None:
        return  # the page is made later, with every link known by then
    if data.kind == "channel" and _page_linked_after(incident, data):
        # This plugin waits for Slack's delivery of an event (after = ["slack"]), so a page
        # linked after the channel was made with the channel in it. As a declaration goes, this
        # saves a property update and a read of the page, which with Notion's 3 requests a
        # second made the next request wait for the next second. (Not so for the PagerDuty
        # incident: PagerDuty runs beside this plugin, and its link may come while the page is
        # being made without it.)
        return
    postmortems = postmortems_for(config)
    if data.url:
        postmortems.set_properties(
            page_id, {_LINKED_ROLES[data.kind]: data.url}, what=f"link the {data.kind}"
        )
    if data.kind == "channel":
        channel = Resource(data.plugin, data.kind, data.external_id, data.url, data.title)
        postmortems.fill_channel(page_id, channel)


@hookimpl
def firebell_incident_resolved(
    event: RecordedEvent,
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> Link | None:
    """Fill the Timeline section from the log and set Duration and Status."""
    postmortems = postmortems_for(config)
    page_id, link = page_or_create(postmortems, incident, settings)
    until_now = [e for e in history if e.position <= event.position]
    postmortems.fill_timeline(
        page_id,
        timeline_lines(until_now),
        channel=incident.resource("channel"),
        summary=Summary.of(incident, history),
    )
    postmortems.set_properties(
        page_id,
        {
            "duration": minutes_between(incident.declared_at, event.occurred_at),
            "status": config.status_values.resolved,
        },
        what="set the duration and status",
    )
    return link


@hookimpl
def firebell_incident_reopened(
    incident: Incident, config: NotionConfig, settings: FirebellConfig
) -> Link | None:
    """Set the page's Status back to open."""
    return _set_status(incident, config, settings, config.status_values.open)


@hookimpl
def firebell_incident_closed(
    incident: Incident, config: NotionConfig, settings: FirebellConfig
) -> Link | None:
    """Set the page's Status to closed."""
    return _set_status(incident, config, settings, config.status_values.closed)


def _refresh_timeline(
    event: RecordedEvent,
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> Link | None:
    until_now = [e for e in history if e.position <= event.position]
    state = replay(until_now)
    if state is None or state.state is IncidentState.OPEN:
        # While the incident runs, the resolve fills the whole timeline; after the close an
        # entry still changes when the Slack adapter settles one Slack had not shown.
        return None
    postmortems = postmortems_for(config)
    page_id, link = page_or_create(postmortems, incident, settings)
    postmortems.fill_timeline(
        page_id,
        timeline_lines(until_now),
        channel=incident.resource("channel"),
        summary=Summary.of(incident, history),
    )
    return link


@hookimpl
def firebell_timeline_entry_added(
    event: RecordedEvent,
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> Link | None:
    """After the resolve, bring the Timeline section up to date with the new entry."""
    return _refresh_timeline(event, incident, config, history, settings)


@hookimpl
def firebell_timeline_entry_removed(
    event: RecordedEvent,
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> Link | None:
    """After the resolve, take the unmarked message out of the Timeline section."""
    return _refresh_timeline(event, incident, config, history, settings)


def _fill_follow_ups(
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> Link | None:
    postmortems = postmortems_for(config)
    page_id, link = page_or_create(postmortems, incident, settings)
    postmortems.fill_follow_ups(
        page_id,
        incident.follow_ups,
        incident.names,
        channel=incident.resource("channel"),
        summary=Summary.of(incident, history),
    )
    return link


@hookimpl
def firebell_followup_added(
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> Link | None:
    """Add the follow-up as a to-do under "4. Mitigation tasks"."""
    return _fill_follow_ups(incident, config, history, settings)


@hookimpl
def firebell_followup_done(
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
) -> Link | None:
    """Tick the follow-up's to-do."""
    return _fill_follow_ups(incident, config, history, settings)


def _set_status(
    incident: Incident, config: NotionConfig, settings: FirebellConfig, status: str
) -> Link | None:
    postmortems = postmortems_for(config)
    page_id, link = page_or_create(postmortems, incident, settings)
    postmortems.set_properties(page_id, {"status": status}, what="set the status")
    return link
