"""The stories stage: its cost to a backfill, what it makes of the BBC corpus, its memory.

Five measurements, the first three through the real ingest path
(``wirewatch.ingest`` with the pipeline the config describes, a fresh
database every time):

1. Throughput: the BBC corpus backfilled without the stage and with it,
   alternately, ``runs`` times each; the medians and their ratio, plus the
   CPU seconds per file of this process and of the engine process.
2. Stories: from the last run with the stage, the number of stories, the
   share of articles in stories of several articles, copies and sightings,
   every story that spans two BBC categories, and the largest stories with
   their articles, for reading.
3. Memory: ``articles`` generated articles (the corpus repeated with
   variations: dated repetitions nine days apart, a paragraph dropped,
   paragraphs swapped, numbers changed, the headline marked) ingested in
   chunks; after each chunk the resident memory of this process and of
   the engine process and the hot window's size. The window holds about
   one repetition, so memory should level off while the archive grows.
4. Copies of edited versions: ``originals`` corpus articles placed, then
   six versions of each that other outlets make (trimmed; extended with
   another article's paragraphs; re-headlined with the lead cut;
   paraphrased by word substitution; paraphrased and trimmed; "machine
   translated", the small words changed as well): how many
   are linked as copies of their original (or of a version linked before)
   and how many join its story. Then ``unrelated`` other corpus articles,
   with every copy claimed among them listed for reading (the corpus has
   duplicates of its own). The engine alone, through the pipeline's
   parser, extractor and features.
5. End to end: the corpus waiting in the inbox of a real ``wirewatch run``
   subprocess on the shipped configuration (its rules and watchlist, files
   moved to ``processed/`` once stored, alerts to the console), without
   the stage and with it, alternately, ``runs`` times each. The rate is
   taken from the store's own times of the first and last files handled,
   so the daemon's start and the polling for the end do not count. The
   CPU per file of the daemon and of its worker processes, and the cores
   the daemon kept busy, are read from ``/proc`` while it drains the inbox:
   the daemon's threads share one interpreter lock, so when it nears one
   core its CPU per file is what sets the rate.

Run ``python -m bench.stories [--corpus DIR] [--runs N] [--articles N]
[--originals N] [--pin-cpus]``; prints JSON. ``--pin-cpus`` runs the
daemons of measurement 5 with ``pipeline.pin_cpus``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import (
    Daemon,
    db_scalar,
    proc_children,
    proc_cpu_seconds,
    proc_memory,
    wait_for,
)
from wirewatch.config import Config, ExtractConfig, StoreConfig, load_config
from wirewatch.extract.extractor import build_extractor
from wirewatch.ingest import Pipeline, ingest_paths
from wirewatch.logs import configure_logging
from wirewatch.models import Article
from wirewatch.parse import parse_bytes
from wirewatch.rules.config import RulesConfig
from wirewatch.service import close_pipeline, open_pipeline
from wirewatch.store import Store
from wirewatch.stories import StoriesConfig, StoriesStage
from wirewatch.stories.engine import PlaceRequest, StoriesEngine
from wirewatch.stories.features import featurize_for

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "bbc"
SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "config" / "wirewatch.toml"
_CHUNK = 10_000
_REPEAT_DAYS = 9
_SPREAD_DAYS = 4


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*.txt") if p.name != "README.TXT")


def base_config(root: Path) -> Config:
    cfg = load_config(SHIPPED_CONFIG, env={})[0] if SHIPPED_CONFIG.exists() else Config()
    store = StoreConfig(
        state_dir=root / "var",
        processed_dir=root / "processed",
        quarantine_dir=root / "quarantine",
        after_store="keep",
    )
    return cfg.model_copy(update={"store": store})


def _cpu_seconds(pid: int | None = None) -> float:
    if pid is None:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    return proc_cpu_seconds(pid) or 0.0


def _rss_mb(pid: int | None = None) -> float:
    return proc_memory(pid or "self", "VmRSS") / (1024 * 1024)


def _engine_pid(stage: StoriesStage | None) -> int | None:
    remote = getattr(stage, "_remote", None)
    return remote.pid if remote is not None else None


async def _open(
    cfg: Config, with_stage: bool, engine: str
) -> tuple[Store, Pipeline, StoriesStage | None]:
    """The daemon's own pipeline (``open_pipeline``: parse workers and all), rules off."""
    stories = cfg.stories.model_copy(update={"enabled": with_stage, "engine": engine})
    cfg = cfg.model_copy(update={"stories": stories, "rules": RulesConfig(enabled=False)})
    pipeline = await open_pipeline(cfg, after_store="keep", warm=True)
    stage = next((h for h in pipeline.writer.hooks if isinstance(h, StoriesStage)), None)
    return pipeline.store, pipeline, stage


