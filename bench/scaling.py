"""Scaling: per-article cost and memory as the archive grows, and as the watchlist grows.

A daemon that is quick on an empty database can still slow down, or grow,
as years of articles pile up behind it: every index it writes to gets
deeper, the stories' hot window and the rules' state are read back at
start, and every fingerprint ever fired is kept in memory. This benchmark
ingests a fresh sample of articles through the whole pipeline (parse,
extract, stories, 200 generated rules, store; the same pipeline as
``backfill``'s ``whole_pipeline_200_rules``) on top of archives of
1,000, 100,000 and 1,000,000 stored articles, and reports milliseconds per
article and the peak resident memory of the processes doing it, start-up
included (``ratio_ms_per_article_largest_vs_smallest`` is the headline;
the target for memory is at most 300 MB at a million articles).

The archive is generated, not ingested: 1M articles through the real
pipeline would take hours. The corpus goes once through the real pipeline
into a *base* database; each archive is then bulk-copied from it with
plain SQL (``INSERT ... SELECT`` in one transaction, secondary indexes and
the full-text index built after the copy with the schema's own
statements): articles with new ids, hashes and paths and a changed digit
in the text, their figures, mentions, sightings and files rows, their
stories (through the schema's own trigger), copies, and the outbox and
rules rows that grow with an archive (fired fingerprints, alerts and their
deliveries in proportion; ``new_term`` state like a vocabulary, with the
square root of the archive). Publication times go back from now at a
steady ``articles_per_day``, so only the last week (the stories window)
is hot: 1M articles at 500 a day is five and a half years.

Each size is measured in subprocesses of their own (one per run), so
memory is per size: the fresh sample is the corpus articles behind the
newest archive rows (follow-ups of the stories in the window), each with
two sentences swapped, a number changed and a publication time of now, so
every one is new. Every run starts from the same archive (a fresh copy,
written to disk first, while the disk has room for one; else the runs
follow one another on it), and the runs take turns between the sizes, so
a busy spell on the shared machine does not skew a ratio; beside the
wall time per article, the CPU time of all the pipeline's processes per
article is reported, which other people's work on the machine does not
inflate (it leaves out waiting for the disk). Memory is the peak RSS (VmHWM) of every
process of the pipeline (the main one, which holds the database, the
rules' state and fingerprints; the stories engine, which holds the hot
window; the prepare worker), and the main process's alone;
``pss_end_mb`` counts pages they share once. With the defaults the two
largest archives have the same hot window (``hot_articles_at_start``), so
``ratio_ms_per_article_largest_vs_second`` is the archive's own effect.
The watchlist half reuses :mod:`bench.terms`.

Run from the repository root::

    .venv/bin/python -m bench.scaling --corpus /work/shared/corpus/bbc
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import proc_cpu_seconds, proc_memory, proc_stat

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "bbc"
REPO = Path(__file__).resolve().parents[1]
SHIPPED_CONFIG = REPO / "config" / "wirewatch.toml"
SIZES = (1_000, 100_000, 1_000_000)
SAMPLE = 400
RUNS = 3
ARTICLES_PER_DAY = 500.0
RSS_TARGET_MB = 300.0
DISK_MARGIN = 2 << 30
"""Free disk to leave: runs get a fresh copy of the archive only when it fits beside it."""

_DAY = 86_400.0


def _log(message: str) -> None:
    print(f"[scaling] {message}", file=sys.stderr, flush=True)


def _iso(ts: float) -> str:
    """The store's time format (``iso()`` in wirewatch.store.base): UTC, seconds."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


# -- the base database: the corpus through the real pipeline -------------------------


@dataclass(frozen=True)
class Base:
    """The corpus ingested once through the real pipeline: the templates of every archive."""

    db: Path
    rules: Path
    templates: int
    stride: int
    seconds: float
    bytes_per_article: float


def _config(root: Path, rules: Path) -> Any:
    """Backfill's whole-pipeline config (shipped extract settings, stories on, ``rules``)."""
    from bench.backfill import config_for
    from wirewatch.config import Config, load_config

    extract = Config().extract
    if SHIPPED_CONFIG.exists():
        extract = load_config(SHIPPED_CONFIG, env={})[0].extract
    return config_for(root, extract, rules)


