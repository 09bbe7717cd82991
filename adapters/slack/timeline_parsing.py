"""Reading the record's requests from Slack: ``/incident note|followup|followups|done`` and the
pin and reaction events, checked for the shape the listeners read.

Pure functions, no Slack calls; :mod:`.mark_listeners` and :mod:`.record_commands` act on what
they return.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

import attrs
from firebell.core.config import FirebellConfig
from firebell.core.incident import Incident, IncidentState

__all__ = [
    "MARK_EVENTS",
    "RECORD_SUBCOMMANDS",
    "EventMessage",
    "RecordCommand",
    "close_warning",
    "event_message",
    "event_problem",
    "needs_close_confirmation",
    "parse_record_command",
    "plain_text",
    "reaction_name",
    "split_first_word",
    "ts_to_datetime",
    "unescape_slack",
]

#: The Events API events the adapter subscribes to (slack-app-manifest.yaml).
MARK_EVENTS = frozenset({"pin_added", "pin_removed", "reaction_added", "reaction_removed"})

#: ``/incident`` subcommands about the record, with their aliases.
RECORD_SUBCOMMANDS = {
    "note": "note",
    "followup": "followup",
    "follow-up": "followup",
    "followups": "followups",
    "follow-ups": "followups",
    "done": "done",
}

# A trailing owner: an escaped mention (<@U123|name> or <@U123>), or a bare user id.
_OWNER = re.compile(r"\s+(?:<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>|@?([UW][A-Z0-9]{8,}))\s*$")
# A leading owner: a mention only, since a task may well start with a word like an id.
_LEADING_OWNER = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>(?:\s+|$)")
# Slack's control sequences in message text: <@U1>, <#C1|name>, <!here>, <url|label>, <url>.
_CONTROL = re.compile(r"<([^<>]+)>")


@attrs.frozen
class RecordCommand:
    """``/incident note|followup|followups|done``: which, its text, and a follow-up's owner."""

    name: str
    argument: str = ""
    owner: str | None = None


def split_first_word(text: str) -> tuple[str, str]:
    """``text``'s first word and the rest, both stripped; any whitespace ends the word.

    Slack lets a slash command span lines (Shift+Enter), so ``update`` + newline + text is the
    subcommand and its argument, as with a space. The rest keeps its own line breaks.
    """
    parts = text.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def parse_record_command(text: str) -> RecordCommand | None:
    """The record subcommand in ``/incident`` text, or None for any other text."""
    first, rest = split_first_word(text)
    name = RECORD_SUBCOMMANDS.get(first.lower())
    if name is None:
        return None
    # The owner is read from the markup Slack sent; the text is stored as the person typed it.
    if name != "followup":
        return RecordCommand(name, unescape_slack(rest))
    leading = _LEADING_OWNER.match(rest)
    if leading is not None:
        return RecordCommand(name, unescape_slack(rest[leading.end() :].strip()), leading.group(1))
    owner = _OWNER.search(" " + rest)
    if owner is None:
        return RecordCommand(name, unescape_slack(rest))
    task = (" " + rest)[: owner.start()].strip()
    return RecordCommand(name, unescape_slack(task), owner.group(1) or owner.group(2))


def unescape_slack(text: str) -> str:
    """``text`` with Slack's three entities (``&lt;``, ``&gt;``, ``&amp;``) turned back into
    ``<``, ``>`` and ``&``, as the person typed them.

    Slack escapes these in message text and in a slash command's text (and nothing else); a
    modal's input values come unescaped. Markup such as ``<@U1>`` is left as it is.
    """
    # &amp; last, so that a typed "&lt;" (sent as "&amp;lt;") stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plain(sequence: str) -> str:
    target, _, label = sequence.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!subteam^"):
        return label or "@group"
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^")[0])
    return f"{label} ({target})" if label and label != target else target


