"""webhook_delivery_settings: a webhook's static headers, retry schedule and timeout

Revision ID: 0014
Revises: 0013

`headers` holds the webhook's static custom headers as one JSON object sealed with AES-256-GCM
(secret_box.py; the key id travels in the value, the webhook id is associated data);
`retry_schedule` a JSON array of the delays (s) before each retry; `timeout_seconds` the
per-attempt timeout. NULL: the server's default for each (delivery_settings.py). The attempt
stage reads them with the delivery (claims, hand-offs), not with the fan-out: not fan-out
columns, no webhooks_version bump.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("headers", sa.Text(), nullable=True))
        batch.add_column(sa.Column("retry_schedule", sa.Text(), nullable=True))
        batch.add_column(sa.Column("timeout_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("timeout_seconds")
        batch.drop_column("retry_schedule")
        batch.drop_column("headers")
