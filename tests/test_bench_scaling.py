"""The scaling benchmark and the plots, at a size a test can afford.

The full benchmark generates a million-article archive; here the same
code generates archives of 200 and 2,000 articles from a few dozen corpus
files, so a broken generator (wrong row counts, a lost index or trigger,
a sample that is not new) or a broken child measurement shows up in the
test suite rather than twenty minutes into ``make bench``.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import render
from bench.plot import LATENCY_PNG, SCALING_PNG, render_plots
from bench.scaling import build_base, generate_archive, run
from conftest import corpus_files

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty files from each of two corpus folders, laid out like the corpus."""
    files = corpus_files()
    root = tmp_path_factory.mktemp("corpus")
    for folder in ("business", "tech"):
        (root / folder).mkdir()
        for src in [f for f in files if f.parent.name == folder][:20]:
            shutil.copyfile(src, root / folder / src.name)
    return root


def _schema(db: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall())
    finally:
        conn.close()


@pytest.mark.slow
def test_generated_archive_keeps_the_schema_and_counts(small_corpus: Path, tmp_path: Path) -> None:
    base = build_base(small_corpus, tmp_path / "base")
    out = generate_archive(base, tmp_path / "archive.db", 500, articles_per_day=50)
    assert out["counts"]["articles"] == 500
    assert out["counts"]["story_articles"] == 500
    # ten days at 50 a day: the last seven hold about 350
    assert 300 <= out["counts"]["in_last_7_days"] <= 400
    assert _schema(tmp_path / "archive.db") == _schema(base.db)
    conn = sqlite3.connect(tmp_path / "archive.db")
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexed = conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
        assert indexed == 500
        hits = conn.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'said'"
        ).fetchone()[0]
        assert hits > 0
    finally:
        conn.close()


@pytest.mark.slow
def test_scaling_runs_at_a_tiny_size(small_corpus: Path, tmp_path: Path) -> None:
    result = run(
        small_corpus,
        sizes=(200, 2_000),
        sample=20,
        runs=1,
        articles_per_day=100,
        terms_repeats=1,
        workdir=tmp_path,
    )
    assert list(tmp_path.iterdir()) == [], "the generated databases are deleted"
    archive = result["archive"]
    assert set(archive) == {"200", "2000"}
    for size, row in archive.items():
        assert row["articles"] == int(size)
        assert row["stored_per_run"] == [20], "every sample article is new"
        assert row["median_ms_per_article"] > 0
        assert row["median_cpu_ms_per_article"] > 0
        assert row["max_peak_rss_mb"] > row["main_peak_rss_mb"] > 0
        assert row["hot_articles_at_start"] > 0
    assert result["ratio_ms_per_article_largest_vs_smallest"] > 0
    assert result["terms"]["ratio_10000_vs_10"] > 0


def _fake_results() -> dict[str, Any]:
    return {
        "machine": {
            "date": "2024-01-01T00:00:00+00:00",
            "commit": "abc",
            "python": "3.11",
            "platform": "Linux",
            "cpu": "test",
            "cores": 2,
        },
        "benchmarks": {
            "latency": {
                "wirewatch": {
                    "raw_idle_ms": [5.0 + i % 7 for i in range(50)],
                    "raw_background_ms": [8.0 + i % 11 for i in range(50)],
                },
                "shell_baseline": {"raw_idle_ms": [3.0 + i % 5 for i in range(50)]},
            },
            "scaling": {
                "rss_target_mb": 300.0,
                "archive": {
                    str(n): {
                        "runs_ms_per_article": [5.0 + i, 5.5 + i],
                        "median_ms_per_article": 5.2 + i,
                        "median_cpu_ms_per_article": 7.0 + i,
                        "max_peak_rss_mb": 200.0 + 50 * i,
                        "main_peak_rss_mb": 120.0 + 30 * i,
                        "pss_end_mb": 150.0 + 40 * i,
                    }
                    for i, n in enumerate((1_000, 100_000, 1_000_000))
                },
            },
        },
    }


def test_plots_are_png_files_linked_from_the_results(tmp_path: Path) -> None:
    results = _fake_results()
    written = render_plots(results, tmp_path)
    assert {p.name for p in written} == {LATENCY_PNG, SCALING_PNG}
    for path in written:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert path.stat().st_size > 5_000
    markdown = render(results, [p.name for p in written])
    assert f"![latency]({LATENCY_PNG})" in markdown
    assert f"![scaling]({SCALING_PNG})" in markdown
    assert "50 items (see results.json)" in markdown, "raw samples are summarised"


def test_no_plot_without_data(tmp_path: Path) -> None:
    assert (
        render_plots({"benchmarks": {"latency": {"shell_baseline": {"skipped": "x"}}}}, tmp_path)
        == []
    )
    assert list(tmp_path.iterdir()) == []
