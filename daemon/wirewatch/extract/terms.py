"""Watched key terms, found in one pass over an article.

A watchlist may hold thousands of names, so it is compiled once into an
Aho-Corasick automaton (``ahocorasick_rs``, which wraps the Rust
``aho-corasick`` crate): finding every term is one pass over the text, in
Rust, with Python work only per raw hit, never per term. The automaton is
built as a DFA, which steps each byte of the text with one table lookup
however many terms there are; it takes more memory and build time than
the crate's NFAs (about 12 MB and 60 ms for 10,000 names) and is the
fastest of the three to search with.

The DFA's cost per byte is still not quite independent of its size: a
table that outgrows the CPU caches costs a cache miss whenever the text
leads the automaton deep into rarely visited states. With a realistic
watchlist that happens seldom, and 10,000 terms cost about 1.1 times what
10 cost per article; in the worst case, where every padding term extends a
name that occurs in the text, 1.8 to 1.9 times (``bench.terms`` measures
both).

Matching is case-insensitive (``str.casefold``) and treats any run of
whitespace as one space, so "Nord Stream 2" is found across a line break.
Both steps can change the text's length ("ß" folds to "ss", a blank line
shrinks to one space), so the text is matched in a normalised form together
with an offset map back to the original: every span returned indexes the
text that was passed in, and ``text[m.start:m.end] == m.matched``.

A term only matches as whole words: the characters on either side of a hit
must not be letters, digits or combining marks (``str.isalnum`` plus marks),
so "Kiev" is not found in "Kievan" nor "Russia" in "Russian", while
"NATO's" and "pro-Kyiv" do contain a mention.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ahocorasick_rs

from wirewatch.models import Mention

__all__ = ["Watchlist", "compile_watchlist", "count_mentions", "find_mentions", "normalise"]

# Every whitespace character but the plain space; each becomes one space.
# All of Unicode's whitespace lies below U+3001 (IDEOGRAPHIC SPACE is last).
_SPACE_CHARS: tuple[str, ...] = tuple(
    ch for ch in map(chr, range(0x3001)) if ch.isspace() and ch != " "
)
# Typographic variants that writers and editors use interchangeably, so that
# a term written "Côte d'Ivoire" also finds "Côte d’Ivoire". Each maps one
# character to one character, so offsets are unchanged.
_VARIANTS: tuple[tuple[str, str], ...] = (
    ("\u2019", "'"),  # right single quotation mark
    ("\u2018", "'"),  # left single quotation mark
    ("\u02bc", "'"),  # modifier letter apostrophe
    ("\u2010", "-"),  # hyphen
    ("\u2011", "-"),  # non-breaking hyphen
)
_SPACE_RUN = re.compile(" +")


@dataclass(frozen=True, slots=True)
class _OffsetMap:
    """Maps spans of a rewritten string back to the string it came from.

    The rewrite is described by its *pieces*: places where a run of source
    characters became a replacement of another length (a whitespace run
    became one space, "ß" became "ss"). Between pieces the two strings are
    aligned character for character, so only the pieces need storing and a
    lookup is one bisection, not a per-character table.
    """

    new_starts: list[int]
    new_ends: list[int]
    old_starts: list[int]
    old_ends: list[int]

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """The source span for ``[start, end)``.

        A span edge inside a piece widens to the whole piece. Hits never
        have one: a hit must not touch a word character, and every piece is
        either a space or the fold of one letter, made of word characters
        only, so a hit cannot start or end inside one.
        """
        if not self.new_starts:
            return start, end
        k = bisect_right(self.new_starts, start) - 1
        if k < 0:
            src_start = start
        elif start < self.new_ends[k]:
            src_start = self.old_starts[k]
        else:
            src_start = self.old_ends[k] + (start - self.new_ends[k])
        k = bisect_right(self.new_starts, end - 1) - 1
        if k < 0:
            src_end = end
        elif end <= self.new_ends[k]:
            src_end = self.old_ends[k]
        else:
            src_end = self.old_ends[k] + (end - self.new_ends[k])
        return src_start, src_end


_IDENTITY = _OffsetMap([], [], [], [])


def _fold(text: str) -> tuple[str, _OffsetMap]:
    """Casefold ``text``, mapping back where folding changed the length.

    Almost every text folds character for character; only then is the
    result's length unchanged, because no character folds to nothing.
    Otherwise the few expanding characters ("ß", "İ", ligatures) become
    pieces of the offset map.
    """
    folded = text.casefold()
    if len(folded) == len(text):
        return folded, _IDENTITY
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    old_starts: list[int] = []
    old_ends: list[int] = []
    pos = 0
    new_pos = 0
    for i, ch in enumerate(text):
        ch_folded = ch.casefold()
        if len(ch_folded) == 1:
            continue
        parts.append(text[pos:i].casefold())
        new_pos += i - pos
        parts.append(ch_folded)
        new_starts.append(new_pos)
        new_pos += len(ch_folded)
        new_ends.append(new_pos)
        old_starts.append(i)
        old_ends.append(i + 1)
        pos = i + 1
    parts.append(text[pos:].casefold())
    return "".join(parts), _OffsetMap(new_starts, new_ends, old_starts, old_ends)


def _squeeze_spaces(text: str) -> tuple[str, _OffsetMap]:
    """Turn every whitespace run into a single space, mapping back.

    Single whitespace characters and typographic variants are replaced in
    place (length unchanged); only runs of two or more spaces become pieces
    of the offset map, and a news article has few of those (paragraph
    breaks), so this stays cheap.
    """
    for ch in _SPACE_CHARS:
        if ch in text:
            text = text.replace(ch, " ")
    for variant, plain in _VARIANTS:
        if variant in text:
            text = text.replace(variant, plain)
    run = text.find("  ")
    if run < 0:
        return text, _IDENTITY
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    old_starts: list[int] = []
    old_ends: list[int] = []
    pos = 0
    new_pos = 0
    while run >= 0:
        match = _SPACE_RUN.match(text, run)
        assert match is not None
        run_end = match.end()
        parts.append(text[pos : run + 1])
        new_pos += run - pos
        new_starts.append(new_pos)
        new_pos += 1
        new_ends.append(new_pos)
        old_starts.append(run)
        old_ends.append(run_end)
        pos = run_end
        run = text.find("  ", pos)
    parts.append(text[pos:])
    return "".join(parts), _OffsetMap(new_starts, new_ends, old_starts, old_ends)


def normalise(text: str) -> str:
    """The form in which terms and texts are compared.

    Exposed so that callers (configuration checks, tests) can tell whether
    two spellings are the same term to the matcher.
    """
    folded, _ = _fold(text)
    squeezed, _ = _squeeze_spaces(folded)
    return squeezed.strip(" ")


def _is_mark(ch: str) -> bool:
    """Whether ``ch`` is a combining mark, which continues a word.

    With marks counted as word characters, a decomposed "Kyiv" + U+0301 is
    one longer word, just as the precomposed "Kyivé" is.
    """
    return unicodedata.category(ch).startswith("M")


def _automaton(keys: Sequence[str]) -> ahocorasick_rs.AhoCorasick | None:
    """The automaton over ``keys``, reporting hits by index into ``keys``.

    Standard match semantics, because only they allow overlapping search:
    every hit must be seen, including ones nested in longer hits, so that a
    longer hit failing the word-boundary test cannot hide a shorter one.
    The DFA costs more memory and build time than the NFAs but steps each
    byte with one table lookup, whatever the number of terms.
    """
    if not keys:
        return None
    return ahocorasick_rs.AhoCorasick(
        keys,
        matchkind=ahocorasick_rs.MatchKind.Standard,
        implementation=ahocorasick_rs.Implementation.DFA,
    )


@dataclass(frozen=True)
class Watchlist:
    """A compiled watchlist: canonical terms, their spellings, the automaton.

    ``patterns`` pairs each normalised spelling with the canonical term it
    reports; build one with :func:`compile_watchlist`, which also builds
    ``automaton``, whose hits index ``patterns``. A watchlist pickles as its
    patterns and rebuilds the automaton on loading, since the automaton
    itself cannot be pickled.
    """

    terms: tuple[str, ...]
    patterns: tuple[tuple[str, str], ...]
    automaton: ahocorasick_rs.AhoCorasick | None = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.terms)

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (self.terms, self.patterns)


def _rebuild(terms: tuple[str, ...], patterns: tuple[tuple[str, str], ...]) -> Watchlist:
    """A watchlist from its terms and patterns, for unpickling."""
    return Watchlist(terms, patterns, _automaton([key for key, _ in patterns]))


def compile_watchlist(terms: Mapping[str, Sequence[str]]) -> Watchlist:
    """Compile ``{canonical: [aliases, ...]}`` into a :class:`Watchlist`.

    Spellings are compared normalised (casefolded, whitespace squeezed), so
    "NATO" and "Nato" are one spelling. When two canonical terms claim the
    same spelling, a term's own name wins over another term's alias, and
    otherwise the term listed first wins: a large, partly generated
    watchlist should not stop the daemon over a duplicate. Spellings with no
    letter or digit are skipped, since they would match punctuation.
    """
    owners: dict[str, tuple[tuple[int, int], str]] = {}
    canonical_terms: list[str] = []
    for order, (canonical, aliases) in enumerate(terms.items()):
        if isinstance(aliases, str):
            raise TypeError(f"aliases of {canonical!r} must be a list of strings, not a string")
        canonical_terms.append(canonical)
        for rank, spelling in enumerate((canonical, *aliases)):
            key = normalise(spelling)
            if not any(ch.isalnum() for ch in key):
                continue
            # Lower is better: own names (rank 0) first, then listing order.
            priority = (0 if rank == 0 else 1, order)
            held = owners.get(key)
            if held is None or priority < held[0]:
                owners[key] = (priority, canonical)
    patterns = tuple((key, canonical) for key, (_, canonical) in owners.items())
    return Watchlist(
        terms=tuple(canonical_terms), patterns=patterns, automaton=_automaton(list(owners))
    )


def find_mentions(text: str, watchlist: Watchlist) -> list[Mention]:
    """Every watched term in ``text``, in order of position, never overlapping.

    One pass of the automaton yields all raw hits, including hits inside
    longer words and hits nested in longer terms. Hits that are not whole
    words are dropped, then the leftmost-longest hits are kept, so
    "Volodymyr Zelensky" wins over "Zelensky" when both are spellings.

    The word-boundary test runs on the normalised text: casefolding never
    changes whether a character is a word character (checked for all of
    Unicode in the tests), and spaces are spaces either way, so the answer
    is the same as on the original while only surviving hits need mapping.
    """
    automaton = watchlist.automaton
    if not text or automaton is None:
        return []
    folded, fold_map = _fold(text)
    norm, space_map = _squeeze_spaces(folded)
    raw = automaton.find_matches_as_indexes(norm, overlapping=True)
    if not raw:
        return []
    size = len(norm)
    patterns = watchlist.patterns
    hits: list[tuple[int, int, str]] = []
    for index, start, end in raw:
        if start > 0:
            before = norm[start - 1]
            if before.isalnum() or (before > "\u02ff" and _is_mark(before)):
                continue
        if end < size:
            after = norm[end]
            if after.isalnum() or (after > "\u02ff" and _is_mark(after)):
                continue
        hits.append((start, -end, patterns[index][1]))
    hits.sort()
    mentions: list[Mention] = []
    taken_until = 0
    for start, neg_end, canonical in hits:
        if start < taken_until:
            continue
        taken_until = -neg_end
        src_start, src_end = fold_map.to_source(*space_map.to_source(start, taken_until))
        mentions.append(Mention(canonical, text[src_start:src_end], src_start, src_end))
    return mentions


def count_mentions(mentions: Iterable[Mention]) -> dict[str, int]:
    """How often each term was mentioned, in order of first mention."""
    counts: dict[str, int] = {}
    for mention in mentions:
        counts[mention.term] = counts.get(mention.term, 0) + 1
    return counts
