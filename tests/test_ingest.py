"""The ingest pipeline, file by file, against a real store and real files."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conftest import seed_files, wait_until
from wirewatch.ingest import BatchWriter, Pipeline
from wirewatch.store import Store


@pytest.fixture
async def pipeline(tmp_path: Path) -> AsyncIterator[Pipeline]:
    import asyncio

    store = await Store.open(tmp_path / "var" / "w.db")
    writer = BatchWriter(store, 50)
    task = asyncio.create_task(writer.run())
    (tmp_path / "inbox").mkdir()
    yield Pipeline(
        store=store,
        writer=writer,
        after_store="move",
        processed_dir=tmp_path / "processed",
        quarantine_dir=tmp_path / "quarantine",
        max_bytes=10 * 1024 * 1024,
    )
    task.cancel()
    await store.close()


async def test_seeds_are_stored_and_moved_after_commit(pipeline: Pipeline, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for seed in seed_files():
        shutil.copy(seed, inbox / seed.name)
        assert await pipeline.process(inbox / seed.name, inbox) == "stored"
    assert (await pipeline.store.counts())["articles"] == 5
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == [
        s.name for s in seed_files()
    ]
    assert list(inbox.iterdir()) == []
    # the same bytes under other names store nothing new
    for seed in seed_files():
        shutil.copy(seed, inbox / ("copy-" + seed.name))
        assert await pipeline.process(inbox / ("copy-" + seed.name), inbox) == "duplicate"
    counts = await pipeline.store.counts()
    assert counts["articles"] == 5
    assert counts["sightings"] == 10
    # a clash in processed/ never overwrites
    assert len(list((tmp_path / "processed").iterdir())) == 10


def reason_of(quarantine: Path, name: str) -> str:
    notes = [json.loads(p.read_text()) for p in quarantine.glob("*.reason.json")]
    matches = [n for n in notes if Path(n["path"]).name == name]
    assert len(matches) == 1, notes
    return str(matches[0]["reason"])


async def test_malformed_inputs_are_quarantined_with_reasons(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    quarantine = tmp_path / "quarantine"
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (inbox / "huge.txt").write_bytes(b"word " * (4 * 1024 * 1024))  # 20 MB
    rng = random.Random(1)  # high bytes with no pattern: no encoding reads them as text
    (inbox / "invalid.txt").write_bytes(bytes(rng.randrange(128, 256) for _ in range(4000)))
    os.symlink("/etc/passwd", inbox / "passwd.txt")
    os.mkfifo(inbox / "fifo.txt")
    expected = {
        "empty.txt": "empty",
        "binary.txt": "binary",
        "huge.txt": "oversized",
        "passwd.txt": "symlink",
        "fifo.txt": "not_regular_file",
    }
    for name in [*expected, "invalid.txt"]:
        assert await pipeline.process(inbox / name, inbox) == "quarantined", name
    for name, reason in expected.items():
        assert reason_of(quarantine, name) == reason
    assert reason_of(quarantine, "invalid.txt") == "undecodable"
    assert list(inbox.iterdir()) == []
    # the symlink moved as a link: the target was never touched or copied
    assert (quarantine / "passwd.txt").is_symlink()
    assert (await pipeline.store.counts())["quarantined"] == 6
    assert (await pipeline.store.counts())["articles"] == 0


async def test_file_deleted_before_it_is_read_is_skipped(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    assert await pipeline.process(tmp_path / "inbox" / "vanished.txt", tmp_path / "inbox") == "gone"
    assert (await pipeline.store.counts())["quarantined"] == 0


async def test_keep_mode_remembers_handled_files(pipeline: Pipeline, tmp_path: Path) -> None:
    pipeline.after_store = "keep"
    inbox = tmp_path / "inbox"
    seed = seed_files()[0]
    shutil.copy(seed, inbox / seed.name)
    assert await pipeline.process(inbox / seed.name, inbox) == "stored"
    assert await pipeline.process(inbox / seed.name, inbox) == "skipped"
    assert (inbox / seed.name).exists()


async def test_a_full_database_pauses_the_writer_and_loses_nothing(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """SQLite's own page limit makes the disk "full": a real SQLITE_FULL from a real file."""
    import asyncio

    from wirewatch.ingest import storage_fault

    writer, store = pipeline.writer, pipeline.store
    writer.RETRY_FIRST = writer.RETRY_MAX = 0.05
    db = store._conn
    pages = (await (await db.execute("PRAGMA page_count")).fetchone())[0]
    await db.execute(f"PRAGMA max_page_count={pages}")
    inbox = tmp_path / "inbox"
    for seed in seed_files():
        shutil.copy(seed, inbox / seed.name)
    tasks = [asyncio.create_task(pipeline.process(inbox / s.name, inbox)) for s in seed_files()]

    await wait_until(lambda: writer.fault and writer.fault.attempts >= 3, 10, "three retries")
    assert writer.fault is not None and "SQLITE_FULL" in writer.fault.error
    assert not any(t.done() for t in tasks), "files wait while the disk is full"
    assert sorted(p.name for p in inbox.iterdir()) == [s.name for s in seed_files()]
    assert (await store.counts())["articles"] == 0

    await db.execute("PRAGMA max_page_count=1073741823")
    assert await asyncio.gather(*tasks) == ["stored"] * 5
    assert writer.fault is None
    assert (await store.counts())["articles"] == 5
    assert list(inbox.iterdir()) == []
    assert storage_fault(ValueError("not the disk")) is None


