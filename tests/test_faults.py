"""The fault scenarios of ``make faults``, at a size that fits ``make test``."""

from __future__ import annotations

import pytest

from bench.faults import BROKEN_EDITS, bad_rules, flood, kill_loop, malformed

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


def test_sigkills_during_backfill_and_delivery_lose_nothing_and_resend_by_id() -> None:
    """Five SIGKILLs, 300 articles, a flaky receiver: every article and alert exactly once.

    The receiver may see an alert twice, but only under the same
    ``webhook-id`` and only where at-least-once allows it: after a 2xx that
    came past the sink's timeout, or across a kill.
    """
    result = kill_loop(kills=5, articles=300)
    assert result["crashes"] == 0
    assert result["settled"], "inbox and outbox must drain after the last restart"
    assert result["kills"] == 5 and result["restarts"] == 5
    assert result["kills_by_phase"].get("backfill", 0) >= 1, "a kill inside the backfill"
    assert result["stored"] == result["stored_distinct"] == 300
    assert result["stored_not_generated"] == 0
    assert result["quarantined"] == 0 and result["left_in_inbox"] == 0
    assert result["alerts"] == result["alerts_expected"] > 0
    assert result["alerts_missed"] == result["alerts_unexpected"] == result["alerts_refired"] == 0
    assert result["deliveries_by_status"] == {"sent": result["alerts"]}
    assert result["undelivered"] == result["unknown_ids"] == 0
    assert result["fingerprints_with_two_ids"] == 0
    assert result["webhook_id_body_mismatches"] == result["bad_signatures"] == 0
    assert result["resends_unexplained"] == result["sent_twice_by_daemon"] == 0
    assert result["answers_drawn"]["500"] and result["answers_drawn"]["429"]
    assert result["orphan_workers"] == 0
    assert result["exit_code"] == 0
    assert result["ok"]


def test_broken_rules_edits_are_refused_and_the_old_rule_fires_for_every_article() -> None:
    """Every kind of broken edit once, with valid restores between some of them."""
    result = bad_rules(edits=len(BROKEN_EDITS))
    assert result["accepted_broken"] == []
    assert result["refused"] == result["edits"] == len(BROKEN_EDITS)
    assert result["refusals_not_naming_file"] == []
    assert result["restores"] >= 1 and result["restore_failures"] == 0
    assert result["articles_during_edits"] > result["edits"]
    assert result["alerts_before_edits"] == result["articles_before_edits"] >= 10
    assert result["alerts_during_edits"] == result["articles_during_edits"]
    assert result["alerts"] == result["articles"]
    assert not result["any_alert_missed"]
    assert result["alerts_duplicated"] == result["markers_late"] == 0
    assert result["exit_code"] == 0
    assert result["ok"]
