"""Incident names as people type them at the command line.

Besides the name itself (``20260601-honest-rhino``, any case, with or without ``incd-``, which
:meth:`Engine.get <firebell.core.engine.Engine.get>` takes), :func:`find_incident` takes the
incident channel's name as it is copied from Slack: ``#incd-20260601-honest-rhino``, and
``incd-20260601-honest-rhino-resolved`` once the incident is resolved (``-2``, ``-3`` when the
first name was taken; the prefix is ``[plugins.slack] channel_prefix``). A name that matches
nothing is refused, with the one incident whose name ends with it as a suggestion
(``honest-rhino``): the command does not act on a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from firebell.core import Engine, Incident, IncidentNotFound

__all__ = ["find_incident"]

#: What Slack adds to the incident's name in its channel's name: a number when the name was
#: taken, ``-resolved`` while the incident is resolved (plugins/slack/channels.py).
_CHANNEL_SUFFIX = re.compile(r"(?:-\d{1,2})?(?:-resolved)?$")

#: How many incidents matching what was typed are read to look for a suggestion.
_SUGGESTION_SCAN = 200


def find_incident(engine: Engine, text: str) -> Incident:
    """The incident ``text`` names: its name or its Slack channel's name (see the module).

    Raises :class:`IncidentNotFound` when none matches, suggesting the incident whose name ends
    with ``text`` when exactly one does.
    """
    try:
        return engine.get(text)
    except IncidentNotFound as not_found:
        for candidate in _channel_name_readings(engine, text):
            found = engine.store.get_incident(candidate)
            if found is not None:
                return found
        suggestion = _ending_with(engine, text)
        if suggestion is None:
            raise
        raise IncidentNotFound(
            f"There is no incident called {text!r}. Did you mean {suggestion}? "
            "`firebell list` shows them."
        ) from not_found


def _channel_name_readings(engine: Engine, text: str) -> Iterator[str]:
    """The incident names ``text`` may be a Slack channel's name for (``#``, the prefix and
    Slack's suffixes taken off), most literal first."""
    name = text.strip().lower().removeprefix("#")
    for prefix in dict.fromkeys((_channel_prefix(engine), "incd-")):
        if prefix and name.startswith(prefix):
            name = name.removeprefix(prefix)
            break
    yield name
    bare = _CHANNEL_SUFFIX.sub("", name)
    if bare and bare != name:
        yield bare


def _channel_prefix(engine: Engine) -> str:
    """``[plugins.slack] channel_prefix`` as written (``incd-`` by default)."""
    table = engine.settings.plugins.get("slack")
    prefix = table.options.get("channel_prefix") if table is not None else None
    return prefix.lower() if isinstance(prefix, str) else "incd-"


def _ending_with(engine: Engine, text: str) -> str | None:
    """The name of the one incident whose name ends with ``text`` (``great-gorilla``), or None
    when none or several do."""
    typed = [reading for reading in _channel_name_readings(engine, text) if len(reading) >= 3]
    if not typed:
        return None
    core = typed[-1]
    found = {
        incident.id
        for incident in engine.store.list_incidents(search=core, limit=_SUGGESTION_SCAN)
        if incident.id.endswith(core)
    }
    return found.pop() if len(found) == 1 else None
