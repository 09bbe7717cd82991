"""The Atlassian Statuspage plugin: tell customers about customer-facing incidents.

Enabled by a ``[plugins.statuspage]`` table in ``plugins.toml``::

    [plugins.statuspage]
    api_key = { env = "STATUSPAGE_API_KEY" }
    page_id = "kctbh9vrtdwd"
    components = { "8kbf7d35c070" = "major_outage" }

On ``incident.created`` it opens a Statuspage incident for incidents marked customer facing (or
of a severity listed in ``severities``) and links it; public status updates, severity changes,
resolving and reopening follow. See docs/plugins/statuspage.md.
"""

from __future__ import annotations

from firebell.plugins.statuspage.config import StatuspageConfig
from firebell.plugins.statuspage.hooks import (
    LINK_KIND,
    PLUGIN_NAME,
    check,
    firebell_check_settings,
    firebell_doctor,
    firebell_incident_created,
    firebell_incident_reopened,
    firebell_incident_resolved,
    firebell_incident_severity_changed,
    firebell_incident_status_update_posted,
    firebell_plugin_spec,
)

__all__ = [
    "LINK_KIND",
    "PLUGIN_NAME",
    "StatuspageConfig",
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
