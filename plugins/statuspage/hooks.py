"""What the Statuspage plugin does on each incident event.

Only incidents marked customer facing, or of a severity listed in ``severities``, get a status
incident. Once one is linked, public status updates, severity changes, resolving and reopening
are mirrored to it; internal updates and closing are not.

Deliveries may repeat and may run late (after an outage, or a parked delivery retried by hand),
so every hook looks before it writes: creation adopts a status incident an earlier attempt made,
resolve and reopen read the status incident first and follow the incident's *current* state
(a resolve that was undone by a reopen before it was delivered is not shown to customers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from firebell.core.config import FirebellConfig
from firebell.core.errors import FirebellError, NothingToDo
from firebell.core.events import (
    IncidentCreated,
    IncidentReopened,
    IncidentResolved,
    IntegrationFailed,
    RecordedEvent,
    SeverityChanged,
    StatusUpdatePosted,
)
from firebell.core.hookspecs import Link, PluginSpec, hookimpl
from firebell.core.incident import Incident, IncidentState, Resource
from firebell.plugins.statuspage.api import JsonObject, StatuspageApi, api_for
from firebell.plugins.statuspage.config import StatuspageConfig, render

__all__ = [
    "LINK_KIND",
    "PLUGIN_NAME",
    "check",
    "firebell_check_settings",
    "firebell_doctor",
    "firebell_incident_created",
    "firebell_incident_reopened",
    "firebell_incident_resolved",
    "firebell_incident_severity_changed",
    "firebell_incident_status_update_posted",
    "firebell_plugin_spec",
]

log = logging.getLogger("firebell.plugins.statuspage")

PLUGIN_NAME: Final = "statuspage"
"""The name the plugin is installed under (its entry point and ``[plugins.statuspage]``)."""

LINK_KIND: Final = "status-incident"
"""The kind of the link recorded for the Statuspage incident."""

METADATA_KEY: Final = "firebell"
"""The incident metadata namespace Firebell writes (``{"firebell": {"incident_id": ...}}``)."""

# How far back a retried delivery looks for what an earlier attempt may already have sent; wide
# enough for clock skew between Firebell and Statuspage and for a slow retry.
_LOOKBACK: Final = timedelta(minutes=10)
_RECENT_UPDATES: Final = 10


@hookimpl
def firebell_plugin_spec() -> PluginSpec:
    """The plugin's settings class; it waits for no other plugin."""
    return PluginSpec(
        config_class=StatuspageConfig,
        description="Opens, updates and resolves an Atlassian Statuspage incident for "
        "customer-facing incidents.",
    )


@hookimpl
def firebell_incident_created(
    event: RecordedEvent,
    incident: Incident,
    config: StatuspageConfig,
    history: Sequence[RecordedEvent],
    attempt: int,
) -> Link | None:
    """Open the status incident when the new incident is customer facing or of a listed severity."""
    data = event.data
    assert isinstance(data, IncidentCreated)
    if not (data.customer_facing or config.opens_for(data.severity)):
        return None
    fresh = attempt == 1 and not _failed_before(history)
    return _open(api_for(config), config, incident, history, fresh=fresh)


def _failed_before(history: Sequence[RecordedEvent]) -> bool:
    """Whether this plugin ever failed for the incident (a parked delivery put back in the queue
    by ``firebell retry`` counts its attempts from 1 again, but its failure stays in the log)."""
    return any(
        isinstance(e.data, IntegrationFailed) and e.data.plugin == PLUGIN_NAME for e in history
    )


@hookimpl
def firebell_incident_status_update_posted(
    event: RecordedEvent, incident: Incident, config: StatuspageConfig, attempt: int
) -> None:
    """Post a public update as a Statuspage incident update; internal ones stay inside."""
    data = event.data
    assert isinstance(data, StatusUpdatePosted)
    linked = _linked(incident)
    if not data.public or linked is None:
        return
    fields: JsonObject = {
        "body": data.text,
        "deliver_notifications": config.deliver_notifications,
    }
    if config.update_status is not None and incident.state is IncidentState.OPEN:
        fields["status"] = config.update_status
    api = api_for(config)
    if attempt > 1 and _already_posted(
        api.incident(linked.external_id), data.text, event.occurred_at
    ):
        # An earlier attempt posted it and then failed (a timeout, a crash): once is enough.
        log.info("status incident %s already has this update", linked.external_id)
        return
    api.update_incident(linked.external_id, fields)


