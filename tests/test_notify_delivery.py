"""Delivery end to end: a real store, a real HTTP receiver on loopback, real time.

Backoff and timeouts are shortened through config values so that an
outage of seconds stands in for one of minutes; nothing here is mocked.
"""

from __future__ import annotations

import io
import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from test_notify_support import (
    FAST,
    SPEC_SECRET,
    Receiver,
    Reply,
    Request,
    dispatching,
    eventually,
    make_alert,
    verify_standard_webhook,
)
from test_notify_support import receiver as receiver
from test_notify_support import store as store
from wirewatch.notify.config import (
    ConsoleSink,
    DiscordSink,
    NotifyConfig,
    SlackSink,
    TeamsSink,
    WebhookSink,
)
from wirewatch.store import Store


def webhook(r: Receiver, path: str = "/hook", **kw: Any) -> WebhookSink:
    values: dict[str, Any] = {
        "type": "webhook",
        "url": r.url(path),
        "secret": SPEC_SECRET,
        "allow_private": True,
        "timeout_total": 1.0,
        "timeout_read": 1.0,
        "rate_per_second": 100.0,
    }
    values.update(kw)
    return WebhookSink.model_validate(values)


async def statuses(store: Store, sink: str) -> list[str]:
    rows = await store.list_deliveries(sink=sink, limit=1000)
    return [r.delivery.status for r in reversed(rows)]


class Phases:
    """500 for a while, then one 429 with Retry-After: 3, then one hang, then 200."""

    def __init__(self, outage: float) -> None:
        self.outage = outage
        self.started: float | None = None
        self.rate_limited = False
        self.hung = False

    def __call__(self, req: Request) -> Reply:
        if self.started is None:
            self.started = req.at
        if req.at - self.started < self.outage:
            return Reply(500, body=b"internal error")
        if not self.rate_limited:
            self.rate_limited = True
            return Reply(429, {"Retry-After": "3"}, b"slow down")
        if not self.hung:
            self.hung = True
            return Reply(503, hang=3.0)
        return Reply(200)


async def test_outage_rate_limit_and_hang_every_alert_still_arrives_in_order(
    store: Store, receiver: Receiver
) -> None:
    receiver.on("/hook", Phases(outage=2.0))
    receiver.on("/teams", lambda r: Reply(202))
    receiver.on("/discord", lambda r: Reply(204, body=b""))
    sinks = {
        # Enough attempts to outlast the outage whatever the jitter draws
        # (20 attempts at this test's fast backoff can fit in 2 s).
        "hook": webhook(receiver, headers={"X-Team": "desk"}, max_attempts=200),
        "slack": SlackSink(
            type="slack", url=receiver.url("/slack"), allow_private=True, rate_per_second=50
        ),
        "discord": DiscordSink(
            type="discord", url=receiver.url("/discord"), allow_private=True, rate_per_second=50
        ),
        "teams": TeamsSink(
            type="teams", url=receiver.url("/teams"), allow_private=True, rate_per_second=50
        ),
    }
    alerts = [make_alert(n) for n in range(1, 6)]
    async with dispatching(store, sinks) as dispatcher:
        for a in alerts:
            assert await store.add_alert(a, list(sinks))
        dispatcher.wake()
        await eventually(lambda: len(receiver.answered("/hook")) == 5, 30, "all five alerts")

    hook = receiver.at("/hook")
    delivered = [r.json()["id"] for r in receiver.answered("/hook")]
    assert delivered == [a.id for a in alerts], "in order, each once"
    # every request is signed per the spec, and its webhook-id is the alert's id
    for req in hook:
        msg_id = verify_standard_webhook(SPEC_SECRET, req.headers, req.body)
        assert msg_id == req.json()["id"]
        assert req.headers["x-team"] == "desk"
    # the head of the line carried the outage: every one of its attempts had one id
    head = [r for r in hook if r.json()["id"] == alerts[0].id]
    assert {r.headers["webhook-id"] for r in head} == {alerts[0].id}
    codes = [r.scripted.status for r in head if r.scripted]
    assert codes[0] == 500 and 429 in codes and 503 in codes and codes[-1] == 200
    assert codes.count(500) >= 3, "retried with backoff through the outage"
    # nothing was sent sooner than Retry-After allowed
    limited = codes.index(429)
    assert head[limited].answered_at is not None
    assert head[limited + 1].at - head[limited].answered_at >= 3.0
    # the other destinations were not held up by the failing one
    first_hook_success = receiver.answered("/hook")[0].at
    for path in ("/slack", "/discord", "/teams"):
        got = receiver.at(path)
        assert len(got) == 5 and all(r.status is not None and r.status < 300 for r in got)
        assert max(r.at for r in got) < first_hook_success
    for sink in sinks:
        assert await statuses(store, sink) == ["sent"] * 5
    detail = await store.alert_detail(alerts[0].id)
    assert detail is not None
    hook_delivery = next(d for d in detail.deliveries if d.sink == "hook")
    attempts = detail.attempts[hook_delivery.id]
    assert len(attempts) == len(head)
    assert [t.status_code for t in attempts][-1] == 200
    assert any(t.status_code is None and "1 s" in (t.error or "") for t in attempts), "the hang"
    assert all(t.duration_ms >= 0 for t in attempts)
    assert dispatcher.counts.sent == 20 and dispatcher.counts.retried == len(head) - 1


