"""What the Slack plugin does when an incident starts, and when another plugin links something.

On ``incident.created`` it opens the incident channel and links it at once, then sets it up:
purpose and topic, invites, the runbook and the resources already linked as bookmarks, the
summary, the reporter's DM and the announcements, side by side. On ``incident.resource_linked``
it bookmarks what another plugin linked, says so in the channel and updates the summary.

Safe to run twice for the same event, like every handler (see :mod:`.handlers`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from firebell.core.events import ResourceLinked
from firebell.core.hookspecs import Link, LinkNow
from firebell.core.incident import Resource
from firebell.plugins.slack.channels import IncidentChannel, ensure_channel, purpose_for
from firebell.plugins.slack.config import is_user_id
from firebell.plugins.slack.errors import api_error_code
from firebell.plugins.slack.handlers import GONE_ERRORS, SUMMARY_KIND, Delivery
from firebell.plugins.slack.messages import (
    RESOURCE_KINDS,
    linked_resources,
    resource_label,
    section_message,
)
from firebell.plugins.slack.notices import announcement_new, plugin_label, topic_text
from firebell.plugins.slack.side_by_side import side_by_side
from firebell.plugins.slack.text import TOPIC_LIMIT, safe, truncate
from firebell.plugins.slack.workspace import ChannelUnavailable
from slack_sdk.errors import SlackApiError

__all__ = ["bookmark", "created", "resource_linked", "set_up"]

log = logging.getLogger("firebell.plugins.slack")


#: The set-up's runbook bookmark, among the resources it bookmarks (never linked).
_RUNBOOK_KIND = "runbook"


# -- incident.created ----------------------------------------------------------------------


def created(delivery: Delivery, link_now: LinkNow) -> list[Link]:
    """Open the channel and link it at once, then set it up.

    The plugins that wait for Slack's ``incident.created`` (the pager, the post-mortem) need
    only the channel's link: ``link_now`` lets them start while the set-up runs. A retry
    finds the linked channel and sets it up again, looking before each post.
    """
    team = delivery.workspace.team()
    channel = ensure_channel(delivery.workspace, delivery.incident, delivery.config.channel_prefix)
    link = Link("channel", channel.id, team.channel_url(channel.id), f"#{channel.name}")
    if delivery.channel_id is None:
        # First: the pager and the post-mortem, which wait for it, take as long as the set-up.
        link_now(link)
    return [link, *set_up(delivery, channel)]


def set_up(delivery: Delivery, channel: IncidentChannel) -> list[Link]:
    """Set up the incident channel: topic, invites, bookmarks, summary, DM, announcements."""
    ws, incident, config = delivery.workspace, delivery.incident, delivery.config
    team = ws.team()
    invitees = [incident.reporter] if is_user_id(incident.reporter) else []
    invitees += config.responders
    announced = announcement_new(incident, channel.id, config.cc_usergroups)
    links: list[Link] = []
    # Everything below needs only the channel, and nothing here needs anything else here:
    # the calls go side by side, so the set-up takes the longest of them (a lookup and a
    # post) instead of the sum of a dozen round trips to Slack.
    announcements = config.announcement_channels
    # The runbook, and what other plugins linked already: their own deliveries bookmark
    # them too (they come after this one, and both look first), but one that ran while
    # Slack was failing found no channel.
    runbook = (
        [Resource("slack", _RUNBOOK_KIND, "runbook", config.runbook_url)]
        if config.runbook_url
        else []
    )
    linked = linked_resources(incident)
    with side_by_side() as submit:
        purpose = submit(ws.set_purpose, channel.id, purpose_for(incident), fresh=channel.fresh)
        topic = submit(
            ws.set_topic,
            channel.id,
            truncate(topic_text(incident), TOPIC_LIMIT),
            fresh=channel.fresh,
        )
        invited = submit(ws.invite, channel.id, invitees)
        bookmarked = [
            submit(bookmark, delivery, channel.id, r, fresh=channel.fresh) for r in runbook
        ] + [submit(bookmark, delivery, channel.id, r) for r in linked]
        summary = submit(
            ws.post_once,
            channel.id,
            delivery.summary_key,
            delivery.summary(channel.id),
            since=delivery.event.occurred_at,
            fresh=channel.fresh,
        )
        dm = submit(_direct_message, delivery, channel.id, fresh=channel.fresh)
        announcing = {
            target: submit(delivery.announce_in, target, "announce", announced, fresh=channel.fresh)
            for target in announcements
        }
    # Failures surface in the order the calls used to run in, once every call has ended.
    purpose.result()
    topic.result()
    problems = [f"could not invite <@{user}> ({code})" for user, code in invited.result().items()]
    for done in bookmarked:
        done.result()
    ts = summary.result()
    if incident.resource(SUMMARY_KIND, plugin="slack") is None:
        links.append(
            Link(
                SUMMARY_KIND,
                f"{channel.id}/{ts}",
                team.message_url(channel.id, ts),
                "Incident summary",
            )
        )
    dm.result()
    for target, future in announcing.items():
        code = future.result()
        if code is not None:
            problems.append(f"could not post in <#{target}> ({code})")
    if problems:
        _setup_warning(delivery, channel.id, problems, fresh=channel.fresh)
    return links


def bookmark(
    delivery: Delivery, channel_id: str, resource: Resource, *, fresh: bool = False
) -> None:
    """Bookmark ``resource`` in the channel (the runbook, or what a plugin linked), once."""
    if not resource.url or not resource.url.startswith(("http://", "https://")):
        return
    if resource.kind == _RUNBOOK_KIND:
        delivery.workspace.bookmark(channel_id, "Runbook", resource.url, ":book:", fresh=fresh)
        return
    emoji, label = RESOURCE_KINDS.get(resource.kind, (":link:", resource.kind))
    title = truncate(resource.title or label, 80) if resource.kind not in RESOURCE_KINDS else label
    delivery.workspace.bookmark(channel_id, title, resource.url, emoji, fresh=fresh)


def _direct_message(delivery: Delivery, channel_id: str, *, fresh: bool = False) -> None:
    reporter = delivery.incident.reporter
    if not is_user_id(reporter):
        return
    text = (
        f"I've created <#{channel_id}> for incident `{delivery.incident.id}` "
        f"({safe(delivery.incident.title, 300)}) and invited you to it."
    )
    if fresh:
        # Nothing to look for yet: posting to the user's id opens the DM on the way, one
        # round trip instead of conversations.open and then the post.
        try:
            delivery.post(reporter, "dm", section_message(text), fresh=True)
        except ChannelUnavailable as problem:
            log.info("cannot send %s a DM: %s", reporter, problem)
        return
    dm = delivery.workspace.open_dm(reporter)
    if dm is None:
        return
    delivery.post(dm, "dm", section_message(text))


def _setup_warning(
    delivery: Delivery, channel_id: str, problems: Sequence[str], *, fresh: bool
) -> None:
    text = (
        ":warning: Setting up this incident mostly worked, but Firebell "
        + "; ".join(problems)
        + ". Check `responders` and `announcement_channels` in [plugins.slack] of "
        "plugins.toml, and that the Firebell app is in those channels."
    )
    try:
        delivery.post(channel_id, "setup-warning", section_message(text), fresh=fresh)
    except ChannelUnavailable as problem:
        log.warning("cannot warn in %s: %s", channel_id, problem)


# -- other plugins' resources --------------------------------------------------------------


def resource_linked(delivery: Delivery) -> list[Link]:
    """Bookmark another plugin's resource, say so, and update the summary."""
    data = delivery.event.data
    assert isinstance(data, ResourceLinked)
    channel_id = delivery.channel_id
    if data.plugin == "slack" or channel_id is None:
        return []  # the channel and its summary: set up on incident.created
    resource = Resource(data.plugin, data.kind, data.external_id, data.url, data.title)
    # The bookmark, the line and the summary need only the channel: side by side.
    with side_by_side() as submit:
        bookmarked = submit(bookmark, delivery, channel_id, resource)
        told = submit(
            delivery.tell_channel,
            "linked",
            f"{resource_label(resource)} (from {plugin_label(data.plugin)})",
            fresh=delivery.first_attempt,
        )
        refreshed = submit(delivery.refresh_summary)
    # Failures surface in the order the calls used to run in.
    try:
        bookmarked.result()
    except SlackApiError as error:
        if api_error_code(error) not in GONE_ERRORS:
            raise
    told.result()
    refreshed.result()
    return []
