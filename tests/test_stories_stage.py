"""The stories stage end to end: the engine, the hook in the store's transaction, the CLI."""

from __future__ import annotations

import argparse
import hashlib
import itertools
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from conftest import seed_files
from wirewatch.config import ExtractConfig
from wirewatch.extract.extractor import build_extractor
from wirewatch.ingest import BatchWriter, Pipeline
from wirewatch.models import Article
from wirewatch.parse import parse_bytes
from wirewatch.store import FileToStore, RecordToStore, Store
from wirewatch.store.stories import story_summary_row
from wirewatch.stories import StoriesConfig, StoriesStage
from wirewatch.stories.commands import add_commands, story_of_article
from wirewatch.stories.engine import FeatureJob, PlaceRequest, StoriesEngine
from wirewatch.stories.features import featurize, figure_values
from wirewatch.stories.remote import EngineError, EngineProcess
from wirewatch.stories.summaries import KnownStories, StorySummary

SEED_MTIME = datetime(2022, 2, 5, 12, tzinfo=UTC)
WATCHLIST = {"Zelensky": ["Zelenskiy"], "Kyiv": ["Kiev"], "Putin": ["Vladimir Putin"], "NATO": []}


StoryStore = Store


@cache
def extractor() -> Any:
    return build_extractor(ExtractConfig(watchlist=WATCHLIST))


def record_of(data: bytes, name: str, mtime: datetime = SEED_MTIME) -> RecordToStore:
    parsed = parse_bytes(data, name=name, mtime=mtime)[0]
    figures, mentions = extractor()(parsed.article)
    sha = hashlib.sha256(data).hexdigest()
    return RecordToStore(sha, parsed.article, figures, mentions)


@cache
def seed_records() -> dict[str, RecordToStore]:
    return {p.name: record_of(p.read_bytes(), p.name) for p in seed_files()}


def request(article_id: int, a: Article, rec: RecordToStore) -> PlaceRequest:
    return PlaceRequest(
        article_id=article_id,
        title=a.title,
        title_derived=a.title_derived,
        paragraphs=a.paragraphs,
        published=a.published.timestamp() if a.published else None,
        date_estimated=a.date_estimated,
        now=SEED_MTIME.timestamp(),
        features=featurize(a, rec.figures, rec.mentions),
    )


# -- the engine alone ----------------------------------------------------------------------


def test_the_five_seeds_are_one_story_in_every_arrival_order() -> None:
    seeds = list(seed_records().items())
    reqs = [request(i + 1, rec.article, rec) for i, (_, rec) in enumerate(seeds)]
    names = {i + 1: name[:3] for i, (name, _) in enumerate(seeds)}
    for order in itertools.permutations(range(len(reqs))):
        engine = StoriesEngine(StoriesConfig(engine="inline"))
        placed = [engine.place(reqs[i]) for i in order]
        story = {p.article_id: p.story_id for p in placed}
        for p in placed:
            for merged in p.merge:
                story = {a: (p.story_id if s == merged else s) for a, s in story.items()}
        assert len(set(story.values())) == 1, (order, story)
        copies = {(names[p.article_id], names[p.copy_of]) for p in placed if p.copy_of}
        assert copies in ({("004", "001")}, {("001", "004")}), (order, copies)


def test_work_done_ahead_gives_the_same_decisions() -> None:
    """Features and candidates prepared before an article's turn, while others
    are placed in between, lead to what placing from scratch leads to."""
    seeds = list(seed_records().values())
    plain = StoriesEngine(StoriesConfig(engine="inline"))
    ahead = StoriesEngine(StoriesConfig(engine="inline"))
    for i, rec in enumerate(seeds, start=1):
        a = rec.article
        terms = tuple(m.term for m in rec.mentions)
        figures = figure_values(rec.figures) if rec.figures else None
        published = a.published.timestamp() if a.published else None
        now = SEED_MTIME.timestamp()
        job = FeatureJob(i, a.title, a.paragraphs, terms, figures, published, a.date_estimated, now)
        ahead.enqueue(job)
    while ahead.has_work_ahead:
        ahead.work_ahead()
    for i, rec in enumerate(seeds, start=1):
        req = request(i, rec.article, rec)
        want = plain.place(req)
        got = ahead.place(replace(req, features=None, ahead=i))
        assert (got.story_id, got.copy_of, got.merge) == (want.story_id, want.copy_of, want.merge)
        assert abs(got.score - want.score) < 0.05
    assert ahead.ahead_used == len(seeds)


