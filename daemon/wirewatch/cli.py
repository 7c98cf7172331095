"""The commands a person types: ``wirewatch run | check | ingest | inspect | search | stats``.

Every command takes ``--config``; without it the first of
``config/wirewatch.toml`` and ``/etc/wirewatch/wirewatch.toml`` that exists
is used, else the embedded defaults. Exit codes: 0 success, 1 a problem the
user can fix (bad config, bad query), 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, ConfigError, load_config
from .logs import configure_logging


def _load(args: argparse.Namespace) -> tuple[Config, Path | None]:
    path = args.config or (
        Path(os.environ["WIREWATCH_CONFIG"]) if "WIREWATCH_CONFIG" in os.environ else None
    )
    return load_config(path)


def cmd_check(args: argparse.Namespace) -> int:
    from .rules.commands import check_rules

    cfg, path = _load(args)
    where = str(path) if path else "embedded defaults"
    rules = check_rules(cfg) if cfg.rules.enabled else ["ok: rules disabled"]
    print(
        f"ok: {where}: inboxes {', '.join(map(str, cfg.watch.inboxes))}; "
        f"database {cfg.store.database_path}"
    )
    for line in rules:
        print(line)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .ingest import storage_fault
    from .notify import effective_sinks, install_redaction, sink_secrets
    from .service import Service

    cfg, path = _load(args)
    configure_logging(cfg.log.format, cfg.log.level)
    install_redaction(sink_secrets(effective_sinks(cfg.sinks)))
    try:
        return asyncio.run(Service(cfg, path).run())
    except (sqlite3.Error, OSError) as exc:
        fault = storage_fault(exc)
        if fault is None:
            raise
        # Nothing was read from the inbox: the files wait for the next start.
        print(
            f"error: {cfg.store.database_path}: {fault}; is the state folder writable, "
            "with free space? (files stay in the inbox)",
            file=sys.stderr,
        )
        return 75  # EX_TEMPFAIL: systemd's Restart=on-failure tries again


def _expand(paths: Sequence[Path]) -> list[Path]:
    """Files named, and every non-hidden file below folders named, in name order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
        else:
            out.append(p)
    return out


async def _ingest(cfg: Config, files: list[Path], after: str, workers: int, quiet: bool) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from .ingest import ingest_paths
    from .service import close_pipeline, open_pipeline

    pipeline = await open_pipeline(cfg, after_store=after)
    console = Console(stderr=True)
    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
        ) as progress:
            bar = progress.add_task("ingesting", total=len(files))

            def done(path: Path, outcome: object) -> None:
                if outcome is None:
                    console.print(f"[red]failed[/red] {path}")
                progress.advance(bar)

            elapsed = await ingest_paths(
                pipeline, [f.resolve() for f in files], workers, on_done=done
            )
    finally:
        await close_pipeline(pipeline)
    c = pipeline.counts
    summary = {
        "files": len(files),
        "stored": c.stored,
        "duplicate": c.duplicate,
        "quarantined": c.quarantined,
        "skipped": c.skipped + c.gone,
        "failed": c.failed,
        "seconds": round(elapsed, 3),
        "files_per_second": round(len(files) / elapsed, 1) if elapsed > 0 else 0.0,
        "quarantine_reasons": c.by_reason,
    }
    print(json.dumps(summary) if quiet else _summary_text(summary))
    return 1 if c.failed else 0


def _summary_text(s: dict[str, Any]) -> str:
    lines = [
        f"{s['files']} files in {s['seconds']:.2f} s ({s['files_per_second']:.0f}/s): "
        f"{s['stored']} stored, {s['duplicate']} already stored, "
        f"{s['quarantined']} quarantined, {s['skipped']} skipped, {s['failed']} failed"
    ]
    lines += [f"  quarantined as {k}: {v}" for k, v in sorted(s["quarantine_reasons"].items())]
    return "\n".join(lines)