async def _backfill(files: list[Path], root: Path, with_stage: bool, engine: str) -> dict[str, Any]:
    cfg = base_config(root)
    store, pipeline, stage = await _open(cfg, with_stage, engine)
    try:
        pid = _engine_pid(stage)
        cpu0, child0 = _cpu_seconds(), _cpu_seconds(pid) if pid else 0.0
        seconds = await ingest_paths(pipeline, files, cfg.pipeline.workers)
        cpu1, child1 = _cpu_seconds(), _cpu_seconds(pid) if pid else 0.0
        out: dict[str, Any] = {
            "files_per_second": len(files) / seconds,
            "seconds": seconds,
            "cpu_ms_per_file": (cpu1 - cpu0) / len(files) * 1000,
            "engine_cpu_ms_per_file": (child1 - child0) / len(files) * 1000,
            "stored": pipeline.counts.stored,
            "duplicate": pipeline.counts.duplicate,
        }
        if stage is not None:
            out["stories"] = await _stories_report(store, files[0].parents[1])
    finally:
        await close_pipeline(pipeline)
    return out


RunResult = dict[str, Any]


def _alternate(
    runs: int, one: Callable[[bool], RunResult]
) -> tuple[list[RunResult], list[RunResult]]:
    """``runs`` runs without and with the stage, alternately, so load on the
    machine hits both alike."""
    without: list[RunResult] = []
    with_stage: list[RunResult] = []
    for _ in range(runs):
        without.append(one(False))
        with_stage.append(one(True))
    return without, with_stage


def _median(rows: list[RunResult], key: str) -> float:
    return round(float(statistics.median(float(r[key]) for r in rows)), 3)


def _compared(without: list[RunResult], with_stage: list[RunResult]) -> dict[str, Any]:
    """The median rates without and with the stage, their ratio, and every run's rate."""
    base = _median(without, "files_per_second")
    staged = _median(with_stage, "files_per_second")
    return {
        "runs": len(without),
        "without_stage_files_per_second": base,
        "with_stage_files_per_second": staged,
        "ratio": round(staged / base, 3) if base else None,
        "runs_without": [round(r["files_per_second"], 1) for r in without],
        "runs_with": [round(r["files_per_second"], 1) for r in with_stage],
    }


def measure_throughput(files: list[Path], runs: int, engine: str) -> dict[str, Any]:
    """The ingest path's backfill without and with the stage."""

    def one(flag: bool) -> RunResult:
        with tempfile.TemporaryDirectory(prefix="wirewatch-bench-stories-") as tmp:
            return asyncio.run(_backfill(files, Path(tmp), flag, engine))

    without, with_stage = _alternate(runs, one)
    return {
        "engine": engine,
        **_compared(without, with_stage),
        "cpu_ms_per_file_without": _median(without, "cpu_ms_per_file"),
        "cpu_ms_per_file_with": _median(with_stage, "cpu_ms_per_file"),
        "engine_process_cpu_ms_per_file": _median(with_stage, "engine_cpu_ms_per_file"),
        "stories": with_stage[-1]["stories"],
    }


