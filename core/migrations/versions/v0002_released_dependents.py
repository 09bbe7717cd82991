"""Deliveries can let the plugins that wait for them go before they end.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

``deliveries.released``: the delivery already recorded what its dependants wait for (a link
recorded with ``link_now``, e.g. the Slack channel before its set-up), so the plugins with
``after`` on its plugin may take the same event while it finishes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``deliveries.released`` (false for every existing row)."""
    with op.batch_alter_table("deliveries") as table:
        table.add_column(
            sa.Column("released", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Drop ``deliveries.released``."""
    with op.batch_alter_table("deliveries") as table:
        table.drop_column("released")
