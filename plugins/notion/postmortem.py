"""The post-mortem page: created once, found again after a crash, its channel paragraph filled in
once there is a channel, its summary line kept to the incident as it is now, its timeline
replaced on resolve, its mitigation to-dos kept in step with the incident's follow-ups."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import attrs
from firebell.core import (
    FollowUp,
    Incident,
    Link,
    PermanentPluginError,
    RecordedEvent,
    Resource,
)
from firebell.plugins.notion.api import NotionApi
from firebell.plugins.notion.config import NotionConfig
from firebell.plugins.notion.content import (
    MITIGATION_HEADING,
    NO_CHANNEL_TEXTS,
    TIMELINE_HEADING,
    Block,
    TimelineLine,
    block_text,
    channel_text,
    chunks,
    heading,
    skeleton,
    summary_rich_text,
    summary_text,
    timeline_bullets,
    to_do,
)
from firebell.plugins.notion.page_sections import (
    follow_up_text,
    follow_ups_edit,
    section,
    timeline_edit,
    timeline_section,
)
from firebell.plugins.notion.properties import PropertyPlan, initial_values, plan_properties
from firebell.plugins.postmortem_header import current_header, earlier_headers

__all__ = ["LINK_TITLE", "Postmortems", "Summary", "postmortems_for"]

log = logging.getLogger("firebell.plugins.notion")

LINK_TITLE = "Post-mortem"


@attrs.frozen
class Summary:
    """Section 1's summary line: ``text`` as it should read now, and every way the plugin may
    have written it before (``earlier``)."""

    text: str
    earlier: frozenset[str] = frozenset()

    @classmethod
    def of(cls, incident: Incident, history: Iterable[RecordedEvent]) -> Summary:
        """The summary line of ``incident`` now, and its earlier forms from ``history``."""
        earlier = frozenset(summary_text(h) for h in earlier_headers(incident, history))
        return cls(summary_text(current_header(incident)), earlier)


class Postmortems:
    """Post-mortem pages in one configured database."""

    def __init__(self, config: NotionConfig, api: NotionApi | None = None) -> None:
        self.config = config
        self.api = api or NotionApi(config)
        self._warned: set[str] = set()

    # -- properties --------------------------------------------------------------------------

    def plan(self) -> PropertyPlan:
        """The property plan for the database as it is now; problems stop the delivery."""
        plan = plan_properties(self.config, self.api.schema())
        if plan.problems:
            self.api.forget_schema()
            raise PermanentPluginError(
                f"The Notion post-mortems database does not fit [plugins.notion]: "
                f"{'; '.join(plan.problems)}. Then run `firebell retry`."
            )
        for role in plan.missing:
            if role not in self._warned:
                self._warned.add(role)
                name = getattr(self.config.properties, role)
                log.warning(
                    "the Notion database has no property %r (properties.%s); it is left out. "
                    'Add it, or set properties.%s = "" to silence this.',
                    name,
                    role,
                    role,
                )
        return plan

    def set_properties(self, page_id: str, values: Mapping[str, Any], *, what: str) -> None:
        """Write ``values`` (role → value) to the page's properties."""
        properties = self.plan().values(values)
        if properties:
            self.api.call(
                what,
                partial(self.api.client.pages.update, page_id, properties=properties),
                page_id=page_id,
            )

    # -- the page ----------------------------------------------------------------------------

    def ensure_page(
        self, incident: Incident, *, fresh: bool = False, slack_configured: bool = False
    ) -> Link:
        """The incident's page: found by its ``Incident`` property, or created with the skeleton.

        Looking first makes a repeated delivery (the process died after Notion created the page
        but before Firebell recorded it) find that page instead of making a second one; a page
        found shows the incident's channel if it did not yet. ``fresh``: no earlier attempt can
        have made the page (a first attempt of a plugin that never failed for the incident), so
        the page is created without looking. ``slack_configured``: the Slack plugin is on (a
        page made before its channel says the channel is to come, not that there is no Slack).
        """
        plan = self.plan()
        incident_property = plan.columns["incident"][0]
        page = None if fresh else self.api.find_page(incident_property, incident.id)
        if page is None:
            data_source_id = self.api.data_source_id()
            properties = plan.values(initial_values(self.config, incident))
            children = skeleton(incident, slack_configured=slack_configured)
            page = self.api.call(
                "create the post-mortem page",
                lambda: self.api.client.pages.create(
                    parent={"type": "data_source_id", "data_source_id": data_source_id},
                    properties=properties,
                    children=children,
                ),
            )
        else:
            log.info(
                "found the post-mortem page of %s in Notion; not creating another", incident.id
            )
            channel = incident.resource("channel")
            if channel is not None:
                self.fill_channel(str(page["id"]), channel)
        return Link(
            kind="document",
            external_id=str(page["id"]),
            url=page.get("url"),
            title=LINK_TITLE,
        )

    # -- the channel -------------------------------------------------------------------------

    def fill_channel(
        self, page_id: str, channel: Resource, blocks: Sequence[Block] | None = None
    ) -> None:
        """Show ``channel`` in the page's channel paragraph, written before there was one.

        Only a paragraph that still reads as the plugin wrote it (no channel: see
        :data:`~firebell.plugins.notion.content.NO_CHANNEL_TEXTS`) is updated, in place; one
        people rewrote is theirs and stays. Once the channel shows nothing matches any more, so
        a repeated delivery writes nothing. ``blocks``: the page's blocks, if already read.
        """
        if blocks is None:
            blocks = list(self.api.children(page_id))
        block = next(
            (
                b
                for b in blocks
                if b.get("type") == "paragraph" and block_text(b) in NO_CHANNEL_TEXTS
            ),
            None,
        )
        if block is None:
            return
        self.api.call(
            "show the incident channel",
            partial(
                self.api.client.blocks.update,
                str(block["id"]),
                paragraph={"rich_text": channel_text(channel)},
            ),
            page_id=page_id,
        )

    # -- the summary line --------------------------------------------------------------------

    def fill_summary(
        self, page_id: str, summary: Summary, blocks: Sequence[Block] | None = None
    ) -> None:
        """Make section 1's summary line read ``summary.text`` (the incident as it is now).

        Only a paragraph that still reads as the plugin may have written it (one of
        ``summary.earlier``) is updated, in place; one people rewrote stays. A line already
        reading so is not written again. ``blocks``: the page's blocks, if already read.
        """
        if blocks is None:
            blocks = list(self.api.children(page_id))
        paragraphs = [b for b in blocks if b.get("type") == "paragraph"]
        if any(block_text(b) == summary.text for b in paragraphs):
            return
        block = next((b for b in paragraphs if block_text(b) in summary.earlier), None)
        if block is None:
            return
        self.api.call(
            "update the summary line",
            partial(
                self.api.client.blocks.update,
                str(block["id"]),
                paragraph={"rich_text": summary_rich_text(summary.text)},
            ),
            page_id=page_id,
        )

    # -- the timeline ------------------------------------------------------------------------

    def fill_timeline(
        self,
        page_id: str,
        lines: Sequence[TimelineLine],
        *,
        channel: Resource | None = None,
        summary: Summary | None = None,
    ) -> None:
        """Put ``lines`` under the page's Timeline heading, replacing what Firebell put there.

        The placeholder and the bullets the integration wrote before are replaced; blocks people
        added there stay. Bullets already matching the start of ``lines`` are kept, so a retry or
        a second resolve only writes what changed. With ``channel``, the channel paragraph
        shows it too if it did not yet (see :meth:`fill_channel`); with ``summary``, the
        summary line is brought up to date (see :meth:`fill_summary`).
        """
        new = timeline_bullets(lines)
        blocks = list(self.api.children(page_id))
        self._fill_section_one(page_id, blocks, channel, summary)
        found = timeline_section(blocks)
        if found is None:
            # Someone removed the heading: start a fresh section at the end of the page.
            self._append(page_id, [heading(TIMELINE_HEADING), *new], after=None)
            return
        edit = timeline_edit(*found, new)
        for block in edit.stale:
            block_id = str(block["id"])
            self.api.call(
                "clear the old timeline",
                partial(self.api.client.blocks.delete, block_id),
                page_id=page_id,
            )
        self._append(page_id, edit.new, after=edit.after)

    # -- the follow-ups -----------------------------------------------------------------------

    def fill_follow_ups(
        self,
        page_id: str,
        follow_ups: Sequence[FollowUp],
        names: Mapping[str, str] | None = None,
        *,
        channel: Resource | None = None,
        summary: Summary | None = None,
    ) -> None:
        """Make the to-dos under the Mitigation heading match ``follow_ups`` (owners by ``names``
        where known), show ``channel`` if the page did not yet (see :meth:`fill_channel`) and
        bring the summary line up to date with ``summary`` (see :meth:`fill_summary`).

        A follow-up without its to-do gets one (after the integration's last to-do), a done one
        gets its box ticked, and the skeleton's empty to-do goes once there is a follow-up. Boxes
        people ticked stay ticked, and to-dos they wrote stay. A repeated delivery finds its
        to-dos and writes nothing. A to-do whose owner reads otherwise now (the owner's name was
        learned or changed since) is rewritten in place.
        """
        if not follow_ups:
            return
        lines = [(task, follow_up_text(task, names or {})) for task in follow_ups]
        blocks = list(self.api.children(page_id))
        self._fill_section_one(page_id, blocks, channel, summary)
        found = section(blocks, "mitigation")
        if found is None:
            # Someone removed the heading: start a fresh section at the end of the page.
            new = [to_do(text, checked=task.done) for task, text in lines]
            self._append(page_id, [heading(MITIGATION_HEADING), *new], after=None)
            return
        edit = follow_ups_edit(*found, lines)
        for update in edit.updates:
            self.api.call(
                update.what,
                partial(
                    self.api.client.blocks.update,
                    update.block_id,
                    to_do={
                        "rich_text": to_do(update.text)["to_do"]["rich_text"],
                        "checked": update.checked,
                    },
                ),
                page_id=page_id,
            )
        for block in edit.stale:
            self.api.call(
                "clear the empty to-do",
                partial(self.api.client.blocks.delete, str(block["id"])),
                page_id=page_id,
            )
        if edit.new:
            self._append(page_id, edit.new, after=edit.after, what="write the follow-ups")

    def _fill_section_one(
        self,
        page_id: str,
        blocks: Sequence[Block],
        channel: Resource | None,
        summary: Summary | None,
    ) -> None:
        if channel is not None:
            self.fill_channel(page_id, channel, blocks)
        if summary is not None:
            self.fill_summary(page_id, summary, blocks)

    def _append(
        self,
        page_id: str,
        blocks: Sequence[Block],
        *,
        after: str | None,
        what: str = "write the timeline",
    ) -> None:
        # 100 blocks per request; each chunk goes after the last block of the one before.
        for chunk in chunks(blocks):
            options: dict[str, Any] = {"children": chunk}
            if after is not None:
                options["after"] = after
            answer = self.api.call(
                what,
                partial(self.api.client.blocks.children.append, page_id, **options),
                page_id=page_id,
            )
            results = answer.get("results") or []
            after = str(results[-1]["id"]) if results else None


_instances: weakref.WeakKeyDictionary[NotionConfig, Postmortems] = weakref.WeakKeyDictionary()
_instances_lock = threading.Lock()


def postmortems_for(config: NotionConfig) -> Postmortems:
    """The :class:`Postmortems` of ``config``, made once: one client, one data source lookup."""
    with _instances_lock:
        found = _instances.get(config)
        if found is None:
            found = _instances[config] = Postmortems(config)
        return found
