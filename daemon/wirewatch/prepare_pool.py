"""Read, parse and extract in worker processes, so ingest uses more than one core.

The writer's process is bound by one interpreter lock: in threads, parsing
and extraction take turns on it with the writer, so a second core sits
idle. Preparing a file needs no database and no shared state, so it runs in
a small pool of processes, each holding the boilerplate rules and the
compiled watchlist, built once when it starts; only the prepared records (a
few kilobytes, pickled) come back to the writer.

A worker that dies (a parser crashing the interpreter, the kernel's OOM
killer) breaks the whole pool and fails every file in flight, the guilty one
among them. The pool is replaced, and each of those files is tried again
alone in a process of its own, one at a time: the innocent ones come through,
and the one that kills its process a second time is quarantined as
``worker_crashed``. The daemon goes on either way.

Workers ignore SIGINT and SIGTERM (the daemon decides when they stop) and
leave at once when the daemon's process is gone, even after a SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .config import ExtractConfig, ParseConfig
from .cpus import pin_process
from .extract.extractor import build_extractor
from .ingest import Extractor, Featurizer, Gone, Prepared, Rejected, boilerplate_for, prepare
from .logs import get_logger
from .parse import Boilerplate
from .stories.config import StoriesConfig

log = get_logger(__name__)

_worker: tuple[int, Boilerplate, Extractor, Featurizer | None] | None = None


def _leave_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _start_worker(
    max_bytes: int,
    parse: dict[str, Any],
    extract: dict[str, Any],
    stories: dict[str, Any] | None,
    cpus: tuple[int, ...] | None = None,
) -> None:
    """Each worker's start: signals off, its CPUs, then the settings compiled once."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _leave_with_parent()
    if cpus:
        # The writer's process could pin itself, so a refusal is not expected
        # here; the worker then runs unpinned rather than not at all.
        with contextlib.suppress(PermissionError):
            pin_process(cpus)
    featurizer = None
    if stories is not None:
        from .stories.features import story_featurizer

        featurizer = story_featurizer(StoriesConfig.model_validate(stories))
    _worker = (
        max_bytes,
        boilerplate_for(ParseConfig.model_validate(parse)),
        build_extractor(ExtractConfig.model_validate(extract)),
        featurizer,
    )


def _prepare_in_worker(path: str) -> Prepared | Rejected | Gone:
    assert _worker is not None, "worker not initialised"
    max_bytes, boilerplate, extractor, featurizer = _worker
    return prepare(
        Path(path),
        max_bytes=max_bytes,
        boilerplate=boilerplate,
        extractor=extractor,
        featurizer=featurizer,
    )


class PreparePool:
    """A pool of ``processes`` workers that prepare files; started on first use.

    With ``stories`` the workers compute each article's story features too
    (the shingles, MinHash and term vector the stories stage matches on).
    With ``cpus`` each worker keeps to those CPUs (:mod:`wirewatch.cpus`).
    """

    def __init__(
        self,
        processes: int,
        max_bytes: int,
        parse: ParseConfig,
        extract: ExtractConfig,
        stories: StoriesConfig | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.processes = processes
        self._initargs = (
            max_bytes,
            parse.model_dump(),
            extract.model_dump(),
            stories.model_dump() if stories is not None else None,
            tuple(sorted(cpus)) if cpus else None,
        )
        self._pool: ProcessPoolExecutor | None = None
        self._alone = asyncio.Lock()
        self.replaced = 0

    def _new(self, processes: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=self._initargs,
        )

    def start(self) -> None:
        """Create the pool; its processes start on first use."""
        if self._pool is None:
            self._pool = self._new(self.processes)

    async def warm(self) -> None:
        """Start every worker now, so the first file does not wait for one to import."""
        self.start()
        pool = self._pool
        assert pool is not None
        await asyncio.gather(
            *(asyncio.wrap_future(pool.submit(os.getpid)) for _ in range(self.processes))
        )

    def pids(self) -> list[int]:
        """The workers' process ids (the tests kill them)."""
        pool = self._pool
        procs = getattr(pool, "_processes", None) or {}
        return sorted(procs)

    async def prepare(self, path: Path) -> Prepared | Rejected | Gone:
        """What :func:`~wirewatch.ingest.prepare` returns, computed in a worker."""
        self.start()
        pool = self._pool
        assert pool is not None
        try:
            return await asyncio.wrap_future(pool.submit(_prepare_in_worker, str(path)))
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = None
                self.replaced += 1
                log.error("prepare_worker_died", path=str(path), replaced=self.replaced)
                pool.shutdown(wait=False, cancel_futures=True)
        return await self._alone_in_a_process(path)

    async def _alone_in_a_process(self, path: Path) -> Prepared | Rejected | Gone:
        async with self._alone:
            solo = self._new(1)
            try:
                return await asyncio.wrap_future(solo.submit(_prepare_in_worker, str(path)))
            except BrokenProcessPool:
                log.error("prepare_worker_died_again", path=str(path))
                return Rejected("worker_crashed", "the process preparing this file died twice")
            finally:
                solo.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers; files in flight should have finished by now."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
