"""Plain-text articles, and the body rules the other formats share.

Files dropped into the inbox come from copy-paste, scrapers and wire feeds,
so there is no fixed layout. What they have in common, and what the rules
below rely on:

* an optional date line (`` date 2022-02-04``), sometimes with the first
  paragraph glued onto the same line;
* an optional headline, sometimes preceded by a photo caption;
* paragraphs separated by blank lines or by single newlines;
* short sub-heads between paragraphs (``– Complex threat –``);
* credits (``(AFP)``, ``With reporting by …``, desk codes like ``burs-lc/dl``)
  and page furniture (share buttons, comment forms) that are not story text.

Every rule looks at one line and its blank-line neighbourhood only, with
precompiled, anchored regexes, so the cost is linear in the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from wirewatch.models import Article, ParseError
from wirewatch.parse.boilerplate import (
    DESK_SLUG_SOURCE,
    REUTERS_STYLE_SOURCE,
    SOURCE_ALIASES,
    Boilerplate,
)

TITLE_MAX_CHARS = 200
DERIVED_TITLE_MAX_CHARS = 100
SUBHEAD_MAX_WORDS = 8
SUBHEAD_MAX_CHARS = 80
CREDIT_MAX_CHARS = 200
CREDIT_MAX_WORDS_WITH_STOP = 12
HEADER_SCAN_LINES = 3
TITLE_CASE_SHARE = 0.8

# --- dates -------------------------------------------------------------------

_DATE_LINE = re.compile(
    r"(?:date|dated|published)\s*:?\s+"
    r"(?P<date>\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}))?)?)"
    r"(?:\s+(?P<rest>\S.*))?",
    re.IGNORECASE,
)
_MIN_YEAR = 1900
_MAX_YEAR = 2200


def parse_datetime(value: object) -> datetime | None:
    """A timezone-aware datetime from the shapes dates arrive in, or ``None``.

    Accepts ISO 8601 strings, RFC 2822 strings (feeds) and Unix timestamps in
    seconds or milliseconds. A date without a zone is taken as UTC, because a
    naive datetime cannot be compared with the aware ones stored elsewhere.
    Garbage gives ``None`` rather than an error: a bad date must not cost
    the article, the caller falls back to the file's mtime.
    """
    parsed: datetime | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        parsed = _from_timestamp(float(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            return None
        if text.isdigit():
            parsed = _from_timestamp(float(text)) if len(text) >= 9 else None
        else:
            parsed = _from_string(text)
    if parsed is None or not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def _from_string(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _from_timestamp(value: float) -> datetime | None:
    if value != value or value <= 0:
        return None
    if value >= 1e11:
        value /= 1000.0
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# --- credits -------------------------------------------------------------------

_SOURCE_RE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(a) for a in sorted(SOURCE_ALIASES, key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_LEFTOVER_RE = re.compile(r"(?:[\s,/&;.+|-]|\band\b|\bstaff\b|\bwires?\b)*", re.IGNORECASE)
_DESK_SLUG = re.compile(r"[a-z]{2,8}(?:-[a-z]{1,8})*(?:/[a-z]{1,8}(?:-[a-z]{1,8})*)+")
_PAREN_CREDIT = re.compile(r"[(\[]\s*(?P<names>[^()\[\]]{1,60}?)\s*[)\]]")
_DASH_CREDIT = re.compile(r"(?:[-–—]+\s*)?(?P<names>[^.!?]{1,60}?)\.?")
_REPORTING_CREDIT = re.compile(
    r"(?:with\s+)?(?:additional\s+)?(?:reporting|writing|editing|compiled|research)"
    r"\s+(?:by|from)\s+(?P<names>.+)",
    re.IGNORECASE,
)
_LABEL_CREDIT = re.compile(r"(?:(?:by|via)\s+|sources?\s*:\s*)(?P<names>.{2,80})", re.IGNORECASE)
_COPYRIGHT_CREDIT = re.compile(r"(?:©|\(c\)|copyright\b)(?P<names>.{0,120})", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[a-z]{2}[.!?][\"”’]?\s+[\"“‘]?[A-Z]")
_TRAILING_CREDIT = re.compile(r"\s*[(\[](?P<names>[^()\[\]]{2,40})[)\]]$")
_DATELINE = re.compile(
    r"[A-Z][A-Za-z .'’-]{1,40}(?:,[^()]{1,30})?\s*\((?P<names>[A-Za-z/ .-]{2,40})\)\s*[-–—]+\s"
)


def sources_in(text: str) -> list[str]:
    """Canonical names of the known sources named in ``text``, in order."""
    found: list[str] = []
    for m in _SOURCE_RE.finditer(text):
        name = SOURCE_ALIASES[" ".join(m.group().casefold().split())]
        if name not in found:
            found.append(name)
    return found


def _only_sources(names: str) -> list[str]:
    """The sources in ``names`` if it consists of nothing else, else ``[]``."""
    found = sources_in(names)
    if found and _LEFTOVER_RE.fullmatch(_SOURCE_RE.sub("", names)):
        return found
    return []


def _reads_like_credit(line: str) -> bool:
    """A sign-off has no sentence break and ends without a stop unless short."""
    if _SENTENCE_BREAK.search(line):
        return False
    return not line.endswith(".") or len(line.split()) <= CREDIT_MAX_WORDS_WITH_STOP


def credit_hints(line: str) -> list[str] | None:
    """Source hints if the whole line is a credit, ``None`` if it is story text.

    Credits say where the story came from, which is worth keeping as a hint,
    but they are not story text and would pollute the extractors. Only whole
    lines with a credit's shape qualify, so a sentence that merely mentions
    Reuters stays in the body.
    """
    if len(line) > CREDIT_MAX_CHARS:
        return None
    if _DESK_SLUG.fullmatch(line):
        return [DESK_SLUG_SOURCE]
    m = _PAREN_CREDIT.fullmatch(line)
    if m:
        return _only_sources(m.group("names")) or None
    m = _REPORTING_CREDIT.fullmatch(line)
    if m and _reads_like_credit(line):
        hints = sources_in(m.group("names"))
        lowered = line.casefold()
        if ";" in line and "editing by" in lowered and REUTERS_STYLE_SOURCE not in hints:
            hints.append(REUTERS_STYLE_SOURCE)
        return hints
    m = _COPYRIGHT_CREDIT.fullmatch(line)
    if m:
        return sources_in(m.group("names")) or None
    m = _LABEL_CREDIT.fullmatch(line)
    if m:
        return _only_sources(m.group("names")) or None
    m = _DASH_CREDIT.fullmatch(line)
    if m:
        return _only_sources(m.group("names")) or None
    return None


def inline_credits(paragraphs: list[str]) -> list[str]:
    """Hints from credits inside paragraphs, stripping trailing ones in place.

    ``KYIV, Feb 2 (Reuters) - …`` datelines are left in the text (they carry
    the place) but still tell the source; a ``… he said. (AFP)`` suffix is
    removed, it is the same credit as an ``(AFP)`` line.
    """
    hints: list[str] = []
    if paragraphs:
        m = _DATELINE.match(paragraphs[0])
        if m:
            hints.extend(_only_sources(m.group("names")))
    for i, para in enumerate(paragraphs):
        if not para.endswith((")", "]")):
            continue
        m = _TRAILING_CREDIT.search(para)
        if m and m.start() > 0:
            found = _only_sources(m.group("names"))
            if found:
                hints.extend(found)
                paragraphs[i] = para[: m.start()].rstrip()
    return hints


# --- lines -------------------------------------------------------------------


@dataclass(slots=True)
class Line:
    """One non-empty line with the blank lines around it.

    Blank lines are the only layout plain text has, so the header and
    sub-head rules look at them.
    """

    text: str
    blanks_before: int = 0
    blanks_after: int = 0
    heading: bool = False


@dataclass(slots=True)
class Body:
    """What the body rules produce for any format."""

    paragraphs: list[str] = field(default_factory=list)
    subheads: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


def collapse(line: str) -> str:
    """Strip and squeeze whitespace (including no-break spaces) in one line."""
    return " ".join(line.split())


def to_lines(raw: Iterable[str], boilerplate: Boilerplate, hints: list[str]) -> list[Line]:
    """Non-empty lines minus credits and furniture, with blank-line counts.

    Removed lines vanish without adding blanks, so furniture between two
    paragraphs does not change how they read. A cut-off line (``Leave a
    Reply``) ends the article once some text has been kept.
    """
    lines: list[Line] = []
    blanks = 0
    for item in raw:
        text = collapse(item)
        if not text:
            blanks += 1
            continue
        verdict = boilerplate.verdict(text)
        if verdict == "cutoff" and lines:
            break
        credit = credit_hints(text)
        if credit is not None:
            hints.extend(credit)
            continue
        if verdict is not None:
            continue
        if lines:
            lines[-1].blanks_after = blanks
        lines.append(Line(text, blanks_before=blanks))
        blanks = 0
    if lines:
        lines[-1].blanks_after = blanks
    return lines


# --- header ------------------------------------------------------------------

_BYLINE = re.compile(r"By\s+[A-Z][^.!?:;]{1,60}")
_CLOSERS = "\"”’')]"
_ELLIPSES = ("...", "…")
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into"}
    | {"of", "on", "or", "over", "the", "to", "up", "via", "vs", "with"}
)


def is_headline(text: str) -> bool:
    """Whether a line reads like a headline (or caption) rather than prose.

    Headlines are short, do not end in a full stop (a question mark or an
    ellipsis is fine: "What now for British tennis?"), and contain no
    sentence break. Periods in abbreviations ("U.S. Sends") are not breaks
    because a break needs a lowercase word before the stop.
    """
    if len(text) > TITLE_MAX_CHARS or not any(c.isalpha() for c in text):
        return False
    core = text.rstrip(_CLOSERS)
    if core.endswith(".") and not core.endswith(_ELLIPSES):
        return False
    return _SENTENCE_BREAK.search(text) is None


def _title_case_share(text: str) -> float:
    """Share of significant words that are capitalised (1.0 for Title Case)."""
    words = [w for w in text.split() if w.casefold() not in _SMALL_WORDS]
    if not words:
        return 0.0
    upper = sum(1 for w in words if w.lstrip("\"“‘'(").lstrip()[:1].isupper())
    return upper / len(words)


@dataclass(slots=True)
class Header:
    """Title and caption found above the body, and the body lines left."""

    title: str | None = None
    caption: str | None = None
    body: list[Line] = field(default_factory=list)


def split_header(lines: list[Line]) -> Header:
    """Separate caption and title from the body.

    The header is the run of headline-like lines before the first prose
    line (bylines are skipped). A title needs a body after it: a lone short
    line is the whole story, not its headline.

    With two headline-like lines, a web page saved as text usually shows
    the photo caption above the headline, and the headline is the one set
    apart by more blank lines or written in Title Case. So the second line
    is the title and the first the caption when the second has more blank
    lines after it, or is longer and in Title Case while the first is not.
    Otherwise the first line is the title and the second, a standfirst,
    stays in the body: a headline over a short standfirst is the commoner
    layout, and wrongly demoting a real headline to a caption loses more.
    Three or more headline-like lines are a list, not a header: only the
    first becomes the title.
    """
    heads: list[int] = []
    i = 0
    while i < len(lines) and len(heads) < HEADER_SCAN_LINES:
        text = lines[i].text
        if _BYLINE.fullmatch(text) and len(text.split()) <= SUBHEAD_MAX_WORDS:
            lines.pop(i)
            continue
        if not is_headline(text):
            break
        heads.append(i)
        i += 1
    if not heads or len(lines) < 2:
        return Header(body=lines)
    if len(heads) == 2 and len(lines) > 2:
        first, second = lines[0], lines[1]
        spaced_apart = second.blanks_after > first.blanks_after
        title_cased = (
            _title_case_share(second.text) >= TITLE_CASE_SHARE > _title_case_share(first.text)
        )
        if spaced_apart or (title_cased and len(second.text) > len(first.text)):
            return Header(title=second.text, caption=first.text, body=lines[2:])
    return Header(title=lines[0].text, body=lines[1:])


# --- body --------------------------------------------------------------------

_DASH_FRAMED = re.compile(r"[-–—]+\s*(?P<inner>[^-–—\s].{0,118}?)\s*[-–—]+")
_ENDS_PROSE = re.compile(r"[.!?…][\"”’')\]]*$")
_STARTS_SENTENCE = re.compile(r"[\"“‘'(]?[A-Z0-9]")
_NO_FINAL_PUNCT = re.compile(r".*[^.!?:;,…\"”’')\]]|.*[^.!?:;,…][\"”’')\]]+")


def _is_short_unpunctuated(text: str) -> bool:
    if len(text) > SUBHEAD_MAX_CHARS or len(text.split()) > SUBHEAD_MAX_WORDS:
        return False
    first = text.lstrip("\"“‘'")[:1]
    return first.isupper() and _NO_FINAL_PUNCT.fullmatch(text) is not None


def _is_soft_subhead(previous: Line, line: Line, following: Line) -> bool:
    """A short unpunctuated line set apart by blank lines between two prose lines.

    Requiring a finished sentence before and a new one after keeps lists
    (fixtures, nominees, schedules), "label:" lines and sentences broken
    across lines in the body: there the neighbours are short, end in a
    colon, or start in lowercase.
    """
    if line.blanks_before < 1 or line.blanks_after < 1:
        return False
    return (
        _is_short_unpunctuated(line.text)
        and _ENDS_PROSE.search(previous.text) is not None
        and not _is_short_unpunctuated(previous.text)
        and _STARTS_SENTENCE.match(following.text) is not None
        and not _is_short_unpunctuated(following.text)
    )


def split_body(lines: Sequence[Line], *, plain: bool = True) -> tuple[list[str], list[str]]:
    """Paragraphs and sub-heads from body lines.

    Lines flagged ``heading`` (HTML headings) and dash-framed lines are
    sub-heads. Two more rules guess at layout and apply to ``plain`` text
    only, since HTML states its structure:

    * a short line without final punctuation that stands between blank
      lines inside the body (not first or last, where it would more likely
      be a short paragraph or a sign-off) is a sub-head. Single-newline
      text gives no such context, so short lines there stay paragraphs:
      losing a sub-head costs less than losing a sentence the extractors
      should have read;
    * a line starting in lowercase after a line without final punctuation
      continues that sentence (text wrapped by a scraper) and is joined.
    """
    paragraphs: list[str] = []
    subheads: list[str] = []
    last = len(lines) - 1
    for i, line in enumerate(lines):
        text = line.text
        if line.heading:
            subheads.append(text)
            continue
        m = _DASH_FRAMED.fullmatch(text) if len(text) <= SUBHEAD_MAX_CHARS + 4 else None
        if m:
            subheads.append(m.group("inner"))
        elif plain and paragraphs and text[:1].islower() and not _ENDS_PROSE.search(paragraphs[-1]):
            paragraphs[-1] = f"{paragraphs[-1]} {text}"
        elif (
            plain
            and 0 < i < last
            and paragraphs
            and _is_soft_subhead(lines[i - 1], line, lines[i + 1])
        ):
            subheads.append(text)
        else:
            paragraphs.append(text)
    return paragraphs, subheads


def body_from_text(text: str, boilerplate: Boilerplate) -> Body:
    """Paragraphs, sub-heads and hints of a text with no header (JSON bodies)."""
    body = Body()
    lines = to_lines(text.split("\n"), boilerplate, body.hints)
    body.paragraphs, body.subheads = split_body(lines)
    body.hints.extend(inline_credits(body.paragraphs))
    return body


# --- titles and the finished article -------------------------------------------

_SENTENCE_END = re.compile(r"[.!?][\"”’)\]]*(?=\s+[\"“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "lt", "col", "sgt", "capt"}
    | {"st", "mt", "no", "vs", "etc", "inc", "corp", "co", "ltd", "jr", "sr"}
    | {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph, ignoring stops after abbreviations."""
    for m in _SENTENCE_END.finditer(text, 0, 600):
        words = text[: m.start()].rsplit(None, 1)
        word = words[-1].lstrip('"“‘(') if words else ""
        if len(word) <= 1 or "." in word or word.casefold() in _ABBREVIATIONS:
            continue
        return text[: m.end()]
    return text


