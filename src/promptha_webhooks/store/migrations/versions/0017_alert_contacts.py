"""alert_contacts: each account's alert e-mail addresses and alert webhook

Revision ID: 0017
Revises: 0016

One row per account that set its contacts (none: no contacts). `emails` is a JSON array of
addresses (validated, deduplicated case-insensitively: services/validation.py); `webhook_id`
the account's own webhook that receives every operational event about its other webhooks
(alerts.py), or NULL. No foreign key on `webhook_id`: a deleted webhook simply matches no
fan-out target, and the contacts read it back as unset (services/alert_contacts.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_contacts",
        sa.Column(
            "account_id",
            sa.String(length=40),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("emails", sa.Text(), nullable=False),
        sa.Column("webhook_id", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_contacts")
