"""webhook_secret_rotation: the previous secret of a rotation, and the signature format

Revision ID: 0010
Revises: 0009

`previous_secret` is the secret a rotation replaced; it keeps signing deliveries, beside the
current `secret`, until `previous_secret_expires_at` (ms; both NULL: no rotation).
`signature_format` is how deliveries are signed: `promptha` (the guide's headers) or
`standard` (Standard Webhooks). None of them is a fan-out column: the publish path reads a
webhook's secrets in the statement that hands its deliveries over, so no webhooks_version bump.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("previous_secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("previous_secret_expires_at", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("signature_format", sa.String(16), nullable=False, server_default="promptha")
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("signature_format")
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret")