def derive_title(paragraph: str, limit: int = DERIVED_TITLE_MAX_CHARS) -> str:
    """A title made from the lead: its first sentence, cut on a word boundary.

    Used when the source has no headline, so alerts and listings still have
    something a person can recognise. A final full stop is dropped (titles
    do not have one) and a cut is marked with an ellipsis.
    """
    sentence = first_sentence(paragraph).strip()
    if sentence.endswith(".") and not sentence.endswith(_ELLIPSES):
        sentence = sentence[:-1]
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:–—-") + "…"


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for x in items if x))


def finish(
    *,
    title: str | None,
    body: Body,
    published: datetime | None,
    mtime: datetime,
    fmt: str,
    caption: str | None = None,
    url: str | None = None,
) -> Article:
    """The article with its fallbacks applied, or ``ParseError('no_text')``.

    Text without a single letter (rules, numbers, stray markup) is no
    article whatever its format.

    Every format ends here so that "no date" and "no title" are handled the
    same way and flagged (``date_estimated``, ``title_derived``) for later
    stages to weigh.
    """
    if not body.paragraphs:
        raise ParseError("no_text", detail="no paragraphs left after removing furniture")
    if not any(c.isalpha() for paragraph in body.paragraphs for c in paragraph):
        raise ParseError("no_text", detail="no letters in the text")
    title = collapse(title) if title else ""
    derived = not title
    if derived:
        title = derive_title(body.paragraphs[0])
    return Article(
        title=title,
        paragraphs=tuple(body.paragraphs),
        published=published if published is not None else mtime,
        date_estimated=published is None,
        title_derived=derived,
        caption=caption,
        subheads=tuple(body.subheads),
        source_hints=_unique(body.hints),
        url=url,
        format=fmt,
    )


