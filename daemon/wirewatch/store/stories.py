"""What the stories stage keeps: signatures, stories, who joined why, copies, sources.

Every write takes the caller's connection, so a story assignment commits in
the same transaction as the article it is about (the stage is an
:class:`~wirewatch.store.articles.ArticleHook`). Reads for the CLI use the
reader connection.

Tables:

* ``story_articles``: one row per article: the story it joined, its score,
  the article it matched and the reason in words, its source, its time for
  the window, and the features the stage compares (text hash, MinHash,
  shingle set, term hashes and weights, figure values), so the hot
  window can be rebuilt after a restart and copy candidates confirmed
  exactly. A trigger on insert opens the story (its id is the id of its
  first article), counts the article in and records the source, so the
  placements of a whole batch are one statement: each statement is a round
  trip to the database thread, and the writer is the pipeline's one serial
  part.
* ``stories``: one row per story; a merged story keeps its row with
  ``merged_into`` set, so an id an alert cited still resolves.
* ``copies``: which article copies which: ``exact`` (same normalised words)
  or ``near`` (by shingles or by aligned passages), with the numbers.
* ``article_sources``: every source an article was seen from (its first
  arrival and each byte-identical sighting), so a story's distinct sources
  count outlets, not files.

Aggregates (a story's figures and terms, with how many distinct sources
report each) are computed by query from ``figures``, ``mentions`` and
``article_sources``: nothing to keep in step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from ..stories.figures import aggregate_figures
from .base import StoreBase, iso

STORIES_MIGRATION: str = """
CREATE TABLE IF NOT EXISTS stories (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    best_article_id INTEGER REFERENCES articles(id),
    article_count INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    merged_into INTEGER REFERENCES stories(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_last_seen ON stories(last_seen);
CREATE INDEX IF NOT EXISTS stories_merged_into ON stories(merged_into);
CREATE TABLE IF NOT EXISTS story_articles (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id),
    story_id INTEGER NOT NULL,
    score REAL NOT NULL,
    reason TEXT NOT NULL,
    matched_article_id INTEGER REFERENCES articles(id),
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    dated INTEGER NOT NULL,
    joined_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    text_hash TEXT NOT NULL,
    minhash BLOB NOT NULL,
    shingles BLOB NOT NULL,
    term_hashes BLOB NOT NULL,
    term_weights BLOB NOT NULL,
    figures TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS story_articles_story ON story_articles(story_id);
CREATE INDEX IF NOT EXISTS story_articles_at ON story_articles(at);
CREATE INDEX IF NOT EXISTS story_articles_text ON story_articles(text_hash);
CREATE TABLE IF NOT EXISTS copies (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id),
    original_id INTEGER NOT NULL REFERENCES articles(id),
    kind TEXT NOT NULL CHECK (kind IN ('exact', 'near')),
    method TEXT NOT NULL,
    similarity REAL NOT NULL,
    containment REAL NOT NULL,
    aligned REAL NOT NULL,
    figures_overlap REAL
);
CREATE INDEX IF NOT EXISTS copies_original ON copies(original_id);
CREATE TABLE IF NOT EXISTS article_sources (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    source TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (article_id, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_sources_source ON article_sources(source);
-- One INSERT per article does the rest: open the story if the article starts
-- it (a story's id is the id of its first article), count the article in, and
-- record its source.
CREATE TRIGGER IF NOT EXISTS story_articles_joined AFTER INSERT ON story_articles BEGIN
    INSERT OR IGNORE INTO stories(id, title, best_article_id, article_count, first_seen,
        last_seen, first_at, last_at, created_at, updated_at)
    SELECT new.story_id, a.title, a.id, 0, new.joined_at, new.joined_at, new.at, new.at,
        new.joined_at, new.joined_at
    FROM articles a WHERE a.id = new.article_id;
    UPDATE stories SET article_count = article_count + 1,
        last_seen = max(last_seen, new.joined_at), first_at = min(first_at, new.at),
        last_at = max(last_at, new.at), updated_at = new.joined_at
    WHERE id = new.story_id;
    INSERT OR IGNORE INTO article_sources(article_id, source, first_seen)
    VALUES (new.article_id, new.source, new.joined_at);
END;
"""


@dataclass(frozen=True, slots=True)
class SignatureRow:
    """One article as the hot window needs it back after a restart."""

    article_id: int
    story_id: int
    at: str
    dated: bool
    text_hash: str
    minhash: bytes
    term_hashes: bytes
    term_weights: bytes
    title: str
    title_derived: bool
    copies: int
    story_best_article_id: int | None
    shingles: bytes
    figures: tuple[str, ...]
    body: str


# -- writes, on the caller's connection ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Placement:
    """One article's row in ``story_articles``: its story, why, and its signature."""

    article_id: int
    story_id: int
    score: float
    reason: str
    matched_article_id: int | None
    source: str
    at: str
    dated: bool
    joined_at: str
    version: int
    text_hash: str
    minhash: bytes
    shingles: bytes
    term_hashes: bytes
    term_weights: bytes
    figures: Sequence[str]


def _placement_row(p: Placement) -> tuple[object, ...]:
    return (
        p.article_id,
        p.story_id,
        round(p.score, 4),
        p.reason,
        p.matched_article_id,
        p.source,
        p.at,
        p.dated,
        p.joined_at,
        p.version,
        p.text_hash,
        p.minhash,
        p.shingles,
        p.term_hashes,
        p.term_weights,
        json.dumps(list(p.figures), separators=(",", ":")),
    )


async def place_articles(db: aiosqlite.Connection, placements: Sequence[Placement]) -> None:
    """Write articles' placements, in order, as one statement (one round trip);
    the trigger opens or updates each story and records each source."""
    await db.executemany(
        "INSERT INTO story_articles(article_id, story_id, score, reason, matched_article_id,"
        " source, at, dated, joined_at, version, text_hash, minhash, shingles, term_hashes,"
        " term_weights, figures) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [_placement_row(p) for p in placements],
    )


async def rename_story(
    db: aiosqlite.Connection, story_id: int, best_article_id: int, now: str
) -> None:
    """The story takes its title from another of its articles from now on."""
    await db.execute(
        "UPDATE stories SET best_article_id = ?, updated_at = ?,"
        " title = coalesce((SELECT title FROM articles WHERE id = ?), title) WHERE id = ?",
        (best_article_id, now, best_article_id, story_id),
    )


@dataclass(frozen=True, slots=True)
class CopyLink:
    """One row of ``copies``: which article copies which, and how closely."""

    article_id: int
    original_id: int
    kind: str
    method: str
    similarity: float
    containment: float
    aligned: float
    figures_overlap: float | None


async def record_copies(db: aiosqlite.Connection, links: Sequence[CopyLink]) -> None:
    """Write copy links, as one statement."""
    await db.executemany(
        "INSERT OR REPLACE INTO copies(article_id, original_id, kind, method, similarity,"
        " containment, aligned, figures_overlap) VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                c.article_id,
                c.original_id,
                c.kind,
                c.method,
                round(c.similarity, 4),
                round(c.containment, 4),
                round(c.aligned, 4),
                None if c.figures_overlap is None else round(c.figures_overlap, 4),
            )
            for c in links
        ],
    )


async def record_sighting(
    db: aiosqlite.Connection, article_id: int, story_id: int, source: str, now: str
) -> bool:
    """A further sighting: note its source and the story's last-seen time.

    Returns whether the source is new for this article (one round trip).
    """
    rows = await db.execute_fetchall(
        "INSERT INTO article_sources(article_id, source, first_seen) VALUES (?,?,?)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (article_id, source, now),
    )
    await db.execute(
        "UPDATE stories SET last_seen = max(last_seen, ?), updated_at = ? WHERE id = ?",
        (now, now, story_id),
    )
    return bool(list(rows))


async def merge_stories(
    db: aiosqlite.Connection, target: int, sources: Sequence[int], now: str
) -> None:
    """Move every article of ``sources`` into ``target``; the old rows point to it."""
    if not sources:
        return
    marks = ",".join("?" * len(sources))
    await db.execute(
        f"UPDATE story_articles SET story_id = ? WHERE story_id IN ({marks})",
        (target, *sources),
    )
    await db.execute(
        f"UPDATE stories SET merged_into = ?, updated_at = ? WHERE id IN ({marks})"
        f" OR merged_into IN ({marks})",
        (target, now, *sources, *sources),
    )
    await db.execute(
        "UPDATE stories SET"
        " article_count = (SELECT count(*) FROM story_articles WHERE story_id = :t),"
        " first_seen = min(first_seen, (SELECT min(first_seen) FROM stories WHERE merged_into"
        " = :t)), last_seen = max(last_seen, (SELECT max(last_seen) FROM stories WHERE"
        " merged_into = :t)), first_at = min(first_at, (SELECT min(first_at) FROM stories"
        " WHERE merged_into = :t)), last_at = max(last_at, (SELECT max(last_at) FROM stories"
        " WHERE merged_into = :t)), updated_at = :now WHERE id = :t",
        {"t": target, "now": now},
    )


# -- reads on the caller's connection (the writer needs them mid-transaction) ----------


async def story_id_of(db: aiosqlite.Connection, article_id: int) -> int | None:
    rows = list(
        await db.execute_fetchall(
            "SELECT story_id FROM story_articles WHERE article_id = ?", (article_id,)
        )
    )
    return int(rows[0][0]) if rows else None


async def story_summary_row(
    db: aiosqlite.Connection, article_id: int
) -> tuple[int, str, int, tuple[tuple[str, str], ...]] | None:
    """The story an article is in: its id, title, article count and distinct
    sources with the time each was first seen (in that order, then by name);
    ``None`` if the article has none.

    One query, since the rules ask it of every article inside the writer's
    transaction, where each round trip to the database thread counts.
    """
    rows = list(
        await db.execute_fetchall(
            "SELECT st.id, st.title, st.article_count, src.source, min(src.first_seen) AS seen"
            " FROM story_articles mine"
            " JOIN stories st ON st.id = mine.story_id"
            " JOIN story_articles sa ON sa.story_id = mine.story_id"
            " JOIN article_sources src ON src.article_id = sa.article_id"
            " WHERE mine.article_id = ?"
            " GROUP BY src.source ORDER BY seen, src.source",
            (article_id,),
        )
    )
    if not rows:
        return None
    first = rows[0]
    return (
        int(first[0]),
        str(first[1]),
        int(first[2]),
        tuple((str(r[3]), str(r[4])) for r in rows),
    )


async def window_start(db: aiosqlite.Connection, window_seconds: float) -> tuple[str | None, bool]:
    """Where the hot window starts: ``window_seconds`` before the newest real
    publication time (or, with none, the newest time of any article);
    ``None`` with nothing stored. The flag says whether any time was real."""
    async with db.execute("SELECT max(at) FROM story_articles WHERE dated = 1") as cur:
        row = await cur.fetchone()
    newest, dated = (row[0] if row else None), True
    if newest is None:
        async with db.execute("SELECT max(at) FROM story_articles") as cur:
            row = await cur.fetchone()
        newest, dated = (row[0] if row else None), False
    if newest is None:
        return None, False
    start = datetime.fromisoformat(newest) - timedelta(seconds=window_seconds)
    return iso(start), dated


async def window_rows(db: aiosqlite.Connection, since: str) -> list[SignatureRow]:
    """Every article whose time is at or after ``since``, oldest first."""
    async with db.execute(
        "SELECT s.article_id, s.story_id, s.at, s.dated, s.text_hash, s.minhash, s.term_hashes,"
        " s.term_weights,"
        " a.title, a.title_derived,"
        " (SELECT count(*) FROM copies c WHERE c.original_id = s.article_id),"
        " st.best_article_id, s.shingles, s.figures, a.body"
        " FROM story_articles s"
        " JOIN stories st ON st.id = s.story_id"
        " JOIN articles a ON a.id = s.article_id"
        " WHERE s.at >= ? ORDER BY s.at, s.article_id",
        (since,),
    ) as cur:
        rows = await cur.fetchall()
    return [
        SignatureRow(
            int(r[0]),
            int(r[1]),
            r[2],
            bool(r[3]),
            r[4],
            bytes(r[5]),
            bytes(r[6]),
            bytes(r[7]),
            r[8],
            bool(r[9]),
            int(r[10]),
            None if r[11] is None else int(r[11]),
            bytes(r[12]),
            tuple(json.loads(r[13])),
            r[14],
        )
        for r in rows
    ]


# -- the mixin ------------------------------------------------------------------------


def _dicts(cur_description: Any, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    keys = [d[0] for d in cur_description]
    return [dict(zip(keys, row, strict=True)) for row in rows]


class StoriesMixin(StoreBase):
    """Story queries for the CLI, and the window the stage rebuilds from."""

    async def story_window(self, window_seconds: float) -> list[SignatureRow]:
        """The articles the stage keeps hot, as stored: the last ``window_seconds``."""
        db = await self._read()
        since, _ = await window_start(db, window_seconds)
        if since is None:
            return []
        return await window_rows(db, since)

    async def recent_stories(
        self, limit: int = 20, *, min_articles: int = 1
    ) -> list[dict[str, Any]]:
        """Stories seen most recently first, with article and distinct-source counts."""
        db = await self._read()
        async with db.execute(
            "SELECT st.id, st.title, st.article_count AS articles,"
            " (SELECT count(DISTINCT src.source) FROM story_articles sa"
            "  JOIN article_sources src ON src.article_id = sa.article_id"
            "  WHERE sa.story_id = st.id) AS sources,"
            " st.first_seen, st.last_seen, st.first_at, st.last_at"
            " FROM stories st WHERE st.merged_into IS NULL AND st.article_count >= ?"
            " ORDER BY st.last_seen DESC, st.id DESC LIMIT ?",
            (min_articles, limit),
        ) as cur:
            return _dicts(cur.description, await cur.fetchall())

    async def story_counts(self) -> dict[str, int]:
        """How many stories, how many hold several articles, and how many articles those hold."""
        db = await self._read()
        async with db.execute(
            "SELECT count(*), coalesce(sum(article_count > 1), 0),"
            " coalesce(sum(CASE WHEN article_count > 1 THEN article_count ELSE 0 END), 0),"
            " coalesce(sum(article_count), 0)"
            " FROM stories WHERE merged_into IS NULL"
        ) as cur:
            row = await cur.fetchone()
        async with db.execute("SELECT count(*), coalesce(sum(kind = 'exact'), 0) FROM copies") as c:
            copies = await c.fetchone()
        assert row is not None and copies is not None
        return {
            "stories": int(row[0]),
            "multi_article_stories": int(row[1]),
            "articles_in_multi_article_stories": int(row[2]),
            "articles_in_stories": int(row[3]),
            "copies": int(copies[0]),
            "exact_copies": int(copies[1]),
        }

    async def resolve_story(self, story_id: int) -> int | None:
        """The live story an id stands for (following merges), or ``None``."""
        db = await self._read()
        seen: set[int] = set()
        current = story_id
        while current not in seen:
            seen.add(current)
            async with db.execute("SELECT merged_into FROM stories WHERE id = ?", (current,)) as c:
                row = await c.fetchone()
            if row is None:
                return None
            if row[0] is None:
                return current
            current = int(row[0])
        return current

    async def story_detail(self, story_id: int, *, terms: int = 15) -> dict[str, Any] | None:
        """A story with its articles, copies, sources, figures and terms."""
        live = await self.resolve_story(story_id)
        if live is None:
            return None
        db = await self._read()
        async with db.execute("SELECT * FROM stories WHERE id = ?", (live,)) as cur:
            story = _dicts(cur.description, await cur.fetchall())[0]
        async with db.execute(
            "SELECT a.id, a.title, a.published, a.date_estimated, a.path, a.url, sa.score,"
            " sa.reason, sa.matched_article_id AS matched,"
            " (SELECT group_concat(source, ', ') FROM article_sources s"
            "  WHERE s.article_id = a.id) AS sources,"
            " (SELECT count(*) FROM sightings si WHERE si.article_id = a.id) AS sightings,"
            " c.original_id AS copy_of, c.kind AS copy_kind, c.method AS copy_method,"
            " c.similarity, c.containment, c.aligned, c.figures_overlap"
            " FROM story_articles sa JOIN articles a ON a.id = sa.article_id"
            " LEFT JOIN copies c ON c.article_id = a.id"
            " WHERE sa.story_id = ? ORDER BY coalesce(a.published, a.ingested_at), a.id",
            (live,),
        ) as cur:
            articles = _dicts(cur.description, await cur.fetchall())
        async with db.execute(
            "SELECT DISTINCT src.source FROM story_articles sa"
            " JOIN article_sources src ON src.article_id = sa.article_id"
            " WHERE sa.story_id = ? ORDER BY src.source",
            (live,),
        ) as cur:
            sources = [r[0] for r in await cur.fetchall()]
        async with db.execute(
            "SELECT DISTINCT f.low, f.high, f.unit, f.unit_lemma, f.kind, f.currency,"
            " f.article_id, src.source, f.text, f.sentence"
            " FROM story_articles sa JOIN figures f ON f.article_id = sa.article_id"
            " JOIN article_sources src ON src.article_id = sa.article_id"
            " WHERE sa.story_id = ?",
            (live,),
        ) as cur:
            figures = aggregate_figures(_dicts(cur.description, await cur.fetchall()))
        async with db.execute(
            "SELECT m.term, max(m.watched) AS watched,"
            " (SELECT count(DISTINCT src.source) FROM mentions m2"
            "  JOIN story_articles sa2 ON sa2.article_id = m2.article_id"
            "  JOIN article_sources src ON src.article_id = m2.article_id"
            "  WHERE sa2.story_id = sa.story_id AND m2.term = m.term) AS sources,"
            " count(*) AS articles, sum(m.count) AS mentions"
            " FROM story_articles sa JOIN mentions m ON m.article_id = sa.article_id"
            " WHERE sa.story_id = ? GROUP BY m.term"
            " ORDER BY sources DESC, articles DESC, mentions DESC, m.term LIMIT ?",
            (live, terms),
        ) as cur:
            top_terms = _dicts(cur.description, await cur.fetchall())
        merged = []
        async with db.execute(
            "SELECT id FROM stories WHERE merged_into = ? ORDER BY id", (live,)
        ) as cur:
            merged = [int(r[0]) for r in await cur.fetchall()]
        story.update(
            articles=articles,
            sources=sources,
            figures=figures,
            terms=top_terms,
            merged_from=merged,
            requested_id=story_id,
        )
        return story

    async def story_of_article(self, article_id: int) -> dict[str, Any] | None:
        """Which story an article joined and why, with the copy it is, if any."""
        db = await self._read()
        async with db.execute(
            "SELECT sa.story_id, st.title AS story_title, st.article_count, sa.score, sa.reason,"
            " sa.matched_article_id AS matched, ma.title AS matched_title,"
            " c.original_id AS copy_of, c.kind AS copy_kind, c.method AS copy_method,"
            " c.similarity, c.containment, c.aligned, c.figures_overlap,"
            " (SELECT group_concat(source, ', ') FROM article_sources s"
            "  WHERE s.article_id = sa.article_id) AS sources"
            " FROM story_articles sa JOIN stories st ON st.id = sa.story_id"
            " LEFT JOIN articles ma ON ma.id = sa.matched_article_id"
            " LEFT JOIN copies c ON c.article_id = sa.article_id"
            " WHERE sa.article_id = ?",
            (article_id,),
        ) as cur:
            rows = _dicts(cur.description, await cur.fetchall())
        if not rows:
            return None
        out = rows[0]
        async with db.execute(
            "SELECT count(DISTINCT src.source) FROM story_articles sa"
            " JOIN article_sources src ON src.article_id = sa.article_id WHERE sa.story_id = ?",
            (out["story_id"],),
        ) as cur:
            row = await cur.fetchone()
        out["story_sources"] = int(row[0]) if row else 0
        return out


__all__ = [
    "STORIES_MIGRATION",
    "CopyLink",
    "Placement",
    "SignatureRow",
    "StoriesMixin",
    "merge_stories",
    "place_articles",
    "record_copies",
    "record_sighting",
    "rename_story",
    "story_id_of",
    "story_summary_row",
    "window_rows",
    "window_start",
]
