"""The outbox: alerts waiting to be told, their deliveries and every attempt.

The rules stage writes an alert and one ``deliveries`` row per destination
in the same transaction that stores the article which fired it, so an alert
exists exactly when its cause does. The notify stage then works each
destination's rows strictly in insertion order (head of line first) and
commits the outcome of every attempt. Times are ISO 8601 in UTC with
microseconds, so that they sort as text and a sub-second backoff survives
the round trip.

A delivery is ``pending`` until it is ``sent`` (a 2xx), ``failed`` (the
receiver refused it for good) or ``dead`` (out of attempts or out of time).
``queued_at`` is when it last entered the queue (enqueued, or retried by an
operator); a delivery's maximum age counts from there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiosqlite

from ..models import Alert, ArticleRef
from .base import StoreBase, utcnow

DeliveryStatus = Literal["pending", "sent", "failed", "dead"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "sent", "failed", "dead")


def ts(dt: datetime) -> str:
    """A sortable UTC timestamp with microseconds."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _req_dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- Alert <-> JSON ---------------------------------------------------------
def _ref_to_dict(ref: ArticleRef) -> dict[str, Any]:
    return {
        "id": ref.id,
        "title": ref.title,
        "source": ref.source,
        "path": ref.path,
        "url": ref.url,
        "published": ref.published.isoformat() if ref.published else None,
    }


def alert_to_json(alert: Alert) -> str:
    """The alert as stored in ``alerts.payload``; datetimes as full ISO strings."""
    data = {
        "id": alert.id,
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "rule_type": alert.rule_type,
        "severity": alert.severity,
        "title": alert.title,
        "body": alert.body,
        "created_at": alert.created_at.isoformat(),
        "key": alert.key,
        "old_value": alert.old_value,
        "new_value": alert.new_value,
        "sentence": alert.sentence,
        "story_id": alert.story_id,
        "story_title": alert.story_title,
        "sources": list(alert.sources),
        "articles": [_ref_to_dict(a) for a in alert.articles],
        "destinations": list(alert.destinations),
        "labels": [list(pair) for pair in alert.labels],
    }
    return json.dumps(data, ensure_ascii=False)


def alert_from_json(text: str) -> Alert:
    """The inverse of :func:`alert_to_json`."""
    d = json.loads(text)
    return Alert(
        id=d["id"],
        fingerprint=d["fingerprint"],
        rule=d["rule"],
        rule_type=d["rule_type"],
        severity=d["severity"],
        title=d["title"],
        body=d["body"],
        created_at=_req_dt(d["created_at"]),
        key=d.get("key", ""),
        old_value=d.get("old_value"),
        new_value=d.get("new_value"),
        sentence=d.get("sentence"),
        story_id=d.get("story_id"),
        story_title=d.get("story_title"),
        sources=tuple(d.get("sources", ())),
        articles=tuple(
            ArticleRef(
                id=a["id"],
                title=a["title"],
                source=a["source"],
                path=a["path"],
                url=a.get("url"),
                published=_dt(a.get("published")),
            )
            for a in d.get("articles", ())
        ),
        destinations=tuple(d.get("destinations", ())),
        labels=tuple((str(k), str(v)) for k, v in d.get("labels", ())),
    )


# -- rows ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert on its way to one destination."""

    id: int
    alert_id: str
    sink: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    queued_at: datetime
    updated_at: datetime
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """The head of a destination's queue, with the alert it carries."""

    delivery: Delivery
    alert: Alert


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP request (or console write) and what came of it."""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A line of ``wirewatch alerts list``."""

    delivery: Delivery
    rule: str
    rule_type: str
    severity: str
    title: str


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """Everything ``wirewatch alerts show`` prints about one alert."""

    alert: Alert
    deliveries: list[Delivery]
    attempts: dict[int, list[Attempt]]


@dataclass(frozen=True, slots=True)
class SinkState:
    """A destination switched off (after a 410 Gone) or back on."""

    sink: str
    disabled: bool
    reason: str | None
    at: datetime
    url_sha256: str | None


_DELIVERY_COLUMNS = (
    "d.id, d.alert_id, d.sink, d.status, d.attempts, d.next_attempt_at, d.created_at,"
    " d.queued_at, d.updated_at, d.last_error, d.sent_at"
)


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=int(row[0]),
        alert_id=str(row[1]),
        sink=str(row[2]),
        status=row[3],
        attempts=int(row[4]),
        next_attempt_at=_req_dt(row[5]),
        created_at=_req_dt(row[6]),
        queued_at=_req_dt(row[7]),
        updated_at=_req_dt(row[8]),
        last_error=row[9],
        sent_at=_dt(row[10]),
    )


