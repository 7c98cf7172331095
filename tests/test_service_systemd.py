"""The daemon under a test that plays systemd: the notify socket, the watchdog, signals."""

from __future__ import annotations

import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Daemon, drop, seed_files, wait_for, write_config

pytestmark = pytest.mark.e2e


class NotifySocket:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[tuple[float, dict[str, str]]] = []

    def poll(self) -> list[dict[str, str]]:
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))
        return [m for _, m in self.messages]

    def has(self, key: str, value: str | None = None, after: int = 0) -> bool:
        return any(key in m and (value is None or m[key] == value) for m in self.poll()[after:])

    def count(self, key: str) -> int:
        return sum(1 for m in self.poll() if key in m)


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    s = NotifySocket(tmp_path / "notify.sock")
    yield s
    s.sock.close()


def test_daemon_speaks_the_notify_protocol(tmp_path: Path, notify: NotifySocket) -> None:
    d = Daemon(tmp_path, write_config(tmp_path))
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "400000"}
    d.start(env=env)
    try:
        wait_for(lambda: notify.has("READY", "1"), what="READY=1")
        # READY comes after the database is migrated and the watcher runs
        ready_at = next(i for i, m in enumerate(notify.poll()) if m.get("READY") == "1")
        assert d.db.exists()
        assert '"event": "watch_started"' in d.log()
        assert not any("READY" in m for m in notify.poll()[:ready_at])

        # the watchdog keeps coming while healthy, and the daemon does work
        wait_for(lambda: notify.count("WATCHDOG") >= 3, what="three WATCHDOG=1")
        drop(seed_files()[0], d.inbox)
        wait_for(lambda: d.articles() == 1, what="an article stored")

        # SIGHUP is framed by RELOADING=1 (with MONOTONIC_USEC) and READY=1
        before = len(notify.poll())
        assert d.proc is not None
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: notify.has("RELOADING", "1", after=before), what="RELOADING=1")
        reloading = next(m for m in notify.poll()[before:] if "RELOADING" in m)
        assert int(reloading["MONOTONIC_USEC"]) > 0
        at = next(i for i, m in enumerate(notify.poll()) if i >= before and "RELOADING" in m)
        wait_for(lambda: notify.has("READY", "1", after=at + 1), what="READY=1 after reload")
        assert d.proc.poll() is None, "SIGHUP must not stop the daemon"

        # the watch dies (its inbox is removed): the pings stop
        shutil.rmtree(d.inbox)
        wait_for(lambda: '"event": "unhealthy"' in d.log(), what="the health check to fail")
        n = notify.count("WATCHDOG")
        unhealthy = d.log().count('"event": "unhealthy"')
        # three more failed checks, one per watchdog interval, and no ping among them
        wait_for(
            lambda: d.log().count('"event": "unhealthy"') >= unhealthy + 3,
            what="three more failed health checks",
        )
        assert notify.count("WATCHDOG") == n, "WATCHDOG=1 must stop while unhealthy"

        # SIGTERM: STOPPING=1, then a clean exit 0
        code = d.stop(signal.SIGTERM)
        assert code == 0
        assert notify.has("STOPPING", "1")
    finally:
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait()
