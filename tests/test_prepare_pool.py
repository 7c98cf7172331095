"""The prepare pool: real worker processes, real SIGKILLs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import REPO, seed_files, wait_for
from wirewatch.config import Config
from wirewatch.extract.extractor import build_extractor
from wirewatch.ingest import Prepared, Rejected, boilerplate_for, prepare
from wirewatch.prepare_pool import PreparePool


def _pool(cfg: Config) -> PreparePool:
    return PreparePool(1, cfg.parse.max_bytes, cfg.parse, cfg.extract)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie has exited too; only its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ", 1)[1].startswith("Z")


def test_a_worker_prepares_what_a_thread_prepares(tmp_path: Path) -> None:
    cfg = Config()
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    boilerplate, extractor = boilerplate_for(cfg.parse), build_extractor(cfg.extract)

    async def run() -> list[object]:
        pool = _pool(cfg)
        try:
            return [await pool.prepare(p) for p in [*seed_files(), empty]]
        finally:
            pool.close()

    got = asyncio.run(run())
    for path, result in zip(seed_files(), got, strict=False):
        here = prepare(
            path, max_bytes=cfg.parse.max_bytes, boilerplate=boilerplate, extractor=extractor
        )
        assert isinstance(here, Prepared) and isinstance(result, Prepared)
        assert result.file == here.file
        assert result.file.records[0].figures, "the seeds report figures"
    assert isinstance(got[-1], Rejected) and got[-1].reason == "empty"


def test_a_killed_worker_is_replaced_and_no_file_is_lost() -> None:
    cfg = Config()
    seeds = seed_files()

    async def run() -> tuple[list[object], list[int], list[int], int]:
        pool = _pool(cfg)
        try:
            await pool.warm()
            before = pool.pids()
            for pid in before:
                os.kill(pid, signal.SIGKILL)
            await asyncio.to_thread(wait_for, lambda: all(map(_gone, before)), 10, "the kill")
            results = list(await asyncio.gather(*(pool.prepare(p) for p in seeds)))
            results.append(await pool.prepare(seeds[0]))
            return results, before, pool.pids(), pool.replaced
        finally:
            pool.close()

    results, before, after, replaced = asyncio.run(run())
    assert all(isinstance(r, Prepared) for r in results), results
    assert replaced == 1
    assert after and not set(after) & set(before)


def test_workers_leave_when_the_daemon_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys
        from wirewatch.config import Config
        from wirewatch.prepare_pool import PreparePool

        async def main():
            cfg = Config()
            pool = PreparePool(2, cfg.parse.max_bytes, cfg.parse, cfg.extract)
            await pool.warm()
            print(" ".join(map(str, pool.pids())), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        if __name__ == "__main__":
            asyncio.run(main())
        """
    )
    path = tmp_path / "owner.py"
    path.write_text(script)
    proc = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2
    wait_for(lambda: all(map(_gone, pids)), 10, "the orphaned workers to exit")


def test_workers_compute_the_story_features_the_stage_would() -> None:
    from dataclasses import replace

    from wirewatch.stories.config import StoriesConfig
    from wirewatch.stories.features import StoryFeatures, featurize

    cfg = Config()
    stories = StoriesConfig(engine="inline")
    seed = seed_files()[1]

    async def run() -> object:
        pool = PreparePool(1, cfg.parse.max_bytes, cfg.parse, cfg.extract, stories)
        try:
            return await pool.prepare(seed)
        finally:
            pool.close()

    got = asyncio.run(run())
    assert isinstance(got, Prepared)
    rec = got.file.records[0]
    assert isinstance(rec.features, StoryFeatures)
    assert rec.features.sketch is None, "the MinHash object stays in the worker"
    here = featurize(rec.article, rec.figures, rec.mentions)
    assert rec.features == replace(here, sketch=None)
    assert rec.features.minhash_object().jaccard(here.minhash_object()) == 1.0