@hookimpl
def firebell_incident_severity_changed(
    event: RecordedEvent,
    incident: Incident,
    config: StatuspageConfig,
    history: Sequence[RecordedEvent],
) -> Link | None:
    """Set the new impact; open the status incident if the new severity is a listed one."""
    data = event.data
    assert isinstance(data, SeverityChanged)
    api = api_for(config)
    linked = _linked(incident)
    if linked is None:
        if config.opens_for(data.severity):
            return _open(api, config, incident, history)
        return None
    impact = config.impact_for(data.severity)
    if impact is not None:
        api.update_incident(linked.external_id, {"impact_override": impact})
    return None


@hookimpl
def firebell_incident_resolved(
    event: RecordedEvent, incident: Incident, config: StatuspageConfig
) -> None:
    """Resolve the status incident and put its components back to operational."""
    data = event.data
    assert isinstance(data, IncidentResolved)
    linked = _linked(incident)
    if linked is None:
        return
    if incident.state is IncidentState.OPEN:
        # Reopened since: the reopen is delivered next, and customers need not see both.
        raise NothingToDo("the incident was reopened before Statuspage could resolve it")
    api = api_for(config)
    if api.incident(linked.external_id).get("status") == "resolved":
        return  # an earlier attempt, or someone on Statuspage, resolved it
    _resolve(api, config, incident, linked.external_id, data.summary)


@hookimpl
def firebell_incident_reopened(
    event: RecordedEvent, incident: Incident, config: StatuspageConfig
) -> None:
    """Set the status incident back to investigating, with its components degraded again."""
    data = event.data
    assert isinstance(data, IncidentReopened)
    linked = _linked(incident)
    if linked is None:
        return
    if incident.state is not IncidentState.OPEN:
        # Resolved again since: that resolve is delivered next.
        raise NothingToDo("the incident was resolved again before Statuspage could reopen it")
    api = api_for(config)
    if api.incident(linked.external_id).get("status") != "resolved":
        return  # an earlier attempt reopened it already
    fields: JsonObject = {
        "status": "investigating",
        "body": render(config.reopened_message, _values(config, incident, data.reason)),
        "deliver_notifications": config.deliver_notifications,
        **_component_fields(config),
    }
    impact = config.impact_for(incident.severity)
    if impact is not None:
        fields["impact_override"] = impact
    api.update_incident(linked.external_id, fields)


# ---------------------------------------------------------------------------------------------
# Doctor
# ---------------------------------------------------------------------------------------------


def check(config: StatuspageConfig) -> list[str]:
    """What is wrong with ``config`` as Statuspage sees it (an empty list when nothing is).

    Reads the page (the key and page id work) and its components (the configured ids belong to
    it). For ``firebell doctor``; severities Firebell does not have are refused earlier, when
    the settings are loaded (:func:`firebell_check_settings`).
    """
    problems: list[str] = []
    api = api_for(config)
    try:
        api.page()
        components = {str(c.get("id")): str(c.get("name")) for c in api.components()}
    except FirebellError as error:
        return [*problems, str(error)]
    for component_id in config.components:
        if component_id not in components:
            listed = ", ".join(f"{cid} ({name})" for cid, name in components.items()) or "none"
            problems.append(
                f"[plugins.statuspage] components: {component_id!r} is not a component of page "
                f"{config.page_id!r} (its components: {listed})"
            )
    return problems


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _linked(incident: Incident) -> Resource | None:
    return incident.resource(LINK_KIND, plugin=PLUGIN_NAME)


def _link(created: JsonObject) -> Link:
    shortlink = created.get("shortlink")
    return Link(
        kind=LINK_KIND,
        external_id=str(created["id"]),
        url=shortlink if isinstance(shortlink, str) and shortlink else None,
        title="Status page",
    )


def _values(config: StatuspageConfig, incident: Incident, summary: str = "") -> dict[str, str]:
    return {
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity,
        "impact": config.impact_for(incident.severity) or "",
        "summary": summary,
    }


def _component_fields(config: StatuspageConfig) -> JsonObject:
    if not config.components:
        return {}
    return {"component_ids": list(config.components), "components": dict(config.components)}


