"""Deliveries a plugin switched back on should not get: for incidents that ended while it was off.

A plugin switched off in ``plugins.toml`` keeps its pending deliveries, and gets no rows for the
events committed while it is off. Switched back on, it would get its old deliveries, in order,
and then nothing more about those incidents: a pager would page on-call for an incident closed
last week, a status page would open a public incident for it, a chat plugin would open a
channel, and none of them would ever hear that it is over, because the resolve or the close was
committed while the plugin was off.

So a delivery is **skipped** when all of these hold when it comes up:

- the incident is over: resolved or closed;
- the plugin missed how it ended: it has no delivery of the incident's latest resolve or close
  (it was off in the process that committed it). A plugin that was merely slow or failing
  (Slack down for the whole incident) has those rows and still gets everything, in order;
- the plugin created nothing for the incident (no link of its own). A plugin that did (a page,
  a channel, a status incident) still gets every delivery it has: those that resolve or close
  what it created must not be lost, and it handles the others as after an outage.

The plugin's pending deliveries of that incident are then marked ``skipped``, all at once, with
the reason (``firebell plugins`` and ``firebell show`` list them; the worker logs it once). The
incident's later events, if any (a reopen), are delivered as usual: that is the plugin's cue.

A plugin that was failing for the incident (an ``IntegrationFailed`` recorded before it was
switched off, often the reason it was) is failing no more once the skip leaves it nothing of the
incident to do, pending or parked: the skip appends ``IntegrationSkipped``, which takes it off the
incident's ``failing_plugins`` (``firebell show``, the web console). Otherwise it would stay
"failing" for good, since nothing is delivered to it that could succeed; and a delivery that
succeeds after ``firebell retry --skipped`` would append ``IntegrationRecovered``, a "works
again" note for the channel of an incident long closed (archived: Slack refuses the post).

``firebell retry --skipped`` delivers them anyway: it puts them back in the queue together with
every event of the incident the plugin missed since the first of them, so that the plugin hears
the whole story, in order, the end included, as if it had never been off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
import sqlalchemy as sa
from firebell.core.events import IncidentClosed, IncidentResolved, IntegrationSkipped
from firebell.core.incident import Incident, IncidentState
from firebell.core.outbox import Claim
from firebell.core.schema import deliveries, events
from firebell.core.store import EventStore
from firebell.core.subscribers import Subscribers, as_subscribers
from sqlalchemy.sql.dml import ReturningInsert

__all__ = ["Skipped", "StaleDeliveries", "may_be_stale"]

#: The events that end an incident (a reopen makes it open again: nothing is stale then).
_ENDINGS = (IncidentResolved.type, IncidentClosed.type)


@attrs.frozen
class Skipped:
    """One plugin's deliveries of one incident, left out: how many, and why."""

    plugin: str
    incident_id: str
    count: int
    reason: str


def may_be_stale(plugin: str, incident: Incident | None) -> bool:
    """Whether a delivery to ``plugin`` could be stale, from the incident alone (no query): it
    is over and the plugin linked nothing to it. Most deliveries stop here."""
    if incident is None or incident.state is IncidentState.OPEN:
        return False
    return not any(resource.plugin == plugin for resource in incident.resources)


