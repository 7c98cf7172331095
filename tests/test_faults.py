"""The fault scenarios of ``make faults``, at a size that fits ``make test``."""

from __future__ import annotations

import pytest

from bench.faults import flood, malformed

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_flood_beyond_the_queues_loses_nothing() -> None:
    result = flood(files=3000, queue_size=200)
    assert result["stored"] == 3000
    assert result["left_in_inbox"] == 0
    assert result["quarantined"] == 0
    assert result["rescans_logged"] > 0, "a queue of 200 must have overflowed into rescans"
    assert result["exit_code"] == 0


def test_malformed_input_is_stored_or_quarantined_and_the_daemon_lives() -> None:
    result = malformed(count=150, big_mib=12)
    assert result["daemon_alive_throughout"]
    assert result["stored_or_seen"] + result["quarantined"] == result["files"]
    assert result["reason_files"] == result["quarantined"]
    assert result["by_reason"].get("oversized") == 1
    assert result["exit_code"] == 0
