"""The incident's post-mortem page as the hooks find it: the page this plugin linked, or one made
now when the ``incident.created`` delivery did not make it."""

from __future__ import annotations

from firebell.core import Incident, Link
from firebell.core.config import FirebellConfig
from firebell.plugins.notion.postmortem import Postmortems

__all__ = ["PLUGIN_NAME", "linked_page_id", "page_or_create", "slack_configured"]

#: The name the plugin is installed under (entry point ``notion``); its links carry it.
PLUGIN_NAME = "notion"


def slack_configured(settings: FirebellConfig) -> bool:
    """Whether the Slack plugin is on, so a channel is to come even if there is none yet."""
    return "slack" in settings.enabled_plugins()


def linked_page_id(incident: Incident) -> str | None:
    """The id of the page this plugin linked to ``incident``, if it did."""
    page = incident.resource("document", plugin=PLUGIN_NAME)
    return page.external_id if page else None


def page_or_create(
    postmortems: Postmortems, incident: Incident, settings: FirebellConfig
) -> tuple[str, Link | None]:
    """The incident's page id, and the link to record when the page was made (or found) now."""
    # The created delivery may have been parked (a bad token, fixed since): make the page now.
    found = linked_page_id(incident)
    if found is not None:
        return found, None
    link = postmortems.ensure_page(incident, slack_configured=slack_configured(settings))
    return link.external_id, link
