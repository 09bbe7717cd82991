"""What the templates show, worked out in Python: links, durations, paging.

Templates stay free of logic beyond loops and conditions; everything here is plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import attrs
from firebell.core.incident import Incident, Resource

__all__ = [
    "Pager",
    "ResourceView",
    "describe_duration",
    "resource_views",
    "safe_url",
    "when",
]

_KIND_LABELS = {
    "channel": "Slack channel",
    "slack-summary": "Slack summary message",
    "pager-incident": "PagerDuty incident",
    "document": "Post-mortem",
    "status-incident": "Statuspage incident",
}
_PLUGIN_LABELS = {
    "slack": "Slack",
    "pagerduty": "PagerDuty",
    "notion": "Notion",
    "markdown": "Markdown file",
    "statuspage": "Statuspage",
}


@attrs.frozen
class ResourceView:
    """One linked resource as shown: what it is, its name, and a link when it is safe to follow."""

    label: str
    plugin: str
    text: str
    url: str | None


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) address, else None (no ``javascript:`` from a plugin)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in {"http", "https"} and parts.netloc:
        return url.strip()
    return None


def _label(resource: Resource) -> str:
    label = _KIND_LABELS.get(resource.kind) or resource.kind.replace("-", " ").capitalize()
    if resource.kind == "document":
        return f"{label} ({_PLUGIN_LABELS.get(resource.plugin, resource.plugin)})"
    return label


def resource_views(incident: Incident) -> list[ResourceView]:
    """The incident's linked resources, latest per (plugin, kind, id), in the order linked."""
    seen: dict[tuple[str, str, str], Resource] = {}
    for resource in incident.resources:
        seen[(resource.plugin, resource.kind, resource.external_id)] = resource
    return [
        ResourceView(
            label=_label(resource),
            plugin=resource.plugin,
            text=resource.title or resource.external_id,
            url=safe_url(resource.url),
        )
        for resource in seen.values()
    ]


def when(moment: datetime | None) -> str:
    """``2026-06-01 14:02 UTC`` (or an empty string)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def describe_duration(span: timedelta) -> str:
    """A duration a person reads at a glance: ``45 s``, ``12 min``, ``3 h 05 min``, ``4 d 2 h``."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@attrs.frozen
class Pager:
    """Page ``number`` (from 1) of ``total`` items, ``size`` per page, and links that keep filters.

    ``exact=False`` says there are more than ``total`` items, how many more was not counted
    (a search's count stops at a limit); ``pages`` is then the pages known to be there, and
    there is no link to the last page.
    """

    number: int
    size: int
    total: int
    filters: Mapping[str, str] = attrs.field(factory=dict)
    exact: bool = True

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even when empty); with an inexact total,
        how many there are at least."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.number - 1) * self.size

    @property
    def first_item(self) -> int:
        """The 1-based index of the first item shown (0 when there are none)."""
        return self.offset + 1 if self.total else 0

    @property
    def last_item(self) -> int:
        """The 1-based index of the last item shown."""
        return min(self.offset + self.size, self.total)

    def link(self, number: int) -> str:
        """The query string of page ``number`` with the same filters."""
        query = {key: value for key, value in self.filters.items() if value}
        if number > 1:
            query["page"] = str(number)
        return "?" + urlencode(query) if query else "?"

    def links(self) -> Sequence[tuple[str, str | None]]:
        """(label, query or None when not a link) for first, previous, next and last; no last
        when the total is not exact (where the last page is was not counted)."""
        before = self.number > 1
        after = self.number < self.pages or not self.exact
        links = [
            ("« First", self.link(1) if before else None),
            ("← Previous", self.link(self.number - 1) if before else None),
            ("Next →", self.link(self.number + 1) if after else None),
        ]
        if self.exact:
            links.append(("Last »", self.link(self.pages) if after else None))
        return links
