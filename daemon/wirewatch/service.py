"""The daemon: wires the stages together and owns the process's lifecycle.

Start: open and migrate the database, start the writer, start the watcher,
queue a full rescan of the inboxes (files that came while we were down),
start the workers, and only then tell systemd ``READY=1``. While running:
``WATCHDOG=1`` from the event loop, and only while the health checks pass,
so a hung loop, a dead observer thread or a stuck writer gets the service
restarted. SIGHUP reloads (``RELOADING=1`` … ``READY=1``). SIGTERM or
SIGINT: ``STOPPING=1``, stop watching, let every file in hand finish and
commit, leave everything else where it is for the next start, exit 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from .config import Config, ConfigError, load_config
from .cpus import pin_for_pipeline
from .extract.extractor import build_extractor
from .health import HealthServer
from .ingest import BatchWriter, Pipeline, boilerplate_for
from .logs import get_logger
from .metrics import Metrics
from .models import Alert
from .notify.deliver import Dispatcher
from .prepare_pool import PreparePool
from .rules.commands import load_configured_rules, sink_names
from .rules.engine import RulesStage, StoryLookup
from .rules.facts import StoryInfo
from .rules.reload import RulesReloader
from .sdnotify import SystemdNotifier
from .store import Store
from .stories.config import StoriesConfig
from .stories.stage import StoriesStage
from .watch import InboxWatcher

log = get_logger(__name__)

WRITER_STUCK_SECONDS = 60.0
"""No commit for this long while files wait for the writer means it is stuck."""


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    checks: dict[str, str]


def story_lookup_for(stage: StoriesStage) -> StoryLookup:
    """The story an article joined, as the rules name it (runs in the storing
    transaction, through the stage, which writes what it held back first)."""

    async def story_info(db: aiosqlite.Connection, article_id: int) -> StoryInfo | None:
        summary = await stage.story_of(db, article_id)
        if summary is None:
            return None
        return StoryInfo(summary.id, summary.title, summary.sources)

    return story_info


async def build_stories_stage(
    stories: StoriesConfig,
    inboxes: list[Path],
    store: Store,
    cpus: frozenset[int] | None = None,
) -> StoriesStage:
    """The stories stage with its hot window read back from the store."""
    stage = StoriesStage(stories, inboxes, cpus)
    try:
        await stage.load(store)
    except BaseException:
        stage.close()
        raise
    return stage


async def build_rules_stage(
    cfg: Config, store: Store, metrics: Metrics | None, stories: StoriesStage | None = None
) -> RulesStage:
    """Load and validate the configured rules; the stage that evaluates them.

    Invalid rules raise (a :class:`ConfigError`) before any article is read:
    at start-up there are no old rules to keep, and files wait in the inbox
    until the rules are fixed.
    """
    ruleset = await asyncio.to_thread(load_configured_rules, cfg)
    on_alert = on_timing = None
    if metrics is not None:
        m = metrics

        def on_alert(a: Alert) -> None:
            m.alerts_fired.labels(rule=a.rule, type=a.rule_type).inc()

        def on_timing(seconds: float) -> None:
            m.stage_seconds.labels(stage="rules").observe(seconds)

    stage = RulesStage(
        store,
        store,
        ruleset,
        story_lookup=story_lookup_for(stories) if stories is not None else None,
        on_alert=on_alert,
        on_timing=on_timing,
    )
    await stage.start()
    log.info("rules_loaded", rules=len(ruleset), folder=str(cfg.rules.dir))
    return stage


async def open_pipeline(
    cfg: Config,
    *,
    after_store: str | None = None,
    metrics: Metrics | None = None,
    warm: bool = False,
) -> Pipeline:
    """Open the store and build the ingest pipeline the config describes.

    Shared by the daemon, ``wirewatch ingest`` and the benchmarks, so all
    take the same path: parse, extract, store, and the stages that run in
    the storing transaction (stories, then rules, whose alerts go to the
    outbox). ``warm`` starts the worker processes before returning (the
    daemon does, so its first article is as quick as the rest).
    """
    store = await Store.open(cfg.store.database_path, busy_timeout_ms=cfg.store.busy_timeout_ms)
    writer = BatchWriter(store, cfg.store.batch_size)
    pipeline = Pipeline(
        store=store,
        writer=writer,
        after_store=after_store or cfg.store.after_store,  # type: ignore[arg-type]
        processed_dir=cfg.store.processed_dir,
        quarantine_dir=cfg.store.quarantine_dir,
        max_bytes=cfg.parse.max_bytes,
        boilerplate=boilerplate_for(cfg.parse),
        extractor=build_extractor(cfg.extract),
        metrics=metrics,
    )
    pool = None
    # With the engine inline, the workers compute the story features too, so
    # the writer only retrieves and decides.
    stories_cfg = cfg.stories.resolved(cfg.pipeline.prepare_processes)
    features_in_workers = stories_cfg.enabled and stories_cfg.engine == "inline"
    helpers = None
    if cfg.pipeline.pin_cpus:
        engine_process = stories_cfg.enabled and stories_cfg.engine == "process"
        cpus = pin_for_pipeline(cfg.pipeline.prepare_processes > 0 or engine_process)
        helpers = cpus.helpers if cpus is not None else None
    if cfg.pipeline.prepare_processes > 0:
        pool = PreparePool(
            cfg.pipeline.prepare_processes,
            cfg.parse.max_bytes,
            cfg.parse,
            cfg.extract,
            stories_cfg if features_in_workers else None,
            helpers,
        )
        pipeline.preparer = pool.prepare
        pipeline.closers.append(pool.close)
    try:
        if warm and pool is not None:
            await pool.warm()
        stories = None
        if cfg.stories.enabled:
            stories = await build_stories_stage(
                stories_cfg, [Path(p) for p in cfg.watch.inboxes], store, helpers
            )
            if pool is None or not features_in_workers:
                pipeline.featurizer = stories.featurize
                pipeline.featurizer_is_cheap = lambda: stories.featurize_is_cheap
            writer.hooks.append(stories)
        if cfg.rules.enabled:
            writer.hooks.append(await build_rules_stage(cfg, store, metrics, stories))
    except BaseException:
        await close_pipeline(pipeline)
        raise
    return pipeline


async def close_pipeline(pipeline: Pipeline) -> None:
    """Close the store and stop whatever runs beside it (the stories engine, the workers)."""
    for hook in pipeline.writer.hooks:
        if isinstance(hook, StoriesStage):
            hook.close()
    for close in pipeline.closers:
        await asyncio.to_thread(close)
    await pipeline.store.close()


@dataclass
class ReloadState:
    """The outcome of the last reload, for ``status`` and the metrics."""

    at: float | None = None
    ok: bool | None = None
    error: str | None = None


class Service:
    """One running wirewatch daemon."""

    def __init__(
        self,
        cfg: Config,
        config_path: Path | None = None,
        notifier: SystemdNotifier | None = None,
    ) -> None:
        self.cfg = cfg
        self.config_path = config_path
        self.notifier = notifier or SystemdNotifier.from_environment()
        self.metrics = Metrics()
        self.stop_requested = asyncio.Event()
        self.started_at = time.time()
        self.inboxes = [Path(os.path.abspath(p)) for p in cfg.watch.inboxes]
        self.reload_state = ReloadState()
        self.reload_hooks: list[Callable[[], Awaitable[None]]] = []
        self._inflight: set[asyncio.Task[object]] = set()
        self._last_progress = time.monotonic()
        self._tasks: list[asyncio.Task[Any]] = []

    # -- signals ----------------------------------------------------------------
    def request_stop(self, signame: str = "request") -> None:
        if not self.stop_requested.is_set():
            log.info("stop_requested", signal=signame)
            self.notifier.stopping()
        self.stop_requested.set()

    def _on_sighup(self) -> None:
        self._tasks.append(asyncio.create_task(self.reload(), name="reload"))

    async def reload(self) -> bool:
        """Re-read the configuration and apply what can change live.

        A config that does not validate is refused and the running one stays;
        the outcome is logged, counted and shown by ``status``.
        """
        self.notifier.reloading()
        ok = True
        try:
            if self.config_path is not None:
                new, _ = load_config(self.config_path)
                changed = [
                    name
                    for name in type(new).model_fields
                    if name not in ("log", "rules")
                    and getattr(new, name) != getattr(self.cfg, name)
                ]
                if changed:
                    log.warning("reload_needs_restart", sections=changed)
            for hook in self.reload_hooks:
                await hook()
        except ConfigError as exc:
            ok = False
            self.reload_state.error = str(exc)
            log.error("reload_refused", error=str(exc))
        except Exception as exc:  # a reload must never take the daemon down
            ok = False
            self.reload_state.error = repr(exc)
            log.error("reload_failed", error=repr(exc), exc_info=True)
        else:
            self.reload_state.error = None
            log.info("reloaded", config=str(self.config_path))
        self.reload_state.at = time.time()
        self.reload_state.ok = ok
        if self.reloader is None or (not ok and self.reloader.status.ok):
            self.metrics.record_reload(ok, self.reload_state.at)
        self.notifier.ready(status=self.status_line())
        return ok

    # -- health and status ------------------------------------------------------
    def health(self) -> HealthReport:
        """The checks an operator (and systemd's watchdog) rely on."""
        checks: dict[str, str] = {}
        checks["observer"] = "ok" if self.watcher.alive else "observer thread is not running"
        writer = self.pipeline.writer
        fault = writer.fault
        checks["store"] = (
            "ok"
            if fault is None
            else (
                f"writes failing since "
                f"{datetime.fromtimestamp(fault.since, UTC).isoformat(timespec='seconds')}"
                f" ({fault.error}); intake paused, retrying"
            )
        )
        backlog = writer.backlog
        stuck = (
            fault is None
            and backlog > 0
            and time.monotonic() - self._last_progress > WRITER_STUCK_SECONDS
        )
        checks["writer"] = (
            f"stuck: no commit for {WRITER_STUCK_SECONDS:.0f} s with {backlog} files waiting"
            if stuck
            else "ok"
        )
        queue = self.watcher.queue
        moving = (
            fault is not None
            or queue.empty()
            or time.monotonic() - self._last_progress < WRITER_STUCK_SECONDS
        )
        checks["queue"] = "ok" if moving else f"not moving: {queue.qsize()} paths waiting"
        errors = self.watcher.health.handler_errors
        checks["watch_handler"] = f"{errors} errors caught (see log)" if errors else "ok"
        ok = all(v == "ok" for k, v in checks.items() if k != "watch_handler")
        return HealthReport(ok, checks)

    def status_line(self) -> str:
        """The one line systemd shows in ``systemctl status``."""
        c = self.pipeline.counts
        backlog = self.watcher.queue.qsize() + len(self._inflight)
        return (
            f"{c.stored} stored, {c.duplicate} duplicates, {c.quarantined} quarantined "
            f"since start; backlog {backlog}"
        )

    async def status(self) -> dict[str, Any]:
        """What ``wirewatch status`` and ``/status`` show."""
        counts = await self.pipeline.store.counts()
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        report = self.health()
        return {
            "pid": os.getpid(),
            "up_since": datetime.fromtimestamp(self.started_at, UTC).isoformat(timespec="seconds"),
            "healthy": report.ok,
            "checks": report.checks,
            "inbox_backlog": self.watcher.queue.qsize() + len(self._inflight),
            "articles_total": counts["articles"],
            "articles_today": await self.pipeline.store.articles_since(today),
            "quarantined_total": counts["quarantined"],
            "since_start": {
                "stored": self.pipeline.counts.stored,
                "duplicate": self.pipeline.counts.duplicate,
                "quarantined": self.pipeline.counts.quarantined,
                "failed": self.pipeline.counts.failed,
            },
            "rules": self.reloader.status.as_dict() if self.reloader else None,
            "destinations_disabled": self.dispatcher.disabled_sinks(),
            "last_reload": {
                "at": (
                    datetime.fromtimestamp(self.reload_state.at, UTC).isoformat(timespec="seconds")
                    if self.reload_state.at
                    else None
                ),
                "ok": self.reload_state.ok,
                "error": self.reload_state.error,
            },
        }

    async def _watchdog_loop(self, interval: float) -> None:
        """Ping systemd's watchdog from the loop itself, only while healthy.

        Sent from the event loop (not a thread) so that a blocked loop stops
        the pings too; a failing check stops them so systemd restarts us. A
        failing disk is reported but does not stop them: a restart cannot
        mend it, and the writer resumes by itself when the disk is back.
        """
        while True:
            report = self.health()
            failing = {k: v for k, v in report.checks.items() if v != "ok"}
            if report.ok or set(failing) <= {"store", "watch_handler"}:
                self.notifier.watchdog()
            if not report.ok:
                log.error("unhealthy", checks=failing)
            await asyncio.sleep(interval)

    def _sync_delivery_metrics(self, seen: dict[tuple[str, str], int]) -> None:
        """Carry the dispatcher's counters over to Prometheus as increments."""
        for sink, counts in self.dispatcher.sink_counts.items():
            for outcome, value in (
                ("sent", counts.sent),
                ("retry", counts.retried),
                ("failed", counts.failed),
                ("dead", counts.dead),
            ):
                delta = value - seen.get((sink, outcome), 0)
                for _ in range(delta):
                    self.metrics.record_delivery(sink, outcome)
                seen[(sink, outcome)] = value

    async def _status_loop(self, every: float = 5.0) -> None:
        seen_rescans = seen_found = 0
        seen_deliveries: dict[tuple[str, str], int] = {}
        while True:
            self._sync_delivery_metrics(seen_deliveries)
            self.metrics.inbox_queue_depth.set(self.watcher.queue.qsize())
            self.metrics.writer_backlog.set(self.pipeline.writer.backlog)
            h = self.watcher.health
            for _ in range(h.rescans - seen_rescans):
                self.metrics.record_rescan(0)
            if h.found_by_rescan > seen_found:
                self.metrics.rescan_files_found.inc(h.found_by_rescan - seen_found)
            seen_rescans, seen_found = h.rescans, h.found_by_rescan
            self.notifier.status(self.status_line())
            await asyncio.sleep(every)

    # -- rules ------------------------------------------------------------------
    def _start_rules(self) -> None:
        """Watch the rules folder, so an edit is live without a restart."""
        self.rules = next(
            (h for h in self.pipeline.writer.hooks if isinstance(h, RulesStage)), None
        )
        self.reloader = None
        if self.rules is None:
            return
        rc = self.cfg.rules
        self.reloader = RulesReloader(
            self.rules,
            rc.dir,
            sink_names(self.cfg),
            default_destinations=rc.default_destinations,
            poll_interval=rc.reload_poll_interval,
            on_result=self.metrics.record_reload,
        )
        self.reload_hooks.append(self._reload_rules)

    async def _reload_rules(self) -> None:
        assert self.reloader is not None
        if await self.reloader.reload("sighup") is None:
            raise ConfigError(str(self.cfg.rules.dir), [self.reloader.status.error or "refused"])

    async def _tick_loop(self) -> None:
        """Time-driven rules (flatline, group_wait batches) fire without articles."""
        assert self.rules is not None
        while True:
            await asyncio.sleep(self.cfg.rules.tick_interval)
            try:
                if await self.rules.tick():
                    self.dispatcher.wake()
            except Exception as exc:
                log.error("rules_tick_failed", error=repr(exc), exc_info=True)

    # -- work -------------------------------------------------------------------
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
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        self.pipeline = await open_pipeline(self.cfg, metrics=self.metrics, warm=True)
        store = self.pipeline.store
        self._start_rules()
        writer_task = asyncio.create_task(self.pipeline.writer.run(), name="writer")
        self.watcher = InboxWatcher(self.cfg.watch, self.inboxes, loop)
        self.watcher.start()
        queued = self.watcher.rescan()
        timers = asyncio.create_task(self.watcher.run_timers(self.stop_requested), name="timers")
        workers = [
            asyncio.create_task(self._worker(), name=f"worker-{n}")
            for n in range(self.cfg.pipeline.workers)
        ]
        health_server = await self._start_health_server()
        interval = self.notifier.watchdog_interval()
        if interval:
            self._tasks.append(asyncio.create_task(self._watchdog_loop(interval), name="watchdog"))
        self.dispatcher = Dispatcher(store, self.cfg.sinks, settings=self.cfg.notify)
        self.pipeline.writer.after_commit.append(self.dispatcher.wake)
        deliveries_stop = asyncio.Event()
        dispatcher_task = asyncio.create_task(self.dispatcher.run(deliveries_stop), name="notify")
        self._tasks.append(asyncio.create_task(self._status_loop(), name="status"))
        if self.rules is not None and self.reloader is not None:
            self._tasks.append(
                asyncio.create_task(self.reloader.run(self.stop_requested), name="rules-reload")
            )
            self._tasks.append(asyncio.create_task(self._tick_loop(), name="rules-tick"))
        log.info(
            "service_started",
            config=str(self.config_path) if self.config_path else "<embedded defaults>",
            database=str(store.path),
            inboxes=[str(i) for i in self.inboxes],
            reconcile_queued=queued,
            pid=os.getpid(),
        )
        self.notifier.ready(status=f"watching {len(self.inboxes)} inbox(es); {queued} queued")

        await self.stop_requested.wait()

        log.info("draining", in_hand=len(self._inflight), queued=self.watcher.queue.qsize())
        self.watcher.stop()
        for task in (*workers, timers, *self._tasks):
            task.cancel()
        await asyncio.gather(*workers, timers, *self._tasks, return_exceptions=True)
        # With the disk failing, the files in hand cannot commit: they stay
        # in the inbox for the next start rather than hold up the stop.
        self.pipeline.writer.give_up()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        writer_task.cancel()
        with suppress(asyncio.CancelledError):
            await writer_task
        # Deliveries last: alerts committed by the files in hand go out too,
        # within the dispatcher's grace period; the rest wait in the outbox.
        deliveries_stop.set()
        await asyncio.gather(dispatcher_task, return_exceptions=True)
        if health_server is not None:
            await health_server.stop()
        counts = self.pipeline.counts
        await close_pipeline(self.pipeline)
        log.info(
            "service_stopped",
            stored=counts.stored,
            duplicates=counts.duplicate,
            quarantined=counts.quarantined,
            failed=counts.failed,
        )
        self.notifier.close()
        return 0

    async def _start_health_server(self) -> HealthServer | None:
        hc = self.cfg.health
        if not hc.enabled:
            return None

        def health() -> tuple[bool, dict[str, str]]:
            report = self.health()
            return report.ok, report.checks

        server = HealthServer(hc.host, hc.port, health, self.metrics.render, self.status)
        port = await server.start()
        log.info("health_listening", host=hc.host, port=port)
        return server
