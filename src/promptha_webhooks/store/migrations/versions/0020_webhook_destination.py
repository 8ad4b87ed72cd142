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

Plain ALTER TABLE both ways, no batch mode: on SQLite a batch rebuild of `webhooks` would
drop the triggers of 0015 that keep its webhooks_version (see 0018).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "webhooks",
        sa.Column("destination_type", sa.String(16), nullable=False, server_default="http"),
    )
    op.add_column("webhooks", sa.Column("destination_config", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (Python 3.11's sqlite3 is newer).
    op.execute("ALTER TABLE webhooks DROP COLUMN destination_config")
    op.execute("ALTER TABLE webhooks DROP COLUMN destination_type")
