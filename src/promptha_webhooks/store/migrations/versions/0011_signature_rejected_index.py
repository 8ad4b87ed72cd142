"""signature_rejected_index: a webhook's pending deliveries a receiver rejected with 401/403

Revision ID: 0011
Revises: 0010

During a secret rotation's grace period a 401 or 403 is retried instead of failing the
delivery (webhook_secrets.py). When the receiver then answers 2xx (its owner switched the
secret), or the owner changes the secret again, the webhook's deliveries rejected so are made
due at once (store/dispatch_statements.py: wake_rejected). This partial index finds them: a
delivery enters it only while it is pending after a 401/403, never on the ordinary writes of
a delivery (stored, claimed, delivered), so the hot path pays nothing for it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_REJECTED = sa.text("status = 'pending' AND last_status_code IN (401, 403)")


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_signature_rejected",
        "deliveries",
        ["webhook_id"],
        postgresql_where=_REJECTED,
        sqlite_where=_REJECTED,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_signature_rejected", table_name="deliveries")
