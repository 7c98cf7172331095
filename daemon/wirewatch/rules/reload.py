"""Live editing: notice changed rule files, validate everything, then swap.

The folder is polled (one ``stat`` per file every half second) rather than
watched with inotify: a rules folder holds a handful of files, a poll
cannot miss an event or lose its thread, and it works the same on network
filesystems and in containers. A change is applied once the folder has
stood still for one poll interval, so an editor's half-written save is not
reported as a syntax error; a fix is therefore live within two intervals.

A reload validates the whole folder first (:func:`load_rules`) and swaps
only a complete, valid rule set in; on any error the old rules stay in
force and the error is logged naming file, rule and field. SIGHUP asks for
a reload at once, changed or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..logs import get_logger
from .engine import RulesStage, SwapReport
from .loader import RulesError, load_rules, rule_files

__all__ = ["ReloadStatus", "RulesReloader", "folder_signature"]

log = get_logger(__name__)

Signature = tuple[tuple[str, int, int, int], ...]


def folder_signature(folder: Path) -> Signature:
    """What identifies the folder's rule files: names, sizes, mtimes, inodes."""
    out = []
    for path in rule_files(folder):
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.append((path.name, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


@dataclass
class ReloadStatus:
    """The outcome of the last load, for ``/status``, metrics and ``wirewatch check``."""

    ok: bool = True
    at: float = 0.0
    trigger: str = "start"
    error: str | None = None
    rules: int = 0
    files: int = 0
    reloads: int = 0
    failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "at": self.at,
            "trigger": self.trigger,
            "error": self.error,
            "rules": self.rules,
            "files": self.files,
            "reloads": self.reloads,
            "failures": self.failures,
        }


class RulesReloader:
    """Keeps a :class:`RulesStage` in step with its rules folder.

    Run :meth:`run` as a task; call :meth:`request_reload` from a SIGHUP
    handler; read :attr:`status`. ``on_result(ok, unix_time)`` is called
    after every reload attempt (e.g. ``Metrics.record_reload``).
    """

    def __init__(
        self,
        stage: RulesStage,
        folder: Path,
        sink_names: set[str],
        *,
        default_destinations: tuple[str, ...] | list[str] = ("console",),
        poll_interval: float = 0.5,
        on_result: Callable[[bool, float], None] | None = None,
    ) -> None:
        self.stage = stage
        self.folder = folder
        self.sink_names = set(sink_names)
        self.default_destinations = tuple(default_destinations)
        self.poll_interval = poll_interval
        self.on_result = on_result
        rs = stage.ruleset
        self.status = ReloadStatus(ok=True, at=time.time(), rules=len(rs), files=len(rs.files))
        self._applied = folder_signature(folder)
        self._requested = asyncio.Event()
        self._lock = asyncio.Lock()

    def request_reload(self) -> None:
        """Reload at the next chance, changed or not (the SIGHUP path)."""
        self._requested.set()

    async def reload(self, trigger: str = "request") -> SwapReport | None:
        """Validate the folder and swap it in; None (and old rules kept) on error."""
        async with self._lock:
            signature = folder_signature(self.folder)
            try:
                ruleset = await asyncio.to_thread(
                    load_rules,
                    self.folder,
                    self.sink_names,
                    default_destinations=self.default_destinations,
                )
            except RulesError as exc:
                self._applied = signature
                self._record(False, trigger, "\n".join(exc.problems))
                log.error(
                    "rules_reload_failed",
                    trigger=trigger,
                    problems=exc.problems,
                    kept_rules=len(self.stage.ruleset),
                )
                return None
            try:
                report = await self.stage.swap(ruleset)
            except Exception as exc:
                self._record(False, trigger, f"swap failed: {exc!r}")
                log.error("rules_reload_failed", trigger=trigger, error=repr(exc), exc_info=True)
                return None
            self._applied = signature
            self.status.rules = len(ruleset)
            self.status.files = len(ruleset.files)
            self._record(True, trigger, None)
            for warning in ruleset.warnings:
                log.warning("rules_warning", warning=warning)
            log.info(
                "rules_reloaded",
                trigger=trigger,
                rules=len(ruleset),
                files=[str(f) for f in ruleset.files],
            )
            return report

    def _record(self, ok: bool, trigger: str, error: str | None) -> None:
        s = self.status
        s.ok = ok
        s.at = time.time()
        s.trigger = trigger
        s.error = error
        s.reloads += 1
        if not ok:
            s.failures += 1
        if self.on_result is not None:
            self.on_result(ok, s.at)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll the folder and serve reload requests until cancelled or ``stop``."""
        stop = stop or asyncio.Event()
        seen = self._applied
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._requested.wait(), self.poll_interval)
            if self._requested.is_set():
                self._requested.clear()
                await self.reload("sighup")
                seen = self._applied
                continue
            current = await asyncio.to_thread(folder_signature, self.folder)
            if current != self._applied and current == seen:
                await self.reload("change")
            seen = current
