"""Shared fixtures: a real folder layout, a real config file, a real daemon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import Daemon, db_scalar, drop, wait_for, wait_until, write_config

__all__ = ["Daemon", "db_scalar", "drop", "wait_for", "wait_until", "write_config"]

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
CORPUS = REPO.parent / "shared" / "corpus" / "bbc"


def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(f"BBC corpus not found at {CORPUS}")
    return sorted(p for p in CORPUS.rglob("*.txt") if p.name != "README.TXT")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path, write_config(tmp_path))
    yield d
    if d.proc is not None and d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait()