async def _ingest(cfg: Any, files: list[Path]) -> tuple[float, Any]:
    from wirewatch.ingest import ingest_paths
    from wirewatch.service import close_pipeline, open_pipeline

    pipeline = await open_pipeline(cfg, after_store="keep", warm=True)
    try:
        seconds = await ingest_paths(pipeline, files, cfg.pipeline.workers)
    finally:
        await close_pipeline(pipeline)
    return seconds, pipeline.counts


def build_base(corpus: Path, root: Path, rules_count: int = 200) -> Base:
    """Ingest every corpus file into ``root/var/wirewatch.db`` with stories and generated rules.

    Runs in a subprocess: the pipeline's worker processes are spawned, so
    the process that starts them must have an import-safe main module,
    which a caller's script need not have.
    """
    started = time.perf_counter()
    out = _child({"op": "base", "corpus": str(corpus), "root": str(root), "rules": rules_count})
    db = Path(out["db"])
    conn = sqlite3.connect(db)
    try:
        templates, stride = conn.execute("SELECT count(*), max(id) FROM articles").fetchone()
    finally:
        conn.close()
    return Base(
        db=db,
        rules=Path(out["rules"]),
        templates=int(templates),
        stride=int(stride),
        seconds=time.perf_counter() - started,
        bytes_per_article=db.stat().st_size / max(1, int(templates)),
    )


def _base_in_child(corpus: Path, root: Path, rules_count: int) -> dict[str, Any]:
    from bench.backfill import corpus_files
    from bench.rules import prepare, write_generated_rules

    items, _ = prepare(corpus, None)
    rules = write_generated_rules(items, root / "rules", rules_count, "typical")
    cfg = _config(root, rules)
    seconds, counts = asyncio.run(_ingest(cfg, corpus_files(corpus)))
    conn = sqlite3.connect(cfg.store.database_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        "db": str(cfg.store.database_path),
        "rules": str(rules),
        "seconds": seconds,
        "stored": counts.stored,
    }


# -- the archive: bulk copies of the base -------------------------------------------

_FTS_TRIGGER = "articles_fts_insert"


def _schema(db: Path) -> None:
    """Create an empty database through the store's own migrations."""
    from wirewatch.store import Store

    async def go() -> None:
        store = await Store.open(db)
        await store.close()

    asyncio.run(go())


def _flush(path: Path) -> None:
    """Write ``path`` to disk now.

    The bulk copy runs with ``synchronous=OFF``, leaving gigabytes of dirty
    pages; flushed lazily, they would compete with the measured run's own
    ``fsync`` calls and bill the archive's writing to the first sample.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rounds(size: int, templates: int) -> tuple[int, float]:
    """Full copies of the base in an archive of ``size``, and the share of one more."""
    full, rest = divmod(size, templates)
    return full, rest / templates


def generate_archive(
    base: Base,
    db: Path,
    size: int,
    *,
    articles_per_day: float = ARTICLES_PER_DAY,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write an archive of ``size`` articles at ``db``, bulk-copied from ``base``.

    Archive row ``i`` (in id order) copies template ``i mod templates`` in
    round ``i div templates``; its id is ``round * stride + template id``,
    so a round's stories, matches and copies map by the same offset. It is
    published ``(size - 1 - i) / articles_per_day`` days before ``now``.
    """
    started = time.perf_counter()
    newest = (now or datetime.now(UTC)) - timedelta(hours=1)
    db.parent.mkdir(parents=True, exist_ok=True)
    _schema(db)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("PRAGMA threads=2")  # sorts for CREATE INDEX on both cores
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("ATTACH DATABASE ? AS b", (str(base.db),))
        # Secondary indexes and the full-text trigger go while rows pour in, and
        # come back afterwards from the statements the migrations created them with.
        rebuilt = conn.execute(
            "SELECT type, name, sql FROM main.sqlite_master WHERE sql IS NOT NULL AND"
            " ((type = 'index') OR (type = 'trigger' AND name = ?))",
            (_FTS_TRIGGER,),
        ).fetchall()
        for kind, name, _ in rebuilt:
            conn.execute(f"DROP {kind.upper()} main.{name}")
        _fill(conn, base, size, newest.timestamp(), articles_per_day)
        phase = time.perf_counter()
        for _, _, sql in rebuilt:
            if _FTS_TRIGGER not in sql:
                conn.execute(sql)
        _log(f"  indexes: {time.perf_counter() - phase:.1f} s")
        phase = time.perf_counter()
        conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
        for _, _, sql in rebuilt:
            if _FTS_TRIGGER in sql:
                conn.execute(sql)
        _log(f"  full-text index: {time.perf_counter() - phase:.1f} s")
        conn.execute("DETACH DATABASE b")
        conn.execute("PRAGMA journal_mode=WAL")
        counts = {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in (
                "articles",
                "figures",
                "mentions",
                "story_articles",
                "stories",
                "copies",
                "rule_fired",
                "rule_state",
                "alerts",
            )
        }
        window_from = _iso(newest.timestamp() - 7 * _DAY)
        counts["in_last_7_days"] = int(
            conn.execute(
                "SELECT count(*) FROM story_articles WHERE at >= ?", (window_from,)
            ).fetchone()[0]
        )
    finally:
        conn.close()
    _flush(db)
    return {
        "seconds": time.perf_counter() - started,
        "bytes": db.stat().st_size,
        "counts": counts,
        "newest": newest.isoformat(timespec="seconds"),
    }


