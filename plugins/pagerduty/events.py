"""What the plugin does through PagerDuty's Events API v2: trigger and resolve by ``dedup_key``.

The Events API is idempotent by ``dedup_key`` (the incident's id): a repeated trigger while the
PagerDuty incident is open adds nothing, and a trigger after it was resolved opens a new one,
which is what a reopened incident wants.
"""

from __future__ import annotations

from typing import Any

from firebell.core.hookspecs import Link
from firebell.plugins.pagerduty.client import events_client_for, translate_errors
from firebell.plugins.pagerduty.config import PagerDutyConfig
from firebell.plugins.pagerduty.rest import PAGER_KIND

__all__ = ["EVENT_SEVERITY", "event_link", "resolve", "trigger"]

EVENT_SEVERITY = {"high": "critical", "low": "warning"}
"""The event ``payload.severity`` sent for each urgency (services with severity-based urgency
page ``critical`` as high and ``warning`` as low)."""

_SUMMARY_LIMIT = 1024  # the Events API's payload.summary limit


def event_link(dedup_key: str) -> Link:
    """The link recorded for an Events API alert: its dedup key, no URL (the API gives none)."""
    return Link(kind=PAGER_KIND, external_id=dedup_key, url=None, title="PagerDuty alert")


def trigger(
    config: PagerDutyConfig,
    *,
    dedup_key: str,
    summary: str,
    urgency: str,
    details: dict[str, Any],
    channel_url: str | None,
) -> Link:
    """Trigger (or re-trigger) the alert for ``dedup_key``."""
    links = [{"href": channel_url, "text": "Incident channel"}] if channel_url else None
    client = events_client_for(config)
    with translate_errors(config, "triggering the PagerDuty alert"):
        client.trigger(
            summary[:_SUMMARY_LIMIT],
            "firebell",
            dedup_key=dedup_key,
            severity=EVENT_SEVERITY[urgency],
            custom_details=details,
            links=links,
        )
    return event_link(dedup_key)


def resolve(config: PagerDutyConfig, dedup_key: str) -> None:
    """Resolve the alert for ``dedup_key`` (PagerDuty drops it when already resolved)."""
    client = events_client_for(config)
    with translate_errors(config, "resolving the PagerDuty alert"):
        client.resolve(dedup_key)
