"""What the record's listeners share: the core, Slack's client, the directories, the pool.

:class:`~firebell.adapters.slack.timeline_listeners.TimelineListeners` sets them up; its pins
and reactions (:class:`~firebell.adapters.slack.mark_listeners.MarkListeners`) and its
subcommands (:class:`~firebell.adapters.slack.record_commands.RecordCommands`) are the mixins
that use them.
"""

from __future__ import annotations

import concurrent.futures

from firebell.adapters.slack.groups import GroupDirectory
from firebell.adapters.slack.handlers import SlackAdapter
from firebell.adapters.slack.mark_lookups import LookupRetries
from firebell.adapters.slack.people import PeopleDirectory
from firebell.core.engine import Engine
from firebell.core.runtime import Firebell
from slack_sdk import WebClient

__all__ = ["TimelineParts"]


class TimelineParts:
    """The attributes the record's listeners use, set by ``TimelineListeners.__init__``."""

    firebell: Firebell
    #: Offers the declare form for a subcommand's word typed as a title (None: never).
    adapter: SlackAdapter | None
    engine: Engine
    client: WebClient
    groups: GroupDirectory
    people: PeopleDirectory
    #: The emoji that marks a message for the timeline (empty: reactions mark nothing).
    reaction: str
    #: Runs the work after an ack: reading the marked message, the append, the reply.
    _pool: concurrent.futures.ThreadPoolExecutor
    #: Lookups Slack refused or failed, tried again until it answers.
    retries: LookupRetries
