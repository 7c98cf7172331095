"""The sd_notify protocol: tell systemd we are ready, reloading, stopping, alive.

A unit with ``Type=notify`` waits for ``READY=1`` before it counts the
service as started, and ``WatchdogSec=`` restarts it when the ``WATCHDOG=1``
pings stop. The protocol is one datagram of ``KEY=value`` lines sent to the
AF_UNIX socket named in ``$NOTIFY_SOCKET``; that is small enough to speak
directly instead of depending on libsystemd or a wrapper package.

Outside systemd (a terminal, the tests, a container) ``NOTIFY_SOCKET`` is
unset and every call is a no-op, so callers never need to check first.
Sending never raises: a lost status line must not take the daemon down, and
if systemd really stops hearing from us, the watchdog is what notices.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping

from .logs import get_logger

log = get_logger(__name__)


def _socket_address(value: str | None) -> str | bytes | None:
    """The address to send to, or None when notifications are off.

    ``@name`` is an abstract socket (Linux), sent to as ``\\0name``; a path
    must be absolute. Anything else (e.g. ``vsock:`` addresses of newer
    systemd) is not supported here and turns notifications off.
    """
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    log.debug("sd_notify_unsupported_address", address=value)
    return None


class SystemdNotifier:
    """Sends sd_notify messages to one socket; cheap and silent without one."""

    def __init__(self, address: str | None, env: Mapping[str, str] | None = None) -> None:
        """``address`` is a ``NOTIFY_SOCKET`` value; ``env`` is where the
        watchdog settings are read from (the process environment if None)."""
        self._address = _socket_address(address)
        self._env = dict(os.environ if env is None else env)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> SystemdNotifier:
        """A notifier for ``$NOTIFY_SOCKET`` (disabled when it is unset)."""
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET"), env)

    @property
    def enabled(self) -> bool:
        """Whether a supervisor is listening at all."""
        return self._address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send one message of ``KEY=value`` lines, e.g. ``notify(READY=1)``.

        Keys are upper-cased, so ``notify(status="x")`` works too. Returns
        whether the datagram was handed to the kernel.
        """
        if self._address is None or not fields:
            return False
        lines = []
        for key, value in fields.items():
            text = str(value)
            if "\n" in text:
                # A newline would start a new, bogus assignment.
                text = " ".join(text.splitlines())
            lines.append(f"{key.upper()}={text}")
        payload = "\n".join(lines).encode()
        try:
            with self._lock:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._sock.setblocking(False)
                self._sock.sendto(payload, self._address)
        except OSError as exc:
            # systemd gone, socket queue full, or a sandbox that forbids it.
            log.debug("sd_notify_failed", error=str(exc), message=payload.decode())
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Startup (or a reload) is complete; ``systemctl start`` returns now."""
        if status is None:
            return self.notify(READY=1)
        return self.notify(READY=1, STATUS=status)

    def status(self, text: str) -> bool:
        """A one-line state shown by ``systemctl status``."""
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        """Proof of life; send at least every ``watchdog_interval()`` seconds."""
        return self.notify(WATCHDOG=1)

    def reloading(self) -> bool:
        """A config reload has begun; follow with ``ready()`` when it is done.

        ``MONOTONIC_USEC`` lets systemd tell this reload from an older one.
        """
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify(RELOADING=1, MONOTONIC_USEC=usec)

    def stopping(self) -> bool:
        """Shutdown has begun, so systemd does not mistake the drain for a hang."""
        return self.notify(STOPPING=1)

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings: half of ``WatchdogSec=``, or None.

        None when there is no socket, no ``WATCHDOG_USEC``, or when
        ``WATCHDOG_PID`` names another process (the variables leaked to a
        child, which must not ping on the parent's behalf).
        """
        if self._address is None:
            return None
        try:
            usec = int(self._env.get("WATCHDOG_USEC", ""))
        except ValueError:
            return None
        if usec <= 0:
            return None
        pid = self._env.get("WATCHDOG_PID")
        if pid is not None:
            try:
                if int(pid) != os.getpid():
                    return None
            except ValueError:
                return None
        return usec / 2 / 1_000_000

    def close(self) -> None:
        """Release the socket; later calls open a new one."""
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
