"""Backfill throughput: the corpus through the real pipeline, stage by stage.

Each run ingests every file of the corpus into a fresh database through
``wirewatch.ingest.ingest_paths`` (what ``wirewatch ingest`` does) and
reports files per second; the median of ``runs`` is kept. Variants switch
stages off so each stage's cost is visible, and the *floor* is what this
machine can do at all: read the same files and insert them into SQLite
with the same durability settings, nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wirewatch.config import Config, ExtractConfig, StoreConfig
from wirewatch.ingest import ingest_paths
from wirewatch.rules.config import RulesConfig
from wirewatch.service import close_pipeline, open_pipeline
from wirewatch.stories.config import StoriesConfig

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "bbc"


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*.txt") if p.name != "README.TXT")


def config_for(
    root: Path, extract: ExtractConfig, rules: Path | None, stories: bool = True
) -> Config:
    """A config for one run: its own state folder; rules from ``rules`` or none."""
    return Config(
        store=StoreConfig(
            state_dir=root / "var",
            processed_dir=root / "processed",
            quarantine_dir=root / "quarantine",
            after_store="keep",
        ),
        extract=extract,
        stories=StoriesConfig(enabled=stories),
        rules=RulesConfig(enabled=rules is not None, dir=rules or Path("config/rules")),
    )


async def _one_run(files: list[Path], cfg: Config) -> dict[str, Any]:
    pipeline = await open_pipeline(cfg, after_store="keep", warm=True)
    try:
        seconds = await ingest_paths(pipeline, files, cfg.pipeline.workers)
        counts = await pipeline.store.counts()
    finally:
        await close_pipeline(pipeline)
    c = pipeline.counts
    return {
        "seconds": seconds,
        "files_per_second": len(files) / seconds,
        "stored": c.stored,
        "duplicate": c.duplicate,
        "quarantined": c.quarantined,
        "articles_in_db": counts["articles"],
    }


def measure(files: list[Path], make_cfg: Callable[[Path], Config], runs: int) -> dict[str, Any]:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as tmp:
            results.append(asyncio.run(_one_run(files, make_cfg(Path(tmp)))))
    rates = [r["files_per_second"] for r in results]
    return {
        "median_files_per_second": statistics.median(rates),
        "runs_files_per_second": rates,
        "stored": results[-1]["stored"],
        "duplicate": results[-1]["duplicate"],
        "quarantined": results[-1]["quarantined"],
        "articles_in_db": results[-1]["articles_in_db"],
    }


def floor(files: list[Path], runs: int, batch: int = 200) -> dict[str, Any]:
    """Read, hash and insert the raw bytes: WAL, synchronous=FULL, batched commits."""
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="wirewatch-floor-") as tmp:
            db = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE a (sha256 TEXT UNIQUE, path TEXT, body BLOB)")
            started = time.perf_counter()
            for i in range(0, len(files), batch):
                db.execute("BEGIN IMMEDIATE")
                for p in files[i : i + batch]:
                    data = p.read_bytes()
                    db.execute(
                        "INSERT OR IGNORE INTO a VALUES (?,?,?)",
                        (hashlib.sha256(data).hexdigest(), str(p), data),
                    )
                db.execute("COMMIT")
            rates.append(len(files) / (time.perf_counter() - started))
            db.close()
    return {"median_files_per_second": statistics.median(rates), "runs_files_per_second": rates}


def run(corpus: Path = DEFAULT_CORPUS, runs: int = 5) -> dict[str, Any]:
    from bench.rules import prepare, write_generated_rules

    files = corpus_files(corpus)
    no_extract = ExtractConfig(figures=False, entities=False)
    full = Config().extract
    shipped = Path(__file__).resolve().parents[1] / "config" / "wirewatch.toml"
    if shipped.exists():
        from wirewatch.config import load_config

        full = load_config(shipped, env={})[0].extract
    with tempfile.TemporaryDirectory(prefix="wirewatch-rules-") as tmp:
        items, _ = prepare(corpus, None)
        rules = write_generated_rules(items, Path(tmp) / "rules", 200, "typical")
        results = {
            "files": len(files),
            "floor_read_and_insert": floor(files, runs),
            "parse_store": measure(
                files, lambda r: config_for(r, no_extract, None, stories=False), runs
            ),
            "parse_extract_store": measure(
                files, lambda r: config_for(r, full, None, stories=False), runs
            ),
            "parse_extract_stories_store": measure(
                files, lambda r: config_for(r, full, None), runs
            ),
            "whole_pipeline_without_stories": measure(
                files, lambda r: config_for(r, full, rules, stories=False), runs
            ),
            "whole_pipeline_200_rules": measure(files, lambda r: config_for(r, full, rules), runs),
        }
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(json.dumps(run(args.corpus, args.runs), indent=2))


if __name__ == "__main__":
    main()
