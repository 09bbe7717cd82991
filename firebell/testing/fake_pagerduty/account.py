"""What a fake PagerDuty account holds (users, services, policies, routing keys, incidents, notes,
events) and the references to its objects that every answer carries."""

from __future__ import annotations

import itertools
from typing import Any

from firebell.testing.fake_http import FakeService
from firebell.testing.fake_pagerduty.objects import _Policy, _Service, _User


class PagerDutyAccount(FakeService):
    """The state of a fake PagerDuty account and the references every group of endpoints writes.

    :class:`~firebell.testing.fake_pagerduty.FakePagerDuty` sets these attributes up in its
    ``__init__`` (and :attr:`WEB_URL` on the class); the REST endpoints and the Events API are
    subclasses of this one.
    """

    WEB_URL: str
    events: list[dict[str, Any]]
    _users: dict[str, _User]
    _services: dict[str, _Service]
    _policies: dict[str, _Policy]
    _routing_keys: dict[str, str]
    _incidents: dict[str, dict[str, Any]]
    _notes: dict[str, list[dict[str, Any]]]
    _numbers: itertools.count[int]
    _note_ids: itertools.count[int]

    # -- REST API: references ----------------------------------------------------------------

    def _reference(self, type_: str, collection: str, web: str, id_: str, summary: str) -> Any:
        return {
            "id": id_,
            "type": f"{type_}_reference",
            "summary": summary,
            "self": f"{self.url}/{collection}/{id_}",
            "html_url": f"{self.WEB_URL}/{web}/{id_}",
        }

    def _user_ref(self, user: _User) -> Any:
        return self._reference("user", "users", "users", user.id, user.name)

    def _service_ref(self, service: _Service) -> Any:
        return self._reference("service", "services", "service-directory", service.id, service.name)

    def _policy_ref(self, policy: _Policy) -> Any:
        return self._reference(
            "escalation_policy",
            "escalation_policies",
            "escalation_policies",
            policy.id,
            policy.name,
        )
