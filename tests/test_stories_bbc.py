"""The stories stage on the BBC corpus: duplicates, near copies, and stories that hold."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.stories import measure_copies
from test_stories_stage import StoryStore, extractor
from wirewatch.ingest import BatchWriter, Pipeline, ingest_paths
from wirewatch.stories import StoriesConfig, StoriesStage

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "bbc"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"BBC corpus not found at {CORPUS}")


@pytest.fixture(scope="module")
def bbc_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole corpus ingested once through the pipeline, with the stage."""
    root = tmp_path_factory.mktemp("bbc")
    files = sorted(p for p in CORPUS.rglob("*.txt") if p.name != "README.TXT")

    async def ingest() -> None:
        store = await StoryStore.open(root / "w.db")
        stage = StoriesStage(StoriesConfig(engine="inline"))
        try:
            await stage.load(store)
            pipeline = Pipeline(
                store=store,
                writer=BatchWriter(store, 200, hooks=[stage]),
                after_store="keep",
                processed_dir=root / "processed",
                quarantine_dir=root / "quarantine",
                max_bytes=1 << 20,
                extractor=extractor(),
                featurizer=stage.featurize,
            )
            await ingest_paths(pipeline, files, 2)
            assert pipeline.counts.stored == 2127 and pipeline.counts.duplicate == 98
        finally:
            stage.close()
            await store.close()

    asyncio.run(ingest())
    return root / "w.db"


@pytest.fixture
def db(bbc_db: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(bbc_db)
    yield conn
    conn.close()


def article_id(db: sqlite3.Connection, rel: str) -> int:
    row = db.execute("SELECT id FROM articles WHERE path = ?", (str(CORPUS / rel),)).fetchone()
    if row is None:  # stored under the name of an identical file
        row = db.execute(
            "SELECT article_id FROM sightings WHERE path = ?", (str(CORPUS / rel),)
        ).fetchone()
    assert row is not None, rel
    return int(row[0])


def story(db: sqlite3.Connection, rel: str) -> int:
    aid = article_id(db, rel)
    row = db.execute("SELECT story_id FROM story_articles WHERE article_id = ?", (aid,)).fetchone()
    assert row is not None
    return int(row[0])


def copy_pair(db: sqlite3.Connection, a: str, b: str) -> str | None:
    ia, ib = article_id(db, a), article_id(db, b)
    row = db.execute(
        "SELECT kind FROM copies WHERE (article_id, original_id) IN ((?, ?), (?, ?))",
        (ia, ib, ib, ia),
    ).fetchone()
    return None if row is None else str(row[0])


def test_identical_files_are_stored_once_and_seen_again(db: sqlite3.Connection) -> None:
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 2127
    assert db.execute("SELECT count(*) FROM sightings").fetchone()[0] == 2225
    assert db.execute("SELECT count(*) FROM story_articles").fetchone()[0] == 2127
    # every duplicate sits in its original's category, so no story gains a source by it
    assert db.execute("SELECT count(*) FROM article_sources").fetchone()[0] == 2127
    total = db.execute("SELECT sum(article_count) FROM stories WHERE merged_into IS NULL")
    assert total.fetchone()[0] == 2127


def test_edited_updated_and_trimmed_versions_are_linked(db: sqlite3.Connection) -> None:
    assert copy_pair(db, "tech/019.txt", "tech/329.txt") == "near"  # edited
    assert copy_pair(db, "politics/111.txt", "politics/293.txt") == "near"  # trimmed
    assert copy_pair(db, "sport/467.txt", "sport/471.txt") == "near"  # re-headlined
    assert copy_pair(db, "business/209.txt", "business/229.txt") == "near"  # updated
    assert copy_pair(db, "business/267.txt", "business/365.txt") == "exact"  # same words
    assert copy_pair(db, "sport/155.txt", "sport/259.txt") is None


def test_a_follow_up_sharing_background_sentences_is_no_copy(db: sqlite3.Connection) -> None:
    # "New delay hits EU software laws" repeats some sentences of "Reboot
    # ordered for EU patent law": the same developing story, not a copy.
    assert copy_pair(db, "tech/080.txt", "tech/030.txt") is None
    assert story(db, "tech/080.txt") == story(db, "tech/030.txt")


def test_edited_versions_of_corpus_articles_are_copies_in_the_original_story() -> None:
    result = measure_copies(CORPUS, originals=60, unrelated=0)
    assert result["originals"] == 60
    for kind, row in result["kinds"].items():
        assert row["versions"] == 60
        assert row["linked"] >= 57, kind
        assert row["joined"] >= 57, kind
    # Only the alignment of passages finds a translation.
    assert result["kinds"]["machine-translated"]["by"].get("aligned", 0) >= 57


def test_stories_join_one_event_and_keep_different_matches_apart(db: sqlite3.Connection) -> None:
    # the Glazer bid for Manchester United, reported by business and sport
    assert story(db, "business/293.txt") == story(db, "sport/124.txt")
    # the Greek sprinters' doping hearing, over many articles
    assert story(db, "sport/016.txt") == story(db, "sport/082.txt") == story(db, "sport/051.txt")
    # two different Liverpool matches are two stories
    assert story(db, "sport/155.txt") != story(db, "sport/259.txt")
    assert story(db, "sport/236.txt") != story(db, "sport/141.txt")


def test_story_counts_are_plausible(db: sqlite3.Connection) -> None:
    stories, in_multi = db.execute(
        "SELECT count(*), sum(CASE WHEN article_count > 1 THEN article_count ELSE 0 END)"
        " FROM stories WHERE merged_into IS NULL"
    ).fetchone()
    assert 1800 <= stories <= 2000
    assert 0.1 <= in_multi / 2127 <= 0.3
    biggest = db.execute("SELECT max(article_count) FROM stories").fetchone()[0]
    assert biggest <= 25
    # Sources of BBC files are their category folders: a story with two
    # sources spans two categories, and there must be only a handful of those.
    categories = db.execute(
        "SELECT sa.story_id, count(DISTINCT src.source) FROM story_articles sa"
        " JOIN article_sources src ON src.article_id = sa.article_id"
        " GROUP BY sa.story_id HAVING count(DISTINCT src.source) > 1"
    ).fetchall()
    assert 1 <= len(categories) <= 6