def _fill(conn: sqlite3.Connection, base: Base, size: int, newest: float, per_day: float) -> None:
    """Copy every table an archive has, in one transaction."""
    stride, templates = base.stride, base.templates
    src_ids = [r[0] for r in conn.execute("SELECT id FROM b.articles ORDER BY id")]
    full, share = _rounds(size, templates)
    conn.execute("BEGIN")
    phase = time.perf_counter()
    conn.execute(
        "CREATE TEMP TABLE gen (id INTEGER PRIMARY KEY, src INTEGER NOT NULL,"
        " k INTEGER NOT NULL, pub TEXT NOT NULL, ing TEXT NOT NULL)"
    )
    step = _DAY / per_day

    def rows() -> Any:
        for i in range(size):
            k, j = divmod(i, templates)
            ts = newest - (size - 1 - i) * step
            yield (k * stride + src_ids[j], src_ids[j], k, _iso(ts), _iso(ts + 300))

    conn.executemany("INSERT INTO gen VALUES (?,?,?,?,?)", rows())
    last_id = conn.execute("SELECT max(id) FROM gen").fetchone()[0]
    _log(f"  plan: {time.perf_counter() - phase:.1f} s")

    def timed(what: str, sql: str, params: Any = ()) -> None:
        t = time.perf_counter()
        conn.execute(sql, params)
        _log(f"  {what}: {time.perf_counter() - t:.1f} s")

    # A changed digit ("2,000" becomes "2,777" in round 7): cheap, same length, so
    # the stored offsets of mentions and figures still point at their words.
    digit = "char(48 + g.k % 10)"
    timed(
        "articles",
        "INSERT INTO articles(id, sha256, path, title, title_derived, published,"
        " date_estimated, caption, subheads, source_hints, url, format, body, size,"
        " ingested_at, previous_version)"
        " SELECT g.id, substr(a.sha256, 1, 48) || printf('%016x', g.id),"
        " printf('archive/%010d.txt', g.id), a.title, a.title_derived, g.pub, 0, a.caption,"
        f" a.subheads, a.source_hints, a.url, a.format, replace(a.body, '0', {digit}),"
        " a.size, g.ing, NULL FROM gen g JOIN b.articles a ON a.id = g.src ORDER BY g.id",
    )
    timed(
        "figures",
        "INSERT INTO figures(article_id, low, high, text, qualifier, qualifier_kind, unit,"
        ' unit_lemma, modifiers, context, kind, currency, implied_unit, start, "end",'
        " sentence, published)"
        f" SELECT g.id, f.low, f.high, replace(f.text, '0', {digit}), f.qualifier,"
        " f.qualifier_kind, f.unit, f.unit_lemma, f.modifiers, f.context, f.kind, f.currency,"
        f" f.implied_unit, f.start, f.\"end\", replace(f.sentence, '0', {digit}), g.pub"
        " FROM gen g JOIN b.figures f ON f.article_id = g.src ORDER BY g.id, f.id",
    )
    timed(
        "mentions",
        "INSERT INTO mentions(article_id, term, watched, count, spans, published)"
        " SELECT g.id, m.term, m.watched, m.count, m.spans, g.pub"
        " FROM gen g JOIN b.mentions m ON m.article_id = g.src ORDER BY g.id, m.term",
    )
    timed(
        "sightings and files",
        "INSERT INTO sightings(article_id, path, file_sha256, seen_at)"
        " SELECT g.id, a.path, a.sha256, g.ing FROM gen g JOIN main.articles a ON a.id = g.id"
        " ORDER BY g.id",
    )
    conn.execute(
        "INSERT INTO files(path, sha256, size, mtime_ns, article_id, handled_at)"
        " SELECT a.path, a.sha256, a.size, CAST(unixepoch(g.ing) AS INTEGER) * 1000000000,"
        " g.id, g.ing FROM gen g JOIN main.articles a ON a.id = g.id ORDER BY a.path"
    )
    # The schema's trigger on story_articles opens and counts stories and records
    # sources, exactly as a placement does.
    timed(
        "stories",
        "INSERT INTO story_articles(article_id, story_id, score, reason, matched_article_id,"
        " source, at, dated, joined_at, version, text_hash, minhash, shingles, term_hashes,"
        " term_weights, figures)"
        " SELECT g.id, s.story_id + g.k * :stride, s.score, s.reason,"
        " CASE WHEN s.matched_article_id + g.k * :stride <= :last"
        " THEN s.matched_article_id + g.k * :stride END,"
        " s.source, g.pub, 1, g.ing, s.version, s.text_hash || ':' || (g.k % 10), s.minhash,"
        " s.shingles, s.term_hashes, s.term_weights, s.figures"
        " FROM gen g JOIN b.story_articles s ON s.article_id = g.src ORDER BY g.id",
        {"stride": stride, "last": last_id},
    )
    conn.execute(
        "INSERT INTO copies(article_id, original_id, kind, method, similarity, containment,"
        " aligned, figures_overlap)"
        " SELECT g.id, c.original_id + g.k * :stride, c.kind, c.method, c.similarity,"
        " c.containment, c.aligned, c.figures_overlap"
        " FROM gen g JOIN b.copies c ON c.article_id = g.src"
        " WHERE c.original_id + g.k * :stride IN (SELECT id FROM gen) ORDER BY g.id",
        {"stride": stride},
    )
    phase = time.perf_counter()
    _grow_outbox_and_rules(conn, full, share, newest, size, templates, per_day)
    _log(f"  outbox and rules: {time.perf_counter() - phase:.1f} s")
    conn.execute("DROP TABLE temp.gen")
    t = time.perf_counter()
    conn.execute("COMMIT")
    _log(f"  commit: {time.perf_counter() - t:.1f} s")


