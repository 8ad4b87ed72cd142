"""Queries of the embeddable portal's sessions (portal.py): create one, consume its one-time
token (one conditional UPDATE, so of two concurrent opens one wins on both backends), and read
a session back for the dashboard's every request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from promptha_webhooks.portal import PortalSession, PortalTheme
from promptha_webhooks.store.tables import portal_sessions as table


def _session(row: Row[Any]) -> PortalSession:
    return PortalSession(
        id=row.id,
        account_id=row.account_id,
        read_only=bool(row.read_only),
        return_url=row.return_url,
        theme=PortalTheme(
            primary_color=row.primary_color, logo_url=row.logo_url, dark_mode=bool(row.dark_mode)
        ),
        expires_at_ms=int(row.expires_at),
    )


class PortalQueries:
    async def insert(
        self,
        conn: AsyncConnection,
        session: PortalSession,
        token_hash: str,
        now: int,
    ) -> None:
        """Store a new session (its link not used yet); purge the expired ones meanwhile."""
        await conn.execute(delete(table).where(table.c.expires_at <= now))
        await conn.execute(
            insert(table).values(
                id=session.id,
                account_id=session.account_id,
                token_hash=token_hash,
                read_only=session.read_only,
                return_url=session.return_url,
                primary_color=session.theme.primary_color,
                logo_url=session.theme.logo_url,
                dark_mode=session.theme.dark_mode,
                created_at=now,
                expires_at=session.expires_at_ms,
            )
        )

    async def consume(
        self, conn: AsyncConnection, token_hash: str, now: int
    ) -> PortalSession | None:
        """The session of a link opened for the first time before it expired, marked used in
        the same statement; None for an unknown, used or expired token."""
        statement = (
            update(table)
            .where(
                table.c.token_hash == token_hash,
                table.c.used_at.is_(None),
                table.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(*table.c)
        )
        row = (await conn.execute(statement)).first()
        return _session(row) if row else None

    async def get_open(
        self, conn: AsyncConnection, account_id: str, id: str, now: int
    ) -> PortalSession | None:
        """A session whose link was opened and that has not expired."""
        query = select(table).where(
            table.c.id == id,
            table.c.account_id == account_id,
            table.c.used_at.is_not(None),
            table.c.expires_at > now,
        )
        row = (await conn.execute(query)).first()
        return _session(row) if row else None