async def test_at_shutdown_the_writer_gives_up_on_a_full_disk(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    import asyncio

    from wirewatch.ingest import StoreUnavailable

    writer, store = pipeline.writer, pipeline.store
    db = store._conn
    pages = (await (await db.execute("PRAGMA page_count")).fetchone())[0]
    await db.execute(f"PRAGMA max_page_count={pages}")
    inbox = tmp_path / "inbox"
    seed = seed_files()[0]
    shutil.copy(seed, inbox / seed.name)
    task = asyncio.create_task(pipeline.process(inbox / seed.name, inbox))
    await wait_until(lambda: writer.fault, 10, "the first failure")
    writer.give_up()
    with pytest.raises(StoreUnavailable, match="SQLITE_FULL"):
        await task
    assert (inbox / seed.name).exists(), "the file stays for the next start"


def test_a_move_cut_short_after_its_link_is_finished_not_duplicated(tmp_path: Path) -> None:
    """SIGKILL between link() and unlink(): the next start must not keep two copies."""
    from wirewatch.ingest import dispose

    inbox, processed = tmp_path / "inbox", tmp_path / "processed"
    inbox.mkdir()
    processed.mkdir()
    src = inbox / "a.txt"
    src.write_text("same bytes")
    os.link(src, processed / "a.txt")  # the first half of an interrupted move
    dispose(src, "move", inbox, processed, "ab" * 32)
    assert not src.exists()
    assert [p.name for p in processed.iterdir()] == ["a.txt"]
    # a different file of the same name still gets a name of its own
    src.write_text("other bytes")
    dispose(src, "move", inbox, processed, "cd" * 32)
    assert sorted(p.name for p in processed.iterdir()) == ["a.cdcdcdcdcdcd.txt", "a.txt"]
    # and a move cut short under a tagged name is found there too
    src.write_text("third bytes")
    os.link(src, processed / "a.efefefefefef.txt")
    dispose(src, "move", inbox, processed, "ef" * 32)
    assert not src.exists()
    assert len(list(processed.iterdir())) == 3


def test_a_quarantine_cut_short_after_its_link_is_finished_not_duplicated(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from wirewatch.quarantine import quarantine_file

    inbox, quarantine = tmp_path / "inbox", tmp_path / "quarantine"
    inbox.mkdir()
    quarantine.mkdir()
    src = inbox / "bad.bin"
    src.write_bytes(b"\0\0\0")
    os.link(src, quarantine / "bad.bin")  # linked, then killed before unlink and reason
    moved = quarantine_file(
        src, quarantine, reason="binary", detail="NUL bytes", at=datetime.now(UTC)
    )
    assert moved == quarantine / "bad.bin"
    assert not src.exists()
    assert sorted(p.name for p in quarantine.iterdir()) == ["bad.bin", "bad.bin.reason.json"]
    assert json.loads((quarantine / "bad.bin.reason.json").read_text())["reason"] == "binary"
