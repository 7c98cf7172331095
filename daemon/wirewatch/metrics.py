"""Prometheus metrics: what an operator graphs and alerts on.

Every metric lives in a registry owned by one ``Metrics`` object rather than
prometheus_client's global one, so a test (or a second service in the same
process) gets fresh counters instead of "duplicated timeseries" errors.

Labelled series that dashboards expect to exist from the start (each stage,
each reload result) are created up front: a counter that appears only on its
first increment breaks ``rate()`` and "absent()" alerts.

Process metrics come from a small collector of our own: prometheus_client's
reads the boot time from ``/proc/stat``, which the systemd unit hides
(``ProcSubset=pid``), and then reports nothing at all.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import __version__

__all__ = ["CONTENT_TYPE", "DELIVERY_OUTCOMES", "STAGES", "Metrics", "ProcessMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
STAGES = ("parse", "extract", "stories", "rules", "store")
DELIVERY_OUTCOMES = ("sent", "retry", "failed", "dead")
RELOAD_RESULTS = ("ok", "error")
# Per-file stage times run from sub-millisecond (a small plain-text parse) to
# seconds (a large HTML page through trafilatura, a commit under contention).
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """The service's metrics, registered in their own ``CollectorRegistry``.

    Update the attributes directly (``m.articles_ingested.inc()``,
    ``m.stage_seconds.labels(stage="parse").observe(dt)``, or
    ``with m.stage_seconds.labels(stage="parse").time(): ...``); the helper
    methods cover updates that touch several metrics at once.
    """

    def __init__(self, *, process: bool = True, proc: Path = Path("/proc")) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        p = "wirewatch_"

        self.articles_ingested = Counter(
            p + "articles_ingested", "Articles stored for the first time.", registry=r
        )
        self.articles_duplicate = Counter(
            p + "articles_duplicate",
            "Files whose bytes were already stored (same SHA-256).",
            registry=r,
        )
        self.files_quarantined = Counter(
            p + "files_quarantined",
            "Files moved to quarantine, by reason.",
            ["reason"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            p + "stage_seconds",
            "Time one file spends in one pipeline stage.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.inbox_queue_depth = Gauge(
            p + "inbox_queue_depth", "Complete files waiting for a worker.", registry=r
        )
        self.writer_backlog = Gauge(
            p + "writer_backlog", "Results waiting for the database writer.", registry=r
        )
        self.alerts_fired = Counter(
            p + "alerts_fired", "Alerts raised by rules.", ["rule", "type"], registry=r
        )
        self.deliveries = Counter(
            p + "deliveries",
            "Delivery attempts by sink and outcome (sent, retry, failed, dead).",
            ["sink", "outcome"],
            registry=r,
        )
        self.delivery_retries = Counter(
            p + "delivery_retries", "Deliveries scheduled for another try.", ["sink"], registry=r
        )
        self.alerts_dead = Gauge(
            p + "alerts_dead",
            "Alerts in the outbox that gave up on delivery and wait for a person.",
            registry=r,
        )
        self.config_reloads = Counter(
            p + "config_reloads",
            "Configuration reloads by result (ok, error).",
            ["result"],
            registry=r,
        )
        self.config_last_reload_success = Gauge(
            p + "config_last_reload_success",
            "1 if the last configuration reload succeeded, else 0.",
            registry=r,
        )
        self.config_last_reload_timestamp = Gauge(
            p + "config_last_reload_timestamp_seconds",
            "When the configuration was last loaded or reloaded (Unix time).",
            registry=r,
        )
        self.rescans = Counter(p + "rescans", "Full rescans of the inboxes.", registry=r)
        self.rescan_files_found = Counter(
            p + "rescan_files_found",
            "Files that rescans found which no event had announced.",
            registry=r,
        )
        self.up_since = Gauge(
            p + "up_since_timestamp_seconds", "When the service started (Unix time).", registry=r
        )
        self.build_info = Info(p + "build", "Version of wirewatch and of Python.", registry=r)

        for stage in STAGES:
            self.stage_seconds.labels(stage=stage)
        for result in RELOAD_RESULTS:
            self.config_reloads.labels(result=result)
        now = time.time()
        self.up_since.set(now)
        # The config loaded at start counts as the first successful load.
        self.config_last_reload_success.set(1)
        self.config_last_reload_timestamp.set(now)
        self.build_info.info({"version": __version__, "python": platform.python_version()})
        if process:
            r.register(ProcessMetrics(proc))

    def record_reload(self, ok: bool, when: float | None = None) -> None:
        """Count a config reload and remember its result and time."""
        self.config_reloads.labels(result="ok" if ok else "error").inc()
        self.config_last_reload_success.set(1 if ok else 0)
        self.config_last_reload_timestamp.set(time.time() if when is None else when)

    def record_rescan(self, found: int) -> None:
        """Count one rescan and the files it found that events had missed."""
        self.rescans.inc()
        self.rescan_files_found.inc(found)

    def record_delivery(self, sink: str, outcome: str) -> None:
        """Count one delivery attempt; ``outcome`` is one of DELIVERY_OUTCOMES."""
        if outcome not in DELIVERY_OUTCOMES:
            raise ValueError(f"unknown delivery outcome {outcome!r}")
        self.deliveries.labels(sink=sink, outcome=outcome).inc()
        if outcome == "retry":
            self.delivery_retries.labels(sink=sink).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


class ProcessMetrics(Collector):
    """``process_*`` metrics from ``/proc/self`` alone.

    Same names as prometheus_client's ProcessCollector, so dashboards work
    unchanged, but the boot time comes from ``CLOCK_BOOTTIME`` instead of
    ``/proc/stat``, which a ``ProcSubset=pid`` sandbox does not show.
    """

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self._self = proc / "self"
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._pagesize = os.sysconf("SC_PAGE_SIZE")

    def collect(self) -> Iterable[Metric]:
        try:
            raw = (self._self / "stat").read_bytes()
        except OSError:
            return []
        # Fields after the ")" that closes the command name; the name may
        # itself contain spaces and parentheses.
        parts = raw.rsplit(b")", 1)[-1].split()
        utime, stime = int(parts[11]), int(parts[12])
        started = int(parts[19]) / self._ticks
        vsize, rss_pages = int(parts[20]), int(parts[21])
        boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        out: list[Metric] = [
            CounterMetricFamily(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                value=(utime + stime) / self._ticks,
            ),
            GaugeMetricFamily(
                "process_virtual_memory_bytes", "Virtual memory size in bytes.", value=vsize
            ),
            GaugeMetricFamily(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                value=rss_pages * self._pagesize,
            ),
            GaugeMetricFamily(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                value=boot + started,
            ),
        ]
        try:
            fds = len(os.listdir(self._self / "fd"))
        except OSError:
            pass
        else:
            out.append(
                GaugeMetricFamily("process_open_fds", "Number of open file descriptors.", value=fds)
            )
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY:
            out.append(
                GaugeMetricFamily(
                    "process_max_fds", "Maximum number of open file descriptors.", value=soft
                )
            )
        return out
