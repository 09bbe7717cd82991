"""What the Slack adapter's listeners share: the core, Slack's client, the directories, the pools.

:class:`~firebell.adapters.slack.handlers.SlackAdapter` sets them up; its slash commands
(:class:`~firebell.adapters.slack.incident_commands.IncidentCommands`) and its modal submissions
(:class:`~firebell.adapters.slack.modal_submissions.ModalSubmissions`) are the mixins that use them.
"""

from __future__ import annotations

import concurrent.futures

from firebell.adapters.slack.declaration_watch import DeclarationWatch
from firebell.adapters.slack.groups import GroupDirectory
from firebell.adapters.slack.people import PeopleDirectory
from firebell.core.engine import Engine
from firebell.core.runtime import Firebell
from slack_sdk import WebClient

__all__ = ["AdapterParts"]


class AdapterParts:
    """The attributes the adapter's listeners use, set by ``SlackAdapter.__init__``."""

    firebell: Firebell
    engine: Engine
    client: WebClient
    groups: GroupDirectory
    people: PeopleDirectory
    #: Tells a reporter when Slack refused to set up what they declared.
    declarations: DeclarationWatch
    #: Seconds a modal submission may spend in the engine before the modal is answered anyway.
    submit_deadline: float
    #: Runs a modal submission's engine command, waited for up to ``submit_deadline``.
    _pool: concurrent.futures.ThreadPoolExecutor
    #: Sends confirmations on response_urls.
    _replies: concurrent.futures.ThreadPoolExecutor
    #: Runs a slash command's work after its ack.
    _commands: concurrent.futures.ThreadPoolExecutor
