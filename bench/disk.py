"""Disk trouble: the state folder fills up, then frees; later it is read-only at start.

The daemon's state folder is put on a small tmpfs of its own (this needs
root, or at least the right to mount; without it the scenario is skipped
with the reason). While articles flow, a filler file takes every free
byte: SQLite's writes fail with SQLITE_FULL, the daemon must pause intake,
say so on ``/healthz`` and keep every file in the inbox; when the filler
goes, it must resume by itself and store everything exactly once.

A *read-only* state folder cannot be produced under a running daemon:
Linux refuses to remount a file system read-only while a file on it is
open for writing (EBUSY), and the daemon holds its database open. So the
read-only case is the one that can happen: the folder is read-only when
the daemon starts. It must refuse to start with a message naming the
database, and start and catch up once the folder is writable again
(systemd's ``Restart=on-failure`` does the retrying in production).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness import Daemon, db_scalar, wait_for, write_config


def _article(n: int) -> bytes:
    return (
        f"Harbour report {n}\n\n"
        f"Inspectors counted {n % 911 + 5} containers and {n * 13 % 9000 + 10} workers "
        f"at berth {n % 41} on day {n} of the audit in Port Vale {n}.\n"
    ).encode()


def _mount(target: Path, size_mib: int) -> str | None:
    """Mount a tmpfs at ``target``; the reason it cannot be done, or ``None``."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "wirewatch-state", str(target)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError as exc:
        return f"mount unavailable: {exc}"
    if proc.returncode != 0:
        return f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}"
    return None


def _remount(target: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(target)], check=True, timeout=30)


def _health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s file system; returns the filler."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # down to the last byte
            block = b"\0" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def disk_full(before: int = 200, during: int = 300, size_mib: int = 48) -> dict[str, Any]:
    """``before`` articles stored, the disk filled, ``during`` more dropped, the disk freed."""
    if os.geteuid() != 0:
        return {
            "skipped": "needs root to mount a small file system for the state folder",
            "ok": True,
        }
    with tempfile.TemporaryDirectory(prefix="wirewatch-disk-") as tmp:
        root = Path(tmp)
        state = root / "var"
        reason = _mount(state, size_mib)
        if reason is not None:
            return {"skipped": reason, "ok": True}
        cfg = write_config(root, health={"enabled": True, "port": 0}, extract={"entities": False})
        daemon = Daemon(root, cfg)
        try:
            return _disk_full(daemon, state, before, during)
        finally:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.kill()
            subprocess.run(["umount", "-l", str(state)], capture_output=True, timeout=30)


def _disk_full(daemon: Daemon, state: Path, before: int, during: int) -> dict[str, Any]:
    root = daemon.root
    daemon.start()
    port = int(wait_for(lambda: _logged(daemon, "health_listening"), 10, "the health port")["port"])
    started = time.perf_counter()
    for n in range(before):
        (daemon.inbox / f"a{n:05d}.txt").write_bytes(_article(n))
    wait_for(lambda: daemon.articles() == before, 60, "the first articles")
    assert _health(port)[0] == 200

    filler = _fill(state)
    for n in range(before, before + during):
        (daemon.inbox / f"a{n:05d}.txt").write_bytes(_article(n))
    status, body = wait_for(
        lambda: (h := _health(port))[0] == 503 and h, 60, "/healthz to report the full disk"
    )
    store_check = body.get("checks", {}).get("store", "")
    stored_while_full = daemon.articles()
    left_while_full = len(list(daemon.inbox.iterdir()))
    alive_while_full = daemon.proc is not None and daemon.proc.poll() is None
    full_at = time.perf_counter()

    filler.unlink()
    wait_for(
        lambda: daemon.articles() == before + during and not any(daemon.inbox.iterdir()),
        120,
        "every article after the disk was freed",
    )
    resumed_after = time.perf_counter() - full_at
    wait_for(lambda: _health(port)[0] == 200, 30, "/healthz to recover")
    exit_code = daemon.stop()

    # Read-only at start: refused with the reason, then started once writable.
    _remount(state, "ro")
    for n in range(before + during, before + during + 10):
        (daemon.inbox / f"a{n:05d}.txt").write_bytes(_article(n))
    refused = subprocess.run(
        [*_command(daemon), "run"], capture_output=True, text=True, cwd=root, timeout=60
    )
    _remount(state, "rw")
    daemon.start()
    wait_for(lambda: daemon.articles() == before + during + 10, 60, "the articles after ro")
    last_exit = daemon.stop()
    db = daemon.db
    result = {
        "articles": before + during + 10,
        "stored": daemon.articles(),
        "distinct_sha256": db_scalar(db, "SELECT count(DISTINCT sha256) FROM articles"),
        "quarantined": db_scalar(db, "SELECT count(*) FROM quarantine"),
        "stored_while_full": stored_while_full,
        "left_in_inbox_while_full": left_while_full,
        "daemon_alive_while_full": alive_while_full,
        "health_status_while_full": status,
        "health_store_check": store_check,
        "write_failures_logged": daemon.log().count("store_write_failed"),
        "recoveries_logged": daemon.log().count("store_write_recovered"),
        "resumed_within_seconds": round(resumed_after, 2),
        "read_only_start_exit_code": refused.returncode,
        "read_only_start_message": _last_error(refused.stderr),
        "exit_code": exit_code,
        "last_exit_code": last_exit,
        "seconds": round(time.perf_counter() - started, 1),
    }
    total = before + during + 10
    result["ok"] = (
        result["stored"] == result["distinct_sha256"] == total
        and result["quarantined"] == 0
        # Writes that fit in space SQLite already holds (the WAL's) may still
        # commit after the fill; what matters is that the rest waits, all of it.
        and stored_while_full + left_while_full == before + during
        and left_while_full > 0
        and alive_while_full
        and status == 503
        and refused.returncode == 75
        and exit_code == 0
        and last_exit == 0
    )
    return result


def _logged(daemon: Daemon, event: str) -> dict[str, Any] | None:
    """The last log record of ``event``, if any."""
    for line in reversed(daemon.log().splitlines()):
        if event in line:
            try:
                record: dict[str, Any] = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == event:
                return record
    return None


def _command(daemon: Daemon) -> list[str]:
    import sys

    return [sys.executable, "-m", "wirewatch", "--config", str(daemon.config)]


def _last_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def main() -> None:
    print(json.dumps(disk_full(), indent=2))


if __name__ == "__main__":
    main()
