"""End to end: the real daemon as a subprocess, real files, real signals."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
from pathlib import Path

import pytest

from conftest import Daemon, corpus_files, db_scalar, drop, seed_files, wait_for

pytestmark = pytest.mark.e2e


def inbox_empty(inbox: Path) -> bool:
    return not any(p for p in inbox.iterdir() if not p.name.startswith("."))


def test_seeds_are_stored_once(daemon: Daemon) -> None:
    daemon.start()
    for seed in seed_files():
        drop(seed, daemon.inbox)
    wait_for(lambda: daemon.articles() == 5 and inbox_empty(daemon.inbox), what="5 articles")
    for seed in seed_files():
        drop(seed, daemon.inbox, "again-" + seed.name)
    wait_for(lambda: inbox_empty(daemon.inbox), what="the copies to be handled")
    wait_for(
        lambda: db_scalar(daemon.db, "SELECT count(*) FROM sightings") == 10, what="10 sightings"
    )
    assert daemon.articles() == 5
    assert daemon.stop() == 0
    assert '"event": "service_stopped"' in daemon.log()


def test_files_that_arrive_while_stopped_are_stored_on_start(daemon: Daemon) -> None:
    daemon.start()
    assert daemon.stop() == 0
    for seed in seed_files():
        shutil.copy(seed, daemon.inbox / seed.name)
    daemon.start()
    wait_for(lambda: daemon.articles() == 5, what="reconciliation on start")
    assert daemon.stop() == 0


def test_malformed_inputs_do_not_stop_the_daemon(daemon: Daemon) -> None:
    daemon.start()
    (daemon.inbox / "empty.txt").write_bytes(b"")
    (daemon.inbox / "nul.txt").write_bytes(b"\x00" * 1000)
    (daemon.inbox / "big.txt").write_bytes(b"x" * (20 * 1024 * 1024))
    os.symlink("/etc/passwd", daemon.inbox / "passwd.txt")
    os.mkfifo(daemon.inbox / "pipe.txt")
    drop(seed_files()[0], daemon.inbox)
    wait_for(
        lambda: db_scalar(daemon.db, "SELECT count(*) FROM quarantine") == 5, what="5 quarantined"
    )
    wait_for(lambda: daemon.articles() == 1, what="the good file")
    assert daemon.proc is not None and daemon.proc.poll() is None
    reasons = sorted(p.name for p in (daemon.root / "quarantine").glob("*.reason.json"))
    assert len(reasons) == 5
    assert daemon.stop() == 0


def distinct_shas(files: list[Path]) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_sigkill_three_times_loses_nothing_and_stores_nothing_twice(daemon: Daemon) -> None:
    rng = random.Random(7)
    files = corpus_files()
    sample = rng.sample(files, 300)
    # include byte-identical copies from the corpus, so duplicates are exercised
    by_sha: dict[str, list[Path]] = {}
    for p in files:
        by_sha.setdefault(hashlib.sha256(p.read_bytes()).hexdigest(), []).append(p)
    dup_groups = [g for g in by_sha.values() if len(g) > 1][:20]
    sample += [p for g in dup_groups for p in g]
    expected = distinct_shas(sample)

    daemon.start()
    for i, p in enumerate(sample):
        drop(p, daemon.inbox, f"{i:04d}-{p.parent.name}-{p.name}")
    for kill in range(3):
        threshold = (kill + 1) * len(expected) // 5 + rng.randrange(10)
        wait_for(lambda t=threshold: daemon.articles() >= t, 60, f"{threshold} articles")
        daemon.kill()
        daemon.start()
    wait_for(lambda: inbox_empty(daemon.inbox), 120, "the inbox to drain")
    assert daemon.stop(signal.SIGTERM) == 0
    stored = db_scalar(daemon.db, "SELECT count(*) FROM articles")
    assert stored == len(expected)
    assert db_scalar(daemon.db, "SELECT count(DISTINCT sha256) FROM articles") == len(expected)
    assert db_scalar(daemon.db, "SELECT count(*) FROM quarantine") == 0
    processed = list((daemon.root / "processed").iterdir())
    assert len(processed) == len(sample)
