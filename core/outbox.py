"""The outbox: one row per (event, plugin), claimed with leases, completed or failed.

Rows are written in the same transaction as their event, so nothing committed is ever missed.
A row is ready when it is due, nobody holds an unexpired lease on it, the same plugin has
nothing older pending for the same incident (a plugin sees one incident's events in order), and
the plugins it waits for (``after``) are done with the same event — or have failed it once: a
dependency's outage delays its dependants by one attempt, never longer (PagerDuty pages while
Slack is down, without the channel link).

What is left per plugin, and ``firebell retry``'s ways of asking again, are in
:mod:`firebell.core.backlog` (offered here as methods).

The worker's claims and records are background writes: on SQLite, a command of the same process
waiting for the write lock (someone's declaration, acknowledged only once it is appended) goes
first (see :func:`~firebell.core.database.write_turn`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa
from firebell.core.backlog import PluginBacklog, read_backlog, requeue_failed, retry_now
from firebell.core.events import (
    IntegrationFailed,
    IntegrationRecovered,
    IntegrationSkipped,
    RecordedEvent,
    ResourceLinked,
)
from firebell.core.hookspecs import Link
from firebell.core.schema import deliveries, events
from firebell.core.store import EventStore, row_to_event
from firebell.core.subscribers import Subscribers, as_subscribers

__all__ = ["Claim", "Outbox", "PluginBacklog", "new_owner_id"]

_QUIET_TYPES = {IntegrationFailed.type, IntegrationRecovered.type, IntegrationSkipped.type}


def new_owner_id() -> str:
    """An id for this process's leases: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


@attrs.frozen
class Claim:
    """A delivery this process holds a lease on."""

    position: int
    plugin: str
    incident_id: str
    event_type: str
    attempt: int


# The other statements of a claim, built once.
_SIBLINGS = sa.select(
    deliveries.c.position,
    deliveries.c.plugin,
    deliveries.c.status,
    deliveries.c.last_error,
    deliveries.c.released,
).where(deliveries.c.position.in_(sa.bindparam("positions", expanding=True)))
_TAKE_LEASE = (
    deliveries.update()
    .where(
        deliveries.c.position == sa.bindparam("b_position"),
        deliveries.c.plugin == sa.bindparam("b_plugin"),
    )
    .values(
        lease_owner=sa.bindparam("b_owner"),
        lease_expires_at=sa.bindparam("b_expires"),
        attempts=sa.bindparam("b_attempts"),
        updated_at=sa.bindparam("b_now"),
    )
)


def _ready_query(
    dependencies: Mapping[str, Sequence[str]], plugins: Sequence[str] | None
) -> sa.Select[Any]:
    """Pending deliveries that are due, unleased, next in their plugin's incident stream and
    not waiting for a dependency (binds ``now`` and ``batch``)."""
    now = sa.bindparam("now", type_=deliveries.c.next_attempt_at.type)
    earlier = deliveries.alias("earlier")
    older_pending = (
        sa.select(sa.literal(1))
        .where(
            earlier.c.plugin == deliveries.c.plugin,
            earlier.c.incident_id == deliveries.c.incident_id,
            earlier.c.position < deliveries.c.position,
            earlier.c.status == "pending",
        )
        .exists()
    )
    query = (
        sa.select(deliveries)
        .where(
            deliveries.c.status == "pending",
            deliveries.c.next_attempt_at <= now,
            sa.or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < now),
            ~older_pending,
        )
        .order_by(deliveries.c.position)
        .limit(sa.bindparam("batch", type_=sa.Integer))
        .with_for_update(skip_locked=True, of=deliveries)
    )
    if plugins is not None:
        query = query.where(deliveries.c.plugin.in_(list(plugins)))
    # Leave out rows whose `after` plugins still have the event pending, in the query itself:
    # filtered only below, they could fill the whole batch (a plugin after a failing one, for
    # many incidents) and starve the plugins that are ready.
    dependency = deliveries.alias("dependency")
    waiting = [
        sa.and_(
            deliveries.c.plugin == plugin,
            sa.select(sa.literal(1))
            .where(
                dependency.c.position == deliveries.c.position,
                dependency.c.plugin.in_(list(waits_for)),
                dependency.c.status == "pending",
                # A dependency that failed once holds nobody back: the pager must not
                # wait for Slack to come back before paging.
                dependency.c.last_error.is_(None),
                # Nor one that recorded what its dependants need (``link_now``).
                dependency.c.released.is_(False),
            )
            .exists(),
        )
        for plugin, waits_for in dependencies.items()
        if waits_for
    ]
    if waiting:
        query = query.where(~sa.or_(*waiting))
    return query


