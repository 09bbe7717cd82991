"""The database tables: the event log, the idempotency keys, the read model and the outbox.

One schema for SQLite and PostgreSQL. Alembic migrations (``firebell db upgrade``) are generated
from this metadata. On PostgreSQL the incidents table also gets trigram indexes for the search when
the ``pg_trgm`` extension can be had; they are outside the metadata
(:mod:`firebell.core.search_indexes`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from firebell.core.search_indexes import create_trigram_indexes

__all__ = ["UTCDateTime", "commands", "deliveries", "events", "incidents", "metadata", "resources"]

metadata = sa.MetaData()


def stored_utc(value: datetime, *, naive: bool) -> datetime:
    """``value`` as the log stores it: in UTC, without its zone when ``naive`` (SQLite).

    Raises ``ValueError`` for a naive ``value``: Firebell stores UTC times only.
    """
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}; Firebell stores UTC times only")
    value = value.astimezone(UTC)
    return value.replace(tzinfo=None) if naive else value


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return stored_utc(value, naive=dialect.name == "sqlite")

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        return result.replace(tzinfo=UTC) if result.tzinfo is None else result.astimezone(UTC)


events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("incident_id", sa.String(120), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(120), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("causation_id", sa.String(300)),
    sa.UniqueConstraint("incident_id", "version", name="uq_events_stream_version"),
    sqlite_autoincrement=True,
)

commands = sa.Table(
    "commands",
    metadata,
    sa.Column("idempotency_key", sa.String(300), primary_key=True),
    sa.Column("incident_id", sa.String(120), nullable=False),
    sa.Column("first_position", sa.BigInteger, nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("severity", sa.String(50), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("commander", sa.String(200)),
    sa.Column("declared_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("ix_incidents_declared_at", "declared_at"),
    sa.Index("ix_incidents_state_declared_at", "state", "declared_at"),
    # The severity filters, alone or with a state: pages in order and counts from the index
    # alone. One (severity, state, declared_at) would count as fast, but SQLite, which keeps no
    # statistics, then sorted every row of the severity for a page of 50 (1 -> 87 ms at 100k).
    sa.Index("ix_incidents_severity_declared_at", "severity", "declared_at"),
    sa.Index("ix_incidents_state_severity_declared_at", "state", "severity", "declared_at"),
)


@sa.event.listens_for(incidents, "after_create")
def _add_trigram_indexes(target: sa.Table, connection: sa.Connection, **_: Any) -> None:
    # On PostgreSQL, the search's indexes when pg_trgm can be had (firebell.core.search_indexes).
    create_trigram_indexes(connection)


resources = sa.Table(
    "resources",
    metadata,
    sa.Column("kind", sa.String(60), primary_key=True),
    sa.Column("external_id", sa.String(300), primary_key=True),
    sa.Column("plugin", sa.String(100), primary_key=True),
    sa.Column("incident_id", sa.String(120), nullable=False),
    sa.Column("url", sa.Text),
    sa.Index("ix_resources_incident", "incident_id"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("plugin", sa.String(100), primary_key=True),
    sa.Column("incident_id", sa.String(120), nullable=False),
    sa.Column("event_type", sa.String(120), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_expires_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    # When the row last changed; while a call holds its lease, when that call began (claims
    # set it; renewing the lease and releasing the dependants leave it).
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # The delivery recorded what the plugins waiting for it need (``link_now``): they may go.
    sa.Column("released", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_deliveries_stream", "plugin", "incident_id", "position"),
)
