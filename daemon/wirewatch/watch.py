"""Turn filesystem events and rescans into "this path is complete".

watchdog's events are hints, the database is the truth: inotify drops events
on queue overflow without a word, the daemon may have been down, and a
handler that raises kills the observer thread silently. So the watcher

* acts only on close-after-write and moved-into events in native mode (never
  on "created", which fires before a single byte is written);
* in polling mode (network filesystems, where inotify sees nothing) counts a
  file complete once its size and mtime have stood still for ``settle``
  seconds;
* hands paths to asyncio with ``loop.call_soon_threadsafe`` and never blocks
  the observer thread: a full queue raises a "rescan needed" flag instead;
* rescans every inbox on start and every ``rescan_interval`` seconds;
* catches every exception in its handler, logs it and keeps a health flag.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from .config import WatchConfig
from .logs import get_logger

log = get_logger(__name__)
_WATCHDOG_LOG = logging.getLogger("watchdog.observers")

ALWAYS_IGNORED = ("*.tmp", "*.part", "*.partial", "*.crdownload", "*.swp", "*~", ".*")


def is_candidate(path: Path, inbox: Path, cfg: WatchConfig) -> bool:
    """Whether a path inside ``inbox`` is an article file the service should read.

    Dotfiles, editor and download temporaries are never candidates: writers
    create them first and rename them into place, and the rename is the
    moment the file is complete. Any dot-folder on the way is ignored too.
    """
    try:
        rel = path.relative_to(inbox)
    except ValueError:
        return False
    parts = rel.parts
    if not parts or (len(parts) > 1 and not cfg.recursive):
        return False
    if any(p.startswith(".") for p in parts):
        return False
    name = parts[-1]
    if any(fnmatch.fnmatch(name, pat) for pat in ALWAYS_IGNORED):
        return False
    rel_s = rel.as_posix()
    if not any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel_s, p) for p in cfg.include):
        return False
    return not any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel_s, p) for p in cfg.exclude)


def scan_inbox(inbox: Path, cfg: WatchConfig) -> Iterator[Path]:
    """Every candidate path now in ``inbox``, oldest first by name order.

    ``os.scandir`` rather than ``Path.rglob`` because it reuses the directory
    entry's type and does not follow symlinked folders.
    """
    stack = [inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            log.warning("scan_failed", path=str(folder), error=str(exc))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if cfg.recursive and not entry.name.startswith("."):
                    stack.append(path)
            elif is_candidate(path, inbox, cfg):
                yield path


@dataclass
class WatchHealth:
    """What the service's health check reads from the watcher."""

    handler_errors: int = 0
    last_error: str | None = None
    overflows: int = 0
    kernel_overflows: int = 0
    rescans: int = 0
    found_by_rescan: int = 0


class _KernelOverflow(logging.Handler):
    """Turns watchdog's "inotify queue overflowed" warning into a rescan.

    watchdog reacts to ``IN_Q_OVERFLOW`` only by logging; the events it
    lost name files that are now in the inbox with nobody told. Listening
    for that record is the one hook watchdog offers, and a rescan finds
    every one of them.
    """

    def __init__(self, watcher: InboxWatcher) -> None:
        super().__init__(level=logging.WARNING)
        self._watcher = watcher

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        log.warning("watchdog_says", message=message)
        if "overflow" in message.lower():
            self._watcher.health.kernel_overflows += 1
            self._watcher.hint_rescan()


