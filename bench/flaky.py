"""A seeded flaky webhook endpoint: the receiver of :func:`bench.faults.kill_loop`.

Real webhook endpoints fail in a handful of ways at once: server errors,
rate limiting with ``Retry-After``, and requests that hang past the
sender's timeout (and are then processed anyway, which is how a receiver
ends up with a duplicate it must recognise by ``webhook-id``). The script
here answers each request by a draw from a seeded RNG, so a run's mix of
failures can be repeated; the order of requests still depends on timing.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

from bench.receiver import Receiver, Reply, Request

__all__ = ["Flaky", "flaky_receiver"]


@dataclass
class Flaky:
    """A script for :class:`bench.receiver.Receiver`: errors, 429s and hangs in seeded shares.

    ``p_error`` of the requests get a 500, ``p_limited`` a 429 with
    ``Retry-After: retry_after``, ``p_hang`` are held ``hang`` seconds (set
    it above the sink's timeout) and then answered 200, as a slow receiver
    that did process the request would; the rest get a 200 at once.
    """

    seed: int
    hang: float
    p_error: float = 0.30
    p_limited: float = 0.10
    p_hang: float = 0.05
    retry_after: int = 1
    drawn: Counter[str] = field(default_factory=Counter)
    resets: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __call__(self, req: Request) -> Reply:
        with self._lock:  # the Receiver already serialises scripts; this keeps Flaky safe alone
            x = self._rng.random()
            if x < self.p_error:
                self.drawn["500"] += 1
                return Reply(500, body=b"internal error")
            x -= self.p_error
            if x < self.p_limited:
                self.drawn["429"] += 1
                return Reply(429, {"Retry-After": str(self.retry_after)}, b"slow down")
            x -= self.p_limited
            if x < self.p_hang:
                self.drawn["hang"] += 1
                return Reply(200, hang=self.hang)
            self.drawn["200"] += 1
            return Reply(200)


def flaky_receiver(paths: list[str], seed: int, hang: float) -> tuple[Receiver, Flaky]:
    """A started receiver answering every one of ``paths`` with one shared seeded script.

    A sender killed mid-request resets its connection; that is expected
    here, so the server counts it (``script.resets``) instead of printing a
    traceback for each.
    """
    script = Flaky(seed=seed, hang=hang)
    receiver = Receiver()
    for path in paths:
        receiver.on(path, script)

    def handle_error(request: object, client_address: object) -> None:
        with script._lock:
            script.resets += 1

    receiver.server.handle_error = handle_error  # type: ignore[method-assign]
    return receiver.start(), script
