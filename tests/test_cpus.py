"""Pinning the writer's process and its helpers to CPUs of their own: a real daemon."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.harness import proc_children
from conftest import Daemon, drop, seed_files, wait_for, write_config
from wirewatch import cpus
from wirewatch.cpus import CpuSplit, split

ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
needs_two_cpus = pytest.mark.skipif(
    len(ALLOWED) < 2, reason="pinning divides at least two CPUs (Linux)"
)


def test_the_writer_takes_the_first_cpu_and_the_helpers_the_rest() -> None:
    assert split([3, 1, 2]) == CpuSplit(frozenset({1}), frozenset({2, 3}))
    assert split({0, 1}) == CpuSplit(frozenset({0}), frozenset({1}))
    assert split([5]) is None
    assert split([]) is None


def _refuse(pid: int, mask: object) -> None:
    raise PermissionError(1, "Operation not permitted")


@needs_two_cpus
def test_a_refused_pinning_leaves_the_pipeline_unpinned(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped systemd unit's syscall filter refuses ``sched_setaffinity``
    (``@resources``) with EPERM; a seccomp filter cannot be set up here, so the
    refusal is simulated."""
    monkeypatch.setattr(cpus, "_allowed_before", None)
    monkeypatch.setattr(cpus.os, "sched_setaffinity", _refuse)
    assert cpus.pin_for_pipeline(True) is None
    printed = capsys.readouterr()
    assert "cpus_not_pinned" in printed.out + printed.err
    assert "not permitted" in printed.out + printed.err
    assert os.sched_getaffinity(0) == set(ALLOWED)


def _must_not_pin(pid: int, mask: object) -> None:
    raise AssertionError("nothing may be pinned here")


def test_nothing_is_pinned_without_helpers_or_a_second_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus.os, "sched_setaffinity", _must_not_pin)
    monkeypatch.setattr(cpus, "_allowed_before", None)
    assert cpus.pin_for_pipeline(False) is None
    monkeypatch.setattr(cpus, "_allowed_before", None)
    monkeypatch.setattr(cpus, "allowed_cpus", lambda: {3})
    assert cpus.pin_for_pipeline(True) is None


def _threads(pid: int) -> list[int]:
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


def _helpers(pid: int) -> list[int]:
    """The daemon's helper processes: spawned children (not the resource tracker)."""
    out = []
    for child in proc_children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            out.append(child)
    return out


def _events(d: Daemon, name: str) -> list[dict[str, object]]:
    # Only the lines of this event are parsed: the daemon may be midway
    # through writing another.
    marker = f'"event": "{name}"'
    return [json.loads(x) for x in d.log().splitlines() if marker in x]


@needs_two_cpus
@pytest.mark.parametrize(
    ("pipeline", "stories"),
    [
        ({"prepare_processes": 1}, {"engine": "auto"}),
        ({"prepare_processes": 0}, {"engine": "process"}),
    ],
    ids=["parse-worker", "stories-engine-process"],
)
def test_a_pinned_daemon_keeps_its_cpu_and_its_helpers_share_the_others(
    tmp_path: Path, pipeline: dict[str, object], stories: dict[str, object]
) -> None:
    config = write_config(tmp_path, pipeline={"pin_cpus": True, **pipeline}, stories=stories)
    d = Daemon(tmp_path, config).start()
    writer, helpers = {ALLOWED[0]}, set(ALLOWED[1:])
    try:
        assert d.proc is not None
        pid = d.proc.pid
        pinned = _events(d, "cpus_pinned")
        assert len(pinned) == 1
        assert (pinned[0]["writer"], pinned[0]["helpers"]) == (sorted(writer), sorted(helpers))

        def helpers_pinned() -> bool:
            found = _helpers(pid)
            return bool(found) and all(os.sched_getaffinity(p) == helpers for p in found)

        wait_for(helpers_pinned, 30, "the helper processes on the other CPUs")
        # Every thread, those started before the pinning among them.
        threads = _threads(pid)
        assert len(threads) > 1
        assert {tid: os.sched_getaffinity(tid) for tid in threads} == dict.fromkeys(threads, writer)
        drop(seed_files()[0], d.inbox)
        wait_for(lambda: d.articles() == 1, 30, "the seed to be stored")
    finally:
        assert d.stop() == 0


@needs_two_cpus
def test_an_unpinned_daemon_leaves_the_scheduler_every_cpu(daemon: Daemon) -> None:
    daemon.start()
    assert daemon.proc is not None
    pid = daemon.proc.pid
    wait_for(lambda: bool(_helpers(pid)), 30, "the parse worker")
    for task in [*_threads(pid), *_helpers(pid)]:
        assert os.sched_getaffinity(task) == set(ALLOWED)
    assert not _events(daemon, "cpus_pinned")
    assert daemon.stop() == 0