def _grow_outbox_and_rules(
    conn: sqlite3.Connection,
    full: int,
    share: float,
    newest: float,
    size: int,
    templates: int,
    per_day: float,
) -> None:
    """Fired fingerprints, alerts and deliveries in proportion; rules state like a vocabulary.

    The rules stage keeps every fingerprint ever fired in memory, so an
    archive without them would understate memory; most are per story (a
    ``term`` rule keyed on the story), so they grow with the archive. The
    state of ``new_term`` rules holds one row per name ever seen, which
    grows like a vocabulary (Heaps' law, here with the square root).
    """
    conn.execute("CREATE TEMP TABLE rounds (k INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    rounds = full + (1 if share > 0 else 0)
    middle = templates / 2
    conn.executemany(
        "INSERT INTO rounds VALUES (?, ?)",
        [
            (k, _iso(newest - (size - 1 - min(size - 1, k * templates + middle)) * _DAY / per_day))
            for k in range(rounds)
        ],
    )

    def copy(table: str, columns: str, select: str, key: str, by: str = "") -> None:
        """Every row of ``table`` once per full round, and the round's share of one more.

        The share is the first rows by ``key``, or the rows whose ``key`` is
        among the first of ``by`` (a ``table.column`` it refers to), so that
        a delivery comes with its alert.
        """
        ref_table, ref_key = by.split(".") if by else (table, key)
        total = int(conn.execute(f"SELECT count(*) FROM b.{ref_table}").fetchone()[0])
        part = round(total * share)
        sql = f"INSERT INTO {table}({columns}) SELECT {select} FROM rounds r, b.{table} x"
        conn.execute(f"{sql} WHERE r.k < ? ORDER BY r.k, x.{key}", (full,))
        if part:
            conn.execute(
                f"{sql} WHERE r.k = ? AND x.{key} IN (SELECT {ref_key} FROM b.{ref_table}"
                f" ORDER BY {ref_key} LIMIT ?) ORDER BY x.{key}",
                (full, part),
            )

    fp = "printf('%08x', r.k) || substr(x.fingerprint, 9)"
    copy(
        "rule_fired",
        "fingerprint, rule, key, value, status, fired_at",
        f"{fp}, x.rule, x.key, x.value, x.status, r.at",
        "fingerprint",
    )
    copy(
        "alerts",
        "id, fingerprint, rule, rule_type, severity, created_at, payload",
        f"printf('%08x', r.k) || substr(x.id, 9), {fp}, x.rule, x.rule_type, x.severity,"
        " r.at, x.payload",
        "id",
    )
    copy(
        "deliveries",
        "alert_id, sink, status, attempts, next_attempt_at, created_at, queued_at,"
        " updated_at, last_error, sent_at",
        "printf('%08x', r.k) || substr(x.alert_id, 9), x.sink, 'sent', 1, r.at, r.at, r.at,"
        " r.at, NULL, r.at",
        "alert_id",
        by="alerts.id",
    )
    conn.execute("INSERT INTO rule_state SELECT * FROM b.rule_state")
    conn.execute("INSERT INTO rule_definitions SELECT * FROM b.rule_definitions")
    extra = max(0, math.ceil(math.sqrt(size / templates)) - 1)
    if extra:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT OR IGNORE INTO rule_state(rule, kind, key, state, updated_at)"
            " SELECT s.rule, s.kind, s.key || ' ~' || n.i, s.state, s.updated_at"
            " FROM b.rule_state s, n WHERE s.rule LIKE 'new\\_term-%' ESCAPE '\\'",
            (extra,),
        )
    conn.execute("DROP TABLE temp.rounds")


