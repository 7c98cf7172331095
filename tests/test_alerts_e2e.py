"""End to end: the seeds' story through the real daemon to real receivers on loopback.

The example rules in config/rules, the seeds dropped in the order 004, 001,
003, 002, 000, and four destinations (Slack, Discord, Teams, a signed
generic webhook) served by a real HTTP server the test runs.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Daemon, db_scalar, drop, seed_files, wait_for, write_config
from test_notify_support import Receiver, verify_standard_webhook

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
SEED = {p.name[:3]: p for p in seed_files()}
ORDER = ("004", "001", "003", "002", "000")
SECRET = "whsec_" + base64.b64encode(b"wirewatch-e2e-secret-key-32bytes").decode()
EXPECTED = sorted(
    [
        ("figure", "russian-troops-at-ukraine-border", "100,000"),
        ("figure", "killed-in-eastern-ukraine", "13,000"),
        ("new_term", "escalation-watchlist", "invasion"),
        ("new_term", "escalation-watchlist", "sanctions"),
        ("new_term", "escalation-watchlist", "Nord Stream 2"),
        ("new_term", "leak-outlets", "El Pais"),
        ("new_term", "escalation-watchlist", "Article 5"),
    ]
)
SINKS = ("slack", "discord", "teams", "hook")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def alerts(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT payload FROM alerts ORDER BY rowid").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
    return [json.loads(r[0]) for r in rows]


def summary(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((a["rule_type"], a["rule"], a["new_value"] or "") for a in items)


def start_daemon(root: Path, receiver: Receiver | None) -> Daemon:
    sinks: dict[str, Any] = {}
    if receiver is not None:
        common = {"allow_private": True, "rate_per_second": 50.0, "burst": 10}
        sinks = {
            "slack": {"type": "slack", "url": receiver.url("/slack"), **common},
            "discord": {"type": "discord", "url": receiver.url("/discord"), **common},
            "teams": {"type": "teams", "url": receiver.url("/teams"), **common},
            "hook": {
                "type": "webhook",
                "url": receiver.url("/hook"),
                "secret": SECRET,
                "headers": {"X-Team": "desk"},
                **common,
            },
        }
    rules = {"dir": str(REPO / "config" / "rules")}
    if sinks:
        rules["default_destinations"] = list(SINKS)  # type: ignore[assignment]
    config = write_config(root, rules=rules, sinks=sinks, notify={"backoff_base": 0.2})
    return Daemon(root, config).start()


def drop_in_order(d: Daemon, prefix: str = "") -> None:
    for n, key in enumerate(ORDER, start=1):
        drop(SEED[key], d.inbox, prefix + SEED[key].name)
        wait_for(
            lambda n=n: db_scalar(d.db, "SELECT count(*) FROM sightings") >= n + d.sightings_before,
            what=f"seed {key}",
        )


def test_seed_story_reaches_every_destination_exactly_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    d = start_daemon(tmp_path, receiver)
    try:
        d.sightings_before = 0
        drop_in_order(d)
        assert summary(alerts(d.db)) == EXPECTED
        wait_for(lambda: all(len(receiver.answered(f"/{s}")) == 7 for s in SINKS), what="7 each")

        # the generic webhook: versioned payload, Standard Webhooks signature, custom header
        hook = receiver.answered("/hook")
        ids = [verify_standard_webhook(SECRET, r.headers, r.body) for r in hook]
        assert sorted(ids) == sorted(a["id"] for a in alerts(d.db))
        assert all(r.headers["x-team"] == "desk" for r in hook)
        payloads = [r.json() for r in hook]
        border = next(p for p in payloads if p["rule"]["name"].startswith("russian-troops"))
        assert border["version"] == "1"
        assert border["change"]["new_value"] == "100,000"
        assert "AFP" in border["sources"]
        # each chat gets its own shape
        assert all("blocks" in r.json() and r.json()["text"] for r in receiver.answered("/slack"))
        assert all(r.json()["embeds"] for r in receiver.answered("/discord"))
        teams = [r.json() for r in receiver.answered("/teams")]
        assert all(
            t["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
            for t in teams
        )

        # the same seeds again, under other names: stored as sightings, no alert
        d.sightings_before = 5
        drop_in_order(d, prefix="again-")
        assert len(alerts(d.db)) == 7

        # the border figure edited to 130,000: one alert "100,000 → 130,000" naming the source
        text = SEED["004"].read_text(encoding="utf-8")
        assert "more than 100,000 combat troops" in text
        edited = tmp_path / "edited.txt"
        edited.write_text(text.replace("100,000 combat", "130,000 combat"), encoding="utf-8")
        drop(edited, d.inbox, "004-updated.txt")
        wait_for(lambda: len(alerts(d.db)) == 8, what="the 130,000 alert")
        new = alerts(d.db)[-1]
        assert (new["rule"], new["old_value"], new["new_value"]) == (
            "russian-troops-at-ukraine-border",
            "100,000",
            "130,000",
        )
        assert "100,000 → 130,000" in new["title"]
        assert "AFP" in new["sources"]

        # back to 100,000 (new bytes, same figure): stored, no alert
        edited.write_text(text + "\n(updated)\n", encoding="utf-8")
        drop(edited, d.inbox, "004-reverted.txt")
        wait_for(lambda: d.articles() == 7, what="the reverted copy stored")
        assert len(alerts(d.db)) == 8
        wait_for(lambda: all(len(receiver.answered(f"/{s}")) == 8 for s in SINKS), what="8 each")
        assert d.stop() == 0
    finally:
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait()
    log = d.log()
    assert SECRET.split("_", 1)[1] not in log
    assert receiver.url("/hook") not in log


def test_sigkill_mid_stream_refires_nothing_and_misses_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    d = start_daemon(tmp_path, receiver)
    try:
        for n, key in enumerate(ORDER, start=1):
            drop(SEED[key], d.inbox)
            wait_for(lambda n=n: d.articles() >= n, what=f"seed {key}")
            if key in ("001", "002"):
                d.kill()
                d.start()
        assert summary(alerts(d.db)) == EXPECTED
        wait_for(lambda: len({r.headers["webhook-id"] for r in receiver.answered("/hook")}) == 7)
        # at least once: a resend after a kill carries the same webhook-id
        hook = receiver.answered("/hook")
        by_id: dict[str, set[bytes]] = {}
        for r in hook:
            by_id.setdefault(r.headers["webhook-id"], set()).add(r.json()["id"].encode())
        assert all(len(v) == 1 for v in by_id.values())
        assert d.stop() == 0
    finally:
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait()


RULE = """
[[rules]]
name = "pipeline-watch"
type = "term"
terms = ["pipeline"]
"""


def test_a_broken_rules_edit_is_refused_and_the_old_rules_keep_firing(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "watch.toml").write_text(RULE, encoding="utf-8")
    d = Daemon(tmp_path, write_config(tmp_path, rules={"dir": str(rules)})).start()
    try:
        broken = [
            ("syntax", RULE + "\n[[rules]\n", "watch.toml"),
            (
                "unknown key",
                RULE.replace('type = "term"', 'type = "term"\ncolour = "red"'),
                "colour",
            ),
            ("bad regex", RULE + 'sentence_regex = "(unclosed"\n', "sentence_regex"),
            ("destination", RULE + 'destinations = ["pager"]\n', "pager"),
        ]
        for n, (what, text, named) in enumerate(broken, start=1):
            (rules / "watch.toml").write_text(text, encoding="utf-8")
            wait_for(lambda n=n: d.log().count('"event": "rules_reload_failed"') >= n, what=what)
            last = d.log().strip().splitlines()
            failure = next(line for line in reversed(last) if "rules_reload_failed" in line)
            assert "watch.toml" in failure, what
            assert named in failure, what
            if what != "syntax":
                assert "pipeline-watch" in failure, what
        # the old rule still fires
        drop(SEED["001"], d.inbox)  # mentions the Nord Stream 2 pipeline
        wait_for(lambda: len(alerts(d.db)) == 1, what="the old rule to fire")
        assert alerts(d.db)[0]["rule"] == "pipeline-watch"
        # the fix is live within 2 seconds
        fixed = RULE.replace('["pipeline"]', '["pipeline", "Belarus"]')
        (rules / "watch.toml").write_text(fixed, encoding="utf-8")
        wait_for(lambda: '"event": "rules_reloaded"' in d.log(), 2.0, "the fix to load")
        assert d.stop() == 0
    finally:
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait()


@pytest.mark.parametrize("command", ["check", "run"])
def test_invalid_rules_are_refused_at_start_with_the_reason(tmp_path: Path, command: str) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.toml").write_text(RULE + "colour = 1\n", encoding="utf-8")
    config = write_config(tmp_path, rules={"dir": str(rules)})
    out = subprocess.run(
        [sys.executable, "-m", "wirewatch", "--config", str(config), command],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert "bad.toml" in out.stderr
    assert "pipeline-watch" in out.stderr
    assert "colour" in out.stderr
