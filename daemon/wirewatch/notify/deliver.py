"""Delivery from the outbox: one worker per destination, at least once, in order.

Each worker takes the head of its destination's queue (the oldest pending
delivery), waits until it is due and the destination's rate allows, sends
it, and commits the outcome before looking at the next row. A retrying
head blocks the rows behind it (that is what "in order" means), but each
destination has its own worker, connection pool and rate limiter, so a
slow, failing or disabled destination never delays another.

"sent" is committed right after the 2xx, with ``synchronous=FULL``; a crash
in between sends the alert again on restart with the same ``webhook-id``,
which is the one duplicate at-least-once delivery allows.

Every attempt is bounded: connect and read timeouts, and an overall
deadline that also covers resolving the host. The host is resolved before
each attempt, its addresses checked (see ``safety``), and the request goes
to the checked address with the original ``Host`` header and TLS server
name, so what was checked is what is reached.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

import httpx

from .. import __version__
from ..logs import get_logger
from ..models import Alert
from ..store.base import utcnow
from ..store.outbox import Attempt, OutboxMixin, PendingDelivery
from .config import AnySink, ConsoleSink, HttpSink, NotifyConfig, effective_sinks, sink_secrets
from .console import write_alert
from .policy import RateLimiter, Verdict, classify, discord_reset_after, parse_retry_after
from .policy import retry_delay as _retry_delay
from .redact import Redactor, make_redactor
from .render import encode, render_payload
from .safety import AddressRefused, resolve_checked
from .sign import signed_headers

log = get_logger("wirewatch.notify")

BODY_EXCERPT = 500
"""How much of a receiver's error body is kept (logged and stored)."""

ClientFactory = Callable[[HttpSink], httpx.AsyncClient]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to, before it is committed."""

    verdict: Verdict
    status_code: int | None
    error: str | None
    duration_ms: float
    retry_after: float | None = None
    reset_after: float | None = None


@dataclass(slots=True)
class DeliveryCounts:
    """Outcome counters, read by the metrics and the status page."""

    attempts: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    disabled: int = 0


def default_client(sink: HttpSink, settings: NotifyConfig) -> httpx.AsyncClient:
    """A destination's own client: no redirects, a small pool, no proxy from the environment.

    Proxies from the environment are ignored because the address checks
    assume the request goes where the checked address says.
    """
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_connections,
        ),
        timeout=_timeouts(sink),
    )


def _timeouts(sink: HttpSink) -> httpx.Timeout:
    return httpx.Timeout(
        connect=sink.timeout_connect,
        read=sink.timeout_read,
        write=sink.timeout_read,
        pool=sink.timeout_connect,
    )


def url_digest(sink: AnySink) -> str | None:
    """A fingerprint of the sink's URL: a 410 disables this URL, not the next one."""
    if isinstance(sink, ConsoleSink):
        return None
    return hashlib.sha256(sink.url.encode()).hexdigest()


async def _excerpt(response: httpx.Response) -> str:
    """The start of the body, read no further than needed."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= BODY_EXCERPT * 4:
            break
    text = data.decode("utf-8", "replace").strip()
    return text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else "")


def _headers(sink: HttpSink, alert: Alert, body: bytes, now: datetime) -> httpx.Headers:
    headers = httpx.Headers(sink.headers)
    headers["content-type"] = "application/json"
    if "user-agent" not in headers:
        headers["user-agent"] = f"wirewatch/{__version__}"
    if sink.type == "webhook":
        secret = sink.secret.get_secret_value() if sink.secret is not None else None
        headers.update(signed_headers(secret, alert.id, int(now.timestamp()), body))
    return headers


async def _post(
    client: httpx.AsyncClient,
    sink: HttpSink,
    url: httpx.URL,
    addresses: list[str],
    body: bytes,
    headers: httpx.Headers,
) -> tuple[httpx.Response, str]:
    """POST to the first of the checked addresses that accepts a connection.

    The URL's host is replaced by the address, and the host name goes in
    the ``Host`` header and the TLS server name, so certificates are still
    verified against the name.
    """
    for i, address in enumerate(addresses):
        try:
            async with client.stream(
                "POST",
                url.copy_with(host=address),
                content=body,
                headers=headers,
                timeout=_timeouts(sink),
                extensions={"sni_hostname": url.host} if url.scheme == "https" else {},
                follow_redirects=False,
            ) as response:
                return response, await _excerpt(response)
        except httpx.ConnectError:
            if i == len(addresses) - 1:
                raise
    raise AssertionError("resolve_checked returns at least one address")


async def deliver_once(
    alert: Alert,
    sink: AnySink,
    client: httpx.AsyncClient | None,
    *,
    now: datetime | None = None,
    console: TextIO | None = None,
) -> Outcome:
    """Make one attempt to deliver ``alert`` to ``sink``; never raises for the receiver's sake."""
    started = time.perf_counter()

    def took() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    if isinstance(sink, ConsoleSink):
        write_alert(alert, console)
        return Outcome("sent", None, None, took())
    assert client is not None
    now = now or utcnow()
    try:
        body = encode(render_payload(alert, sink.type))
    except Exception as exc:  # a payload that cannot be made must not block the queue
        return Outcome("failed", None, f"cannot render: {type(exc).__name__}: {exc}", took())
    headers = _headers(sink, alert, body, now)
    url = httpx.URL(sink.url)
    try:
        async with asyncio.timeout(sink.timeout_total):
            addresses = await resolve_checked(
                url.host,
                url.port or (443 if url.scheme == "https" else 80),
                allow_private=sink.allow_private,
            )
            headers["host"] = url.netloc.decode("ascii")
            response, excerpt = await _post(client, sink, url, addresses, body, headers)
    except AddressRefused as exc:
        return Outcome("failed", None, str(exc), took())
    except TimeoutError:
        return Outcome("retry", None, f"no answer within {sink.timeout_total:g} s", took())
    except httpx.TimeoutException as exc:
        return Outcome("retry", None, f"timed out ({type(exc).__name__})", took())
    except (httpx.HTTPError, OSError) as exc:
        return Outcome("retry", None, f"{type(exc).__name__}: {exc}", took())
    code = response.status_code
    verdict = classify(code)
    error = None
    if verdict != "sent":
        reason = "redirect not followed" if 300 <= code < 400 else excerpt
        error = f"HTTP {code}" + (f": {reason}" if reason else "")
    reset = discord_reset_after(response.headers) if sink.type == "discord" else None
    retry_after = parse_retry_after(response.headers.get("retry-after"), utcnow())
    return Outcome(verdict, code, error, took(), retry_after, reset)


