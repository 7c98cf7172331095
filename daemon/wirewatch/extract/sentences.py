"""Sentence splitting good enough for news copy.

A figure is reported together with its sentence, and the sentence bounds
which earlier noun an elliptical count ("and another 2,000") may borrow, so
the split errs towards keeping abbreviations ("U.S.", "Mr.", "Jan.") inside
a sentence rather than cutting at every full stop.
"""

from __future__ import annotations

import re
from typing import Final


def _words(text: str) -> frozenset[str]:
    """A word table written as one whitespace-separated string, for readability."""
    return frozenset(text.split())


# A line break always ends a sentence: articles arrive one paragraph a line.
# A full stop, "!" or "?" (with any closing quotes or brackets) ends one when
# the next word starts with a capital, a digit or an opening quote.
_BOUNDARY: Final = re.compile(r"\n|[.!?]++[\"'”’)\]]*+(?=\s++[\"'“‘(\[]?+[A-Z0-9À-ÖØ-Þ])")
_LAST_WORD: Final = re.compile(r"(\S+)$")
# Characters a boundary match is made of.
_CLUSTER: Final = frozenset(".!?\"'”’)]")
_INITIAL_OR_ACRONYM: Final = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")

ABBREVIATIONS: Final[frozenset[str]] = _words(
    """mr mrs ms dr prof st sr jr gen col lt sgt capt cpl maj adm gov sen rep rev hon
    pres supt insp det no nos vs jan feb mar apr jun jul aug sep sept oct nov dec
    mt ft approx est fig co corp inc ltd bros dept univ"""
)
# A word of this many letters is longer than any abbreviation.
_LONG_WORD: Final = max(map(len, ABBREVIATIONS)) + 1


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences of ``text``, in order, trimmed of whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group() != "\n" and _is_abbreviation(text, m.start()):
            continue
        end = m.start() if m.group() == "\n" else m.end()
        _append_trimmed(text, start, end, spans)
        start = m.end()
    _append_trimmed(text, start, len(text), spans)
    return spans


def sentence_at(text: str, pos: int) -> tuple[int, int]:
    """The span of ``split_sentences(text)`` that holds ``pos`` (a non-space character).

    Found from ``pos`` outwards, for a caller that needs a few sentences of a
    long text rather than all of them. A boundary is punctuation and closers
    (a "cluster"); the split's scan reaches the first character of every
    cluster afresh, so which boundaries a cluster holds depends on it alone
    and can be read without scanning from the start.
    """
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if line_end < 0:
        line_end = len(text)
    scan = pos
    while scan > line_start and text[scan - 1] in _CLUSTER:
        scan -= 1
    start = _last_boundary_before(text, line_start, line_end, scan)
    end = line_end
    for m in _BOUNDARY.finditer(text, scan):
        if m.start() >= line_end:
            break
        if _is_abbreviation(text, m.start()):
            continue
        if m.end() > pos:
            end = m.end()
            break
        start = m.end()
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _last_boundary_before(text: str, line_start: int, line_end: int, stop: int) -> int:
    """Where the last sentence boundary of the line before ``stop`` ends (else the line start).

    ``stop`` is not inside a cluster, so the clusters before it are whole.
    """
    while True:
        mark = max(
            text.rfind(".", line_start, stop),
            text.rfind("!", line_start, stop),
            text.rfind("?", line_start, stop),
        )
        if mark < 0:
            return line_start
        first = mark
        while first > line_start and text[first - 1] in _CLUSTER:
            first -= 1
        last = mark + 1
        while last < line_end and text[last] in _CLUSTER:
            last += 1
        found = -1
        q = first
        while q < last:
            m = _BOUNDARY.match(text, q)
            if m is None:
                q += 1
                continue
            if not _is_abbreviation(text, q):
                found = m.end()
            q = m.end()
        if found >= 0:
            return found
        stop = first


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` closes an abbreviation rather than a sentence."""
    if text[dot] != ".":
        return False
    if dot >= _LONG_WORD and text[dot - _LONG_WORD : dot].isalpha():
        # A word longer than any abbreviation, and no initials.
        return False
    window = text[max(0, dot - 24) : dot]
    if window and not window[-1].isspace():
        # The word the full stop ends, as ``_LAST_WORD`` would find it.
        word = window.rsplit(None, 1)[-1]
    else:
        m = _LAST_WORD.search(text, max(0, dot - 24), dot)
        if m is None:
            return False
        word = m.group(1)
    word = word.lstrip("\"'“‘([")
    if word.lower() in ABBREVIATIONS:
        return True
    return _INITIAL_OR_ACRONYM.fullmatch(word) is not None


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
