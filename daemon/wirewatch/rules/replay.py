"""Replaying articles through rules in a scratch state: what would have fired?

``wirewatch test-rules`` and the rules benchmark use this. It runs the very
code the daemon runs (the store's transaction, the :class:`RulesStage`
hook, fingerprints, cooldowns, ``group_wait``) on a throw-away database,
with a clock that follows the articles' own times, and collects alerts
instead of sending them. Nothing touches the live database's state.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from ..config import Config
from ..extract.extractor import build_extractor
from ..ingest import Prepared, Rejected, prepare
from ..models import Alert
from ..parse import DEFAULT_BOILERPLATE
from ..store.articles import ArticlesMixin, FileToStore, RecordToStore
from ..store.rules import RulesMixin, archived_articles
from .engine import RulesStage, StoryLookup
from .loader import RuleSet

__all__ = [
    "CollectingSink",
    "ManualClock",
    "ReplayItem",
    "ScratchStore",
    "archive_items",
    "folder_items",
    "replay",
]


class ScratchStore(RulesMixin, ArticlesMixin):
    """Articles and rule state, nothing else: enough to run the rules stage."""


class CollectingSink:
    """An outbox that keeps alerts in a list, deduplicating by fingerprint."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self._fingerprints: set[str] = set()

    async def enqueue_alert(
        self, db: aiosqlite.Connection, alert: Alert, sinks: Sequence[str]
    ) -> bool:
        if alert.fingerprint in self._fingerprints:
            return False
        self._fingerprints.add(alert.fingerprint)
        self.alerts.append(alert)
        return True


@dataclass
class ManualClock:
    """A clock that moves only when told to, and never backwards."""

    now: datetime = field(default_factory=lambda: datetime(2000, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        if when > self.now:
            self.now = when

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """One article to replay, at the time it (notionally) arrived."""

    time: datetime
    path: str
    record: RecordToStore


def folder_items(
    files: Iterable[Path], cfg: Config, *, order: str = "name"
) -> tuple[list[ReplayItem], list[str]]:
    """Parse and extract files as the daemon would; returns items and refusals.

    Each article's time is its file's mtime; ``order`` is ``name`` (the
    files in name order, the clock never going backwards) or ``mtime``.
    """
    extractor = build_extractor(cfg.extract)
    boilerplate = DEFAULT_BOILERPLATE.extend(
        lines=cfg.parse.boilerplate_lines, patterns=cfg.parse.boilerplate_patterns
    )
    paths = list(files)
    if order == "mtime":
        paths.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    items: list[ReplayItem] = []
    refused: list[str] = []
    for path in paths:
        result = prepare(
            path, max_bytes=cfg.parse.max_bytes, boilerplate=boilerplate, extractor=extractor
        )
        if isinstance(result, Rejected):
            refused.append(f"{path}: would be quarantined: {result.reason} {result.detail}")
            continue
        if not isinstance(result, Prepared):
            refused.append(f"{path}: {result.detail}")
            continue
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        items.extend(ReplayItem(mtime, str(path), rec) for rec in result.file.records)
    return items, refused


async def archive_items(
    database: Path, since: datetime | None, until: datetime | None = None
) -> list[ReplayItem]:
    """Stored articles from a live database, read-only, at their ingest times."""
    db = await aiosqlite.connect(f"file:{database}?mode=ro", uri=True)
    try:
        items = []
        async for a in archived_articles(db, since, until):
            items.append(
                ReplayItem(
                    a.ingested_at, a.path, RecordToStore(a.sha256, a.article, a.figures, a.mentions)
                )
            )
        return items
    finally:
        await db.close()


async def replay(
    ruleset: RuleSet,
    items: Iterable[ReplayItem] | AsyncIterable[ReplayItem],
    *,
    story_lookup: StoryLookup | None = None,
    scratch_dir: Path | None = None,
) -> tuple[list[Alert], RulesStage]:
    """Run ``items`` through ``ruleset`` on a scratch database; the alerts it sent.

    Before each article the clock moves to the article's time and the
    stage ticks (so flatline rules and ``group_wait`` batches behave as they
    would live); after the last one, time runs on past every rule's
    ``group_wait`` so held-back batches come out too.
    """
    with tempfile.TemporaryDirectory(dir=scratch_dir) as tmp:
        store = await ScratchStore.open(Path(tmp) / "scratch.db")
        try:
            sink = CollectingSink()
            clock = ManualClock()
            stage = RulesStage(store, sink, ruleset, clock=clock, story_lookup=story_lookup)
            started = False

            async def one(item: ReplayItem) -> None:
                nonlocal started
                if not started:
                    clock.now = item.time
                    await stage.start()
                    started = True
                clock.set(item.time)
                await stage.tick()
                sha = item.record.sha256 or hashlib.sha256(item.path.encode()).hexdigest()
                await store.store_files(
                    [FileToStore(item.path, sha, 0, 0, [item.record])], hooks=[stage]
                )

            if isinstance(items, AsyncIterable):
                async for item in items:
                    await one(item)
            else:
                for item in items:
                    await one(item)
            if started:
                longest = max((r.config.group_wait for r in ruleset.rules), default=timedelta(0))
                clock.advance(longest + timedelta(seconds=1))
                await stage.tick()
            return sink.alerts, stage
        finally:
            await store.close()
