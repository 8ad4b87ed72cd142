"""scheduled_deliveries: events.deliver_at, the time a publish asked its deliveries for

Revision ID: 0019
Revises: 0018

A publish may name `deliverAt` (scheduling.py): its deliveries are stored pending with
`next_attempt_at` at that time, so the claim, which takes only due deliveries, leaves them
until then; a crash loses none (they are rows, not timers). The event keeps the time asked,
NULL when none was. The new delivery status `cancelled` needs no change: `deliveries.status`
is an unconstrained String(16).

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("deliver_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("deliver_at")
