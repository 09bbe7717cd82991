"""What the plugin does through PagerDuty's REST API v2: open, look up, resolve, annotate.

Opening is idempotent by ``incident_key``: PagerDuty refuses a second open incident with the same
key on a service (400, "matching dedup key already exists"), and the plugin then looks the first
one up and records it. A repeated delivery (``attempt`` > 1) looks first, so that an incident
resolved in PagerDuty meanwhile is not opened a second time either.
"""

from __future__ import annotations

from typing import Any

import pagerduty
from firebell.core.errors import RetryLater
from firebell.core.hookspecs import Link
from firebell.plugins.pagerduty.client import error_details, json_object, translate_errors
from firebell.plugins.pagerduty.config import PagerDutyConfig

__all__ = [
    "PAGER_KIND",
    "add_note",
    "find_incident",
    "incident_link",
    "open_incident",
    "resolve_incident",
    "set_urgency",
]

PAGER_KIND = "pager-incident"
"""The kind of link recorded for a PagerDuty incident."""

_TITLE_LIMIT = 1024  # PagerDuty's incident title limit; Firebell's own titles are far shorter


def incident_link(incident: dict[str, Any]) -> Link:
    """The link recorded for a PagerDuty incident as the API renders it."""
    number = incident.get("incident_number")
    return Link(
        kind=PAGER_KIND,
        external_id=str(incident["id"]),
        url=incident.get("html_url"),
        title=f"PagerDuty #{number}" if number is not None else "PagerDuty incident",
    )


def find_incident(
    client: pagerduty.RestApiV2Client, config: PagerDutyConfig, key: str
) -> dict[str, Any] | None:
    """The incident opened with ``incident_key`` ``key`` on the service, or None.

    An open one is preferred over resolved ones; among several, the newest.
    """
    params = {"incident_key": key, "service_ids": [config.service_id], "date_range": "all"}
    with translate_errors(config, "looking up the PagerDuty incident by its incident_key"):
        found = client.list_all("incidents", params=params)
    matching = [
        item
        for item in found
        if isinstance(item, dict) and item.get("incident_key") == key and item.get("id")
    ]
    if not matching:
        return None
    open_ones = [item for item in matching if item.get("status") != "resolved"]
    return max(open_ones or matching, key=lambda item: int(item.get("incident_number") or 0))


def open_incident(
    client: pagerduty.RestApiV2Client,
    config: PagerDutyConfig,
    *,
    key: str,
    title: str,
    urgency: str,
    details: str,
    look_first: bool,
) -> Link:
    """Open a PagerDuty incident (or find the one a previous attempt opened) and link it."""
    if look_first:
        earlier = find_incident(client, config, key)
        if earlier is not None:
            return incident_link(earlier)
    entity: dict[str, Any] = {
        "type": "incident",
        "title": title[:_TITLE_LIMIT],
        "service": {"id": config.service_id, "type": "service_reference"},
        "incident_key": key,
        "urgency": urgency,
        "body": {"type": "incident_body", "details": details},
    }
    if config.escalation_policy_id is not None:
        entity["escalation_policy"] = {
            "id": config.escalation_policy_id,
            "type": "escalation_policy_reference",
        }
    doing = "opening the PagerDuty incident"
    created: Any = None
    with translate_errors(config, doing):
        try:
            created = client.rpost("incidents", json=entity)
        except pagerduty.HttpError as error:
            if not _is_duplicate_key(error):
                raise
    if created is None:
        # An earlier attempt opened it and crashed (or timed out) before Firebell recorded it.
        earlier = find_incident(client, config, key)
        if earlier is None:
            raise RetryLater(
                f"PagerDuty says an incident with incident_key {key!r} is open but did not list "
                "it; Firebell will retry"
            )
        return incident_link(earlier)
    return incident_link(json_object(created, doing=doing))


def resolve_incident(
    client: pagerduty.RestApiV2Client, config: PagerDutyConfig, incident_id: str
) -> None:
    """Resolve the PagerDuty incident; one already resolved (by a responder) is fine."""
    body = {"type": "incident_reference", "status": "resolved"}
    with translate_errors(config, f"resolving PagerDuty incident {incident_id}"):
        try:
            client.rput(f"incidents/{incident_id}", json=body)
        except pagerduty.HttpError as error:
            if not _is_already_resolved(error):
                raise


def set_urgency(
    client: pagerduty.RestApiV2Client, config: PagerDutyConfig, incident_id: str, urgency: str
) -> None:
    """Change the PagerDuty incident's urgency; a resolved incident keeps its own."""
    body = {"type": "incident_reference", "urgency": urgency}
    with translate_errors(config, f"changing the urgency of PagerDuty incident {incident_id}"):
        try:
            client.rput(f"incidents/{incident_id}", json=body)
        except pagerduty.HttpError as error:
            if not _is_already_resolved(error):
                raise


def add_note(
    client: pagerduty.RestApiV2Client, config: PagerDutyConfig, incident_id: str, content: str
) -> None:
    """Add a note unless the incident already has one with exactly ``content``.

    Notes have no deduplication key, so the plugin looks before it writes: a repeated delivery
    (or a retry after a timeout) does not add the note twice.
    """
    doing = f"adding a note to PagerDuty incident {incident_id}"
    with translate_errors(config, doing):
        notes = client.rget(f"incidents/{incident_id}/notes")
        if isinstance(notes, list) and any(
            isinstance(note, dict) and note.get("content") == content for note in notes
        ):
            return
        client.rpost(f"incidents/{incident_id}/notes", json={"content": content})


def _is_refusal(error: pagerduty.HttpError, words: str) -> bool:
    """Whether PagerDuty answered 400 with ``words`` in its message or errors."""
    response = error.response
    return (
        response is not None
        and response.status_code == 400
        and words in error_details(response).lower()
    )


def _is_duplicate_key(error: pagerduty.HttpError) -> bool:
    return _is_refusal(error, "dedup key")


def _is_already_resolved(error: pagerduty.HttpError) -> bool:
    return _is_refusal(error, "already resolved")
