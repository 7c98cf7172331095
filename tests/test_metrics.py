"""The metrics as Prometheus scrapes them: rendered text, parsed back."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from wirewatch import __version__
from wirewatch.metrics import STAGES, Metrics, ProcessMetrics


def samples(m: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(m.render().decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(m: Metrics, name: str, **labels: str) -> float:
    return samples(m)[(name, frozenset(labels.items()))]


def test_every_name_is_prefixed_and_fresh_registries_are_independent() -> None:
    a, b = Metrics(), Metrics()
    a.articles_ingested.inc(3)
    assert value(a, "wirewatch_articles_ingested_total") == 3
    assert value(b, "wirewatch_articles_ingested_total") == 0
    names = {name for name, _ in samples(a)}
    assert names
    assert all(n.startswith(("wirewatch_", "process_")) for n in names), names


def test_counters_and_gauges_after_updates() -> None:
    m = Metrics()
    m.articles_ingested.inc()
    m.articles_duplicate.inc(2)
    m.files_quarantined.labels(reason="too_large").inc()
    m.files_quarantined.labels(reason="not_text").inc(4)
    m.inbox_queue_depth.set(17)
    m.writer_backlog.set(5)
    m.alerts_fired.labels(rule="border-troops", type="change").inc()
    m.alerts_dead.set(2)
    assert value(m, "wirewatch_articles_ingested_total") == 1
    assert value(m, "wirewatch_articles_duplicate_total") == 2
    assert value(m, "wirewatch_files_quarantined_total", reason="too_large") == 1
    assert value(m, "wirewatch_files_quarantined_total", reason="not_text") == 4
    assert value(m, "wirewatch_inbox_queue_depth") == 17
    assert value(m, "wirewatch_writer_backlog") == 5
    assert value(m, "wirewatch_alerts_fired_total", rule="border-troops", type="change") == 1
    assert value(m, "wirewatch_alerts_dead") == 2


def test_stage_histogram_has_every_stage_from_the_start() -> None:
    m = Metrics()
    for stage in STAGES:
        assert value(m, "wirewatch_stage_seconds_count", stage=stage) == 0
    m.stage_seconds.labels(stage="parse").observe(0.003)
    m.stage_seconds.labels(stage="parse").observe(0.2)
    assert value(m, "wirewatch_stage_seconds_count", stage="parse") == 2
    assert value(m, "wirewatch_stage_seconds_sum", stage="parse") == pytest.approx(0.203)
    assert value(m, "wirewatch_stage_seconds_bucket", stage="parse", le="0.005") == 1
    assert value(m, "wirewatch_stage_seconds_bucket", stage="parse", le="+Inf") == 2


def test_deliveries_and_retries() -> None:
    m = Metrics()
    m.record_delivery("slack-desk", "retry")
    m.record_delivery("slack-desk", "retry")
    m.record_delivery("slack-desk", "sent")
    m.record_delivery("teams", "dead")
    assert value(m, "wirewatch_deliveries_total", sink="slack-desk", outcome="retry") == 2
    assert value(m, "wirewatch_deliveries_total", sink="slack-desk", outcome="sent") == 1
    assert value(m, "wirewatch_deliveries_total", sink="teams", outcome="dead") == 1
    assert value(m, "wirewatch_delivery_retries_total", sink="slack-desk") == 2
    with pytest.raises(ValueError, match="unknown delivery outcome"):
        m.record_delivery("teams", "lost")


def test_reloads_rescans_and_start_time() -> None:
    before = time.time()
    m = Metrics()
    assert before <= value(m, "wirewatch_up_since_timestamp_seconds") <= time.time()
    assert value(m, "wirewatch_config_reloads_total", result="ok") == 0
    assert value(m, "wirewatch_config_reloads_total", result="error") == 0
    assert value(m, "wirewatch_config_last_reload_success") == 1

    m.record_reload(False, when=1_700_000_000.0)
    assert value(m, "wirewatch_config_reloads_total", result="error") == 1
    assert value(m, "wirewatch_config_last_reload_success") == 0
    assert value(m, "wirewatch_config_last_reload_timestamp_seconds") == 1_700_000_000.0
    m.record_reload(True)
    assert value(m, "wirewatch_config_reloads_total", result="ok") == 1
    assert value(m, "wirewatch_config_last_reload_success") == 1

    m.record_rescan(0)
    m.record_rescan(3)
    assert value(m, "wirewatch_rescans_total") == 2
    assert value(m, "wirewatch_rescan_files_found_total") == 3


def test_build_info() -> None:
    s = samples(Metrics(process=False))
    (labels,) = [dict(k[1]) for k in s if k[0] == "wirewatch_build_info"]
    assert labels["version"] == __version__
    assert labels["python"].startswith("3.")


def test_process_metrics_without_proc_stat(tmp_path: Path) -> None:
    """Under ProcSubset=pid only /proc/<pid> exists; memory and CPU must still show."""
    fake = tmp_path / "proc"
    (fake / "self" / "fd").mkdir(parents=True)
    (fake / "self" / "stat").write_bytes(Path("/proc/self/stat").read_bytes())
    for n in range(3):
        (fake / "self" / "fd" / str(n)).touch()
    assert not (fake / "stat").exists()

    m = Metrics(proc=fake)
    assert value(m, "process_resident_memory_bytes") > 0
    assert value(m, "process_cpu_seconds_total") > 0
    assert value(m, "process_open_fds") == 3
    start = value(m, "process_start_time_seconds")
    assert time.time() - 24 * 3600 < start <= time.time() + 1


def test_process_metrics_missing_proc_is_silent(tmp_path: Path) -> None:
    assert list(ProcessMetrics(tmp_path).collect()) == []
    assert os.path.exists("/proc/self/stat")
    assert value(Metrics(), "process_resident_memory_bytes") > 0
