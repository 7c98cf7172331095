"""The outbox on a real SQLite file: enqueue in the caller's transaction, queries, retries."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from test_notify_support import make_alert
from test_notify_support import store as store
from wirewatch.models import ArticleRef
from wirewatch.store import MIGRATIONS, Attempt, Store, alert_from_json, alert_to_json


def attempt(code: int | None = 500, error: str | None = "HTTP 500") -> Attempt:
    return Attempt(datetime.now(UTC), code, error, 12.5)


def test_alerts_round_trip_through_json() -> None:
    alert = make_alert(
        3,
        labels=(("team", "desk"),),
        destinations=("slack",),
        articles=(
            ArticleRef(1, "T", "AFP", "/p", None, datetime(2022, 2, 4, 9, 30, 15, 123, UTC)),
        ),
    )
    assert alert_from_json(alert_to_json(alert)) == alert


async def test_the_schema_has_the_outbox(tmp_path: Path) -> None:
    s = await Store.open(tmp_path / "w.db")
    await s.close()
    conn = sqlite3.connect(tmp_path / "w.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 3
    conn.close()
    assert {"alerts", "deliveries", "delivery_attempts", "sink_state"} <= tables
    assert "deliveries_due" in indexes


async def test_enqueue_runs_in_the_callers_transaction(store: Store) -> None:
    alert = make_alert(1)

    async def store_article_then_fail() -> None:
        async with store._transaction() as db:
            assert await store.enqueue_alert(db, alert, ["slack", "hook"])
            raise RuntimeError("article failed")

    with pytest.raises(RuntimeError, match="article failed"):
        await store_article_then_fail()
    assert await store.next_delivery("slack") is None, "rolled back with its article"
    async with store._transaction() as db:
        assert await store.enqueue_alert(db, alert, ["slack", "hook", "slack"])
    head = await store.next_delivery("slack")
    assert head is not None and head.alert == alert and head.delivery.status == "pending"
    assert await store.delivery_counts() == {
        "hook": {"pending": 1, "sent": 0, "failed": 0, "dead": 0},
        "slack": {"pending": 1, "sent": 0, "failed": 0, "dead": 0},
    }


async def test_the_same_fingerprint_never_fires_twice(store: Store) -> None:
    assert await store.add_alert(make_alert(1), ["s"])
    again = make_alert(1, id="another-id")
    assert not await store.add_alert(again, ["s", "t"])
    rows = await store.list_deliveries()
    assert [(r.delivery.alert_id, r.delivery.sink) for r in rows] == [("alert-0001", "s")]


async def test_the_head_of_the_line_holds_until_it_is_done(store: Store) -> None:
    for n in (1, 2, 3):
        await store.add_alert(make_alert(n), ["s"])
    head = await store.next_delivery("s")
    assert head is not None and head.alert.id == "alert-0001"
    later = datetime.now(UTC) + timedelta(hours=1)
    await store.finish_attempt(head.delivery.id, attempt(), "pending", next_attempt_at=later)
    again = await store.next_delivery("s")
    assert again is not None and again.alert.id == "alert-0001", "backing off still blocks"
    assert again.delivery.attempts == 1 and again.delivery.last_error == "HTTP 500"
    assert abs(again.delivery.next_attempt_at - later) < timedelta(milliseconds=1)
    await store.finish_attempt(head.delivery.id, attempt(200, None), "sent")
    nxt = await store.next_delivery("s")
    assert nxt is not None and nxt.alert.id == "alert-0002"
    await store.finish_attempt(nxt.delivery.id, attempt(400, "HTTP 400: bad"), "failed")
    nxt = await store.next_delivery("s")
    assert nxt is not None and nxt.alert.id == "alert-0003"
    await store.expire_delivery(nxt.delivery.id, "gave up after max_age (1 s)")
    assert await store.next_delivery("s") is None
    detail = await store.alert_detail("alert-0001")
    assert detail is not None
    (d,) = detail.deliveries
    assert d.status == "sent" and d.sent_at is not None and d.last_error is None
    assert [(t.status_code, t.error) for t in detail.attempts[d.id]] == [
        (500, "HTTP 500"),
        (200, None),
    ]
    dead = await store.list_deliveries(status="dead")
    assert [r.delivery.last_error for r in dead] == ["gave up after max_age (1 s)"]


async def test_operator_retries(store: Store) -> None:
    for n in (1, 2):
        await store.add_alert(make_alert(n), ["a", "b"])
    for sink in ("a", "b"):
        head = await store.next_delivery(sink)
        assert head is not None
        await store.finish_attempt(head.delivery.id, attempt(), "dead")
    assert await store.retry_alert("alert-0001") == 2
    assert await store.list_deliveries(status="dead") == []
    head = await store.next_delivery("a")
    assert head is not None and head.delivery.attempts == 0
    await store.finish_attempt(head.delivery.id, attempt(), "dead")
    assert await store.retry_dead() == 1


async def test_ids_may_be_shortened_to_an_unambiguous_prefix(store: Store) -> None:
    await store.add_alert(make_alert(1, id="01HXAAA"), ["s"])
    await store.add_alert(make_alert(2, id="01HXBBB"), ["s"])
    assert await store.resolve_alert_id("01HXA") == "01HXAAA"
    assert await store.resolve_alert_id("01HX") is None
    assert await store.resolve_alert_id("01HXBBB") == "01HXBBB"
    assert await store.resolve_alert_id("zzz") is None


async def test_disabling_and_enabling_a_sink(store: Store) -> None:
    await store.add_alert(make_alert(1), ["s"])
    await store.disable_sink("s", "HTTP 410", "abc")
    state = (await store.sink_states())["s"]
    assert state.disabled and state.reason == "HTTP 410" and state.url_sha256 == "abc"
    assert await store.enable_sink("s")
    assert not await store.enable_sink("s")
    assert not (await store.sink_states())["s"].disabled
