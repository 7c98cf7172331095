"""What the rules stage keeps: rule state, definitions, fired fingerprints, silences.

Rule state lives in the database, not only in memory, because ElastAlert's
users' most common complaint is alert floods and missed alerts after a
restart. Every write here takes the caller's connection, so the rules'
new state commits in the same transaction as the article that changed it
(or not at all).

Tables:

* ``rule_state``: one JSON object per (rule, kind, key). ``kind`` is
  ``state`` for what the rule type tracks (last values, seen terms,
  windows) and ``realert`` for the cooldown of one key.
* ``rule_definitions``: each rule's last applied definition, so a changed
  rule can keep or reset its state and say which.
* ``rule_fired``: every fingerprint (rule, key, value) ever claimed, the
  guarantee that the same alert never fires twice.
* ``rule_pending``: alerts waiting out a rule's ``group_wait``.
* ``rule_silences``: silences made with ``wirewatch silence``.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import numpy as np
import numpy.typing as npt

from ..models import Article, Figure, Mention
from .base import StoreBase, iso

RULES_MIGRATION: str = """
CREATE TABLE IF NOT EXISTS rule_state (
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (rule, kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_definitions (
    rule TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    tracking_hash TEXT NOT NULL,
    tracking TEXT NOT NULL,
    definition_hash TEXT NOT NULL,
    active INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_fired (
    fingerprint TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    fired_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rule_fired_rule ON rule_fired(rule);
CREATE TABLE IF NOT EXISTS rule_pending (
    rule TEXT PRIMARY KEY,
    due_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_silences (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    key TEXT,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    comment TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rule_silences_ends ON rule_silences(ends_at);
"""
"""The rules' tables: migration 4 in :data:`wirewatch.store.schema.MIGRATIONS`."""


def _parse_time(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _iso(dt: datetime) -> str:
    out = iso(dt)
    assert out is not None
    return out


@dataclass(frozen=True, slots=True)
class StoredDefinition:
    """A rule's definition as last applied: what its state was built for."""

    rule: str
    type: str
    tracking_hash: str
    tracking: dict[str, Any]
    definition_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class StateRow:
    rule: str
    kind: str
    key: str
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes a rule (a glob over rule names) or one key of it, for a time."""

    id: int
    rule: str
    key: str | None
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, rule: str, key: str) -> bool:
        """Whether the silence covers this rule (a glob) and key (any case)."""
        if not fnmatch.fnmatchcase(rule, self.rule):
            return False
        return self.key is None or self.key.casefold() == key.casefold()


@dataclass(frozen=True, slots=True)
class PendingGroup:
    """Alerts of one rule waiting out its ``group_wait``."""

    rule: str
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ArchivedArticle:
    """A stored article with what was extracted from it, for replays."""

    id: int
    path: str
    sha256: str
    ingested_at: datetime
    article: Article
    figures: tuple[Figure, ...]
    mentions: tuple[Mention, ...]


def _silence(row: Sequence[Any]) -> Silence:
    return Silence(
        id=int(row[0]),
        rule=str(row[1]),
        key=row[2],
        starts_at=_parse_time(row[3]),
        ends_at=_parse_time(row[4]),
        comment=str(row[5]),
        created_by=str(row[6]),
        created_at=_parse_time(row[7]),
    )


_SILENCE_COLUMNS = "id, rule, key, starts_at, ends_at, comment, created_by, created_at"


class RulesMixin(StoreBase):
    """The rules stage's reads and writes.

    Methods that take ``db`` run on the caller's connection inside the
    caller's transaction; the others open their own.
    """

    @asynccontextmanager
    async def rules_transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction of the rules stage's own (swap, tick, silences)."""
        async with self._transaction() as db:
            yield db

    # -- state ---------------------------------------------------------------
    async def load_rule_state(self, db: aiosqlite.Connection) -> list[StateRow]:
        async with db.execute("SELECT rule, kind, key, state FROM rule_state") as cur:
            rows = await cur.fetchall()
        return [StateRow(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    async def save_rule_state(
        self,
        db: aiosqlite.Connection,
        upserts: Iterable[tuple[str, str, str, dict[str, Any]]],
        deletes: Iterable[tuple[str, str, str]],
        now: datetime,
    ) -> None:
        at = _iso(now)
        up = [
            (rule, kind, key, json.dumps(state, separators=(",", ":")), at)
            for rule, kind, key, state in upserts
        ]
        if up:
            await db.executemany(
                "INSERT INTO rule_state(rule, kind, key, state, updated_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT(rule, kind, key) DO UPDATE SET state=excluded.state,"
                " updated_at=excluded.updated_at",
                up,
            )
        dels = list(deletes)
        if dels:
            await db.executemany("DELETE FROM rule_state WHERE rule=? AND kind=? AND key=?", dels)

    async def reset_rule(self, db: aiosqlite.Connection, rule: str) -> None:
        """Forget what a rule learnt: state, cooldowns, alerts held back.

        Fired fingerprints stay: they include the rule's tracked definition,
        so they cannot block the new definition's alerts, and they keep an
        old definition's alerts from repeating should it come back.
        """
        for table in ("rule_state", "rule_pending"):
            await db.execute(f"DELETE FROM {table} WHERE rule=?", (rule,))

    # -- definitions ---------------------------------------------------------
    async def load_rule_definitions(self, db: aiosqlite.Connection) -> dict[str, StoredDefinition]:
        async with db.execute(
            "SELECT rule, type, tracking_hash, tracking, definition_hash, active"
            " FROM rule_definitions"
        ) as cur:
            rows = await cur.fetchall()
        return {
            r[0]: StoredDefinition(r[0], r[1], r[2], json.loads(r[3]), r[4], bool(r[5]))
            for r in rows
        }

    async def save_rule_definition(
        self,
        db: aiosqlite.Connection,
        rule: str,
        type_: str,
        tracking_hash: str,
        tracking: dict[str, Any],
        definition_hash: str,
        now: datetime,
    ) -> None:
        await db.execute(
            "INSERT INTO rule_definitions(rule, type, tracking_hash, tracking, definition_hash,"
            " active, updated_at) VALUES (?,?,?,?,?,1,?) ON CONFLICT(rule) DO UPDATE SET"
            " type=excluded.type, tracking_hash=excluded.tracking_hash,"
            " tracking=excluded.tracking, definition_hash=excluded.definition_hash,"
            " active=1, updated_at=excluded.updated_at",
            (rule, type_, tracking_hash, json.dumps(tracking), definition_hash, _iso(now)),
        )

    async def deactivate_rule(self, db: aiosqlite.Connection, rule: str, now: datetime) -> None:
        """Mark a rule as no longer configured; its state stays for its return."""
        await db.execute(
            "UPDATE rule_definitions SET active=0, updated_at=? WHERE rule=?", (_iso(now), rule)
        )

    # -- fingerprints --------------------------------------------------------
    async def fingerprint_claimed(self, db: aiosqlite.Connection, fingerprint: str) -> bool:
        rows = await db.execute_fetchall(
            "SELECT 1 FROM rule_fired WHERE fingerprint=?", (fingerprint,)
        )
        return bool(list(rows))

    async def claim_fingerprint(
        self,
        db: aiosqlite.Connection,
        fingerprint: str,
        rule: str,
        key: str,
        value: str,
        status: str,
        now: datetime,
    ) -> bool:
        """Record a fingerprint as fired; False if it was already."""
        async with db.execute(
            "INSERT INTO rule_fired(fingerprint, rule, key, value, status, fired_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(fingerprint) DO NOTHING RETURNING 1",
            (fingerprint, rule, key, value, status, _iso(now)),
        ) as cur:
            return await cur.fetchone() is not None

    async def load_fingerprint_prefixes(self, db: aiosqlite.Connection) -> npt.NDArray[np.uint64]:
        """The first 64 bits of every fingerprint ever claimed, read in chunks so
        that a million of them never sit in memory as Python objects at once."""
        chunks: list[npt.NDArray[np.uint64]] = [np.zeros(0, dtype=np.uint64)]
        async with db.execute("SELECT substr(fingerprint, 1, 16) FROM rule_fired") as cur:
            while rows := list(await cur.fetchmany(50_000)):
                chunks.append(
                    np.fromiter((int(r[0], 16) for r in rows), dtype=np.uint64, count=len(rows))
                )
        return np.concatenate(chunks)

    async def save_claims(
        self,
        db: aiosqlite.Connection,
        claims: Sequence[tuple[str, str, str, str, str, datetime]],
    ) -> None:
        """Record claimed fingerprints: (fingerprint, rule, key, value, status, at)."""
        await db.executemany(
            "INSERT INTO rule_fired(fingerprint, rule, key, value, status, fired_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(fingerprint) DO NOTHING",
            [
                (fp, rule, key, value, status, _iso(at))
                for fp, rule, key, value, status, at in claims
            ],
        )

    async def fired_counts(self) -> dict[str, int]:
        """How many fingerprints each rule has fired (or had silenced)."""
        db = await self._read()
        async with db.execute("SELECT rule, count(*) FROM rule_fired GROUP BY rule") as cur:
            return {r[0]: int(r[1]) for r in await cur.fetchall()}

    # -- grouping ------------------------------------------------------------
    async def load_pending(self, db: aiosqlite.Connection) -> list[PendingGroup]:
        async with db.execute("SELECT rule, due_at, payload FROM rule_pending") as cur:
            rows = await cur.fetchall()
        return [PendingGroup(r[0], _parse_time(r[1]), json.loads(r[2])) for r in rows]

    async def save_pending(
        self, db: aiosqlite.Connection, rule: str, due_at: datetime, payload: dict[str, Any]
    ) -> None:
        await db.execute(
            "INSERT INTO rule_pending(rule, due_at, payload) VALUES (?,?,?)"
            " ON CONFLICT(rule) DO UPDATE SET due_at=excluded.due_at, payload=excluded.payload",
            (rule, _iso(due_at), json.dumps(payload, separators=(",", ":"))),
        )

    async def delete_pending(self, db: aiosqlite.Connection, rule: str) -> None:
        await db.execute("DELETE FROM rule_pending WHERE rule=?", (rule,))

    # -- silences ------------------------------------------------------------
    silences_generation: int = 0
    """Bumped whenever this process adds or ends a silence, so a cached list
    of silences in the same process is refreshed at once."""

    async def active_silences(self, db: aiosqlite.Connection, now: datetime) -> list[Silence]:
        """Silences not over yet (running or to come); check ``Silence.active``."""
        async with db.execute(
            f"SELECT {_SILENCE_COLUMNS} FROM rule_silences WHERE ends_at > ?", (_iso(now),)
        ) as cur:
            rows = await cur.fetchall()
        return [_silence(r) for r in rows]

    async def add_silence(
        self,
        rule: str,
        key: str | None,
        starts_at: datetime,
        ends_at: datetime,
        comment: str,
        created_by: str,
        now: datetime,
    ) -> Silence:
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        async with (
            self._transaction() as db,
            db.execute(
                "INSERT INTO rule_silences(rule, key, starts_at, ends_at, comment, created_by,"
                f" created_at) VALUES (?,?,?,?,?,?,?) RETURNING {_SILENCE_COLUMNS}",
                (rule, key, _iso(starts_at), _iso(ends_at), comment, created_by, _iso(now)),
            ) as cur,
        ):
            row = await cur.fetchone()
        assert row is not None
        self.silences_generation += 1
        return _silence(row)

    async def list_silences(self, now: datetime, include_expired: bool = False) -> list[Silence]:
        db = await self._read()
        sql = f"SELECT {_SILENCE_COLUMNS} FROM rule_silences"
        params: tuple[str, ...] = ()
        if not include_expired:
            sql += " WHERE ends_at > ?"
            params = (_iso(now),)
        async with db.execute(sql + " ORDER BY starts_at, id", params) as cur:
            return [_silence(r) for r in await cur.fetchall()]

    async def expire_silence(self, silence_id: int, now: datetime) -> bool:
        """End a silence now; False if there is no such silence still running."""
        async with (
            self._transaction() as db,
            db.execute(
                "UPDATE rule_silences SET ends_at=? WHERE id=? AND ends_at > ? RETURNING id",
                (_iso(now), silence_id, _iso(now)),
            ) as cur,
        ):
            ended = await cur.fetchone() is not None
        self.silences_generation += 1
        return ended

    async def archived_articles(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> AsyncIterator[ArchivedArticle]:
        """Stored articles ingested in ``[since, until)``, oldest first."""
        async for item in archived_articles(await self._read(), since, until):
            yield item


async def archived_articles(
    db: aiosqlite.Connection, since: datetime | None = None, until: datetime | None = None
) -> AsyncIterator[ArchivedArticle]:
    """Stored articles ingested in ``[since, until)``, oldest first.

    Takes a connection rather than a store, so a replay can read a live
    database through a read-only connection without migrating it.
    """
    where: list[str] = []
    params: list[str] = []
    if since is not None:
        where.append("ingested_at >= ?")
        params.append(_iso(since))
    if until is not None:
        where.append("ingested_at < ?")
        params.append(_iso(until))
    sql = (
        "SELECT id, path, sha256, ingested_at, title, title_derived, published,"
        " date_estimated, caption, subheads, source_hints, url, format, body FROM articles"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ingested_at, id"
    async with db.execute(sql, params) as cur:
        rows = await cur.fetchall()
    for r in rows:
        article = Article(
            title=r[4],
            paragraphs=tuple(p for p in r[13].split("\n\n") if p) if r[13] else (),
            published=_parse_time(r[6]) if r[6] else None,
            date_estimated=bool(r[7]),
            title_derived=bool(r[5]),
            caption=r[8],
            subheads=tuple(json.loads(r[9])),
            source_hints=tuple(json.loads(r[10])),
            url=r[11],
            format=r[12],
        )
        figures, mentions = await _extracted(db, int(r[0]), article.text)
        yield ArchivedArticle(int(r[0]), r[1], r[2], _parse_time(r[3]), article, figures, mentions)


async def _extracted(
    db: aiosqlite.Connection, article_id: int, text: str
) -> tuple[tuple[Figure, ...], tuple[Mention, ...]]:
    async with db.execute(
        "SELECT low, high, text, qualifier, qualifier_kind, unit, unit_lemma, modifiers,"
        ' context, kind, currency, implied_unit, start, "end", sentence FROM figures'
        " WHERE article_id=? ORDER BY start",
        (article_id,),
    ) as cur:
        frows = await cur.fetchall()
    figures = tuple(
        Figure(
            low=f[0],
            high=f[1],
            text=f[2],
            qualifier=f[3],
            qualifier_kind=f[4],
            unit=f[5],
            unit_lemma=f[6],
            modifiers=tuple(json.loads(f[7])),
            context=tuple(json.loads(f[8])),
            kind=f[9],
            currency=f[10],
            implied_unit=bool(f[11]),
            start=f[12],
            end=f[13],
            sentence=f[14],
        )
        for f in frows
    )
    async with db.execute(
        "SELECT term, watched, spans FROM mentions WHERE article_id=?", (article_id,)
    ) as cur:
        mrows = await cur.fetchall()
    mentions: list[Mention] = []
    for term, watched, spans in mrows:
        for start, end in json.loads(spans):
            mentions.append(Mention(term, text[start:end], start, end, bool(watched)))
    mentions.sort(key=lambda m: m.start)
    return figures, tuple(mentions)
