"""The stories engine in a process of its own.

Ingest is bound by one interpreter lock: parsing and extraction in the
worker threads and the writer's own work all take turns on it. Featurizing
and placing an article cost about as much again as the rest of the
pipeline, so done in-process they would cut the backfill throughput by
half; in a process of their own they run on another core, and the writer
only pickles a request of plain values (a few kilobytes), waits for the
answer without holding the lock, and writes it.

The child keeps the hot window. It is started with the ``spawn`` method
(the parent has threads, so ``fork`` would be unsafe), takes one request
at a time, and ignores SIGINT (the parent decides when it stops). If it
dies, or a request is abandoned half-way (cancelled), the parent drops it;
the stage then starts a fresh one and reloads the window from the store.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
import traceback
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from .config import StoriesConfig
from .engine import StoriesEngine

_STOP_TIMEOUT = 5.0


class EngineError(RuntimeError):
    """The engine process failed a request or is gone."""


def serve(conn: Connection, settings: dict[str, Any]) -> None:
    """The child's loop: one request, one answer, until told to stop.

    Articles sent ahead (``ahead``, no answer) are featurized whenever no
    request is waiting, so a placement, which the writer waits for, never
    queues behind them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine = StoriesEngine(StoriesConfig.model_validate(settings))
    while True:
        try:
            if engine.has_work_ahead and not conn.poll(0):
                engine.work_ahead()
                continue
            op, payload = conn.recv()
        except (EOFError, OSError):
            return
        if op == "ahead":
            engine.enqueue(payload)
            continue
        if op == "stop":
            conn.send(("ok", None))
            return
        try:
            if op == "place":
                result: object = engine.place(payload)
            elif op == "load":
                result = engine.load(payload)
            elif op == "stats":
                result = engine.stats()
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception:
            conn.send(("error", traceback.format_exc()))
            continue
        conn.send(("ok", result))


class EngineProcess:
    """A handle on the engine process; requests are awaited without blocking the loop."""

    def __init__(self, cfg: StoriesConfig) -> None:
        self._cfg = cfg
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._send_lock = threading.Lock()
        self.starts = 0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive() and self._conn is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start a fresh engine process (any previous one is dropped)."""
        self.kill()
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(
            target=serve,
            args=(child, self._cfg.model_dump()),
            name="wirewatch-stories",
            daemon=True,
        )
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        self.starts += 1

    async def call(self, op: str, payload: object = None) -> Any:
        """Send one request and await its answer.

        Anything that leaves the answer unread (a cancellation, a dead
        child) drops the process, so no later request can read a stale
        answer; the caller reloads a fresh one.
        """
        if not self.alive:
            raise EngineError("the stories engine process is not running")
        conn = self._conn
        assert conn is not None
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[tuple[str, Any]] = loop.create_future()
        fd = conn.fileno()

        def readable() -> None:
            loop.remove_reader(fd)
            if answer.done():
                return
            try:
                answer.set_result(conn.recv())
            except BaseException as exc:
                answer.set_exception(exc)

        try:
            with self._send_lock:
                conn.send((op, payload))
            loop.add_reader(fd, readable)
            status, result = await answer
        except BaseException as exc:
            loop.remove_reader(fd)
            self.kill()
            if isinstance(exc, (EOFError, OSError)):
                raise EngineError(f"the stories engine process went away: {exc!r}") from exc
            raise
        if status == "error":
            raise EngineError(f"the stories engine failed:\n{result}")
        return result

    def post(self, op: str, payload: object) -> bool:
        """Send a message that has no answer, from any thread; whether it went."""
        conn = self._conn
        if conn is None:
            return False
        try:
            with self._send_lock:
                conn.send((op, payload))
        except (OSError, ValueError):
            return False
        return True

    def kill(self) -> None:
        """Drop the process at once (its state goes with it)."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(_STOP_TIMEOUT)
            if proc.is_alive():
                proc.kill()
                proc.join(_STOP_TIMEOUT)

    def stop(self) -> None:
        """Ask the process to finish, then make sure it has."""
        conn, proc = self._conn, self._proc
        if conn is not None and proc is not None and proc.is_alive():
            try:
                conn.send(("stop", None))
                if conn.poll(_STOP_TIMEOUT):
                    conn.recv()
            except (EOFError, OSError):
                pass
            proc.join(_STOP_TIMEOUT)
        self.kill()