# -- the fresh sample --------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
_NUMBER = re.compile(r"\b\d+\b")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def vary(text: str, rng: random.Random, published: datetime) -> str:
    """A new article from a corpus one: two sentences swapped, a number changed, dated now.

    The ``Published:`` line under the title is a real publication time to
    the parser, so the stories stage places the article by it, like a
    live feed's.
    """
    title, _, rest = text.strip().partition("\n")
    paragraphs = [p for p in rest.strip().split("\n\n") if p.strip()]
    long = [i for i, p in enumerate(paragraphs) if len(_SENTENCE.split(p)) >= 2]
    if long:
        i = rng.choice(long)
        sentences = _SENTENCE.split(paragraphs[i])
        j = rng.randrange(len(sentences) - 1)
        sentences[j], sentences[j + 1] = sentences[j + 1], sentences[j]
        paragraphs[i] = " ".join(sentences)
    body = "\n\n".join(paragraphs)
    numbers = list(_NUMBER.finditer(body))
    if numbers:
        m = rng.choice(numbers)
        body = f"{body[: m.start()]}{int(m.group()) + rng.randint(1, 9)}{body[m.end() :]}"
    stamp = published.isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{title}\nPublished: {stamp}\n\n{body}\n"


def sample_templates(base: Base, size: int, count: int) -> list[Path]:
    """The corpus files behind the ``count`` newest rows of an archive of ``size``.

    The sample follows up the stories in the hot window, as live news
    does, and does so alike at every size.
    """
    conn = sqlite3.connect(base.db)
    try:
        paths = [Path(r[0]) for r in conn.execute("SELECT path FROM articles ORDER BY id")]
    finally:
        conn.close()
    first = max(0, size - count)
    return [paths[i % len(paths)] for i in range(first, first + count)]


