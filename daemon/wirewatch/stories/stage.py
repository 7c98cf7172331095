"""The stories stage as the ingest path runs it: a featurizer and an article hook.

The hook methods run in the writer, inside the transaction that stores the
article, one article at a time in arrival order: they hand the article to
the engine (:mod:`.engine`), which holds the hot window and decides, and
write the decision, so an article and its story commit together or not at
all.

Where the CPU work happens depends on ``StoriesConfig.engine``:

* ``inline`` (what ``auto`` picks when files are parsed in worker
  processes, the default): the features are computed beside the parsing,
  in the workers (see :mod:`wirewatch.prepare_pool`), or by
  :meth:`StoriesStage.featurize` in the ingest threads; the engine runs in
  the writer's process and only retrieves and decides, a fraction of a
  millisecond per article.
* ``process`` (what ``auto`` picks when parsing runs in threads of the
  daemon): the engine runs in a process of its own (:mod:`.remote`) and
  computes the features there too; the featurizer sends the article ahead
  as soon as it is parsed, so the engine's millisecond runs on another core
  than the one interpreter lock the threads share. The placement itself is
  asked for as soon as the article's row is inserted
  (:meth:`StoriesStage.article_inserted`): the store inserts the whole batch
  before the hooks' turn, so the engine places while the writer inserts,
  and the writer mostly finds the answer waiting.

The hot window is memory that the transaction does not cover. After a
rollback it may hold articles that were never committed, so it is marked
stale and rebuilt from the store (through the writer's connection) before
the next article is placed. The same happens when the engine process dies.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

import aiosqlite

from ..logs import get_logger
from ..models import Article, Figure, Mention
from ..store.articles import RecordToStore
from ..store.base import iso, utcnow
from ..store.stories import (
    CopyLink,
    Placement,
    SignatureRow,
    StoriesMixin,
    merge_stories,
    place_articles,
    record_copies,
    record_sighting,
    rename_story,
    story_id_of,
    story_summary_row,
    window_rows,
    window_start,
)
from .config import StoriesConfig
from .copies import CopyVerdict
from .engine import FeatureJob, Placed, PlaceRequest, StoriesEngine, WindowEntry
from .features import FEATURES_VERSION, StoryFeatures, featurize_for, figure_values, source_of
from .remote import EngineError, EngineProcess
from .summaries import KnownStories, StorySummary

log = get_logger(__name__)

_RECENT = 1024
_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class StoryInput:
    """What the featurizer passes on in ``process`` mode: the cheap parts, and the
    key under which the engine process is featurizing the article ahead."""

    mention_terms: tuple[str, ...]
    figures: tuple[str, ...] | None
    ahead: int | None = None
    features: StoryFeatures | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """What the stage decided for one article (or one sighting of it).

    Later hooks in the same transaction (the rules) read it through
    :meth:`StoriesStage.assignment` to say "N outlets report X".
    """

    article_id: int
    story_id: int
    new_story: bool
    score: float
    reason: str
    source: str
    new_source: bool
    matched_article_id: int | None = None
    copy_of: int | None = None
    copy: CopyVerdict | None = None
    merged: tuple[int, ...] = ()
    sighting: bool = False


@dataclass(frozen=True, slots=True)
class _Posted:
    """A placement asked of the engine process ahead of the article's turn."""

    answer: asyncio.Future[Placed]
    request: PlaceRequest
    now: datetime


def _entry(row: SignatureRow) -> WindowEntry:
    return WindowEntry(
        article_id=row.article_id,
        story_id=row.story_id,
        at=datetime.fromisoformat(row.at).timestamp(),
        dated=row.dated,
        text_hash=row.text_hash,
        minhash=row.minhash,
        shingles=row.shingles,
        term_hashes=row.term_hashes,
        term_weights=row.term_weights,
        figures=row.figures,
        title=row.title,
        title_derived=row.title_derived,
        paragraphs=tuple(row.body.split("\n\n")),
        copies=row.copies,
        story_best_article_id=row.story_best_article_id,
    )


