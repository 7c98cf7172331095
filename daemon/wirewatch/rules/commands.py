"""``wirewatch test-rules`` and ``wirewatch silence``: trying rules and muting them.

``test-rules`` answers "what would this rule have sent?" before anyone
trusts it: it replays a folder of files, or the stored archive, through the
rules in a scratch state and prints the alerts, sending nothing and
touching no live state. ``silence add | list | expire`` mutes a rule (or
one key of it) for a while, stored in the database so the daemon sees it
at the next firing without a reload.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..logs import configure_logging
from ..models import Alert
from ..store.rules import RulesMixin, Silence
from .config import RulesConfig, format_duration, parse_duration
from .loader import RulesError, RuleSet, load_rules

__all__ = [
    "add_commands",
    "check_rules",
    "load_configured_rules",
    "rules_config",
    "sink_names",
]


def _config(args: argparse.Namespace) -> Config:
    path = getattr(args, "config", None) or (
        Path(os.environ["WIREWATCH_CONFIG"]) if "WIREWATCH_CONFIG" in os.environ else None
    )
    cfg, _ = load_config(path)
    return cfg


def rules_config(cfg: Config) -> RulesConfig:
    """The ``[rules]`` section, or its defaults while the main config has none."""
    section = getattr(cfg, "rules", None)
    return section if isinstance(section, RulesConfig) else RulesConfig()


def sink_names(cfg: Config) -> set[str]:
    """The notify sinks the main config defines, plus ``console``."""
    sinks = getattr(cfg, "sinks", None) or {}
    return {str(name) for name in sinks} | {"console"}


def load_configured_rules(cfg: Config, single_file: Path | None = None) -> RuleSet:
    rc = rules_config(cfg)
    return load_rules(
        rc.dir, sink_names(cfg), single_file, default_destinations=rc.default_destinations
    )


def check_rules(cfg: Config) -> list[str]:
    """What ``wirewatch check`` reports about rules; raises RulesError if invalid."""
    rs = load_configured_rules(cfg)
    by_type: dict[str, int] = {}
    for rule in rs.rules:
        by_type[rule.config.type] = by_type.get(rule.config.type, 0) + 1
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) or "none"
    lines = [
        f"ok: rules {rules_config(cfg).dir}: {len(rs)} rules in {len(rs.files)} files ({kinds})"
    ]
    if rs.disabled:
        lines.append(f"  disabled: {', '.join(rs.disabled)}")
    lines += [f"  warning: {w}" for w in rs.warnings]
    return lines


# -- test-rules -----------------------------------------------------------------------

_RELATIVE = re.compile(r"^\d+(?:\.\d+)?\s*[smhdw]")


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """An ISO date or time (UTC unless it says otherwise), or a duration ago ("7d")."""
    now = now or datetime.now(UTC)
    if _RELATIVE.match(text.strip()):
        delta = parse_duration(text)
        assert isinstance(delta, timedelta)
        return now - delta
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a date (2022-02-01), a time (2022-02-01T12:00) or '7d'"
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    out: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
    return out


def _alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "rule": alert.rule,
        "type": alert.rule_type,
        "severity": alert.severity,
        "created_at": alert.created_at.isoformat(),
        "key": alert.key,
        "title": alert.title,
        "body": alert.body,
        "old_value": alert.old_value,
        "new_value": alert.new_value,
        "sources": list(alert.sources),
        "articles": [a.path for a in alert.articles],
        "destinations": list(alert.destinations),
        "fingerprint": alert.fingerprint,
    }


def _print_alert(n: int, alert: Alert) -> None:
    when = alert.created_at.strftime("%Y-%m-%d %H:%M")
    print(f"[{n}] {when}  {alert.severity:<8} {alert.rule} ({alert.rule_type})")
    print(f"    {alert.title}")
    for line in alert.body.splitlines():
        print(f"    | {line}")
    print(f"    → {', '.join(alert.destinations)}")


def cmd_test_rules(args: argparse.Namespace) -> int:
    from .replay import archive_items, folder_items, replay

    cfg = _config(args)
    configure_logging(cfg.log.format, "error")
    try:
        rs = load_configured_rules(cfg, args.rules)
    except RulesError as exc:
        print(f"error: rules refused:\n{exc}", file=sys.stderr)
        return 1
    if args.against is not None:
        if not args.against.exists():
            print(f"error: {args.against}: no such file or folder", file=sys.stderr)
            return 1
        items, refused = folder_items(_files(args.against), cfg, order=args.order)
        for line in refused:
            print(f"skipped: {line}", file=sys.stderr)
        source = str(args.against)
    else:
        db = cfg.store.database_path
        if not db.exists():
            print(f"error: {db}: no database yet", file=sys.stderr)
            return 1
        items = asyncio.run(archive_items(db, args.since, args.until))
        source = f"{db} since {args.since.isoformat()}"
    alerts, stage = asyncio.run(replay(rs, items))
    if args.json:
        for alert in alerts:
            print(json.dumps(_alert_json(alert), ensure_ascii=False))
        return 0
    for n, alert in enumerate(alerts, 1):
        _print_alert(n, alert)
    s = stage.stats
    print(
        f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''} would have been sent "
        f"({len(rs)} rules, {len(items)} articles from {source}; "
        f"{s.duplicates} repeats, {s.suppressed} in cooldown; nothing was sent)"
    )
    return 0


# -- silences ---------------------------------------------------------------------------


async def _open_store(cfg: Config) -> RulesMixin:
    """The store for ``silence``: created if need be, so a silence can be set
    before the daemon's first start."""
    from ..store import Store

    return await Store.open(cfg.store.database_path, busy_timeout_ms=cfg.store.busy_timeout_ms)


