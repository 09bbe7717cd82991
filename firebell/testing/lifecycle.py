"""Driving one incident through its lifecycle in a test, delivering to the plugins after each step.

::

    lifecycle = IncidentLifecycle(firebell)
    lifecycle.declare("Checkout is failing")
    lifecycle.update("Rolled back the deploy")
    lifecycle.resolve()
    lifecycle.close()
    assert [e.type for e in lifecycle.events()][:2] == ["incident.created", ...]

Every step is a real engine command followed by a real delivery round
(``firebell.deliverer.drain()``), so the plugins see exactly what they would in production.
"""

from __future__ import annotations

from collections.abc import Callable

from firebell.core import timeline_commands
from firebell.core.engine import Engine, people_named
from firebell.core.events import Event, RecordedEvent
from firebell.core.incident import Incident
from firebell.core.reminders import REMINDER_ACTOR
from firebell.core.runtime import Firebell
from firebell.core.store import AppendResult
from firebell.core.timeline_events import ReminderSent, write_moment

__all__ = ["FULL_LIFECYCLE", "IncidentLifecycle"]

#: The steps :meth:`IncidentLifecycle.run` takes: every command, so every event hook fires.
FULL_LIFECYCLE = (
    "declare",
    "assign_commander",
    "name_person",
    "change_severity",
    "update",
    "mark_message",
    "note",
    "unmark_message",
    "remind",
    "resolve",
    "follow_up",
    "complete_follow_up",
    "reopen",
    "resolve",
    "close",
)

#: The incident channel and message :meth:`IncidentLifecycle.mark_message` marks.
LIFECYCLE_CHANNEL = "C0LIFECYCLE"
LIFECYCLE_MESSAGE_TS = "1780000000.000100"