class StoriesStage:
    """Groups stored articles into stories and links copies (an ``ArticleHook``)."""

    def __init__(
        self,
        cfg: StoriesConfig | None = None,
        inboxes: Sequence[Path] = (),
        cpus: frozenset[int] | None = None,
    ) -> None:
        """``cpus``: where the engine process runs (``engine = "process"``), if pinned."""
        self.cfg = cfg if cfg is not None else StoriesConfig()
        self.inboxes = tuple(PurePath(os.path.abspath(p)) for p in inboxes)
        self._engine: StoriesEngine | None = None
        self._remote: EngineProcess | None = None
        if self.cfg.engine == "process":
            self._remote = EngineProcess(self.cfg, cpus)
        else:
            self._engine = StoriesEngine(self.cfg)
        self._stale = True
        self._keys = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._recent: OrderedDict[int, Assignment] = OrderedDict()
        self._placements: list[Placement] = []
        self._posted: dict[int, _Posted] = {}
        self._copies: list[CopyLink] = []
        self._known = KnownStories()
        self.counts: dict[str, int] = {
            "articles": 0,
            "sightings": 0,
            "copies": 0,
            "joined": 0,
            "new_stories": 0,
            "merges": 0,
            "reloads": 0,
            "placed_ahead": 0,
        }

    # -- the worker-thread part ------------------------------------------------------
    @property
    def featurize_is_cheap(self) -> bool:
        """True when the engine runs apart: :meth:`featurize` then only sends the article on."""
        return self._remote is not None

    def featurize(
        self, article: Article, figures: Sequence[Figure], mentions: Sequence[Mention]
    ) -> StoryFeatures | StoryInput:
        """The pipeline's featurizer (runs in the ingest worker threads).

        With the engine in its own process: only the terms and figure
        values, and the article is sent ahead to the engine, which computes
        the features and retrieves the candidates while the article waits
        for the writer, without taking this process's interpreter lock.
        Inline: the full features here, and the retrieval of candidates is
        scheduled on the event loop, where it runs before the article's turn.
        Either way the writer's wait for a placement stays short.
        """
        remote = self._remote
        if remote is not None:
            terms = tuple(m.term for m in mentions)
            values = figure_values(figures) if figures else None
            key = next(self._keys)
            published = article.published.timestamp() if article.published else None
            job = FeatureJob(
                key,
                article.title,
                article.paragraphs,
                terms,
                values,
                published,
                article.date_estimated,
                time.time(),
            )
            return StoryInput(terms, values, key if remote.post("ahead", job) else None)
        feats = featurize_for(self.cfg, article, figures, mentions)
        loop = self._loop
        if loop is None or loop.is_closed():
            return feats
        key = next(self._keys)
        published = article.published.timestamp() if article.published else None
        try:
            loop.call_soon_threadsafe(
                self._prepare_ahead,
                key,
                feats,
                article.paragraphs,
                published,
                article.date_estimated,
                time.time(),
            )
        except RuntimeError:  # the loop is closing
            return feats
        return StoryInput((), None, key, feats)

    def _prepare_ahead(
        self,
        key: int,
        feats: StoryFeatures,
        paragraphs: tuple[str, ...],
        published: float | None,
        date_estimated: bool,
        now: float,
    ) -> None:
        """On the event loop, between other work: retrieve the article's candidates
        before its turn in the writer comes."""
        engine = self._engine
        if engine is not None and not self._stale:
            engine.prepare_ahead(key, feats, paragraphs, published, date_estimated, now)

    # -- start and stop -------------------------------------------------------------
    async def load(self, store: StoriesMixin) -> int:
        """Rebuild the hot window from the store; returns its size.

        Call once before the writer starts (and after a restart: the window
        is read back from the store, so nothing learnt is lost).
        """
        self._loop = asyncio.get_running_loop()
        rows = await store.story_window(self.cfg.window_days * _DAY)
        hot = await self._load_entries([_entry(r) for r in rows])
        log.info("stories_loaded", hot_articles=hot, engine=self.cfg.engine)
        return hot

    def close(self) -> None:
        """Stop the engine process, if there is one."""
        if self._remote is not None:
            self._remote.stop()

    async def _rebuild(self, db: aiosqlite.Connection) -> int:
        since, _ = await window_start(db, self.cfg.window_days * _DAY)
        entries = [_entry(r) for r in await window_rows(db, since)] if since else []
        return await self._load_entries(entries)

    async def _load_entries(self, entries: list[WindowEntry]) -> int:
        if self._remote is not None:
            try:
                if not self._remote.alive:
                    self._remote.start()
                hot = int(await self._remote.call("load", entries))
            except (EngineError, OSError, RuntimeError):
                self._fall_back()
            else:
                self._stale = False
                return hot
        assert self._engine is not None
        hot = self._engine.load(entries)
        self._stale = False
        return hot

    def _fall_back(self) -> None:
        """Run the engine in this process from now on (the engine process failed).

        Slower, but no article waits on a process that cannot run (a
        program whose main module is not import-safe breaks ``spawn``).
        """
        log.error("stories_engine_process_failed", exc_info=True, fallback="inline")
        if self._remote is not None:
            self._remote.kill()
        self._remote = None
        self._engine = StoriesEngine(self.cfg)
        self._stale = True

    async def _reload(self, db: aiosqlite.Connection) -> None:
        # The engine placed the articles sent ahead against the window being
        # replaced: they are placed again, after it.
        self._drop_posted()
        await self.flush(db)
        self._known.clear()
        hot = await self._rebuild(db)
        self.counts["reloads"] += 1
        log.info("stories_reloaded", hot_articles=hot)

    async def stats(self) -> dict[str, Any]:
        """Counters and the hot window's size, for metrics and status."""
        out: dict[str, Any] = dict(self.counts)
        if self._remote is not None and self._remote.alive and not self._stale:
            out.update(await self._remote.call("stats"))
        elif self._engine is not None:
            out.update(self._engine.stats())
        return out

    # -- the hook ---------------------------------------------------------------------
    def rolled_back(self) -> None:
        self._stale = True
        self._drop_posted()
        self._known.clear()
        self._recent.clear()
        self._placements.clear()
        self._copies.clear()

    async def before_commit(self, db: aiosqlite.Connection) -> None:
        await self.flush(db)

    async def flush(self, db: aiosqlite.Connection) -> None:
        """Write the placements held back since the last flush.

        Placements are written a batch at a time, not one by one: each
        statement is a round trip to the database thread, and the writer is
        the pipeline's one serial part. Whatever reads the story tables
        inside the transaction (a sighting's story, the rules' story lookup,
        a merge or a rename, a reload) flushes first, so it never misses one.
        """
        try:
            if self._copies:
                await record_copies(db, self._copies)
            if self._placements:
                await place_articles(db, self._placements)
        except BaseException:
            self._stale = True
            raise
        self._copies.clear()
        self._placements.clear()

    def assignment(self, article_id: int) -> Assignment | None:
        """The decision for an article placed recently (in this transaction or just before)."""
        return self._recent.get(article_id)

    async def story_of(self, db: aiosqlite.Connection, article_id: int) -> StorySummary | None:
        """The story an article is in, as of this transaction (for the rules stage).

        Mostly from memory (:mod:`.summaries`): the rules ask this of every
        article, and the stage made every change the answer reflects.
        """
        placed = self._recent.get(article_id)
        if placed is not None:
            known = self._known.get(placed.story_id)
            if known is not None:
                return known
        await self.flush(db)
        row = await story_summary_row(db, article_id)
        if row is None:
            return None
        story_id, title, count, sources = row
        return self._known.seed(story_id, title, count, sources)

    def article_inserted(self, article_id: int, record: RecordToStore, path: str) -> None:
        """Send the article to the engine process now, to be placed while the
        writer inserts the rest of the batch; :meth:`article_stored` takes the answer.

        The engine places requests in the order they come, which is the
        order the hooks will see the articles in. Only with an engine
        process that is up to date: otherwise the article is placed in its turn.
        """
        remote = self._remote
        if remote is None or self._stale or not remote.alive:
            return
        now = utcnow()
        request = self._request(article_id, record, now)
        self._posted[article_id] = _Posted(remote.submit("place", request), request, now)

    def _drop_posted(self) -> None:
        for posted in self._posted.values():
            posted.answer.cancel()
        self._posted.clear()

    async def article_stored(
        self, db: aiosqlite.Connection, article_id: int, record: RecordToStore, path: str
    ) -> None:
        if self._stale:
            await self._reload(db)
        posted = self._posted.pop(article_id, None)
        try:
            await self._place(db, article_id, record, path, posted)
        except BaseException:
            self._stale = True
            raise

    async def article_seen_again(
        self, db: aiosqlite.Connection, article_id: int, record: RecordToStore, path: str
    ) -> None:
        """A byte-identical file: a new sighting, perhaps from a new source; no new article."""
        try:
            await self.flush(db)
            story_id = await story_id_of(db, article_id)
            if story_id is None:
                # Stored before this stage ran: place it now. Articles sent
                # ahead are in the engine's window already, and this one
                # comes first: start the window again from the store.
                if self._posted:
                    self._stale = True
                if self._stale:
                    await self._reload(db)
                await self._place(db, article_id, record, path)
                return
            now = iso(utcnow()) or ""
            source = source_of(record.article, path, self.inboxes)
            new_source = await record_sighting(db, article_id, story_id, source, now)
        except BaseException:
            self._stale = True
            raise
        if new_source:
            self._known.sighted(story_id, source, now)
        self.counts["sightings"] += 1
        reason = "seen again" + (f" from a new source ({source})" if new_source else "")
        self._remember(
            Assignment(article_id, story_id, False, 1.0, reason, source, new_source, sighting=True)
        )

    # -- placing one article ------------------------------------------------------------
    def _request(self, article_id: int, record: RecordToStore, now: datetime) -> PlaceRequest:
        a = record.article
        f = record.features
        features = f if isinstance(f, StoryFeatures) and f.version == FEATURES_VERSION else None
        ahead = None
        if isinstance(f, StoryInput):
            terms, figures, ahead = f.mention_terms, f.figures, f.ahead
            if f.features is not None and f.features.version == FEATURES_VERSION:
                features = f.features
        else:
            terms = tuple(m.term for m in record.mentions)
            figures = figure_values(record.figures) if record.figures else None
        return PlaceRequest(
            article_id=article_id,
            title=a.title,
            title_derived=a.title_derived,
            paragraphs=a.paragraphs,
            published=a.published.timestamp() if a.published is not None else None,
            date_estimated=a.date_estimated,
            now=now.timestamp(),
            features=features,
            mention_terms=terms,
            figures=figures,
            ahead=ahead,
        )

    async def _decide(
        self,
        db: aiosqlite.Connection,
        req: PlaceRequest,
        answer: asyncio.Future[Placed] | None = None,
    ) -> Placed:
        """The engine's placement: ``answer`` when it was asked for ahead, else asked now."""
        if self._remote is not None:
            try:
                placed: Placed = await (
                    answer if answer is not None else self._remote.call("place", req)
                )
            except EngineError:
                self._fall_back()
                # The writer's connection sees this transaction's placements too.
                await self._reload(db)
            else:
                self.counts["placed_ahead"] += answer is not None
                return placed
        assert self._engine is not None
        return self._engine.place(req)

    async def _place(
        self,
        db: aiosqlite.Connection,
        article_id: int,
        record: RecordToStore,
        path: str,
        posted: _Posted | None = None,
    ) -> None:
        if posted is not None:
            answer: asyncio.Future[Placed] | None = posted.answer
            req, now_dt = posted.request, posted.now
        else:
            answer, now_dt = None, utcnow()
            req = self._request(article_id, record, now_dt)
        now = iso(now_dt) or ""
        source = source_of(record.article, path, self.inboxes)
        p = await self._decide(db, req, answer)
        feats = p.features
        if p.copy_of is not None and p.copy is not None:
            v = p.copy
            self._copies.append(
                CopyLink(
                    article_id,
                    p.copy_of,
                    v.kind,
                    v.method,
                    v.similarity,
                    v.containment,
                    v.aligned,
                    v.figures_overlap,
                )
            )
        self._placements.append(
            Placement(
                article_id=article_id,
                story_id=p.story_id,
                score=p.score,
                reason=p.reason,
                matched_article_id=p.matched,
                source=source,
                at=iso(datetime.fromtimestamp(p.at, UTC)) or now,
                dated=p.dated,
                joined_at=now,
                version=feats.version,
                text_hash=feats.text_hash,
                minhash=feats.minhash,
                shingles=feats.shingles,
                term_hashes=feats.term_hashes,
                term_weights=feats.term_weights,
                figures=feats.figures,
            )
        )
        if p.merge or p.renamed is not None:
            await self.flush(db)
        if p.merge:
            await merge_stories(db, p.story_id, p.merge, now)
        if p.renamed is not None:
            await rename_story(db, p.story_id, p.renamed, now)
        self._mirror(p, article_id, record.article.title, source, now)

        self.counts["articles"] += 1
        self.counts["copies"] += p.copy_of is not None
        self.counts["new_stories"] += p.new_story
        self.counts["joined"] += not p.new_story
        self.counts["merges"] += len(p.merge)
        self._remember(
            Assignment(
                article_id,
                p.story_id,
                p.new_story,
                p.score,
                p.reason,
                source,
                True,
                p.matched,
                p.copy_of,
                p.copy,
                p.merge,
            )
        )

    def _mirror(self, p: Placed, article_id: int, title: str, source: str, now: str) -> None:
        """Keep :attr:`_known` as the store now has the story: what a merge or a
        title taken from another article did is left to be read back."""
        known = self._known
        if p.new_story:
            known.opened(p.story_id, title, source, now)
        else:
            known.joined(p.story_id, source, now)
        if p.merge:
            known.forget((p.story_id, *p.merge))
        elif p.renamed == article_id:
            known.retitled(p.story_id, title)
        elif p.renamed is not None:
            known.forget((p.story_id,))

    def _remember(self, a: Assignment) -> None:
        self._recent[a.article_id] = a
        self._recent.move_to_end(a.article_id)
        while len(self._recent) > _RECENT:
            self._recent.popitem(last=False)
