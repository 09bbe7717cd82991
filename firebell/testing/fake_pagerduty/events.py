"""The Events API v2 (``POST /v2/enqueue``): events that trigger, acknowledge and resolve incidents."""

from __future__ import annotations

import copy
import json
import uuid

from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_pagerduty.errors import _invalid_event
from firebell.testing.fake_pagerduty.incidents import IncidentsMethods
from firebell.testing.fake_pagerduty.validation import _event_errors


class EventsMethods(IncidentsMethods):
    """``/v2/enqueue``: each event applied at once to the incidents of the routing key's service."""

    # -- Events API v2 -----------------------------------------------------------------------

    def _enqueue(self, request: Request) -> Answer:
        try:
            event = json.loads(request.body)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            body = {
                "status": "Unrecognized object",
                "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"],
            }
            return Answer(400, body)
        errors = _event_errors(event)
        if errors:
            return _invalid_event(errors)
        service_id = self._routing_keys.get(event["routing_key"])
        if service_id is None:
            return _invalid_event(["Invalid routing key"])
        self.events.append(copy.deepcopy(event))
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        service = self._services[service_id]
        open_incident = self._open_incident(service_id, dedup_key)
        if event["event_action"] == "trigger":
            if open_incident is None:
                payload = event["payload"]
                self._new_incident(
                    service,
                    self._policies[service.escalation_policy_id],
                    title=payload["summary"],
                    key=dedup_key,
                    urgency="high",
                    body={"type": "incident_body", "details": payload.get("custom_details")},
                    by=self._service_ref(service),
                )
        elif open_incident is not None:
            # Acknowledging an acknowledged incident, like any event for a resolved one, is dropped.
            wanted = "acknowledged" if event["event_action"] == "acknowledge" else "resolved"
            if open_incident["status"] != wanted:
                self._set_status(open_incident, wanted, self._service_ref(service))
        return Answer(
            202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        )
