"""The REST API's read-only endpoints for services, escalation policies and users."""

from __future__ import annotations

from typing import Any

from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_pagerduty.account import PagerDutyAccount
from firebell.testing.fake_pagerduty.errors import _not_found
from firebell.testing.fake_pagerduty.objects import _User
from firebell.testing.fake_pagerduty.pagination import _page


class ServicesAndUsersMethods(PagerDutyAccount):
    """``/services/{id}``, ``/escalation_policies/{id}`` and ``/users``."""

    # -- REST API: services, policies, users -------------------------------------------------

    def _get_service(self, request: Request, body: Any, user: _User | None) -> Answer:
        service = self._services.get(request.path_params["id"])
        if service is None:
            return _not_found()
        rendered = {
            **self._service_ref(service),
            "type": "service",
            "name": service.name,
            "description": None,
            "status": "active",
            "escalation_policy": self._policy_ref(self._policies[service.escalation_policy_id]),
            "incident_urgency_rule": {"type": "constant", "urgency": "high"},
            "teams": [],
        }
        return Answer(200, {"service": rendered})

    def _get_policy(self, request: Request, body: Any, user: _User | None) -> Answer:
        policy = self._policies.get(request.path_params["id"])
        if policy is None:
            return _not_found()
        services = [
            self._service_ref(s)
            for s in self._services.values()
            if s.escalation_policy_id == policy.id
        ]
        rendered = {
            **self._policy_ref(policy),
            "type": "escalation_policy",
            "name": policy.name,
            "escalation_rules": [],
            "services": services,
            "num_loops": 0,
            "teams": [],
        }
        return Answer(200, {"escalation_policy": rendered})

    def _list_users(self, request: Request, body: Any, user: _User | None) -> Answer:
        query = request.query.get("query", "").lower()
        found = [
            {
                **self._user_ref(u),
                "type": "user",
                "name": u.name,
                "email": u.email,
                "time_zone": "Etc/UTC",
                "role": "user",
            }
            for u in self._users.values()
            if query in u.email.lower() or query in u.name.lower()
        ]
        return _page(request, "users", found)
