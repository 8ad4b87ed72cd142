"""Moving stored webhook secrets under the key ring's first key, online and in batches: rows
from before encryption at rest (plaintext, `secret_key_id` NULL) are sealed, rows under an
older key re-encrypted (with their static headers, proxy URL and a broker webhook's destination
config, sealed the same way). `serve` and `worker` seal plaintext rows at start-up;
`promptha-webhooks secrets reencrypt` moves every row (docs/security.md, rotating the
encryption key).

Each batch is one short transaction, and each row is written only if its secrets are still
the ones read (compare-and-set): a secret changed meanwhile (PATCH, a rotation) is already
sealed under the current key by its writer and is left alone. Readers never wait: both the
old and the new value open with the ring, and deliveries keep being signed throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from promptha_webhooks.secret_box import SEALED_PREFIX, DecryptionError
from promptha_webhooks.store.database import Database
from promptha_webhooks.store.tables import webhooks

__all__ = ["RESEAL_BATCH_SIZE", "ResealProgress", "ResealRequest", "reseal", "rows_to_reseal"]

RESEAL_BATCH_SIZE = 200  # rows per transaction


@dataclass(frozen=True, slots=True)
class ResealRequest:
    """Which rows to move: `plaintext_only` (start-up) or every row not under the first key;
    `batch_size` rows per transaction."""

    plaintext_only: bool = False
    batch_size: int = RESEAL_BATCH_SIZE


@dataclass(frozen=True, slots=True)
class ResealProgress:
    """Rows looked at and moved so far, of `total` counted at the start; `unreadable`: ids of
    the webhooks whose secrets do not open with the ring (left as they are)."""

    total: int
    seen: int = 0
    moved: int = 0
    unreadable: tuple[str, ...] = ()


def _pending(database: Database, request: ResealRequest) -> ColumnElement[bool]:
    if request.plaintext_only:
        return webhooks.c.secret_key_id.is_(None)
    primary = database.secrets.keys.primary_key_id
    return or_(
        webhooks.c.secret_key_id.is_(None),
        webhooks.c.secret_key_id != primary,
        # Static headers are sealed on their own (their key id is inside the value): a row
        # whose secret moved since may still hold headers under an older key.
        and_(
            webhooks.c.headers.is_not(None),
            ~webhooks.c.headers.startswith(f"{SEALED_PREFIX}:{primary}:", autoescape=True),
        ),
        and_(
            webhooks.c.proxy_url.is_not(None),
            ~webhooks.c.proxy_url.startswith(f"{SEALED_PREFIX}:{primary}:", autoescape=True),
        ),
        and_(
            webhooks.c.destination_config.is_not(None),
            ~webhooks.c.destination_config.startswith(
                f"{SEALED_PREFIX}:{primary}:", autoescape=True
            ),
        ),
    )


async def rows_to_reseal(database: Database, request: ResealRequest) -> int:
    """How many rows are not yet where `request` wants them."""
    async with database.transaction() as conn:
        query = select(func.count()).select_from(webhooks).where(_pending(database, request))
        return int((await conn.execute(query)).scalar_one())


async def reseal(
    database: Database,
    request: ResealRequest,
    on_batch: Callable[[ResealProgress], None] | None = None,
) -> ResealProgress:
    """Move every row `request` names, a batch per transaction (in id order), calling
    `on_batch` after each; the rows that do not open are reported, not changed."""
    codec = database.secrets
    progress = ResealProgress(total=await rows_to_reseal(database, request))
    after = ""
    while True:
        async with database.transaction() as conn:
            rows = (
                await conn.execute(
                    select(
                        webhooks.c.id,
                        webhooks.c.secret,
                        webhooks.c.previous_secret,
                        webhooks.c.previous_secret_expires_at,
                        webhooks.c.signature_format,
                        webhooks.c.secret_key_id,
                        webhooks.c.headers,
                        webhooks.c.proxy_url,
                        webhooks.c.destination_config,
                    )
                    .where(_pending(database, request), webhooks.c.id > after)
                    .order_by(webhooks.c.id)
                    .limit(request.batch_size)
                )
            ).all()
            if not rows:
                return progress
            moved = 0
            unreadable: list[str] = []
            for row in rows:
                try:
                    stored = (
                        row.secret,
                        row.previous_secret,
                        row.previous_secret_expires_at,
                        row.signature_format,
                        row.secret_key_id,
                    )
                    columns = codec.resealed(row.id, stored)
                    if not request.plaintext_only:
                        columns["headers"] = codec.resealed_headers(row.id, row.headers)
                        columns["proxy_url"] = codec.resealed_proxy_url(row.id, row.proxy_url)
                        columns["destination_config"] = codec.resealed_destination(
                            row.id, row.destination_config
                        )
                except DecryptionError:
                    unreadable.append(row.id)
                    continue
                result = await conn.execute(
                    update(webhooks)
                    .where(
                        webhooks.c.id == row.id,
                        webhooks.c.secret == row.secret,
                        webhooks.c.previous_secret.is_not_distinct_from(row.previous_secret),
                        webhooks.c.headers.is_not_distinct_from(row.headers),
                        webhooks.c.proxy_url.is_not_distinct_from(row.proxy_url),
                        webhooks.c.destination_config.is_not_distinct_from(row.destination_config),
                    )
                    .values(**columns)
                )
                moved += result.rowcount
            after = rows[-1].id
        progress = ResealProgress(
            total=progress.total,
            seen=progress.seen + len(rows),
            moved=progress.moved + moved,
            unreadable=progress.unreadable + tuple(unreadable),
        )
        if on_batch is not None:
            on_batch(progress)
