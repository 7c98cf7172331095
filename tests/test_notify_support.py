"""What the notify tests share: a real HTTP receiver, an independent signature check, alerts.

The receiver is a threaded ``http.server`` on 127.0.0.1 that records every
request (path, headers, body, arrival time) and answers as the test's
script says, including not answering at all for a while. The Standard
Webhooks verifier is written here from the spec, with ``hmac`` and
``base64``, and checked against the spec's published test vector, so it
does not share a mistake with the code it checks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.receiver import Receiver, Reply, Request, Script
from wirewatch.models import Alert, ArticleRef
from wirewatch.notify.config import AnySink, NotifyConfig
from wirewatch.notify.deliver import Dispatcher
from wirewatch.notify.sign import signature
from wirewatch.store import Store

__all__ = ["Receiver", "Reply", "Request", "Script"]

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = NotifyConfig(backoff_base=0.05, backoff_cap=0.3, poll_interval=0.1)


# -- the receiver ---------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "w.db")
    yield s
    await s.close()


@asynccontextmanager
async def dispatching(
    store: Store, sinks: Mapping[str, AnySink], **kwargs: Any
) -> AsyncIterator[Dispatcher]:
    """A Dispatcher running in the background for the ``async with`` body."""
    kwargs.setdefault("settings", FAST)
    dispatcher = Dispatcher(store, sinks, **kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        async with asyncio.timeout(15):
            await task


async def eventually(
    predicate: Callable[[], Any], within: float = 20.0, what: str = "condition"
) -> Any:
    """Poll ``predicate`` (sync or async) until it is truthy or the deadline passes."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)


# -- alerts -------------------------------------------------------------------------------
def make_alert(n: int = 1, *, sentence: str | None = None, **overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "id": f"alert-{n:04d}",
        "fingerprint": f"troops|border|{n}",
        "rule": "troops",
        "rule_type": "figure",
        "severity": "warning",
        "title": f"troops on the border: 100,000 → {100_000 + n * 1000:,}",
        "body": "Reported troops on the border changed.",
        "created_at": datetime(2022, 2, 4, 10, 0, n % 60, tzinfo=UTC),
        "key": "troops on the border",
        "old_value": "100,000",
        "new_value": f"{100_000 + n * 1000:,}",
        "sentence": sentence or f"Russia has massed {100_000 + n * 1000:,} troops.",
        "story_id": 7,
        "story_title": "Russia's build-up",
        "sources": ("AFP", "Reuters"),
        "articles": (
            ArticleRef(1, "Troops gather", "AFP", "/in/a.txt", "https://example.com/a", None),
        ),
    }
    values.update(overrides)
    return Alert(**values)


# -- Standard Webhooks, written from the spec -------------------------------------------------
def verify_standard_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, tolerance: float = 300
) -> str:
    """Verify a request as a receiver would; return its webhook-id or raise AssertionError."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) <= tolerance, "timestamp outside tolerance"
    key = base64.b64decode(secret.split("_", 1)[1])
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.digest(key, content, hashlib.sha256)).decode()
    offered = [
        part.split(",", 1)[1] for part in headers["webhook-signature"].split() if "," in part
    ]
    assert any(hmac.compare_digest(expected, sig) for sig in offered), "bad signature"
    return msg_id


def test_the_verifier_reproduces_the_spec_test_vector() -> None:
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = b'{"test": 2432232314}'
    assert verify_standard_webhook(SPEC_SECRET, headers, body, tolerance=1e12)
    with pytest.raises(AssertionError, match="bad signature"):
        verify_standard_webhook(SPEC_SECRET, headers, body + b" ", tolerance=1e12)


def test_the_signer_matches_the_spec_test_vector() -> None:
    assert (
        signature(SPEC_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_the_receiver_records_and_answers_as_scripted(receiver: Receiver) -> None:
    import httpx

    receiver.on("/x", lambda r: Reply(503, {"Retry-After": "2"}, b"busy"))
    resp = httpx.post(receiver.url("/x"), content=b"hello")
    assert (resp.status_code, resp.headers["retry-after"], resp.text) == (503, "2", "busy")
    (req,) = receiver.at("/x")
    assert req.body == b"hello" and req.status == 503


def test_the_receiver_ignores_a_request_cut_off_mid_body(receiver: Receiver) -> None:
    """A sender killed mid-request leaves a truncated body; no endpoint would take it."""
    import socket

    import httpx

    with socket.create_connection(("127.0.0.1", receiver.port)) as sock:
        sock.sendall(b"POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""  # the server closed without answering
    httpx.post(receiver.url("/cut"), content=b"whole")
    assert [r.body for r in receiver.at("/cut")] == [b"whole"]
