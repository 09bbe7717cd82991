"""The ``pagerduty`` plugin: pages on-call for new incidents and keeps PagerDuty in step.

What it does on each event (docs/plugins/pagerduty.md has the whole story):

* ``incident.created``, severity in ``severities``: opens a PagerDuty incident (REST mode:
  ``POST /incidents`` with ``incident_key`` = the incident's id; events mode: a ``trigger`` with
  ``dedup_key`` = the incident's id) and links it as ``pager-incident``.
* ``incident.resolved`` (``resolve_on_resolved``): resolves it.
* ``incident.reopened``: pages again -- REST: a new PagerDuty incident keyed
  ``<id>:reopen:<position>`` unless the previous one is still open; events: the same ``trigger``.
* ``incident.severity_changed``: pages an incident raised into ``severities`` that was not paged
  yet; otherwise (REST) moves the PagerDuty incident's urgency when the mapping changes it.
* ``incident.status_update_posted`` (``notes_for_updates``, REST): adds the update as a note.
* ``incident.closed``: nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from firebell.core import (
    FirebellConfig,
    Incident,
    IncidentCreated,
    IncidentState,
    Link,
    NothingToDo,
    PluginSpec,
    RecordedEvent,
    Resource,
    ResourceLinked,
    SeverityChanged,
    StatusUpdatePosted,
    hookimpl,
)
from firebell.plugins.pagerduty import events, rest
from firebell.plugins.pagerduty.checks import check, severity_problems
from firebell.plugins.pagerduty.client import rest_client_for, translate_errors
from firebell.plugins.pagerduty.config import PagerDutyConfig

__all__ = ["PLUGIN_NAME", "PagerDutyConfig", "check"]

PLUGIN_NAME = "pagerduty"
"""The name this plugin is installed under (the entry point); its links carry it."""


@hookimpl
def firebell_plugin_spec() -> PluginSpec:
    """The PagerDuty plugin's settings; it waits for slack so the channel link is known."""
    return PluginSpec(
        config_class=PagerDutyConfig,
        after=("slack",),
        description="Pages on-call in PagerDuty (REST API or Events API v2).",
    )


@hookimpl
def firebell_check_settings(config: PagerDutyConfig, settings: FirebellConfig) -> list[str]:
    """Refuse severity names in ``severities`` and ``urgency`` that Firebell does not have."""
    return severity_problems(config, settings)


@hookimpl
def firebell_incident_created(
    event: RecordedEvent, incident: Incident, config: PagerDutyConfig, attempt: int
) -> Link | None:
    """Page for a new incident whose declared severity is in ``severities``."""
    assert isinstance(event.data, IncidentCreated)
    severity = event.data.severity
    if not config.pages_for(severity) or _paged(incident) is not None:
        return None
    if incident.state is not IncidentState.OPEN:
        # Resolved before this delivery ran (PagerDuty was down): do not wake anyone for it,
        # and do not let the delivery pass for PagerDuty working again.
        raise _too_late(incident, "resolved")
    return _page(config, incident, key=incident.id, severity=severity, look_first=attempt > 1)


def _too_late(incident: Incident, verb: str) -> NothingToDo:
    """What a page that came too late raises: nothing to do, and PagerDuty was not reached."""
    then = "closed" if incident.state is IncidentState.CLOSED else verb
    return NothingToDo(f"the incident was {then} before PagerDuty could be paged")


@hookimpl
def firebell_incident_resolved(incident: Incident, config: PagerDutyConfig) -> None:
    """Resolve the PagerDuty incident (or alert) when ``resolve_on_resolved``."""
    paged = _paged(incident)
    if not config.resolve_on_resolved or paged is None:
        return
    if config.mode == "events":
        events.resolve(config, paged.external_id)
        return
    client = rest_client_for(config)
    rest.resolve_incident(client, config, paged.external_id)


@hookimpl
def firebell_incident_reopened(
    event: RecordedEvent,
    incident: Incident,
    config: PagerDutyConfig,
    history: Sequence[RecordedEvent],
    attempt: int,
) -> Link | None:
    """Page again for a reopened incident whose severity is in ``severities``.

    PagerDuty cannot re-trigger a resolved incident through the REST API, so REST mode opens a
    new one keyed ``<id>:reopen:<event position>`` (the key makes a repeated delivery find it);
    when the previous PagerDuty incident is still open (say ``resolve_on_resolved = false``)
    responders are on it already and nothing is opened. Events mode triggers the same
    ``dedup_key``, which PagerDuty turns into a new incident only when the old one is resolved.
    """
    if not config.pages_for(incident.severity):
        return None
    if incident.state is not IncidentState.OPEN:
        raise _too_late(incident, "resolved again")
    paged = _paged(incident)
    if config.mode == "events":
        link = _page(config, incident, key=incident.id, severity=incident.severity)
        return link if paged is None else None
    if _linked_after(history, event.position):
        return None  # this reopen was paged and recorded by an earlier delivery
    if paged is not None and _still_open(config, paged.external_id):
        return None
    key = f"{incident.id}:reopen:{event.position}"
    return _page(config, incident, key=key, severity=incident.severity, look_first=attempt > 1)


