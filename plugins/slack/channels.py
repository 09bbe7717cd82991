"""The incident channel: its name, and finding or creating it exactly once.

Names are ``<prefix><incident name>``; when that is taken (archived channels keep their names)
the next candidates are ``…-2``, ``…-3``. Every candidate leaves room for ``-resolved``, so the
rename on resolve never pushes a name past Slack's 80 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

import attrs
from firebell.core.errors import PermanentPluginError
from firebell.core.incident import Incident
from firebell.plugins.slack.text import TOPIC_LIMIT, truncate
from firebell.plugins.slack.workspace import Team, Workspace

__all__ = [
    "MAX_CHANNEL_NAME",
    "RESOLVED_SUFFIX",
    "IncidentChannel",
    "channel_name_candidates",
    "ensure_channel",
    "purpose_for",
    "resolved_name",
    "unresolved_name",
]

MAX_CHANNEL_NAME: Final = 80
RESOLVED_SUFFIX: Final = "-resolved"
#: The longest name a new incident channel gets, so that ``-resolved`` still fits.
MAX_OPEN_NAME: Final = MAX_CHANNEL_NAME - len(RESOLVED_SUFFIX)
MAX_CANDIDATES: Final = 20

_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]+")


@attrs.frozen
class IncidentChannel:
    """The incident's channel; ``fresh`` when this delivery created it (so it has no history)."""

    id: str
    name: str
    fresh: bool = False


def _base(prefix: str, incident_id: str) -> str:
    name = _NOT_ALLOWED.sub("-", f"{prefix}{incident_id}".lower())
    return re.sub(r"-{2,}", "-", name)


def channel_name_candidates(prefix: str, incident_id: str) -> Iterator[str]:
    """Channel names to try for an incident, in order, each at most 71 characters."""
    base = _base(prefix, incident_id)
    yield base[:MAX_OPEN_NAME].rstrip("-_") or "incident"
    for n in range(2, MAX_CANDIDATES + 1):
        suffix = f"-{n}"
        yield base[: MAX_OPEN_NAME - len(suffix)].rstrip("-_") + suffix


def resolved_name(name: str) -> str:
    """The channel's name once resolved: ``<name>-resolved`` (cut so it fits in 80 chars)."""
    if name.endswith(RESOLVED_SUFFIX):
        return name
    return name[:MAX_OPEN_NAME].rstrip("-_") + RESOLVED_SUFFIX


def unresolved_name(name: str) -> str:
    """The channel's name once reopened: without ``-resolved``."""
    return name.removesuffix(RESOLVED_SUFFIX)


def _marker(incident: Incident) -> str:
    return f"{incident.id}, declared {incident.declared_at:%Y-%m-%d %H:%M:%S} UTC"


def purpose_for(incident: Incident) -> str:
    """The channel purpose; it names the incident, which is how a retry recognizes the channel."""
    return truncate(f"Firebell incident {_marker(incident)}.", TOPIC_LIMIT)


def _is_ours(channel: dict[str, Any], incident: Incident, team: Team) -> bool:
    """Whether an existing channel was made by Firebell for this very incident.

    Either its purpose names the incident, or it is a bare channel the bot created and left
    before setting anything (a delivery that crashed right after ``conversations.create``).
    """
    if channel.get("creator") != team.bot_user_id or channel.get("is_archived"):
        return False
    purpose = (channel.get("purpose") or {}).get("value") or ""
    topic = (channel.get("topic") or {}).get("value") or ""
    return _marker(incident) in purpose or (not purpose and not topic)


def ensure_channel(workspace: Workspace, incident: Incident, prefix: str) -> IncidentChannel:
    """The incident's channel: the linked one, one an earlier attempt made, or a new one."""
    linked = incident.resource("channel", plugin="slack")
    if linked is not None:
        name = (linked.title or "").removeprefix("#")
        return IncidentChannel(linked.external_id, name)
    team = workspace.team()
    candidates = list(channel_name_candidates(prefix, incident.id))
    existing: dict[str, dict[str, Any]] | None = None
    for name in candidates:
        if existing is None or name not in existing:
            created = workspace.create_channel(name)
            if created is not None:
                # The purpose comes with the rest of the set-up: until then a bare channel the
                # bot created is recognized as this incident's by its name (``_is_ours``).
                return IncidentChannel(str(created["id"]), name, fresh=True)
            if existing is None:
                # One listing covers every candidate; a taken name missing from it belongs to a
                # private channel the bot cannot see.
                existing = workspace.find_channels(candidates)
        found = existing.get(name)
        if found is not None and _is_ours(found, incident, team):
            return IncidentChannel(str(found["id"]), name)
    raise PermanentPluginError(
        f"no free Slack channel name for {incident.id}: {candidates[0]} and "
        f"{candidates[1]}…{candidates[-1]} are all taken. Rename or delete some of those "
        "channels (archived channels keep their names), then run `firebell retry --plugin slack`."
    )