async def _stories_report(store: Store, corpus: Path) -> dict[str, Any]:
    counts = await store.story_counts()
    db = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)

    async def rows(sql: str, *args: object) -> list[Any]:
        return list(db.execute(sql, args).fetchall())

    def rel(path: str) -> str:
        try:
            return str(Path(path).relative_to(corpus))
        except ValueError:
            return path

    async def articles_of(story_id: int) -> list[str]:
        found = await rows(
            "SELECT a.path, a.title FROM story_articles sa JOIN articles a ON a.id = sa.article_id"
            " WHERE sa.story_id = ? ORDER BY a.path",
            story_id,
        )
        return [f"{rel(p)}: {t}" for p, t in found]

    cross = []
    for story_id, title, n in await rows(
        "SELECT st.id, st.title, st.article_count FROM stories st WHERE st.merged_into IS NULL"
        " AND (SELECT count(DISTINCT src.source) FROM story_articles sa JOIN article_sources src"
        " ON src.article_id = sa.article_id WHERE sa.story_id = st.id) > 1 ORDER BY st.id"
    ):
        cross.append(
            {"id": story_id, "title": title, "articles": await articles_of(story_id), "size": n}
        )
    largest = []
    for story_id, title, n in await rows(
        "SELECT id, title, article_count FROM stories WHERE merged_into IS NULL"
        " ORDER BY article_count DESC, id LIMIT 12"
    ):
        largest.append(
            {"id": story_id, "title": title, "size": n, "articles": await articles_of(story_id)}
        )
    copies = await rows(
        "SELECT c.kind, c.method, a.path, o.path FROM copies c"
        " JOIN articles a ON a.id = c.article_id JOIN articles o ON o.id = c.original_id"
        " ORDER BY a.path"
    )
    stored = counts["articles_in_stories"]
    sightings = (await rows("SELECT count(*) FROM sightings"))[0][0]
    db.close()
    return {
        "stories": counts["stories"],
        "multi_article_stories": counts["multi_article_stories"],
        "articles_in_multi_article_stories": counts["articles_in_multi_article_stories"],
        "share_in_multi_article_stories": round(
            counts["articles_in_multi_article_stories"] / stored, 4
        )
        if stored
        else 0.0,
        "copies": counts["copies"],
        "exact_copies": counts["exact_copies"],
        "copies_by_method": {
            m: sum(1 for c in copies if c[1] == m) for m in sorted({c[1] for c in copies})
        },
        "sightings": sightings,
        "cross_category_stories": cross,
        "largest_stories": largest,
    }


# -- memory on a generated archive ---------------------------------------------------------

_DIGITS = re.compile(r"\d+")


def _variant(text: str, rep: int, index: int) -> str:
    """One generated article: the original, dated, with edits that grow with ``rep``."""
    lines = text.split("\n")
    title, body = lines[0].strip(), "\n".join(lines[1:])
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    if rep:
        title = f"{title} ({rep})"
        if len(paragraphs) > 3:
            del paragraphs[rep % len(paragraphs)]
            k = (rep + index) % (len(paragraphs) - 1)
            paragraphs[k], paragraphs[k + 1] = paragraphs[k + 1], paragraphs[k]
        paragraphs = [_DIGITS.sub(lambda m: str(int(m.group()) + rep), p) for p in paragraphs]
    day = datetime(2005, 1, 3, tzinfo=UTC) + timedelta(
        days=_REPEAT_DAYS * rep + index % _SPREAD_DAYS
    )
    return f"date {day:%Y-%m-%d}\n{title}\n\n" + "\n\n".join(paragraphs) + "\n"


