"""webhooks.listen_session: the `promptha-webhooks listen` session holding a listen webhook's stream

Revision ID: 0007
Revises: 0006

A second `listen` for the same account and device takes the stream over: it writes its session
here, and the session it replaced sees that at its next poll, tells its CLI and stops. NULL when
no session holds the stream (http webhooks: always).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: PostgreSQL adds it without rewriting the table.
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.add_column(sa.Column("listen_session", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.drop_column("listen_session")