# -- the stage with a store ----------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StoryStore]:
    s = await StoryStore.open(tmp_path / "var" / "w.db")
    yield s
    await s.close()


def file_of(path: str, rec: RecordToStore) -> FileToStore:
    return FileToStore(path, rec.sha256, 1, 0, [rec])


class LaterHook:
    """A hook after the stage in the same transaction (as the rules are); the
    tests' hooks say only what they do with a stored article."""

    def article_inserted(self, *args: object) -> None:
        return None

    async def article_seen_again(self, *args: object) -> None:
        return None

    async def before_commit(self, *args: object) -> None:
        return None

    def rolled_back(self) -> None:
        return None


async def place_seeds(
    store: StoryStore, stage: StoriesStage, names: list[str], folder: str = "/inbox"
) -> None:
    recs = seed_records()
    for name in names:
        rec = recs[name]
        feats = stage.featurize(rec.article, rec.figures, rec.mentions)
        rec = RecordToStore(rec.sha256, rec.article, rec.figures, rec.mentions, feats)
        await store.store_files([file_of(f"{folder}/{name}", rec)], [stage])


async def test_seeds_through_the_hook_make_one_story_with_its_copy(store: StoryStore) -> None:
    stage = StoriesStage(StoriesConfig(engine="inline"), inboxes=[Path("/inbox")])
    await stage.load(store)
    names = sorted(seed_records())
    await place_seeds(store, stage, names)
    counts = await store.story_counts()
    assert counts["stories"] == 1 and counts["articles_in_stories"] == 5
    assert counts["copies"] == 1
    [story] = await store.recent_stories()
    assert story["articles"] == 5
    assert story["sources"] == 4  # AFP (001, 004), Reuters (002), 000, 003
    detail = await store.story_detail(story["id"])
    assert detail is not None
    copies = [a for a in detail["articles"] if a["copy_of"] is not None]
    assert len(copies) == 1 and copies[0]["copy_kind"] == "near"
    troops = [f for f in detail["figures"] if f["low"] == 100_000]
    assert troops and troops[0]["sources"] == 4
    # "13,000 people" (Reuters, AFP) and "13,000 folks" (003's paraphrase) are one figure.
    (killed,) = [f for f in detail["figures"] if f["low"] == 13_000]
    assert (killed["unit"], killed["sources"]) == ("people", 3)
    assert any(t["term"] == "Putin" and t["sources"] == 4 for t in detail["terms"])
    # What inspect shows for one of them.
    sha = seed_records()[names[4]].sha256
    found = await story_of_article(store, sha)
    assert found is not None and found["story_id"] == story["id"]
    assert "copy" in found["reason"] and found["copy_method"] == "aligned"
    # The rules stage's view, through the writer's kind of connection.
    db = await aiosqlite.connect(store.path)
    try:
        summary = await stage.story_of(db, 1)
    finally:
        await db.close()
    assert summary is not None and summary.id == story["id"] and len(summary.sources) == 4


async def test_a_byte_identical_file_is_a_sighting_not_an_article(store: StoryStore) -> None:
    stage = StoriesStage(StoriesConfig(engine="inline"), inboxes=[Path("/inbox")])
    await stage.load(store)
    rec = seed_records()[sorted(seed_records())[1]]
    await store.store_files([file_of("/inbox/afp/one.txt", rec)], [stage])
    await store.store_files([file_of("/inbox/afp/again.txt", rec)], [stage])
    await store.store_files([file_of("/inbox/other-desk/copy.txt", rec)], [stage])
    counts = await store.counts()
    assert counts["articles"] == 1 and counts["sightings"] == 3
    seen = stage.assignment(1)
    assert seen is not None and seen.sighting
    [story] = await store.recent_stories()
    assert story["articles"] == 1
    assert story["sources"] == 1  # the AFP hint names the source of all three files


