"""JSON articles: one object, an array of objects, a feed, or JSON Lines.

Scrapers and feed exporters name the same field differently, so each field
is looked up under a short list of common keys (kept as data below). Each
record is identified by its own bytes, so re-exporting a feed with one new
item stores one new article, not a copy of the whole file.

A record without usable text is skipped rather than failing the file: one
empty item must not quarantine a thousand good ones. The file fails only
when no record yields an article.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from wirewatch.models import Article, ParsedRecord, ParseError
from wirewatch.parse.boilerplate import SOURCE_ALIASES, Boilerplate
from wirewatch.parse.html import fragment_to_text, looks_like_markup
from wirewatch.parse.text import body_from_text, collapse, finish, parse_datetime

TITLE_KEYS = ("title", "headline", "name")
TEXT_KEYS = (
    "text",
    "body",
    "content",
    "content_text",
    "articleBody",
    "article",
    "content_html",
    "summary",
    "description",
)
DATE_KEYS = (
    "date",
    "published",
    "date_published",
    "datePublished",
    "published_at",
    "publishedAt",
    "pubDate",
    "pub_date",
    "timestamp",
    "time",
)
URL_KEYS = ("url", "link", "href", "external_url")
SOURCE_KEYS = ("source", "sources", "agency", "publisher", "site")
FEED_KEYS = ("items", "articles", "entries", "records", "data")
"""Keys under which an object wraps a list of articles (JSON Feed, NewsAPI)."""

Record = tuple[object, bytes]


def parse_json(
    text: str, *, mtime: datetime, boilerplate: Boilerplate, lines_first: bool = False
) -> list[ParsedRecord]:
    """Articles from a JSON document or JSON Lines text.

    ``lines_first`` (for ``.jsonl``/``.ndjson``) tries JSON Lines before a
    single document; either way the other reading is the fallback, because
    extensions lie. Raises ``ParseError('bad_json')`` when neither reading
    works, ``'empty'`` when there are no records and ``'no_text'`` when no
    record has text.
    """
    records = _read(text, lines_first=lines_first)
    if not records:
        raise ParseError("empty", detail="no JSON records")
    parsed: list[ParsedRecord] = []
    first_error: ParseError | None = None
    for value, identity in records:
        if not isinstance(value, dict):
            continue
        try:
            article = _article(value, mtime=mtime, boilerplate=boilerplate)
        except ParseError as exc:
            first_error = first_error or exc
            continue
        parsed.append(ParsedRecord(article=article, identity=identity))
    if not parsed:
        if first_error is not None:
            raise first_error
        raise ParseError("no_text", detail="no JSON record is an object")
    return parsed


def _read(text: str, *, lines_first: bool) -> list[Record]:
    """Records from either reading; the error reported is the likelier one's.

    When the first line is valid JSON on its own the file was meant as JSON
    Lines, and "line 7: Expecting ','" helps more than "Extra data".
    """
    readers = (_read_lines, _read_document) if lines_first else (_read_document, _read_lines)
    errors: dict[object, str] = {}
    for reader in readers:
        try:
            return reader(text)
        except (ValueError, RecursionError) as exc:
            errors[reader] = str(exc) or repr(exc)
    lines = [line for line in (x.strip() for x in text.split("\n")) if line]
    meant_as_lines = len(lines) > 1 and _parses(lines[0])
    raise ParseError("bad_json", detail=errors[_read_lines if meant_as_lines else _read_document])


def _parses(text: str) -> bool:
    try:
        _loads(text)
    except ValueError:
        return False
    return True


def _loads(text: str) -> Any:
    """``json.loads`` with every failure mode as ``ValueError``."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def _read_document(text: str) -> list[Record]:
    value = _loads(text)
    if isinstance(value, list):
        return [(item, _canonical(item)) for item in value]
    if isinstance(value, dict) and not _has_text(value):
        for key in FEED_KEYS:
            items = value.get(key)
            if isinstance(items, list):
                return [(item, _canonical(item)) for item in items]
    return [(value, _canonical(value))]


def _read_lines(text: str) -> list[Record]:
    records: list[Record] = []
    lines = [line.strip() for line in text.split("\n")]
    if sum(1 for line in lines if line) < 1:
        raise ValueError("no JSON lines")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            value = _loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from exc
        records.append((value, line.encode("utf-8", "surrogatepass")))
    return records


def _has_text(record: dict[str, Any]) -> bool:
    return any(isinstance(record.get(k), str | list) for k in TEXT_KEYS)


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _as_text(value: object) -> str:
    """A field's text: strings as they are, lists of strings as paragraphs."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n\n".join(x for x in value if isinstance(x, str))
    return ""


def _sources(value: object) -> list[str]:
    """Source names from a string, a list, or an object with a ``name``.

    Only one level deep: a source field is a name or a short list of names,
    and walking arbitrary nesting would let a hostile record recurse.
    """
    items = value[:20] if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name") or item.get("title")
        if isinstance(item, str) and (name := collapse(item)):
            names.append(SOURCE_ALIASES.get(name.casefold(), name))
    return names


def _article(record: dict[str, Any], *, mtime: datetime, boilerplate: Boilerplate) -> Article:
    text = _as_text(_first(record, TEXT_KEYS))
    if looks_like_markup(text):
        text = fragment_to_text(text)
    body = body_from_text(text, boilerplate)
    body.hints[:0] = _sources(_first(record, SOURCE_KEYS))
    title = _as_text(_first(record, TITLE_KEYS))
    if looks_like_markup(title):
        title = fragment_to_text(title)
    url = _first(record, URL_KEYS)
    return finish(
        title=collapse(title) or None,
        body=body,
        published=parse_datetime(_first(record, DATE_KEYS)),
        mtime=mtime,
        fmt="json",
        url=url if isinstance(url, str) and url.strip() else None,
    )
