"""What PagerDuty refuses in a ``POST /incidents`` body and in an Events API v2 event."""

from __future__ import annotations

from typing import Any

_STATUSES = ("triggered", "acknowledged", "resolved")
_SEVERITIES = ("critical", "error", "warning", "info")
_EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")


def _is_reference(value: object, type_: str) -> bool:
    return (
        isinstance(value, dict) and value.get("type") == type_ and isinstance(value.get("id"), str)
    )


def _incident_errors(incident: dict[str, Any]) -> list[str]:
    """What is wrong with a ``POST /incidents`` body's ``incident``, as PagerDuty words it."""
    errors = []
    if incident.get("type") != "incident":
        errors.append("Incident type must be 'incident'.")
    title = incident.get("title")
    if not isinstance(title, str) or not title.strip():
        errors.append("Title cannot be empty.")
    if not _is_reference(incident.get("service"), "service_reference"):
        errors.append("Service must be a service_reference with an id.")
    if "urgency" in incident and incident["urgency"] not in ("high", "low"):
        errors.append("Urgency must be high or low.")
    if "incident_key" in incident and not (
        isinstance(incident["incident_key"], str) and 0 < len(incident["incident_key"]) <= 255
    ):
        errors.append("Incident key must be a string of 1 to 255 characters.")
    body = incident.get("body")
    if body is not None and not (
        isinstance(body, dict)
        and body.get("type") == "incident_body"
        and isinstance(body.get("details"), str | dict)
    ):
        errors.append("Body must be an incident_body with details.")
    policy = incident.get("escalation_policy")
    if policy is not None and not _is_reference(policy, "escalation_policy_reference"):
        errors.append("Escalation policy must be an escalation_policy_reference with an id.")
    if policy is not None and incident.get("assignments"):
        errors.append("Assignments cannot be given with an escalation policy.")
    return errors


def _event_errors(event: dict[str, Any]) -> list[str]:
    """What is wrong with an Events API v2 event, as PagerDuty words it."""
    errors = []
    routing_key = event.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        errors.append("'routing_key' is missing or blank")
    else:
        if len(routing_key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if not (routing_key.isascii() and routing_key.isalnum()):
            errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if not action:
        errors.append("'event_action' is missing or blank")
    elif action not in _EVENT_ACTIONS:
        errors.append("'event_action' is invalid (must be trigger, acknowledge or resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and not (isinstance(dedup_key, str) and len(dedup_key) <= 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or blank")
        else:
            for field in ("summary", "source", "severity"):
                value = payload.get(field)
                if not isinstance(value, str) or not value.strip():
                    errors.append(f"'payload.{field}' is missing or blank")
            severity = payload.get("severity")
            if isinstance(severity, str) and severity and severity not in _SEVERITIES:
                errors.append(
                    "'payload.severity' is invalid (must be critical, error, warning or info)"
                )
    return errors
