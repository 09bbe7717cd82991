"""Slack users a CLI command involves, named as the Slack adapter names them.

The command line records people as it is given them, so a Slack user id (``--as U0123ABC``, a
new commander, a follow-up's ``--owner``, a mention pasted from Slack) is recorded as the id.
When the Slack plugin is enabled, :func:`name_slack_people` looks those ids up once the command
is recorded, with the Slack adapter's own lookup
(:meth:`~firebell.adapters.slack.people.PeopleDirectory.record_names`, ``users.info`` with the
plugin's token and ``api_url``), and records ``person.named`` for each one the incident holds no
name for yet: ``show``, the post-mortems and the web console then show names, as for people who
act in Slack.

A name is never worth a failed command: the lookup comes after the command's answer is printed
and before the wait for the plugins (whose post-mortems then show the names); a failure (Slack
down, a refused token, no ``users:read`` scope) leaves the ids, with at most one warning.
Without the Slack plugin nothing is looked up, and Slack's modules are not even imported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from firebell.core import Firebell
from firebell.core.incident import IncidentState
from firebell.core.store import AppendResult

__all__ = ["PEOPLE_FIELDS", "name_slack_people", "people_in"]

log = logging.getLogger("firebell.cli")

#: The fields of the events a command records that hold a person (beside the event's actor).
PEOPLE_FIELDS = ("reporter", "commander", "owner", "author")


def people_in(result: AppendResult) -> Iterator[str]:
    """Everyone the events of ``result`` name: who acted, the reporter, the new commander, a
    follow-up's owner, a note's author (each once, in that order; ids as recorded)."""
    seen: set[str] = set()
    for event in result.events:
        for person in (event.actor, *(getattr(event.data, f, None) for f in PEOPLE_FIELDS)):
            if isinstance(person, str) and person and person not in seen:
                seen.add(person)
                yield person


def name_slack_people(firebell: Firebell, result: AppendResult) -> None:
    """Record ``person.named`` for the Slack users ``result`` involves that its incident holds
    no name for, when the Slack plugin is enabled; see the module's docstring.

    Nothing is raised: a failure is logged (at most one warning), and after a lookup that gave
    no name the others are not tried, since Slack would most likely fail them alike.
    """
    plugin = firebell.host.enabled.get("slack")
    incident = result.incident
    if plugin is None or result.duplicate or incident.state is IncidentState.CLOSED:
        return
    try:
        _record_names(firebell, result, plugin.config)
    except Exception as error:
        # The command is recorded and answered; only the names are missing.
        log.warning(
            "could not look up people's names in Slack (%s: %s); they are shown by id",
            type(error).__name__,
            firebell.redact(str(error)),
        )


def _record_names(firebell: Firebell, result: AppendResult, config: object) -> None:
    # Imported here: the light commands (and every one without the Slack plugin) load no Slack.
    from firebell.plugins.slack.client import make_web_client
    from firebell.plugins.slack.config import SlackConfig, is_user_id

    incident = result.incident
    unnamed = [
        person
        for person in people_in(result)
        if is_user_id(person) and incident.person_name(person) == person
    ]
    if not unnamed or not isinstance(config, SlackConfig):
        return
    from firebell.adapters.slack.people import PeopleDirectory

    # The client the Slack plugin makes; the directory keeps its token, URL and TLS settings and
    # gives each lookup a short timeout of its own, without retries.
    client = make_web_client(
        config.bot_token.reveal(), base_url=config.api_url, timeout=config.timeout
    )
    directory = PeopleDirectory(client)
    actor = result.events[-1].actor
    # slack_sdk's own line about a failed request is left out by the CLI's log handler
    # (adapters/cli/main.py) without -v: PeopleDirectory logs its one line on the failure.
    for person in unnamed:
        directory.record_names(firebell.engine, incident.id, [person], actor=actor)
        if directory.cached(person) == (True, None):
            break