class IncidentLifecycle:
    """One incident driven through Firebell's commands, with a delivery round after each.

    ``actor`` is who runs the commands (default ``cli:tester``). With ``deliver=False`` the
    steps only append events and :meth:`deliver` is left to the test.
    """

    def __init__(
        self, firebell: Firebell, *, actor: str = "cli:tester", deliver: bool = True
    ) -> None:
        self.firebell = firebell
        self.actor = actor
        self.auto_deliver = deliver
        self._incident_id: str | None = None

    # -- reading ---------------------------------------------------------------------------

    @property
    def incident_id(self) -> str:
        """The declared incident's name (``YYYYMMDD-adjective-animal``)."""
        if self._incident_id is None:
            raise AssertionError("no incident yet: call declare() first")
        return self._incident_id

    @property
    def incident(self) -> Incident:
        """The incident as the read model holds it now (state, severity, linked resources)."""
        return self.firebell.engine.get(self.incident_id)

    def events(self) -> list[RecordedEvent]:
        """The incident's events so far, oldest first."""
        return self.firebell.store.select_events(self.incident_id)

    def event_types(self) -> list[str]:
        """The incident's event names so far (``incident.created``, …), oldest first."""
        return [event.type for event in self.events()]

    # -- delivering ------------------------------------------------------------------------

    def deliver(self) -> int:
        """Run a delivery round now: every due event reaches every enabled plugin."""
        return self.firebell.deliverer.drain(timeout=60.0)

    def undelivered(self) -> dict[str, str]:
        """For each plugin with deliveries still pending or parked: how many, and the last error."""
        found = {}
        for figures in self.firebell.deliverer.outbox.backlog().values():
            if figures.pending or figures.failed:
                found[figures.plugin] = (
                    f"{figures.pending} pending, {figures.failed} failed; last error: "
                    f"{figures.last_error or '-'}"
                )
        return found

    def assert_delivered(self) -> None:
        """Fail (AssertionError) unless every event reached every plugin without error."""
        left = self.undelivered()
        if left:
            lines = "\n".join(f"  {plugin}: {what}" for plugin, what in sorted(left.items()))
            raise AssertionError(f"deliveries left undone:\n{lines}")

    # -- commands --------------------------------------------------------------------------

    def _step(self, command: Callable[[Engine], AppendResult]) -> Incident:
        result = command(self.firebell.engine)
        self._incident_id = result.incident.id
        if self.auto_deliver:
            self.deliver()
        return self.incident

    def declare(
        self,
        title: str = "Checkout is failing",
        *,
        description: str = "Card payments time out since 14:02.",
        severity: str | None = None,
        customer_facing: bool = False,
    ) -> Incident:
        """Declare the incident (``incident.created``)."""
        return self._step(
            lambda engine: engine.declare(
                title=title,
                description=description,
                severity=severity,
                customer_facing=customer_facing,
                reporter=self.actor,
            )
        )

    def assign_commander(self, commander: str = "cli:oncall-lead") -> Incident:
        """Make ``commander`` the commander (``incident.commander_assigned``)."""
        return self._step(
            lambda engine: engine.assign_commander(self.incident_id, commander, actor=self.actor)
        )

    def name_person(self, name: str = "Oncall Lead", person: str | None = None) -> Incident:
        """Learn what ``person`` (by default the commander, else the reporter) is called
        (``person.named``), as the Slack adapter does after a command."""
        incident = self.incident
        who = person or incident.commander or incident.reporter
        return self._step(
            lambda engine: engine.append(
                self.incident_id,
                lambda current: people_named(current, {who: name}),
                actor=self.actor,
            )
        )

    def change_severity(self, severity: str | None = None) -> Incident:
        """Change the severity (``incident.severity_changed``); by default to the most severe
        level the incident does not have yet."""
        if severity is None:
            current = self.incident.severity
            severity = next(s.name for s in self.firebell.settings.severities if s.name != current)
        chosen = severity
        return self._step(
            lambda engine: engine.change_severity(self.incident_id, chosen, actor=self.actor)
        )

    def update(
        self, text: str = "Rolled back the last deploy.", *, public: bool = True
    ) -> Incident:
        """Post a status update (``incident.status_update_posted``), public by default."""
        return self._step(
            lambda engine: engine.post_update(
                self.incident_id, text, actor=self.actor, public=public
            )
        )

    def resolve(self, summary: str = "The rollback fixed it.") -> Incident:
        """Resolve the incident (``incident.resolved``)."""
        return self._step(
            lambda engine: engine.resolve(self.incident_id, actor=self.actor, summary=summary)
        )

    def reopen(self, reason: str = "Errors are back.") -> Incident:
        """Reopen the resolved incident (``incident.reopened``)."""
        return self._step(
            lambda engine: engine.reopen(self.incident_id, actor=self.actor, reason=reason)
        )

    def close(self, summary: str = "Post-mortem held; two follow-ups filed.") -> Incident:
        """Close the resolved incident after its post-mortem (``incident.closed``)."""
        return self._step(
            lambda engine: engine.close(self.incident_id, actor=self.actor, summary=summary)
        )

    def mark_message(self, text: str = "Deploy 4127 rolled back at 14:20.") -> Incident:
        """Put a message of the channel on the timeline, as a pin does
        (``timeline.entry_added``)."""
        return self._step(
            lambda engine: timeline_commands.add_timeline_entry(
                engine,
                self.incident_id,
                actor=self.actor,
                author=self.actor,
                text=text,
                channel_id=LIFECYCLE_CHANNEL,
                message_ts=LIFECYCLE_MESSAGE_TS,
            )
        )

    def unmark_message(self) -> Incident:
        """Take that message off the timeline, as an unpin does (``timeline.entry_removed``)."""
        return self._step(
            lambda engine: timeline_commands.remove_timeline_entry(
                engine,
                self.incident_id,
                actor=self.actor,
                channel_id=LIFECYCLE_CHANNEL,
                message_ts=LIFECYCLE_MESSAGE_TS,
            )
        )

    def note(self, text: str = "Error rate back under 1%.") -> Incident:
        """Write a note on the timeline (``timeline.entry_added``)."""
        return self._step(
            lambda engine: timeline_commands.add_note(
                engine, self.incident_id, text, actor=self.actor
            )
        )

    def remind(self, kind: str = "update") -> Incident:
        """Send a reminder of ``kind`` now, as the scheduler does when one falls due
        (``reminder.sent``)."""

        def decide(incident: Incident) -> list[Event]:
            return [
                ReminderSent(kind, write_moment(self.firebell.engine.clock()), incident.reporter)
            ]

        return self._step(
            lambda engine: engine.append(
                self.incident_id, decide, actor=REMINDER_ACTOR, action="remind"
            )
        )

    def follow_up(
        self, text: str = "Alert on card timeouts", owner: str = "cli:oncall-lead"
    ) -> Incident:
        """Record a follow-up (``followup.added``)."""
        return self._step(
            lambda engine: timeline_commands.add_follow_up(
                engine, self.incident_id, text, actor=self.actor, owner=owner
            )
        )

    def complete_follow_up(self, follow_up_id: int | None = None) -> Incident:
        """Mark a follow-up done, by default the last one recorded (``followup.done``)."""
        chosen = follow_up_id or self.incident.follow_ups[-1].id
        return self._step(
            lambda engine: timeline_commands.complete_follow_up(
                engine, self.incident_id, chosen, actor=self.actor
            )
        )

    def run(self, steps: tuple[str, ...] = FULL_LIFECYCLE) -> Incident:
        """Take ``steps`` in order (method names of this class, defaults included).

        The default goes through every command: declare, commander, a name learned (the
        commander's), severity, a public update,
        a marked message, a note, the message unmarked, a reminder, resolve, a follow-up and its
        completion, reopen, resolve again and close, so every event hook of every plugin fires.
        """
        for step in steps:
            if step not in FULL_LIFECYCLE:
                raise ValueError(f"unknown lifecycle step {step!r}; steps: {FULL_LIFECYCLE}")
            getattr(self, step)()
        return self.incident