class OutboxMixin(StoreBase):
    """The outbox's writes (enqueue, outcomes, operator retries) and queries."""

    # -- enqueue --------------------------------------------------------------
    async def enqueue_alert(
        self, db: aiosqlite.Connection, alert: Alert, sinks: Sequence[str]
    ) -> bool:
        """Put an alert in the outbox for each named destination.

        Runs inside the caller's transaction (``db`` is the connection it
        yields), so the alert commits with the article that fired it. Returns
        False, writing nothing, when an alert with this fingerprint (or id)
        is already stored: the same alert never fires twice.
        """
        now = ts(utcnow())
        inserted = await db.execute_fetchall(
            "INSERT OR IGNORE INTO alerts(id, fingerprint, rule, rule_type, severity,"
            " created_at, payload) VALUES (?,?,?,?,?,?,?) RETURNING 1",
            (
                alert.id,
                alert.fingerprint,
                alert.rule,
                alert.rule_type,
                alert.severity,
                ts(alert.created_at),
                alert_to_json(alert),
            ),
        )
        if not inserted:
            return False
        await db.executemany(
            "INSERT OR IGNORE INTO deliveries(alert_id, sink, status, attempts, next_attempt_at,"
            " created_at, queued_at, updated_at) VALUES (?,?,'pending',0,?,?,?,?)",
            [(alert.id, sink, now, now, now, now) for sink in dict.fromkeys(sinks)],
        )
        return True

    async def add_alert(self, alert: Alert, sinks: Sequence[str]) -> bool:
        """:meth:`enqueue_alert` in a transaction of its own."""
        async with self._transaction() as db:
            return await self.enqueue_alert(db, alert, sinks)

    # -- the worker's queries -------------------------------------------------
    async def next_delivery(self, sink: str) -> PendingDelivery | None:
        """The oldest pending delivery of ``sink``: the head of its queue.

        Later rows wait behind it even when it is backing off; that is what
        delivering in order means.
        """
        db = await self._read("outbox")
        rows = list(
            await db.execute_fetchall(
                f"SELECT {_DELIVERY_COLUMNS}, a.payload FROM deliveries d"
                " JOIN alerts a ON a.id = d.alert_id"
                " WHERE d.sink = ? AND d.status = 'pending' ORDER BY d.id LIMIT 1",
                (sink,),
            )
        )
        if not rows:
            return None
        row = rows[0]
        return PendingDelivery(_delivery(row), alert_from_json(row[11]))

    async def finish_attempt(
        self,
        delivery_id: int,
        attempt: Attempt,
        status: DeliveryStatus,
        *,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Record an attempt and the delivery's new status in one transaction.

        ``sent`` clears the last error; any other status keeps the attempt's
        error as the delivery's ``last_error``. ``next_attempt_at`` is when a
        ``pending`` delivery may be tried again.
        """
        now = ts(attempt.at)
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO delivery_attempts(delivery_id, at, status_code, error, duration_ms)"
                " VALUES (?,?,?,?,?)",
                (delivery_id, now, attempt.status_code, attempt.error, attempt.duration_ms),
            )
            await db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1,"
                " next_attempt_at = coalesce(?, next_attempt_at), updated_at = ?,"
                " last_error = ?, sent_at = ? WHERE id = ?",
                (
                    status,
                    ts(next_attempt_at) if next_attempt_at else None,
                    now,
                    None if status == "sent" else attempt.error,
                    now if status == "sent" else None,
                    delivery_id,
                ),
            )

    async def expire_delivery(self, delivery_id: int, reason: str) -> None:
        """Mark a delivery ``dead`` without another attempt, keeping its last error."""
        now = ts(utcnow())
        async with self._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET status = 'dead', updated_at = ?,"
                " last_error = ? || coalesce('; last error: ' || last_error, '')"
                " WHERE id = ? AND status = 'pending'",
                (now, reason, delivery_id),
            )

    # -- destinations ---------------------------------------------------------
    async def disable_sink(self, sink: str, reason: str, url_sha256: str | None) -> None:
        """Switch a destination off; its pending rows wait until it is back on."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO sink_state(sink, disabled, reason, at, url_sha256)"
                " VALUES (?, 1, ?, ?, ?) ON CONFLICT(sink) DO UPDATE SET disabled = 1,"
                " reason = excluded.reason, at = excluded.at, url_sha256 = excluded.url_sha256",
                (sink, reason, ts(utcnow()), url_sha256),
            )

    async def enable_sink(self, sink: str) -> bool:
        """Switch a destination back on; returns whether it was off.

        Its waiting deliveries are queued afresh (their maximum age counts
        from now), since they waited for the operator, not for the receiver.
        """
        now = ts(utcnow())
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE sink_state SET disabled = 0, at = ? WHERE sink = ? AND disabled = 1",
                (now, sink),
            )
            was_off = cur.rowcount == 1
            await cur.close()
            if was_off:
                await db.execute(
                    "UPDATE deliveries SET queued_at = ?, next_attempt_at = ?, updated_at = ?"
                    " WHERE sink = ? AND status = 'pending'",
                    (now, now, now, sink),
                )
        return was_off

    async def sink_states(self) -> dict[str, SinkState]:
        db = await self._read()
        async with db.execute(
            "SELECT sink, disabled, reason, at, url_sha256 FROM sink_state"
        ) as cur:
            rows = await cur.fetchall()
        return {
            str(r[0]): SinkState(str(r[0]), bool(r[1]), r[2], _req_dt(r[3]), r[4]) for r in rows
        }

    # -- the operator's commands ----------------------------------------------
    async def list_deliveries(
        self, status: DeliveryStatus | None = None, sink: str | None = None, limit: int = 50
    ) -> list[DeliveryRow]:
        """Deliveries, newest first, optionally of one status or destination."""
        db = await self._read()
        async with db.execute(
            f"SELECT {_DELIVERY_COLUMNS}, a.rule, a.rule_type, a.severity,"
            " json_extract(a.payload, '$.title') FROM deliveries d"
            " JOIN alerts a ON a.id = d.alert_id"
            " WHERE (?1 IS NULL OR d.status = ?1) AND (?2 IS NULL OR d.sink = ?2)"
            " ORDER BY d.id DESC LIMIT ?3",
            (status, sink, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [
            DeliveryRow(_delivery(r), str(r[11]), str(r[12]), str(r[13]), str(r[14] or ""))
            for r in rows
        ]

    async def resolve_alert_id(self, id_or_prefix: str) -> str | None:
        """The full id of an alert named by its id or an unambiguous prefix of it."""
        db = await self._read()
        async with db.execute(
            "SELECT id FROM alerts WHERE id = ?1 OR substr(id, 1, length(?1)) = ?1 LIMIT 2",
            (id_or_prefix,),
        ) as cur:
            rows = await cur.fetchall()
        ids = [str(r[0]) for r in rows]
        if id_or_prefix in ids:
            return id_or_prefix
        return ids[0] if len(ids) == 1 else None

    async def alert_detail(self, alert_id: str) -> AlertDetail | None:
        """An alert, its deliveries and every attempt of each."""
        db = await self._read()
        async with db.execute("SELECT payload FROM alerts WHERE id = ?", (alert_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        async with db.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries d WHERE d.alert_id = ? ORDER BY d.id",
            (alert_id,),
        ) as cur:
            deliveries = [_delivery(r) for r in await cur.fetchall()]
        async with db.execute(
            "SELECT t.delivery_id, t.at, t.status_code, t.error, t.duration_ms"
            " FROM delivery_attempts t JOIN deliveries d ON d.id = t.delivery_id"
            " WHERE d.alert_id = ? ORDER BY t.id",
            (alert_id,),
        ) as cur:
            attempt_rows = await cur.fetchall()
        attempts: dict[int, list[Attempt]] = {d.id: [] for d in deliveries}
        for r in attempt_rows:
            attempts[int(r[0])].append(Attempt(_req_dt(r[1]), r[2], r[3], float(r[4])))
        return AlertDetail(alert_from_json(row[0]), deliveries, attempts)

    async def retry_alert(self, alert_id: str) -> int:
        """Queue every unsent delivery of one alert again, due now, with fresh attempts."""
        return await self._requeue("alert_id = ? AND status != 'sent'", (alert_id,))

    async def retry_dead(self) -> int:
        """Queue every dead delivery again; returns how many."""
        return await self._requeue("status = 'dead'", ())

    async def _requeue(self, where: str, params: tuple[Any, ...]) -> int:
        now = ts(utcnow())
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"
                f" queued_at = ?, updated_at = ? WHERE {where}",
                (now, now, now, *params),
            )
            count = cur.rowcount
            await cur.close()
        return count

    async def delivery_counts(self) -> dict[str, dict[str, int]]:
        """Deliveries by destination and status, for a status page."""
        db = await self._read()
        async with db.execute(
            "SELECT sink, status, count(*) FROM deliveries GROUP BY sink, status"
        ) as cur:
            rows = await cur.fetchall()
        out: dict[str, dict[str, int]] = {}
        for sink, status, n in rows:
            out.setdefault(str(sink), dict.fromkeys(DELIVERY_STATUSES, 0))[str(status)] = int(n)
        return out