# --- the text format -----------------------------------------------------------


def _take_date_line(raw: list[str]) -> tuple[datetime | None, list[str], bool]:
    """Find and remove a date line among the first non-empty lines.

    Returns the date, the remaining lines and whether the first paragraph
    was glued to the date line, in which case the text has no headline.
    """
    seen = 0
    for i, line in enumerate(raw):
        stripped = line.strip()
        if not stripped:
            continue
        m = _DATE_LINE.fullmatch(stripped)
        if m:
            rest = m.group("rest")
            lines = raw[:i] + ([rest] if rest else []) + raw[i + 1 :]
            return parse_datetime(m.group("date")), lines, rest is not None and seen == 0
        seen += 1
        if seen >= HEADER_SCAN_LINES:
            break
    return None, raw, False


def parse_text(text: str, *, mtime: datetime, boilerplate: Boilerplate) -> Article:
    """One article from a plain-text file (see the module docstring)."""
    published, raw, glued = _take_date_line(text.split("\n"))
    body = Body()
    lines = to_lines(raw, boilerplate, body.hints)
    header = Header(body=lines) if glued else split_header(lines)
    body.paragraphs, body.subheads = split_body(header.body)
    body.hints.extend(inline_credits(body.paragraphs))
    return finish(
        title=header.title,
        caption=header.caption,
        body=body,
        published=published,
        mtime=mtime,
        fmt="text",
    )
