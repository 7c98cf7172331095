"""The store on a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wirewatch.models import Article, Figure, Mention
from wirewatch.store import MIGRATIONS, FileToStore, RecordToStore, Store


def article(title: str = "Troops gather", body: str = "More than 100,000 troops.") -> Article:
    return Article(
        title=title,
        paragraphs=(body,),
        published=datetime(2022, 2, 4, tzinfo=UTC),
        source_hints=("AFP",),
    )


def file(path: str, sha: str, *records: RecordToStore) -> FileToStore:
    return FileToStore(path=path, file_sha256=sha, size=10, mtime_ns=1, records=records)


async def test_schema_is_migrated_and_durable(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        assert await store.schema_version() == len(MIGRATIONS)
    finally:
        await store.close()
    conn = sqlite3.connect(tmp_path / "w.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "sightings", "files", "quarantine", "figures", "mentions"} <= tables
    conn.close()
    # reopening an up-to-date database migrates nothing and keeps the data
    store = await Store.open(tmp_path / "w.db")
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "w.db")
    conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this wirewatch"):
        await Store.open(tmp_path / "w.db")


async def test_same_bytes_are_one_article_and_two_sightings(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        rec = RecordToStore("a" * 64, article())
        first, again, same_batch = await store.store_files(
            [
                file("/in/a.txt", "a" * 64, rec),
                file("/in/b.txt", "a" * 64, rec),
                file("/in/c.txt", "a" * 64, rec),
            ]
        )
        assert first.new == [True] and again.new == [False] and same_batch.new == [False]
        assert first.article_ids == again.article_ids == same_batch.article_ids
        counts = await store.counts()
        assert counts["articles"] == 1
        assert counts["sightings"] == 3
    finally:
        await store.close()


async def test_changed_file_at_same_path_is_a_new_version(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        (v1,) = await store.store_files(
            [file("/in/a.txt", "1" * 64, RecordToStore("1" * 64, article()))]
        )
        (v2,) = await store.store_files(
            [file("/in/a.txt", "2" * 64, RecordToStore("2" * 64, article(body="130,000 troops.")))]
        )
        row = await store.article_by_sha("2" * 64)
        assert row is not None
        assert row["previous_version"] == v1.article_ids[0]
        assert v2.new == [True]
    finally:
        await store.close()


async def test_figures_and_mentions_are_stored_with_the_article(tmp_path: Path) -> None:
    fig = Figure(
        low=100_000,
        high=100_000,
        text="100,000 troops",
        qualifier="",
        qualifier_kind="exact",
        unit="troops",
        unit_lemma="troop",
        start=10,
        end=24,
        sentence="100,000 troops.",
    )
    mentions = [
        Mention("Kyiv", "Kiev", 0, 4),
        Mention("Kyiv", "Kyiv", 30, 34),
        Mention("El Pais", "El Pais", 40, 47, watched=False),
    ]
    store = await Store.open(tmp_path / "w.db")
    try:
        await store.store_files(
            [file("/in/a.txt", "a" * 64, RecordToStore("a" * 64, article(), [fig], mentions))]
        )
    finally:
        await store.close()
    conn = sqlite3.connect(tmp_path / "w.db")
    assert conn.execute("SELECT unit_lemma, low, published FROM figures").fetchall() == [
        ("troop", 100000.0, "2022-02-04T00:00:00+00:00")
    ]
    assert conn.execute("SELECT term, watched, count FROM mentions ORDER BY term").fetchall() == [
        ("El Pais", 0, 1),
        ("Kyiv", 1, 2),
    ]
    conn.close()


async def test_full_text_search_with_snippets(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        await store.store_files(
            [
                file(
                    "/in/a.txt",
                    "a" * 64,
                    RecordToStore(
                        "a" * 64, article("Pipeline at stake", "Nord Stream 2 pipeline.")
                    ),
                ),
                file(
                    "/in/b.txt",
                    "b" * 64,
                    RecordToStore("b" * 64, article("Other", "Nothing here.")),
                ),
            ]
        )
        hits = await store.search("pipeline")
        assert [h["title"] for h in hits] == ["Pipeline at stake"]
        assert "[pipeline]" in hits[0]["snippet"].lower()
        with pytest.raises(ValueError, match="bad search query"):
            await store.search('"unbalanced')
    finally:
        await store.close()


async def test_failed_batch_rolls_back_whole(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        good = file("/in/a.txt", "a" * 64, RecordToStore("a" * 64, article()))
        bad = file("/in/b.txt", "b" * 64, RecordToStore("b" * 64, article(title=None)))  # type: ignore[arg-type]
        with pytest.raises(sqlite3.IntegrityError):
            await store.store_files([good, bad])
        assert (await store.counts())["articles"] == 0
        await store.store_files([good])
        assert (await store.counts())["articles"] == 1
    finally:
        await store.close()


class Recorder:
    """A hook that notes what it is told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []

    def article_inserted(self, article_id: int, record: RecordToStore, path: str) -> None:
        self.events.append(("inserted", article_id, path))

    async def article_stored(self, db: object, article_id: int, rec: object, path: str) -> None:
        self.events.append(("stored", article_id, path))

    async def article_seen_again(self, db: object, article_id: int, rec: object, path: str) -> None:
        self.events.append(("seen", article_id, path))

    async def before_commit(self, db: object) -> None:
        self.events.append(("commit", 0, ""))

    def rolled_back(self) -> None:
        self.events.append(("rolled_back", 0, ""))


async def test_a_batch_is_inserted_before_its_hooks_see_each_article_in_order(
    tmp_path: Path,
) -> None:
    """Hooks may start work when a new article's rows are in (the stories
    engine places it meanwhile), and still see every article in arrival order."""
    store = await Store.open(tmp_path / "w.db")
    try:
        a, b, c = (RecordToStore(x * 64, article(title=x)) for x in "abc")
        hook = Recorder()
        await store.store_files(
            [
                file("/in/a.txt", "a" * 64, a),
                file("/in/b.txt", "b" * 64, b),
                file("/in/a-again.txt", "a" * 64, a),
                file("/in/c.txt", "c" * 64, c),
            ],
            [hook],
        )
        assert hook.events == [
            ("inserted", 1, "/in/a.txt"),
            ("inserted", 2, "/in/b.txt"),
            ("inserted", 3, "/in/c.txt"),
            ("stored", 1, "/in/a.txt"),
            ("stored", 2, "/in/b.txt"),
            ("seen", 1, "/in/a-again.txt"),
            ("stored", 3, "/in/c.txt"),
            ("commit", 0, ""),
        ]
        hook.events.clear()
        await store.store_files([file("/in/b-again.txt", "b" * 64, b)], [hook])
        assert hook.events == [("seen", 2, "/in/b-again.txt"), ("commit", 0, "")]
    finally:
        await store.close()