def _open(
    api: StatuspageApi,
    config: StatuspageConfig,
    incident: Incident,
    history: Sequence[RecordedEvent],
    *,
    fresh: bool = False,
) -> Link | None:
    """Create the status incident once: skip when linked, adopt one an earlier attempt made.

    ``fresh``: this is the first attempt ever of the creation's delivery, so no earlier attempt
    can have made one and the lookup is skipped. It would cost a whole request slot (Statuspage
    allows about one request a second per key): the status incident would open a second later.

    When the incident is already over (its delivery was retried, or parked and retried, after
    it was resolved) the status incident is resolved straight away, so the page tells the
    whole story and nothing is left open.
    """
    if _linked(incident) is not None:
        return None
    status_incident = None if fresh else _made_earlier(api, incident)
    if status_incident is None:
        fields: JsonObject = {
            # The title, never the internal name: this is what customers read.
            "name": incident.title,
            "status": "investigating",
            "body": render(config.initial_message, _values(config, incident)),
            "deliver_notifications": config.deliver_notifications,
            "metadata": {METADATA_KEY: {"incident_id": incident.id}},
            **_component_fields(config),
        }
        impact = config.impact_for(incident.severity)
        if impact is not None:
            fields["impact_override"] = impact
        status_incident = api.create_incident(fields)
    else:
        log.info("status incident %s for %s exists; linking it", status_incident["id"], incident.id)
    if incident.state is not IncidentState.OPEN and status_incident.get("status") != "resolved":
        summaries = [e.data.summary for e in history if isinstance(e.data, IncidentResolved)]
        summary = summaries[-1] if summaries else ""
        _resolve(api, config, incident, str(status_incident["id"]), summary)
    return _link(status_incident)


def _resolve(
    api: StatuspageApi,
    config: StatuspageConfig,
    incident: Incident,
    status_id: str,
    summary: str,
) -> None:
    fields: JsonObject = {
        "status": "resolved",
        "body": render(config.resolved_message, _values(config, incident, summary)),
        "deliver_notifications": config.deliver_notifications,
    }
    if config.components:
        fields["components"] = dict.fromkeys(config.components, "operational")
    api.update_incident(status_id, fields)


def _made_earlier(api: StatuspageApi, incident: Incident) -> JsonObject | None:
    """The status incident an earlier attempt created for ``incident``, if any.

    An attempt may have created it and died (or timed out) before the link was recorded. It is
    recognised by Firebell's metadata or, where metadata is missing, by its name and a creation
    time after the incident was declared. Open ones are listed; an incident that is over may
    have had its status incident resolved too, so those are searched for by name as well.
    """
    candidates = api.unresolved_incidents()
    if incident.state is not IncidentState.OPEN:
        candidates += api.search_incidents(incident.title)
    for candidate in candidates:
        metadata = candidate.get("metadata")
        ours = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
        if isinstance(ours, dict):
            if ours.get("incident_id") == incident.id:
                return candidate
            continue
        created_at = _timestamp(candidate.get("created_at"))
        if (
            candidate.get("name") == incident.title
            and created_at is not None
            and created_at >= incident.declared_at - _LOOKBACK
        ):
            return candidate
    return None


def _already_posted(status_incident: JsonObject, body: str, since: datetime) -> bool:
    updates = status_incident.get("incident_updates")
    if not isinstance(updates, list):
        return False
    for update in updates[:_RECENT_UPDATES]:
        if not isinstance(update, dict):
            continue
        created_at = _timestamp(update.get("created_at"))
        if (
            update.get("body") == body
            and created_at is not None
            and created_at >= since - _LOOKBACK
        ):
            return True
    return False


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@hookimpl
def firebell_check_settings(config: StatuspageConfig, settings: FirebellConfig) -> list[str]:
    """Refuse severity names in ``severities`` and ``impact`` that Firebell does not have: they
    would never match, and customers would never hear of those incidents."""
    return [
        *settings.severity_problems("severities", config.severities),
        *settings.severity_problems("impact", config.impact),
    ]


@hookimpl
def firebell_doctor(config: StatuspageConfig) -> list[str]:
    """Read the page and its components and list what does not fit the settings."""
    return check(config)
