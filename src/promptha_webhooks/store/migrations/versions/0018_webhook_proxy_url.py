"""webhook_proxy_url: a webhook's own HTTP CONNECT proxy

Revision ID: 0018
Revises: 0017

`proxy_url` holds `http://[user:password@]host:port` sealed with AES-256-GCM like the secrets
and static headers (secret_box.py; the key id travels in the value, the webhook id is
associated data), since it may carry the proxy's credentials. NULL: the server's
PROMPTHA_WEBHOOKS_PROXY_URL, if any (delivery/transport.py). Read with the delivery settings
(claims, hand-offs), not with the fan-out: no webhooks_version bump.

Plain ALTER TABLE both ways, no batch mode: on SQLite a batch rebuild of `webhooks` would
drop the triggers of 0015 that keep its webhooks_version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("proxy_url", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (Python 3.11's sqlite3 is newer).
    op.execute("ALTER TABLE webhooks DROP COLUMN proxy_url")
