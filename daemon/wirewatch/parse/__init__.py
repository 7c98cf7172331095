"""The parse stage: the bytes of one inbox file to articles.

Pure functions with no I/O: the caller reads the file and passes its bytes,
name and mtime, so every rule can be tested with literal values. Whatever
the input, the only exception that leaves :func:`parse_bytes` is
:class:`~wirewatch.models.ParseError`, so the caller can quarantine a bad
file with its ``reason`` and carry on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePath

from wirewatch.models import ParsedRecord, ParseError
from wirewatch.parse.boilerplate import DEFAULT_BOILERPLATE, Boilerplate
from wirewatch.parse.decode import decode
from wirewatch.parse.html import parse_html
from wirewatch.parse.jsonfeed import parse_json
from wirewatch.parse.text import parse_text

__all__ = ["DEFAULT_BOILERPLATE", "Boilerplate", "ParseError", "parse_bytes"]

FORMAT_BY_EXTENSION: dict[str, str] = {
    "": "text",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def parse_bytes(
    data: bytes,
    *,
    name: str,
    mtime: datetime,
    boilerplate: Boilerplate | None = None,
) -> list[ParsedRecord]:
    """Parse one file's bytes into articles.

    The format comes from the extension of ``name``; unknown extensions are
    sniffed from the first character (``<`` HTML, ``{``/``[`` JSON, else
    text), and a sniffed guess that fails to parse is retried as text.
    ``mtime`` (the file's modification time) stands in for a missing date.

    Text and HTML give one record identified by ``data``; JSON gives one per
    record, identified by the record's own bytes.
    """
    rules = boilerplate if boilerplate is not None else DEFAULT_BOILERPLATE
    try:
        return _parse(data, name=name, mtime=_as_utc(mtime), rules=rules)
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError("parser_error", detail=repr(exc)) from exc


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _sniff(text: str) -> str:
    head = text.lstrip()[:1]
    if head == "<":
        return "html"
    if head in ("{", "["):
        return "json"
    return "text"


def _parse(data: bytes, *, name: str, mtime: datetime, rules: Boilerplate) -> list[ParsedRecord]:
    if not data:
        raise ParseError("empty", detail="zero bytes")
    text = decode(data)
    suffix = PurePath(name).suffix.lower()
    fmt = FORMAT_BY_EXTENSION.get(suffix)
    sniffed = fmt is None
    if fmt is None:
        fmt = _sniff(text)
    try:
        if fmt in ("json", "jsonl"):
            return parse_json(text, mtime=mtime, boilerplate=rules, lines_first=fmt == "jsonl")
        if fmt == "html":
            return [ParsedRecord(parse_html(text, mtime=mtime, boilerplate=rules), data)]
    except ParseError as exc:
        if not sniffed or exc.reason not in ("bad_json", "html_unparsable"):
            raise
    return [ParsedRecord(parse_text(text, mtime=mtime, boilerplate=rules), data)]
