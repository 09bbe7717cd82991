"""How the CLI takes and shows a person: a Slack mention pasted on the command line is taken as
the id it names and ``me`` as whoever acts (:func:`person_id`); a commander must be someone
Firebell can name (:func:`commander_id`); a person is shown by the name the incident recorded
(``person.named``), with the id (:func:`person_text`, :func:`follow_up_json`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from firebell.core import InvalidInput
from firebell.core.incident import FollowUp
from firebell.core.serialization import converter

__all__ = ["commander_id", "follow_up_json", "person_id", "person_text"]

#: A user mention as Slack writes it, and as it is pasted from there: ``<@U123>``, ``<@U123|ana>``.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")

#: A Slack user id typed bare (``U0123ABCDEF``, ``@U0123ABCDEF``): it has a digit, as Slack's
#: ids do, so that a word in capitals (``WHOEVER``) is not taken for one.
_USER_ID = re.compile(r"@?([UW](?=[A-Z0-9]*[0-9])[A-Z0-9]{2,})")

#: What stands for the person acting, as ``/incident commander me`` takes it in Slack.
_ME = frozenset({"me", "myself", "@me"})

#: The ids Firebell gives people who act outside Slack: ``cli:<login>``, ``web:<user>``.
_ACTOR_PREFIXES = ("cli:", "web:")

#: The follow-up's fields that hold a person's id; :func:`follow_up_json` adds ``<field>_name``.
FOLLOW_UP_PEOPLE = ("owner", "added_by", "done_by")


def person_id(text: str, *, me: str | None = None) -> str:
    """The id in a pasted Slack mention (``<@U0BOB>`` or ``<@U0BOB|bob>`` -> ``U0BOB``), ``me``
    for ``me`` (also ``myself``, ``@me``) when given; anything else (an id, a name,
    ``cli:ana``) as it was given, without surrounding spaces."""
    stripped = text.strip()
    if me is not None and stripped.lower() in _ME:
        return me
    mention = _MENTION.fullmatch(stripped)
    return mention.group(1) if mention else stripped


def commander_id(text: str, *, me: str) -> str:
    """The person ``text`` names as commander: a Slack user id, a mention pasted from Slack,
    ``me``/``myself``/``@me`` (the person acting, given as ``me``) or ``cli:<login>`` /
    ``web:<user>``.

    Anything else (``nobody``, a name) is refused with :class:`InvalidInput` saying what is
    taken: the commander is announced in Slack and named in the post-mortem, so a word taken
    as a person would be announced as one.
    """
    if text.strip().lower() in _ME:
        return me
    found = person_id(text)
    bare = _USER_ID.fullmatch(found)
    if bare:
        return bare.group(1)
    if any(found.startswith(prefix) and found != prefix for prefix in _ACTOR_PREFIXES):
        return found
    raise InvalidInput(
        f"{text.strip()!r} is not a person Firebell knows. Give a Slack user id (U0123ABCDEF), "
        f"a mention pasted from Slack (<@U0123ABCDEF>), `me` (whoever acts: {me}) or "
        "cli:<login>.",
        field="commander",
    )


def person_text(who: str, names: Mapping[str, str]) -> str:
    """``Ada Lovelace (U0123ABC)`` when ``names`` (id -> name) knows ``who``, else ``who`` alone."""
    name = names.get(who)
    return f"{name} ({who})" if name and name != who else who


def follow_up_json(task: FollowUp, names: Mapping[str, str]) -> dict[str, Any]:
    """A follow-up as a JSON-ready dict, plus the recorded name of each person in it
    (``owner_name``, ``added_by_name``, ``done_by_name``; null when none was recorded) beside
    the ids, as the incident JSON has ``reporter_name`` beside ``reporter``."""
    data: dict[str, Any] = converter.unstructure(task)
    for field in FOLLOW_UP_PEOPLE:
        who = getattr(task, field)
        data[f"{field}_name"] = names.get(who) if who else None
    return data
