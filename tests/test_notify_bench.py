"""The notify benchmark runs and reports what it promises (no timing is asserted)."""

from __future__ import annotations

from bench.notify import run


def test_the_latency_benchmark_reports_percentiles() -> None:
    result = run(alerts=20, polled=0, burst=10)
    assert result["alerts"] == 20 and result["burst_alerts"] == 10
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["burst_alerts_per_second"] > 0
