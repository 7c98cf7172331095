"""The only package that speaks SQL: schema, migrations, writes and queries.

SQLite in WAL mode with one writer connection. Writes are batched: many
files go into one ``BEGIN IMMEDIATE`` transaction, because a commit with
``synchronous=FULL`` costs an fsync, and FULL is what makes a commit survive
a power cut (NORMAL may roll the last commits back, and a "stored" mark that
rolls back after the file was moved away is a lost article). Readers use
their own connection and never wait for the writer.

An article is identified by the SHA-256 of the bytes it came from (UNIQUE),
so the same bytes under any name are stored once and every further arrival
is a *sighting* of it. Each part of the schema has its module; ``Store``
joins them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .articles import (
    ArticleHook,
    ArticlesMixin,
    FileToStore,
    QuarantineRecord,
    RecordToStore,
    StoredFile,
)
from .base import iso, utcnow
from .outbox import (
    DELIVERY_STATUSES,
    AlertDetail,
    Attempt,
    Delivery,
    DeliveryRow,
    DeliveryStatus,
    OutboxMixin,
    PendingDelivery,
    SinkState,
    alert_from_json,
    alert_to_json,
)
from .rules import RulesMixin
from .schema import MIGRATIONS
from .stories import StoriesMixin


class Store(ArticlesMixin, OutboxMixin, RulesMixin, StoriesMixin):
    """The database of one wirewatch instance."""

    async def status_counts(self) -> dict[str, Any]:
        """What ``wirewatch status`` shows from the database alone."""
        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        counts = await self.counts()
        deliveries = await self.delivery_counts()
        by_state: dict[str, int] = {}
        for per_sink in deliveries.values():
            for state, n in per_sink.items():
                by_state[state] = by_state.get(state, 0) + n
        disabled = [name for name, st in (await self.sink_states()).items() if st.disabled]
        return {
            "articles": counts["articles"],
            "today": await self.articles_since(today),
            "quarantined": counts["quarantined"],
            "deliveries": by_state,
            "destinations_disabled": disabled,
        }


T = TypeVar("T")

if TYPE_CHECKING:
    from ..config import Config


async def open_existing(cfg: Config) -> Store:
    """The database the daemon keeps, for a command; refused when there is none yet
    (a typo in the config's path must not quietly create an empty one)."""
    from ..config import ConfigError

    db = cfg.store.database_path
    if not db.exists():
        raise ConfigError(str(db), ["no database yet: run the daemon or `wirewatch ingest` first"])
    return await Store.open(db, busy_timeout_ms=cfg.store.busy_timeout_ms)


def with_existing_store(cfg: Config, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``work`` on :func:`open_existing`'s store and close it: one command's visit."""

    async def go() -> T:
        store = await open_existing(cfg)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())


__all__ = [
    "DELIVERY_STATUSES",
    "MIGRATIONS",
    "AlertDetail",
    "ArticleHook",
    "Attempt",
    "Delivery",
    "DeliveryRow",
    "DeliveryStatus",
    "FileToStore",
    "OutboxMixin",
    "PendingDelivery",
    "QuarantineRecord",
    "RecordToStore",
    "SinkState",
    "Store",
    "StoredFile",
    "alert_from_json",
    "alert_to_json",
    "iso",
    "open_existing",
    "utcnow",
    "with_existing_store",
]
