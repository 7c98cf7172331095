"""sd_notify against real datagram sockets, the way systemd listens."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from wirewatch.sdnotify import SystemdNotifier


def time_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def _receive(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096)
    return dict(line.split("=", 1) for line in data.decode().split("\n"))


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(5)
    yield str(path), sock
    sock.close()


@pytest.fixture
def abstract_socket() -> Iterator[tuple[str, socket.socket]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"wirewatch-test-{uuid.uuid4().hex}"
    sock.bind(b"\0" + name.encode())
    sock.settimeout(5)
    yield "@" + name, sock
    sock.close()


def test_ready_status_watchdog_stopping_reach_a_path_socket(
    path_socket: tuple[str, socket.socket],
) -> None:
    address, sock = path_socket
    n = SystemdNotifier.from_environment({"NOTIFY_SOCKET": address})
    assert n.enabled
    assert n.ready()
    assert _receive(sock) == {"READY": "1"}
    assert n.ready(status="watching 2 inboxes")
    assert _receive(sock) == {"READY": "1", "STATUS": "watching 2 inboxes"}
    assert n.status("draining 3 files")
    assert _receive(sock) == {"STATUS": "draining 3 files"}
    assert n.watchdog()
    assert _receive(sock) == {"WATCHDOG": "1"}
    assert n.stopping()
    assert _receive(sock) == {"STOPPING": "1"}
    n.close()


def test_abstract_socket(abstract_socket: tuple[str, socket.socket]) -> None:
    address, sock = abstract_socket
    n = SystemdNotifier.from_environment({"NOTIFY_SOCKET": address})
    assert n.ready()
    assert _receive(sock) == {"READY": "1"}
    n.close()


def test_reloading_carries_the_monotonic_clock(path_socket: tuple[str, socket.socket]) -> None:
    address, sock = path_socket
    n = SystemdNotifier(address)
    before = time_usec()
    assert n.reloading()
    msg = _receive(sock)
    after = time_usec()
    assert msg["RELOADING"] == "1"
    assert before <= int(msg["MONOTONIC_USEC"]) <= after
    n.close()


def test_notify_upper_cases_keys_and_keeps_status_on_one_line(
    path_socket: tuple[str, socket.socket],
) -> None:
    address, sock = path_socket
    n = SystemdNotifier(address)
    assert n.notify(status="line one\nline two", errno=5)
    assert _receive(sock) == {"STATUS": "line one line two", "ERRNO": "5"}
    n.close()


def test_without_notify_socket_everything_is_a_no_op() -> None:
    n = SystemdNotifier.from_environment({"WATCHDOG_USEC": "30000000"})
    assert not n.enabled
    assert not n.ready()
    assert not n.status("x")
    assert not n.watchdog()
    assert not n.reloading()
    assert not n.stopping()
    assert n.watchdog_interval() is None
    n.close()


def test_relative_or_foreign_addresses_disable_notifications() -> None:
    assert not SystemdNotifier("relative.sock").enabled
    assert not SystemdNotifier("vsock:2:1234").enabled
    assert not SystemdNotifier("").enabled


def test_send_errors_are_swallowed(tmp_path: Path) -> None:
    n = SystemdNotifier(str(tmp_path / "nobody-listens.sock"))
    assert n.enabled
    assert n.ready() is False
    assert n.watchdog() is False
    n.close()


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}
    assert SystemdNotifier.from_environment(env).watchdog_interval() == 15.0
    own = {**env, "WATCHDOG_PID": str(os.getpid())}
    assert SystemdNotifier.from_environment(own).watchdog_interval() == 15.0


@pytest.mark.parametrize(
    "extra",
    [
        {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "soon"},
        {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "me"},
        {},
    ],
)
def test_watchdog_interval_none_when_not_meant_for_us(extra: dict[str, str]) -> None:
    env = {"NOTIFY_SOCKET": "/run/x", **extra}
    if extra.get("WATCHDOG_PID") == "1" and os.getpid() == 1:
        pytest.skip("running as pid 1")
    assert SystemdNotifier.from_environment(env).watchdog_interval() is None
