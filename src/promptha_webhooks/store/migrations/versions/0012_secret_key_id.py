"""secret_key_id: the encryption key a webhook's stored secrets are sealed with

Revision ID: 0012
Revises: 0011

`secret` and `previous_secret` hold AES-256-GCM sealed values (secret_box.py), both under the
key `secret_key_id` names; NULL: a row written before encryption at rest, still plaintext,
which the service seals at start-up (store/secret_sealing.py). The index lets
`secrets reencrypt` find the rows not yet under the current key without reading every row.
Not a fan-out column: no webhooks_version bump.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("secret_key_id", sa.String(32), nullable=True))
    op.create_index("ix_webhooks_secret_key_id", "webhooks", ["secret_key_id"])


def downgrade() -> None:
    op.drop_index("ix_webhooks_secret_key_id", table_name="webhooks")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("secret_key_id")
