"""The watcher against a real watchdog observer on a temporary folder."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from wirewatch.config import WatchConfig
from wirewatch.watch import InboxWatcher, is_candidate, scan_inbox


async def until(predicate: Callable[[], Any], seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)
    return value


def drain(w: InboxWatcher) -> list[Path]:
    out = []
    while not w.queue.empty():
        p = w.queue.get_nowait()
        w.taken(p)
        out.append(p)
    return out


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("a.txt", True),
        ("a", True),
        (".a.txt", False),
        ("a.txt.tmp", False),
        ("a.part", False),
        ("a.txt~", False),
        ("sub/a.txt", False),
    ],
)
def test_candidates(tmp_path: Path, rel: str, expected: bool) -> None:
    assert is_candidate(tmp_path / rel, tmp_path, WatchConfig()) is expected


def test_include_exclude_and_recursion(tmp_path: Path) -> None:
    cfg = WatchConfig(recursive=True, include=["*.txt", "*.html"], exclude=["drafts/*"])
    assert is_candidate(tmp_path / "x/a.txt", tmp_path, cfg)
    assert not is_candidate(tmp_path / "a.pdf", tmp_path, cfg)
    assert not is_candidate(tmp_path / "drafts/a.txt", tmp_path, cfg)
    assert not is_candidate(tmp_path / ".git/a.txt", tmp_path, cfg)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.txt").write_text("x")
    (tmp_path / "b.pdf").write_text("x")
    assert list(scan_inbox(tmp_path, cfg)) == [tmp_path / "x" / "a.txt"]


@pytest.fixture
async def watcher(tmp_path: Path) -> AsyncIterator[InboxWatcher]:
    w = InboxWatcher(WatchConfig(settle=0.2), [tmp_path], asyncio.get_running_loop())
    w.start()
    stop = asyncio.Event()
    timers = asyncio.create_task(w.run_timers(stop))
    yield w
    stop.set()
    await timers
    w.stop()


async def test_slow_chunked_write_is_offered_once_after_close(
    watcher: InboxWatcher, tmp_path: Path
) -> None:
    path = tmp_path / "slow.txt"
    with path.open("wb") as fh:
        for i in range(5):
            fh.write(b"paragraph %d\n" % i)
            fh.flush()
            os.fsync(fh.fileno())
            # no event yet: the file is open for writing
            await asyncio.sleep(0.05)
            assert watcher.queue.empty()
    await until(lambda: not watcher.queue.empty())
    assert drain(watcher) == [path]
    assert path.read_bytes().count(b"\n") == 5


async def test_rename_from_tmp_is_offered_and_tmp_never(
    watcher: InboxWatcher, tmp_path: Path
) -> None:
    tmp = tmp_path / "story.txt.tmp"
    tmp.write_text("Title\n\nBody.\n")
    os.rename(tmp, tmp_path / "story.txt")
    await until(lambda: not watcher.queue.empty())
    # events arrive in order, so the .tmp's close-write would be queued first
    assert drain(watcher) == [tmp_path / "story.txt"]


async def test_move_in_from_outside_is_offered(
    watcher: InboxWatcher, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "wire.txt"
    outside.write_text("Title\n\nBody.\n")
    os.rename(outside, tmp_path / "wire.txt")
    await until(lambda: not watcher.queue.empty())
    assert drain(watcher) == [tmp_path / "wire.txt"]


async def test_polling_mode_waits_for_the_file_to_settle(tmp_path: Path) -> None:
    cfg = WatchConfig(mode="polling", poll_interval=0.1, settle=0.3)
    w = InboxWatcher(cfg, [tmp_path], asyncio.get_running_loop())
    w.start()
    stop = asyncio.Event()
    timers = asyncio.create_task(w.run_timers(stop))
    try:
        path = tmp_path / "polled.txt"
        with path.open("wb") as fh:
            for _ in range(6):
                fh.write(b"x" * 100)
                fh.flush()
                await asyncio.sleep(0.1)
                assert w.queue.empty(), "offered while still growing"
        await until(lambda: not w.queue.empty())
        assert drain(w) == [path]
    finally:
        stop.set()
        await timers
        w.stop()


async def test_full_queue_sets_rescan_flag_instead_of_blocking(tmp_path: Path) -> None:
    w = InboxWatcher(WatchConfig(queue_size=2, settle=0), [tmp_path], asyncio.get_running_loop())
    for i in range(5):
        (tmp_path / f"{i}.txt").write_text("x")
    queued = w.rescan()
    assert queued == 2
    assert w.rescan_needed.is_set()
    assert w.health.overflows == 1
    drain(w)
    w.rescan_needed.clear()
    assert w.rescan() == 2  # the next rescan picks up where the queue allowed


async def test_handler_exception_is_caught_and_counted(
    watcher: InboxWatcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(path: Path, inbox: Path, *, settle: bool) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr(watcher, "hint", boom)
    (tmp_path / "a.txt").write_text("x")
    await until(lambda: watcher.health.handler_errors > 0)
    assert watcher.alive, "the observer thread must survive a handler error"
    assert "handler bug" in (watcher.health.last_error or "")
    monkeypatch.undo()
    (tmp_path / "b.txt").write_text("x")
    await until(lambda: tmp_path / "b.txt" in drain(watcher))
