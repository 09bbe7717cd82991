"""Whether ``firebell update NAME TEXT --public`` reached customers, and if not, why.

A public update is published by the Statuspage plugin as an update of the incident's status
page incident (the ``status-incident`` it linked); an incident without one publishes nothing.
The Statuspage plugin opens one only for an incident declared customer facing or of a severity
listed in ``[plugins.statuspage] severities`` (docs/plugins/statuspage.md). The person who typed
``--public`` believes customers were told: :func:`internal_only_note` says when they were not.
"""

from __future__ import annotations

from firebell.core import Firebell

__all__ = ["internal_only_note"]

_PLUGIN = "statuspage"
_LINK_KIND = "status-incident"


def internal_only_note(firebell: Firebell, name: str) -> str | None:
    """Why the public update just posted on incident ``name`` reaches no status page, or when it
    will; None when it was given to the incident's status page incident."""
    incident = firebell.store.get_incident(name)
    if incident is None or incident.resource(_LINK_KIND, plugin=_PLUGIN) is not None:
        return None
    where = firebell.settings.source
    table = firebell.settings.plugins.get(_PLUGIN)
    enabled = firebell.host.enabled.get(_PLUGIN)
    if enabled is None:
        why = (
            f"Statuspage is switched off (`enabled = false` in [plugins.{_PLUGIN}] of {where})"
            if table is not None
            else f"Statuspage is not enabled (no [plugins.{_PLUGIN}] table in {where})"
        )
        return f"note: {name}: the update was posted internally only: {why}."
    severities = list(getattr(enabled.config, "severities", []))
    listed = any(level.lower() == incident.severity.lower() for level in severities)
    if incident.customer_facing or listed:
        # Its status incident is still to be opened: the update waits behind that, in order,
        # unless the opening was given up (parked).
        backlog = firebell.deliverer.outbox.backlog(incident_id=name).get(_PLUGIN)
        if backlog is not None and backlog.failed:
            return (
                f"note: {name}: the update was posted internally only: Statuspage could not open "
                f"its status page incident (`firebell show {name}` says why)."
            )
        return (
            f"note: {name} has no status page incident yet: Statuspage has not opened it "
            f"(`firebell show {name}` says why); the update is published once it has."
        )
    return (
        f"note: {name}: the update was posted internally only: it has no status page "
        f"incident, as it is not customer facing and {incident.severity} is not in "
        f"[plugins.{_PLUGIN}] severities ({', '.join(severities) or 'none listed'})."
    )
