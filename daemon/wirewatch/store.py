"""The only module that speaks SQL: schema, migrations, writes and queries.

SQLite in WAL mode with one writer connection. Writes are batched: many
files go into one ``BEGIN IMMEDIATE`` transaction, because a commit with
``synchronous=FULL`` costs an fsync, and FULL is what makes a commit survive
a power cut (NORMAL may roll the last commits back, and a "stored" mark that
rolls back after the file was moved away is a lost article). Readers use
their own connections and never block the writer.

An article is identified by the SHA-256 of the bytes it came from (UNIQUE),
so the same bytes under any name are stored once and every further arrival
is a *sighting* of it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from .models import Article, Figure, Mention

MIGRATIONS: tuple[str, ...] = (
    # 1: articles, where they were seen, files handled, quarantine, full text.
    """
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        title TEXT NOT NULL,
        title_derived INTEGER NOT NULL,
        published TEXT,
        date_estimated INTEGER NOT NULL,
        caption TEXT,
        subheads TEXT NOT NULL,
        source_hints TEXT NOT NULL,
        url TEXT,
        format TEXT NOT NULL,
        body TEXT NOT NULL,
        size INTEGER NOT NULL,
        ingested_at TEXT NOT NULL,
        previous_version INTEGER REFERENCES articles(id)
    );
    CREATE INDEX articles_published ON articles(published);
    CREATE INDEX articles_ingested ON articles(ingested_at);
    CREATE TABLE sightings (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id),
        path TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        UNIQUE (article_id, path)
    );
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        article_id INTEGER REFERENCES articles(id),
        handled_at TEXT NOT NULL
    );
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        moved_to TEXT,
        sha256 TEXT,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, body, content='articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END;
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END;
    """,
    # 2: what the extract stage found, indexed for the rules' queries.
    """
    CREATE TABLE figures (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id),
        low REAL NOT NULL,
        high REAL NOT NULL,
        text TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        qualifier_kind TEXT NOT NULL,
        unit TEXT NOT NULL,
        unit_lemma TEXT NOT NULL,
        modifiers TEXT NOT NULL,
        context TEXT NOT NULL,
        kind TEXT NOT NULL,
        currency TEXT,
        implied_unit INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        sentence TEXT NOT NULL,
        published TEXT
    );
    CREATE INDEX figures_unit ON figures(unit_lemma, published);
    CREATE INDEX figures_article ON figures(article_id);
    CREATE TABLE mentions (
        article_id INTEGER NOT NULL REFERENCES articles(id),
        term TEXT NOT NULL,
        watched INTEGER NOT NULL,
        count INTEGER NOT NULL,
        spans TEXT NOT NULL,
        published TEXT,
        PRIMARY KEY (article_id, term)
    ) WITHOUT ROWID;
    CREATE INDEX mentions_term ON mentions(term, published);
    """,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class RecordToStore:
    """One article with everything the extract stage found in it."""

    sha256: str
    article: Article
    figures: Sequence[Figure] = ()
    mentions: Sequence[Mention] = ()


@dataclass(frozen=True, slots=True)
class FileToStore:
    """A complete file from the inbox, parsed into one or more records."""

    path: str
    file_sha256: str
    size: int
    mtime_ns: int
    records: Sequence[RecordToStore]


@dataclass(slots=True)
class StoredFile:
    """What became of a file: the article ids, and which of them are new."""

    article_ids: list[int] = field(default_factory=list)
    new: list[bool] = field(default_factory=list)

    @property
    def new_count(self) -> int:
        return sum(self.new)


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    path: str
    moved_to: str | None
    sha256: str | None
    reason: str
    detail: str
    at: datetime


class Store:
    """The database of one wirewatch instance.

    Open with :meth:`open`; all writes go through this object's single
    connection, serialised by an asyncio lock so that two transactions never
    interleave on it.
    """

    def __init__(self, path: Path, conn: aiosqlite.Connection, busy_timeout_ms: int) -> None:
        self.path = path
        self._conn = conn
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = asyncio.Lock()
        self._reader: aiosqlite.Connection | None = None

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_ms: int = 5000) -> Store:
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
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
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

    async def _read(self) -> aiosqlite.Connection:
        """A second connection for lookups, so reads never wait on the write lock."""
        if self._reader is None:
            self._reader = await aiosqlite.connect(self.path, isolation_level=None)
            await self._configure(self._reader)
            await self._reader.execute("PRAGMA query_only=ON")
        return self._reader

    # -- writes -------------------------------------------------------------
    async def store_files(self, files: Sequence[FileToStore]) -> list[StoredFile]:
        """Store a batch of files in one transaction; returns one result per file."""
        now = _iso(utcnow())
        results: list[StoredFile] = []
        async with self._transaction() as db:
            for f in files:
                result = StoredFile()
                async with db.execute(
                    "SELECT sha256, article_id FROM files WHERE path=?", (f.path,)
                ) as c:
                    prev = await c.fetchone()
                previous_id = prev[1] if prev and prev[0] != f.file_sha256 else None
                for rec in f.records:
                    article_id, is_new = await self._insert_article(db, f, rec, previous_id, now)
                    result.article_ids.append(article_id)
                    result.new.append(is_new)
                    await db.execute(
                        "INSERT OR IGNORE INTO sightings(article_id, path, file_sha256, seen_at)"
                        " VALUES (?,?,?,?)",
                        (article_id, f.path, f.file_sha256, now),
                    )
                await db.execute(
                    "INSERT OR REPLACE INTO files(path, sha256, size, mtime_ns, article_id,"
                    " handled_at) VALUES (?,?,?,?,?,?)",
                    (
                        f.path,
                        f.file_sha256,
                        f.size,
                        f.mtime_ns,
                        result.article_ids[0] if result.article_ids else None,
                        now,
                    ),
                )
                results.append(result)
        return results

    async def _insert_article(
        self,
        db: aiosqlite.Connection,
        f: FileToStore,
        rec: RecordToStore,
        previous_id: int | None,
        now: str | None,
    ) -> tuple[int, bool]:
        a = rec.article
        async with db.execute(
            "INSERT INTO articles(sha256, path, title, title_derived, published, date_estimated,"
            " caption, subheads, source_hints, url, format, body, size, ingested_at,"
            " previous_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(sha256) DO NOTHING RETURNING id",
            (
                rec.sha256,
                f.path,
                a.title,
                a.title_derived,
                _iso(a.published),
                a.date_estimated,
                a.caption,
                json.dumps(list(a.subheads)),
                json.dumps(list(a.source_hints)),
                a.url,
                a.format,
                a.body,
                f.size,
                now,
                previous_id,
            ),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            async with db.execute("SELECT id FROM articles WHERE sha256=?", (rec.sha256,)) as cur:
                existing = await cur.fetchone()
            assert existing is not None
            return int(existing[0]), False
        article_id = int(row[0])
        published = _iso(a.published)
        if rec.figures:
            await db.executemany(
                "INSERT INTO figures(article_id, low, high, text, qualifier, qualifier_kind,"
                " unit, unit_lemma, modifiers, context, kind, currency, implied_unit, start,"
                ' "end", sentence, published) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
                [
                    (
                        article_id,
                        g.low,
                        g.high,
                        g.text,
                        g.qualifier,
                        g.qualifier_kind,
                        g.unit,
                        g.unit_lemma,
                        json.dumps(list(g.modifiers)),
                        json.dumps(list(g.context)),
                        g.kind,
                        g.currency,
                        g.implied_unit,
                        g.start,
                        g.end,
                        g.sentence,
                        published,
                    )
                    for g in rec.figures
                ],
            )
        if rec.mentions:
            grouped: dict[str, tuple[bool, list[list[int]]]] = {}
            for m in rec.mentions:
                grouped.setdefault(m.term, (m.watched, []))[1].append([m.start, m.end])
            await db.executemany(
                "INSERT OR IGNORE INTO mentions(article_id, term, watched, count, spans, published)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (article_id, term, watched, len(spans), json.dumps(spans), published)
                    for term, (watched, spans) in grouped.items()
                ],
            )
        return article_id, True

    async def record_quarantine(self, rec: QuarantineRecord) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO quarantine(path, moved_to, sha256, reason, detail, at)"
                " VALUES (?,?,?,?,?,?)",
                (rec.path, rec.moved_to, rec.sha256, rec.reason, rec.detail, _iso(rec.at)),
            )

    # -- reads --------------------------------------------------------------
    async def known_file(self, path: str, size: int, mtime_ns: int) -> bool:
        """Whether this exact file (path, size, mtime) was handled already."""
        db = await self._read()
        async with db.execute(
            "SELECT 1 FROM files WHERE path=? AND size=? AND mtime_ns=?", (path, size, mtime_ns)
        ) as cur:
            return await cur.fetchone() is not None

    async def counts(self) -> dict[str, int]:
        """Headline numbers for ``wirewatch stats`` and health."""
        db = await self._read()
        out: dict[str, int] = {}
        for name, sql in (
            ("articles", "SELECT count(*) FROM articles"),
            ("sightings", "SELECT count(*) FROM sightings"),
            ("quarantined", "SELECT count(*) FROM quarantine"),
            ("figures", "SELECT count(*) FROM figures"),
            ("mentions", "SELECT coalesce(sum(count), 0) FROM mentions"),
        ):
            async with db.execute(sql) as cur:
                row = await cur.fetchone()
            out[name] = int(row[0]) if row else 0
        return out

    async def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search with highlighted snippets, best match first."""
        db = await self._read()
        try:
            async with db.execute(
                "SELECT a.id, a.title, a.published, a.path,"
                " snippet(articles_fts, 1, '[', ']', '…', 12)"
                " FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
                " WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?",
                (query, limit),
            ) as cur:
                rows = await cur.fetchall()
        except sqlite3.OperationalError as exc:
            raise ValueError(f"bad search query {query!r}: {exc}") from None
        keys = ("id", "title", "published", "path", "snippet")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    async def article_by_sha(self, sha256: str) -> dict[str, Any] | None:
        db = await self._read()
        db.row_factory = aiosqlite.Row
        try:
            async with db.execute("SELECT * FROM articles WHERE sha256=?", (sha256,)) as cur:
                row = await cur.fetchone()
        finally:
            db.row_factory = None
        return dict(row) if row is not None else None
