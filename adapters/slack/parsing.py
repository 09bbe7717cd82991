"""Reading what Slack sends: the ``/incident`` subcommand and its argument, a user mention, and
whether a payload has the shape the listeners read.

Pure functions, no Slack calls: the handlers decide what to do with the result.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import attrs
from firebell.adapters.slack.timeline_parsing import (
    RECORD_SUBCOMMANDS,
    event_problem,
    plain_text,
    split_first_word,
    unescape_slack,
)
from firebell.core.text import MAX_TITLE, clean_text
from firebell.plugins.slack.text import truncate

__all__ = [
    "CHANNEL_SUBCOMMANDS",
    "Subcommand",
    "offered_declaration",
    "parse_incident_text",
    "parse_user_mention",
    "payload_problem",
    "reads_as_title",
    "title_and_description",
    "title_from_description",
]

#: Subcommands that act on the incident of the channel they are typed in.
CHANNEL_SUBCOMMANDS = frozenset({"update", "severity", "commander", "resolve", "close", "reopen"})

_ALIASES = {"sev": "severity", "ic": "commander", "status": "update"}

#: Subcommands that take no argument: text after one is not meant for it.
_NO_ARGUMENT = frozenset({"followups"})

# Slack clients with "smart punctuation" turn a typed "--" into an en or em dash.
_PUBLIC_FLAG = re.compile(r"^(?:--|[\u2013\u2014]-?|-)public(?:\s+|$)", re.IGNORECASE)

# Slack sends a mention as <@U123|name> (or <@U123>) when the command escapes users.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_BARE_ID = re.compile(r"^@?([UW][A-Z0-9]{8,})$")


@attrs.frozen
class Subcommand:
    """What ``/incident <text>`` asks for.

    ``name`` is ``form`` (no text: open the modal), ``help``, ``declare`` (quick declare with
    ``argument`` as the description) or one of :data:`CHANNEL_SUBCOMMANDS`. ``public`` is the
    ``--public`` flag of ``update``.
    """

    name: str
    argument: str = ""
    public: bool = False


def parse_incident_text(text: str) -> Subcommand:
    """Split ``/incident`` text into its subcommand and argument (see :class:`Subcommand`).

    ``text`` is as Slack sent it; the argument is as the person typed it (Slack's ``&lt;``,
    ``&gt;`` and ``&amp;`` unescaped), except ``commander``'s, which stays the mention Slack sent.
    """
    stripped = text.strip()
    if not stripped:
        return Subcommand("form")
    first, rest = split_first_word(stripped)
    word = first.lower()
    word = _ALIASES.get(word, word)
    if word in {"help", "-h", "--help", "?"}:
        return Subcommand("help")
    if word == "update":
        flag = _PUBLIC_FLAG.match(rest)
        if flag:
            return Subcommand("update", unescape_slack(rest[flag.end() :].strip()), public=True)
        return Subcommand("update", unescape_slack(rest))
    if word == "commander":
        return Subcommand(word, rest)
    if word in CHANNEL_SUBCOMMANDS:
        return Subcommand(word, unescape_slack(rest))
    return Subcommand("declare", unescape_slack(stripped))


def parse_user_mention(text: str, *, me: str | None = None) -> str | None:
    """The user id in ``<@U123|name>``, ``<@U123>`` or a bare ``U123…`` id; None otherwise.

    ``me`` (the person typing) is the answer to ``me``.
    """
    candidate = text.strip()
    if me is not None and candidate.lower() in {"me", "myself", "@me"}:
        return me
    match = _MENTION.match(candidate) or _BARE_ID.match(candidate)
    return match.group(1) if match else None


def title_from_description(description: str) -> str:
    """A title for a quick declare: the description's first line, cut to the title limit."""
    cleaned = clean_text(description)
    first_line = cleaned.splitlines()[0].strip() if cleaned else ""
    return truncate(first_line, MAX_TITLE)


def title_and_description(text: str) -> tuple[str, str]:
    """The title and description of an incident declared with ``text``: the title is the first
    line (cut to the title limit), the description the whole text when the title is not all of it.
    """
    title = title_from_description(text)
    return title, text if text.strip() != title else ""


def offered_declaration(text: str) -> tuple[str, str, str]:
    """The subcommand's word, title and description that fill in the declare form for
    ``/incident`` text read as a title (see :func:`reads_as_title`).

    ``text`` is as Slack sent it. The form shows readable text, not Slack's markup: a mention
    reads ``@ana``, a channel ``#general``, a user group ``@oncall`` (``plain_text``). The word
    and the rest make the title's first line whatever whitespace the person typed between them
    (``close`` + newline + ``button broken`` reads ``close button broken``).
    """
    first, rest = split_first_word(plain_text(text))
    title, description = title_and_description(f"{first} {rest}".strip())
    return first.lower(), title, description


