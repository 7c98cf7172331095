"""Fault scenarios: the daemon under a flood and under malformed input.

``make faults`` runs each at full size; ``make test`` runs the same code at
a small size (tests/test_faults.py). Every scenario drives a real daemon
subprocess through its inbox and ends by checking that nothing was lost:
every good file stored exactly once, every bad one quarantined with a
reason, the daemon still up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Daemon, db_scalar, wait_for, write_config


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _article(n: int) -> bytes:
    return (
        f"Flood report number {n}\n\n"
        f"Officials said {n % 977 + 3} vessels and {n * 7 % 10_000} people were counted "
        f"on day {n} of the exercise near Port {n % 53}.\n"
    ).encode()


def flood(files: int = 50_000, queue_size: int = 10_000) -> dict[str, Any]:
    """``files`` new articles created in the inbox at once, far beyond inotify's queue.

    The files are written straight into the inbox (not renamed in), so each
    costs the kernel queue three events; the kernel drops what does not
    fit, and the watcher's bounded queue overflows too. Rescans must find
    every file; memory must stay bounded by the queue, not the flood.
    """
    with tempfile.TemporaryDirectory(prefix="wirewatch-flood-") as tmp:
        root = Path(tmp)
        cfg = write_config(
            root,
            watch={"queue_size": queue_size, "settle": 0.2, "rescan_interval": 5.0},
            extract={"entities": False},
        )
        daemon = Daemon(root, cfg).start()
        assert daemon.proc is not None
        started = time.perf_counter()
        for n in range(files):
            (daemon.inbox / f"{n:06d}.txt").write_bytes(_article(n))
        written = time.perf_counter() - started
        peak = 0

        def done() -> bool:
            nonlocal peak
            assert daemon.proc is not None
            peak = max(peak, _rss_kib(daemon.proc.pid))
            return daemon.articles() >= files

        wait_for(done, 1800, f"{files} articles")
        seconds = time.perf_counter() - started
        code = daemon.stop()
        log = daemon.log()
        return {
            "files": files,
            "stored": daemon.articles(),
            "quarantined": db_scalar(daemon.db, "SELECT count(*) FROM quarantine"),
            "left_in_inbox": sum(1 for _ in daemon.inbox.iterdir()),
            "seconds_to_write": round(written, 1),
            "seconds_to_store_all": round(seconds, 1),
            "peak_rss_mib": round(peak / 1024, 1),
            "kernel_overflows_logged": log.count("overflow"),
            "rescans_logged": log.count('"event": "rescan"'),
            "exit_code": code,
            "ok": daemon.articles() == files and code == 0,
        }


def malformed_files(count: int, seed: int = 7) -> dict[str, bytes]:
    """``count`` bad inputs of every kind a real inbox sees, plus their names.

    Generated, not fixed: truncated UTF-8, NUL bytes, control bytes, huge
    lines, deeply nested HTML, broken JSON and JSON Lines, zero bytes,
    lone surrogates, mixed encodings, and random bytes.
    """
    rng = random.Random(seed)
    good = "Troops gather at the border\n\nMore than 100,000 troops, officials said.\n"
    makers = [
        ("truncated.txt", lambda: good.encode()[: rng.randrange(1, len(good))] + b"\xe2\x82"),
        ("nul.txt", lambda: good.encode() + b"\x00" * rng.randrange(1, 50)),
        ("controls.txt", lambda: bytes(rng.randrange(1, 32) for _ in range(500))),
        ("zero.txt", lambda: b""),
        ("spaces.txt", lambda: b" \n\t " * rng.randrange(1, 100)),
        ("hugeline.txt", lambda: b"word " * rng.randrange(50_000, 200_000)),
        ("deep.html", lambda: b"<div>" * rng.randrange(2_000, 20_000) + b"text"),
        ("broken.json", lambda: b'{"title": "x", "text": ' + rng.randbytes(20)),
        ("broken.jsonl", lambda: b'{"title": "a", "text": "b"}\n{"title": \n'),
        ("random.bin", lambda: rng.randbytes(rng.randrange(1, 5000))),
        ("surrogate.txt", lambda: b"Title\n\nText \xed\xa0\x80 more text here.\n"),
        (
            "latin.txt",
            lambda: ("Caf\u00e9 news\n\nPrices \u00a33 in Z\u00fcrich.").encode("cp1252"),
        ),
        ("tags.html", lambda: b"<html><body><script>" + b"x" * 1000 + b"</script></body>"),
        ("array.json", lambda: b"[" * rng.randrange(1_000, 100_000)),
    ]
    out: dict[str, bytes] = {}
    for i in range(count):
        name, make = makers[i % len(makers)]
        stem, ext = os.path.splitext(name)
        out[f"{i:05d}-{stem}{ext}"] = make()
    return out


def malformed(count: int = 1000, big_mib: int = 50) -> dict[str, Any]:
    """``count`` generated bad files and one of ``big_mib`` MB into a running daemon."""
    files = malformed_files(count)
    with tempfile.TemporaryDirectory(prefix="wirewatch-malformed-") as tmp:
        root = Path(tmp)
        daemon = Daemon(root, write_config(root)).start()
        for name, data in files.items():
            tmp_path = daemon.inbox / f".{name}.part"
            tmp_path.write_bytes(data)
            os.rename(tmp_path, daemon.inbox / name)
        if big_mib:
            with (daemon.inbox / ".big.txt.part").open("wb") as fh:
                fh.truncate(big_mib * 1024 * 1024)
            os.rename(daemon.inbox / ".big.txt.part", daemon.inbox / "big.txt")
        total = len(files) + (1 if big_mib else 0)

        def handled() -> int:
            stored = int(db_scalar(daemon.db, "SELECT count(*) FROM sightings") or 0)
            quarantined = int(db_scalar(daemon.db, "SELECT count(*) FROM quarantine") or 0)
            return stored + quarantined

        wait_for(lambda: handled() >= total and not any(daemon.inbox.iterdir()), 600, "all")
        alive = daemon.proc is not None and daemon.proc.poll() is None
        reasons: dict[str, int] = {}
        for note in (root / "quarantine").glob("*.reason.json"):
            reason = json.loads(note.read_text())["reason"]
            reasons[reason] = reasons.get(reason, 0) + 1
        code = daemon.stop()
        quarantined = int(db_scalar(daemon.db, "SELECT count(*) FROM quarantine") or 0)
        return {
            "files": total,
            "stored_or_seen": int(db_scalar(daemon.db, "SELECT count(*) FROM sightings") or 0),
            "quarantined": quarantined,
            "reason_files": sum(reasons.values()),
            "by_reason": reasons,
            "daemon_alive_throughout": alive,
            "exit_code": code,
            "ok": alive and code == 0 and sum(reasons.values()) == quarantined,
        }


def run() -> dict[str, Any]:
    return {"flood": flood(), "malformed": malformed()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="the sizes make test uses")
    args = ap.parse_args()
    result = {"flood": flood(3000, 200), "malformed": malformed(150, 12)} if args.small else run()
    print(json.dumps(result, indent=2))
    if not all(r["ok"] for r in result.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