async def test_rate_limits_space_requests_and_honour_discord_headers(
    store: Store, receiver: Receiver
) -> None:
    calls = {"n": 0}

    def discord(req: Request) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1.0"}
            return Reply(204, headers, b"")
        if calls["n"] == 2:
            return Reply(429, {"Retry-After": "1"}, b'{"retry_after": 1.0}')
        return Reply(204, {"X-RateLimit-Remaining": "4"}, b"")

    receiver.on("/discord", discord)
    sinks = {
        "slack": SlackSink(
            type="slack", url=receiver.url("/slack"), allow_private=True, rate_per_second=5
        ),
        "discord": DiscordSink(type="discord", url=receiver.url("/discord"), allow_private=True),
    }
    async with dispatching(store, sinks) as dispatcher:
        for n in range(1, 5):
            await store.add_alert(make_alert(n), ["slack"])
        for n in range(5, 8):
            await store.add_alert(make_alert(n), ["discord"])
        dispatcher.wake()
        await eventually(lambda: len(receiver.answered("/slack")) == 4, 10, "slack")
        await eventually(lambda: len(receiver.answered("/discord", 204)) == 3, 10, "discord")
    # 5 per second: sent 0.2 s apart at least (arrival adds a little jitter)
    slack = [r.at for r in receiver.at("/slack")]
    assert slack[3] - slack[1] >= 0.35 and slack[3] - slack[0] >= 0.55, slack
    d = receiver.at("/discord")
    assert d[0].answered_at is not None and d[1].answered_at is not None
    assert d[1].at - d[0].answered_at >= 1.0, "waited for the bucket to reset"
    assert d[2].at - d[1].answered_at >= 1.0, "waited for Retry-After"
    assert d[1].json()["embeds"][0]["title"] == d[2].json()["embeds"][0]["title"]