@hookimpl
def firebell_incident_severity_changed(
    event: RecordedEvent, incident: Incident, config: PagerDutyConfig, attempt: int
) -> Link | None:
    """Page an incident raised into ``severities``; else follow the urgency mapping (REST)."""
    assert isinstance(event.data, SeverityChanged)
    new, previous = event.data.severity, event.data.previous
    paged = _paged(incident)
    if paged is None:
        if not config.pages_for(new):
            return None
        if incident.state is not IncidentState.OPEN:
            raise _too_late(incident, "resolved")
        return _page(config, incident, key=incident.id, severity=new, look_first=attempt > 1)
    urgency = config.urgency_for(new)
    if config.mode == "rest" and urgency != config.urgency_for(previous):
        client = rest_client_for(config)
        rest.set_urgency(client, config, paged.external_id, urgency)
    return None


@hookimpl
def firebell_incident_status_update_posted(
    event: RecordedEvent, incident: Incident, config: PagerDutyConfig
) -> None:
    """Add the update as a note on the PagerDuty incident (``notes_for_updates``, REST mode)."""
    assert isinstance(event.data, StatusUpdatePosted)
    paged = _paged(incident)
    if not config.notes_for_updates or config.mode != "rest" or paged is None:
        return
    # The event's position keeps two identical updates apart (notes are deduplicated by text).
    content = (
        f"{event.data.text}\n\n— {event.actor} in Firebell ({incident.id}, update {event.position})"
    )
    client = rest_client_for(config)
    rest.add_note(client, config, paged.external_id, content)


# -- helpers -----------------------------------------------------------------------------------


def _paged(incident: Incident) -> Resource | None:
    """The latest PagerDuty incident (or alert) this plugin linked to ``incident``."""
    return incident.resource(rest.PAGER_KIND, plugin=PLUGIN_NAME)


def _linked_after(history: Sequence[RecordedEvent], position: int) -> bool:
    return any(
        recorded.position > position
        and isinstance(recorded.data, ResourceLinked)
        and recorded.data.plugin == PLUGIN_NAME
        and recorded.data.kind == rest.PAGER_KIND
        for recorded in history
    )


def _still_open(config: PagerDutyConfig, incident_id: str) -> bool:
    client = rest_client_for(config)
    with translate_errors(config, f"reading PagerDuty incident {incident_id}"):
        found = client.rget(f"incidents/{incident_id}")
    return isinstance(found, dict) and found.get("status") in ("triggered", "acknowledged")


def _page(
    config: PagerDutyConfig,
    incident: Incident,
    *,
    key: str,
    severity: str,
    look_first: bool = False,
) -> Link:
    urgency = config.urgency_for(severity)
    title = f"{incident.name} ({incident.title})"
    channel = incident.resource("channel")
    channel_url = channel.url if channel is not None else None
    if config.mode == "events":
        details = {
            "description": incident.description,
            "severity": severity,
            "reporter": incident.reporter,
            "firebell_incident": incident.id,
            "channel": channel_url,
        }
        return events.trigger(
            config,
            dedup_key=key,
            summary=title,
            urgency=urgency,
            details={k: v for k, v in details.items() if v},
            channel_url=channel_url,
        )
    client = rest_client_for(config)
    return rest.open_incident(
        client,
        config,
        key=key,
        title=title,
        urgency=urgency,
        details=_details(incident, severity, channel),
        look_first=look_first,
    )


def _details(incident: Incident, severity: str, channel: Resource | None) -> str:
    lines = [incident.description or "(no description)", "", f"Severity: {severity}"]
    lines.append(f"Declared by: {incident.reporter} at {incident.declared_at:%Y-%m-%d %H:%M} UTC")
    if channel is not None:
        where = channel.url or channel.title or channel.external_id
        lines.append(f"Incident channel: {where}")
    lines.append(f"Firebell incident: {incident.id}")
    return "\n".join(lines)


@hookimpl
def firebell_doctor(config: PagerDutyConfig) -> list[str]:
    """Look up the service, escalation policy and requester (REST) or the routing key's shape."""
    return check(config)
