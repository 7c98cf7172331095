"""One complete file in, stored articles out: read, parse, extract, store, dispose.

Used by the daemon's workers and by ``wirewatch ingest`` alike, so a backfill
goes through exactly the path live files take. The order of the steps is the
promise: a file leaves the inbox (moved or deleted) only after the
transaction holding its articles has committed, so a crash at any moment
leaves it either stored or still in the inbox, where the next start finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import sqlite3
import stat
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from .config import ParseConfig
from .logs import get_logger
from .metrics import Metrics
from .models import Article, Figure, Mention, ParseError
from .parse import DEFAULT_BOILERPLATE, Boilerplate, parse_bytes
from .quarantine import move_into, quarantine_file
from .store import (
    ArticleHook,
    FileToStore,
    QuarantineRecord,
    RecordToStore,
    Store,
    StoredFile,
)

log = get_logger(__name__)

Extractor = Callable[[Article], tuple[Sequence[Figure], Sequence[Mention]]]
Featurizer = Callable[[Article, Sequence[Figure], Sequence[Mention]], object]
AfterStore = Literal["move", "delete", "keep"]


def boilerplate_for(cfg: ParseConfig) -> Boilerplate:
    """The shipped boilerplate rules plus the config's own lines and patterns."""
    return DEFAULT_BOILERPLATE.extend(
        lines=cfg.boilerplate_lines, patterns=cfg.boilerplate_patterns
    )


@dataclass(frozen=True, slots=True)
class Rejected:
    """The file cannot be used; it goes to quarantine with this reason."""

    reason: str
    detail: str
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Gone:
    """The file vanished (or changed into a folder) before it could be read."""

    detail: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """A file read, hashed, parsed and extracted, ready for the writer.

    ``seconds`` holds the time each CPU stage took, for the metrics.
    """

    file: FileToStore
    seconds: dict[str, float] = field(default_factory=dict)


Outcome = Literal["stored", "duplicate", "quarantined", "skipped", "gone"]
Preparer = Callable[[Path], Awaitable["Prepared | Rejected | Gone"]]


def prepare(
    path: Path,
    *,
    max_bytes: int,
    boilerplate: Boilerplate | None,
    extractor: Extractor | None,
    featurizer: Featurizer | None = None,
) -> Prepared | Rejected | Gone:
    """Everything for one file that needs no database: the CPU and disk part.

    Runs in a worker thread. ``lstat`` first and ``O_NOFOLLOW | O_NONBLOCK``
    on open, so a symlink is never followed and a FIFO never blocks a thread.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Gone("deleted before it was read")
    except OSError as exc:
        return Rejected("unreadable", exc.strerror or str(exc))
    if stat.S_ISLNK(st.st_mode):
        return Rejected("symlink", f"symbolic link to {os.readlink(path)!r}, not followed")
    if stat.S_ISDIR(st.st_mode):
        return Gone("is a folder")
    if not stat.S_ISREG(st.st_mode):
        return Rejected("not_regular_file", f"file type {stat.filemode(st.st_mode)[0]!r}")
    if st.st_size == 0:
        return Rejected("empty", "zero bytes", size=0)
    if st.st_size > max_bytes:
        return Rejected("oversized", f"{st.st_size} bytes > limit {max_bytes}", size=st.st_size)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return Gone("deleted before it was read")
    except OSError as exc:
        return Rejected("unreadable", exc.strerror or str(exc))
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        return Rejected("oversized", f"more than {max_bytes} bytes", size=len(data))
    sha = hashlib.sha256(data).hexdigest()
    mtime = datetime.fromtimestamp(st.st_mtime, UTC)
    clock = time.perf_counter
    t0 = clock()
    try:
        parsed = parse_bytes(data, name=path.name, mtime=mtime, boilerplate=boilerplate)
    except ParseError as exc:
        return Rejected(exc.reason, exc.detail, sha256=sha, size=len(data))
    t1 = clock()
    records = []
    featurize_seconds = 0.0
    for rec in parsed:
        figures: Sequence[Figure] = ()
        mentions: Sequence[Mention] = ()
        if extractor is not None:
            figures, mentions = extractor(rec.article)
        t = clock()
        features = featurizer(rec.article, figures, mentions) if featurizer else None
        featurize_seconds += clock() - t
        rec_sha = sha if rec.identity == data else hashlib.sha256(rec.identity).hexdigest()
        records.append(RecordToStore(rec_sha, rec.article, figures, mentions, features))
    seconds = {
        "parse": t1 - t0,
        "extract": clock() - t1 - featurize_seconds,
        "stories": featurize_seconds,
    }
    return Prepared(FileToStore(str(path), sha, len(data), st.st_mtime_ns, records), seconds)


def featurized(prepared: Prepared, featurizer: Featurizer) -> Prepared:
    """``prepared`` with the featurizer's output added to each record.

    For files prepared in another process, which has no handle on the
    stories engine: the featurizer runs here, in the writer's process.
    """
    t = time.perf_counter()
    records = [
        replace(r, features=featurizer(r.article, r.figures, r.mentions))
        for r in prepared.file.records
    ]
    seconds = dict(prepared.seconds, stories=time.perf_counter() - t)
    return Prepared(replace(prepared.file, records=records), seconds)


def dispose(path: Path, mode: AfterStore, inbox: Path | None, processed: Path, sha: str) -> None:
    """What happens to a file once its articles are committed.

    ``move`` keeps the inbox's sub-folders under ``processed``; a name that
    exists there already gets a hash tag rather than overwriting it.
    """
    if mode == "keep":
        return
    if mode == "delete":
        path.unlink(missing_ok=True)
        return
    rel_parent = Path()
    if inbox is not None:
        try:
            rel_parent = path.parent.relative_to(inbox)
        except ValueError:
            rel_parent = Path()
    folder = processed / rel_parent
    folder.mkdir(parents=True, exist_ok=True)
    move_into(path, folder, sha[:12])


_STORAGE_CODES = {
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
}
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT, errno.EACCES, errno.EPERM}


def storage_fault(exc: BaseException) -> str | None:
    """What is wrong with the disk under the database, or ``None`` if ``exc`` is not that.

    A full disk, a read-only or failing file system, a lock held too long:
    the batch is not at fault and will commit once the disk is back, so the
    writer keeps it and tries again instead of failing its files.
    """
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _STORAGE_CODES:
            return f"{getattr(exc, 'sqlite_errorname', 'SQLITE_ERROR')}: {exc}"
        return None
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        return f"{errno.errorcode.get(exc.errno or 0, 'OSError')}: {exc.strerror or exc}"
    return None


class StoreUnavailable(RuntimeError):
    """The writer gave up on a batch at shutdown while the disk was failing."""


@dataclass(frozen=True, slots=True)
class StorageFault:
    """The writer's view of a failing disk: since when, and what SQLite said."""

    error: str
    since: float
    """Wall-clock time of the first failure."""
    attempts: int