def cmd_ingest(args: argparse.Namespace) -> int:
    cfg, _ = _load(args)
    configure_logging(
        "json" if args.verbose else cfg.log.format, "info" if args.verbose else "warning"
    )
    files = _expand(args.paths)
    return asyncio.run(
        _ingest(cfg, files, args.after, args.workers or cfg.pipeline.workers, args.quiet)
    )


def inspect_file(path: Path, cfg: Config) -> list[dict[str, Any]]:
    """What the parser and extractors make of one file, as plain data."""
    from .extract.extractor import build_extractor
    from .ingest import boilerplate_for
    from .parse import parse_bytes

    data = path.read_bytes()
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    boilerplate = boilerplate_for(cfg.parse)
    extract = build_extractor(cfg.extract)
    out = []
    for rec in parse_bytes(data, name=path.name, mtime=mtime, boilerplate=boilerplate):
        a = rec.article
        figures, mentions = extract(a)
        terms: dict[str, dict[str, Any]] = {}
        for m in mentions:
            t = terms.setdefault(m.term, {"term": m.term, "watched": m.watched, "count": 0})
            t["count"] += 1
        out.append(
            {
                "title": a.title,
                "title_derived": a.title_derived,
                "published": a.published.isoformat() if a.published else None,
                "date_estimated": a.date_estimated,
                "caption": a.caption,
                "subheads": list(a.subheads),
                "source_hints": list(a.source_hints),
                "url": a.url,
                "format": a.format,
                "paragraphs": list(a.paragraphs),
                "figures": [asdict(f) for f in figures],
                "terms": sorted(terms.values(), key=lambda t: (-t["count"], t["term"])),
            }
        )
    return out


