"""What the adapter says back to a person: refusals, errors and help, escaped for mrkdwn.

Every text here can contain something a person typed (an unknown severity, a summary), so it is
escaped before it goes out: ``<!channel>`` in a refusal must not ping anyone.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping

from firebell.core.config import FirebellConfig
from firebell.core.errors import (
    CommandRefused,
    DatabaseUnavailable,
    DatabaseUnusable,
    FirebellError,
)
from firebell.core.store import AppendResult
from firebell.plugins.slack.text import SECTION_LIMIT, escape_mrkdwn, truncate

__all__ = [
    "DATABASE_UNAVAILABLE",
    "DATABASE_UNUSABLE",
    "NOT_AN_INCIDENT_CHANNEL",
    "declared_text",
    "describe_error",
    "error_text",
    "help_text",
    "named_people",
    "safe_text",
]

log = logging.getLogger("firebell.slack")

DATABASE_UNAVAILABLE = (
    "The incident database is unavailable; nothing was recorded. Try again in a moment."
)

# A database that answers but refuses (read-only, missing, not a database): waiting will not
# help, and what to change is for whoever runs Firebell (in its log), not for the person here.
DATABASE_UNUSABLE = (
    "Firebell cannot record anything right now: its incident database refuses writes, and "
    "whoever runs Firebell has to fix it (`firebell doctor` says what). Nothing was recorded; "
    "until then, page on-call and open the incident's channel by hand."
)

NOT_AN_INCIDENT_CHANNEL = (
    "This channel is not an incident channel. Run `{command}` in the channel Firebell created "
    "for the incident (the `#incd-…` channel linked to it), or see `/incident help`."
)

# Engine refusals name people by their Slack user id ("resolved, by U0123ABCD at ..."); in Slack
# they read better as mentions (a mention in an ephemeral reply notifies nobody).
_USER_ID = re.compile(r"\b([UW][A-Z0-9]{8,})\b")


def safe_text(text: str, *, mention_ids: bool = False) -> str:
    """``text`` escaped for mrkdwn and cut to a section's limit.

    With ``mention_ids`` the Slack user ids in it are shown as mentions; only for texts built
    from the incident's state, never for ones that echo what a person typed.
    """
    escaped = escape_mrkdwn(text)
    if mention_ids:
        escaped = _USER_ID.sub(r"<@\1>", escaped)
    return truncate(escaped, SECTION_LIMIT)


def named_people(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each Slack user id in it replaced by that person's name in ``names``.

    For plain text (a modal's inline error), where a mention would show as a raw id; an id
    without a recorded name stays as it is.
    """
    return _USER_ID.sub(lambda match: names.get(match.group(1), match.group(1)), text)


def describe_error(error: Exception, *, doing: str) -> str:
    """A plain-text message for ``error``, raised while ``doing`` (e.g. "running /incident").

    Firebell's own errors carry a message a person can act on and are shown as they are; anything
    else is logged with a reference the message repeats, and the person sees no traceback.
    """
    if isinstance(error, DatabaseUnusable):
        log.error("database unusable while %s: %s", doing, error)
        return DATABASE_UNUSABLE
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable while %s: %s", doing, error)
        return DATABASE_UNAVAILABLE
    if isinstance(error, FirebellError):
        return str(error)
    reference = secrets.token_hex(4)
    log.error("unexpected error while %s (ref %s)", doing, reference, exc_info=error)
    return (
        f"Firebell hit an unexpected error while {doing} (reference {reference} in its log). "
        "Check the incident channel or `firebell list` before trying again."
    )


def error_text(error: Exception, *, doing: str) -> str:
    """:func:`describe_error` as mrkdwn for an ephemeral reply (escaped, people as mentions)."""
    return safe_text(
        describe_error(error, doing=doing), mention_ids=isinstance(error, CommandRefused)
    )


def help_text(settings: FirebellConfig) -> str:
    """The ``/incident help`` text, listing the configured severities."""
    severities = "\n".join(
        f"• `{escape_mrkdwn(s.name)}`: {escape_mrkdwn(s.description)}" for s in settings.severities
    )
    return truncate(
        "*Firebell: declaring and running incidents*\n"
        "`/incident`: open the form to declare an incident\n"
        "`/incident <what is wrong>`: declare at once with the default severity "
        f"({escape_mrkdwn(settings.default_severity)})\n"
        "`/incident help`: this help\n"
        "*In an incident's channel:*\n"
        "`/incident update [--public] <text>`: post a status update (`--public` may reach the "
        "status page)\n"
        "`/incident severity <SEVn>`: change the severity\n"
        "`/incident commander @person` (or `me`): hand over the command\n"
        "`/incident resolve [summary]`, `/resolve-incident`: mark it resolved\n"
        "`/incident reopen [reason]`: reopen a resolved incident\n"
        "`/incident close [summary]`, `/close-incident`: close it after the post-mortem "
        "(archives the channel)\n"
        "`/incident note <text>`: add a line to the timeline (pinning a message, or reacting "
        "with :pushpin:, adds that message)\n"
        "`/incident followup <task> [@owner]`, `/incident followups`, `/incident done <n>`: "
        "the post-mortem's follow-ups\n"
        f"*Severities:*\n{severities}",
        SECTION_LIMIT,
    )


def declared_text(result: AppendResult) -> str:
    """The reporter's confirmation of a declaration: the incident's name, severity and title."""
    incident = result.incident
    return (
        f"Declared *{escape_mrkdwn(incident.id)}* ({escape_mrkdwn(incident.severity)}): "
        f"{escape_mrkdwn(incident.title)}\nFirebell is opening its channel and will DM you a link."
    )
