"""HTML articles, through trafilatura.

trafilatura finds the main text of a page and its metadata (title, original
publication date via htmldate, canonical URL, site name). Its output tree
keeps paragraphs and headings apart, which is richer than its flat text, so
the blocks are read from that tree and then go through the same credit and
furniture rules as plain text.

Only strings are handed to trafilatura, never URLs, so it does no network
I/O. Its loggers are quietened: every failure here becomes a ``ParseError``
that the caller logs once, with the file name.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import trafilatura

from wirewatch.models import Article, ParseError
from wirewatch.parse.boilerplate import SOURCE_ALIASES, Boilerplate
from wirewatch.parse.text import (
    Body,
    Line,
    collapse,
    finish,
    inline_credits,
    parse_datetime,
    split_body,
    to_lines,
)

QUIET_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext")


def _quiet_library_loggers() -> None:
    """Silence the extraction libraries unless logging config set a level.

    They log every page they give up on; the parse stage already turns that
    into a ParseError, which the caller logs once with the file's name.
    """
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.CRITICAL)


_quiet_library_loggers()

DATE_PARAMS: dict[str, Any] = {
    "original_date": True,
    "extensive_search": False,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}
"""htmldate settings: the original publication date, from markup only.

The extensive search guesses from free text and can pick any date the page
mentions; an unflagged wrong date is worse than the flagged mtime fallback.
The output format keeps the time and zone when the page gives them."""

_PARAGRAPH_TAGS = frozenset({"p", "quote", "item", "code", "cell"})
_CONTAINER_TAGS = frozenset({"list", "table", "row", "div", "quote"})


def parse_html(text: str, *, mtime: datetime, boilerplate: Boilerplate) -> Article:
    """One article from an HTML page.

    When trafilatura's main-text extraction finds nothing (very short
    pages), its simpler baseline extractor is tried before giving up.
    Raises ``ParseError('html_unparsable')`` when lxml cannot build a tree
    and ``ParseError('no_text')`` when no story text is found.
    """
    tree = _load(text)
    doc = trafilatura.bare_extraction(
        tree,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        date_extraction_params=dict(DATE_PARAMS),
    )
    if doc is None or isinstance(doc, dict):
        doc = trafilatura.extract_metadata(tree, date_config=dict(DATE_PARAMS))
    blocks = list(_blocks(doc.body)) if doc.body is not None else []
    if not blocks:
        blocks = list(_blocks(trafilatura.baseline(tree)[0]))
    title, date, url, site = doc.title, doc.date, doc.url, doc.sitename
    title = collapse(html_lib.unescape(title)) if title else None
    if blocks and title and blocks[0].text.casefold() == title.casefold():
        blocks.pop(0)
    body = Body()
    lines = to_lines((b.text for b in blocks), boilerplate, body.hints)
    headings = {b.text for b in blocks if b.heading}
    for line in lines:
        line.heading = line.text in headings
    body.paragraphs, body.subheads = split_body(lines, plain=False)
    body.hints.extend(inline_credits(body.paragraphs))
    if site and site.strip():
        body.hints.append(site_hint(site.strip()))
    return finish(
        title=title,
        body=body,
        published=parse_datetime(date) if date else None,
        mtime=mtime,
        fmt="html",
        url=url or None,
    )


def site_hint(site: str) -> str:
    """The canonical source for a site name or host ("reuters.com" is Reuters)."""
    key = site.casefold()
    if key in SOURCE_ALIASES:
        return SOURCE_ALIASES[key]
    if "." in key and " " not in key:
        label = key.removeprefix("www.").split(".", 1)[0]
        return SOURCE_ALIASES.get(label, site)
    return site


def _load(text: str) -> Any:
    """The lxml tree of a page; bare fragments get wrapped in a document."""
    try:
        tree = trafilatura.load_html(text)
        if tree is None:
            tree = trafilatura.load_html(f"<html><body><div>{text}</div></body></html>")
    except (ValueError, TypeError, RecursionError) as exc:
        raise ParseError("html_unparsable", detail=repr(exc)) from exc
    if tree is None:
        raise ParseError("html_unparsable", detail="lxml built no tree")
    return tree


def _blocks(body: Any) -> Iterator[Line]:
    """Text blocks of trafilatura's output tree, headings flagged.

    ``<lb/>`` becomes a space so words either side of a line break do not
    run together.
    """
    for lb in body.iter("lb"):
        lb.tail = " " + (lb.tail or "")
    yield from _walk(body, depth=0)


def _walk(element: Any, depth: int) -> Iterator[Line]:
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "head" or re.fullmatch(r"h[1-6]", tag):
            text = collapse("".join(child.itertext()))
            if text:
                yield Line(text, heading=True)
        elif tag in _CONTAINER_TAGS and depth < 8 and _has_blocks(child):
            yield from _walk(child, depth + 1)
        elif tag:
            text = collapse("".join(child.itertext()))
            if text:
                yield Line(text)


def _has_blocks(element: Any) -> bool:
    return any(
        isinstance(c.tag, str) and (c.tag in _PARAGRAPH_TAGS or c.tag in _CONTAINER_TAGS)
        for c in element
    )


_BREAK_TAGS = re.compile(
    r"<\s*(?:br|/?p|/?div|/?h[1-6]|/?li|/?blockquote|/?section|/?article|/?tr)\b[^>]{0,500}>",
    re.IGNORECASE,
)
_ANY_TAG = re.compile(r"<[^<>]{0,2000}>")
_MARKUP_HINT = re.compile(r"<\s*/?\s*(?:p|br|div|h[1-6]|li|ul|ol|span|a|b|i|em|strong)\b", re.I)


def looks_like_markup(text: str) -> bool:
    """Whether a JSON text field holds HTML rather than plain text."""
    return _MARKUP_HINT.search(text) is not None


def fragment_to_text(fragment: str) -> str:
    """Plain text, one block per line, from an HTML fragment (feed bodies).

    A regex pass, not a parser: feed bodies are small, flat fragments, and
    this cannot recurse or fail on broken markup.
    """
    text = _BREAK_TAGS.sub("\n\n", fragment)
    text = _ANY_TAG.sub("", text)
    return html_lib.unescape(text)
