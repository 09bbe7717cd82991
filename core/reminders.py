"""Reminders derived from the log: due times computed from the read model, sent as events.

Nothing sleeps until a reminder is due. A scheduler (in ``firebell run``, and once per
``firebell deliver``) looks at the open and resolved incidents every so often, works out which
reminders are due from what the log says (when the incident was declared, last updated,
resolved, and when each kind of reminder last went out) and appends ``reminder.sent`` for each.
Plugins tell the people (the Slack plugin posts in the incident channel).

Never twice: the append's idempotency key names the incident, the kind and the moment it fell
due (``reminder:<incident>:<kind>:<due time>``), and every scheduler computes the same moment
from the same log, so two processes, or one restarted, append it once. After a reminder the
next one of its kind is due a full interval later (measured from when it went out), so a
scheduler that was down for hours sends one reminder, not one per missed interval.

- ``update``: open, and no status update for ``update_after_minutes[severity]`` minutes (since
  the declare, the last update, the reopen or the last such reminder).
- ``commander``: open without a commander for ``commander_after_minutes``; the reporter is asked
  to take the role or hand it out (again every as many minutes).
- ``postmortem``: ``postmortem_after_minutes`` after the resolve, once per resolve: fill in the
  post-mortem and schedule its meeting. Skipped when over a week late (an old backlog).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import attrs
from firebell.core.engine import Engine
from firebell.core.errors import CommandRefused, DatabaseUnavailable
from firebell.core.events import Event
from firebell.core.incident import Incident, IncidentState
from firebell.core.record_settings import ReminderSettings
from firebell.core.store import AppendResult
from firebell.core.timeline_events import ReminderSent, write_moment

__all__ = [
    "REMINDER_ACTOR",
    "STALE_AFTER",
    "DueReminder",
    "ReminderScheduler",
    "due_reminders",
]

log = logging.getLogger("firebell.reminders")

#: Who appends reminders (plugins and the CLI are not restricted by permissions).
REMINDER_ACTOR = "plugin:reminders"

#: A post-mortem reminder this late is not sent (incidents resolved long before an upgrade).
STALE_AFTER = timedelta(days=7)

_PAGE = 500


@attrs.frozen
class DueReminder:
    """A reminder that is due: its incident, kind, the moment it fell due, and whom it asks."""

    incident_id: str
    kind: str
    due_at: datetime
    recipient: str | None = None

    @property
    def idempotency_key(self) -> str:
        """``reminder:<incident>:<kind>:<due time>``: the same for every scheduler."""
        return f"reminder:{self.incident_id}:{self.kind}:{self.due_at.isoformat()}"


def _latest(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def _update_due(incident: Incident, settings: ReminderSettings) -> datetime | None:
    minutes = settings.update_after_minutes.get(incident.severity, 0)
    if incident.state is not IncidentState.OPEN or minutes <= 0:
        return None
    quiet_since = _latest(
        incident.declared_at,
        incident.last_update_at,
        incident.reopened_at,
        incident.last_reminded_at("update"),
    )
    return quiet_since + timedelta(minutes=minutes)


def _commander_due(incident: Incident, settings: ReminderSettings) -> datetime | None:
    minutes = settings.commander_after_minutes
    if incident.state is not IncidentState.OPEN or incident.commander or minutes <= 0:
        return None
    since = _latest(incident.declared_at, incident.last_reminded_at("commander"))
    return since + timedelta(minutes=minutes)


def _postmortem_due(incident: Incident, settings: ReminderSettings) -> datetime | None:
    minutes = settings.postmortem_after_minutes
    resolved_at = incident.resolved_at
    if incident.state is not IncidentState.RESOLVED or resolved_at is None or minutes <= 0:
        return None
    last = incident.last_reminded_at("postmortem")
    if last is not None and last >= resolved_at:
        return None  # already reminded for this resolve
    return resolved_at + timedelta(minutes=minutes)


def due_reminders(
    incident: Incident, settings: ReminderSettings, now: datetime
) -> list[DueReminder]:
    """The reminders of ``incident`` due at ``now`` (none when reminders are off)."""
    if not settings.enabled:
        return []
    found = []
    update = _update_due(incident, settings)
    if update is not None and update <= now:
        found.append(DueReminder(incident.id, "update", update))
    commander = _commander_due(incident, settings)
    if commander is not None and commander <= now:
        found.append(DueReminder(incident.id, "commander", commander, incident.reporter))
    postmortem = _postmortem_due(incident, settings)
    if postmortem is not None and postmortem <= now < postmortem + STALE_AFTER:
        who = incident.commander or incident.reporter
        found.append(DueReminder(incident.id, "postmortem", postmortem, who))
    return found


class ReminderScheduler:
    """Finds due reminders in the read model and appends ``reminder.sent`` for each, once.

    Time comes from the engine's clock (inject one with ``open_firebell(clock=...)``).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        self.settings = engine.settings.reminders

    def _candidates(self) -> Iterator[Incident]:
        # Only open and resolved incidents can have a reminder due; the state is an indexed
        # column of the read model, so closed ones (the bulk of a long log) are never read.
        for state in (IncidentState.OPEN, IncidentState.RESOLVED):
            offset = 0
            while True:
                page = self.store.list_incidents(state=state, limit=_PAGE, offset=offset)
                yield from page
                if len(page) < _PAGE:
                    break
                offset += _PAGE

    def due(self) -> list[DueReminder]:
        """Every reminder due now, oldest due first."""
        if not self.settings.enabled:
            return []
        now = self.engine.clock()
        found = [r for i in self._candidates() for r in due_reminders(i, self.settings, now)]
        return sorted(found, key=lambda r: r.due_at)

    def send(self, reminder: DueReminder) -> AppendResult | None:
        """Append ``reminder.sent`` for ``reminder`` unless it is no longer due or went out.

        Returns the append (``duplicate`` when another scheduler sent it), or None when the
        incident moved on meanwhile (an update came in, it was resolved).
        """

        def decide(incident: Incident) -> list[Event]:
            still = due_reminders(incident, self.settings, self.engine.clock())
            if not any(r.kind == reminder.kind and r.due_at == reminder.due_at for r in still):
                raise CommandRefused(f"the {reminder.kind} reminder of {incident.id} is not due")
            due_at = write_moment(reminder.due_at)
            return [ReminderSent(reminder.kind, due_at, reminder.recipient)]

        try:
            return self.engine.append(
                reminder.incident_id,
                decide,
                actor=REMINDER_ACTOR,
                action="remind",
                idempotency_key=reminder.idempotency_key,
            )
        except CommandRefused:
            return None

    def run_once(self) -> list[AppendResult]:
        """Send every due reminder; returns the ones this call appended (not the duplicates)."""
        sent = []
        for reminder in self.due():
            result = self.send(reminder)
            if result is not None and not result.duplicate:
                log.info(
                    "reminder %s due %s sent for %s",
                    reminder.kind,
                    reminder.due_at.isoformat(),
                    reminder.incident_id,
                )
                sent.append(result)
        return sent

    def run_forever(self, stop: threading.Event, *, interval: float = 30.0) -> None:
        """Check every ``interval`` seconds until ``stop`` is set; survives database outages."""
        unavailable = False
        while not stop.is_set():
            try:
                self.run_once()
                if unavailable:
                    log.warning("reminders resumed")
                unavailable = False
            except DatabaseUnavailable as error:
                if not unavailable:
                    log.warning("reminders paused: %s", error)
                unavailable = True
            except Exception:
                # A bug must not stop reminders for good: log it and look again later.
                log.exception("the reminder scheduler failed; trying again in %.0fs", interval)
            stop.wait(interval)
