"""Dashboard sign-outs: the sessions revoked before their cookie expires (dashboard/sessions.py
says why a signed cookie needs them)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from promptha_webhooks.store.database import Backend
from promptha_webhooks.store.tables import dashboard_session_revocations as revocations


async def revoke_session(
    conn: AsyncConnection, backend: Backend, session_hash: str, expires_at: int, now: int
) -> None:
    """Refuse the session from now on (until `expires_at`, ms, when its cookie is refused
    anyway); purge the revocations whose cookies have expired meanwhile."""
    await conn.execute(delete(revocations).where(revocations.c.expires_at <= now))
    row = {"session_hash": session_hash, "expires_at": expires_at}
    # Signed out twice (two tabs, a double click): one revocation.
    statement: Executable = (
        postgresql.insert(revocations).values(row).on_conflict_do_nothing()
        if backend == "postgresql"
        else sqlite.insert(revocations).values(row).on_conflict_do_nothing()
    )
    await conn.execute(statement)


async def session_revoked(conn: AsyncConnection, session_hash: str) -> bool:
    query = select(revocations.c.session_hash).where(revocations.c.session_hash == session_hash)
    return (await conn.execute(query)).first() is not None
