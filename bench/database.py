"""Scratch databases: a new PostgreSQL database `bench_<random>` or a new SQLite file per run,
migrated with `promptha-webhooks migrate`, and dropped (deleted) afterwards."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg

from bench.common import CLI, PG_ADMIN_DSN, ROOT, Backend, Context


class ScratchDatabase:
    """`async with ScratchDatabase(ctx, "postgresql") as db:` — db.url, db.fetchval(sql)."""

    def __init__(self, ctx: Context, backend: Backend) -> None:
        self.backend = backend
        self.name = f"bench_{secrets.token_hex(6)}"
        self.sqlite_path: Path | None = None
        self._pg: asyncpg.Connection | None = None
        self._sqlite: sqlite3.Connection | None = None
        if backend == "postgresql":
            base = PG_ADMIN_DSN.rsplit("/", 1)[0]
            self.url = f"{base}/{self.name}"
        else:
            self.sqlite_path = ctx.work_dir / f"{self.name}.db"
            self.url = f"sqlite:///{self.sqlite_path}"

    async def __aenter__(self) -> ScratchDatabase:
        if self.backend == "postgresql":
            admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
            try:
                await admin.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await admin.close()
        try:
            await self._migrate()
            if self.backend == "postgresql":
                self._pg = await asyncpg.connect(self.url, timeout=10)
            else:
                assert self.sqlite_path is not None
                self._sqlite = sqlite3.connect(
                    self.sqlite_path, isolation_level=None, check_same_thread=False, timeout=30
                )
        except BaseException:
            await self._drop()
            raise
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self._drop()

    async def _migrate(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTHA_WEBHOOKS_")}
        env["PROMPTHA_WEBHOOKS_DATABASE_URL"] = self.url
        process = await asyncio.create_subprocess_exec(
            CLI,
            "migrate",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{output.decode(errors='replace')}")

    async def _drop(self) -> None:
        if self._pg is not None:
            await self._pg.close()
            self._pg = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self.backend == "postgresql":
            admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            finally:
                await admin.close()
        elif self.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)

    @property
    def pg(self) -> asyncpg.Connection:
        assert self._pg is not None, "not a PostgreSQL database (or not open)"
        return self._pg

    async def sqlite(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        """Run one SQLite statement in a thread (the service may hold the write lock)."""
        assert self._sqlite is not None, "not a SQLite database (or not open)"
        connection = self._sqlite

        def run() -> list[tuple[Any, ...]]:
            return connection.execute(sql, params).fetchall()

        return await asyncio.to_thread(run)

    async def sqlite_script(self, statements: list[tuple[str, Any]]) -> None:
        """Run statements in one SQLite transaction, in a thread."""
        assert self._sqlite is not None, "not a SQLite database (or not open)"
        connection = self._sqlite

        def run() -> None:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    connection.execute(sql, params)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

        await asyncio.to_thread(run)

    async def fetchval(self, sql: str) -> Any:
        """The first column of the first row of a parameterless query, on either backend."""
        if self.backend == "postgresql":
            return await self.pg.fetchval(sql)
        rows = await self.sqlite(sql)
        return rows[0][0] if rows else None

    async def count(self, where: str = "") -> int:
        """Deliveries, optionally `WHERE …`."""
        value = await self.fetchval(f"SELECT count(*) FROM deliveries {where}")
        return int(value)