async def test_410_disables_the_destination_until_an_operator_enables_it(
    store: Store, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = {"yes": True}
    receiver.on("/gone", lambda r: Reply(410, body=b"no such webhook") if gone["yes"] else Reply())
    sinks = {"gone": webhook(receiver, "/gone"), "other": webhook(receiver, "/other")}
    async with dispatching(store, sinks) as dispatcher:
        await store.add_alert(make_alert(1), ["gone"])
        await store.add_alert(make_alert(2), ["gone"])
        dispatcher.wake()
        await eventually(lambda: dispatcher.disabled_sinks() == ["gone"], 10, "disabled")
        # time passes and other work is done, but nothing more goes to the gone sink
        await store.add_alert(make_alert(3), ["other"])
        dispatcher.wake()
        await eventually(lambda: receiver.answered("/other"), 10, "the other sink")
    assert len(receiver.at("/gone")) == 1
    assert (await store.sink_states())["gone"].disabled
    assert await statuses(store, "gone") == ["pending", "pending"], "nothing is lost"
    captured = capsys.readouterr()
    assert "sink_disabled" in captured.out + captured.err
    # a restart with the same URL keeps it off; enabling it delivers what waited
    gone["yes"] = False
    async with dispatching(store, sinks) as dispatcher:
        await eventually(lambda: dispatcher.disabled_sinks() == ["gone"], 10, "still off")
        assert await store.enable_sink("gone")
        await eventually(lambda: len(receiver.answered("/gone")) == 2, 10, "the waiting alerts")
    assert [r.json()["id"] for r in receiver.answered("/gone")] == ["alert-0001", "alert-0002"]
    assert await statuses(store, "gone") == ["sent", "sent"]


async def test_a_changed_url_re_enables_a_disabled_sink(store: Store, receiver: Receiver) -> None:
    receiver.on("/old", lambda r: Reply(410))
    async with dispatching(store, {"s": webhook(receiver, "/old")}) as dispatcher:
        await store.add_alert(make_alert(1), ["s"])
        dispatcher.wake()
        await eventually(lambda: dispatcher.disabled_sinks() == ["s"], 10, "disabled")
    async with dispatching(store, {"s": webhook(receiver, "/new")}):
        await eventually(lambda: receiver.answered("/new"), 10, "delivery to the new URL")
    assert await statuses(store, "s") == ["sent"]


async def test_4xx_fails_at_once_with_the_body_and_redirects_are_not_followed(
    store: Store, receiver: Receiver
) -> None:
    receiver.on("/bad", lambda r: Reply(400, body=b"invalid_payload " + b"x" * 5000))
    receiver.on("/moved", lambda r: Reply(302, {"Location": receiver.url("/elsewhere")}))
    sinks = {"bad": webhook(receiver, "/bad"), "moved": webhook(receiver, "/moved")}
    async with dispatching(store, sinks) as dispatcher:
        for n in (1, 2):
            await store.add_alert(make_alert(n), ["bad", "moved"])
        dispatcher.wake()
        await eventually(lambda: dispatcher.counts.failed == 4, 10, "four failures")
    assert len(receiver.at("/bad")) == 2 and len(receiver.at("/moved")) == 2
    assert receiver.at("/elsewhere") == []
    rows = await store.list_deliveries(status="failed")
    assert len(rows) == 4 and all(r.delivery.attempts == 1 for r in rows)
    bad = next(r.delivery for r in rows if r.delivery.sink == "bad")
    assert bad.last_error is not None and bad.last_error.startswith("HTTP 400: invalid_payload")
    assert len(bad.last_error) < 600, "the body is truncated"
    moved = next(r.delivery for r in rows if r.delivery.sink == "moved")
    assert moved.last_error == "HTTP 302: redirect not followed"


async def test_out_of_attempts_is_dead_and_retry_dead_brings_it_back(
    store: Store, receiver: Receiver
) -> None:
    down = threading.Event()
    down.set()
    receiver.on("/flaky", lambda r: Reply(503, body=b"down") if down.is_set() else Reply())
    sinks = {"s": webhook(receiver, "/flaky", max_attempts=3)}
    async with dispatching(store, sinks) as dispatcher:
        await store.add_alert(make_alert(1), ["s"])
        await store.add_alert(make_alert(2), ["s"])
        dispatcher.wake()
        await eventually(lambda: dispatcher.counts.dead == 2, 10, "both dead")
        (row, _) = await store.list_deliveries(status="dead")
        assert row.delivery.attempts == 3 and row.delivery.last_error == "HTTP 503: down"
        down.clear()
        assert await store.retry_dead() == 2
        dispatcher.wake()
        await eventually(lambda: dispatcher.counts.sent == 2, 10, "sent after retry")
    assert len(receiver.at("/flaky")) == 8
    assert [r.json()["id"] for r in receiver.answered("/flaky")] == ["alert-0001", "alert-0002"]


async def test_max_age_makes_an_alert_dead(store: Store, receiver: Receiver) -> None:
    receiver.on("/down", lambda r: Reply(500))
    async with dispatching(store, {"s": webhook(receiver, "/down", max_age=0.5)}) as d:
        await store.add_alert(make_alert(1), ["s"])
        d.wake()
        await eventually(lambda: d.counts.dead == 1, 10, "dead")
    (row,) = await store.list_deliveries(status="dead")
    assert row.delivery.last_error is not None
    assert row.delivery.last_error.startswith("gave up after max_age (0.5 s); last error: HTTP")


async def test_pending_alerts_survive_a_restart_with_the_same_id(
    store: Store, receiver: Receiver
) -> None:
    up = threading.Event()
    receiver.on("/r", lambda r: Reply() if up.is_set() else Reply(500))
    sinks = {"s": webhook(receiver, "/r")}
    async with dispatching(store, sinks) as d:
        await store.add_alert(make_alert(1), ["s"])
        d.wake()
        await eventually(lambda: len(receiver.at("/r")) >= 2, 10, "failing attempts")
    assert await statuses(store, "s") == ["pending"]
    up.set()
    async with dispatching(store, sinks):
        await eventually(lambda: receiver.answered("/r"), 10, "delivery after restart")
    assert {r.headers["webhook-id"] for r in receiver.at("/r")} == {"alert-0001"}
    assert await statuses(store, "s") == ["sent"]


class LosesTheFirstSentMark(Store):
    """A store whose first "sent" commit fails, as if the process died right after the 2xx."""

    lost = False

    async def finish_attempt(self, delivery_id: int, attempt: Any, status: Any, **kw: Any) -> None:
        if status == "sent" and not self.lost:
            self.lost = True
            raise OSError("disk went away")
        await super().finish_attempt(delivery_id, attempt, status, **kw)


async def test_a_lost_sent_mark_resends_once_with_the_same_webhook_id(
    tmp_path: Any, receiver: Receiver
) -> None:
    flaky = await LosesTheFirstSentMark.open(tmp_path / "w.db")
    try:
        async with dispatching(flaky, {"s": webhook(receiver, "/dup")}) as d:
            await flaky.add_alert(make_alert(1), ["s"])
            await flaky.add_alert(make_alert(2), ["s"])
            d.wake()
            await eventually(lambda: d.counts.sent == 2, 10, "both sent")
        ids = [r.headers["webhook-id"] for r in receiver.answered("/dup")]
        assert ids == ["alert-0001", "alert-0001", "alert-0002"]
        assert await statuses(flaky, "s") == ["sent", "sent"]
    finally:
        await flaky.close()


async def test_stop_gives_in_flight_requests_a_bounded_grace(
    store: Store, receiver: Receiver
) -> None:
    receiver.on("/slow", lambda r: Reply(200, hang=10.0))
    sinks = {"s": webhook(receiver, "/slow", timeout_total=30.0, timeout_read=30.0)}
    async with dispatching(store, sinks, grace_seconds=0.3) as d:
        await store.add_alert(make_alert(1), ["s"])
        d.wake()
        await eventually(lambda: receiver.at("/slow"), 10, "the request in flight")
    # dispatching() returned well before the receiver would have answered
    assert receiver.answered("/slow") == []
    assert await statuses(store, "s") == ["pending"], "cut off: sent again on the next start"


async def test_private_addresses_are_refused_after_resolution(
    store: Store, receiver: Receiver
) -> None:
    url = f"http://localhost:{receiver.port}/private"
    sinks = {"s": WebhookSink(type="webhook", url=url)}
    async with dispatching(store, sinks) as d:
        await store.add_alert(make_alert(1), ["s"])
        d.wake()
        await eventually(lambda: d.counts.failed == 1, 10, "refused")
    assert receiver.at("/private") == []
    (row,) = await store.list_deliveries(status="failed")
    assert row.delivery.last_error is not None
    assert "loopback" in row.delivery.last_error and "allow_private" in row.delivery.last_error


async def test_console_is_the_default_destination(store: Store) -> None:
    out = io.StringIO()
    async with dispatching(store, {}, console=out) as d:
        await store.add_alert(make_alert(1), ["console"])
        d.wake()
        await eventually(lambda: d.counts.sent == 1, 10, "console line")
    line = out.getvalue()
    assert line.startswith("ALERT [warning] troops: troops on the border: 100,000 → 101,000")
    assert "2 outlets: AFP, Reuters" in line and "https://example.com/a" in line


async def test_wake_is_not_needed_the_workers_poll(store: Store, receiver: Receiver) -> None:
    settings = NotifyConfig(backoff_base=0.05, backoff_cap=0.3, poll_interval=0.2)
    async with dispatching(store, {"s": webhook(receiver, "/p")}, settings=settings):
        await store.add_alert(make_alert(1), ["s"])
        await eventually(lambda: receiver.answered("/p"), 10, "delivery by polling")


async def test_payloads_as_each_service_receives_them(store: Store, receiver: Receiver) -> None:
    receiver.on("/teams", lambda r: Reply(202))
    sinks: dict[str, Any] = {
        name: cls(type=name, url=receiver.url(f"/{name}"), allow_private=True)
        for name, cls in (("slack", SlackSink), ("discord", DiscordSink), ("teams", TeamsSink))
    }
    sinks["console"] = ConsoleSink(type="console")
    huge = make_alert(1, sentence="troops " * 10_000, body="body " * 20_000)
    async with dispatching(store, sinks, console=io.StringIO(), settings=FAST) as d:
        await store.add_alert(huge, list(sinks))
        d.wake()
        await eventually(lambda: d.counts.sent == 4, 10, "all four")
    (slack,) = receiver.at("/slack")
    assert slack.headers["content-type"] == "application/json"
    assert len(slack.json()["blocks"]) <= 50 and len(slack.json()["text"]) <= 3000
    (discord,) = receiver.at("/discord")
    assert discord.json()["allowed_mentions"] == {"parse": []}
    assert len(discord.json()["embeds"][0]["description"]) <= 4096
    (teams,) = receiver.at("/teams")
    assert len(teams.body) <= 28_000
    assert teams.json()["attachments"][0]["content"]["type"] == "AdaptiveCard"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for "localhost" (certificate, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subject = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *subject,
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_reaches_the_checked_address_and_verifies_the_name(
    store: Store, certificate: tuple[Path, Path]
) -> None:
    """The request goes to the resolved, checked IP, yet TLS verifies the URL's host name."""
    cert, key = certificate
    tls = Receiver()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    tls.server.socket = server_ctx.wrap_socket(tls.server.socket, server_side=True)
    tls.start()
    trusting = ssl.create_default_context(cafile=str(cert))
    try:
        sink = webhook(tls, "/tls").model_copy(update={"url": f"https://localhost:{tls.port}/tls"})
        async with dispatching(
            store, {"s": sink}, client_factory=lambda s: httpx.AsyncClient(verify=trusting)
        ) as d:
            await store.add_alert(make_alert(1), ["s"])
            d.wake()
            await eventually(lambda: d.counts.sent == 1, 10, "delivery over TLS")
    finally:
        tls.stop()
    (req,) = tls.at("/tls")
    assert req.headers["host"] == f"localhost:{tls.port}"
    verify_standard_webhook(SPEC_SECRET, req.headers, req.body)
