"""The REST API's incident endpoints: incidents created, listed, read and updated (acknowledged,
resolved, retitled), and their notes."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_pagerduty.account import PagerDutyAccount
from firebell.testing.fake_pagerduty.errors import (
    _DUPLICATE_KEY,
    _error,
    _invalid_input,
    _not_found,
)
from firebell.testing.fake_pagerduty.objects import _now, _Policy, _Service, _User
from firebell.testing.fake_pagerduty.pagination import _page
from firebell.testing.fake_pagerduty.validation import _STATUSES, _incident_errors


class IncidentsMethods(PagerDutyAccount):
    """``/incidents`` and ``/incidents/{id}/notes``."""

    # -- REST API: incidents -----------------------------------------------------------------

    def _create_incident(self, request: Request, body: Any, user: _User | None) -> Answer:
        assert user is not None
        incident = body.get("incident")
        if not isinstance(incident, dict):
            return _invalid_input("Incident must be an object wrapped in 'incident'.")
        errors = _incident_errors(incident)
        if errors:
            return _invalid_input(*errors)
        service = self._services.get(incident["service"]["id"])
        if service is None:
            return _invalid_input("Service Not Found")
        policy = self._policies[service.escalation_policy_id]
        if "escalation_policy" in incident:
            chosen = self._policies.get(incident["escalation_policy"]["id"])
            if chosen is None:
                return _invalid_input("Escalation Policy Not Found")
            policy = chosen
        key = incident.get("incident_key")
        if key is not None and self._open_incident(service.id, key) is not None:
            return _invalid_input(_DUPLICATE_KEY)
        created = self._new_incident(
            service,
            policy,
            title=incident["title"],
            key=key,
            urgency=incident.get("urgency", "high"),
            body=incident.get("body"),
            by=self._user_ref(user),
        )
        return Answer(201, {"incident": copy.deepcopy(created)})

    def _new_incident(
        self,
        service: _Service,
        policy: _Policy,
        *,
        title: str,
        key: str | None,
        urgency: str,
        body: Any,
        by: Any,
    ) -> dict[str, Any]:
        number = next(self._numbers)
        incident_id = f"PI{number:05d}"
        now = _now()
        incident: dict[str, Any] = {
            "id": incident_id,
            "type": "incident",
            "summary": f"[#{number}] {title}",
            "self": f"{self.url}/incidents/{incident_id}",
            "html_url": f"{self.WEB_URL}/incidents/{incident_id}",
            "incident_number": number,
            "title": title,
            "created_at": now,
            "updated_at": now,
            "status": "triggered",
            "incident_key": key if key is not None else uuid.uuid4().hex,
            "service": self._service_ref(service),
            "assignments": [],
            "assigned_via": "escalation_policy",
            "last_status_change_at": now,
            "last_status_change_by": by,
            "resolved_at": None,
            "acknowledgements": [],
            "escalation_policy": self._policy_ref(policy),
            "teams": [],
            "pending_actions": [],
            "urgency": urgency,
        }
        if body is not None:
            incident["body"] = copy.deepcopy(body)
        self._incidents[incident_id] = incident
        return incident

    def _open_incident(self, service_id: str, key: str) -> dict[str, Any] | None:
        for incident in self._incidents.values():
            if (
                incident["incident_key"] == key
                and incident["service"]["id"] == service_id
                and incident["status"] != "resolved"
            ):
                return incident
        return None

    def _list_incidents(self, request: Request, body: Any, user: _User | None) -> Answer:
        lists = request.query_lists
        statuses = lists.get("statuses[]", [])
        if any(s not in _STATUSES for s in statuses):
            return _invalid_input("Status must be a list of triggered, acknowledged, or resolved.")
        services = lists.get("service_ids[]", [])
        urgencies = lists.get("urgencies[]", [])
        key = request.query.get("incident_key")
        found = [
            i
            for i in self._incidents.values()
            if (not statuses or i["status"] in statuses)
            and (not services or i["service"]["id"] in services)
            and (not urgencies or i["urgency"] in urgencies)
            and (key is None or i["incident_key"] == key)
        ]
        return _page(request, "incidents", found)

    def _get_incident(self, request: Request, body: Any, user: _User | None) -> Answer:
        incident = self._incidents.get(request.path_params["id"])
        if incident is None:
            return _not_found()
        return Answer(200, {"incident": copy.deepcopy(incident)})

    def _update_incident(self, request: Request, body: Any, user: _User | None) -> Answer:
        assert user is not None
        incident = self._incidents.get(request.path_params["id"])
        if incident is None:
            return _not_found()
        update = body.get("incident")
        if not isinstance(update, dict) or update.get("type") not in (
            "incident",
            "incident_reference",
        ):
            return _invalid_input("Incident type must be 'incident' or 'incident_reference'.")
        if "urgency" in update and update["urgency"] not in ("high", "low"):
            return _invalid_input("Urgency must be high or low.")
        if "title" in update and not (isinstance(update["title"], str) and update["title"]):
            return _invalid_input("Title cannot be empty.")
        if "status" in update:
            refused = self._set_status(incident, update["status"], self._user_ref(user))
            if refused is not None:
                return refused
        for field in ("title", "urgency"):
            if field in update:
                incident[field] = update[field]
        incident["summary"] = f"[#{incident['incident_number']}] {incident['title']}"
        incident["updated_at"] = _now()
        return Answer(200, {"incident": copy.deepcopy(incident)})

    def _set_status(self, incident: dict[str, Any], status: object, by: Any) -> Answer | None:
        """Move an incident to ``status``; the error answer when PagerDuty would refuse."""
        if incident["status"] == "resolved":
            return _error(400, "Incident Already Resolved", 1001)
        if status not in ("acknowledged", "resolved"):
            return _error(400, "Invalid Status Provided", 1003)
        now = _now()
        if status == "acknowledged":
            incident["acknowledgements"].append({"at": now, "acknowledger": by})
        else:
            incident["resolved_at"] = now
        incident["status"] = status
        incident["last_status_change_at"] = incident["updated_at"] = now
        incident["last_status_change_by"] = by
        return None

    # -- REST API: notes ---------------------------------------------------------------------

    def _list_notes(self, request: Request, body: Any, user: _User | None) -> Answer:
        incident_id = request.path_params["id"]
        if incident_id not in self._incidents:
            return _not_found()
        return Answer(200, {"notes": copy.deepcopy(self._notes.get(incident_id, []))})

    def _create_note(self, request: Request, body: Any, user: _User | None) -> Answer:
        assert user is not None
        incident_id = request.path_params["id"]
        if incident_id not in self._incidents:
            return _not_found()
        note = body.get("note")
        content = note.get("content") if isinstance(note, dict) else None
        if not isinstance(content, str) or not content.strip():
            return _invalid_input("Content cannot be empty.")
        now = _now()
        created = {
            "id": f"PN{next(self._note_ids):05d}",
            "user": self._user_ref(user),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": content,
            "created_at": now,
            "updated_at": now,
        }
        self._notes.setdefault(incident_id, []).append(created)
        return Answer(200, {"note": copy.deepcopy(created)})