class Outbox:
    """Claims, completes and fails deliveries in the store's database."""

    def __init__(self, store: EventStore, subscribers: Subscribers | Sequence[str]) -> None:
        self.store = store
        self.subscribers = as_subscribers(subscribers)
        # The ready-deliveries query, built once per (dependencies, plugins): building it is
        # most of a claim's cost otherwise, and the worker claims after every delivery.
        self._ready_queries: dict[object, sa.Select[Any]] = {}

    def claim(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        dependencies: Mapping[str, Sequence[str]],
        limit: int,
        plugins: Sequence[str] | None = None,
        per_plugin: Mapping[str, int] | None = None,
    ) -> list[Claim]:
        """Lease up to ``limit`` ready deliveries (of ``plugins``, by default all; at most
        ``per_plugin[name]`` of a plugin named there)."""
        key = (
            tuple(sorted((plugin, tuple(waits)) for plugin, waits in dependencies.items())),
            None if plugins is None else tuple(plugins),
        )
        query = self._ready_queries.get(key)
        if query is None:
            query = self._ready_queries[key] = _ready_query(dependencies, plugins)
        claims: list[Claim] = []
        # Row locks (FOR UPDATE SKIP LOCKED) keep claimers apart; the append lock is not needed.
        with self.store.write(append=False, background=True) as connection:
            candidates = connection.execute(query, {"now": now, "batch": limit * 4}).all()
            if not candidates:
                return []
            positions = sorted({row.position for row in candidates})
            siblings = connection.execute(_SIBLINGS, {"positions": positions}).all()
            holding = {
                (row.position, row.plugin)
                for row in siblings
                if row.status == "pending" and row.last_error is None and not row.released
            }
            taken: dict[str, int] = {}
            for row in candidates:
                waits_for = dependencies.get(row.plugin, ())
                if any((row.position, dep) in holding for dep in waits_for):
                    continue
                if per_plugin is not None and taken.get(row.plugin, 0) >= per_plugin.get(
                    row.plugin, limit
                ):
                    continue
                taken[row.plugin] = taken.get(row.plugin, 0) + 1
                claims.append(
                    Claim(
                        row.position, row.plugin, row.incident_id, row.event_type, row.attempts + 1
                    )
                )
                if len(claims) >= limit:
                    break
            if claims:
                leases = [
                    {
                        "b_position": claim.position,
                        "b_plugin": claim.plugin,
                        "b_owner": owner,
                        "b_expires": now + lease,
                        "b_attempts": claim.attempt,
                        "b_now": now,
                    }
                    for claim in claims
                ]
                connection.execute(_TAKE_LEASE, leases)
        return claims

    def renew(
        self, owner: str, claims: Sequence[Claim], *, until: datetime
    ) -> set[tuple[int, str]]:
        """Extend ``owner``'s leases on ``claims`` to ``until``; returns the (position, plugin)
        of those still held (a lease released meanwhile, or taken by another, is left alone)."""
        held: set[tuple[int, str]] = set()
        with self.store.write(append=False, background=True) as connection:
            for claim in claims:
                result = connection.execute(
                    deliveries.update()
                    .where(
                        deliveries.c.position == claim.position,
                        deliveries.c.plugin == claim.plugin,
                        deliveries.c.lease_owner == owner,
                        deliveries.c.status == "pending",
                    )
                    # updated_at stays when the call began (backlog's under_way_since).
                    .values(lease_expires_at=until)
                )
                if result.rowcount:
                    held.add((claim.position, claim.plugin))
        return held

    def load_event(self, position: int) -> RecordedEvent:
        """The event a claim is for."""
        with self.store.read() as connection:
            row = connection.execute(sa.select(events).where(events.c.position == position)).one()
        return row_to_event(row)

    def release(self, claim: Claim, links: Sequence[Link], *, now: datetime) -> None:
        """Record ``links`` now, before the delivery ends, and let the plugins that wait for
        this one take the same event (they need only what it linked), in one transaction."""
        with self.store.write(background=True) as connection:
            connection.execute(
                deliveries.update()
                .where(deliveries.c.position == claim.position, deliveries.c.plugin == claim.plugin)
                # updated_at stays when the call began (backlog's under_way_since).
                .values(released=True)
            )
            self._record_links(connection, claim, links, now=now)

    def complete(
        self,
        claim: Claim,
        links: Sequence[Link],
        *,
        now: datetime,
        nothing_to_do: str | None = None,
    ) -> None:
        """Mark the delivery done and record what the plugin created, in one transaction.

        When the plugin was failing for the incident (and has nothing parked there) it is failing
        no more: ``IntegrationRecovered`` is appended, or, when the hook said there was nothing
        left to do (``nothing_to_do``, the reason of a
        :class:`~firebell.core.errors.NothingToDo`), ``IntegrationSkipped``, since the plugin's
        service was not reached and nobody should read that it works again.
        """
        with self.store.write(background=True) as connection:
            connection.execute(
                deliveries.update()
                .where(deliveries.c.position == claim.position, deliveries.c.plugin == claim.plugin)
                .values(status="done", lease_owner=None, lease_expires_at=None, updated_at=now)
            )
            self._record_links(connection, claim, links, now=now)
            incident = self.store.select_incident_in(connection, claim.incident_id)
            if (
                incident is not None
                and claim.plugin in incident.failing_plugins
                and not self._has_parked(connection, claim.plugin, claim.incident_id)
            ):
                ended = (
                    IntegrationRecovered(claim.plugin, claim.event_type, claim.attempt)
                    if nothing_to_do is None
                    else IntegrationSkipped(claim.plugin, 1, nothing_to_do)
                )
                self.store.insert_events_in(
                    connection,
                    claim.incident_id,
                    [ended],
                    actor=f"plugin:{claim.plugin}",
                    occurred_at=now,
                    expected_version=None,
                    subscribers=self.subscribers,
                )

    def _record_links(
        self, connection: sa.Connection, claim: Claim, links: Sequence[Link], *, now: datetime
    ) -> None:
        # Keyed by what was linked: a link recorded early (``release``) and returned again by
        # the hook, or by a repeated delivery, is recorded once.
        for link in links:
            self.store.insert_events_in(
                connection,
                claim.incident_id,
                [ResourceLinked(claim.plugin, link.kind, link.external_id, link.url, link.title)],
                actor=f"plugin:{claim.plugin}",
                occurred_at=now,
                expected_version=None,
                idempotency_key=f"link:{claim.plugin}:{link.kind}:{link.external_id}",
                subscribers=self.subscribers,
            )

    @staticmethod
    def _has_parked(connection: sa.Connection, plugin: str, incident_id: str) -> bool:
        # A parked delivery is still undone, so a later success (e.g. of the failure report
        # itself) is no recovery yet.
        parked = connection.execute(
            sa.select(deliveries.c.position)
            .where(
                deliveries.c.plugin == plugin,
                deliveries.c.incident_id == incident_id,
                deliveries.c.status == "failed",
            )
            .limit(1)
        ).first()
        return parked is not None

    def fail(
        self,
        claim: Claim,
        error: str,
        *,
        now: datetime,
        retry_at: datetime | None,
        announce: bool = True,
    ) -> None:
        """Record a failed attempt: due again at ``retry_at``, or parked when it is None.

        The first failure of a plugin for an incident is recorded as ``IntegrationFailed`` so
        that the responders hear of it once (unless ``announce`` is false: a rate limit); and
        when a delivery of a plugin already failing is parked (its attempts used up), again, with
        ``will_retry`` false: nothing retries it any more, which the first report did not say.
        """
        with self.store.write(background=True) as connection:
            connection.execute(
                deliveries.update()
                .where(deliveries.c.position == claim.position, deliveries.c.plugin == claim.plugin)
                .values(
                    status="pending" if retry_at is not None else "failed",
                    next_attempt_at=retry_at or now,
                    lease_owner=None,
                    lease_expires_at=None,
                    last_error=error[:2000],
                    updated_at=now,
                )
            )
            if claim.event_type in _QUIET_TYPES or not announce:
                return
            incident = self.store.select_incident_in(connection, claim.incident_id)
            if incident is None or (claim.plugin in incident.failing_plugins and retry_at):
                return
            self.store.insert_events_in(
                connection,
                claim.incident_id,
                [
                    IntegrationFailed(
                        claim.plugin, claim.event_type, error[:500], retry_at is not None
                    )
                ],
                actor=f"plugin:{claim.plugin}",
                occurred_at=now,
                expected_version=None,
                subscribers=self.subscribers,
            )

    def release_leases(self, owners: Sequence[str]) -> int:
        """Drop the leases of ``owners`` (processes known to be dead); returns how many."""
        if not owners:
            return 0
        with self.store.write() as connection:
            result = connection.execute(
                deliveries.update()
                .where(deliveries.c.lease_owner.in_(list(owners)), deliveries.c.status == "pending")
                .values(lease_owner=None, lease_expires_at=None)
            )
        return int(result.rowcount or 0)

    def lease_owners(self) -> list[str]:
        """The owners holding leases now.

        Only pending deliveries hold leases (completing or failing one drops its lease), and
        asking for those uses the status index: start-up reads the few pending rows, not an
        outbox that grows with the log (over a second for a million events' rows).
        """
        with self.store.read() as connection:
            return list(
                connection.execute(
                    sa.select(deliveries.c.lease_owner)
                    .where(
                        deliveries.c.status == "pending",
                        deliveries.c.lease_owner.is_not(None),
                    )
                    .distinct()
                ).scalars()
            )

    def requeue_failed(self, *, plugin: str | None = None, now: datetime) -> int:
        """Put parked deliveries back in the queue (after the cause was fixed); returns how many."""
        return requeue_failed(self.store, plugin=plugin, now=now)

    def retry_now(self, *, plugins: Sequence[str] | None = None, now: datetime) -> int:
        """Make the deliveries of ``plugins`` that back off due now: :func:`retry_now`."""
        return retry_now(self.store, plugins=plugins, now=now)

    def backlog(
        self, *, incident_id: str | None = None, now: datetime | None = None
    ) -> dict[str, PluginBacklog]:
        """What is left to deliver, per plugin: :func:`read_backlog`."""
        return read_backlog(self.store, incident_id=incident_id, now=now)

    def has_ready_or_leased(self, now: datetime) -> bool:
        """Whether any delivery is pending and due (leased ones included)."""
        with self.store.read() as connection:
            return (
                connection.execute(
                    sa.select(deliveries.c.position)
                    .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
                    .limit(1)
                ).first()
                is not None
            )
