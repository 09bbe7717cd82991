"""How the CLI takes and shows a person: a Slack mention pasted on the command line is taken as
the id it names (:func:`person_id`), and a person is shown by the name the incident recorded
(``person.named``), with the id (:func:`person_text`, :func:`follow_up_json`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from firebell.core.incident import FollowUp
from firebell.core.serialization import converter

__all__ = ["follow_up_json", "person_id", "person_text"]

#: A user mention as Slack writes it, and as it is pasted from there: ``<@U123>``, ``<@U123|ana>``.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")

#: The follow-up's fields that hold a person's id; :func:`follow_up_json` adds ``<field>_name``.
FOLLOW_UP_PEOPLE = ("owner", "added_by", "done_by")


def person_id(text: str) -> str:
    """The id in a pasted Slack mention (``<@U0BOB>`` or ``<@U0BOB|bob>`` -> ``U0BOB``);
    anything else (an id, a name, ``cli:ana``) as it was given, without surrounding spaces."""
    stripped = text.strip()
    mention = _MENTION.fullmatch(stripped)
    return mention.group(1) if mention else stripped


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