async def test_placements_held_back_in_a_batch_are_seen_by_whatever_reads_them(
    store: StoryStore,
) -> None:
    """Placements are written at the batch's end, yet a sighting in the same
    batch, and a later hook asking for an article's story, find them."""
    stage = StoriesStage(StoriesConfig(engine="inline"), inboxes=[Path("/inbox")])
    await stage.load(store)
    seen: dict[int, tuple[int, ...] | None] = {}

    class StoryReader(LaterHook):
        async def article_stored(self, db: Any, article_id: int, *args: object) -> None:
            summary = await stage.story_of(db, article_id)
            seen[article_id] = None if summary is None else (summary.id, len(summary.sources))

    names = sorted(seed_records())
    recs = seed_records()
    # a sighting of an article placed earlier in the same batch
    await store.store_files(
        [file_of(f"/inbox/{names[0]}", recs[names[0]]), file_of("/inbox/d/a.txt", recs[names[0]])],
        [stage],
    )
    again = stage.assignment(1)
    assert again is not None and again.sighting and again.story_id == 1
    # a later hook reading each article's story right after it was placed
    await store.store_files(
        [file_of(f"/inbox/{n}", recs[n]) for n in names[1:]], [stage, StoryReader()]
    )
    counts = await store.story_counts()
    assert counts["stories"] == 1 and counts["articles_in_stories"] == 5
    assert sorted(seen) == [2, 3, 4, 5]
    assert all(v is not None and v[0] == 1 for v in seen.values())
    assert seen[5] == (1, 5)  # the four outlets of the seeds, and the sighting's folder


class SummaryChecker(LaterHook):
    """A later hook (as the rules are) that asks each article's story of the stage,
    then compares the answer with the store's own, read after a flush."""

    def __init__(self, stage: StoriesStage) -> None:
        self.stage = stage
        self.asked: list[StorySummary] = []
        self.store_reads = 0
        self._counting = False

    def _trace(self, sql: str) -> None:
        if self._counting and "GROUP BY src.source" in sql:
            self.store_reads += 1

    async def article_stored(
        self, db: aiosqlite.Connection, article_id: int, *args: object
    ) -> None:
        await db.set_trace_callback(self._trace)
        self._counting = True
        got = await self.stage.story_of(db, article_id)
        self._counting = False
        await self.stage.flush(db)
        row = await story_summary_row(db, article_id)
        assert row is not None and got is not None
        story_id, title, count, sources = row
        assert got == StorySummary(story_id, title, tuple(s for s, _ in sources), count)
        self.asked.append(got)


