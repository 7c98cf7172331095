"""The connection every part of the store shares: open, migrate, transact, read.

One writer connection, serialised by an asyncio lock so that two
transactions never interleave on it; one reader connection for lookups.
``synchronous=FULL`` because a committed "stored" or "sent" mark must
survive a power cut.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import aiosqlite


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="seconds")


class StoreBase:
    """The connection handling every part of the store shares.

    Open with :meth:`open`; all writes go through this object's single
    connection, serialised by an asyncio lock so that two transactions never
    interleave on it.
    """

    def __init__(self, path: Path, conn: aiosqlite.Connection, busy_timeout_ms: int) -> None:
        self.path = path
        self._conn = conn
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = asyncio.Lock()
        self._readers: dict[str, aiosqlite.Connection] = {}
        self._readers_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_ms: int = 5000) -> Self:
        """Open (creating if needed) and migrate the database at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        store = cls(path, conn, busy_timeout_ms)
        try:
            await store._configure(conn)
            await conn.execute("PRAGMA journal_mode=WAL")
            await store._migrate()
        except BaseException:
            await conn.close()
            raise
        return store

    async def _configure(self, conn: aiosqlite.Connection) -> None:
        await conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        await conn.execute("PRAGMA synchronous=FULL")
        await conn.execute("PRAGMA foreign_keys=ON")

    async def _migrate(self) -> None:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        # Imported here: each part of the schema lives with the module that
        # uses it, and those modules import this one.
        from .schema import MIGRATIONS

        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path}: database schema {version} is newer than this wirewatch "
                f"({len(MIGRATIONS)}); upgrade wirewatch"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits first, so the DDL and the version bump are
            # wrapped in one explicit transaction to stay all-or-nothing.
            await self._conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            )

    async def close(self) -> None:
        readers, self._readers = self._readers, {}
        for reader in readers.values():
            await reader.close()
        await self._conn.close()

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def _read(self, purpose: str = "lookups") -> aiosqlite.Connection:
        """A connection for reads, so reads never wait on the write lock.

        One per ``purpose``. A read on a shared connection can see an old
        snapshot: while any statement on it is still open (a coroutine
        between ``execute`` and closing its cursor), every other statement
        joins that statement's read transaction. Reads whose answer must
        include the latest commit (the outbox's next delivery, right after
        the "sent" commit) use a connection of their own and fetch in one
        call (``execute_fetchall``), so no statement stays open across an
        ``await``.
        """
        reader = self._readers.get(purpose)
        if reader is not None:
            return reader
        async with self._readers_lock:  # two first callers must not both connect
            reader = self._readers.get(purpose)
            if reader is None:
                reader = await aiosqlite.connect(self.path, isolation_level=None)
                await self._configure(reader)
                await reader.execute("PRAGMA query_only=ON")
                self._readers[purpose] = reader
        return reader