def plain_text(text: str) -> str:
    """Slack message text as plain text: ``<@U1>`` -> ``@U1``, ``<url|label>`` -> ``label (url)``,
    ``&lt;`` -> ``<``. The timeline stores this, so no document shows Slack's markup."""
    unwrapped = _CONTROL.sub(lambda match: _plain(match.group(1)), text)
    return unescape_slack(unwrapped)


def reaction_name(name: str) -> str:
    """``thumbsup`` for ``thumbsup::skin-tone-2`` (a skin tone is the same reaction)."""
    return name.split("::", 1)[0]


def ts_to_datetime(ts: str) -> datetime | None:
    """When a message with Slack timestamp ``ts`` (``1717250000.000100``) was posted, or None."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _string(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def event_problem(body: Mapping[str, object]) -> str | None:
    """Why an ``event_callback`` body is not one the adapter handles, or None.

    Only the pin and reaction events of messages are handled; their fields must be strings
    where the listeners read strings.
    """
    event = body.get("event")
    if not isinstance(event, Mapping):
        return "event_callback without an event"
    if not _string(body.get("event_id")):
        return "event_callback without an event_id"
    kind = event.get("type")
    if not isinstance(kind, str) or kind not in MARK_EVENTS:
        return f"Firebell handles no {str(kind)[:40]!r} events"
    item = event.get("item")
    if not _string(event.get("user")) or not isinstance(item, Mapping):
        return f"{kind} without a user or an item"
    if item.get("type") != "message":
        return None  # a file or file comment: accepted, and ignored by the listener
    if kind.startswith("reaction"):
        if not (_string(event.get("reaction")) and _string(item.get("channel"))):
            return f"{kind} without a reaction or a channel"
        return None if _string(item.get("ts")) else f"{kind} without the message's ts"
    message = item.get("message")
    if not _string(event.get("channel_id")) or not isinstance(message, Mapping):
        return f"{kind} without a channel_id or a message"
    return None if _string(message.get("ts")) else f"{kind} without the message's ts"


@attrs.frozen
class EventMessage:
    """What a mark event itself tells of its message, for when Slack cannot be asked.

    A ``pin_added`` item usually carries the whole message (its text, author and permalink); a
    ``reaction_added`` item only the channel and ts, with the author as ``item_user``. ``text``
    is None when the event does not carry it.
    """

    author: str
    text: str | None
    permalink: str | None


def _first_string(source: Mapping[str, object], *keys: str) -> str | None:
    for key in keys:
        value = source.get(key)
        if _string(value):
            return str(value)
    return None


def event_message(event: Mapping[str, object]) -> EventMessage:
    """The message of a pin or reaction event as the event carries it (see :class:`EventMessage`)."""
    item = event.get("item")
    message = item.get("message") if isinstance(item, Mapping) else None
    if isinstance(message, Mapping):
        author = _first_string(message, "user", "username", "bot_id")
        text = message.get("text")
        return EventMessage(
            author or _first_string(event, "item_user") or "someone",
            text if isinstance(text, str) else None,
            _first_string(message, "permalink"),
        )
    return EventMessage(_first_string(event, "item_user") or "someone", None, None)


def needs_close_confirmation(incident: Incident, settings: FirebellConfig) -> bool:
    """Whether closing ``incident`` should be confirmed: resolved, without follow-ups, and
    ``[firebell] close_requires_followups = "confirm"``."""
    return (
        settings.close_requires_followups == "confirm"
        and incident.state is IncidentState.RESOLVED
        and not incident.follow_ups
    )


def close_warning(incident: Incident, settings: FirebellConfig) -> str:
    """The close dialog's warning about missing follow-ups (mrkdwn), or ``""``."""
    if not needs_close_confirmation(incident, settings):
        return ""
    return (
        ":warning: *No follow-ups recorded.* A post-mortem usually ends with mitigation tasks: "
        "cancel and add them with `/incident followup <task> @owner`, or close anyway."
    )
