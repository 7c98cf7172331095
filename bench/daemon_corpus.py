"""The whole corpus dropped into a running daemon's inbox, with and without SIGKILLs.

This is the backbone's acceptance run at full size: every file of the BBC
corpus renamed into the inbox of a real ``wirewatch run`` subprocess. The
clean run reports the end-to-end rate; the second run kills the daemon
with SIGKILL three times at random moments and restarts it, then checks
that every distinct article is stored exactly once, nothing is
quarantined and nothing is left in the inbox.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.backfill import DEFAULT_CORPUS, corpus_files
from bench.harness import Daemon, db_scalar, drop, wait_for, write_config


def _inbox_empty(inbox: Path) -> bool:
    return not any(p for p in inbox.iterdir() if not p.name.startswith("."))


def one_run(files: list[Path], kills: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    expected = len({hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    with tempfile.TemporaryDirectory(prefix="wirewatch-corpus-") as tmp:
        root = Path(tmp)
        daemon = Daemon(root, write_config(root))
        daemon.start()
        started = time.perf_counter()
        for i, p in enumerate(files):
            drop(p, daemon.inbox, f"{i:05d}-{p.parent.name}-{p.name}")
        for k in range(kills):
            target = (k + 1) * expected // (kills + 2) + rng.randrange(50)
            wait_for(lambda t=target: daemon.articles() >= t, 300, f"{target} articles")
            daemon.kill()
            daemon.start()
        wait_for(
            lambda: daemon.articles() >= expected and _inbox_empty(daemon.inbox),
            600,
            "the inbox to drain",
        )
        seconds = time.perf_counter() - started
        code = daemon.stop()
        stored = daemon.articles()
        return {
            "files": len(files),
            "distinct": expected,
            "stored": stored,
            "sightings": db_scalar(daemon.db, "SELECT count(*) FROM sightings"),
            "quarantined": db_scalar(daemon.db, "SELECT count(*) FROM quarantine"),
            "left_in_inbox": sum(1 for _ in daemon.inbox.iterdir()),
            "kills": kills,
            "seconds": round(seconds, 2),
            "files_per_second": round(len(files) / seconds, 1),
            "exit_code": code,
            "ok": stored == expected and code == 0,
        }


def run(corpus: Path = DEFAULT_CORPUS) -> dict[str, Any]:
    files = corpus_files(corpus)
    return {"clean": one_run(files, kills=0), "sigkill_x3": one_run(files, kills=3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    print(json.dumps(run(ap.parse_args().corpus), indent=2))


if __name__ == "__main__":
    main()
