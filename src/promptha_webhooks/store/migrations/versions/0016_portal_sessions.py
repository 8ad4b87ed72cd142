"""portal_sessions: one-time sign-in links of the embeddable customer portal

Revision ID: 0016
Revises: 0015

`POST /v1/accounts/{id}/portal-sessions` stores a row here and answers with a URL carrying a
random token; only the token's SHA-256 is stored. Opening the URL sets `used_at` in one
conditional UPDATE (`used_at IS NULL AND expires_at > now`), so of two concurrent opens one
wins, on both backends. The row then backs the portal's dashboard session until `expires_at`:
its read-only flag, return URL and theme are read from here on every request. Rows go with
their account (ON DELETE CASCADE) and are purged once expired, when a new one is created.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column(
            "account_id",
            sa.String(length=40),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("read_only", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("return_url", sa.Text(), nullable=True),
        sa.Column("primary_color", sa.String(length=7), nullable=True),
        sa.Column("logo_url", sa.Text(), nullable=True),
        sa.Column("dark_mode", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_portal_sessions_account_id", "portal_sessions", ["account_id"])
    op.create_index("ix_portal_sessions_expires_at", "portal_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_expires_at", table_name="portal_sessions")
    op.drop_index("ix_portal_sessions_account_id", table_name="portal_sessions")
    op.drop_table("portal_sessions")
