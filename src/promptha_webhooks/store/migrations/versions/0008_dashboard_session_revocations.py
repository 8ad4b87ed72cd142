"""dashboard_session_revocations: sessions signed out before their cookie expires

Revision ID: 0008
Revises: 0007

A session cookie is signed and carries its expiry; signing out records the session here, so a
copy of the cookie is refused until it would have expired anyway.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_session_revocations",
        sa.Column("session_hash", sa.String(length=64), primary_key=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_dashboard_session_revocations_expires_at",
        "dashboard_session_revocations",
        ["expires_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_dashboard_session_revocations_expires_at", table_name="dashboard_session_revocations"
    )
    op.drop_table("dashboard_session_revocations")