@pytest.mark.parametrize(
    "order",
    [(0, 1, 2, 3, 4), (0, 2, 1, 3, 4), (1, 2, 0, 3, 4)],
    ids=["titled-by-newcomers", "titled-by-an-earlier-article", "two-stories-merged"],
)
async def test_the_story_the_rules_see_is_the_stores_without_asking_it_each_time(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    """The stage answers the rules' question from memory, and the answer is the
    store's, through new stories, joins, sightings from new sources, a title
    taken from an earlier article and a merge, within a batch and across."""
    recs = seed_records()
    names = sorted(recs)
    store = await StoryStore.open(tmp_path / "w.db")
    stage = StoriesStage(StoriesConfig(engine="inline"), inboxes=[Path("/inbox")])
    checker = SummaryChecker(stage)
    try:
        await stage.load(store)
        arrival = [names[i] for i in order]
        batch = [file_of(f"/inbox/{n}", recs[n]) for n in arrival[:3]]
        # 000 (among the first three; no agency credit) seen again from a desk
        # of its own, in the same batch
        batch.append(file_of(f"/inbox/desk/{names[0]}", recs[names[0]]))
        await store.store_files(batch, [stage, checker])
        for n in arrival[3:]:
            await store.store_files([file_of(f"/inbox/wire/{n}", recs[n])], [stage, checker])
    finally:
        await store.close()
    assert len(checker.asked) == 5
    last = checker.asked[-1]
    assert last.articles == 5 and "desk" in last.sources and "wire" in last.sources
    # The store was read only where the stage could not follow: after a merge or
    # a title taken from an earlier article.
    assert checker.store_reads <= 1


def test_known_stories_order_sources_as_the_store_does_and_stay_bounded() -> None:
    known = KnownStories(limit=2)
    known.opened(1, "Troops massed", "reuters", "2022-02-05T12:00:00")
    known.joined(1, "afp", "2022-02-05T12:00:00")  # same time: by name
    known.joined(1, "reuters", "2022-02-05T13:00:00")  # already there, earlier
    known.sighted(1, "desk", "2022-02-05T11:00:00")  # earlier than all
    assert known.get(1) == StorySummary(1, "Troops massed", ("desk", "afp", "reuters"), 3)
    known.retitled(1, "Troops pull back")
    known.opened(2, "Other", "bbc", "2022-02-06T00:00:00")
    assert known.get(1) is not None  # used last, so 2 is the oldest now
    known.opened(3, "Third", "bbc", "2022-02-06T00:00:00")
    assert known.get(2) is None and len(known) == 2
    summary = known.get(1)
    assert summary is not None and summary.title == "Troops pull back"
    known.forget([1])
    assert known.get(1) is None


async def test_the_window_is_read_back_after_a_restart(tmp_path: Path) -> None:
    names = sorted(seed_records())
    path = tmp_path / "w.db"
    store = await StoryStore.open(path)
    stage = StoriesStage(StoriesConfig(engine="inline"))
    assert await stage.load(store) == 0
    await place_seeds(store, stage, names[:3])
    await store.close()

    store = await StoryStore.open(path)
    stage = StoriesStage(StoriesConfig(engine="inline"))
    try:
        assert await stage.load(store) == 3
        await place_seeds(store, stage, names[3:])
        counts = await store.story_counts()
    finally:
        await store.close()
    assert counts["stories"] == 1 and counts["articles_in_stories"] == 5


async def test_a_rolled_back_batch_leaves_no_trace_in_the_window(store: StoryStore) -> None:
    stage = StoriesStage(StoriesConfig(engine="inline"))
    await stage.load(store)
    names = sorted(seed_records())
    await place_seeds(store, stage, names[:1])

    class Boom(LaterHook):
        async def article_stored(self, *args: object) -> None:
            raise RuntimeError("a later hook failed")

    rec = seed_records()[names[1]]
    with pytest.raises(RuntimeError):
        await store.store_files([file_of("/inbox/x.txt", rec)], [stage, Boom()])
    assert (await store.counts())["articles"] == 1
    await place_seeds(store, stage, names[1:])
    assert stage.counts["reloads"] == 1
    counts = await store.story_counts()
    assert counts["stories"] == 1 and counts["articles_in_stories"] == 5


async def test_the_engine_process_gives_the_same_stories(store: StoryStore) -> None:
    stage = StoriesStage(StoriesConfig(engine="process"))
    try:
        await stage.load(store)
        await place_seeds(store, stage, sorted(seed_records()))
        stats = await stage.stats()
    finally:
        stage.close()
    counts = await store.story_counts()
    assert counts["stories"] == 1 and counts["copies"] == 1
    assert stats["hot_articles"] == 5


async def test_a_dead_engine_process_is_replaced_by_the_inline_engine(store: StoryStore) -> None:
    import os
    import signal

    stage = StoriesStage(StoriesConfig(engine="process"))
    names = sorted(seed_records())
    try:
        await stage.load(store)
        await place_seeds(store, stage, names[:2])
        pid = stage._remote.pid if stage._remote else None
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await place_seeds(store, stage, names[2:])
    finally:
        stage.close()
    assert stage._remote is None  # running inline from now on
    counts = await store.story_counts()
    assert counts["stories"] == 1 and counts["articles_in_stories"] == 5


class BatchReader(LaterHook):
    """A later hook (as the rules are) that notes each article's story and, at the
    batch's first article, asks the engine for its counts."""

    def __init__(self, stage: StoriesStage, explode: bool = False) -> None:
        self.stage = stage
        self.explode = explode
        self.first_stats: dict[str, Any] | None = None
        self.stories: dict[int, tuple[int, int]] = {}

    async def article_stored(
        self, db: aiosqlite.Connection, article_id: int, *args: object
    ) -> None:
        if self.explode:
            raise RuntimeError("disk on fire")
        if self.first_stats is None:
            self.first_stats = await self.stage.stats()
        summary = await self.stage.story_of(db, article_id)
        assert summary is not None
        self.stories[article_id] = (summary.id, len(summary.sources))


async def store_batch(
    store: StoryStore, stage: StoriesStage, names: list[str], explode: bool = False
) -> BatchReader:
    """The seeds ``names`` as one batch, as the writer stores a backlog."""
    recs = seed_records()
    files = []
    for name in names:
        rec = recs[name]
        feats = stage.featurize(rec.article, rec.figures, rec.mentions)
        rec = RecordToStore(rec.sha256, rec.article, rec.figures, rec.mentions, feats)
        files.append(file_of(f"/inbox/{name}", rec))
    reader = BatchReader(stage, explode)
    await store.store_files(files, [stage, reader])
    return reader


async def test_the_engine_process_places_a_batch_ahead_and_decides_as_inline(
    tmp_path: Path,
) -> None:
    """With the engine in its own process, a batch's placements are asked for as
    its rows go in, and answered in order: the first article's hook finds
    the whole batch placed, and every decision is the inline engine's."""
    names = sorted(seed_records())
    outcome = {}
    for mode in ("inline", "process"):
        store = await Store.open(tmp_path / mode / "w.db")
        stage = StoriesStage(StoriesConfig(engine=mode), inboxes=[Path("/inbox")])
        try:
            await stage.load(store)
            reader = await store_batch(store, stage, names)
            # a request among placements still in flight gets its own answer
            stats = await stage.stats()
        finally:
            stage.close()
        decisions = {}
        for article_id in range(1, 6):
            a = stage.assignment(article_id)
            assert a is not None
            decisions[article_id] = (a.story_id, a.new_story, a.copy_of, a.matched_article_id)
        counts = await store.story_counts()
        await store.close()
        assert counts["stories"] == 1 and counts["copies"] == 1
        assert stats["hot_articles"] == 5
        assert reader.first_stats is not None
        outcome[mode] = (decisions, reader.stories, reader.first_stats["hot_articles"], stage)
    inline, process = outcome["inline"], outcome["process"]
    assert process[0] == inline[0]
    assert process[1] == inline[1]
    assert inline[2] == 1  # inline, placed one by one in the hooks' turn
    assert process[2] == 5  # the engine process had placed the whole batch
    assert process[3].counts["placed_ahead"] == 5
    assert inline[3].counts["placed_ahead"] == 0


async def test_a_rolled_back_batch_with_placements_in_flight_keeps_the_engine_in_step(
    store: StoryStore,
) -> None:
    """The engine placed the whole batch ahead, then the transaction failed: its
    window is rebuilt from the store, and the unread answers never reach a
    later request."""
    stage = StoriesStage(StoriesConfig(engine="process"), inboxes=[Path("/inbox")])
    names = sorted(seed_records())
    try:
        await stage.load(store)
        with pytest.raises(RuntimeError, match="disk on fire"):
            await store_batch(store, stage, names[:3], explode=True)
        assert stage._remote is not None and stage._remote.starts == 1
        await store_batch(store, stage, names[:3])
        await store_batch(store, stage, names[3:])
        stats = await stage.stats()
    finally:
        stage.close()
    assert stage._remote is not None and stage._remote.starts == 1  # the same process
    assert stage.counts["reloads"] == 1
    assert stats["hot_articles"] == 5  # not 8: the rolled-back three left the window
    counts = await store.story_counts()
    assert counts["stories"] == 1 and counts["articles_in_stories"] == 5
    assert counts["copies"] == 1


async def test_engine_answers_reach_their_requests_in_order() -> None:
    """Requests in flight are answered first in, first out; a failed one fails
    alone and an abandoned one's answer is dropped, not handed to the next."""
    remote = EngineProcess(StoriesConfig(engine="process"))
    remote.start()
    try:
        first = remote.submit("stats")
        bad = remote.submit("nonsense")
        dropped = remote.submit("load", [])
        dropped.cancel()
        last = remote.submit("stats")
        assert remote.in_flight == 4
        assert (await first)["hot_articles"] == 0
        with pytest.raises(EngineError, match="unknown request 'nonsense'"):
            await bad
        assert (await last)["hot_articles"] == 0  # the load's answer (0) went nowhere
        assert remote.in_flight == 0 and remote.alive
    finally:
        remote.stop()
    assert not remote.alive
    with pytest.raises(EngineError, match="not running"):
        await remote.call("stats")


async def test_articles_outside_the_window_never_share_a_story(store: StoryStore) -> None:
    stage = StoriesStage(StoriesConfig(engine="inline", window_days=2))
    await stage.load(store)
    recs = seed_records()
    names = sorted(recs)
    # 004 (dated 2022-01-30) and 000 (dated 2022-02-04) are five days apart.
    await place_seeds(store, stage, [names[4], names[0]])
    counts = await store.story_counts()
    assert counts["stories"] == 2


async def test_pipeline_wiring_with_featurizer_and_hook(tmp_path: Path, store: StoryStore) -> None:
    import asyncio

    stage = StoriesStage(StoriesConfig(engine="inline"), inboxes=[tmp_path / "inbox"])
    await stage.load(store)
    writer = BatchWriter(store, 50, hooks=[stage])
    task = asyncio.create_task(writer.run())
    inbox = tmp_path / "inbox"
    (inbox / "afp").mkdir(parents=True)
    pipeline = Pipeline(
        store=store,
        writer=writer,
        after_store="keep",
        processed_dir=tmp_path / "processed",
        quarantine_dir=tmp_path / "quarantine",
        max_bytes=1 << 20,
        extractor=extractor(),
        featurizer=stage.featurize,
    )
    try:
        for seed in seed_files():
            shutil.copy(seed, inbox / seed.name)
            assert await pipeline.process(inbox / seed.name, inbox) == "stored"
        shutil.copy(seed_files()[0], inbox / "afp" / "again.txt")
        assert await pipeline.process(inbox / "afp" / "again.txt", inbox) == "duplicate"
    finally:
        task.cancel()
    [story] = await store.recent_stories()
    assert story["articles"] == 5
    assert story["sources"] == 5  # 000 was also seen in the afp folder


# -- the commands --------------------------------------------------------------------------


def test_stories_and_story_commands(
    tmp_path: Path, store: StoryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    async def fill() -> None:
        stage = StoriesStage(StoriesConfig(engine="inline"))
        await stage.load(store)
        await place_seeds(store, stage, sorted(seed_records()))

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(fill())
    finally:
        loop.close()
    cfg = tmp_path / "wirewatch.toml"
    cfg.write_text(f'[store]\ndatabase = "{store.path}"\n')
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path)
    add_commands(parser.add_subparsers(dest="command"))

    args = parser.parse_args(["--config", str(cfg), "stories"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "Biden to send troops" in out and "1 stories" in out

    args = parser.parse_args(["--config", str(cfg), "story", "1"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "5 articles from 4 sources" in out
    assert "Copies" in out and "near copy" in out
    assert "100,000 troops" in out

    args = parser.parse_args(["--config", str(cfg), "story", "999"])
    assert args.func(args) == 1


def test_config_rejects_a_merge_bar_below_the_join_bar() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        StoriesConfig(join_threshold=0.6, merge_threshold=0.5)
    with pytest.raises(ValidationError):
        StoriesConfig(window_dayz=3)  # type: ignore[call-arg]
