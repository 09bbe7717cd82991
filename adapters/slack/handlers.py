"""The Bolt listeners: slash commands and modal submissions turned into engine commands.

Slash commands are acknowledged at once; the work (a fast read or append, and any ``views.open``
while the trigger is fresh) runs after the acknowledgement on a pool of the adapter's, and the
outcome comes back as an ephemeral reply on the command's ``response_url``. Modal submissions
must be answered with the outcome (inline errors keep the modal open), so the engine command
runs first, bounded by a deadline under Slack's three seconds. Bolt answers Slack as soon as a
listener returns (``process_before_response``, see :func:`~firebell.adapters.slack.build_app`),
so no listener does anything slow after its ack on Bolt's thread.

:class:`SlackAdapter` sets up what the listeners share
(:class:`~firebell.adapters.slack.adapter_parts.AdapterParts`) and registers them: the slash
commands of :mod:`~firebell.adapters.slack.incident_commands` and the modal submissions of
:mod:`~firebell.adapters.slack.modal_submissions`.

Each command passes the names of the people it involves (``names=``, from a
:class:`~firebell.adapters.slack.people.PeopleDirectory`), which the engine records with it
when the incident lacks them, for the post-mortems. Those are the names already known (the
cache, else the username the request carries), so that a slow ``users.info`` never holds up
a command or reorders commands; the people are looked up after the command is recorded and
answered, and a better name (a real name where the incident holds a username or an id) is
appended then (:meth:`~firebell.adapters.slack.people.PeopleDirectory.record_names`).
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any

from firebell.adapters.slack.declaration_watch import DeclarationWatch
from firebell.adapters.slack.groups import GroupDirectory
from firebell.adapters.slack.incident_commands import IncidentCommands
from firebell.adapters.slack.modal_submissions import (
    STILL_WORKING,
    SUBMIT_DEADLINE,
    ModalSubmissions,
)
from firebell.adapters.slack.modals import CLOSE_CALLBACK, DECLARE_CALLBACK, RESOLVE_CALLBACK
from firebell.adapters.slack.parsing import payload_problem
from firebell.adapters.slack.people import PeopleDirectory
from firebell.core.runtime import Firebell
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

__all__ = ["STILL_WORKING", "SUBMIT_DEADLINE", "SlackAdapter"]

log = logging.getLogger("firebell.slack")

#: Threads sending confirmations on response_urls (each a short HTTPS POST, 5 s at most).
_REPLY_THREADS = 4
#: Threads running slash commands after their ack (a read or append, views.open, the reply).
_COMMAND_THREADS = 8


def _reject_malformed(body: Any, next: Callable[[], None], resp: BoltResponse) -> BoltResponse:
    # The HTTP endpoint refuses these before Bolt; Socket Mode envelopes come here directly.
    problem = payload_problem(body)
    if problem is not None:
        log.warning("refused a malformed Slack request: %s", problem)
        return BoltResponse(status=400, body={"error": "malformed request", "detail": problem})
    next()
    return resp


class SlackAdapter(IncidentCommands, ModalSubmissions):
    """Registers Firebell's slash commands and modals on a Bolt app and runs them."""

    def __init__(
        self,
        firebell: Firebell,
        client: WebClient,
        *,
        groups: GroupDirectory,
        people: PeopleDirectory | None = None,
        submit_deadline: float = SUBMIT_DEADLINE,
        declarations: DeclarationWatch | None = None,
    ) -> None:
        self.firebell = firebell
        # Tells a reporter when Slack refused to set up what they declared (the bot cannot).
        self.declarations = declarations or DeclarationWatch(firebell)
        self.engine = firebell.engine
        self.client = client
        self.groups = groups
        self.people = people or PeopleDirectory(client)
        self.submit_deadline = submit_deadline
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="firebell-slack"
        )
        # Confirmations on a response_url are sent from here, not from Bolt's listener thread:
        # its pool is small, and a reply's round trip there held up the next submissions' acks
        # (536 ms median under a burst of 100 declarations, against 13 ms alone).
        self._replies = concurrent.futures.ThreadPoolExecutor(
            max_workers=_REPLY_THREADS, thread_name_prefix="firebell-slack-reply"
        )
        # A slash command's work after its ack: Bolt answers Slack only when the listener
        # returns, and the answer must not wait for views.open or the reply.
        self._commands = concurrent.futures.ThreadPoolExecutor(
            max_workers=_COMMAND_THREADS, thread_name_prefix="firebell-slack-command"
        )

    def register(self, app: App) -> None:
        """Add the listeners (and the malformed-payload guard) to ``app``."""
        app.use(_reject_malformed)
        app.command("/incident")(self.incident_command)
        app.command("/resolve-incident")(self.resolve_command)
        app.command("/close-incident")(self.close_command)
        app.view(DECLARE_CALLBACK)(self.declare_submitted)
        app.view(RESOLVE_CALLBACK)(self.resolve_submitted)
        app.view(CLOSE_CALLBACK)(self.close_submitted)
