"""Disk trouble under a real daemon: a real full file system, a real read-only mount."""

from __future__ import annotations

import pytest

from bench.disk import disk_full

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_full_disk_pauses_intake_and_loses_nothing() -> None:
    result = disk_full(before=30, during=50, size_mib=32)
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert result["daemon_alive_while_full"]
    assert result["health_status_while_full"] == 503
    assert "SQLITE_FULL" in result["health_store_check"]
    # what did not commit before the disk filled waits in the inbox, every file
    assert result["left_in_inbox_while_full"] > 0
    assert result["stored_while_full"] + result["left_in_inbox_while_full"] == 80
    assert result["ok"]
    assert result["stored"] == result["distinct_sha256"] == result["articles"] == 90
    assert result["quarantined"] == 0
    assert result["write_failures_logged"] == 1 and result["recoveries_logged"] == 1
    assert result["exit_code"] == 0 and result["last_exit_code"] == 0
    # read-only at start: refused with the database named, temporary-failure code
    assert result["read_only_start_exit_code"] == 75
    assert "wirewatch.db" in result["read_only_start_message"]
