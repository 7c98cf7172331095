"""The stories engine in a process of its own.

Ingest is bound by one interpreter lock: parsing and extraction in the
worker threads and the writer's own work all take turns on it. Featurizing
and placing an article cost about as much again as the rest of the
pipeline, so done in-process they would cut the backfill throughput by
half; in a process of their own they run on another core, and the writer
only pickles a request of plain values (a few kilobytes), waits for the
answer without holding the lock, and writes it.

The child keeps the hot window. It is started with the ``spawn`` method
(the parent has threads, so ``fork`` would be unsafe), answers requests one
at a time in the order they came, and ignores SIGINT (the parent decides
when it stops). The parent may have several requests on their way and
matches answers to them in that order; an answer nobody awaits any more (a
cancelled caller) is read and dropped, so it never reaches a later
request. If the child dies, every request in flight fails; the stage then
starts a fresh one and reloads the window from the store.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
import time
import traceback
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from ..cpus import pin_child
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
    """A handle on the engine process; requests are awaited without blocking the loop.

    Several requests may be on their way at once (the writer sends a whole
    batch's placements before it reads the first answer): the child answers
    in the order it was asked, so answers are matched to requests first in,
    first out, by one reader on the event loop.
    """

    def __init__(self, cfg: StoriesConfig, cpus: frozenset[int] | None = None) -> None:
        self._cfg = cfg
        self._cpus = cpus
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._send_lock = threading.Lock()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._reader: tuple[asyncio.AbstractEventLoop, int] | None = None
        self.starts = 0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive() and self._conn is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._waiting)

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
        if self._cpus and proc.pid is not None:
            pin_child(proc.pid, self._cpus)
        self._proc, self._conn = proc, parent
        self.starts += 1

    def submit(self, op: str, payload: object = None) -> asyncio.Future[Any]:
        """Send one request now; its answer arrives in the returned future.

        The future fails with :class:`EngineError` if the engine failed the
        request or went away. Cancelling it does not disturb the others: the
        answer is still read, and dropped.
        """
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()
        conn = self._conn
        if conn is None or not self.alive:
            answer.set_exception(EngineError("the stories engine process is not running"))
            return answer
        try:
            with self._send_lock:
                conn.send((op, payload))
        except (OSError, ValueError) as exc:
            self.kill()
            answer.set_exception(EngineError(f"the stories engine process went away: {exc!r}"))
            return answer
        self._waiting.append(answer)
        if self._reader is None:
            fd = conn.fileno()
            loop.add_reader(fd, self._readable)
            self._reader = (loop, fd)
        return answer

    async def call(self, op: str, payload: object = None) -> Any:
        """Send one request and await its answer."""
        return await self.submit(op, payload)

    def _readable(self) -> None:
        """Hand each answer that has arrived to the oldest request waiting."""
        conn = self._conn
        try:
            while conn is not None and self._waiting and conn.poll(0):
                status, value = conn.recv()
                answer = self._waiting.popleft()
                if answer.done():  # cancelled: nobody is waiting for it
                    continue
                if status == "error":
                    answer.set_exception(EngineError(f"the stories engine failed:\n{value}"))
                else:
                    answer.set_result(value)
        except (EOFError, OSError) as exc:
            self._fail(EngineError(f"the stories engine process went away: {exc!r}"))
            self.kill()
            return
        if conn is not None and not self._waiting:
            # Nothing asked: an end of file now is the child's exit, seen at the next request.
            self._stop_reading()

    def _stop_reading(self) -> None:
        if self._reader is not None:
            loop, fd = self._reader
            self._reader = None
            if not loop.is_closed():
                loop.remove_reader(fd)

    def _fail(self, exc: EngineError) -> None:
        waiting, self._waiting = self._waiting, deque()
        for answer in waiting:
            if not answer.done():
                answer.set_exception(exc)

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
        """Drop the process at once (its state goes with it, and requests in flight fail)."""
        self._stop_reading()
        self._fail(EngineError("the stories engine process was stopped"))
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
        self._stop_reading()
        self._fail(EngineError("the stories engine process was stopped"))
        if conn is not None and proc is not None and proc.is_alive():
            try:
                conn.send(("stop", None))
                # Answers to requests nobody awaits any more may come first.
                deadline = time.monotonic() + _STOP_TIMEOUT
                while (left := deadline - time.monotonic()) > 0 and conn.poll(left):
                    if conn.recv() == ("ok", None):
                        break
            except (EOFError, OSError):
                pass
            proc.join(_STOP_TIMEOUT)
        self.kill()
