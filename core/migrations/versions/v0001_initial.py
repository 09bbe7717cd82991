"""The first schema: event log, idempotency keys, read model, linked resources, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-06-01

Logs created before Firebell tracked schema revisions have exactly these tables; ``firebell db
upgrade`` stamps them with this revision (SQLite logs are stamped when opened).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Written out here rather than imported from firebell.core.schema: a revision describes the
# schema as it was, and must not change when the live schema does.
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("occurred_at", _TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("causation_id", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("incident_id", "version", name="uq_events_stream_version"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "commands",
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("incident_id", sa.String(length=120), nullable=False),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=50), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("commander", sa.String(length=200), nullable=True),
        sa.Column("declared_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_declared_at", "incidents", ["declared_at"])
    op.create_index("ix_incidents_state_declared_at", "incidents", ["state", "declared_at"])
    op.create_table(
        "resources",
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=120), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "external_id", "plugin"),
    )
    op.create_index("ix_resources_incident", "resources", ["incident_id"])
    op.create_table(
        "deliveries",
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("incident_id", sa.String(length=120), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", _TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("position", "plugin"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_stream", "deliveries", ["plugin", "incident_id", "position"])


def downgrade() -> None:
    """Drop the tables (and everything in them)."""
    for table in ("deliveries", "resources", "incidents", "commands", "events"):
        op.drop_table(table)
