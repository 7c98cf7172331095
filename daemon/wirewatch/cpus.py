"""Keeping the writer's process and its helper processes on CPUs of their own.

The writer's process is bound by one interpreter lock, and its helpers
(the parse workers, the stories engine process) are busy beside it. Left
to itself, the scheduler moves them from CPU to CPU and each move costs
the caches they had warmed. With ``pipeline.pin_cpus`` the writer's
process keeps the first CPU it is allowed and the helpers share the
others, each process with its caches to itself.

Only the CPUs the process is allowed already are divided, so an affinity
set from outside (systemd's ``CPUAffinity=``, ``taskset``, a cpuset) is
respected: two instances on one machine should each be given CPUs of their
own that way, or both writers take the same first CPU. Linux only; with
fewer than two CPUs allowed nothing is pinned.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from .logs import get_logger

log = get_logger(__name__)

_allowed_before: set[int] | None = None
"""The CPUs this process was allowed before it pinned itself (once known)."""


@dataclass(frozen=True, slots=True)
class CpuSplit:
    """Which CPUs the writer's process keeps, and which its helpers share."""

    writer: frozenset[int]
    helpers: frozenset[int]


def split(allowed: Iterable[int]) -> CpuSplit | None:
    """The first allowed CPU for the writer, the rest for the helpers; ``None``
    when there is nothing to divide (fewer than two CPUs)."""
    cpus = sorted(set(allowed))
    if len(cpus) < 2:
        return None
    return CpuSplit(frozenset(cpus[:1]), frozenset(cpus[1:]))


def allowed_cpus() -> set[int] | None:
    """The CPUs this process may run on; ``None`` where that cannot be asked."""
    getter = getattr(os, "sched_getaffinity", None)
    return set(getter(0)) if getter is not None else None


def pin_process(cpus: Iterable[int]) -> None:
    """Keep every thread of this process on ``cpus``.

    An affinity belongs to a thread: one set on the calling thread reaches
    the threads it starts later, not those already running (the database
    connection's, the file watcher's), so each is set by its id. Raises
    ``PermissionError`` where the call is forbidden (the shipped systemd
    unit's ``SystemCallFilter`` denies ``@resources``).
    """
    mask = set(cpus)
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            os.sched_setaffinity(tid, mask)
        except ProcessLookupError:
            continue  # the thread ended meanwhile


def pin_child(pid: int, cpus: Iterable[int]) -> None:
    """Keep a helper process that has just started (a single thread yet) on ``cpus``."""
    try:
        os.sched_setaffinity(pid, set(cpus))
    except OSError as exc:
        log.warning("cpu_pin_failed", pid=pid, error=str(exc))


def pin_for_pipeline(helpers_needed: bool) -> CpuSplit | None:
    """Pin this process to the writer's CPU; the helpers' CPUs, for them to take.

    ``None`` (and nothing pinned) without helper processes, on one CPU, or
    where affinity is not supported or not permitted: the reason is logged
    and the pipeline runs unpinned. A process that opens a pipeline again
    (the benchmarks do) divides the CPUs it had before it first pinned
    itself, not the one it kept.
    """
    global _allowed_before
    if _allowed_before is None:
        _allowed_before = allowed_cpus()
    cpus = split(_allowed_before) if _allowed_before is not None else None
    reason = None
    if not helpers_needed:
        reason = "no helper processes (prepare_processes = 0 and the stories engine inline)"
    elif _allowed_before is None:
        reason = "CPU affinity is not supported here"
    elif cpus is None:
        reason = "fewer than two CPUs allowed"
    else:
        try:
            pin_process(cpus.writer)
        except PermissionError as exc:
            # A syscall filter refuses the call for every thread alike, so
            # none was pinned before this one.
            reason = f"not permitted: {exc}"
    if reason is not None or cpus is None:
        log.warning("cpus_not_pinned", reason=reason)
        return None
    log.info("cpus_pinned", writer=sorted(cpus.writer), helpers=sorted(cpus.helpers))
    return cpus
