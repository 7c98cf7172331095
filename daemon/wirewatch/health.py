"""A small HTTP listener for probes and scrapers: /healthz, /metrics, /status.

Three read-only GET endpoints do not justify a web framework, and the
service already runs an asyncio loop, so this is ``asyncio.start_server``
plus just enough HTTP/1.1: one request per connection, answered and closed.
A request line and headers larger than ``max_request_bytes``, or slower
than ``read_timeout``, are refused, so a stuck or hostile client cannot
hold memory or connections for long. There is no authentication: keep it
on loopback (the default) or behind something that has one.

The listener only calls the three callables it is given, so it knows
nothing about the service and is tested on its own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import suppress
from http import HTTPStatus
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from .config import HealthConfig
from .logs import get_logger

log = get_logger(__name__)

__all__ = ["HealthConfig", "HealthServer"]

HealthCheck = Callable[[], tuple[bool, dict[str, str]]]
MetricsRender = Callable[[], bytes]
StatusSnapshot = Callable[[], Awaitable[dict[str, Any]]]

_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"


class _BadRequest(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class HealthServer:
    """Serves ``/healthz``, ``/metrics`` and ``/status`` until stopped."""

    def __init__(
        self,
        host: str,
        port: int,
        health: HealthCheck,
        metrics: MetricsRender,
        status: StatusSnapshot,
        *,
        read_timeout: float = 5.0,
        status_timeout: float = 5.0,
        max_request_bytes: int = 8192,
        max_connections: int = 32,
    ) -> None:
        self.host = host
        self.port = port
        self._health = health
        self._metrics = metrics
        self._status = status
        self._read_timeout = read_timeout
        self._status_timeout = status_timeout
        self._max_request_bytes = max_request_bytes
        self._max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Bind and start serving; returns the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self.port, limit=self._max_request_bytes
        )
        port: int = self._server.sockets[0].getsockname()[1]
        log.info("health_listening", host=self.host, port=port)
        return port

    async def stop(self) -> None:
        """Stop accepting, drop open connections, and wait for both."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        await server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            if len(self._handlers) > self._max_connections:
                await self._respond(writer, HTTPStatus.SERVICE_UNAVAILABLE, _TEXT, b"busy\n")
                return
            await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            # The client went away, or stopped reading our reply.
            pass
        except asyncio.CancelledError:
            # stop() ends open connections by cancelling their handlers; a
            # handler task that ends cancelled is reported by asyncio's
            # streams machinery as an unhandled error, so end it normally.
            pass
        except Exception as exc:
            log.warning("health_request_failed", error=repr(exc))
        finally:
            self._handlers.discard(task)
            writer.close()
            with suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self._read_timeout):
                method, path = await self._read_request(reader)
        except TimeoutError:
            await self._respond(writer, HTTPStatus.REQUEST_TIMEOUT, _TEXT, b"request timeout\n")
            return
        except _BadRequest as exc:
            await self._respond(writer, exc.status, _TEXT, exc.message.encode() + b"\n")
            return
        head_only = method == "HEAD"
        if method not in ("GET", "HEAD"):
            await self._respond(
                writer,
                HTTPStatus.METHOD_NOT_ALLOWED,
                _TEXT,
                b"method not allowed\n",
                extra={"Allow": "GET, HEAD"},
            )
            return
        status, ctype, body = await self._route(path)
        log.debug("health_request", method=method, path=path, status=int(status))
        await self._respond(writer, status, ctype, body, head_only=head_only)

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str]:
        """The method and path of the request; headers are read and ignored."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _BadRequest(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request too large"
            ) from None
        if len(head) > self._max_request_bytes:
            raise _BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request too large")
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(HTTPStatus.BAD_REQUEST, "bad request line")
        method, target, _ = parts
        path = target.split("?", 1)[0]
        return method, path

    async def _route(self, path: str) -> tuple[HTTPStatus, str, bytes]:
        if path == "/healthz":
            return self._healthz()
        if path == "/metrics":
            try:
                return HTTPStatus.OK, CONTENT_TYPE_LATEST, self._metrics()
            except Exception as exc:
                log.warning("metrics_render_failed", error=repr(exc))
                return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": repr(exc)})
        if path == "/status":
            try:
                async with asyncio.timeout(self._status_timeout):
                    snapshot = await self._status()
            except TimeoutError:
                return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "status timed out"})
            except Exception as exc:
                log.warning("status_snapshot_failed", error=repr(exc))
                return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": repr(exc)})
            return _json(HTTPStatus.OK, snapshot)
        return _json(HTTPStatus.NOT_FOUND, {"error": "not found", "path": path})

    def _healthz(self) -> tuple[HTTPStatus, str, bytes]:
        try:
            ok, checks = self._health()
        except Exception as exc:
            ok, checks = False, {"health": f"check raised {exc!r}"}
        body: dict[str, Any] = {"ok": ok, "checks": checks}
        if not ok:
            body["failing"] = sorted(k for k, v in checks.items() if v != "ok")
        return _json(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, body)

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        status: HTTPStatus,
        content_type: str,
        body: bytes,
        *,
        head_only: bool = False,
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            "Cache-Control": "no-store",
            "Connection": "close",
            **(extra or {}),
        }
        lines = [f"HTTP/1.1 {status.value} {status.phrase}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if not head_only:
            writer.write(body)
        async with asyncio.timeout(self._read_timeout):
            await writer.drain()


def _json(status: HTTPStatus, data: Any) -> tuple[HTTPStatus, str, bytes]:
    body = json.dumps(data, default=str, ensure_ascii=False).encode() + b"\n"
    return status, _JSON, body