def write_sample(templates: list[Path], folder: Path, seed: int) -> list[Path]:
    """Varied copies of ``templates`` in ``folder``, published within the last half hour."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for n, src in enumerate(templates):
        published = now - timedelta(seconds=rng.randint(60, 1800))
        path = folder / f"s{seed}-{n:05d}.txt"
        path.write_text(vary(_decode(src.read_bytes()), rng, published), encoding="utf-8")
        out.append(path)
    return out


# -- one measurement, in a process of its own -----------------------------------------


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (from each process's parent in ``/proc/*/stat``)."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        fields = proc_stat(proc.name)
        if fields is not None:
            parents[int(proc.name)] = int(fields[1])
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, parent in parents.items() if parent == p]
        out += kids
        todo += kids
    return out


def _role(pid: int, engine_pid: int | None) -> str:
    if pid == engine_pid:
        return "stories_engine"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "other"
    return "resource_tracker" if b"resource_tracker" in cmdline else "prepare_worker"


def _tree_memory(engine_pid: int | None) -> dict[str, dict[str, float]]:
    """Resident memory of this process and every process it started, by role, in MB.

    ``peak`` is the kernel's high-water mark (VmHWM) of each process;
    ``now`` its current RSS; ``pss`` its proportional share, which counts
    pages shared between the processes (the interpreter, libraries) once.
    """
    mb = 1024 * 1024
    out: dict[str, dict[str, float]] = {}
    me = os.getpid()
    for pid in [me, *_descendants(me)]:
        role = "main" if pid == me else _role(pid, engine_pid)
        row = out.setdefault(role, {"peak": 0.0, "now": 0.0, "pss": 0.0, "processes": 0.0})
        row["peak"] += proc_memory(pid, "VmHWM") / mb
        row["now"] += proc_memory(pid, "VmRSS") / mb
        row["pss"] += proc_memory(pid, "Pss", "smaps_rollup") / mb
        row["processes"] += 1
    return out


def _tree_cpu() -> dict[int, float]:
    """CPU seconds (user + system) used so far by this process and each it started.

    Wall time per article is what a user waits, but on a shared machine it
    also counts other people's work; CPU time does not, so it keeps a ratio
    between sizes meaningful on a busy machine. (It leaves out waiting for
    the disk, which wall time keeps.)
    """
    times = os.times()
    out = {os.getpid(): times.user + times.system}
    for pid in _descendants(os.getpid()):
        if (cpu := proc_cpu_seconds(pid)) is not None:
            out[pid] = cpu
    return out


async def _measure(cfg: Any, files: list[Path]) -> dict[str, Any]:
    """Start the whole pipeline on the archive, ingest ``files``, and report time and memory."""
    from wirewatch.ingest import ingest_paths
    from wirewatch.service import close_pipeline, open_pipeline
    from wirewatch.stories.stage import StoriesStage

    t = time.perf_counter()
    pipeline = await open_pipeline(cfg, after_store="keep", warm=True)
    start_seconds = time.perf_counter() - t
    try:
        hot, engine_pid = 0, None
        for hook in pipeline.writer.hooks:
            if isinstance(hook, StoriesStage):
                hot = int((await hook.stats()).get("hot_articles", 0))
                engine_pid = getattr(getattr(hook, "_remote", None), "pid", None)
        at_start = _tree_memory(engine_pid)
        cpu_before = _tree_cpu()
        seconds = await ingest_paths(pipeline, files, cfg.pipeline.workers)
        cpu_after = _tree_cpu()
        at_end = _tree_memory(engine_pid)
    finally:
        await close_pipeline(pipeline)
    c = pipeline.counts
    return {
        "start_seconds": start_seconds,
        "hot_articles_at_start": hot,
        "seconds": seconds,
        "stored": c.stored,
        "duplicate": c.duplicate,
        "quarantined": c.quarantined,
        "failed": c.failed,
        "ms_per_article": seconds / max(1, c.stored) * 1000,
        "cpu_ms_per_article": sum(v - cpu_before.get(pid, 0.0) for pid, v in cpu_after.items())
        / max(1, c.stored)
        * 1000,
        "rss_after_start_mb": sum(r["now"] for r in at_start.values()),
        "main_peak_rss_mb": at_end["main"]["peak"],
        "peak_rss_mb": sum(r["peak"] for r in at_end.values()),
        "pss_end_mb": sum(r["pss"] for r in at_end.values()),
        "peak_rss_by_role_mb": {role: r["peak"] for role, r in at_end.items()},
        "processes": int(sum(r["processes"] for r in at_end.values())),
    }


def _child(job: dict[str, Any]) -> dict[str, Any]:
    """Run ``job`` in a fresh interpreter (``python -m bench.scaling --child``)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "daemon")])}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.scaling", "--child", json.dumps(job)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"scaling child {job['op']} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _child_main(job: dict[str, Any]) -> dict[str, Any]:
    from wirewatch.logs import configure_logging

    configure_logging("json", "error")
    if job["op"] == "base":
        return _base_in_child(Path(job["corpus"]), Path(job["root"]), int(job["rules"]))
    cfg = _config(Path(job["root"]), Path(job["rules"]))
    files = sorted(Path(job["sample"]).glob("*.txt"))
    return asyncio.run(_measure(cfg, files))


# -- the benchmark ---------------------------------------------------------------------


def _free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


@dataclass
class Archive:
    """One generated archive and the runs measured on it."""

    size: int
    master: Path
    generated: dict[str, Any]
    templates: list[Path]
    results: list[dict[str, Any]]
    copy_seconds: float = 0.0
    fresh_copies: bool = True