def reads_as_title(text: str, *, severities: Collection[str]) -> bool:
    """Whether ``/incident`` text starting with a subcommand's word, typed *outside* an incident
    channel, names a new incident rather than asks for the subcommand.

    ``text`` is as Slack sent it; ``severities`` are the configured severity names. The
    subcommands act on the channel's incident, so outside one the word alone (``close``) is a
    mistaken place and stays a subcommand, and so does an argument that reads as the
    subcommand's own (``severity SEV1``, ``commander me``, ``done 2``). Any other text after
    the word is read as a title, as in ``Close button broken`` or ``Update fails on iOS``: text
    after a subcommand that takes none (``followups``), and free text after one that takes it
    (``update``, ``resolve``, ``close``, ``reopen``, ``note``, ``followup``), which the
    declaration form shows for the person to confirm or cancel.
    """
    first, rest = split_first_word(text)
    word = first.lower()
    word = RECORD_SUBCOMMANDS.get(word) or _ALIASES.get(word, word)
    argument = unescape_slack(rest).strip()
    if not argument:
        return False
    if word == "severity":
        return argument.casefold() not in {name.casefold() for name in severities}
    if word == "commander":
        return parse_user_mention(rest, me="") is None
    if word == "done":
        return not argument.lstrip("#").isdigit()
    return word in _NO_ARGUMENT or word in CHANNEL_SUBCOMMANDS or word in RECORD_SUBCOMMANDS


_COMMAND_FIELDS = ("command", "user_id", "channel_id")
_VIEW_TYPES = {"view_submission"}  # the modals do not ask for view_closed
# Keys of other kinds of request (events, buttons, functions) that Bolt reads whenever present;
# a view submission never carries them.
_FOREIGN_KEYS = (
    "event",
    "actions",
    "function_data",
    "message",
    "previous_message",
    "assistant_thread",
)
# Keys a view submission may carry, with the type Bolt assumes when it reads them.
_SHAPES: dict[str, type | tuple[type, ...]] = {
    "team": Mapping,
    "user": Mapping,
    "view": Mapping,
    "channel": Mapping,
    "container": Mapping,
    "enterprise": (Mapping, str),
    "response_urls": list,
    "authorizations": list,
}


def payload_problem(body: object) -> str | None:
    """Why Firebell will not dispatch a request with this (parsed) body, or None.

    Firebell listens to slash commands and modal submissions only; those must have the fields
    the listeners read, as strings. Slack's own ``url_verification`` and ``ssl_check`` pass.
    Anything else is refused before Bolt sees it, because Bolt computes every listener argument
    up front, and several of those computations raise on unexpected or wrong-typed fields. A
    new kind of listener (a button, a shortcut) must be allowed here too.
    """
    if not isinstance(body, Mapping):
        return "the payload is not an object"
    if "command" in body:
        # A slash command is form-encoded: every field is a string.
        if not all(isinstance(value, str) for value in body.values()):
            return "slash command with a non-string field"
        for name in _COMMAND_FIELDS:
            if not body.get(name):
                return f"slash command without {name}"
        return None
    if "ssl_check" in body:
        return None
    kind = body.get("type")
    if not isinstance(kind, str):
        return "no request type"
    if kind == "url_verification":
        return (
            None if isinstance(body.get("challenge"), str) else "url_verification without challenge"
        )
    if kind == "event_callback":  # pins and reactions (adapters/slack/mark_listeners.py)
        return event_problem(body)
    if kind not in _VIEW_TYPES:
        return f"Firebell handles no {kind[:40]!r} requests"
    for key in _FOREIGN_KEYS:
        if key in body:
            return f"view submission with an unexpected {key!r}"
    for key, shape in _SHAPES.items():
        value = body.get(key)
        if value is not None and not isinstance(value, shape):
            return f"view submission with a malformed {key!r}"
        if isinstance(value, list) and not all(isinstance(item, Mapping) for item in value):
            return f"view submission with a malformed {key!r}"
    view = body.get("view")
    user = body.get("user")
    if not isinstance(view, Mapping):
        return "view payload without a view object"
    if not all(isinstance(view.get(key), str) for key in ("id", "type", "callback_id")):
        return "view without a string id, type or callback_id"
    if not isinstance(user, Mapping) or not isinstance(user.get("id"), str) or not user["id"]:
        return "view payload without a user id"
    return None