class StaleDeliveries:
    """Finds, skips and re-queues the deliveries described in this module's docstring."""

    def __init__(self, store: EventStore, subscribers: Subscribers | Sequence[str] = ()) -> None:
        self.store = store
        #: Who gets an outbox row for the ``IntegrationSkipped`` a skip may append (never the
        #: plugin skipped: its deliveries of that incident are over; see :meth:`skip_if_stale`).
        self.subscribers = as_subscribers(subscribers)

    def skip_if_stale(self, claim: Claim, *, now: datetime) -> Skipped | None:
        """Skip ``claim``'s delivery and the plugin's other pending ones of the same incident
        when they are stale; None (and nothing changed) when they are not.

        Decided again inside the write, on what is committed then: a reopen appended meanwhile
        makes them current again, and rows of events newer than the incident as read are left
        for their own turn. When the plugin was failing for the incident and nothing of it is
        left undone for the plugin, ``IntegrationSkipped`` is appended in the same transaction.
        """
        if not self._missed_ending(claim.plugin, claim.incident_id):
            return None
        # With the append lock (PostgreSQL): the skip may append an event. Skips are rare.
        with self.store.write(background=True) as connection:
            incident = self.store.select_incident_in(connection, claim.incident_id)
            if incident is None or not may_be_stale(claim.plugin, incident):
                return None
            ending = self._ending(connection, claim.plugin, claim.incident_id)
            if ending is None:
                return None
            kind, occurred_at, last_position = ending
            verb = "resolved" if kind == IncidentResolved.type else "closed"
            reason = (
                f"skipped: {claim.plugin} was off when {claim.incident_id} was {verb} "
                f"({occurred_at:%Y-%m-%d %H:%M} UTC) and had created nothing for it, so it would "
                "never hear that it ended. `firebell retry --skipped --plugin "
                f"{claim.plugin}` delivers it anyway, with the events it missed."
            )
            result = connection.execute(
                deliveries.update()
                .where(
                    deliveries.c.plugin == claim.plugin,
                    deliveries.c.incident_id == claim.incident_id,
                    deliveries.c.status == "pending",
                    deliveries.c.position <= last_position,
                )
                .values(
                    status="skipped",
                    last_error=reason,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            )
            count = int(result.rowcount or 0)
            if (
                count
                and claim.plugin in incident.failing_plugins
                and not self._has_undone(connection, claim.plugin, claim.incident_id)
            ):
                self._end_failing(connection, claim.plugin, claim.incident_id, count, reason, now)
        return Skipped(claim.plugin, claim.incident_id, count, reason)

    @staticmethod
    def _has_undone(connection: sa.Connection, plugin: str, incident_id: str) -> bool:
        """Whether ``plugin`` has a pending or parked delivery of the incident (one of an event
        newer than the skip's, or a parked one, which only ``firebell retry`` brings back)."""
        row = connection.execute(
            sa.select(deliveries.c.position)
            .where(
                deliveries.c.plugin == plugin,
                deliveries.c.incident_id == incident_id,
                deliveries.c.status.in_(("pending", "failed")),
            )
            .limit(1)
        ).first()
        return row is not None

    def _end_failing(
        self,
        connection: sa.Connection,
        plugin: str,
        incident_id: str,
        count: int,
        reason: str,
        now: datetime,
    ) -> None:
        """Append ``IntegrationSkipped``: ``plugin`` is failing no more for the incident."""
        # The skipped plugin gets no row: it would be one more delivery of the incident to skip.
        # Should it be retried, retry --skipped queues this event for it with the rest it missed.
        others = Subscribers(
            tuple(name for name in self.subscribers.names if name != plugin),
            self.subscribers.handles,
        )
        self.store.insert_events_in(
            connection,
            incident_id,
            [IntegrationSkipped(plugin, count, reason)],
            actor=f"plugin:{plugin}",
            occurred_at=now,
            expected_version=None,
            subscribers=others,
        )

    def _missed_ending(self, plugin: str, incident_id: str) -> bool:
        with self.store.read() as connection:
            return self._ending(connection, plugin, incident_id) is not None

    @staticmethod
    def _ending(
        connection: sa.Connection, plugin: str, incident_id: str
    ) -> tuple[str, datetime, int] | None:
        """The incident's latest resolve or close (type, time) and its last event's position,
        when ``plugin`` has no delivery of that resolve or close; else None."""
        row = connection.execute(
            sa.select(
                events.c.position,
                events.c.event_type,
                events.c.occurred_at,
                sa.select(deliveries.c.position)
                .where(
                    deliveries.c.position == events.c.position,
                    deliveries.c.plugin == plugin,
                )
                .exists()
                .label("delivered"),
            )
            .where(events.c.incident_id == incident_id, events.c.event_type.in_(_ENDINGS))
            .order_by(events.c.position.desc())
            .limit(1)
        ).first()
        if row is None or row.delivered:
            return None
        last = connection.execute(
            sa.select(sa.func.max(events.c.position)).where(events.c.incident_id == incident_id)
        ).scalar_one()
        return row.event_type, row.occurred_at, int(last)

    def requeue_skipped(self, *, plugin: str | None = None, now: datetime) -> int:
        """Deliver skipped deliveries after all (of ``plugin``, by default every plugin's).

        Each is put back in the queue, and every event of its incident that the plugin has no
        delivery of, from the first skipped one on, is queued for it too: the plugin gets the
        whole rest of the story in order, the end included, so nothing is skipped again.
        Returns how many deliveries were queued.
        """
        query = sa.select(
            deliveries.c.plugin, deliveries.c.incident_id, sa.func.min(deliveries.c.position)
        ).where(deliveries.c.status == "skipped")
        if plugin is not None:
            query = query.where(deliveries.c.plugin == plugin)
        query = query.group_by(deliveries.c.plugin, deliveries.c.incident_id)
        queued = 0
        with self.store.write() as connection:
            for name, incident_id, first in connection.execute(query).all():
                queued += connection.execute(
                    deliveries.update()
                    .where(
                        deliveries.c.plugin == name,
                        deliveries.c.incident_id == incident_id,
                        deliveries.c.status == "skipped",
                    )
                    .values(
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        last_error=None,
                        updated_at=now,
                    )
                ).rowcount
                # Counted from RETURNING: PostgreSQL's driver reports no row count for it.
                missed = _queue_missed(name, incident_id, after=first, now=now)
                queued += len(connection.execute(missed).all())
        return queued


def _queue_missed(
    plugin: str, incident_id: str, *, after: int, now: datetime
) -> ReturningInsert[tuple[int]]:
    """Insert a pending delivery to ``plugin`` of each event of the incident after position
    ``after`` that it has none of (those committed while it was off)."""
    columns = ("position", "plugin", "incident_id", "event_type", "status", "attempts")
    times = ("next_attempt_at", "updated_at")
    missed = sa.select(
        events.c.position,
        sa.literal(plugin, deliveries.c.plugin.type),
        events.c.incident_id,
        events.c.event_type,
        sa.literal("pending", deliveries.c.status.type),
        sa.literal(0, deliveries.c.attempts.type),
        *(sa.literal(now, deliveries.c[name].type) for name in times),
    ).where(
        events.c.incident_id == incident_id,
        events.c.position > after,
        ~sa.select(deliveries.c.position)
        .where(deliveries.c.position == events.c.position, deliveries.c.plugin == plugin)
        .exists(),
    )
    return (
        deliveries.insert()
        .from_select([deliveries.c[name] for name in (*columns, *times)], missed)
        .returning(deliveries.c.position)
    )