def _generate(base: Base, work: Path, size: int, sample: int, per_day: float) -> Archive:
    need = base.bytes_per_article * size * 1.6
    if _free_bytes(work) < need + DISK_MARGIN:
        raise RuntimeError(
            f"not enough free disk under {work} for {size:,} articles: "
            f"need about {need / 1e9:.1f} GB, have {_free_bytes(work) / 1e9:.1f} GB"
        )
    master = work / f"archive-{size}" / "master.db"
    _log(f"generating {size:,} articles …")
    gen = generate_archive(base, master, size, articles_per_day=per_day)
    _log(
        f"generated {size:,} articles in {gen['seconds']:.1f} s "
        f"({gen['bytes'] / 1e9:.2f} GB, {gen['counts']['in_last_7_days']:,} in the last 7 days)"
    )
    return Archive(size, master, gen, sample_templates(base, size, sample), [])


def _measure_once(base: Base, work: Path, archive: Archive, run_no: int, last: bool) -> None:
    """One run on ``archive``: a fresh copy of it (or, on the last run, the original)."""
    size = archive.size
    root = work / f"run-{size}-{run_no}"
    (root / "var").mkdir(parents=True)
    db = root / "var" / "wirewatch.db"
    if run_no == 0:
        archive.fresh_copies = _free_bytes(work) >= archive.master.stat().st_size + DISK_MARGIN
    copy = archive.fresh_copies and not last
    if copy:
        t = time.perf_counter()
        shutil.copyfile(archive.master, db)
        _flush(db)
        archive.copy_seconds += time.perf_counter() - t
    else:
        os.replace(archive.master, db)
    write_sample(archive.templates, root / "sample", seed=size * 100 + run_no)
    job = {
        "op": "measure",
        "root": str(root),
        "rules": str(base.rules),
        "sample": str(root / "sample"),
    }
    out = _child(job)
    archive.results.append(out)
    _log(
        f"  {size:,} run {run_no + 1}: {out['ms_per_article']:.2f} ms/article "
        f"({out['cpu_ms_per_article']:.2f} ms CPU), "
        f"peak RSS {out['peak_rss_mb']:.0f} MB (main {out['main_peak_rss_mb']:.0f} MB), "
        f"start {out['start_seconds']:.2f} s, hot window {out['hot_articles_at_start']:,}"
    )
    if not copy and not last:
        os.replace(db, archive.master)
    shutil.rmtree(root)
    if last:
        shutil.rmtree(archive.master.parent, ignore_errors=True)


