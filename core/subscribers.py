"""Which plugins get an outbox row for an event, and which of those rows start done.

Every enabled plugin gets a row for every event, so that the outbox's counts and the order of an
incident's events per plugin stay simple. A plugin that implements no hook for an event's type
(neither the type's own hook nor ``firebell_event``) has nothing to do for it: its row is
written ``done``, instead of being claimed, handed to a worker thread and completed for a call
that does nothing (three transactions, a thread and the event read back, on the way of every
other delivery of the moment: a declaration's names and links are such events for most plugins).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

__all__ = ["Subscribers", "as_subscribers"]

#: Whether a plugin has a hook for an event type: ``(plugin, event_type) -> bool``.
Handles = Callable[[str, str], bool]


def _every(_plugin: str, _event_type: str) -> bool:
    return True


@attrs.frozen
class Subscribers:
    """The plugins that get an outbox row for every event (``names``), and whether each has a
    hook for an event type (``handles``; a plugin without one gets its row ``done``)."""

    names: tuple[str, ...]
    handles: Handles = _every

    def statuses(self, event_type: str) -> list[tuple[str, str]]:
        """``(plugin, status)`` of the rows for an event of ``event_type``."""
        handles = self.handles
        return [(name, "pending" if handles(name, event_type) else "done") for name in self.names]


def as_subscribers(value: Subscribers | Sequence[str]) -> Subscribers:
    """``value`` as :class:`Subscribers`; plain names get rows that all start pending."""
    if isinstance(value, Subscribers):
        return value
    return Subscribers(tuple(value))
