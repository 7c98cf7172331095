"""``wirewatch alerts …`` and ``wirewatch notify …``: the outbox as an operator sees it.

``alerts list [--status S] [--sink NAME]``, ``alerts show ID`` (every
attempt), ``alerts retry ID | --dead``, ``notify test SINK`` (one sample
message straight to a destination, to check its URL) and ``notify enable
SINK`` (after a 410 switched it off). An alert ID may be shortened to any
unambiguous prefix. Exit codes as for the other commands: 0 done, 1 a
problem the user can fix.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..config import Config, load_config
from ..display import shorten
from ..models import Alert, ArticleRef
from ..store import with_existing_store
from ..store.outbox import DELIVERY_STATUSES
from .config import AnySink, NotifyConfig, effective_sinks, sink_secrets
from .redact import make_redactor
from .templates import render_message

if TYPE_CHECKING:
    from ..store import Store


def _config(args: argparse.Namespace) -> Config:
    cfg, _ = load_config(getattr(args, "config", None))
    return cfg


def _sinks(cfg: Config) -> dict[str, AnySink]:
    return effective_sinks(getattr(cfg, "sinks", None))


def _settings(cfg: Config) -> NotifyConfig:
    settings = getattr(cfg, "notify", None)
    return settings if isinstance(settings, NotifyConfig) else NotifyConfig()


def _when(dt: datetime | None) -> str:
    return "-" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- alerts -----------------------------------------------------------------------
def cmd_alerts_list(args: argparse.Namespace) -> int:
    rows = with_existing_store(
        _config(args), lambda s: s.list_deliveries(args.status, args.sink, args.limit)
    )
    if args.json:
        out = [
            {
                "alert_id": r.delivery.alert_id,
                "sink": r.delivery.sink,
                "status": r.delivery.status,
                "attempts": r.delivery.attempts,
                "updated_at": r.delivery.updated_at.isoformat(),
                "rule": r.rule,
                "title": r.title,
                "last_error": r.delivery.last_error,
            }
            for r in rows
        ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no alerts")
        return 0
    width = max(len("ALERT"), *(len(r.delivery.alert_id) for r in rows))
    print(f"{'ALERT':<{width}}  {'SINK':<12} {'STATUS':<8} {'TRIES':>5}  {'UPDATED':<19}  TITLE")
    for r in rows:
        d = r.delivery
        line = (
            f"{d.alert_id:<{width}}  {shorten(d.sink, 12):<12} {d.status:<8} "
            f"{d.attempts:>5}  {_when(d.updated_at):<19}  {shorten(r.title, 60)}"
        )
        if d.last_error and d.status != "sent":
            line += f"\n{'':<{width}}  last error: {shorten(d.last_error, 100)}"
        print(line)
    return 0


def cmd_alerts_show(args: argparse.Namespace) -> int:
    async def work(store: Store) -> Any:
        alert_id = await store.resolve_alert_id(args.id)
        return None if alert_id is None else await store.alert_detail(alert_id)

    detail = with_existing_store(_config(args), work)
    if detail is None:
        print(f"no alert {args.id!r} (or the prefix is ambiguous)", file=sys.stderr)
        return 1
    a: Alert = detail.alert
    print(f"alert     {a.id}")
    print(f"rule      {a.rule} ({a.rule_type}, {a.severity})")
    print(f"created   {_when(a.created_at)}")
    print(f"title     {a.title}")
    if a.old_value or a.new_value:
        print(f"change    {a.old_value or '-'} → {a.new_value or '-'}")
    if a.sources:
        print(f"sources   {', '.join(a.sources)}")
    for ref in a.articles:
        print(f"article   {ref.source}: {ref.title} {ref.url or ref.path}")
    for d in detail.deliveries:
        print(f"\n{d.sink}: {d.status}, {d.attempts} attempt(s)")
        if d.status == "pending":
            print(f"  next attempt  {_when(d.next_attempt_at)}")
        if d.sent_at:
            print(f"  sent          {_when(d.sent_at)}")
        if d.last_error:
            print(f"  last error    {d.last_error}")
        for t in detail.attempts.get(d.id, []):
            code = t.status_code if t.status_code is not None else "-"
            error = f"  {t.error}" if t.error else ""
            print(f"  {_when(t.at)}  {code!s:>4}  {t.duration_ms:>8.1f} ms{error}")
    return 0


def cmd_alerts_retry(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int | None:
        if args.dead:
            return await store.retry_dead()
        alert_id = await store.resolve_alert_id(args.id)
        return None if alert_id is None else await store.retry_alert(alert_id)

    count = with_existing_store(_config(args), work)
    if count is None:
        print(f"no alert {args.id!r} (or the prefix is ambiguous)", file=sys.stderr)
        return 1
    print(f"queued {count} deliver{'y' if count == 1 else 'ies'} again")
    return 0


# -- notify -----------------------------------------------------------------------
def sample_alert(now: datetime | None = None) -> Alert:
    """A realistic figure alert, marked as a test, for checking a destination."""
    now = now or datetime.now(UTC)
    fields = {
        "rule": "wirewatch-test",
        "rule_type": "figure",
        "severity": "info",
        "key": "troops on the border",
        "old_value": "100,000",
        "new_value": "130,000",
        "sentence": "Russia has massed more than 130,000 troops near Ukraine's border.",
        "story_title": "Russia's build-up on Ukraine's border",
        "sources": ["Example Wire", "Example Times"],
    }
    title, body = render_message(fields)
    alert_id = f"test-{uuid.uuid4().hex}"
    return Alert(
        id=alert_id,
        fingerprint=alert_id,
        rule="wirewatch-test",
        rule_type="figure",
        severity="info",
        title=f"[test] {title}",
        body=body + "\n\nThis is a test message from `wirewatch notify test`.",
        created_at=now,
        key="troops on the border",
        old_value="100,000",
        new_value="130,000",
        sentence=str(fields["sentence"]),
        story_title=str(fields["story_title"]),
        sources=("Example Wire", "Example Times"),
        articles=(
            ArticleRef(
                id=0,
                title="Troops gather on the border",
                source="Example Wire",
                path="",
                url="https://example.com/news/troops",
                published=now,
            ),
        ),
    )


def cmd_notify_test(args: argparse.Namespace) -> int:
    from .deliver import send_once

    cfg = _config(args)
    sinks = _sinks(cfg)
    sink = sinks.get(args.sink)
    if sink is None:
        names = ", ".join(sorted(sinks)) or "none"
        print(f"no sink {args.sink!r} (configured: {names})", file=sys.stderr)
        return 1
    outcome = asyncio.run(send_once(sample_alert(), sink, settings=_settings(cfg)))
    redact = make_redactor(sink_secrets(sinks)).text
    took = f"{outcome.duration_ms:.0f} ms"
    if outcome.verdict == "sent":
        answer = f"HTTP {outcome.status_code}" if outcome.status_code else "written"
        print(f"ok: {args.sink} ({sink.type}) {answer} in {took}")
        return 0
    print(f"failed: {args.sink} ({sink.type}): {redact(outcome.error or '')} ({took})")
    return 1


def cmd_notify_enable(args: argparse.Namespace) -> int:
    was_off = with_existing_store(_config(args), lambda s: s.enable_sink(args.sink))
    print(f"{args.sink}: {'enabled' if was_off else 'was not disabled'}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``alerts`` and ``notify`` on the main CLI's sub-command parsers."""
    alerts = subparsers.add_parser("alerts", help="alerts in the outbox and their deliveries")
    sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    s = sub.add_parser("list", help="deliveries, newest first")
    s.add_argument("--status", choices=DELIVERY_STATUSES)
    s.add_argument("--sink", help="only this destination")
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_alerts_list)

    s = sub.add_parser("show", help="one alert, its deliveries and every attempt")
    s.add_argument("id", help="alert id, or an unambiguous prefix of it")
    s.set_defaults(func=cmd_alerts_show)

    s = sub.add_parser("retry", help="queue an alert's unsent deliveries (or all dead ones) again")
    which = s.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="alert id, or an unambiguous prefix of it")
    which.add_argument("--dead", action="store_true", help="every dead delivery")
    s.set_defaults(func=cmd_alerts_retry)

    notify = subparsers.add_parser("notify", help="check and manage destinations")
    sub = notify.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    s = sub.add_parser("test", help="send a sample message to a sink, to check its URL")
    s.add_argument("sink")
    s.set_defaults(func=cmd_notify_test)
    s = sub.add_parser("enable", help="switch a sink back on after a 410 Gone disabled it")
    s.add_argument("sink")
    s.set_defaults(func=cmd_notify_enable)
