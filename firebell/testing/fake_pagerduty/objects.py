"""What the fake PagerDuty account holds besides incidents (users, services, escalation policies),
and the time stamps it writes."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define
class _User:
    id: str
    name: str
    email: str


@attrs.define
class _Service:
    id: str
    name: str
    escalation_policy_id: str


@attrs.define
class _Policy:
    id: str
    name: str