def _summary(archive: Archive, sample: int) -> dict[str, Any]:
    results, gen = archive.results, archive.generated
    ms = [r["ms_per_article"] for r in results]
    cpu = [r["cpu_ms_per_article"] for r in results]
    rss = [r["peak_rss_mb"] for r in results]
    return {
        "articles": gen["counts"]["articles"],
        "generate_seconds": gen["seconds"],
        "db_gb": gen["bytes"] / 1e9,
        "in_last_7_days": gen["counts"]["in_last_7_days"],
        "table_rows": {k: v for k, v in gen["counts"].items() if k != "in_last_7_days"},
        "sample": sample,
        "runs": len(results),
        "fresh_copy_per_run": archive.fresh_copies,
        "copy_seconds": archive.copy_seconds,
        "median_ms_per_article": statistics.median(ms),
        "runs_ms_per_article": [round(x, 3) for x in ms],
        "min_ms_per_article": min(ms),
        "median_cpu_ms_per_article": statistics.median(cpu),
        "runs_cpu_ms_per_article": [round(x, 3) for x in cpu],
        "median_peak_rss_mb": statistics.median(rss),
        "max_peak_rss_mb": max(rss),
        "main_peak_rss_mb": statistics.median(r["main_peak_rss_mb"] for r in results),
        "pss_end_mb": statistics.median(r["pss_end_mb"] for r in results),
        "peak_rss_by_role_mb": results[len(results) // 2]["peak_rss_by_role_mb"],
        "rss_after_start_mb": statistics.median(r["rss_after_start_mb"] for r in results),
        "start_seconds": statistics.median(r["start_seconds"] for r in results),
        "hot_articles_at_start": results[0]["hot_articles_at_start"],
        "stored_per_run": [r["stored"] for r in results],
        "processes": results[0]["processes"],
    }


def measure_sizes(
    base: Base,
    work: Path,
    sizes: tuple[int, ...],
    *,
    sample: int,
    runs: int,
    articles_per_day: float,
) -> dict[str, Any]:
    """Generate an archive of each size, then measure ``runs`` rounds across them.

    The rounds take turns between the sizes (each round starting at the
    next size), so a busy spell on a shared machine slows every size
    alike instead of skewing a ratio.
    """
    archives = [_generate(base, work, size, sample, articles_per_day) for size in sizes]
    try:
        for run_no in range(runs):
            turn = archives[run_no % len(archives) :] + archives[: run_no % len(archives)]
            for archive in turn:
                _measure_once(base, work, archive, run_no, last=run_no == runs - 1)
    finally:
        for archive in archives:
            shutil.rmtree(archive.master.parent, ignore_errors=True)
    return {str(a.size): _summary(a, sample) for a in archives}


def run(
    corpus: Path = DEFAULT_CORPUS,
    sizes: tuple[int, ...] = SIZES,
    sample: int = SAMPLE,
    runs: int = RUNS,
    articles_per_day: float = ARTICLES_PER_DAY,
    terms: bool = True,
    terms_repeats: int = 3,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Per-article cost and peak memory at each archive size, and per watchlist size.

    ``sizes``, ``sample`` and ``runs`` make a tiny form for tests; the
    watchlist half (``terms``) runs :func:`bench.terms.run` on the corpus.
    """
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="wirewatch-scaling-", dir=workdir))
    result: dict[str, Any] = {}
    try:
        _log(f"base: ingesting {corpus} through the whole pipeline …")
        base = build_base(corpus, work / "base")
        _log(f"base: {base.templates:,} articles in {base.seconds:.1f} s")
        result["base_articles"] = base.templates
        result["base_seconds"] = base.seconds
        result["articles_per_day"] = articles_per_day
        by_size = measure_sizes(
            base, work, sizes, sample=sample, runs=runs, articles_per_day=articles_per_day
        )
        result["archive"] = by_size
        small, large = by_size[str(min(sizes))], by_size[str(max(sizes))]
        result["ratio_ms_per_article_largest_vs_smallest"] = (
            large["median_ms_per_article"] / small["median_ms_per_article"]
        )
        result["ratio_min_ms_per_article_largest_vs_smallest"] = (
            large["min_ms_per_article"] / small["min_ms_per_article"]
        )
        result["ratio_cpu_ms_per_article_largest_vs_smallest"] = (
            large["median_cpu_ms_per_article"] / small["median_cpu_ms_per_article"]
        )
        if len(sizes) > 2:
            # With the defaults the two largest archives have the same hot window, so
            # this ratio is the archive's own effect; the smallest's window is smaller.
            second = by_size[str(sorted(sizes)[-2])]
            result["ratio_ms_per_article_largest_vs_second"] = (
                large["median_ms_per_article"] / second["median_ms_per_article"]
            )
            result["ratio_cpu_ms_per_article_largest_vs_second"] = (
                large["median_cpu_ms_per_article"] / second["median_cpu_ms_per_article"]
            )
        result["peak_rss_mb_at_largest"] = large["max_peak_rss_mb"]
        result["main_peak_rss_mb_at_largest"] = large["main_peak_rss_mb"]
        result["rss_target_mb"] = RSS_TARGET_MB
        result["rss_within_target"] = large["max_peak_rss_mb"] <= RSS_TARGET_MB
        result["main_rss_within_target"] = large["main_peak_rss_mb"] <= RSS_TARGET_MB
        result["generate_seconds_total"] = sum(v["generate_seconds"] for v in by_size.values())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if terms:
        from bench import terms as terms_bench

        _log("watch terms: 10, 1,000 and 10,000 …")
        t = terms_bench.run(corpus, terms_repeats)
        result["terms"] = {
            **{f"us_per_article_{n}": t[f"terms_{n}_us_per_article"] for n in terms_bench.SIZES},
            "ratio_10000_vs_10": t["ratio_10000_vs_10"],
            "adversarial_ratio_10000_vs_10": t["adversarial_ratio_10000_vs_10"],
            "top_ratio_10000_vs_10": t["top_ratio_10000_vs_10"],
        }
    result["wall_seconds"] = time.perf_counter() - started
    return result


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_child_main(json.loads(sys.argv[2]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--sample", type=int, default=SAMPLE)
    ap.add_argument("--runs", type=int, default=RUNS)
    ap.add_argument("--articles-per-day", type=float, default=ARTICLES_PER_DAY)
    ap.add_argument("--no-terms", action="store_true")
    args = ap.parse_args()
    out = run(
        args.corpus,
        tuple(args.sizes),
        args.sample,
        args.runs,
        args.articles_per_day,
        terms=not args.no_terms,
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
