"""Articles, where they were seen, files handled, quarantine and full-text search."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import aiosqlite

from ..models import Article, Figure, Mention
from .base import StoreBase, iso, utcnow


@dataclass(frozen=True, slots=True)
class RecordToStore:
    """One article with everything the extract stage found in it."""

    sha256: str
    article: Article
    figures: Sequence[Figure] = ()
    mentions: Sequence[Mention] = ()
    features: object = None
    """What later stages computed ahead, off the writer (e.g. a MinHash)."""


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


class ArticleHook(Protocol):
    """A stage that runs inside the transaction that stores an article.

    Stories and rules are hooks, so an article, its story assignment, the
    rules' new state and the alerts it fires commit together or not at all.
    A hook that keeps state in memory must drop what it learnt when told
    that the transaction rolled back.
    """

    def article_inserted(self, article_id: int, record: RecordToStore, path: str) -> None:
        """A new article's rows are written; its :meth:`article_stored` comes later.

        The whole batch is inserted before any hook's turn, so a hook can
        start work here (in another process) that runs while the writer
        inserts the rest of the batch. Nothing may be written here.
        """

    async def article_stored(
        self, db: aiosqlite.Connection, article_id: int, record: RecordToStore, path: str
    ) -> None: ...

    async def article_seen_again(
        self, db: aiosqlite.Connection, article_id: int, record: RecordToStore, path: str
    ) -> None: ...

    async def before_commit(self, db: aiosqlite.Connection) -> None:
        """The batch is about to commit: write anything held back until now."""

    def rolled_back(self) -> None: ...


class ArticlesMixin(StoreBase):
    """The ingest path's writes and the article queries."""

    # -- writes -------------------------------------------------------------
    async def store_files(
        self, files: Sequence[FileToStore], hooks: Sequence[ArticleHook] = ()
    ) -> list[StoredFile]:
        """Store a batch of files in one transaction; returns one result per file.

        The batch's rows are inserted first, then each hook sees each record
        in order, inside the transaction. Hooks never read the rows of later
        articles (they keep their own state), so seeing them already there
        changes nothing, and a hook's slow part can overlap the inserts.
        """
        try:
            return await self._store_files(files, hooks)
        except BaseException:
            for hook in hooks:
                hook.rolled_back()
            raise

    async def _store_files(
        self, files: Sequence[FileToStore], hooks: Sequence[ArticleHook]
    ) -> list[StoredFile]:
        now = iso(utcnow())
        results: list[StoredFile] = []
        sightings: list[tuple[int, str, str, str | None]] = []
        stored: list[tuple[int, bool, RecordToStore, str]] = []
        async with self._transaction() as db:
            for f in files:
                result = StoredFile()
                # One call each (execute_fetchall): every round trip to the
                # connection's thread costs more than the statement itself.
                found = await db.execute_fetchall(
                    "SELECT sha256, article_id FROM files WHERE path=?", (f.path,)
                )
                prev = next(iter(found), None)
                previous_id = prev[1] if prev and prev[0] != f.file_sha256 else None
                for rec in f.records:
                    article_id, is_new = await self._insert_article(db, f, rec, previous_id, now)
                    result.article_ids.append(article_id)
                    result.new.append(is_new)
                    if is_new:
                        for hook in hooks:
                            hook.article_inserted(article_id, rec, f.path)
                    stored.append((article_id, is_new, rec, f.path))
                    sightings.append((article_id, f.path, f.file_sha256, now))
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
            for article_id, is_new, rec, path in stored:
                for hook in hooks:
                    if is_new:
                        await hook.article_stored(db, article_id, rec, path)
                    else:
                        await hook.article_seen_again(db, article_id, rec, path)
            # Nothing in the batch reads them back: one statement for all.
            await db.executemany(
                "INSERT OR IGNORE INTO sightings(article_id, path, file_sha256, seen_at)"
                " VALUES (?,?,?,?)",
                sightings,
            )
            for hook in hooks:
                await hook.before_commit(db)
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
        inserted = await db.execute_fetchall(
            "INSERT INTO articles(sha256, path, title, title_derived, published, date_estimated,"
            " caption, subheads, source_hints, url, format, body, size, ingested_at,"
            " previous_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(sha256) DO NOTHING RETURNING id",
            (
                rec.sha256,
                f.path,
                a.title,
                a.title_derived,
                iso(a.published),
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
        )
        row = next(iter(inserted), None)
        if row is None:
            existing = await db.execute_fetchall(
                "SELECT id FROM articles WHERE sha256=?", (rec.sha256,)
            )
            return int(next(iter(existing))[0]), False
        article_id = int(row[0])
        published = iso(a.published)
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
                (rec.path, rec.moved_to, rec.sha256, rec.reason, rec.detail, iso(rec.at)),
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

    async def articles_since(self, moment: datetime) -> int:
        """How many articles were stored at or after ``moment``."""
        db = await self._read()
        async with db.execute(
            "SELECT count(*) FROM articles WHERE ingested_at >= ?", (iso(moment),)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

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
