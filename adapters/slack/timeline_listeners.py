"""The Bolt listeners of the incident's record: pins and reactions, notes and follow-ups.

:class:`TimelineListeners` sets up what the listeners share
(:class:`~firebell.adapters.slack.timeline_parts.TimelineParts`) and registers them: the pins
and reactions of :mod:`~firebell.adapters.slack.mark_listeners`, which make the timeline match
how Slack marks a message now, and the subcommands of
:mod:`~firebell.adapters.slack.record_commands`, whose ``/incident`` listener comes before the
adapter's own.

**Names.** Each append passes the names of the people it involves (who marked the message and
who wrote it; who ran the subcommand and a follow-up's owner) through the adapter's
:class:`~firebell.adapters.slack.people.PeopleDirectory`, for the post-mortems. A mark is
recorded after Slack's reads, with names looked up after the ack; a subcommand is recorded at
once with the names known (the cache, else the request's username), and the people are looked
up after its reply (:meth:`~firebell.adapters.slack.people.PeopleDirectory.record_names`).
"""

from __future__ import annotations

import concurrent.futures

from firebell.adapters.slack.groups import GroupDirectory
from firebell.adapters.slack.handlers import SlackAdapter
from firebell.adapters.slack.mark_listeners import MarkListeners
from firebell.adapters.slack.mark_lookups import (
    DEFAULT_RETRY_BASE,
    DEFAULT_RETRY_MAX,
    LookupRetries,
)
from firebell.adapters.slack.people import PeopleDirectory
from firebell.adapters.slack.record_commands import RecordCommands, is_record_command
from firebell.adapters.slack.timeline_parsing import MARK_EVENTS
from firebell.core.runtime import Firebell
from slack_bolt import App
from slack_sdk import WebClient

__all__ = ["DEFAULT_REACTION", "TimelineListeners"]

DEFAULT_REACTION = "pushpin"


class TimelineListeners(MarkListeners, RecordCommands):
    """Registers the record's listeners on a Bolt app and runs them."""

    def __init__(
        self,
        firebell: Firebell,
        client: WebClient,
        *,
        groups: GroupDirectory,
        people: PeopleDirectory | None = None,
        reaction: str = DEFAULT_REACTION,
        adapter: SlackAdapter | None = None,
        lookup_retry_base: float = DEFAULT_RETRY_BASE,
        lookup_retry_max: float = DEFAULT_RETRY_MAX,
    ) -> None:
        self.firebell = firebell
        #: Offers the declare form for a subcommand's word typed as a title (None: never).
        self.adapter = adapter
        self.engine = firebell.engine
        self.client = client
        self.groups = groups
        self.people = people or PeopleDirectory(client)
        self.reaction = reaction
        # The work after the ack (Bolt answers Slack when the listener returns): reading the
        # marked message from Slack, the append, the reply.
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="firebell-slack-record"
        )
        #: Lookups Slack refused or failed, tried again until it answers (started by register).
        self.retries = LookupRetries(
            firebell.store,
            self._retry_lookup,
            retry_base=lookup_retry_base,
            retry_max=lookup_retry_max,
        )

    @classmethod
    def for_firebell(
        cls,
        firebell: Firebell,
        client: WebClient,
        *,
        groups: GroupDirectory,
        people: PeopleDirectory | None = None,
        adapter: SlackAdapter | None = None,
        lookup_retry_base: float = DEFAULT_RETRY_BASE,
        lookup_retry_max: float = DEFAULT_RETRY_MAX,
    ) -> TimelineListeners:
        """Listeners with the Slack plugin's ``timeline_reaction`` (default ``pushpin``)."""
        slack = firebell.host.enabled.get("slack")
        reaction = getattr(slack.config, "timeline_reaction", None) if slack else None
        return cls(
            firebell,
            client,
            groups=groups,
            people=people,
            reaction=DEFAULT_REACTION if reaction is None else str(reaction),
            adapter=adapter,
            lookup_retry_base=lookup_retry_base,
            lookup_retry_max=lookup_retry_max,
        )

    def register(self, app: App) -> None:
        """Add the listeners; call before the adapter's own, so the matcher sees ``/incident``
        first. Starts the retries of lookups, with the entries the log holds as pending."""
        app.command("/incident", matchers=[is_record_command])(self.record_command)
        for kind in sorted(MARK_EVENTS):
            app.event(kind)(self.mark_event)
        self.retries.start()
