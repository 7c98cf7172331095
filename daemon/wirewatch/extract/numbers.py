"""Reading numbers as news writes them: digits, number words and vague amounts.

Kept apart from figure extraction because the tables here are plain
language facts (what "dozen" or "tens of thousands of" means) that change for
different reasons than the heuristics deciding what counts as a figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

UNITS: Final[dict[str, int]] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS: Final[dict[str, int]] = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS: Final[dict[str, int]] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES: Final[dict[str, float]] = {
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
}
# Abbreviated scales written glued to digits ("$7.4bn", "£15.8m", "1.5m people").
GLUED_SCALES: Final[dict[str, float]] = {
    "k": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "billion": 1e9,
    "tn": 1e12,
    "trn": 1e12,
    "trillion": 1e12,
}

# Vague magnitudes and the (low, high) bounds they are read as. A plural
# scale ("thousands of") means at least two of that scale and less than the
# next power of ten up; "several" is 3..9 of it and "a few" 2..5, so that
# "several thousand" is 3,000..9,000. "Dozens of" stops short of "hundreds".
VAGUE: Final[tuple[tuple[tuple[str, ...], float, float], ...]] = (
    (("hundreds", "of", "thousands", "of"), 2e5, 999_999),
    (("tens", "of", "thousands", "of"), 2e4, 99_999),
    (("hundreds", "of", "millions", "of"), 2e8, 999_999_999),
    (("tens", "of", "millions", "of"), 2e7, 99_999_999),
    (("hundreds", "of", "billions", "of"), 2e11, 999_999_999_999),
    (("tens", "of", "billions", "of"), 2e10, 99_999_999_999),
    (("several", "hundred", "thousand"), 3e5, 9e5),
    (("a", "few", "hundred", "thousand"), 2e5, 5e5),
    (("many", "thousands", "of"), 2e3, 9_999),
    (("many", "hundreds", "of"), 200, 999),
    (("thousands", "of"), 2e3, 9_999),
    (("hundreds", "of"), 200, 999),
    (("millions", "of"), 2e6, 9_999_999),
    (("billions", "of"), 2e9, 9_999_999_999),
    (("dozens", "of"), 24, 99),
    (("scores", "of"), 40, 199),
    (("tens", "of"), 20, 99),
    (("several", "dozen"), 36, 108),
    (("several", "hundred"), 300, 900),
    (("several", "thousand"), 3e3, 9e3),
    (("several", "million"), 3e6, 9e6),
    (("several", "billion"), 3e9, 9e9),
    (("a", "few", "dozen"), 24, 60),
    (("a", "few", "hundred"), 200, 500),
    (("a", "few", "thousand"), 2e3, 5e3),
    (("a", "few", "million"), 2e6, 5e6),
    (("a", "few", "billion"), 2e9, 5e9),
)
VAGUE_FIRST_WORDS: Final[frozenset[str]] = frozenset(words[0] for words, _, _ in VAGUE)
# ``VAGUE`` by first word, each list in table order, so a lookup tries only
# the phrases that can match.
_VAGUE_BY_FIRST: Final[dict[str, list[tuple[tuple[str, ...], float, float]]]] = {
    first: [entry for entry in VAGUE if entry[0][0] == first] for first in VAGUE_FIRST_WORDS
}

# Words that may start a spelled-out number; "a"/"an"/"half" only with a scale after.
NUMBER_WORDS: Final[frozenset[str]] = frozenset(
    [*UNITS, *TEENS, *TENS, "hundred", *SCALES, "dozen", "a", "an", "half"]
)
# Words after which "a"/"an" is a number ("a hundred", "a million").
ARTICLE_FOLLOWERS: Final[frozenset[str]] = frozenset(["hundred", *SCALES, "dozen"])

_EN_NUMBER = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?")
_EU_NUMBER_THOUSANDS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?")
_EU_NUMBER_PLAIN = re.compile(r"[0-9]+(?:,[0-9]+)?|[0-9]+\.[0-9]{1,2}")

# Signals of number style. European style writes "1.234.567" and "3,5";
# English style writes "1,234" and "3.5".
_EU_MULTI_DOT = re.compile(r"(?<![0-9.,])[0-9]{1,3}(?:\.[0-9]{3}){2,}(?![0-9.,]*[0-9])")
_EU_DECIMAL_COMMA = re.compile(r"(?<![0-9.,])[0-9]+,[0-9]{1,2}(?![0-9]|,[0-9])")
_EU_DOT_THOUSANDS = re.compile(r"(?<![0-9.,])[0-9]{1,3}\.[0-9]{3}(?![0-9]|[.,][0-9])")
_EN_COMMA_THOUSANDS = re.compile(r"(?<![0-9.,])[0-9]{1,3}(?:,[0-9]{3})+(?![0-9]|,[0-9])")
_EN_DECIMAL = re.compile(r"(?<![0-9.,])[0-9]+\.[0-9]{1,2}(?![0-9]|[.,][0-9])")
# Every signal above needs digits, a dot or comma, then a digit.
_DIGIT_RUN = re.compile(r"[0-9]+")
_SEPARATED = re.compile(r"[0-9]+[.,][0-9]")
_RUN_CHARS: Final = frozenset("0123456789.,")

MAX_DIGITS: Final = 15


def is_european_style(text: str) -> bool:
    """Guess whether ``text`` writes numbers the continental way ("100.000", "3,5").

    Decided once per text rather than per number because a lone "100.000" is
    ambiguous; the rest of the article usually is not. Any English-style
    thousands separator ("100,000") settles it as English.
    """
    return is_european_style_at(text, (m.start() for m in _DIGIT_RUN.finditer(text)))


def is_european_style_at(text: str, starts: Iterable[int]) -> bool:
    """``is_european_style`` for a caller that already knows where the numbers start.

    ``starts`` must hold, once each, the start of every run of digits in
    ``text`` that begins a run of digits, dots and commas; other positions
    are skipped. Every style
    signal starts such a run and stays inside it, so each run holds at most
    one match of each signal, and trying them only there counts exactly what
    scanning the whole text with each would, at a fraction of the cost.
    """
    signals = english = 0
    for start in starts:
        if start and text[start - 1] in _RUN_CHARS:
            continue
        if not _SEPARATED.match(text, start):
            continue
        if _EN_COMMA_THOUSANDS.match(text, start):
            return False
        if _EU_MULTI_DOT.match(text, start):
            signals += 1
        if _EU_DECIMAL_COMMA.match(text, start):
            signals += 1
        if _EU_DOT_THOUSANDS.match(text, start):
            signals += 1
        if _EN_DECIMAL.match(text, start):
            english += 1
    return signals > english


def parse_digits(s: str, european: bool) -> float | None:
    """The value of a digit string such as "100,000" or "5.65", or None if malformed.

    Malformed means grouping that is not thousands ("1,2,3", "2.4.2005"):
    those are lists, dates or identifiers rather than amounts.
    """
    if s.isascii() and s.isdigit():
        # Plain digits, the usual case, read the same in either style.
        return float(s) if len(s) <= MAX_DIGITS else None
    if len(s) - s.count(",") - s.count(".") > MAX_DIGITS:
        return None
    if european:
        if _EU_NUMBER_THOUSANDS.fullmatch(s):
            return float(s.replace(".", "").replace(",", "."))
        if _EU_NUMBER_PLAIN.fullmatch(s):
            return float(s.replace(",", "."))
        return None
    if _EN_NUMBER.fullmatch(s):
        return float(s.replace(",", ""))
    return None


def parse_spelled(words: Sequence[str]) -> tuple[float, int] | None:
    """Read a spelled-out number at the start of ``words`` (lowercase tokens).

    Returns (value, tokens consumed), e.g. ["two", "thousand", "five",
    "hundred", "troops"] -> (2500.0, 4), ["twenty-five"] -> (25.0, 1),
    ["half", "a", "million"] -> (500000.0, 3); None if no number starts here.
    The grammar is deliberately strict (no "five four") so that lists and
    idioms are not glued into one number.
    """
    if not words:
        return None
    first = words[0]
    if first in ("a", "an") and (len(words) < 2 or words[1] not in ARTICLE_FOLLOWERS):
        return None
    if first == "half":
        if len(words) >= 3 and words[1] == "a" and words[2] in SCALES:
            return 0.5 * SCALES[words[2]], 3
        return None
    total = 0.0
    current = 0.0
    last = ""
    last_scale = float("inf")
    consumed = 0
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        if i == 0 and w in ("a", "an"):
            current, last = 1.0, "unit"
        elif w == "and":
            nxt = words[i + 1] if i + 1 < n else ""
            if (
                last in ("unit", "tens")
                and words[i + 1 : i + 3] == ["a", "half"]
                and i + 3 < n
                and words[i + 3] in SCALES
            ):
                current += 0.5
                i += 3
                consumed = i
                continue
            if last in ("hundred", "scale") and _is_small_number_word(nxt):
                i += 1
                continue
            break
        elif "-" in w:
            parts = w.split("-")
            if (
                len(parts) == 2
                and parts[0] in TENS
                and parts[1] in UNITS
                and last in ("", "hundred", "scale")
            ):
                current += TENS[parts[0]] + UNITS[parts[1]]
                last = "unit"
            else:
                break
        elif w in UNITS:
            if last in ("", "hundred", "scale") or (last == "tens" and current % 10 == 0):
                current += UNITS[w]
                last = "unit"
            else:
                break
        elif w in TEENS:
            if last in ("", "hundred", "scale"):
                current += TEENS[w]
                last = "teen"
            else:
                break
        elif w in TENS:
            if last in ("", "hundred", "scale"):
                current += TENS[w]
                last = "tens"
            else:
                break
        elif w == "hundred":
            if last in ("unit", "teen") and 0 < current % 100 < 100:
                current = (current - current % 100) + (current % 100) * 100
                last = "hundred"
            else:
                break
        elif w in SCALES:
            scale = SCALES[w]
            if last in ("unit", "teen", "tens", "hundred") and current > 0 and scale < last_scale:
                total += current * scale
                current = 0.0
                last_scale = scale
                last = "scale"
            else:
                break
        elif w == "dozen":
            if last in ("unit", "teen", "tens") and current > 0:
                current *= 12
                consumed = i + 1
                break
            break
        else:
            break
        i += 1
        consumed = i
    if consumed == 0 or last == "":
        return None
    return total + current, consumed


def _is_small_number_word(w: str) -> bool:
    if w in UNITS or w in TEENS or w in TENS:
        return True
    parts = w.split("-")
    return len(parts) == 2 and parts[0] in TENS and parts[1] in UNITS


def match_vague(words: Sequence[str]) -> tuple[float, float, int] | None:
    """Match a vague magnitude ("tens of thousands of") at the start of ``words``.

    Returns (low, high, tokens consumed) using the bounds in ``VAGUE``.
    """
    if not words:
        return None
    for phrase, low, high in _VAGUE_BY_FIRST.get(words[0], ()):
        k = len(phrase)
        if tuple(words[:k]) == phrase:
            return low, high, k
    return None
