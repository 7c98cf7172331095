"""The daemon: wires the stages together and owns the process's lifecycle.

Start: open and migrate the database, start the writer, start the watcher,
queue a full rescan of the inboxes (files that came while we were down),
then start the workers. Stop (SIGTERM or SIGINT): stop watching, let every
file in hand finish and commit, leave everything else where it is for the
next start, close the database, exit 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from .config import Config, ParseConfig
from .extract.extractor import build_extractor
from .ingest import BatchWriter, Pipeline
from .logs import get_logger
from .parse import DEFAULT_BOILERPLATE, Boilerplate
from .store import Store
from .watch import InboxWatcher

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    checks: dict[str, str]


def boilerplate_for(cfg: ParseConfig) -> Boilerplate:
    """The shipped boilerplate rules plus the config's own lines and patterns."""
    return DEFAULT_BOILERPLATE.extend(
        lines=cfg.boilerplate_lines, patterns=cfg.boilerplate_patterns
    )


async def open_pipeline(cfg: Config, *, after_store: str | None = None) -> Pipeline:
    """Open the store and build the ingest pipeline the config describes.

    Shared by the daemon and ``wirewatch ingest`` so both take the same path.
    """
    store = await Store.open(cfg.store.database_path, busy_timeout_ms=cfg.store.busy_timeout_ms)
    writer = BatchWriter(store, cfg.store.batch_size)
    return Pipeline(
        store=store,
        writer=writer,
        after_store=after_store or cfg.store.after_store,  # type: ignore[arg-type]
        processed_dir=cfg.store.processed_dir,
        quarantine_dir=cfg.store.quarantine_dir,
        max_bytes=cfg.parse.max_bytes,
        boilerplate=boilerplate_for(cfg.parse),
        extractor=build_extractor(cfg.extract),
    )


class Service:
    """One running wirewatch daemon."""

    def __init__(self, cfg: Config, config_path: Path | None = None) -> None:
        self.cfg = cfg
        self.config_path = config_path
        self.stop_requested = asyncio.Event()
        self.started_at = time.time()
        self.inboxes = [Path(os.path.abspath(p)) for p in cfg.watch.inboxes]
        self._inflight: set[asyncio.Task[object]] = set()
        self._last_progress = time.monotonic()

    def request_stop(self, signame: str = "request") -> None:
        if not self.stop_requested.is_set():
            log.info("stop_requested", signal=signame)
        self.stop_requested.set()

    def health(self) -> HealthReport:
        """The checks an operator (and systemd's watchdog) rely on."""
        checks: dict[str, str] = {}
        checks["observer"] = "ok" if self.watcher.alive else "observer thread is not running"
        w = self.pipeline.writer
        stuck = w.backlog > 0 and time.monotonic() - self._last_progress > 60
        checks["writer"] = "stuck: no commit for 60 s with work queued" if stuck else "ok"
        if self.watcher.health.handler_errors:
            checks["watch_handler"] = f"{self.watcher.health.handler_errors} handler errors"
        ok = all(v == "ok" for k, v in checks.items() if k != "watch_handler")
        return HealthReport(ok, checks)

    async def _worker(self) -> None:
        while True:
            path = await self.watcher.queue.get()
            self.watcher.taken(path)
            inbox = next((i for i in self.inboxes if path.is_relative_to(i)), None)
            task = asyncio.ensure_future(self._handle(path, inbox))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            await asyncio.shield(task)

    async def _handle(self, path: Path, inbox: Path | None) -> None:
        try:
            await self.pipeline.process(path, inbox)
        except Exception as exc:
            # The file stays in the inbox; the next rescan retries it.
            self.pipeline.counts.failed += 1
            log.error("file_failed", path=str(path), error=repr(exc), exc_info=True)
        finally:
            self._last_progress = time.monotonic()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        self.pipeline = await open_pipeline(self.cfg)
        store = self.pipeline.store
        writer_task = asyncio.create_task(self.pipeline.writer.run(), name="writer")
        self.watcher = InboxWatcher(self.cfg.watch, self.inboxes, loop)
        self.watcher.start()
        queued = self.watcher.rescan()
        log.info(
            "service_started",
            config=str(self.config_path) if self.config_path else "<embedded defaults>",
            database=str(store.path),
            inboxes=[str(i) for i in self.inboxes],
            reconcile_queued=queued,
        )
        timers = asyncio.create_task(self.watcher.run_timers(self.stop_requested), name="timers")
        workers = [
            asyncio.create_task(self._worker(), name=f"worker-{n}")
            for n in range(self.cfg.pipeline.workers)
        ]
        await self.stop_requested.wait()

        log.info("draining", in_hand=len(self._inflight), queued=self.watcher.queue.qsize())
        self.watcher.stop()
        for task in (*workers, timers):
            task.cancel()
        await asyncio.gather(*workers, timers, return_exceptions=True)
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        writer_task.cancel()
        with suppress(asyncio.CancelledError):
            await writer_task
        counts = self.pipeline.counts
        await store.close()
        log.info(
            "service_stopped",
            stored=counts.stored,
            duplicates=counts.duplicate,
            quarantined=counts.quarantined,
            failed=counts.failed,
        )
        return 0
