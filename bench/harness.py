"""Drive a real wirewatch daemon from outside: config files, drops, signals, the database.

Shared by the end-to-end tests and the benchmarks, so both measure the
daemon the way an operator runs it: as a subprocess, through its inbox.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


async def wait_until(predicate: Callable[[], object], deadline: float, what: str) -> float:
    """:func:`wait_for` on the event loop; returns the seconds taken."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > deadline:
            raise AssertionError(f"timed out after {deadline} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def write_config(root: Path, **sections: dict[str, Any]) -> Path:
    """A config file with absolute paths under ``root``; sections override keys."""
    base: dict[str, dict[str, Any]] = {
        "watch": {"inboxes": [str(root / "inbox")], "settle": 0.2, "rescan_interval": 30.0},
        "store": {
            "state_dir": str(root / "var"),
            "processed_dir": str(root / "processed"),
            "quarantine_dir": str(root / "quarantine"),
            "after_store": "move",
        },
        "log": {"format": "json", "level": "info"},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
        lines.append("")
    path = root / "wirewatch.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    (root / "inbox").mkdir(exist_ok=True)
    return path


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f'"{k}" = {_toml(x)}' for k, x in v.items()) + "}"
    return str(v)


def drop(src: Path, inbox: Path, name: str | None = None) -> Path:
    """Deliver a file the way a well-behaved writer does: write a .tmp, rename in."""
    name = name or src.name
    tmp = inbox / f".{name}.tmp"
    shutil.copyfile(src, tmp)
    dest = inbox / name
    os.rename(tmp, dest)
    return dest


def proc_stat(pid: int | str) -> list[str] | None:
    """``/proc/PID/stat`` from its third field on (state, ppid, ...), or ``None``
    when the process is gone. The command name before them may hold spaces
    and parentheses, so the split is after its last ")"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def proc_cpu_seconds(pid: int | str) -> float | None:
    """CPU seconds (user + system) a process has used; ``None`` when it is gone."""
    fields = proc_stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_children(pid: int | str) -> list[int]:
    """The direct child processes of ``pid`` (its worker processes, say)."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return out


def proc_memory(pid: int | str, key: str, file: str = "status") -> int:
    """A memory line (``VmRSS``, ``VmHWM``, ``Pss``...) of ``/proc/PID/FILE`` in
    bytes; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def db_scalar(db: Path, sql: str, *params: Any) -> Any:
    if not db.exists():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute(sql, params).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


class Daemon:
    """``wirewatch run`` as a real subprocess, with its log captured to a file."""

    def __init__(self, root: Path, config: Path) -> None:
        self.root = root
        self.config = config
        self.db = root / "var" / "wirewatch.db"
        self.inbox = root / "inbox"
        self.log_path = root / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.sightings_before = 0

    def start(self, env: dict[str, str] | None = None) -> Daemon:
        self.starts += 1
        n = self.log().count("service_started")
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wirewatch", "--config", str(self.config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env={**os.environ, **(env or {})},
        )
        log.close()
        wait_for(lambda: self.log().count("service_started") > n, 30, "the daemon to start")
        return self

    def log(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )

    def articles(self) -> int:
        return int(db_scalar(self.db, "SELECT count(*) FROM articles") or 0)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