def _silence_json(s: Silence, now: datetime) -> dict[str, Any]:
    return {
        "id": s.id,
        "rule": s.rule,
        "key": s.key,
        "starts_at": s.starts_at.isoformat(),
        "ends_at": s.ends_at.isoformat(),
        "active": s.active(now),
        "comment": s.comment,
        "created_by": s.created_by,
    }


def _silence_line(s: Silence, now: datetime) -> str:
    state = "active" if s.active(now) else ("pending" if s.starts_at > now else "expired")
    left = format_duration(s.ends_at - now) + " left" if s.active(now) else ""
    key = f" key={s.key!r}" if s.key is not None else ""
    comment = f"  # {s.comment}" if s.comment else ""
    return (
        f"{s.id:>5}  {s.rule}{key}  until {s.ends_at.isoformat(timespec='minutes')}"
        f"  {state} {left}  by {s.created_by}{comment}".rstrip()
    )


def cmd_silence_add(args: argparse.Namespace) -> int:
    cfg = _config(args)
    configure_logging(cfg.log.format, "error")
    now = datetime.now(UTC)
    starts = args.start or now
    if args.until is not None:
        ends = args.until
    else:
        duration = parse_duration(args.duration)
        assert isinstance(duration, timedelta)
        ends = starts + duration
    try:
        names = load_configured_rules(cfg).names
    except RulesError:
        names = []
    if names and not any(re.fullmatch(_glob_regex(args.rule), n) for n in names):
        print(f"warning: no current rule matches {args.rule!r}", file=sys.stderr)

    async def go() -> Silence:
        store = await _open_store(cfg)
        try:
            return await store.add_silence(
                args.rule, args.key, starts, ends, args.comment, args.by, now
            )
        finally:
            await store.close()

    try:
        silence = asyncio.run(go())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"silenced: {_silence_line(silence, now)}")
    return 0


def _glob_regex(pattern: str) -> str:
    import fnmatch

    return fnmatch.translate(pattern)


def cmd_silence_list(args: argparse.Namespace) -> int:
    cfg = _config(args)
    configure_logging(cfg.log.format, "error")
    now = datetime.now(UTC)

    async def go() -> list[Silence]:
        store = await _open_store(cfg)
        try:
            return await store.list_silences(now, include_expired=args.all)
        finally:
            await store.close()

    silences = asyncio.run(go())
    if args.json:
        print(json.dumps([_silence_json(s, now) for s in silences], indent=2))
        return 0
    for s in silences:
        print(_silence_line(s, now))
    if not silences:
        print("no silences" if args.all else "no active or pending silences")
    return 0


def cmd_silence_expire(args: argparse.Namespace) -> int:
    cfg = _config(args)
    configure_logging(cfg.log.format, "error")
    now = datetime.now(UTC)

    async def go() -> bool:
        store = await _open_store(cfg)
        try:
            return await store.expire_silence(args.id, now)
        finally:
            await store.close()

    if asyncio.run(go()):
        print(f"expired silence {args.id}")
        return 0
    print(f"error: no running silence {args.id}", file=sys.stderr)
    return 1


def _duration_arg(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_commands(subparsers: Any) -> None:
    """Register ``test-rules`` and ``silence`` on the CLI's sub-command parsers."""
    s = subparsers.add_parser(
        "test-rules",
        help="replay articles through the rules and print the alerts they would send",
        description="Replays a folder of files, or stored articles, through the rules in a "
        "scratch state and prints the alerts they would have sent. Nothing is sent and no "
        "live state changes.",
    )
    s.add_argument("--rules", type=Path, help="one rules file instead of the rules folder")
    what = s.add_mutually_exclusive_group(required=True)
    what.add_argument("--against", type=Path, metavar="FOLDER", help="files to replay")
    what.add_argument(
        "--since",
        type=parse_when,
        metavar="DATE",
        help="replay stored articles ingested since DATE (2022-02-01, or 7d for 7 days ago)",
    )
    s.add_argument("--until", type=parse_when, metavar="DATE", help="with --since: up to DATE")
    s.add_argument(
        "--order",
        choices=("name", "mtime"),
        default="name",
        help="with --against: replay files in name (default) or mtime order",
    )
    s.add_argument("--json", action="store_true", help="one JSON object per alert")
    s.set_defaults(func=cmd_test_rules)

    s = subparsers.add_parser("silence", help="mute a rule or one of its keys for a while")
    sub = s.add_subparsers(dest="silence_command", required=True, metavar="ACTION")
    a = sub.add_parser("add", help="silence a rule (a glob over rule names) or one key")
    a.add_argument("rule", help="rule name, or a glob such as 'ukraine-*'")
    a.add_argument("--key", help="only this key (a term, a source, a story key)")
    when = a.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--for", dest="duration", type=_duration_arg, metavar="DURATION", help="e.g. 2h, 1d"
    )
    when.add_argument("--until", type=parse_when, metavar="TIME", help="an ISO date or time")
    a.add_argument("--start", type=parse_when, metavar="TIME", help="default: now")
    a.add_argument("--comment", default="", help="why, for whoever reads the list")
    a.add_argument("--by", default=_whoami(), help="who (default: the current user)")
    a.set_defaults(func=cmd_silence_add)
    ls = sub.add_parser("list", help="active and pending silences")
    ls.add_argument("--all", action="store_true", help="expired ones too")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_silence_list)
    e = sub.add_parser("expire", help="end a silence now")
    e.add_argument("id", type=int)
    e.set_defaults(func=cmd_silence_expire)


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
