"""webhook_destination: a webhook's destination kind and its sealed broker config

Revision ID: 0020
Revises: 0019

`destination_type`: where the webhook's deliveries go — `http` (POST to `url`, the default)
or a broker (`rabbitmq`, `nats`, `redis-stream`; delivery/brokers/). `destination_config`: a
broker webhook's connection settings (URL with credentials, exchange / subject / stream) as one
JSON object sealed with AES-256-GCM like the signing secrets (secret_box.py; the key id travels
in the value, the column name and webhook id are associated data); NULL for an HTTP webhook.
Read with the delivery settings (claims, hand-offs), not with the fan-out: no webhooks_version
bump.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column("destination_type", sa.String(16), nullable=False, server_default="http")
        )
        batch.add_column(sa.Column("destination_config", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("destination_config")
        batch.drop_column("destination_type")