class _Handler(FileSystemEventHandler):
    """Runs on the observer thread: filter, then hand over. Never raises."""

    def __init__(self, watcher: InboxWatcher, inbox: Path) -> None:
        self._watcher = watcher
        self._inbox = inbox

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._dispatch(event)
        except Exception as exc:  # an exception here would kill the observer thread
            self._watcher.note_handler_error(exc)

    def _dispatch(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            if event.event_type in ("created", "moved") and self._watcher.cfg.recursive:
                self._watcher.hint_rescan()  # a folder moved in holds files no event names
            return
        kind = event.event_type
        if kind == "closed":
            self._watcher.hint(Path(os.fsdecode(event.src_path)), self._inbox, settle=False)
        elif kind == "moved":
            self._watcher.hint(Path(os.fsdecode(event.dest_path)), self._inbox, settle=False)
        elif kind in ("created", "modified") and self._watcher.settle_on_change:
            self._watcher.hint(Path(os.fsdecode(event.src_path)), self._inbox, settle=True)
        elif kind == "created":
            # A symlink or a FIFO never gets a close-write: hand it over now
            # (to be quarantined). A regular file waits for its close.
            path = Path(os.fsdecode(event.src_path))
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                return
            if not stat.S_ISREG(mode):
                self._watcher.hint(path, self._inbox, settle=False)


@dataclass
class _Settling:
    size: int
    mtime_ns: int
    since: float


@dataclass
class InboxWatcher:
    """Owns the observer thread and feeds complete paths into ``queue``.

    ``queue`` is bounded; ``pending`` holds the paths queued but not yet
    taken, so a burst of events for one file queues it once.
    """

    cfg: WatchConfig
    inboxes: list[Path]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Path] = field(init=False)
    health: WatchHealth = field(default_factory=WatchHealth)
    pending: set[Path] = field(default_factory=set)
    rescan_needed: asyncio.Event = field(default_factory=asyncio.Event)
    _observer: BaseObserver | None = None
    _overflow_listener: logging.Handler | None = None
    _settling: dict[Path, _Settling] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.cfg.queue_size)

    @property
    def settle_on_change(self) -> bool:
        """Polling observers and non-Linux platforms have no close-write event."""
        return self.cfg.mode == "polling" or not sys.platform.startswith("linux")

    # -- observer thread side -------------------------------------------------
    def hint(self, path: Path, inbox: Path, *, settle: bool) -> None:
        if is_candidate(path, inbox, self.cfg):
            self.loop.call_soon_threadsafe(self._on_hint, path, settle)

    def hint_rescan(self) -> None:
        self.loop.call_soon_threadsafe(self.rescan_needed.set)

    def note_handler_error(self, exc: BaseException) -> None:
        self.health.handler_errors += 1
        self.health.last_error = repr(exc)
        try:
            log.error("watch_handler_error", error=repr(exc))
        finally:
            self.loop.call_soon_threadsafe(self.rescan_needed.set)

    # -- event loop side ------------------------------------------------------
    def _on_hint(self, path: Path, settle: bool) -> None:
        if settle:
            self._settling.setdefault(path, _Settling(-1, -1, time.monotonic()))
        else:
            self._settling.pop(path, None)
            self.offer(path)

    def offer(self, path: Path) -> bool:
        """Queue a path unless it is queued already; on a full queue, ask for a rescan."""
        if path in self.pending:
            return True
        try:
            self.queue.put_nowait(path)
        except asyncio.QueueFull:
            self.health.overflows += 1
            self.rescan_needed.set()
            return False
        self.pending.add(path)
        return True

    def taken(self, path: Path) -> None:
        """A worker took ``path`` off the queue; later events may queue it again."""
        self.pending.discard(path)

    def settle_tick(self) -> None:
        """Offer the settling files whose size and mtime stood still long enough."""
        now = time.monotonic()
        for path, st in list(self._settling.items()):
            try:
                s = os.lstat(path)
            except FileNotFoundError:
                del self._settling[path]
                continue
            except OSError:
                continue
            if (s.st_size, s.st_mtime_ns) != (st.size, st.mtime_ns):
                self._settling[path] = _Settling(s.st_size, s.st_mtime_ns, now)
            elif now - st.since >= self.cfg.settle and self.offer(path):
                del self._settling[path]

    def rescan(self) -> int:
        """Queue every candidate in the inboxes; returns how many were queued.

        Files modified within the last ``settle`` seconds may still be being
        written by a writer that gives no close event we will see (they were
        opened before we started): they settle first.
        """
        self.health.rescans += 1
        queued = 0
        cutoff = time.time_ns() - int(self.cfg.settle * 1e9)
        for inbox in self.inboxes:
            for path in scan_inbox(inbox, self.cfg):
                if path in self.pending:
                    continue
                try:
                    mtime = os.lstat(path).st_mtime_ns
                except OSError:
                    continue
                if mtime > cutoff:
                    self._settling.setdefault(path, _Settling(-1, -1, time.monotonic()))
                    continue
                if not self.offer(path):
                    return queued  # queue full: the flag is set, try again later
                queued += 1
        self.health.found_by_rescan += queued
        return queued

    def start(self) -> None:
        """Start the observer thread on every inbox (created if missing)."""
        observer: BaseObserver
        if self.cfg.mode == "polling":
            observer = PollingObserver(timeout=self.cfg.poll_interval)
        elif sys.platform.startswith("linux"):
            from watchdog.observers.inotify import InotifyObserver

            # full events: a file moved in from outside the inbox arrives as
            # a move with no source rather than as a bare "created".
            observer = InotifyObserver(generate_full_events=True)
        else:  # pragma: no cover - other platforms settle on change instead
            from watchdog.observers import Observer

            observer = Observer()
        for inbox in self.inboxes:
            inbox.mkdir(parents=True, exist_ok=True)
            observer.schedule(_Handler(self, inbox), str(inbox), recursive=self.cfg.recursive)
        observer.daemon = True
        self._overflow_listener = _KernelOverflow(self)
        _WATCHDOG_LOG.setLevel(logging.WARNING)
        _WATCHDOG_LOG.propagate = False  # its records reach the log through the listener
        _WATCHDOG_LOG.addHandler(self._overflow_listener)
        observer.start()
        self._observer = observer
        log.info("watch_started", inboxes=[str(i) for i in self.inboxes], mode=self.cfg.mode)

    def stop(self) -> None:
        if self._overflow_listener is not None:
            _WATCHDOG_LOG.removeHandler(self._overflow_listener)
            self._overflow_listener = None
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    @property
    def alive(self) -> bool:
        """The observer and every emitter thread run.

        Threads die silently: on an error we did not catch, or when an inbox
        folder is deleted (inotify's IN_DELETE_SELF stops its emitter).
        """
        obs = self._observer
        return (
            obs is not None
            and obs.is_alive()
            and all(e.is_alive() for e in obs.emitters)
            and all(i.is_dir() for i in self.inboxes)
        )

    async def run_timers(self, stop: asyncio.Event) -> None:
        """Periodic rescans, rescans on demand, and the settle check.

        One loop for all three keeps the watcher's state on the event loop
        thread, so none of it needs a lock.
        """
        tick = min(0.25, max(0.05, self.cfg.settle / 4)) if self.cfg.settle else 0.25
        next_rescan = time.monotonic() + self.cfg.rescan_interval
        while not stop.is_set():
            if self._settling:
                self.settle_tick()
            if self.rescan_needed.is_set() and self.queue.qsize() < self.queue.maxsize // 2:
                self.rescan_needed.clear()
                found = self.rescan()
                log.info("rescan", reason="requested", queued=found)
                next_rescan = time.monotonic() + self.cfg.rescan_interval
            elif time.monotonic() >= next_rescan:
                found = self.rescan()
                if found:
                    log.info("rescan", reason="periodic", queued=found)
                next_rescan = time.monotonic() + self.cfg.rescan_interval
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick)