@dataclass(slots=True)
class _Lane:
    """One destination's worker state."""

    name: str
    sink: AnySink
    client: httpx.AsyncClient | None
    limiter: RateLimiter | None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    disabled: bool = False
    counts: DeliveryCounts = field(default_factory=DeliveryCounts)


class Dispatcher:
    """Delivers the outbox: one worker per sink until told to stop.

    ``clock`` gives the time stamped on attempts and used for due times and
    maximum ages; waiting itself is real time. ``client_factory`` builds a
    destination's httpx client (default: :func:`default_client`).
    """

    def __init__(
        self,
        store: OutboxMixin,
        sinks: Mapping[str, AnySink],
        *,
        settings: NotifyConfig | None = None,
        client_factory: ClientFactory | None = None,
        clock: Callable[[], datetime] = utcnow,
        grace_seconds: float = 10.0,
        console: TextIO | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.sinks = effective_sinks(sinks)
        self.settings = settings or NotifyConfig()
        self.clock = clock
        self.grace_seconds = grace_seconds
        self.counts = DeliveryCounts()
        self.sink_counts = {name: DeliveryCounts() for name in self.sinks}
        self._client_factory = client_factory
        self._console = console
        self._rng = rng or random.Random()
        self._redactor: Redactor = make_redactor(sink_secrets(self.sinks))
        self._lanes: dict[str, _Lane] = {}

    def wake(self) -> None:
        """New alerts were committed: let idle workers look now rather than at their next poll.

        Call it from the event loop's thread, after the commit.
        """
        for lane in self._lanes.values():
            lane.wake.set()

    def disabled_sinks(self) -> list[str]:
        return [name for name, lane in self._lanes.items() if lane.disabled]

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then give in-flight attempts ``grace_seconds``.

        An attempt cut off by the grace period stays pending and is sent
        again (same webhook-id) when the service next starts.
        """
        self._lanes = {name: self._lane(name, sink) for name, sink in self.sinks.items()}
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._load_sink_states()
            tasks = [
                asyncio.create_task(self._work(lane, stop), name=f"notify:{lane.name}")
                for lane in self._lanes.values()
            ]
            await stop.wait()
        finally:
            self.wake()
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=self.grace_seconds)
                for task in late:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                if late:
                    log.warning("notify_grace_expired", sinks=sorted(t.get_name() for t in late))
            for lane in self._lanes.values():
                if lane.client is not None:
                    await lane.client.aclose()

    def _lane(self, name: str, sink: AnySink) -> _Lane:
        if isinstance(sink, ConsoleSink):
            return _Lane(name, sink, None, None, counts=self.sink_counts[name])
        factory = self._client_factory or (lambda s: default_client(s, self.settings))
        limiter = RateLimiter(sink.rate_per_second, sink.burst)
        return _Lane(name, sink, factory(sink), limiter, counts=self.sink_counts[name])

    async def _load_sink_states(self) -> None:
        """Keep a 410'd sink off, unless its URL has changed since (then the fix is in).

        Also say when deliveries wait for a sink the config no longer has
        (renamed or removed): nothing will send them until it is back.
        """
        for name, counts in (await self.store.delivery_counts()).items():
            if name not in self.sinks and counts["pending"]:
                log.warning("deliveries_for_unknown_sink", sink=name, pending=counts["pending"])
        states = await self.store.sink_states()
        for name, lane in self._lanes.items():
            state = states.get(name)
            if state is None or not state.disabled:
                continue
            if state.url_sha256 != url_digest(lane.sink):
                await self.store.enable_sink(name)
                log.info("sink_enabled", sink=name, reason="its URL changed since it was disabled")
            else:
                lane.disabled = True
                log.error("sink_still_disabled", sink=name, reason=state.reason)

    async def _work(self, lane: _Lane, stop: asyncio.Event) -> None:
        while not stop.is_set():
            lane.wake.clear()
            try:
                pause = await self._step(lane, stop)
            except Exception:
                log.exception("notify_worker_error", sink=lane.name)
                pause = self.settings.poll_interval
            if pause > 0 and not stop.is_set():
                with suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await lane.wake.wait()

    async def _step(self, lane: _Lane, stop: asyncio.Event) -> float:
        """Work on the head of the lane's queue; return how long to pause before the next step."""
        poll = self.settings.poll_interval
        if lane.disabled:
            state = (await self.store.sink_states()).get(lane.name)
            lane.disabled = state is not None and state.disabled
            if lane.disabled:
                return poll
        head = await self.store.next_delivery(lane.name)
        if head is None:
            return poll
        delivery = head.delivery
        now = self.clock()
        if (now - delivery.queued_at).total_seconds() > lane.sink.max_age:
            reason = f"gave up after max_age ({lane.sink.max_age:g} s)"
            await self.store.expire_delivery(delivery.id, reason)
            self._count(lane, "dead")
            log.error(
                "alert_dead",
                sink=lane.name,
                alert_id=delivery.alert_id,
                attempts=delivery.attempts,
                error=reason,
                last_error=delivery.last_error,
            )
            return 0.0
        wait = (delivery.next_attempt_at - now).total_seconds()
        if lane.limiter is not None:
            wait = max(wait, lane.limiter.delay(time.monotonic()))
        if wait > 0:
            return min(wait, poll)
        if stop.is_set():
            return 0.0
        if lane.limiter is not None:
            lane.limiter.take(time.monotonic())
        outcome = await deliver_once(
            head.alert, lane.sink, lane.client, now=now, console=self._console
        )
        await self._settle(lane, head, outcome)
        return 0.0

    def _count(self, lane: _Lane, name: str) -> None:
        for counts in (self.counts, lane.counts):
            setattr(counts, name, getattr(counts, name) + 1)

    async def _settle(self, lane: _Lane, head: PendingDelivery, outcome: Outcome) -> None:
        """Commit an attempt's outcome and say what happened."""
        delivery = head.delivery
        error = self._redactor.text(outcome.error) if outcome.error else None
        attempt = Attempt(self.clock(), outcome.status_code, error, outcome.duration_ms)
        self._count(lane, "attempts")
        if outcome.reset_after is not None and lane.limiter is not None:
            lane.limiter.hold_until(time.monotonic() + outcome.reset_after)
        fields: dict[str, Any] = {
            "sink": lane.name,
            "alert_id": delivery.alert_id,
            "rule": head.alert.rule,
            "attempt": delivery.attempts + 1,
            "status_code": outcome.status_code,
            "duration_ms": outcome.duration_ms,
        }
        if outcome.verdict == "sent":
            await self.store.finish_attempt(delivery.id, attempt, "sent")
            self._count(lane, "sent")
            log.info("alert_sent", **fields)
        elif outcome.verdict == "failed":
            await self.store.finish_attempt(delivery.id, attempt, "failed")
            self._count(lane, "failed")
            log.error("alert_failed", error=error, **fields)
        elif outcome.verdict == "disable":
            await self.store.finish_attempt(delivery.id, attempt, "pending")
            reason = f"{error}: the webhook no longer exists"
            await self.store.disable_sink(lane.name, reason, url_digest(lane.sink))
            lane.disabled = True
            self._count(lane, "disabled")
            log.error(
                "sink_disabled",
                reason=reason,
                action="fix the sink's URL and restart, or run `wirewatch notify enable "
                f"{lane.name}`; its alerts wait until then",
                **fields,
            )
        elif delivery.attempts + 1 >= lane.sink.max_attempts:
            await self.store.finish_attempt(delivery.id, attempt, "dead")
            self._count(lane, "dead")
            log.error("alert_dead", error=error, reason="out of attempts", **fields)
        else:
            delay = _retry_delay(
                delivery.attempts + 1,
                outcome.retry_after,
                base=self.settings.backoff_base,
                cap=self.settings.backoff_cap,
                rng=self._rng,
            )
            due = attempt.at + timedelta(seconds=delay)
            await self.store.finish_attempt(delivery.id, attempt, "pending", next_attempt_at=due)
            self._count(lane, "retried")
            log.warning("alert_retry", error=error, retry_in=round(delay, 3), **fields)


async def send_once(
    alert: Alert,
    sink: AnySink,
    *,
    settings: NotifyConfig | None = None,
    console: TextIO | None = None,
) -> Outcome:
    """One attempt outside the outbox, for ``wirewatch notify test``."""
    if isinstance(sink, ConsoleSink):
        return await deliver_once(alert, sink, None, console=console)
    async with default_client(sink, settings or NotifyConfig()) as client:
        return await deliver_once(alert, sink, client)
