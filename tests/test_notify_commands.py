"""``wirewatch alerts …`` and ``wirewatch notify …`` against a real database and receiver."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.harness import write_config
from test_notify_support import SPEC_SECRET, Receiver, Reply, make_alert, verify_standard_webhook
from test_notify_support import receiver as receiver
from wirewatch.config import Config
from wirewatch.notify.commands import add_commands, sample_alert
from wirewatch.notify.config import WebhookSink
from wirewatch.notify.deliver import send_once
from wirewatch.store import Attempt, Store


def cli(config: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="wirewatch")
    parser.add_argument("--config", type=Path)
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["--config", str(config), *argv])
    code: int = args.func(args)
    return code


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    """A config and a database with one dead and one sent delivery."""
    config = write_config(tmp_path)

    async def fill() -> None:
        store = await Store.open(tmp_path / "var" / "wirewatch.db")
        try:
            for n in (1, 2):
                await store.add_alert(make_alert(n, id=f"01HX{n}AAAA"), ["hook"])
            first = await store.next_delivery("hook")
            assert first is not None
            for _ in range(3):
                failure = Attempt(datetime.now(UTC), 503, "HTTP 503: down", 4.2)
                await store.finish_attempt(first.delivery.id, failure, "pending")
            await store.finish_attempt(first.delivery.id, failure, "dead")
            second = await store.next_delivery("hook")
            assert second is not None
            ok = Attempt(datetime.now(UTC), 200, None, 3.1)
            await store.finish_attempt(second.delivery.id, ok, "sent")
        finally:
            await store.close()

    asyncio.run(fill())
    return config


def test_alerts_list(outbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(outbox, "alerts", "list") == 0
    out = capsys.readouterr().out
    assert "01HX1AAAA" in out and "dead" in out and "last error: HTTP 503: down" in out
    assert "01HX2AAAA" in out and "sent" in out
    assert cli(outbox, "alerts", "list", "--status", "sent", "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["alert_id"] == "01HX2AAAA" and row["attempts"] == 1 and row["sink"] == "hook"


def test_alerts_show_prints_every_attempt(outbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(outbox, "alerts", "show", "01HX1") == 0
    out = capsys.readouterr().out
    assert "alert     01HX1AAAA" in out and "change    100,000 → 101,000" in out
    assert "hook: dead, 4 attempt(s)" in out
    assert out.count("503       4.2 ms  HTTP 503: down") == 4
    assert cli(outbox, "alerts", "show", "01HX") == 1, "ambiguous"
    assert "ambiguous" in capsys.readouterr().err


def test_alerts_retry(outbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(outbox, "alerts", "retry", "--dead") == 0
    assert capsys.readouterr().out.strip() == "queued 1 delivery again"
    assert cli(outbox, "alerts", "list", "--status", "pending", "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["alert_id"] == "01HX1AAAA" and row["attempts"] == 0
    assert cli(outbox, "alerts", "retry", "01HX2AAAA") == 0
    assert capsys.readouterr().out.strip() == "queued 0 deliveries again", "sent stays sent"
    assert cli(outbox, "alerts", "retry", "nope") == 1
    with pytest.raises(SystemExit):
        cli(outbox, "alerts", "retry")


def test_notify_enable(outbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(outbox, "notify", "enable", "hook") == 0
    assert capsys.readouterr().out.strip() == "hook: was not disabled"


def test_commands_need_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wirewatch.config import ConfigError

    with pytest.raises(ConfigError, match="no database yet"):
        cli(write_config(tmp_path), "alerts", "list")


def test_notify_test_on_the_default_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(write_config(tmp_path), "notify", "test", "console") == 0
    out = capsys.readouterr().out
    assert "ALERT [info] wirewatch-test: [test] troops on the border: 100,000 → 130,000" in out
    assert "ok: console (console) written" in out
    assert cli(write_config(tmp_path), "notify", "test", "slack") == 1
    assert "no sink 'slack' (configured: console)" in capsys.readouterr().err


async def test_the_sample_message_reaches_a_real_receiver(receiver: Receiver) -> None:
    sink = WebhookSink.model_validate(
        {"type": "webhook", "url": receiver.url("/t"), "secret": SPEC_SECRET, "allow_private": True}
    )
    outcome = await send_once(sample_alert(), sink)
    assert (outcome.verdict, outcome.status_code) == ("sent", 200)
    (req,) = receiver.at("/t")
    assert verify_standard_webhook(SPEC_SECRET, req.headers, req.body).startswith("test-")
    assert req.json()["title"].startswith("[test] troops on the border")
    receiver.on("/t", lambda r: Reply(404, body=b"no_service"))
    outcome = await send_once(sample_alert(), sink)
    assert (outcome.verdict, outcome.error) == ("failed", "HTTP 404: no_service")


@pytest.mark.skipif("sinks" not in Config.model_fields, reason="the main config has no sinks yet")
def test_notify_test_from_the_config(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = {"type": "webhook", "url": receiver.url("/cfg"), "allow_private": True}
    config = write_config(tmp_path, **{"sinks.hook": sink})
    assert cli(config, "notify", "test", "hook") == 0
    assert capsys.readouterr().out.startswith("ok: hook (webhook) HTTP 200 in ")
    receiver.on("/cfg", lambda r: Reply(500, body=receiver.url("/cfg").encode()))
    assert cli(config, "notify", "test", "hook") == 1
    out = capsys.readouterr().out
    assert out.startswith("failed: hook (webhook): HTTP 500: [REDACTED]")
    assert receiver.url("/cfg") not in out
