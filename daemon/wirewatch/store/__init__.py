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
from .schema import MIGRATIONS


class Store(ArticlesMixin, OutboxMixin):
    """The database of one wirewatch instance."""


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
    "utcnow",
]