def generate(corpus: Path, folder: Path, count: int) -> list[Path]:
    """``count`` article files in arrival (and time) order."""
    originals = []
    for p in corpus_files(corpus):
        try:
            originals.append((p, p.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    out: list[Path] = []
    rep = 0
    while len(out) < count:
        sub = folder / f"rep{rep:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        for i, (p, text) in enumerate(originals):
            if len(out) >= count:
                break
            path = sub / f"{p.parent.name}-{p.stem}.txt"
            path.write_text(_variant(text, rep, i), encoding="utf-8")
            out.append(path)
        rep += 1
    return out


async def _memory(files: list[Path], root: Path, engine: str) -> list[dict[str, Any]]:
    cfg = base_config(root)
    store, pipeline, stage = await _open(cfg, True, engine)
    samples = []
    try:
        done = 0
        started = time.perf_counter()
        while done < len(files):
            chunk = files[done : done + _CHUNK]
            await ingest_paths(pipeline, chunk, cfg.pipeline.workers)
            done += len(chunk)
            assert stage is not None
            stats = await stage.stats()
            pid = _engine_pid(stage)
            samples.append(
                {
                    "articles_ingested": done,
                    "articles_in_archive": (await store.counts())["articles"],
                    "hot_articles": stats.get("hot_articles"),
                    "hot_stories": stats.get("hot_stories"),
                    "rss_mb": round(_rss_mb(), 1),
                    "engine_rss_mb": round(_rss_mb(pid), 1) if pid else 0.0,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
    finally:
        await close_pipeline(pipeline)
    return samples


def measure_memory(corpus: Path, articles: int, engine: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-memory-") as tmp:
        files = generate(corpus, Path(tmp) / "articles", articles)
        samples = asyncio.run(_memory(files, Path(tmp), engine))
    return {
        "articles": articles,
        "window_days": StoriesConfig().window_days,
        "repetition_every_days": _REPEAT_DAYS,
        "samples": samples,
    }


# -- copies of edited versions ----------------------------------------------------------

_PARAPHRASE = {
    "said": "stated",
    "people": "folks",
    "also": "additionally",
    "but": "however",
    "big": "large",
    "country": "nation",
    "government": "administration",
    "help": "assist",
    "show": "demonstrate",
    "buy": "purchase",
    "start": "begin",
    "need": "require",
    "many": "numerous",
    "about": "roughly",
    "because": "since",
    "company": "firm",
    "firms": "companies",
    "rise": "increase",
    "fell": "declined",
    "rose": "climbed",
    "new": "recent",
    "make": "create",
    "told": "informed",
    "several": "a couple of",
    "expected": "anticipated",
    "plans": "schemes",
    "market": "marketplace",
    "chief": "head",
    "added": "included",
    "would": "might",
    "could": "may",
}
"""What a machine paraphraser does to common words (every occurrence)."""
_TRANSLATED = {
    **_PARAPHRASE,
    "the": "this",
    "a": "one",
    "an": "one",
    "of": "from",
    "to": "towards",
    "in": "inside",
    "and": "plus",
    "is": "remains",
    "was": "became",
    "were": "became",
    "for": "regarding",
    "on": "upon",
    "that": "which",
    "with": "alongside",
    "by": "via",
    "at": "near",
    "as": "like",
    "it": "this",
    "has": "holds",
    "have": "hold",
    "be": "become",
    "are": "stay",
    "will": "shall",
    "he": "the man",
    "they": "those",
    "its": "their",
    "their": "its",
    "from": "out of",
    "not": "never",
}
"""A round trip through another language: the small words change too, so
almost no word triple survives, and only the order of the sentences and
their content words tell the copy."""
_WORD = re.compile(r"\b\w+\b")
_EDIT_TIME = datetime(2005, 3, 1, tzinfo=UTC)


def _paraphrase(text: str, words: dict[str, str] = _PARAPHRASE) -> str:
    return _WORD.sub(lambda m: words.get(m.group().lower(), m.group()), text)


def edited_versions(
    title: str, paragraphs: tuple[str, ...], other: tuple[str, ...]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Six copies another outlet might make of one article: (kind, title, paragraphs)."""
    n = len(paragraphs)
    para = tuple(_paraphrase(p) for p in paragraphs)
    return [
        ("trimmed", f"In brief: {title}", paragraphs[: max(2, (n * 6 + 9) // 10)]),
        ("extended", title, (*paragraphs, *other[:2], "Additional reporting by the wire desk.")),
        ("re-headlined, lead cut", "Update: what we know so far", paragraphs[1:]),
        ("paraphrased", _paraphrase(title), para),
        ("paraphrased and trimmed", _paraphrase(title), para[: max(2, n * 7 // 10)]),
        (
            "machine-translated",
            _paraphrase(title, _TRANSLATED),
            tuple(_paraphrase(p, _TRANSLATED) for p in paragraphs),
        ),
    ]


def measure_copies(corpus: Path, originals: int = 300, unrelated: int = 300) -> dict[str, Any]:
    """Recall of copies over edited versions of corpus articles, and the copies claimed
    among further corpus articles (for reading: the corpus has duplicates of its own)."""
    cfg = StoriesConfig(engine="inline")
    extract = build_extractor(ExtractConfig())
    files = corpus_files(corpus)
    random.Random(7).shuffle(files)
    texts: list[tuple[str, tuple[str, ...]]] = []
    for path in files[: 2 * originals + unrelated]:
        try:
            article = parse_bytes(path.read_bytes(), name=path.name, mtime=_EDIT_TIME)[0].article
        except (UnicodeDecodeError, ValueError, IndexError):
            continue
        if len(article.paragraphs) >= 2:
            texts.append((article.title, article.paragraphs))
    at = _EDIT_TIME.timestamp()
    engine = StoriesEngine(cfg)
    titles: dict[int, str] = {}
    copied: dict[int, int] = {}
    """Article → the article it was linked to as a copy."""

    def original_of(article_id: int) -> int:
        while article_id in copied:
            article_id = copied[article_id]
        return article_id

    def place(article_id: int, title: str, paragraphs: tuple[str, ...]) -> Any:
        a = Article(title=title, paragraphs=paragraphs, published=_EDIT_TIME)
        figures, mentions = extract(a)
        titles[article_id] = title
        placed = engine.place(
            PlaceRequest(
                article_id=article_id,
                title=title,
                title_derived=False,
                paragraphs=paragraphs,
                published=at,
                date_estimated=False,
                now=at,
                features=featurize_for(cfg, a, figures, mentions),
            )
        )
        if placed.copy_of is not None:
            copied[article_id] = placed.copy_of
        return placed

    firsts, others = texts[:originals], texts[originals : 2 * originals]
    for i, (t, p) in enumerate(firsts, start=1):
        place(i, t, p)
    kinds: dict[str, dict[str, Any]] = {}
    next_id = len(texts) + 1
    for i, (title, paragraphs) in enumerate(firsts, start=1):
        other = others[(i - 1) % len(others)][1] if others else ()
        for kind, t, p in edited_versions(title, paragraphs, other):
            placed = place(next_id, t, p)
            row = kinds.setdefault(kind, {"versions": 0, "linked": 0, "joined": 0, "by": {}})
            row["versions"] += 1
            # Linked to the original, to a version linked before, or to a corpus
            # article that is itself a copy of the original (the corpus has some).
            if placed.copy_of is not None and original_of(next_id) == original_of(i):
                row["linked"] += 1
                method = placed.copy.method
                row["by"][method] = row["by"].get(method, 0) + 1
            # The original's story now: it may have merged with another since.
            row["joined"] += placed.story_id == engine.window.articles[i].story_id
            next_id += 1
    claimed = []
    rest = texts[2 * originals :]
    for title, paragraphs in rest:
        placed = place(next_id, title, paragraphs)
        if placed.copy_of is not None:
            claimed.append(
                {"title": title, "original": titles[placed.copy_of], "why": placed.reason}
            )
        next_id += 1
    return {
        "originals": len(firsts),
        "kinds": kinds,
        "unrelated": len(rest),
        "claimed_among_unrelated": claimed,
    }


def _daemon_backfill(
    files: list[Path], with_stage: bool, engine: str, pin_cpus: bool = False
) -> dict[str, Any]:
    """One backfill by a real daemon: the corpus in its inbox before it starts."""
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-daemon-") as tmp:
        root = Path(tmp)
        shutil.copytree(SHIPPED_CONFIG.parent, root / "config")
        config = root / "config" / SHIPPED_CONFIG.name
        if pin_cpus:
            text = config.read_text(encoding="utf-8")
            assert "pin_cpus = false" in text, "the shipped config sets pin_cpus"
            config.write_text(text.replace("pin_cpus = false", "pin_cpus = true"), "utf-8")
        with config.open("a", encoding="utf-8") as fh:
            fh.write(f"\n[stories]\nenabled = {'true' if with_stage else 'false'}\n")
            fh.write(f'engine = "{engine}"\n')
        inbox = root / "inbox"
        inbox.mkdir()
        for i, p in enumerate(files):
            shutil.copyfile(p, inbox / f"{i:05d}-{p.parent.name}-{p.name}")
        distinct = len({p.read_bytes() for p in files})
        daemon = Daemon(root, config).start()
        try:
            wait_for(lambda: daemon.articles() > 0, 120, "the first article")
            start = _daemon_cpu(daemon)
            wait_for(
                lambda: daemon.articles() >= distinct and not any(inbox.iterdir()),
                600,
                "the inbox to drain",
            )
            end = _daemon_cpu(daemon)
        finally:
            code = daemon.stop()
        db = sqlite3.connect(daemon.db)
        try:
            rows = db.execute("SELECT handled_at FROM files").fetchall()
        finally:
            db.close()
        times = [datetime.fromisoformat(t) for (t,) in rows]
        alerts = db_scalar(daemon.db, "SELECT count(*) FROM alerts")
    first, last = min(times), max(times)
    # Files are handled a batch at a time, under one time: the first batch's
    # files were handled at the start, not over the span measured.
    after_first = sum(1 for t in times if t > first)
    seconds = (last - first).total_seconds()
    handled = end[0] - start[0]
    return {
        "files_per_second": after_first / seconds if seconds else 0.0,
        "files": len(times),
        "alerts": alerts,
        "exit_code": code,
        "daemon_cpu_ms_per_file": (end[1] - start[1]) / handled * 1000 if handled else 0.0,
        "workers_cpu_ms_per_file": (end[2] - start[2]) / handled * 1000 if handled else 0.0,
        "daemon_cores": (end[1] - start[1]) / (end[3] - start[3]),
    }


def _daemon_cpu(daemon: Daemon) -> tuple[int, float, float, float]:
    """Files handled so far, CPU seconds of the daemon and of its worker processes,
    and the time: read while it drains the inbox, so its start does not count."""
    assert daemon.proc is not None
    pid = daemon.proc.pid
    handled = int(db_scalar(daemon.db, "SELECT count(*) FROM files") or 0)
    workers = sum(proc_cpu_seconds(c) or 0.0 for c in proc_children(pid))
    return handled, proc_cpu_seconds(pid) or 0.0, workers, time.monotonic()


def measure_daemon(
    files: list[Path], runs: int, engine: str, pin_cpus: bool = False
) -> dict[str, Any]:
    """The end-to-end backfill by a real daemon without and with the stage."""
    without, with_stage = _alternate(
        runs, lambda flag: _daemon_backfill(files, flag, engine, pin_cpus)
    )
    return {
        "engine": engine,
        "pin_cpus": pin_cpus,
        **_compared(without, with_stage),
        "daemon_cpu_ms_per_file_without": _median(without, "daemon_cpu_ms_per_file"),
        "daemon_cpu_ms_per_file_with": _median(with_stage, "daemon_cpu_ms_per_file"),
        "workers_cpu_ms_per_file_without": _median(without, "workers_cpu_ms_per_file"),
        "workers_cpu_ms_per_file_with": _median(with_stage, "workers_cpu_ms_per_file"),
        "daemon_cores_without": _median(without, "daemon_cores"),
        "daemon_cores_with": _median(with_stage, "daemon_cores"),
        "alerts_without": [r["alerts"] for r in without],
        "alerts_with": [r["alerts"] for r in with_stage],
        "exit_codes": sorted({r["exit_code"] for r in without + with_stage}),
    }


def run(
    corpus: Path = DEFAULT_CORPUS,
    runs: int = 3,
    articles: int = 50_000,
    engine: str = "auto",
    originals: int = 300,
    pin_cpus: bool = False,
) -> dict[str, Any]:
    files = corpus_files(corpus)
    return {
        "files": len(files),
        "cpus": os.cpu_count(),
        "throughput": measure_throughput(files, runs, engine) if runs else None,
        "memory": measure_memory(corpus, articles, engine) if articles else None,
        "copies": measure_copies(corpus, originals) if originals else None,
        "daemon": measure_daemon(files, runs, engine, pin_cpus) if runs else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--engine", choices=("auto", "process", "inline"), default="auto")
    ap.add_argument("--originals", type=int, default=300)
    ap.add_argument(
        "--pin-cpus",
        action="store_true",
        help="the daemon with pipeline.pin_cpus (the daemon measurement only)",
    )
    args = ap.parse_args()
    configure_logging("json", "warning", stream=sys.stderr)
    result = run(args.corpus, args.runs, args.articles, args.engine, args.originals, args.pin_cpus)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
