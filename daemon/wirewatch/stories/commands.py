"""The stories commands a person types: ``wirewatch stories`` and ``wirewatch story ID``.

``stories`` lists the stories seen most recently, with how many articles
and how many distinct sources each holds; ``story`` shows one: its
articles (and which copies which, and why each joined), the sources, and
the figures and terms with how many sources report each. Both read the
database through the reader connection, so they work next to a running
daemon. :func:`story_of_article` is what ``wirewatch inspect`` shows.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Protocol

from ..config import Config, load_config
from ..display import shorten
from ..store import Store, with_existing_store


def _config(args: argparse.Namespace) -> Config:
    path = getattr(args, "config", None) or (
        Path(os.environ["WIREWATCH_CONFIG"]) if "WIREWATCH_CONFIG" in os.environ else None
    )
    cfg, _ = load_config(path)
    return cfg


def _when(value: str | None) -> str:
    return "-" if not value else value.replace("T", " ").removesuffix("+00:00")


def _value(row: dict[str, Any]) -> str:
    low, high = row["low"], row["high"]
    num = f"{low:,.10g}" if low == high else f"{low:,.10g}–{high:,.10g}"
    if row.get("kind") == "percent":
        return f"{num}%"
    if row.get("currency"):
        return f"{row['currency']} {num}"
    return f"{num} {row.get('unit') or ''}".rstrip()


# -- wirewatch stories --------------------------------------------------------------------


def cmd_stories(args: argparse.Namespace) -> int:
    cfg = _config(args)

    async def work(store: Store) -> tuple[list[dict[str, Any]], dict[str, int]]:
        rows = await store.recent_stories(args.limit, min_articles=args.min_articles)
        return rows, await store.story_counts()

    rows, counts = with_existing_store(cfg, work)
    if args.json:
        print(json.dumps({"counts": counts, "stories": rows}, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no stories yet")
        return 0
    print(f"{'ID':>7}  {'ARTICLES':>8}  {'SOURCES':>7}  {'LAST SEEN':<19}  TITLE")
    for r in rows:
        print(
            f"{r['id']:>7}  {r['articles']:>8}  {r['sources']:>7}  "
            f"{_when(r['last_seen']):<19}  {shorten(r['title'], 70)}"
        )
    share = (
        counts["articles_in_multi_article_stories"] / counts["articles_in_stories"]
        if counts["articles_in_stories"]
        else 0.0
    )
    print(
        f"\n{counts['stories']} stories; {counts['multi_article_stories']} with several"
        f" articles, holding {share:.0%} of all; {counts['copies']} copies linked"
    )
    return 0


# -- wirewatch story ID -------------------------------------------------------------------


def cmd_story(args: argparse.Namespace) -> int:
    cfg = _config(args)

    async def work(store: Store) -> dict[str, Any] | None:
        return await store.story_detail(args.id, terms=args.terms)

    story = with_existing_store(cfg, work)
    if story is None:
        print(f"no story #{args.id}")
        return 1
    if args.json:
        print(json.dumps(story, indent=2, ensure_ascii=False, default=str))
        return 0
    print(render_story(story))
    return 0


def render_story(story: dict[str, Any]) -> str:
    """The text ``wirewatch story`` prints."""
    lines = []
    head = f"Story #{story['id']}: {story['title']}"
    if story["requested_id"] != story["id"]:
        head += f"  (#{story['requested_id']} was merged into it)"
    lines.append(head)
    sources = story["sources"]
    lines.append(
        f"  {story['article_count']} articles from {len(sources)} sources"
        f" ({', '.join(sources) or '-'});"
        f" first seen {_when(story['first_seen'])}, last seen {_when(story['last_seen'])}"
    )
    lines.append(f"  article times {_when(story['first_at'])} to {_when(story['last_at'])}")
    if story["merged_from"]:
        merged = ", ".join(f"#{s}" for s in story["merged_from"])
        lines.append(f"  merged from {merged}")

    lines.append("\nArticles")
    for a in story["articles"]:
        published = (a["published"] or "-")[:10] + ("~" if a["date_estimated"] else "")
        seen = f", seen {a['sightings']}x" if a["sightings"] and a["sightings"] > 1 else ""
        lines.append(
            f"  #{a['id']:<6} {published:<11} {shorten(a['sources'], 18):<18}"
            f" {shorten(a['title'], 70)}{seen}"
        )
        lines.append(f"           {a['reason']}")
    copies = [a for a in story["articles"] if a["copy_of"] is not None]
    if copies:
        lines.append("\nCopies")
        for a in copies:
            lines.append(
                f"  #{a['id']} is a{'n' if a['copy_kind'] == 'exact' else ''}"
                f" {a['copy_kind']} copy of #{a['copy_of']} ({a['copy_method']})"
            )
    if story["figures"]:
        lines.append("\nFigures (sources reporting each)")
        for f in story["figures"][:20]:
            lines.append(
                f"  {_value(f):<28} {f['sources']} source{'s' if f['sources'] != 1 else ''}"
                f" ({shorten(f['source_names'], 40)}), {f['articles']} article"
                f"{'s' if f['articles'] != 1 else ''}: "
                + shorten(", ".join(f"“{t}”" for t in f["texts"]), 80)
            )
    if story["terms"]:
        lines.append("\nTerms (sources mentioning each)")
        for t in story["terms"]:
            mark = "watched" if t["watched"] else "name"
            lines.append(
                f"  {shorten(t['term'], 30):<30} {t['sources']} sources, {t['articles']} articles,"
                f" {t['mentions']} mentions ({mark})"
            )
    return "\n".join(lines)


# -- for wirewatch inspect ----------------------------------------------------------------


class InspectStore(Protocol):
    """What :func:`story_of_article` needs of the store (``Store`` with the stories mixin)."""

    async def article_by_sha(self, sha256: str) -> dict[str, Any] | None: ...

    async def story_of_article(self, article_id: int) -> dict[str, Any] | None: ...


async def story_of_article(store: InspectStore, article_sha256: str) -> dict[str, Any] | None:
    """The story the article with these bytes joined, and why; ``None`` if not stored."""
    article = await store.article_by_sha(article_sha256)
    if article is None:
        return None
    found = await store.story_of_article(int(article["id"]))
    if found is None:
        return {"article_id": int(article["id"]), "story_id": None, "reason": "not placed"}
    found["article_id"] = int(article["id"])
    return found


# -- registration -------------------------------------------------------------------------


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``stories`` and ``story`` on the main parser's sub-commands."""
    s = subparsers.add_parser("stories", help="list recent stories with article and source counts")
    s.add_argument("--limit", type=int, default=20)
    s.add_argument(
        "--min-articles", type=int, default=1, help="only stories with at least this many articles"
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stories)

    s = subparsers.add_parser(
        "story", help="show one story: its articles, copies, sources, figures and terms"
    )
    s.add_argument("id", type=int)
    s.add_argument("--terms", type=int, default=15, help="how many terms to show")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_story)
