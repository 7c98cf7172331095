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
_BOUNDARY: Final = re.compile(r"\n|[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")
_LAST_WORD: Final = re.compile(r"(\S+)$")
_INITIAL_OR_ACRONYM: Final = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")

ABBREVIATIONS: Final[frozenset[str]] = _words(
    """mr mrs ms dr prof st sr jr gen col lt sgt capt cpl maj adm gov sen rep rev hon
    pres supt insp det no nos vs jan feb mar apr jun jul aug sep sept oct nov dec
    mt ft approx est fig co corp inc ltd bros dept univ"""
)


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


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` closes an abbreviation rather than a sentence."""
    if text[dot] != ".":
        return False
    m = _LAST_WORD.search(text, max(0, dot - 24), dot)
    if m is None:
        return False
    word = m.group(1).lstrip("\"'“‘([")
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
