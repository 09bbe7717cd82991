"""What is left to deliver, per plugin, and bringing it forward once a vendor works again.

The figures ``firebell plugins`` and ``firebell show`` print (:func:`read_backlog`: pending,
failed, done and skipped counts, the last error, the calls under way and the next retry), and
the two ways ``firebell retry`` asks again: parked deliveries queued anew (:func:`requeue_failed`)
and deliveries backing off made due now (:func:`retry_now`). :class:`~firebell.core.outbox.Outbox`
offers each as a method.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import attrs
import sqlalchemy as sa
from firebell.core.schema import deliveries, events
from firebell.core.store import EventStore

__all__ = ["PluginBacklog", "read_backlog", "requeue_failed", "retry_now"]


@attrs.frozen
class PluginBacklog:
    """Per-plugin delivery figures for ``firebell plugins`` (and ``firebell show``).

    ``skipped`` deliveries were left out because their incident ended while the plugin was off
    (:mod:`firebell.core.stale_deliveries`); ``skip_reason`` is the latest one's reason.
    """

    plugin: str
    pending: int
    failed: int
    done: int
    last_error: str | None
    skipped: int = 0
    skip_reason: str | None = None
    #: Pending deliveries whose call is under way now (a live lease), and when the oldest of
    #: those calls began: a vendor that does not answer shows here, not as an error.
    under_way: int = 0
    under_way_since: datetime | None = None
    #: When the soonest of the pending deliveries that failed before (a plugin backing off) is
    #: tried again; calls under way are left out. None when none is waiting for a retry.
    next_attempt_at: datetime | None = None


_NONE_UNDER_WAY: tuple[int, datetime | None] = (0, None)


def requeue_failed(store: EventStore, *, plugin: str | None = None, now: datetime) -> int:
    """Put parked deliveries back in the queue (after the cause was fixed); returns how many."""
    query = deliveries.update().where(deliveries.c.status == "failed")
    if plugin is not None:
        query = query.where(deliveries.c.plugin == plugin)
    with store.write() as connection:
        result = connection.execute(
            query.values(status="pending", next_attempt_at=now, attempts=0, updated_at=now)
        )
    return int(result.rowcount or 0)


def retry_now(store: EventStore, *, plugins: Sequence[str] | None = None, now: datetime) -> int:
    """Make the pending deliveries of ``plugins`` (by default all) that wait for their next
    attempt (a plugin failing, backing off) due at ``now`` (after the cause was fixed);
    returns how many. A delivery whose call is under way (its lease held) is left alone:
    its outcome decides what comes next."""
    query = deliveries.update().where(
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at > now,
        sa.or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at <= now),
    )
    if plugins is not None:
        query = query.where(deliveries.c.plugin.in_(list(plugins)))
    with store.write() as connection:
        result = connection.execute(query.values(next_attempt_at=now, updated_at=now))
    return int(result.rowcount or 0)


def read_backlog(
    store: EventStore, *, incident_id: str | None = None, now: datetime | None = None
) -> dict[str, PluginBacklog]:
    """Pending, failed, done and skipped counts, the last error, the last reason for a
    skip, the calls under way at ``now`` (by default the wall clock) and the next retry, per
    plugin (of one incident's deliveries with ``incident_id``)."""
    now = datetime.now(UTC) if now is None else now
    counts_query = sa.select(deliveries.c.plugin, deliveries.c.status, sa.func.count())
    notes_query = (
        sa.select(deliveries.c.plugin, deliveries.c.status, deliveries.c.last_error)
        .where(deliveries.c.last_error.is_not(None), deliveries.c.status != "done")
        .order_by(deliveries.c.updated_at)
    )
    # A leased row's updated_at is when its call began: claims set it, renewals leave it.
    under_way_query = sa.select(
        deliveries.c.plugin, sa.func.count(), sa.func.min(deliveries.c.updated_at)
    ).where(
        deliveries.c.status == "pending",
        deliveries.c.lease_owner.is_not(None),
        deliveries.c.lease_expires_at > now,
    )
    next_attempt_query = sa.select(
        deliveries.c.plugin, sa.func.min(deliveries.c.next_attempt_at)
    ).where(
        deliveries.c.status == "pending",
        deliveries.c.last_error.is_not(None),
        sa.or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at <= now),
    )
    if incident_id is not None:
        # Through the incident's events' positions (the deliveries' primary key leads with
        # the position): no index of the deliveries starts with the incident, and reading
        # them all took 0.6 s with 4,000,000 of them.
        of_incident = (
            deliveries.c.position.in_(
                sa.select(events.c.position).where(events.c.incident_id == incident_id)
            ),
            deliveries.c.incident_id == incident_id,
        )
        counts_query = counts_query.where(*of_incident)
        notes_query = notes_query.where(*of_incident)
        under_way_query = under_way_query.where(*of_incident)
        next_attempt_query = next_attempt_query.where(*of_incident)
    with store.read() as connection:
        counts = connection.execute(
            counts_query.group_by(deliveries.c.plugin, deliveries.c.status)
        ).all()
        notes = connection.execute(notes_query).all()
        under_way = {
            plugin: (int(count), since)
            for plugin, count, since in connection.execute(
                under_way_query.group_by(deliveries.c.plugin)
            )
        }
        next_attempt: dict[str, datetime] = {
            plugin: at
            for plugin, at in connection.execute(next_attempt_query.group_by(deliveries.c.plugin))
        }
    figures: dict[str, dict[str, int]] = {}
    for plugin, status, count in counts:
        figures.setdefault(plugin, {})[status] = int(count)
    last_error = {plugin: note for plugin, status, note in notes if status != "skipped"}
    skip_reason = {plugin: note for plugin, status, note in notes if status == "skipped"}
    return {
        plugin: PluginBacklog(
            plugin,
            pending=f.get("pending", 0),
            failed=f.get("failed", 0),
            done=f.get("done", 0),
            last_error=last_error.get(plugin),
            skipped=f.get("skipped", 0),
            skip_reason=skip_reason.get(plugin),
            under_way=under_way.get(plugin, _NONE_UNDER_WAY)[0],
            under_way_since=under_way.get(plugin, _NONE_UNDER_WAY)[1],
            next_attempt_at=next_attempt.get(plugin),
        )
        for plugin, f in figures.items()
    }
