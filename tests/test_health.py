"""The health listener over real TCP connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from wirewatch.health import HealthConfig, HealthServer
from wirewatch.metrics import Metrics


class Probe:
    """Stand-ins for the service's health, metrics and status callables."""

    def __init__(self) -> None:
        self.ok = True
        self.checks = {"observer": "ok", "writer": "ok"}
        self.metrics = Metrics(process=False)
        self.status_calls = 0
        self.status_delay = 0.0
        self.broken = False

    def health(self) -> tuple[bool, dict[str, str]]:
        if self.broken:
            raise RuntimeError("store closed")
        return self.ok, dict(self.checks)

    async def status(self) -> dict[str, Any]:
        self.status_calls += 1
        if self.status_delay:
            await asyncio.sleep(self.status_delay)
        return {"articles": 42, "inboxes": ["/srv/wirewatch/inbox"], "since": 1.5}


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
async def server(probe: Probe) -> AsyncIterator[tuple[HealthServer, str]]:
    srv = HealthServer(
        "127.0.0.1",
        0,
        probe.health,
        probe.metrics.render,
        probe.status,
        read_timeout=0.5,
        status_timeout=0.5,
        max_request_bytes=1024,
    )
    port = await srv.start()
    assert port > 0
    yield srv, f"http://127.0.0.1:{port}"
    await srv.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as c:
        yield c


async def test_healthz_ok(server: tuple[HealthServer, str], client: httpx.AsyncClient) -> None:
    _, base = server
    r = await client.get(base + "/healthz")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"ok": True, "checks": {"observer": "ok", "writer": "ok"}}


async def test_healthz_failing_is_503_naming_the_checks(
    server: tuple[HealthServer, str], client: httpx.AsyncClient, probe: Probe
) -> None:
    _, base = server
    probe.ok = False
    probe.checks["writer"] = "stuck: no commit for 60 s with work queued"
    r = await client.get(base + "/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["ok"] is False
    assert body["failing"] == ["writer"]
    assert body["checks"]["writer"].startswith("stuck")


async def test_healthz_check_that_raises_is_503(
    server: tuple[HealthServer, str], client: httpx.AsyncClient, probe: Probe
) -> None:
    _, base = server
    probe.broken = True
    r = await client.get(base + "/healthz")
    assert r.status_code == 503
    assert "store closed" in r.json()["checks"]["health"]


async def test_metrics_endpoint(
    server: tuple[HealthServer, str], client: httpx.AsyncClient, probe: Probe
) -> None:
    _, base = server
    probe.metrics.articles_ingested.inc(7)
    r = await client.get(base + "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    values = {
        s.name: s.value
        for f in text_string_to_metric_families(r.text)
        for s in f.samples
        if not s.labels
    }
    assert values["wirewatch_articles_ingested_total"] == 7


async def test_status_endpoint(
    server: tuple[HealthServer, str], client: httpx.AsyncClient, probe: Probe
) -> None:
    _, base = server
    r = await client.get(base + "/status?verbose=1")
    assert r.status_code == 200
    assert r.json() == {"articles": 42, "inboxes": ["/srv/wirewatch/inbox"], "since": 1.5}
    assert probe.status_calls == 1


async def test_slow_status_is_503(
    server: tuple[HealthServer, str], client: httpx.AsyncClient, probe: Probe
) -> None:
    _, base = server
    probe.status_delay = 10
    r = await client.get(base + "/status")
    assert r.status_code == 503
    assert r.json() == {"error": "status timed out"}


async def test_unknown_path_and_method(
    server: tuple[HealthServer, str], client: httpx.AsyncClient
) -> None:
    _, base = server
    r = await client.get(base + "/admin")
    assert r.status_code == 404
    r = await client.post(base + "/healthz", content=b"{}")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    r = await client.head(base + "/healthz")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) > 0


async def _raw(base: str, payload: bytes, *, close_write: bool = False) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(payload)
        await writer.drain()
        if close_write:
            writer.write_eof()
        async with asyncio.timeout(5):
            return await reader.read()
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


async def test_garbage_request_line_is_400(server: tuple[HealthServer, str]) -> None:
    _, base = server
    reply = await _raw(base, b"HELLO\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 ")


async def test_oversized_request_is_refused(server: tuple[HealthServer, str]) -> None:
    _, base = server
    huge = b"GET /healthz HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 4096 + b"\r\n\r\n"
    reply = await _raw(base, huge)
    # The server answers 431 and closes; a reset may overtake the reply.
    assert reply == b"" or reply.startswith(b"HTTP/1.1 431 ")


async def test_silent_client_is_timed_out(server: tuple[HealthServer, str]) -> None:
    _, base = server
    started = asyncio.get_running_loop().time()
    reply = await _raw(base, b"GET /healthz HTTP/1.1\r\n")
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert asyncio.get_running_loop().time() - started < 4


async def test_client_closing_early_does_not_break_the_server(
    server: tuple[HealthServer, str], client: httpx.AsyncClient
) -> None:
    _, base = server
    assert await _raw(base, b"GET /hea", close_write=True) == b""
    r = await client.get(base + "/healthz")
    assert r.status_code == 200


async def test_stop_drops_idle_connections_and_frees_the_port(probe: Probe) -> None:
    srv = HealthServer(
        "127.0.0.1", 0, probe.health, probe.metrics.render, probe.status, read_timeout=30
    )
    port = await srv.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\n")  # never finished
    await writer.drain()
    async with asyncio.timeout(5):
        await srv.stop()
        with contextlib.suppress(ConnectionResetError):
            assert await reader.read() == b""
    writer.close()
    again = HealthServer("127.0.0.1", port, probe.health, probe.metrics.render, probe.status)
    assert await again.start() == port
    await again.stop()
    await srv.stop()  # a second stop is harmless


def test_health_config_defaults_and_validation() -> None:
    cfg = HealthConfig()
    assert (cfg.enabled, cfg.host, cfg.port) == (False, "127.0.0.1", 9478)
    assert HealthConfig.model_validate({"enabled": True, "port": 0}).port == 0
    with pytest.raises(ValidationError):
        HealthConfig.model_validate({"port": 70000})
    with pytest.raises(ValidationError):
        HealthConfig.model_validate({"prot": 9000})