class BatchWriter:
    """Collects files from many workers into few transactions.

    While one batch commits, the next accumulates, so the batch size adapts
    to the load by itself: one file per commit when idle (lowest latency),
    up to ``batch_size`` under a backfill (one fsync for many files).

    When the disk fails (full, read-only, I/O errors), the batch is kept and
    retried with a growing pause until it commits. The workers wait for
    their files meanwhile, so intake pauses by itself: nothing new is read,
    the inbox keeps what arrives, and :attr:`fault` tells the health checks.
    """

    RETRY_FIRST = 0.25
    RETRY_MAX = 5.0

    def __init__(self, store: Store, batch_size: int, hooks: Sequence[ArticleHook] = ()) -> None:
        self._store = store
        self._batch_size = batch_size
        self.hooks = list(hooks)
        self.after_commit: list[Callable[[], None]] = []
        self._queue: asyncio.Queue[tuple[FileToStore, asyncio.Future[StoredFile]]] = asyncio.Queue()
        self.batches = 0
        self.last_commit: float | None = None
        self.fault: StorageFault | None = None
        self._give_up = asyncio.Event()

    def give_up(self) -> None:
        """At shutdown: stop retrying a failing disk; the files in hand stay in the inbox."""
        self._give_up.set()

    async def _store_files(self, files: list[FileToStore]) -> list[StoredFile]:
        delay = self.RETRY_FIRST
        while True:
            try:
                results = await self._store.store_files(files, self.hooks)
            except Exception as exc:
                error = storage_fault(exc)
                if error is None:
                    raise
                fault = self.fault
                if fault is None:
                    log.error("store_write_failed", error=error, files=len(files))
                    self.fault = StorageFault(error, time.time(), 1)
                else:
                    self.fault = StorageFault(error, fault.since, fault.attempts + 1)
                if self._give_up.is_set():
                    raise StoreUnavailable(error) from exc
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._give_up.wait(), delay)
                delay = min(delay * 2, self.RETRY_MAX)
                continue
            if self.fault is not None:
                log.warning(
                    "store_write_recovered",
                    after_seconds=round(time.time() - self.fault.since, 1),
                    attempts=self.fault.attempts,
                )
                self.fault = None
            return results

    async def submit(self, f: FileToStore) -> StoredFile:
        fut: asyncio.Future[StoredFile] = asyncio.get_running_loop().create_future()
        await self._queue.put((f, fut))
        return await fut

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        """Write batches until cancelled; a failed batch fails each of its files."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._store_files([f for f, _ in batch])
            except Exception as exc:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.batches += 1
            self.last_commit = asyncio.get_running_loop().time()
            for callback in self.after_commit:
                callback()
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)


@dataclass
class IngestCounts:
    """Running totals, for the log, ``ingest``'s summary and the metrics."""

    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    skipped: int = 0
    gone: int = 0
    failed: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class Pipeline:
    """The ingest path for one file, with its settings bound."""

    store: Store
    writer: BatchWriter
    after_store: AfterStore
    processed_dir: Path
    quarantine_dir: Path
    max_bytes: int
    boilerplate: Boilerplate | None = None
    extractor: Extractor | None = None
    featurizer: Featurizer | None = None
    featurizer_is_cheap: Callable[[], bool] = lambda: False
    """Whether the featurizer may run on the event loop (else in a thread)."""
    preparer: Preparer | None = None
    """Prepares files elsewhere (a process pool); in a worker thread when ``None``."""
    metrics: Metrics | None = None
    counts: IngestCounts = field(default_factory=IngestCounts)
    closers: list[Callable[[], None]] = field(default_factory=list)
    """What to stop when the pipeline closes (the worker processes)."""

    async def _prepare(self, path: Path) -> Prepared | Rejected | Gone:
        if self.preparer is None:
            return await asyncio.to_thread(
                prepare,
                path,
                max_bytes=self.max_bytes,
                boilerplate=self.boilerplate,
                extractor=self.extractor,
                featurizer=self.featurizer,
            )
        result = await self.preparer(path)
        if not isinstance(result, Prepared) or self.featurizer is None:
            return result
        if self.featurizer_is_cheap():
            return featurized(result, self.featurizer)
        return await asyncio.to_thread(featurized, result, self.featurizer)

    async def process(self, path: Path, inbox: Path | None = None) -> Outcome:
        """Take one complete file all the way; returns what became of it."""
        outcome = await self._process(path, inbox)
        self.counts.add(outcome)
        return outcome

    async def _process(self, path: Path, inbox: Path | None) -> Outcome:
        if self.after_store == "keep":
            try:
                st = os.lstat(path)
            except OSError:
                st = None
            if st is not None and await self.store.known_file(
                str(path), st.st_size, st.st_mtime_ns
            ):
                return "skipped"
        result = await self._prepare(path)
        if isinstance(result, Gone):
            log.info("file_skipped", path=str(path), reason=result.detail)
            return "gone"
        if isinstance(result, Rejected):
            return await self._quarantine(path, result)
        t = time.perf_counter()
        stored = await self.writer.submit(result.file)
        if self.metrics is not None:
            m = self.metrics
            for stage, seconds in result.seconds.items():
                m.stage_seconds.labels(stage=stage).observe(seconds)
            m.stage_seconds.labels(stage="store").observe(time.perf_counter() - t)
            m.articles_ingested.inc(stored.new_count)
            m.articles_duplicate.inc(len(stored.new) - stored.new_count)
        await asyncio.to_thread(
            dispose, path, self.after_store, inbox, self.processed_dir, result.file.file_sha256
        )
        for rec, article_id, new in zip(
            result.file.records, stored.article_ids, stored.new, strict=True
        ):
            log.info(
                "article_stored" if new else "article_seen_again",
                article_id=article_id,
                sha256=rec.sha256[:16],
                path=str(path),
                title=rec.article.title[:120],
                figures=len(rec.figures),
            )
        return "stored" if stored.new_count else "duplicate"

    async def _quarantine(self, path: Path, why: Rejected) -> Outcome:
        at = datetime.now(UTC)
        moved = await asyncio.to_thread(
            quarantine_file,
            path,
            self.quarantine_dir,
            reason=why.reason,
            detail=why.detail,
            at=at,
            sha256=why.sha256,
            size=why.size,
        )
        if moved is None:
            log.info("file_skipped", path=str(path), reason="deleted before quarantine")
            return "gone"
        await self.store.record_quarantine(
            QuarantineRecord(str(path), str(moved), why.sha256, why.reason, why.detail, at)
        )
        self.counts.by_reason[why.reason] = self.counts.by_reason.get(why.reason, 0) + 1
        if self.metrics is not None:
            self.metrics.files_quarantined.labels(reason=why.reason).inc()
        log.warning(
            "file_quarantined",
            path=str(path),
            moved_to=str(moved),
            reason=why.reason,
            detail=why.detail,
        )
        return "quarantined"


async def ingest_paths(
    pipeline: Pipeline,
    files: Sequence[Path],
    workers: int,
    on_done: Callable[[Path, Outcome | None], None] | None = None,
) -> float:
    """Backfill: take ``files`` through ``pipeline`` with ``workers`` at once.

    The writer task is started and stopped here; returns the seconds taken.
    A file that fails is counted and reported through ``on_done`` with
    ``None``, and the others go on.
    """
    loop = asyncio.get_running_loop()
    writer = asyncio.create_task(pipeline.writer.run(), name="writer")
    pending = list(reversed(files))
    started = loop.time()

    async def work() -> None:
        while pending:
            path = pending.pop()
            outcome: Outcome | None
            try:
                outcome = await pipeline.process(path)
            except Exception as exc:
                pipeline.counts.failed += 1
                log.error("file_failed", path=str(path), error=repr(exc))
                outcome = None
            if on_done is not None:
                on_done(path, outcome)

    try:
        await asyncio.gather(*(work() for _ in range(max(1, workers))))
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
    return loop.time() - started
