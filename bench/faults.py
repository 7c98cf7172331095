"""Fault scenarios: the daemon under a flood, malformed input, kills and broken rules.

``make faults`` runs each at full size (``--small`` for the sizes of
``make test``, ``--only NAME`` for some of them); ``make test`` runs the same
code at a small size (tests/test_faults.py). Every scenario drives a real
daemon subprocess through its inbox and ends by checking that nothing was
lost, and returns plain numbers:

- ``flood``: far more files at once than inotify and the watcher's queue
  hold; every one stored, memory bounded.
- ``malformed``: every kind of bad input; each stored or quarantined with a
  reason, the daemon still up.
- ``kill_loop``: a backfill delivered to a flaky webhook receiver (500s,
  429s with ``Retry-After``, hangs) while the daemon is SIGKILLed and
  restarted again and again; every article stored once, every alert fired
  once and delivered at least once, a duplicate only ever under the same
  ``webhook-id``.
- ``bad_rules``: broken edits of every kind to a live rules folder while
  articles flow; each refused, the old rules firing for every article.
- ``disk``: the state folder's file system full while articles arrive,
  then freed; and read-only at start (see :mod:`bench.disk`).

Randomness (kill moments, the receiver's answers, the order of edits) comes
from ``random.Random(seed)``; timing still varies from run to run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.disk import disk_full
from bench.flaky import Flaky, flaky_receiver
from bench.harness import (
    Daemon,
    db_scalar,
    proc_children,
    proc_memory,
    proc_stat,
    wait_for,
    write_config,
)
from bench.receiver import Receiver, Request
from wirewatch.notify.sign import signature


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
            peak = max(peak, proc_memory(daemon.proc.pid, "VmRSS") // 1024)
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
    makers: list[tuple[str, Callable[[], bytes]]] = [
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


# -- kill_loop ------------------------------------------------------------------------

_KILL_SECRET = "whsec_" + base64.b64encode(b"wirewatch-kill-loop-secret-32byte").decode()

_KILL_TERMS = ("pipeline", "ceasefire", "blockade", "drone", "tanker", "harvest")
"""One ``term`` rule per word, each to its own destination: delivery is in order per
destination, so seven lanes (these six and the code words) drain a flaky receiver
seven times as fast as one would, and the run stays minutes long, not an hour."""

_FILLER_TEXT = (
    "officials said the talks would resume near the harbour after a long night of "
    "meetings while ministers weighed the costs of the plan and traders watched prices "
    "across the region as the convoy moved slowly along the coast road toward the border "
    "town where residents waited for news of the agreement and the council debated the "
    "budget for repairs to the bridge and the school"
)
_FILLER = _FILLER_TEXT.split()


def _kill_rules(codewords: list[str]) -> str:
    """The rules folder's one file: a ``term`` rule per watched word and a ``new_term`` rule.

    ``query_key = "article"`` makes each term rule fire once per article that
    mentions its word, so the alerts a run must produce are known by file
    name; the ``new_term`` rule fires once per code word, whichever article
    mentions it first, which puts rule state (terms seen) under the kills too.
    """
    out = []
    for term in _KILL_TERMS:
        out.append(
            f'[[rules]]\nname = "kl-{term}"\ntype = "term"\nterms = ["{term}"]\n'
            f'query_key = "article"\ndestinations = ["hook_{term}"]\n'
        )
    words = ", ".join(f'"{c}"' for c in codewords)
    out.append(
        f'[[rules]]\nname = "kl-codeword"\ntype = "new_term"\nterms = [{words}]\n'
        'destinations = ["hook_codeword"]\n'
    )
    return "\n".join(out)


@dataclass(frozen=True)
class _Generated:
    """One generated article and the alerts it must cause."""

    name: str
    data: bytes
    term: str | None
    codeword: str | None


def _kill_loop_articles(count: int, codewords: list[str], rng: random.Random) -> list[_Generated]:
    """``count`` distinct articles: half mention one watched word, a fifth a code word.

    What each article mentions is drawn from ``rng``, so which article must
    alert for which rule is known in advance and a missing alert is found
    by name, not just by a total.
    """
    out: list[_Generated] = []
    for n in range(count):
        term = rng.choice(_KILL_TERMS) if rng.random() < 0.5 else None
        codeword = rng.choice(codewords) if rng.random() < 0.2 else None
        sentences = []
        for _ in range(rng.randrange(3, 6)):
            words = [rng.choice(_FILLER) for _ in range(rng.randrange(8, 16))]
            sentences.append(" ".join(words).capitalize() + ".")
        if term:
            sentences.insert(rng.randrange(len(sentences)), f"Reporters saw the {term} today.")
        if codeword:
            sentences.insert(rng.randrange(len(sentences)), f"The plan was called {codeword}.")
        text = f"Dispatch {n} from the coast\n\n" + " ".join(sentences) + f" Ref {n:06d}.\n"
        out.append(_Generated(f"{n:06d}.txt", text.encode(), term, codeword))
    return out


def _proc_start(pid: int) -> str | None:
    """A process's start time in clock ticks (field 22), to tell it from a reused pid."""
    fields = proc_stat(pid)
    return None if fields is None else fields[19]