def _print_inspection(path: Path, items: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.markup import escape

    con = Console()
    for item in items:
        derived = " [dim](derived)[/dim]" if item["title_derived"] else ""
        estimated = " [dim](estimated from mtime)[/dim]" if item["date_estimated"] else ""
        con.print(f"[bold]{escape(item['title'])}[/bold]{derived}")
        con.print(f"  file       {escape(str(path))} ({item['format']})")
        con.print(f"  published  {item['published']}{estimated}")
        if item["caption"]:
            con.print(f"  caption    {escape(item['caption'])}")
        if item["source_hints"]:
            con.print(f"  sources    {escape(', '.join(item['source_hints']))}")
        if item["subheads"]:
            con.print(f"  subheads   {escape(' | '.join(item['subheads']))}")
        con.print(f"  paragraphs {len(item['paragraphs'])}")
        con.print(f"\n[bold]figures[/bold] ({len(item['figures'])})")
        for f in item["figures"]:
            value = (
                f"{f['low']:,.10g}"
                if f["low"] == f["high"]
                else f"{f['low']:,.10g}–{f['high']:,.10g}"
            )
            mods = f" [{', '.join(f['modifiers'])}]" if f["modifiers"] else ""
            sentence = f["sentence"]
            hl = escape(sentence).replace(
                escape(f["text"]), f"[reverse]{escape(f['text'])}[/reverse]", 1
            )
            con.print(
                f"  {value:>16} {f['qualifier_kind']:<9} {escape(f['unit'] or '-')}{escape(mods)}"
                f" ({f['kind']}{', ' + f['currency'] if f['currency'] else ''})"
            )
            con.print(f"      [dim]{hl}[/dim]")
        con.print(f"\n[bold]terms[/bold] ({len(item['terms'])})")
        for t in item["terms"]:
            mark = "watched" if t["watched"] else "name"
            con.print(f"  {t['count']:>3}  {escape(t['term'])} [dim]({mark})[/dim]")
        con.print()


def cmd_inspect(args: argparse.Namespace) -> int:
    from .models import ParseError

    cfg, _ = _load(args)
    configure_logging(cfg.log.format, "error")
    try:
        items = inspect_file(args.file, cfg)
    except ParseError as exc:
        print(f"{args.file}: would be quarantined: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(items if len(items) != 1 else items[0], indent=2, ensure_ascii=False))
    else:
        _print_inspection(args.file, items)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    cfg, _ = _load(args)

    async def go() -> list[dict[str, Any]]:
        from .store import open_existing

        store = await open_existing(cfg)
        try:
            return list(await store.search(args.query, args.limit))
        finally:
            await store.close()

    try:
        rows = asyncio.run(go())
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r['id']:>7}  {r['published'] or '-':<25}  {r['title']}")
        print(f"         {r['snippet']}")
    if not rows:
        print("no match")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    cfg, _ = _load(args)

    async def go() -> dict[str, int]:
        from .store import open_existing

        store = await open_existing(cfg)
        try:
            return dict(await store.counts())
        finally:
            await store.close()

    counts = asyncio.run(go())
    if args.json:
        print(json.dumps(counts))
    else:
        for k, v in counts.items():
            print(f"{k:<12} {v:>10,}")
    return 0


def _live_status(cfg: Config) -> dict[str, Any] | None:
    """The running daemon's own status, through its health listener if it has one."""
    import httpx

    hc = cfg.health
    if not hc.enabled:
        return None
    try:
        response = httpx.get(f"http://{hc.host}:{hc.port}/status", timeout=3)
    except httpx.HTTPError:
        return None
    return dict(response.json()) if response.status_code == 200 else None


def cmd_status(args: argparse.Namespace) -> int:
    cfg, _ = _load(args)

    async def stored() -> dict[str, Any]:
        from .store import open_existing

        store = await open_existing(cfg)
        try:
            return dict(await store.status_counts())
        finally:
            await store.close()

    live = _live_status(cfg)
    database = asyncio.run(stored())
    data: dict[str, Any] = {
        "daemon": live or "not reachable (enable [health] for live status)",
        "database": database,
    }
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    if live:
        print(
            f"daemon      pid {live['pid']}, up since {live['up_since']}, "
            f"{'healthy' if live['healthy'] else 'UNHEALTHY'}"
        )
        for name, state in live["checks"].items():
            if state != "ok":
                print(f"  check {name}: {state}")
        print(f"backlog     {live['inbox_backlog']} files")
        reload_ = live["last_reload"]
        if reload_["at"]:
            print(f"last reload {reload_['at']}: {'ok' if reload_['ok'] else reload_['error']}")
    else:
        print(f"daemon      {data['daemon']}")
    for key, value in database.items():
        print(f"{key:<11} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wirewatch",
        description="Watch a folder for news articles; alert a team's chat when the news changes.",
    )
    from .notify import commands as notify_commands
    from .rules import commands as rules_commands
    from .stories import commands as stories_commands

    p.add_argument("--version", action="version", version=f"wirewatch {__version__}")
    p.add_argument(
        "-c",
        "--config",
        type=Path,
        help="main config file (default: config/wirewatch.toml, "
        "then /etc/wirewatch/wirewatch.toml, then built-in defaults)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("run", help="run the daemon")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("check", help="validate the configuration; exit 0 or 1")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("ingest", help="store files and folders once, through the same pipeline")
    s.add_argument("paths", nargs="+", type=Path)
    s.add_argument(
        "--after",
        choices=("keep", "move", "delete"),
        default="keep",
        help="what to do with a file once stored (default: keep)",
    )
    s.add_argument("--workers", type=int, default=0)
    s.add_argument("--quiet", action="store_true", help="no progress bar; a JSON summary")
    s.add_argument("--verbose", action="store_true", help="log every file")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("inspect", help="show what wirewatch reads in a file")
    s.add_argument("file", type=Path)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("search", help="full-text search of stored articles")
    s.add_argument("query")
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("status", help="what the running daemon is doing, at a glance")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    notify_commands.add_commands(sub)
    rules_commands.add_commands(sub)
    stories_commands.add_commands(sub)

    s = sub.add_parser("stats", help="counts of what is stored")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
