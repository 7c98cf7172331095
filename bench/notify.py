"""Delivery latency: from an alert's outbox commit to its arrival at a webhook receiver on loopback.

Each alert is committed alone (a real ``BEGIN IMMEDIATE`` … ``COMMIT`` with
``synchronous=FULL``), the dispatcher is woken as the rules stage wakes it,
and the clock stops when a real HTTP server in another thread has read the
signed request. Each alert meets an idle worker (the previous one's "sent"
is committed first). Also measured: the same without the wake-up, alerts
committed at random moments (the workers' one-second poll is then the
latency), and the throughput of a burst of alerts committed in one
transaction with the rate limit lifted (each "sent" is its own FULL commit).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from wirewatch.models import Alert
from wirewatch.notify.config import NotifyConfig, WebhookSink
from wirewatch.notify.deliver import Dispatcher
from wirewatch.store import Store

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class _Receiver:
    """Records when each webhook-id arrived (``perf_counter``) and tells the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.arrived: dict[str, float] = {}
        self.events: dict[str, asyncio.Event] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                at = time.perf_counter()
                msg_id = self.headers.get("webhook-id", "")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.arrived.setdefault(msg_id, at)
                event = receiver.events.get(msg_id)
                if event is not None:
                    loop.call_soon_threadsafe(event.set)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def expect(self, msg_id: str) -> asyncio.Event:
        self.events[msg_id] = asyncio.Event()
        return self.events[msg_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _alert(tag: str, n: int) -> Alert:
    return Alert(
        id=f"{tag}-{n:05d}",
        fingerprint=f"{tag}|{n}",
        rule="troops",
        rule_type="figure",
        severity="warning",
        title=f"troops on the border: 100,000 → {100_000 + n:,}",
        body="Reported troops on the border changed from 100,000 to 130,000.",
        created_at=datetime.now(UTC),
        key="troops on the border",
        old_value="100,000",
        new_value=f"{100_000 + n:,}",
        sentence="Russia has massed more than 130,000 troops near Ukraine's border.",
        sources=("AFP", "Reuters"),
    )


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49], 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(ms[-1], 3),
    }


async def _idle(dispatcher: Dispatcher, sent: int) -> None:
    """Wait until the previous alert's "sent" is committed, so each alert meets an idle worker."""
    async with asyncio.timeout(10):
        # the counters are plain attributes for metrics, with no event to wait on
        while dispatcher.counts.sent < sent:  # noqa: ASYNC110
            await asyncio.sleep(0.001)


async def _one_by_one(
    store: Store, dispatcher: Dispatcher, receiver: _Receiver, tag: str, count: int, wake: bool
) -> list[float]:
    """Commit alerts one at a time; without a wake-up, at random moments of the poll cycle."""
    rng = random.Random(count)
    latencies = []
    for n in range(count):
        if not wake:
            await asyncio.sleep(rng.uniform(0, dispatcher.settings.poll_interval))
        alert = _alert(tag, n)
        arrived = receiver.expect(alert.id)
        expected = dispatcher.counts.sent + 1
        await store.add_alert(alert, ["hook"])
        committed = time.perf_counter()
        if wake:
            dispatcher.wake()
        async with asyncio.timeout(10):
            await arrived.wait()
        latencies.append(receiver.arrived[alert.id] - committed)
        await _idle(dispatcher, expected)
    return latencies


async def _burst(store: Store, receiver: _Receiver, count: int) -> float:
    alerts = [_alert("burst", n) for n in range(count)]
    last = receiver.expect(alerts[-1].id)
    started = time.perf_counter()
    async with store._transaction() as db:
        for alert in alerts:
            await store.enqueue_alert(db, alert, ["hook"])
    async with asyncio.timeout(60):
        await last.wait()
    return count / (time.perf_counter() - started)


async def _run(alerts: int, polled: int, burst: int) -> dict[str, float]:
    receiver = _Receiver(asyncio.get_running_loop())
    sink = WebhookSink.model_validate(
        {
            "type": "webhook",
            "url": receiver.url(),
            "secret": SECRET,
            "allow_private": True,
            "rate_per_second": 100_000,
            "burst": 100_000,
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.db")
        dispatcher = Dispatcher(store, {"hook": sink}, settings=NotifyConfig())
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop))
        try:
            await _one_by_one(store, dispatcher, receiver, "warmup", 5, wake=True)
            woken = await _one_by_one(store, dispatcher, receiver, "woken", alerts, wake=True)
            polls = await _one_by_one(store, dispatcher, receiver, "polled", polled, wake=False)
            dispatcher.wake()
            per_second = await _burst(store, receiver, burst) if burst else 0.0
        finally:
            stop.set()
            await task
            await store.close()
            receiver.close()
    out = {"alerts": float(alerts), **_percentiles(woken)}
    if polled:
        out.update({f"poll_only_{k}": v for k, v in _percentiles(polls).items()})
    if burst:
        out["burst_alerts"] = float(burst)
        out["burst_alerts_per_second"] = round(per_second, 1)
    return out


def run(alerts: int = 300, polled: int = 10, burst: int = 300) -> dict[str, float]:
    """Latency from outbox commit to receipt (p50, p99, max, in ms), and burst throughput."""
    return asyncio.run(_run(alerts, polled, burst))


if __name__ == "__main__":
    from wirewatch.logs import configure_logging

    configure_logging("json", "error", stream=sys.stderr)
    print(json.dumps(run(), indent=2))
