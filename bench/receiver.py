"""A real HTTP receiver on loopback that records every request and answers as scripted.

Used by the end-to-end tests (speaking as Slack, Discord, Teams or a
generic endpoint, failing on purpose) and by the latency benchmark, so
both measure delivery into the same kind of server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    scripted: Reply | None = None
    answered_at: float | None = None
    status: int | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang: float = 0.0


Script = Callable[[Request], Reply]


class Receiver:
    """A real HTTP server on loopback whose answers a test scripts per path."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.scripts: dict[str, Script] = {}
        self.lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a test kills the daemon):
                    # a real endpoint never sees a truncated request, so
                    # neither is it recorded here.
                    self.close_connection = True
                    return
                req = Request(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.monotonic(),
                )
                with receiver.lock:
                    receiver.requests.append(req)
                    script = receiver.scripts.get(self.path, lambda _r: Reply())
                    reply = req.scripted = script(req)
                if reply.hang:
                    receiver.release.wait(reply.hang)
                req.status, req.answered_at = reply.status, time.monotonic()
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except OSError:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str, script: Script) -> None:
        with self.lock:
            self.scripts[path] = script

    def at(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def answered(self, path: str, status: int = 200) -> list[Request]:
        return [r for r in self.at(path) if r.status == status]

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