def _children(pid: int) -> set[tuple[int, str]]:
    """The live children of ``pid`` (prepare workers, multiprocessing's resource tracker).

    Each comes with its start time, so a pid the kernel reused later is not
    mistaken for a worker that outlived its daemon.
    """
    out: set[tuple[int, str]] = set()
    for kid in proc_children(pid):
        start = _proc_start(kid)
        if start is not None:
            out.add((kid, start))
    return out


def _settled(predicate: Callable[[], Any], timeout: float) -> bool:
    """:func:`wait_for` that answers False at the deadline instead of raising."""
    try:
        wait_for(predicate, timeout)
    except AssertionError:
        return False
    return True


def _rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def kill_loop(
    kills: int = 50,
    articles: int = 5000,
    seed: int = 20220224,
    max_delay: float = 4.0,
    settle_timeout: float = 1800.0,
) -> dict[str, Any]:
    """A backfill delivered to a flaky webhook while the daemon is SIGKILLed ``kills`` times.

    The promise under test is the README's: never a lost article, never a
    lost alert, and the only duplicate a receiver sees carries the same
    ``webhook-id``. Crashes are where such promises break (an article
    committed but not moved, an alert sent but not marked sent, rule state
    ahead of the outbox), so the daemon is killed at random moments and
    restarted each time. The first half of the kills land inside the
    backfill: the articles arrive in as many chunks, one after each
    restart, and the daemon dies once a random number of the chunk's
    articles is stored. The rest land during delivery, a random
    ``uniform(0.2, max_delay)`` seconds after the daemon came up. Every draw
    comes from ``random.Random(seed)``, and so do the receiver's answers:
    30 % 500, 10 % 429 with ``Retry-After: 1``, 5 % held past the sink's 2 s
    timeout (then 200), the rest 200. After the last restart the run waits
    for an empty inbox and an empty queue, stops the daemon with SIGTERM and
    checks every article, every alert and every delivery by name.
    """
    rng = random.Random(seed)
    codewords = [f"kestrel{k}" for k in range(max(10, articles // 50))]
    generated = _kill_loop_articles(articles, codewords, rng)
    paths = [f"/hook/{t}" for t in (*_KILL_TERMS, "codeword")]
    receiver, script = flaky_receiver(paths, seed=seed + 1, hang=2.5)
    try:
        with tempfile.TemporaryDirectory(prefix="wirewatch-kill-loop-") as tmp:
            root = Path(tmp)
            (root / "rules").mkdir()
            (root / "rules" / "kill.toml").write_text(_kill_rules(codewords), encoding="utf-8")
            common = {
                "type": "webhook",
                "secret": _KILL_SECRET,
                "allow_private": True,
                "timeout_connect": 1.0,
                "timeout_read": 2.0,
                "timeout_total": 2.0,
                "rate_per_second": 200.0,
                "burst": 50,
            }
            cfg = write_config(
                root,
                watch={"settle": 0.2, "rescan_interval": 5.0},
                extract={"entities": False},
                rules={"dir": str(root / "rules")},
                notify={"backoff_base": 0.1, "backoff_cap": 2.0, "poll_interval": 0.2},
                sinks={
                    f"hook_{t}": {**common, "url": receiver.url(f"/hook/{t}")}
                    for t in (*_KILL_TERMS, "codeword")
                },
            )
            daemon = Daemon(root, cfg)
            try:
                return _kill_loop_in(
                    daemon, kills, generated, rng, receiver, script, max_delay, settle_timeout
                )
            finally:
                if daemon.proc is not None:  # only when the loop itself failed
                    daemon.proc.kill()
                    daemon.proc.wait()
    finally:
        receiver.stop()


def _kill_loop_in(
    daemon: Daemon,
    kills: int,
    generated: list[_Generated],
    rng: random.Random,
    receiver: Receiver,
    script: Flaky,
    max_delay: float,
    settle_timeout: float,
) -> dict[str, Any]:
    """The loop itself: chunks in, kills, restarts, then the wait for a quiet outbox."""
    n_chunks = max(1, (kills + 1) // 2)
    chunks = [generated[i::n_chunks] for i in range(n_chunks)]

    def write(chunk: list[_Generated]) -> None:
        for g in chunk:
            tmp_path = daemon.inbox / f".{g.name}.tmp"
            tmp_path.write_bytes(g.data)
            os.rename(tmp_path, daemon.inbox / g.name)

    def pending() -> int:
        sql = "SELECT count(*) FROM deliveries WHERE status = 'pending'"
        return int(db_scalar(daemon.db, sql) or 0)

    phases: Counter[str] = Counter()
    crashes: list[int] = []
    kill_times: list[float] = []
    workers: set[tuple[int, str]] = set()
    started = time.perf_counter()
    daemon.start()
    for k in range(kills):
        assert daemon.proc is not None
        proc = daemon.proc
        target: int | None = None  # inside the backfill: a random share of a fresh chunk in
        kill_at = 0.0  # during delivery: a random delay after the daemon came up
        if k < n_chunks:
            target = daemon.articles() + rng.randrange(1, max(2, len(chunks[k])))
            write(chunks[k])
        else:
            kill_at = time.monotonic() + rng.uniform(0.2, max_delay)

        def moment(
            p: subprocess.Popen[bytes] = proc, n: int | None = target, t: float = kill_at
        ) -> bool:
            if p.poll() is not None:
                return True
            return daemon.articles() >= n if n is not None else time.monotonic() >= t

        # the moment has come, or the daemon died on its own (a crash, recorded)
        _settled(moment, 300.0 if target is not None else max_delay + 5)
        if proc.poll() is not None:
            crashes.append(proc.returncode)
            daemon.proc = None
        else:
            inbox_busy = any(daemon.inbox.iterdir())
            phases["backfill" if inbox_busy else "delivery" if pending() else "idle"] += 1
            workers |= _children(proc.pid)
            daemon.kill()
            kill_times.append(time.monotonic())  # reaped: it sends nothing after this
        daemon.start()
    if kills == 0:
        write(generated)

    def quiet() -> bool:
        assert daemon.proc is not None
        if daemon.proc.poll() is not None:
            return True  # crashed: stop waiting; the checks say what is missing
        return not any(daemon.inbox.iterdir()) and pending() == 0

    settled = _settled(quiet, settle_timeout)
    assert daemon.proc is not None
    code: int | None = None
    if daemon.proc.poll() is not None:
        crashes.append(daemon.proc.returncode)
        daemon.proc = None
    else:
        workers |= _children(daemon.proc.pid)
        code = daemon.stop()
    seconds = time.perf_counter() - started
    # prepare workers must leave with their daemon, even a SIGKILLed one
    _settled(lambda: not any(_proc_start(p) == s for p, s in workers), 10)
    orphans = sum(1 for p, s in workers if _proc_start(p) == s)
    return _kill_loop_checks(
        daemon,
        generated,
        receiver,
        script,
        kills=kills,
        phases=phases,
        kill_times=kill_times,
        crashes=crashes,
        settled=settled,
        exit_code=code,
        seconds=seconds,
        orphans=orphans,
    )


def _resend_sample(
    db: Path, alert_id: str, reqs: list[Request], kill_times: list[float]
) -> dict[str, Any]:
    """What the receiver and the daemon each saw of an alert resent for no known reason.

    Receiver times are turned into UTC so they line up with the attempts
    the daemon recorded; the nearest kill is given for the same reason.
    """
    to_wall = time.time() - time.monotonic()

    def utc(t: float | None) -> str | None:
        if t is None:
            return None
        return datetime.fromtimestamp(t + to_wall, UTC).isoformat(timespec="milliseconds")

    first = reqs[0].at
    return {
        "alert_id": alert_id,
        "received": [
            {
                "at": utc(r.at),
                "answered_at": utc(r.answered_at),
                "status": r.status,
                "hang": bool(r.scripted and r.scripted.hang),
            }
            for r in reqs
        ],
        "nearest_kill": utc(min(kill_times, key=lambda t: abs(t - first))) if kill_times else None,
        "daemon_attempts": [
            {"at": at, "status_code": code, "error": error, "ms": ms}
            for at, code, error, ms in _rows(
                db,
                "SELECT t.at, t.status_code, t.error, t.duration_ms FROM delivery_attempts t"
                " JOIN deliveries d ON d.id = t.delivery_id WHERE d.alert_id = ? ORDER BY t.id",
                alert_id,
            )
        ],
    }


def _log_problems(path: Path) -> dict[str, int]:
    """Error-level events of a daemon log by name, and tracebacks outside JSON lines.

    The outcome checks say whether a promise held; these say where to look
    when one did not (a worker that failed to commit "sent", say).
    """
    events, _ = _log_events(path, 0)
    out: Counter[str] = Counter(
        str(e.get("event")) for e in events if e.get("level") in ("error", "critical")
    )
    text = path.read_text(encoding="utf-8", errors="replace")
    out["tracebacks"] = text.count("Traceback (most recent call last)")
    return {k: v for k, v in out.items() if v}


def _kill_loop_checks(
    daemon: Daemon,
    generated: list[_Generated],
    receiver: Receiver,
    script: Flaky,
    *,
    kills: int,
    phases: Counter[str],
    kill_times: list[float],
    crashes: list[int],
    settled: bool,
    exit_code: int | None,
    seconds: float,
    orphans: int,
) -> dict[str, Any]:
    """Everything the kill loop promises, checked by name against the database and the receiver."""
    db = daemon.db
    want_sha = {hashlib.sha256(g.data).hexdigest() for g in generated}
    stored_sha = [str(r[0]) for r in _rows(db, "SELECT sha256 FROM articles")]
    alerts = {
        str(r[0]): (str(r[1]), json.loads(r[2]))
        for r in _rows(db, "SELECT id, rule, payload FROM alerts")
    }
    # which articles must alert for which rule, by file name; which code words
    want = {(f"kl-{g.term}", g.name) for g in generated if g.term}
    want_words = {g.codeword for g in generated if g.codeword}
    got: Counter[tuple[str, str]] = Counter()
    got_words: Counter[str] = Counter()
    for rule, payload in alerts.values():
        if rule == "kl-codeword":
            got_words[str(payload["new_value"])] += 1
        else:
            for a in payload["articles"]:
                got[(rule, Path(a["path"]).name)] += 1
    missed = len(want - set(got)) + len(want_words - set(got_words))
    unexpected = len(set(got) - want) + len(set(got_words) - want_words)
    refired = sum(n - 1 for n in got.values()) + sum(n - 1 for n in got_words.values())
    by_status = {
        str(k): int(v)
        for k, v in _rows(db, "SELECT status, count(*) FROM deliveries GROUP BY status")
    }

    # the daemon's side: a delivery it saw answered 2xx is never attempted again
    sent_twice = sum(
        1
        for (n,) in _rows(
            db,
            "SELECT count(*) FROM delivery_attempts WHERE status_code BETWEEN 200 AND 299"
            " GROUP BY delivery_id",
        )
        if n > 1
    )

    # the receiver's side: requests per webhook-id, webhook-ids per fingerprint
    by_id: dict[str, list[Request]] = {}
    ids_by_fingerprint: dict[str, set[str]] = {}
    torn = mismatched = bad_signatures = 0
    for r in sorted((r for p in receiver.scripts for r in receiver.at(p)), key=lambda r: r.at):
        try:
            body = r.json()
        except ValueError:  # the daemon was killed while sending: no delivery
            torn += 1
            continue
        hid = r.headers.get("webhook-id", "")
        if body.get("id") != hid:
            mismatched += 1
        stamp = int(r.headers.get("webhook-timestamp", "0"))
        if r.headers.get("webhook-signature") != signature(_KILL_SECRET, hid, stamp, r.body):
            bad_signatures += 1
        ids_by_fingerprint.setdefault(str(body.get("fingerprint")), set()).add(hid)
        by_id.setdefault(hid, []).append(r)

    def ok(r: Request) -> bool:
        return r.status is not None and 200 <= r.status < 300

    # A request after a 2xx for the same id is a resend. At least once allows
    # two causes: the 2xx came after the sink's timeout (a hang), or the
    # daemon was killed between the 2xx and committing "sent".
    deliveries = duplicates = after_late = after_kill = unexplained = 0
    unexplained_ids: list[str] = []
    for reqs in by_id.values():
        n_ok = sum(1 for r in reqs if ok(r))
        deliveries += n_ok
        duplicates += max(0, n_ok - 1)
        last_ok: Request | None = None
        for r in reqs:
            if last_ok is not None:
                if last_ok.scripted is not None and last_ok.scripted.hang:
                    after_late += 1
                elif any(last_ok.at <= t <= r.at for t in kill_times):
                    after_kill += 1
                else:
                    unexplained += 1
                    unexplained_ids.append(r.headers.get("webhook-id", ""))
            if ok(r):
                last_ok = r
    undelivered = sum(1 for a in alerts if not any(ok(r) for r in by_id.get(a, [])))
    unknown_ids = sum(1 for i, reqs in by_id.items() if i not in alerts and any(map(ok, reqs)))
    two_ids = sum(1 for ids in ids_by_fingerprint.values() if len(ids) > 1)
    quarantined = int(db_scalar(db, "SELECT count(*) FROM quarantine") or 0)
    result: dict[str, Any] = {
        "articles": len(generated),
        "stored": len(stored_sha),
        "stored_distinct": len(set(stored_sha)),
        "stored_not_generated": len(set(stored_sha) - want_sha),
        "quarantined": quarantined,
        "left_in_inbox": sum(1 for _ in daemon.inbox.iterdir()),
        "alerts": len(alerts),
        "alerts_expected": len(want) + len(want_words),
        "alerts_missed": missed,
        "alerts_unexpected": unexpected,
        "alerts_refired": refired,
        "deliveries_by_status": by_status,
        "requests": sum(script.drawn.values()),
        "requests_torn_by_kill": torn,
        "connection_resets": script.resets,
        "answers_drawn": dict(script.drawn),
        "deliveries": deliveries,
        "undelivered": undelivered,
        "unknown_ids": unknown_ids,
        "fingerprints_with_two_ids": two_ids,
        "webhook_id_body_mismatches": mismatched,
        "bad_signatures": bad_signatures,
        "duplicate_deliveries": duplicates,
        "resends_after_late_2xx": after_late,
        "resends_after_kill": after_kill,
        "resends_unexplained": unexplained,
        "resends_unexplained_samples": [
            _resend_sample(db, i, by_id[i], kill_times) for i in unexplained_ids[:3]
        ],
        "sent_twice_by_daemon": sent_twice,
        "log_errors": _log_problems(daemon.log_path),
        "kills": sum(phases.values()),
        "kills_by_phase": dict(phases),
        "restarts": daemon.starts - 1,
        "crashes": len(crashes),
        "orphan_workers": orphans,
        "settled": settled,
        "exit_code": exit_code,
        "seconds": round(seconds, 1),
    }
    print(
        "kill_loop: {articles} articles, {alerts} alerts, {deliveries} deliveries"
        " ({duplicate_deliveries} duplicate), {kills} kills, {restarts} restarts,"
        " {seconds} s".format(**result),
        file=sys.stderr,
    )
    result["ok"] = (
        settled
        and exit_code == 0
        and not crashes
        and result["kills"] == kills
        and result["stored"] == result["stored_distinct"] == len(generated)
        and result["stored_not_generated"] == 0
        and quarantined == 0
        and result["left_in_inbox"] == 0
        and missed == unexpected == refired == 0
        and set(by_status) <= {"sent"}
        and undelivered == unknown_ids == two_ids == 0
        and mismatched == bad_signatures == 0
        and unexplained == sent_twice == 0
        and orphans == 0
    )
    return result


# -- bad_rules ------------------------------------------------------------------------

_STREAM_RULE = """\
[[rules]]
name = "stream-watch"
type = "term"
terms = ["pipeline"]
query_key = "article"
"""
"""Fires once for every article that mentions "pipeline": each stream article must alert."""

_STREAM_RULE_ALT = _STREAM_RULE.replace('["pipeline"]', '["pipeline", "oleoduct"]')
"""A valid edit that keeps the rule's state (terms added): the restore alternates the two."""

_FIGURE_RULE = """
[[rules]]
name = "stream-figures"
type = "figure"
units = ["vessel"]
"""

BROKEN_EDITS: tuple[tuple[str, bytes], ...] = tuple(
    (kind, text if isinstance(text, bytes) else text.encode())
    for kind, text in (
        ("toml syntax", _STREAM_RULE + "\n[[rules]\nname = 'x'\n"),
        ("unclosed string", _STREAM_RULE.replace('"pipeline"]', '"pipeline]')),
        ("unknown key", _STREAM_RULE + 'colour = "red"\n'),
        ("bad regex", _STREAM_RULE + _FIGURE_RULE + "sentence_regex = '(unclosed'\n"),
        ("undefined destination", _STREAM_RULE + 'destinations = ["pager"]\n'),
        ("wrong type", _STREAM_RULE + 'min_mentions = "two"\n'),
        ("terms not a list", _STREAM_RULE.replace('["pipeline"]', "42")),
        ("duplicate name", _STREAM_RULE + "\n" + _STREAM_RULE),
        ("empty name", _STREAM_RULE.replace('"stream-watch"', '""')),
        ("bad name", _STREAM_RULE.replace('"stream-watch"', '"stream watch!"')),
        ("unknown type", _STREAM_RULE.replace('"term"', '"sometimes"')),
        ("missing terms", _STREAM_RULE.replace('terms = ["pipeline"]\n', "")),
        ("empty terms", _STREAM_RULE.replace('["pipeline"]', "[]")),
        ("bad query_key", _STREAM_RULE.replace('"article"', '"planet"')),
        ("bad severity", _STREAM_RULE + 'severity = "apocalyptic"\n'),
        ("bad duration", _STREAM_RULE + 'realert = "5 parsecs"\n'),
        ("unknown template field", _STREAM_RULE + 'title = "{{ nosuch }}"\n'),
        ("template syntax", _STREAM_RULE + 'title = "{{ rule "\n'),
        ("unknown scope key", _STREAM_RULE + "[rules.scope]\nanywhere.terms = ['x']\n"),
        ("not utf-8", _STREAM_RULE.encode() + b'description = "caf\xe9"\n'),
        ("rules not a list", 'rules = "stream-watch"\n'),
    )
)
"""Broken edits of every kind a person makes; each must be refused with the old rules kept."""


def _log_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The JSON log lines after ``offset`` (whole lines only) and the new offset."""
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1
    events = []
    for line in data[:end].splitlines():
        if line.startswith(b"{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events, offset + end


def _stream_article(n: int) -> bytes:
    return (
        f"Pipeline bulletin {n}\n\n"
        f"Engineers said the pipeline near Port {n % 41} carried {n % 97 + 2} tankers of crude "
        f"on day {n} while inspectors checked the valves and the pumping station.\n"
    ).encode()


def bad_rules(edits: int = 100, seed: int = 11, interval: float = 0.05) -> dict[str, Any]:
    """``edits`` broken rule edits while articles flow; the old rule must keep firing.

    A live reload is only safe if a broken edit changes nothing: the rules in
    force stay in force, and articles arriving meanwhile are judged by them.
    A rule that fires once per article ("stream-watch", ``term`` with
    ``query_key = "article"``) runs while a writer drops an article every
    ``interval`` seconds. The rule file is then replaced (written aside and
    renamed in, as an editor or a deploy does) by broken versions, cycling
    through :data:`BROKEN_EDITS`; after each the run waits until the
    daemon's log says ``rules_reload_failed``, then drops a marker article
    and waits for its alert. Between some edits (drawn from
    ``random.Random(seed)``) a valid file is restored and must be reloaded.
    At the end every article dropped must have exactly one alert.
    """
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="wirewatch-bad-rules-") as tmp:
        root = Path(tmp)
        rules = root / "rules"
        rules.mkdir()
        rule_file = rules / "stream.toml"
        rule_file.write_text(_STREAM_RULE, encoding="utf-8")
        cfg = write_config(
            root,
            extract={"entities": False},
            rules={"dir": str(rules), "reload_poll_interval": 0.2},
        )
        daemon = Daemon(root, cfg).start()
        try:
            return _bad_rules_in(daemon, rule_file, edits, rng, interval)
        finally:
            if daemon.proc is not None:
                daemon.proc.kill()
                daemon.proc.wait()


def _bad_rules_in(
    daemon: Daemon, rule_file: Path, edits: int, rng: random.Random, interval: float
) -> dict[str, Any]:
    """The edits, the stream and the checks; see :func:`bad_rules`."""
    dropped: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def drop_next() -> str:
        with lock:
            n = len(dropped)
            name = f"{n:06d}.txt"
            dropped.append(name)
        tmp_path = daemon.inbox / f".{name}.tmp"
        tmp_path.write_bytes(_stream_article(n))
        os.rename(tmp_path, daemon.inbox / name)
        return name

    def stream() -> None:
        # the steady flow of articles; Event.wait paces it and ends it at once
        while not stop.wait(interval):
            drop_next()

    def alerted() -> Counter[str]:
        rows = _rows(
            daemon.db,
            "SELECT json_extract(payload, '$.articles[0].path') FROM alerts"
            " WHERE rule = 'stream-watch'",
        )
        return Counter(Path(str(r[0])).name for r in rows)

    def marker_alerts(name: str) -> bool:
        return bool(
            db_scalar(
                daemon.db,
                "SELECT count(*) FROM alerts WHERE rule = 'stream-watch'"
                " AND json_extract(payload, '$.articles[0].path') LIKE ?",
                f"%/{name}",
            )
        )

    def write_rules(data: bytes) -> None:
        tmp_path = rule_file.with_name(f".{rule_file.name}.tmp")
        tmp_path.write_bytes(data)
        os.rename(tmp_path, rule_file)

    offset = 0
    refused: Counter[str] = Counter()
    accepted: list[str] = []  # broken edits the daemon took: each one a bug
    unnamed: list[str] = []  # refusals whose problems do not name the file
    restores = restore_failures = 0
    late_markers: list[str] = []

    def next_reload() -> dict[str, Any]:
        """The next rules_reloaded or rules_reload_failed event in the log."""
        nonlocal offset
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            nonlocal offset
            events, offset = _log_events(daemon.log_path, offset)
            found.extend(
                e for e in events if e.get("event") in ("rules_reloaded", "rules_reload_failed")
            )
            return bool(found)

        wait_for(seen, 20, "the daemon to judge the rules edit")
        return found[0]

    def marker(after: str) -> None:
        name = drop_next()
        if not _settled(lambda: marker_alerts(name), 20):
            late_markers.append(after)

    _, offset = _log_events(daemon.log_path, 0)
    writer = threading.Thread(target=stream, name="stream", daemon=True)
    started = time.perf_counter()
    writer.start()
    try:
        marker("start")
        # a steady flow first, so "before" is a rate and not a single article
        wait_for(lambda: sum(alerted().values()) >= 10, 30, "the stream's first alerts")
        first_edit = len(dropped)
        for i in range(edits):
            kind, data = BROKEN_EDITS[i % len(BROKEN_EDITS)]
            write_rules(data)
            event = next_reload()
            took = event["event"] == "rules_reloaded"
            if took:
                accepted.append(kind)
            else:
                refused[kind] += 1
                problems = " ".join(event.get("problems") or [str(event.get("error"))])
                if rule_file.name not in problems:
                    unnamed.append(kind)
            marker(kind)
            if took or rng.random() < 0.3:  # a broken rule set in force must go at once
                restores += 1
                write_rules((_STREAM_RULE if restores % 2 else _STREAM_RULE_ALT).encode())
                if next_reload()["event"] != "rules_reloaded":
                    restore_failures += 1
                marker("restore")
    finally:
        stop.set()
        writer.join()
    total = len(dropped)
    settled = _settled(lambda: sum(alerted().values()) >= total, 60)
    code = daemon.stop()
    seconds = time.perf_counter() - started
    got = alerted()
    missed = [n for n in dropped if got[n] == 0]
    result: dict[str, Any] = {
        "edits": edits,
        "refused": sum(refused.values()),
        "refused_by_kind": dict(refused),
        "accepted_broken": accepted,
        "refusals_not_naming_file": unnamed,
        "restores": restores,
        "restore_failures": restore_failures,
        "articles": total,
        "articles_before_edits": first_edit,
        "alerts_before_edits": sum(got[n] for n in dropped[:first_edit]),
        "articles_during_edits": total - first_edit,
        "alerts_during_edits": sum(got[n] for n in dropped[first_edit:]),
        "alerts": sum(got.values()),
        "alerts_missed": len(missed),
        "alerts_duplicated": sum(n - 1 for n in got.values() if n > 1),
        "markers_late": len(late_markers),
        "any_alert_missed": bool(missed),
        "quarantined": int(db_scalar(daemon.db, "SELECT count(*) FROM quarantine") or 0),
        "settled": settled,
        "exit_code": code,
        "seconds": round(seconds, 1),
    }
    result["ok"] = (
        settled
        and code == 0
        and result["refused"] == edits
        and not unnamed
        and restore_failures == 0
        and not missed
        and not late_markers
        and result["alerts_duplicated"] == 0
        and result["quarantined"] == 0
    )
    return result


SCENARIOS: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[], dict[str, Any]]]] = {
    "flood": (flood, lambda: flood(3000, 200)),
    "malformed": (malformed, lambda: malformed(150, 12)),
    "kill_loop": (kill_loop, lambda: kill_loop(kills=5, articles=300)),
    "bad_rules": (bad_rules, lambda: bad_rules(edits=len(BROKEN_EDITS))),
    "disk": (disk_full, lambda: disk_full(before=30, during=50, size_mib=32)),
}
"""Each scenario at full size and at the size ``make test`` uses."""


def run(small: bool = False, only: list[str] | None = None) -> dict[str, Any]:
    return {name: SCENARIOS[name][1 if small else 0]() for name in only or SCENARIOS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--small", action="store_true", help="the sizes make test uses")
    ap.add_argument(
        "--only", action="append", choices=list(SCENARIOS), help="run this scenario (repeatable)"
    )
    args = ap.parse_args()
    result = run(args.small, args.only)
    print(json.dumps(result, indent=2))
    if not all(r["ok"] for r in result.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
