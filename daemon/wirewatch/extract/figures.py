"""Figures an article reports: "more than 100,000 combat troops", "$7.4bn", "67.7%".

``extract_figures`` is a pure function of the text. It reads a quantity
wherever a number starts (digits, number words or a vague magnitude), looks
back for a qualifier ("more than", "an estimated") and forward for what is
counted (a plural head noun, a currency or a percent). Most of an article
holds no number, so the places a number may start are found first with
cheap scans, and only a window of tokens around each is read.

Precision matters more than recall: an alert that says "troops: 2014 -> 2022"
is worse than a missed figure. So a number is dropped unless something says
it is a quantity: a counted noun, a currency, a percent sign, or an earlier
noun in the same sentence that an elliptical count borrows ("1,000 US
soldiers ... and another 2,000 stationed in the US"). Years, dates, times,
ordinals, scores, names with numbers ("Nord Stream 2", "Article 5") and
identifiers are rejected by the rules in ``_rejected``.

A bare four-digit number from 1800 to 2100 is taken as a year unless a
qualifier precedes it and a plural noun follows ("about 2000 troops").

Conventions of the records produced:

* ``low``/``high`` are full values: "$7.4bn" is 7.4e9, "67.7%" is 67.7.
  Vague amounts are ranges with the bounds in ``numbers.VAGUE`` ("several
  thousand" 3,000..9,000, "tens of thousands of" 20,000..99,999); numeric
  ranges ("between 2,000 and 3,000", "2,000 to 3,000 troops", "0.7-0.8%")
  likewise.
* ``qualifier_kind`` comes from ``QUALIFIERS``; no qualifier is "exact",
  and so are "another"/"a further" (kept as the qualifier text because an
  addition is not a total) and "between" of a numeric range.
* money has ``unit`` the currency's sign ("$", "£", "€", "¥", else the ISO
  code) and ``unit_lemma`` "money"; percent has "%" and "percent".
* the counted noun's lemma only undoes the plural ("people" -> "person");
  grouping synonyms ("troops", "soldiers") is left to a later stage.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter
from typing import Final

from ..models import Figure
from .numbers import (
    ARTICLE_FOLLOWERS,
    GLUED_SCALES,
    NUMBER_WORDS,
    SCALES,
    TEENS,
    TENS,
    UNITS,
    VAGUE,
    VAGUE_FIRST_WORDS,
    is_european_style_at,
    match_vague,
    parse_digits,
    parse_spelled,
)
from .sentences import sentence_at

__all__ = ["QUALIFIERS", "extract_figures", "singular"]


def _words(text: str) -> frozenset[str]:
    """A word table written as one whitespace-separated string, for readability."""
    return frozenset(text.split())


# --------------------------------------------------------------------------
# Word tables
# --------------------------------------------------------------------------

EXACT: Final = "exact"
MORE_THAN: Final = "more_than"
AT_LEAST: Final = "at_least"
LESS_THAN: Final = "less_than"
NEARLY: Final = "nearly"
ABOUT: Final = "about"
UP_TO: Final = "up_to"


def _phrases(kind: str, *phrases: str) -> dict[tuple[str, ...], str]:
    return {tuple(p.split()): kind for p in phrases}


# Qualifier as written (lowercased words) -> qualifier_kind. "another" and
# its kin keep the word (an addition is not a total) but qualify nothing.
QUALIFIERS: Final[dict[tuple[str, ...], str]] = {
    **_phrases(
        MORE_THAN,
        "more than",
        "over",
        "above",
        "in excess of",
        "well in excess of",
        "upwards of",
        "just over",
        "well over",
        "just above",
        "well above",
        "slightly more than",
        "a little over",
        "a little more than",
        "greater than",
        "higher than",
        "larger than",
        "bigger than",
        "more then",
    ),
    **_phrases(
        AT_LEAST,
        "at least",
        "no fewer than",
        "no less than",
        "not less than",
        "not fewer than",
        "a minimum of",
    ),
    **_phrases(
        LESS_THAN,
        "less than",
        "fewer than",
        "under",
        "below",
        "lower than",
        "smaller than",
        "well under",
        "well below",
    ),
    **_phrases(
        NEARLY,
        "nearly",
        "almost",
        "close to",
        "just under",
        "just below",
        "just short of",
        "just shy of",
        "approaching",
    ),
    **_phrases(
        ABOUT,
        "about",
        "around",
        "some",
        "an estimated",
        "estimated",
        "approximately",
        "approx",
        "roughly",
        "circa",
        "in the region of",
        "an approximate",
    ),
    **_phrases(
        UP_TO,
        "up to",
        "as many as",
        "as much as",
        "a maximum of",
        "at most",
        "no more than",
        "not more than",
    ),
    **_phrases(
        EXACT,
        "another",
        "a further",
        "an additional",
        "an extra",
        "exactly",
        "precisely",
    ),
}
_ADDITIVE: Final = frozenset(["another", "a further", "an additional", "an extra"])
_QUALIFIER_MAX_WORDS: Final = max(len(k) for k in QUALIFIERS)
_QUALIFIER_LAST_WORDS: Final = frozenset(k[-1] for k in QUALIFIERS)

CURRENCY_SYMBOLS: Final[dict[str, str]] = {
    "$": "USD",
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "₹": "INR",
    "₽": "RUB",
}
# Letters glued before "$" that name the dollar ("US$5m", "A$2bn").
DOLLAR_PREFIXES: Final[dict[str, str]] = {
    "US": "USD",
    "A": "AUD",
    "AU": "AUD",
    "C": "CAD",
    "CA": "CAD",
    "HK": "HKD",
    "NZ": "NZD",
    "S": "SGD",
    "R": "BRL",
    "NT": "TWD",
}
ISO_PREFIXES: Final = _words(
    "USD EUR GBP JPY CHF CNY INR RUB AUD CAD HKD NZD SGD SEK NOK DKK ZAR BRL"
)
# Currency words written after the amount, as lowercase token sequences.
CURRENCY_WORDS: Final[dict[tuple[str, ...], str]] = {
    ("us", "dollars"): "USD",
    ("us", "dollar"): "USD",
    ("dollars",): "USD",
    ("australian", "dollars"): "AUD",
    ("canadian", "dollars"): "CAD",
    ("hong", "kong", "dollars"): "HKD",
    ("new", "zealand", "dollars"): "NZD",
    ("singapore", "dollars"): "SGD",
    ("taiwan", "dollars"): "TWD",
    ("euros",): "EUR",
    ("euro",): "EUR",
    ("pounds", "sterling"): "GBP",
    ("sterling",): "GBP",
    ("pounds",): "GBP",
    ("yen",): "JPY",
    ("yuan",): "CNY",
    ("renminbi",): "CNY",
    ("rupees",): "INR",
    ("roubles",): "RUB",
    ("rubles",): "RUB",
    ("swiss", "francs"): "CHF",
    ("kronor",): "SEK",
    ("rand",): "ZAR",
    ("reais",): "BRL",
    ("baht",): "THB",
    ("ringgit",): "MYR",
    ("naira",): "NGN",
    ("shekels",): "ILS",
    ("zlotys",): "PLN",
    ("zloty",): "PLN",
    ("hryvnias",): "UAH",
    ("hryvnia",): "UAH",
    ("rupiah",): "IDR",
    ("riyals",): "SAR",
    ("dirhams",): "AED",
    ("pence",): "GBP",
}
_CURRENCY_WORDS_MAX: Final = max(len(k) for k in CURRENCY_WORDS)
_CURRENCY_FIRST_WORDS: Final = frozenset(k[0] for k in CURRENCY_WORDS)
# Words after a year that may make it part of a figure: a scale, percent or
# currency word, or the second half of a range.
# Words after a number that make it part of a larger amount: a scale, or a
# percent or currency word.
_NUMBER_UNITS: Final = frozenset([*SCALES, "percent", "per-cent", "per", *_CURRENCY_FIRST_WORDS])
# "pounds" alone is also a weight; read it as money only at a money-like size.
_WEIGHT_AMBIGUOUS: Final = frozenset([("pounds",)])
_HUNDREDTHS: Final = frozenset([("pence",)])
# The unit shown for money is the currency's usual sign.
CURRENCY_SIGNS: Final[dict[str, str]] = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥"}

PERCENT_SIGNS: Final = frozenset(["%", "％"])

# Month names (and abbreviations) that make a neighbouring small number a date.
MONTHS: Final = _words(
    """january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec"""
)
TIME_WORDS: Final = _words("am pm gmt bst cet cest est edt pst pdt utc hrs o'clock o’clock")

# Lowercase words after which a number is an identifier or rank, not a count.
ID_PRECEDERS: Final = _words(
    """number no nos page pages room flight route chapter article section clause paragraph
    version model line platform gate grade level category size channel episode season
    series round stage phase step group division tier zone class type top aged age ages
    seed seeded ranked rank bus highway junction exit terminal track lane flat apartment
    sub-section figure table exhibit item rule verse psalm"""
)

# Words that end a noun phrase: the counted noun comes before any of these.
NP_STOP: Final = _words(
    """a an the this that these those his her its their our my your each every all any no
    both either neither such other another some many much few several more most less least
    and or but nor so yet than as if while whereas because although though when where
    which who whom whose what whether
    in on at to from by with of for into onto over under across along near since during
    after before between among against around about through within without per via
    toward towards upon amid amidst behind beyond inside outside off up down out like
    unlike despite until till including according plus minus versus vs
    he she it they we i you them us him me one
    is are was were be been being am have has had do does did will would shall should
    can could may might must said says say told tell tells make made makes take took
    takes give gave gives get gets got go goes went come came comes see saw seen
    not also only just still now then already even again ago too very here there
    respectively apiece alone last next earlier later away back ahead yesterday today
    tomorrow tonight week weeks' year's time"""
)

# Plural-looking words that never name what is counted: multipliers,
# fractions ("two thirds"), ages ("11 year olds") and scale words.
NON_UNIT_PLURALS: Final = _words(
    """times others ones thanks odds lots sorts kinds regards terms means ways
    always perhaps sometimes besides towards afterwards backwards forwards
    halves thirds fifths sixths sevenths eighths ninths tenths hundredths thousandths
    olds tens dozens hundreds thousands millions billions trillions"""
)
# Capitalised plural heads that are still counted things, not titles or names
# ("three Oscars" but not "12 Angry Men" or "5 Carlos").
CAPITALISED_COUNT_NOUNS: Final = _words(
    """oscars grammys baftas emmys brits globes tests slams springboks spaniards"""
)
_DEMONYM_ENDINGS: Final = ("ans", "ons", "ers", "ites", "ots")
# Words before a small spelled number that make it a reference, not a
# reported quantity ("the two sides", "his last three games").
_REFERENCE_WORDS: Final = _words(
    "the these those its his her their our my your both all first last next other"
)
# The longest word the rules on the word before a number compare it with.
_LONGEST_WORD: Final = max(
    map(len, [*_QUALIFIER_LAST_WORDS, *ISO_PREFIXES, *_REFERENCE_WORDS, "between"])
)
# Units an elliptical count must not borrow: ranks ("rising nine places to
# 15") and index points ("up 23 points to 6661.89") are positions, not counts.
_NO_BORROW: Final = frozenset(["place", "position", "spot", "point", "rank"])
_MAX_BORROW_RATIO: Final = 100.0
_MAX_BORROW_RATIO_ADDITIVE: Final = 1000.0

# Words ending in "s" that are not plural nouns.
NOT_PLURAL_S: Final = _words(
    """was has is its his hers ours yours theirs this thus as us yes whereas unless
    across perhaps besides always sometimes towards afterwards backwards forwards
    nevertheless news less plus minus lens gas bias atlas canvas alias christmas
    wales paris athens brussels texas kansas jones williams davies adams hughes
    reeves evans james charles thomas lucas marcus nicholas"""
)

# Plurals without a final "s" (or same as the singular), and their lemma.
IRREGULAR_PLURALS: Final[dict[str, str]] = {
    "people": "person",
    "persons": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
    "geese": "goose",
    "oxen": "ox",
    "police": "police",
    "staff": "staff",
    "personnel": "personnel",
    "aircraft": "aircraft",
    "spacecraft": "spacecraft",
    "cattle": "cattle",
    "livestock": "livestock",
    "sheep": "sheep",
    "deer": "deer",
    "fish": "fish",
    "offspring": "offspring",
    "data": "data",
    "media": "media",
    "criteria": "criterion",
    "phenomena": "phenomenon",
    "crises": "crisis",
    "analyses": "analysis",
    "theses": "thesis",
    "indices": "index",
    "series": "series",
    "species": "species",
    "lives": "life",
    "wives": "wife",
    "knives": "knife",
    "thieves": "thief",
    "leaves": "leaf",
    "halves": "half",
    "wolves": "wolf",
    "shelves": "shelf",
    "loaves": "loaf",
    "calves": "calf",
    "selves": "self",
    "buses": "bus",
    "gases": "gas",
    "movies": "movie",
    "cookies": "cookie",
    "zombies": "zombie",
    "rookies": "rookie",
    "calories": "calorie",
    "sorties": "sortie",
    "goalies": "goalie",
    "selfies": "selfie",
    "freebies": "freebie",
    "pies": "pie",
    "ties": "tie",
    "lies": "lie",
    "headaches": "headache",
    "niches": "niche",
    "caches": "cache",
    "avalanches": "avalanche",
    "canoes": "canoe",
    "shoes": "shoe",
    "toes": "toe",
    "foes": "foe",
    "horseshoes": "horseshoe",
    "iraqis": "iraqi",
    "israelis": "israeli",
    "pakistanis": "pakistani",
    "saudis": "saudi",
    "kuwaitis": "kuwaiti",
    "somalis": "somali",
    "bangladeshis": "bangladeshi",
    "yemenis": "yemeni",
    "qataris": "qatari",
    "azeris": "azeri",
    "nepalis": "nepali",
    "emiratis": "emirati",
    "afghanis": "afghani",
}
_NOT_MEN_PLURAL: Final = _words("amen omen semen specimen abdomen regimen stamen hymen yemen")

# Capitalised words that are not names: sentence openers, titles, calendar.
CONTEXT_STOP: Final = _words(
    """the a an in on at but and or however as if when while since after before during
    with without for from to by it he she they we i you his her its their our this that
    these those there here what which who meanwhile earlier later also yet so then now
    nevertheless although though despite because according some many more most about
    around nearly almost over under until among between last next another other such
    both each every all any no not only just even still mr mrs ms dr sir dame lord lady
    president prime minister chancellor secretary deputy foreign defense defence home
    spokesman spokeswoman spokesperson general gen chairman chairwoman chief chiefs
    joint senator sen rep gov governor mayor judge justice professor prof captain
    colonel lieutenant sergeant commander admiral director executive coach manager boss
    king queen prince princess pope ambassador envoy minister's photo video share
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday yes oh well why how
    speaking asked"""
)
_MAX_CONTEXT: Final = 12

# Race distances in metres, which "m" after them means ("the 60m hurdles").
_METRE_DISTANCES: Final = frozenset(
    [50.0, 60.0, 100.0, 110.0, 200.0, 400.0, 800.0, 1000.0, 1500.0, 3000.0, 5000.0, 10000.0]
)

_OPENERS: Final = frozenset("([{\"'“‘«")
# What a number may be glued to on its left.
_GLUED_BEFORE_NUMBER: Final = frozenset(CURRENCY_SYMBOLS) | _OPENERS
_CLOSERS_OK_AFTER: Final = frozenset(")]},.;:!?\"”’'»…")
_APOSTROPHES: Final = frozenset("'’")

# Tokens are numbers, words, or any other single non-space character; no
# token holds whitespace, so a scan may restart after any.
# (Possessive: a token never gives characters back, and the engine then
# keeps no state to try that.)
_NUM_PATTERN: Final = r"[0-9]++(?:[.,][0-9]+)*+"
_WORD_PATTERN: Final = r"[^\W\d_]++(?:[-'’][^\W\d_]+)*+"
_TOKEN_SPLIT_RE: Final = re.compile(rf"({_NUM_PATTERN}|{_WORD_PATTERN}|\S)")


def _ascii_variant(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` for ASCII text: the same matches, without a Unicode lookup per letter.

    On ASCII text the letters (``[^\\W\\d_]``) are exactly ``[A-Za-z]``.
    """
    text = pattern.pattern.replace(r"[^\W\d_]", "[A-Za-z]").replace(r"[\W\d_]", "[^A-Za-z]")
    return re.compile(text)


_TOKEN_SPLIT_ASCII_RE: Final = _ascii_variant(_TOKEN_SPLIT_RE)
_NUMBER_RE: Final = re.compile(_NUM_PATTERN)
_WORD_TOKEN_RE: Final = re.compile(_WORD_PATTERN)
_ODD_ENGLISH: Final = re.compile(r"[0-9]{1,3}\.[0-9]{3}")
_NAME_WORD_RE: Final = re.compile(r"[^\W\d_]++(?:['’.\-][^\W\d_]+)*+\.?")
# The words of ``_NAME_WORD_RE`` that can hold a name, each with the text
# since the last such word. Words starting with a lowercase ASCII letter and
# without a hyphen are skipped inside the pattern (as the name word pattern
# would read them, so the skipping keeps its word boundaries): most words
# are like that and name nothing. The skip is possessive, and the last
# match takes the tail with no word.
_NAME_SCAN_RE: Final = re.compile(
    r"((?:[\W\d_]|[a-z][^\W\d_]*+(?:['’.][^\W\d_]+)*+(?!-[^\W\d_])\.?+)*+)"
    f"({_NAME_WORD_RE.pattern})?"
)
_NAME_SCAN_ASCII_RE: Final = _ascii_variant(_NAME_SCAN_RE)
_ASCII_LOWER_RE: Final = re.compile(r"[a-z]")
# A name word starting with a capital, in ASCII text: a capital with no
# letter before it, nor a letter and a joiner (which would make it part of
# the word before), and the rest of the word as ``_NAME_WORD_RE`` reads it.
_CAPITAL_WORD_ASCII_RE: Final = re.compile(
    r"[A-Z](?<![A-Za-z].)(?<![A-Za-z]['’.\-].)[A-Za-z]*+(?:['’.\-][A-Za-z]+)*+\.?"
)
_HYPHEN_CAPITAL_RE: Final = re.compile(r"-[A-Z]")
# A capitalised word after a lowercase letter or a comma, i.e. mid-sentence;
# the words of all its matches in the text are the article's "midcaps".
_MIDCAP_RE: Final = re.compile(r"[a-z,;:] ([A-ZÀ-ÖØ-Þ][^\W\d_]+)")
_MIDCAP_WORD_RE: Final = re.compile(r"[A-ZÀ-ÖØ-Þ][^\W\d_]+")
_MIDCAP_LEADS: Final = frozenset("abcdefghijklmnopqrstuvwxyz,;:")
_WORD_START_RE: Final = re.compile(r"[^\W\d_]")

_WORD, _NUM, _SYM = 2, 1, 3
# How a token follows the one before (``_Doc.link``); booleans stand for the
# first two.
_GLUED, _SPACED, _BROKEN = 0, 1, 2

# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def extract_figures(text: str) -> list[Figure]:
    """The figures ``text`` reports, in reading order.

    Never raises: a candidate that trips over malformed input is skipped, so
    one odd number cannot cost an article its other figures.

    Only the tokens near a candidate (a number, or a number word that can
    start a quantity) are read; most of an article holds neither, and
    tokenising it all would cost more than everything else together.
    Candidates that their characters alone rule out are not even read.
    """
    if not isinstance(text, str) or not text:
        return []
    numbers, words = _candidates(text)
    doc = _Doc(text, is_european_style_at(text, [start for start, _ in numbers]))
    starts = [start for start, end in numbers if not _number_ruled_out(text, start, end)]
    if words:
        starts += [start for start in words if not _word_ruled_out(text, start)]
        starts.sort()
    figures: list[Figure] = []
    last_unit: dict[_Span, tuple[str, str, float]] = {}
    resume = 0
    for pos in starts:
        if pos < resume:
            continue
        i = doc.token_at(pos)
        if i < 0:
            continue
        # The scans only approximate tokens; the token itself decides.
        kind = doc.kd[i]
        if not (kind == _NUM or (kind == _WORD and _is_anchor(doc.lo[i]))):
            continue
        while True:
            try:
                found = _figure_at(doc, i, last_unit)
            except _Short:
                i = doc.widen(pos)
                continue
            except (ValueError, IndexError, ArithmeticError):
                found = None
            break
        if found is not None:
            fig, next_i = found
            figures.append(fig)
            resume = doc.end(max(next_i, i + 1) - 1)
    return figures


def singular(word: str) -> str:
    """Lowercase singular of a plural noun: troops -> troop, people -> person.

    Only undoes plural morphology; grouping synonyms is a later stage's job.
    """
    w = word.lower()
    if "-" in w:
        head, _, last = w.rpartition("-")
        return f"{head}-{singular(last)}"
    if w in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[w]
    if w.endswith("men") and len(w) > 3 and w not in _NOT_MEN_PLURAL:
        return w[:-3] + "man"
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return w[:-2]
    if w.endswith("oes") and len(w) > 5:
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


# --------------------------------------------------------------------------
# Document: tokens, sentences and per-sentence caches
# --------------------------------------------------------------------------

_ANCHORS: Final = NUMBER_WORDS | VAGUE_FIRST_WORDS
# Number words below a hundred on their own ("two", "twelve", "forty").
_SMALL_NUMBER_WORDS: Final = frozenset([*UNITS, *TEENS, *TENS])
# Words a number phrase may hold ("two thousand and five", "tens of thousands of").
_PHRASE_WORDS: Final = NUMBER_WORDS | {w for phrase, _, _ in VAGUE for w in phrase} | {"and"}


def _is_anchor(low: str) -> bool:
    """Whether a word may start a quantity ("two", "a", "tens", "twenty-five")."""
    return low in _ANCHORS or ("-" in low and low.partition("-")[0] in TENS)


def _word_pattern() -> bytes:
    """Where a number word that can begin a quantity may start, in ``_LETTER_MARKS`` bytes.

    A superset of the places ``_figure_at`` can succeed, tested exactly on the
    token later; it only has to be cheap and never miss. Words that need a
    next word to mean a quantity require one that could follow: "a" only
    before "few", "hundred", "million" and the like, "tens" only before
    "of", "one" only before a scale or "and" ("one and a half million"), as
    "one" alone is below the smallest figure kept. "hundred", "million" and
    "dozen" never start one. A follower is looked at but not consumed, so a
    word after a failed start is still tried.

    The pattern starts with the space before the word, so the engine jumps
    from space to space, and branches letter by letter (a trie), so most
    words are rejected at their first or second letter.
    """
    followers: dict[str, set[str]] = {}
    for phrase, _, _ in VAGUE:
        followers.setdefault(phrase[0], set()).add(phrase[1])
    for article in ("a", "an"):
        followers.setdefault(article, set()).update(ARTICLE_FOLLOWERS)
    followers["one"] = {"hundred", "dozen", "and", *SCALES}
    followers["half"] = {"a"}
    guards = {w: "(?![a-z])" for w in (set(UNITS) | set(TEENS)) - set(followers)}
    guards.update((w, "") for w in TENS)
    guards.update((w, f"(?= ++(?:{_alternation(after)}))") for w, after in followers.items())
    return (" " + _trie(guards)).encode("ascii")


def _trie(guards: dict[str, str]) -> str:
    """A pattern for the words of ``guards``, each followed by its guard, as a trie.

    A word that is a prefix of another ("ten", "tens") comes after the
    longer ones; all alternatives match at the same place, which is all a
    caller uses.
    """
    ends = [guard for word, guard in guards.items() if not word]
    children: dict[str, dict[str, str]] = {}
    for word, guard in guards.items():
        if word:
            children.setdefault(word[0], {})[word[1:]] = guard
    branches = [re.escape(c) + _trie(rest) for c, rest in sorted(children.items())] + ends
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


# Candidates are searched in ASCII copies of the text, one byte per
# character ("?" for any other), because the regular expression engine
# jumps to a literal byte far faster than it tries a pattern at every
# position. In the digit copy every digit is "#"; in the letter copy
# letters are lowercase and everything else is a space.
_DIGIT_MARKS: Final = bytes.maketrans(b"0123456789#", b"##########?")
_LETTER_MARKS: Final = bytes(
    c | 0x20 if 0x41 <= c <= 0x5A else c if 0x61 <= c <= 0x7A else 0x20 for c in range(256)
)
_NUMBER_MARKS_RE: Final = re.compile(rb"#[#]*+(?:[.,]#+)*+")
_WORD_MARKS_RE: Final = re.compile(_word_pattern())


def _candidates(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """(spans of the numbers, where number words may start), each in order.

    The numbers are exactly the number tokens; the words are a superset of
    the number words that can start a quantity.
    """
    ascii_text = text.encode("ascii", "replace")
    digits = ascii_text.translate(_DIGIT_MARKS)
    numbers = [m.span() for m in _NUMBER_MARKS_RE.finditer(digits)]
    letters = b" " + ascii_text.translate(_LETTER_MARKS)
    return numbers, [m.start() for m in _WORD_MARKS_RE.finditer(letters)]


def _number_ruled_out(text: str, start: int, end: int) -> bool:
    """Whether the number token ``text[start:end]`` certainly starts no figure.

    Judged from the characters around it, which is far cheaper than the
    token window reading needs; about a third of the numbers in news copy
    are ruled out here ("G7", "1990s", "90-day", "in 2004", "2 February").
    Each rule repeats a rejection that ``_figure_at`` reaches on the tokens.
    """
    before = text[start - 1 : start]
    if before and not before.isspace() and before not in _GLUED_BEFORE_NUMBER:
        # Glued to a word or sign before ("G7", "2-1"): only a currency sign
        # or an opening bracket may be.
        return True
    if end - start > 1 and text[start] == "0" and text[start + 1] not in ".,":
        # A leading zero ("0619 GMT", "007").
        return True
    after = text[end : end + 1]
    spaced = not after or after.isspace()
    if not spaced:
        if _is_letter(text, end):
            # Glued to a word after: only a scale ("7.4bn") or "pc"/"p" pass.
            word = _word_at(text, end).lower()
            return word not in GLUED_SCALES and word not in ("pc", "p")
        if after in PERCENT_SIGNS:
            return False
        if after in ("-", "–"):
            # Only a percent range ("0.7-0.8%") reads on past a dash.
            upper = _NUMBER_RE.match(text, end + 1)
            return upper is None or text[upper.end() : upper.end() + 1] not in PERCENT_SIGNS
        if after not in _CLOSERS_OK_AFTER:
            return True
        if after == ":" and "0" <= text[end + 1 : end + 2] <= "9":
            # A time or a score ("10:30", "3:1").
            return True
        if after in _APOSTROPHES and _is_letter(text, end + 1):
            # "Radio 4's": a name.
            return _word_at(text, end + 1).lower() == "s"
        # A glued closer: nothing is spaced after the number itself.
    digits = text[start:end]
    if not digits.isdigit():
        return False
    if len(digits) <= 2:
        # "2 February": a day of the month (``_rejected``).
        if not spaced or int(digits) > 31:
            return False
        following = _token_after(text, end)[0] or ""
        low = following.lower()
        return low in MONTHS and (following[:1].isupper() or low not in ("may", "march"))
    if len(digits) != 4 or not 1800 <= int(digits) <= 2100:
        return False
    # A year, which is a figure only with a qualifier, a unit or as one end
    # of a range; otherwise ``_figure_at`` drops it at once.
    if start and not text[start - 1].isspace():
        # A sign or bracket glued before: read it on the tokens.
        return False
    before = _word_before(text, start)
    if before.lower() in _QUALIFIER_LAST_WORDS or before in ISO_PREFIXES:
        return False
    return not spaced or not _may_extend(text, end, _token_after(text, end)[0], before.lower())


def _word_ruled_out(text: str, start: int) -> bool:
    """Whether the word at ``start`` (a candidate) certainly starts no figure.

    It does not when it is no number word at all ("two-thirds"), or when a
    small number stands alone after "the", "its", "next" and the like ("the
    two firms"), which ``_words_core`` takes for a reference.
    """
    word = _word_at(text, start)
    low = word.lower()
    if not _is_anchor(low):
        return True
    if low not in _SMALL_NUMBER_WORDS and low.partition("-")[0] not in TENS:
        return False
    if _word_before(text, start).lower() not in _REFERENCE_WORDS:
        return False
    following = _token_after(text, start + len(word))[0]
    # Followed by another number word, it may be a larger number ("the two hundred").
    return following is None or following.lower() not in _PHRASE_WORDS


def _token_after(text: str, end: int) -> tuple[str | None, int]:
    """The token after the spaces at ``end`` and where it starts.

    A word in full, else its first character, which is all the rules above
    need; None at a line break or the end of the text, where nothing
    follows on the line.
    """
    nxt = end
    while nxt < len(text) and text[nxt].isspace():
        nxt += 1
    gap = text[end:nxt]
    if nxt == len(text) or "\n" in gap or "\r" in gap:
        return None, nxt
    return (_word_at(text, nxt) if _is_letter(text, nxt) else text[nxt]), nxt


def _word_before(text: str, start: int) -> str:
    """The word token before the spaces at ``start``, if on the same line ("" if none).

    Only compared with short words: a longer token is cut to a length that
    matches none of them.
    """
    before = start
    while before > 0 and text[before - 1].isspace():
        before -= 1
    gap = text[before:start]
    if not before or "\n" in gap or "\r" in gap:
        return ""
    # A word token reads the same backwards (letters joined by single
    # hyphens or apostrophes), so the one ending here is the one starting
    # the reversed text.
    m = _WORD_TOKEN_RE.match(text[before - 1 : max(0, before - _LONGEST_WORD - 2) or None : -1])
    return m.group()[::-1] if m else ""


def _may_extend(text: str, end: int, following: str | None, before: str) -> bool:
    """Whether a unit or a range may follow the number ending at ``end``.

    ``following`` is the token spaced after it (``_token_after``) and
    ``before`` the word before it, lowercase. A range needs "and" after
    "between", or "to" not after "from" or "by" and then a number, in
    digits or starting with a number word.
    """
    if following is None:
        return False
    if following in PERCENT_SIGNS:
        return True
    low = following.lower()
    if low in _NUMBER_UNITS:
        return True
    if low == "and":
        return before == "between"
    if low == "to" and before not in ("from", "by"):
        _, at = _token_after(text, end)
        other, _ = _token_after(text, at + len(following))
        return other is not None and ("0" <= other[:1] <= "9" or _is_anchor(other.lower()))
    return False


def _word_at(text: str, i: int) -> str:
    """The word token starting at ``i`` (a letter after a space or other token)."""
    m = _WORD_TOKEN_RE.match(text, i)
    return m.group() if m else ""


# Characters tokenised before a candidate when its window opens: enough for
# most qualifiers ("more than", "an estimated"); a look further back widens
# the window.
_BACK_CHARS: Final = 28
# Characters tokenised per step forward: a step usually covers a
# candidate's unit and counted noun.
_AHEAD_CHARS: Final = 20

_Span = tuple[int, int]


class _Short(Exception):
    """Reading looked before the start of the token window."""


@dataclass(slots=True)
class _Doc:
    """The text with the tokens of one window of a line, grown as reading needs.

    Tokenising is the dearest step and most of a text holds no figure, so
    only windows around candidates are tokenised. Token indices are local
    to the window. Forward, ``has`` tokenises on demand up to the line's
    end; backward, ``has_before`` raises ``_Short`` when a look would pass
    the window's start (unless that is the line's start), and the reading
    starts again in a wider window. No look crosses a line break, and a
    scan may restart after any whitespace, since no token holds any; so
    reading inside the window sees exactly what reading the tokens of the
    whole text would.
    """

    text: str
    european: bool
    tx: list[str] = field(default_factory=list)
    lo: list[str] = field(default_factory=list)
    st: list[int] = field(default_factory=list)
    kd: list[int] = field(default_factory=list)
    link: list[int] = field(default_factory=list)
    line_start: int = 0
    line_end: int = -1
    start: int = 0
    stop: int = 0
    sentences: list[_Span] = field(default_factory=list)
    contexts: dict[_Span, tuple[str, ...]] = field(default_factory=dict)
    titlecase: dict[_Span, bool] = field(default_factory=dict)
    midcaps: dict[str, bool] = field(default_factory=dict)

    def token_at(self, pos: int) -> int:
        """Index of the token starting at ``pos`` (-1 if none), moving the window there.

        Candidates come in order, so the window either grows to ``pos`` or,
        when ``pos`` is far ahead or on another line, opens anew there.
        """
        if not self.line_start <= pos < self.line_end or pos < self.start:
            self._open(pos, pos - _BACK_CHARS, pos)
        elif pos >= self.stop:
            if pos - self.stop > _AHEAD_CHARS:
                self._open(pos, pos - _BACK_CHARS, pos)
            else:
                self._grow(pos)
        return self._index(pos)

    def widen(self, pos: int) -> int:
        """Reopen the window further back before ``pos``; the index of its token."""
        before = self.start - 1
        self._open(pos, before - 3 * (pos - self.start) - _BACK_CHARS, before)
        return self._index(pos)

    def _index(self, pos: int) -> int:
        i = bisect_left(self.st, pos)
        return i if i < len(self.st) and self.st[i] == pos else -1

    def has(self, i: int) -> bool:
        """Whether the line has a token ``i``, tokenising up to it if need be."""
        while i >= len(self.tx):
            if self.stop >= self.line_end:
                return False
            self._grow(self.stop)
        return True

    def _open(self, pos: int, limit: int, before: int) -> None:
        """Open a window for ``pos`` after the first space in ``limit:before``.

        Failing a space, the window starts at the line's start. ``widen``
        passes the space that started the last window as ``before``, so
        each reopening starts further back.
        """
        text = self.text
        line_start = text.rfind("\n", 0, pos) + 1
        line_end = text.find("\n", pos)
        start = line_start
        if limit > line_start:
            space = text.find(" ", limit, before)
            if space >= 0:
                start = space + 1
        self.line_start = line_start
        self.line_end = len(text) if line_end < 0 else line_end
        self.start = self.stop = start
        self.tx, self.lo, self.st, self.kd, self.link = [], [], [], [], []
        self._grow(pos)

    def _grow(self, pos: int) -> None:
        """Tokenise from ``stop`` to the first space more than ``_AHEAD_CHARS`` past ``pos``."""
        text = self.text
        end = text.find(" ", pos + _AHEAD_CHARS + 1, self.line_end)
        if end < 0:
            end = self.line_end
        # [space, token, space, token, ..., space]: the offsets are running
        # sums of the lengths, and every step runs in C.
        chunk = text[self.stop : end]
        parts = (_TOKEN_SPLIT_ASCII_RE if chunk.isascii() else _TOKEN_SPLIT_RE).split(chunk)
        offsets = list(accumulate(map(len, parts), initial=self.stop))
        tokens = parts[1::2]
        gaps = parts[:-1:2]
        if gaps and self.tx:
            # The first gap runs from the last token, not from ``stop``.
            gaps[0] = text[self.end(-1) : offsets[1]]
        # How each token follows the one before: glued (no gap, False) or
        # spaced (True), unless a carriage return breaks the line. The
        # window's first entry is not read: see ``has_before``.
        if "\r" in chunk or (gaps and "\r" in gaps[0]):
            self.link += [_BROKEN if "\r" in g else bool(g) for g in gaps]
        else:
            self.link += map(bool, gaps)
        self.tx += tokens
        self.lo += map(str.lower, tokens)
        self.st += offsets[1:-1:2]
        self.kd += map(_KINDS.__getitem__, map(itemgetter(0), tokens))
        self.stop = end

    def end(self, i: int) -> int:
        """Where token ``i`` ends."""
        return self.st[i] + len(self.tx[i])

    def has_before(self, i: int) -> bool:
        """Whether token ``i`` has a token before it on its line.

        Raises ``_Short`` when that token would be before the window: the
        caller widens the window and reads again.
        """
        if i > 0:
            return True
        if self.start > self.line_start:
            raise _Short
        return False

    def link_of(self, i: int) -> int:
        """How token ``i`` (one of the window's) follows the one before (``_GLUED``...)."""
        if i == 0:
            self.has_before(0)  # raises unless the window starts its line
            return _BROKEN
        return self.link[i]

    def glued(self, i: int) -> bool:
        """Token ``i`` touches the token before it (no space between)."""
        if i == 0:
            return self.has_before(i)
        return (i < len(self.link) or self.has(i)) and self.link[i] == _GLUED

    def spaced(self, i: int) -> bool:
        """Token ``i`` follows the previous one after spaces, on the same line."""
        if i == 0:
            return self.has_before(i)
        return (i < len(self.link) or self.has(i)) and self.link[i] == _SPACED

    def joined(self, i: int) -> bool:
        """Token ``i`` continues the previous one's line (glued or spaced)."""
        if i == 0:
            return self.has_before(i)
        return (i < len(self.link) or self.has(i)) and self.link[i] != _BROKEN

    def sentence_of(self, pos: int) -> _Span:
        """The sentence holding character ``pos`` (a token's start)."""
        for span in self.sentences:
            if span[0] <= pos < span[1]:
                return span
        span = sentence_at(self.text, pos)
        self.sentences.append(span)
        return span

    def sentence_text(self, span: _Span) -> str:
        return self.text[span[0] : span[1]]

    def at_sentence_start(self, i: int) -> bool:
        pos = self.st[i]
        head = self.text[self.sentence_of(pos)[0] : pos]
        return all(not c.isalnum() for c in head)

    def is_titlecase(self, span: _Span) -> bool:
        """Headline-style sentence ("Russia Masses 100,000 Troops") where capitals mean little."""
        if span not in self.titlecase:
            words = [w for w in _NAME_WORD_RE.findall(self.sentence_text(span)) if len(w) > 3]
            caps = sum(1 for w in words if w[0].isupper())
            self.titlecase[span] = len(words) >= 3 and caps >= 0.7 * len(words)
        return self.titlecase[span]

    def context(self, span: _Span) -> tuple[str, ...]:
        if span not in self.contexts:
            self.contexts[span] = _names(self.sentence_text(span), self.keep_opener)
        return self.contexts[span]

    def keep_opener(self, word: str) -> bool:
        """Whether a sentence's capitalised first word is a name: all capitals, or
        capitalised mid-sentence somewhere in the article."""
        if word.isupper():
            return True
        found = self.midcaps.get(word)
        if found is None:
            found = self.midcaps[word] = _is_midcap(self.text, word)
        return found


class _Kinds(dict[str, int]):
    """A token's kind (``_NUM``, ``_WORD``, ``_SYM``) by its first character.

    The token pattern tells the kinds apart by the first character alone;
    a lookup per token is cheaper than asking the pattern which group
    matched. Characters are added as first seen, up to a bound.
    """

    def __missing__(self, c: str) -> int:
        kind = _NUM if "0" <= c <= "9" else _WORD if _WORD_START_RE.match(c) else _SYM
        if len(self) < _MAX_KINDS:
            self[c] = kind
        return kind


_MAX_KINDS: Final = 4096
_KINDS: Final = _Kinds()


# --------------------------------------------------------------------------
# Reading one figure
# --------------------------------------------------------------------------


@dataclass(slots=True)
class _Core:
    """The quantity itself, before qualifier and counted noun are attached."""

    first: int
    last: int
    end: int
    low: float
    high: float
    kind: str
    currency: str | None
    source: str
    scaled: bool = False
    bare_year: bool = False
    odd: bool = False


def _figure_at(
    doc: _Doc, i: int, last_unit: dict[_Span, tuple[str, str, float]]
) -> tuple[Figure, int] | None:
    core = _parse_core(doc, i)
    if core is None:
        return None
    qual_start, qualifier, qual_kind = _qualifier_before(doc, core.first)
    core, qual_start, qualifier, qual_kind = _maybe_range(
        doc, core, qual_start, qualifier, qual_kind
    )
    if (core.bare_year and not qualifier) or core.odd:
        # Dropped below whatever follows; no need to read further.
        return None
    if _rejected(doc, core, qualifier):
        return None
    start_tok = qual_start if qualifier else core.first
    end_tok = core.end
    unit = unit_lemma = ""
    modifiers: tuple[str, ...] = ()
    implied = False
    if core.kind == "count":
        if core.source == "digits" and _metres(doc, core):
            return None
        np = _noun_phrase(doc, core.end)
        if np is not None:
            mods, head = np
            unit = doc.tx[head]
            unit_lemma = singular(unit)
            modifiers = tuple([doc.tx[m] for m in mods])
            end_tok = head + 1
        else:
            if core.source == "vague" or core.bare_year or core.odd or core.low < 2:
                return None
            borrowed = _unit_in_sentence(last_unit, doc.st[core.first])
            forward = _forward_unit(doc, core, start_tok)
            additive = qualifier.lower() in _ADDITIVE
            if forward is not None:
                borrowed = forward
            elif (
                borrowed is None
                or not _may_borrow(doc, core, borrowed, additive)
                or not _elliptical(doc, core, start_tok, qualifier)
            ):
                return None
            unit, unit_lemma, _ = borrowed
            implied = True
        if core.bare_year and not (qualifier and np is not None):
            return None
        if core.odd:
            return None
    elif core.kind == "money":
        unit, unit_lemma = CURRENCY_SIGNS.get(core.currency or "", core.currency or ""), "money"
    else:
        unit, unit_lemma = "%", "percent"
    sent_idx = doc.sentence_of(doc.st[core.first])
    start = doc.st[start_tok]
    end = doc.end(end_tok - 1)
    fig = Figure(
        low=core.low,
        high=core.high,
        text=doc.text[start:end],
        qualifier=qualifier,
        qualifier_kind=qual_kind,
        unit=unit,
        unit_lemma=unit_lemma,
        start=start,
        end=end,
        sentence=doc.sentence_text(sent_idx),
        modifiers=modifiers,
        context=doc.context(sent_idx),
        kind=core.kind,
        currency=core.currency if core.kind == "money" else None,
        implied_unit=implied,
    )
    if core.kind == "count" and not implied:
        last_unit[sent_idx] = (unit, unit_lemma, core.high)
    return fig, end_tok


def _unit_in_sentence(
    last_unit: dict[_Span, tuple[str, str, float]], pos: int
) -> tuple[str, str, float] | None:
    """The unit recorded for the sentence holding ``pos``, if any.

    Looked up by position, as sentences do not overlap: finding the
    sentence itself would cost more, and most lookups find nothing.
    """
    for (start, end), unit in last_unit.items():
        if start <= pos < end:
            return unit
    return None


def _parse_core(doc: _Doc, i: int) -> _Core | None:
    if doc.kd[i] == _NUM:
        return _digits_core(doc, i)
    return _words_core(doc, i)


def _digits_core(doc: _Doc, i: int) -> _Core | None:
    """A quantity written with digits: "100,000", "$7.4bn", "67.7 per cent", "1.5 million"."""
    s = doc.tx[i]
    if len(s) > 1 and s[0] == "0" and s[1] not in ".,":
        return None
    first = i
    currency: str | None = None
    link = doc.link_of(i)
    if link == _GLUED:
        p = i - 1
        sym = doc.tx[p]
        if sym in CURRENCY_SYMBOLS:
            currency = CURRENCY_SYMBOLS[sym]
            first = p
            if doc.glued(p):
                q = p - 1
                if sym == "$" and doc.tx[q] in DOLLAR_PREFIXES and not doc.glued(q):
                    currency = DOLLAR_PREFIXES[doc.tx[q]]
                    first = q
                elif doc.tx[q] not in _OPENERS:
                    return None
        elif sym not in _OPENERS:
            return None
    elif link == _SPACED and doc.tx[i - 1] in ISO_PREFIXES:
        currency = doc.tx[i - 1]
        first = i - 1
    value = parse_digits(s, doc.european)
    if value is None:
        return None
    kind = "money" if currency else "count"
    scale = 1.0
    scaled = False
    # Tokens after the first of a window are read directly: ``has``
    # tokenises them, and only the first one's links need ``has_before``.
    j = i + 1
    if (j < len(doc.kd) or doc.has(j)) and doc.link[j] == _GLUED:
        t = doc.lo[j]
        if doc.kd[j] == _WORD:
            if t in GLUED_SCALES:
                scale, scaled = GLUED_SCALES[t], True
            elif t == "pc" and currency is None:
                kind = "percent"
            elif t == "p" and currency is None:
                kind, currency, scale = "money", "GBP", 0.01
            else:
                return None
            j += 1
        elif doc.tx[j] in PERCENT_SIGNS and currency is None:
            kind = "percent"
            j += 1
        elif currency is None and (upper := _percent_range_end(doc, j)) is not None:
            return _Core(
                first=first,
                last=j + 2,
                end=j + 3,
                low=value,
                high=upper,
                kind="percent",
                currency=None,
                source="digits",
            )
    if (j < len(doc.kd) or doc.has(j)) and doc.link[j] == _GLUED and not _ok_after(doc, j):
        return None
    if (
        not scaled
        and kind != "percent"
        and (j < len(doc.kd) or doc.has(j))
        and doc.link[j] == _SPACED
        and doc.lo[j] in SCALES
    ):
        scale, scaled = SCALES[doc.lo[j]], True
        j += 1
    last = j - 1
    if kind == "count":
        j, kind, currency, scale = _unit_words(doc, j, scale, scaled or value * scale >= 1000)
    value *= scale
    bare_year = (
        kind == "count" and not scaled and s.isdigit() and len(s) == 4 and 1800 <= value <= 2100
    )
    odd = (
        kind == "count"
        and not scaled
        and not doc.european
        and "." in s
        and _ODD_ENGLISH.fullmatch(s) is not None
    )
    # Positional, in field order: this runs for every number read.
    return _Core(first, last, j, value, value, kind, currency, "digits", scaled, bare_year, odd)


def _percent_range_end(doc: _Doc, j: int) -> float | None:
    """The upper bound of "0.7-0.8%" when token ``j`` is its dash, else None.

    Only percent ranges are read: a bare "7-8" is a date, score or ratio.
    """
    if doc.tx[j] not in ("-", "–") or not doc.has(j + 2):
        return None
    if not (doc.glued(j + 1) and doc.glued(j + 2) and doc.kd[j + 1] == _NUM):
        return None
    if doc.tx[j + 2] not in PERCENT_SIGNS:
        return None
    if doc.has(j + 3) and doc.glued(j + 3) and not _ok_after(doc, j + 3):
        return None
    low = parse_digits(doc.tx[j - 1], doc.european)
    high = parse_digits(doc.tx[j + 1], doc.european)
    if low is None or high is None or not low < high:
        return None
    return high


def _words_core(doc: _Doc, i: int) -> _Core | None:
    """A quantity in words: "two thousand five hundred", "half a million", "tens of"."""
    words = _line_words(doc, i, 8, _PHRASE_WORDS)
    if not words:
        return None
    vague = match_vague(words)
    if vague is not None:
        low, high, k = vague
        source = "vague"
    else:
        spelled = parse_spelled(words)
        if spelled is None:
            return None
        value, k = spelled
        if value < 2:
            return None
        low = high = value
        source = "spelled"
    if source == "spelled" and low < 100 and doc.spaced(i) and doc.lo[i - 1] in _REFERENCE_WORDS:
        return None
    if (
        doc.tx[i][0].isupper()
        and not doc.at_sentence_start(i)
        and not doc.is_titlecase(doc.sentence_of(doc.st[i]))
    ):
        return None
    j = i + k
    if doc.has(j) and doc.glued(j) and not _ok_after(doc, j):
        return None
    scaled = not SCALES.keys().isdisjoint(words[:k]) or source == "vague"
    j, kind, currency, mult = _unit_words(doc, j, 1.0, scaled)
    return _Core(
        first=i,
        last=i + k - 1,
        end=j,
        low=low * mult,
        high=high * mult,
        kind=kind,
        currency=currency,
        source=source,
        scaled=scaled,
    )


def _line_words(doc: _Doc, i: int, limit: int, within: frozenset[str] | None = None) -> list[str]:
    """Lowercase words from ``i`` on, stopping at punctuation or a line break.

    With ``within``, also stopping after the first word that is neither in
    it nor hyphenated: number phrases are read from their own words and at
    most one word past them, and reading on would only tokenise further.
    """
    words: list[str] = []
    k = i
    while len(words) < limit and (k < len(doc.kd) or doc.has(k)) and doc.kd[k] == _WORD:
        if k > i and doc.link[k] != _SPACED:
            break
        word = doc.lo[k]
        words.append(word)
        if within is not None and word not in within and "-" not in word:
            break
        k += 1
    return words


def _unit_words(
    doc: _Doc, j: int, scale: float, money_sized: bool
) -> tuple[int, str, str | None, float]:
    """Percent or currency words after an amount: "per cent", "euros", "Swiss francs".

    Returns (next token, kind, currency, multiplier to apply to the amount).
    """
    if not (j < len(doc.kd) or doc.has(j)) or doc.link[j] != _SPACED:
        return j, "count", None, scale
    t = doc.lo[j]
    if doc.tx[j] in PERCENT_SIGNS or t in ("percent", "per-cent"):
        return j + 1, "percent", None, 1.0
    if t == "per" and doc.has(j + 1) and doc.lo[j + 1] == "cent" and doc.link[j + 1] == _SPACED:
        return j + 2, "percent", None, 1.0
    if t not in _CURRENCY_FIRST_WORDS:
        return j, "count", None, scale
    words = _line_words(doc, j, _CURRENCY_WORDS_MAX)
    for k in range(len(words), 0, -1):
        key = tuple(words[:k])
        code = CURRENCY_WORDS.get(key)
        if code is None:
            continue
        if key in _WEIGHT_AMBIGUOUS and not money_sized:
            return j, "count", None, scale
        if key in _HUNDREDTHS:
            scale *= 0.01
        return j + k, "money", code, scale
    return j, "count", None, scale


def _ok_after(doc: _Doc, j: int) -> bool:
    """Whether glued token ``j`` may follow a number ("100,000," yes; "10:30", "3-1" no)."""
    t = doc.tx[j]
    if t not in _CLOSERS_OK_AFTER:
        return False
    nxt = j + 1
    if (nxt < len(doc.kd) or doc.has(nxt)) and doc.link[nxt] == _GLUED:
        if t == ":" and doc.kd[nxt] == _NUM:
            return False
        if t in _APOSTROPHES and doc.lo[nxt] == "s":
            return False
    return True


def _qualifier_before(doc: _Doc, first: int) -> tuple[int, str, str]:
    """The qualifier right before token ``first``: (first token, as written, kind)."""
    if doc.link_of(first) != _SPACED or doc.lo[first - 1] not in _QUALIFIER_LAST_WORDS:
        # Every qualifier ends with the word just before the number.
        return first, "", EXACT
    words: list[str] = []
    k = first
    while len(words) < _QUALIFIER_MAX_WORDS and doc.spaced(k):
        k -= 1
        if doc.kd[k] != _WORD:
            break
        words.insert(0, doc.lo[k])
    for size in range(len(words), 0, -1):
        key = tuple(words[-size:])
        kind = QUALIFIERS.get(key)
        if kind is not None:
            start = first - size
            return start, doc.text[doc.st[start] : doc.end(first - 1)], kind
    return first, "", EXACT


def _maybe_range(
    doc: _Doc, core: _Core, qual_start: int, qualifier: str, qual_kind: str
) -> tuple[_Core, int, str, str]:
    """Widen "between 2,000 and 3,000 troops" or "2,000 to 3,000 troops" into one range."""
    j = core.end
    if core.source == "vague" or not doc.has(j + 1) or doc.link[j] != _SPACED:
        return core, qual_start, qualifier, qual_kind
    joiner = doc.lo[j]
    if joiner not in ("and", "to") or doc.link[j + 1] != _SPACED:
        return core, qual_start, qualifier, qual_kind
    before = doc.lo[core.first - 1] if doc.spaced(core.first) else ""
    between = joiner == "and" and before == "between" and not qualifier
    span = joiner == "to" and before not in ("from", "by") and core.kind == "count"
    if not (between or span):
        return core, qual_start, qualifier, qual_kind
    if doc.kd[j + 1] not in (_NUM, _WORD):
        return core, qual_start, qualifier, qual_kind
    other = _parse_core(doc, j + 1)
    if other is None or other.source == "vague":
        return core, qual_start, qualifier, qual_kind
    if core.kind not in ("count", other.kind):
        return core, qual_start, qualifier, qual_kind
    if core.kind == "money" and core.currency != other.currency:
        return core, qual_start, qualifier, qual_kind
    low = core.low
    if other.scaled and not core.scaled and other.low >= 1000:
        low *= _scale_of(doc.tx[other.last])
    if not low < other.low:
        return core, qual_start, qualifier, qual_kind
    if joiner == "to" and other.kind == "count" and _noun_phrase(doc, other.end) is None:
        return core, qual_start, qualifier, qual_kind
    merged = _Core(
        first=core.first,
        last=other.last,
        end=other.end,
        low=low,
        high=other.high,
        kind=other.kind,
        currency=other.currency,
        source=other.source,
        scaled=other.scaled,
    )
    if joiner == "and":
        return merged, core.first - 1, doc.tx[core.first - 1], EXACT
    return merged, qual_start, qualifier, qual_kind


def _scale_of(last_token: str) -> float:
    t = last_token.lower()
    if t in SCALES:
        return SCALES[t]
    if t in GLUED_SCALES:
        return GLUED_SCALES[t]
    return 1.0


def _rejected(doc: _Doc, core: _Core, qualifier: str) -> bool:
    """Context that makes the number a date, time, name, identifier or score."""
    nxt = core.last + 1
    if (nxt < len(doc.kd) or doc.has(nxt)) and doc.link[nxt] == _SPACED:
        t = doc.lo[nxt]
        if doc.kd[nxt] == _NUM:
            return True
        if t in TIME_WORDS or (t in ("a", "p") and doc.has(nxt + 2) and doc.tx[nxt + 1] == "."):
            return True
        if t in MONTHS and (doc.tx[nxt][0].isupper() or t not in ("may", "march")):
            return core.low <= 31 and not core.scaled
    if qualifier:
        return False
    p = core.first - 1
    if doc.link_of(core.first) == _BROKEN:
        return False
    prev = doc.tx[p]
    low = doc.lo[p]
    if doc.kd[p] == _NUM:
        return True
    if prev == "." and doc.glued(p):
        if doc.lo[p - 1] in ID_PRECEDERS:
            return True
        if doc.lo[p - 1] in MONTHS:
            return core.low <= 31
    if doc.kd[p] != _WORD:
        return prev in ("#", "№")
    if low in ID_PRECEDERS:
        return True
    if low in MONTHS and prev[0].isupper():
        return True
    if low in ("in", "of") and doc.spaced(p):
        before = doc.lo[p - 1]
        if doc.kd[p - 1] == _NUM or before in NUMBER_WORDS or before == "out":
            return True
    if prev[0].isupper() and low not in CONTEXT_STOP and low not in NP_STOP:
        sent = doc.sentence_of(doc.st[p])
        return not doc.is_titlecase(sent)
    return False


def _metres(doc: _Doc, core: _Core) -> bool:
    """ "60m hurdles", "800m runners": a race distance, not sixty million."""
    return doc.lo[core.last] == "m" and core.low / 1e6 in _METRE_DISTANCES


def _noun_phrase(doc: _Doc, j: int) -> tuple[list[int], int] | None:
    """(modifier tokens, head token) of the counted noun starting at ``j``, if any.

    The head is the first plural noun within four words; words before it
    are its modifiers ("US", "combat", "British"). Function words, verbs and
    punctuation end the search, so "100,000 troops poised on" and "2,000
    stationed in" read correctly.
    """
    mods: list[int] = []
    for k in range(j, j + 4):
        if k >= len(doc.kd) and not doc.has(k):
            break
        if doc.kd[k] != _WORD or doc.link[k] != _SPACED:
            return None
        w = doc.tx[k]
        low = doc.lo[k]
        acronym = w.isupper() and len(w) > 1
        if not acronym and low in NP_STOP:
            return None
        if low.endswith(("'s", "’s", "'", "’")):
            return None
        if doc.has(k + 1) and doc.link[k + 1] == _GLUED and doc.tx[k + 1] in ("-", "/"):
            return None
        if _is_plural(w, low):
            if w[0].isupper() and not _counted_capital(doc, k, w, low):
                return None
            return mods, k
        if low in NON_UNIT_PLURALS:
            return None
        mods.append(k)
    return None


def _counted_capital(doc: _Doc, k: int, w: str, low: str) -> bool:
    """Whether a capitalised plural head is a counted noun ("41 Britons", "five MPs").

    Otherwise it is taken as part of a title or name ("12 Angry Men").
    """
    if w[:-1].isupper() or low in CAPITALISED_COUNT_NOUNS or low.endswith(_DEMONYM_ENDINGS):
        return True
    if low in IRREGULAR_PLURALS and low.endswith("is"):
        return True
    return doc.is_titlecase(doc.sentence_of(doc.st[k]))


def _is_plural(w: str, low: str) -> bool:
    if low in IRREGULAR_PLURALS:
        return True
    if low.endswith("men") and len(low) > 3 and low not in _NOT_MEN_PLURAL:
        return True
    if w.isupper() or len(low) < 3 or not low.endswith("s"):
        return False
    if low.endswith(("ss", "us", "is", "ous", "'s", "’s")):
        return False
    return low not in NOT_PLURAL_S and low not in NON_UNIT_PLURALS


def _forward_unit(doc: _Doc, core: _Core, start_tok: int) -> tuple[str, str, float] | None:
    """The noun of "from 155,000 to 110,000 staff" for the bare first number."""
    j = core.end
    if not doc.spaced(start_tok) or doc.lo[start_tok - 1] != "from":
        return None
    if not doc.has(j + 1) or doc.lo[j] != "to" or not doc.spaced(j) or not doc.spaced(j + 1):
        return None
    if doc.kd[j + 1] not in (_NUM, _WORD):
        return None
    other = _parse_core(doc, j + 1)
    if other is None or other.kind != "count" or other.source == "vague":
        return None
    np = _noun_phrase(doc, other.end)
    if np is None:
        return None
    head = np[1]
    unit = doc.tx[head]
    borrowed = (unit, singular(unit), other.high)
    return borrowed if _may_borrow(doc, core, borrowed, False) else None


def _may_borrow(doc: _Doc, core: _Core, borrowed: tuple[str, str, float], additive: bool) -> bool:
    """Whether a bare count may take the noun of the sentence's previous count.

    Not for ranks and index points, not across magnitudes ("two months ...
    to 139,000"), and not for unscaled decimals ("two quarters ... to 102.5"),
    which are index levels rather than counts.
    """
    _, lemma, value = borrowed
    if lemma in _NO_BORROW or core.low <= 0 or value <= 0:
        return False
    limit = _MAX_BORROW_RATIO_ADDITIVE if additive else _MAX_BORROW_RATIO
    if max(core.low, value) / min(core.low, value) > limit:
        return False
    return core.scaled or "." not in doc.tx[core.last] or doc.european


def _elliptical(doc: _Doc, core: _Core, start_tok: int, qualifier: str) -> bool:
    """Whether a bare count continues a listing ("..., and another 2,000 stationed").

    Needs a cue before it (an additive qualifier, a conjunction, a comma) and
    nothing noun-like after it.
    """
    cue = qualifier.lower() in _ADDITIVE
    comma = False
    if not cue and doc.joined(start_tok):
        prev = doc.lo[start_tok - 1]
        comma = prev == ","
        cue = comma or prev in ("and", "or", "but", "while", "whereas", "to", "from", "plus")
    if not cue:
        return False
    j = core.end
    if not doc.has(j) or not doc.joined(j):
        return not comma
    if doc.kd[j] != _WORD:
        # After a comma a bare number followed by punctuation is usually an
        # age ("Emily, 16, and") or a list item, not a count.
        return not comma and doc.tx[j] not in ("-", "/", "(", '"', "“", "‘")
    low = doc.lo[j]
    if low == "of":
        return False
    return low in NP_STOP or low.endswith(("ed", "ing", "ly"))


# --------------------------------------------------------------------------
# Context: the names in a figure's sentence
# --------------------------------------------------------------------------


def _is_midcap(text: str, word: str) -> bool:
    """Whether ``word`` is among ``_MIDCAP_RE.findall(text)``, without finding them all.

    Each place the pattern could match is found with a plain search for
    " word". It is a match unless an earlier match overlaps it, which can
    only be one ending just before it (its word's last letter is this
    place's lowercase letter, as in "a Bc De": "c De" is overlapped by
    "a Bc"). That one is a match unless overlapped in turn, and so on back
    along the chain.
    """
    if not _MIDCAP_WORD_RE.fullmatch(word):
        return False
    needle = " " + word
    after = len(needle)
    at = text.find(needle, 1)
    while at >= 0:
        lead = at - 1
        if text[lead] in _MIDCAP_LEADS and not _is_letter(text, at + after):
            overlapped = False
            while (lead := _overlapping_match(text, lead)) >= 0:
                overlapped = not overlapped
            if not overlapped:
                return True
        at = text.find(needle, at + 1)
    return False


def _overlapping_match(text: str, lead: int) -> int:
    """Start of the possible midcap match whose word ends at ``lead``, else -1."""
    if not _is_letter(text, lead):
        return -1
    first = lead
    while _is_letter(text, first - 1):
        first -= 1
    if (
        first == lead
        or first < 2
        or text[first - 1] != " "
        or text[first - 2] not in _MIDCAP_LEADS
        or not _MIDCAP_WORD_RE.match(text, first)
    ):
        return -1
    return first - 2


def _is_letter(text: str, i: int) -> bool:
    """Whether ``text[i]`` exists and is a letter as ``[^\\W\\d_]`` reads one."""
    if not 0 <= i < len(text):
        return False
    c = text[i]
    if c < "\x80":
        return c.isalpha()
    return _WORD_START_RE.match(c) is not None


def _name_words(sentence: str) -> list[tuple[str, str]]:
    """The words of ``sentence`` that may hold a name, each with the text since the last.

    Those are the words of ``_NAME_WORD_RE`` but ones that start with a
    lowercase ASCII letter and have no hyphen before a capital ("pro-Moscow"
    has one): such a word names nothing and only ends a name, and the text
    between two words holds one exactly when it holds a lowercase ASCII
    letter.

    Most sentences are ASCII with no hyphen before a capital at all, and
    there the words are the capitalised ones: a pattern that starts with a
    capital skips the rest of the sentence far faster than one that reads
    every word. Elsewhere a pattern skips the lowercase words without a
    hyphen and returns the rest.
    """
    if sentence.isascii() and not _HYPHEN_CAPITAL_RE.search(sentence):
        pairs = []
        last = 0
        for m in _CAPITAL_WORD_ASCII_RE.finditer(sentence):
            start, end = m.span()
            pairs.append((sentence[last:start], sentence[start:end]))
            last = end
        return pairs
    scan = _NAME_SCAN_ASCII_RE if sentence.isascii() else _NAME_SCAN_RE
    return [(skipped, word) for skipped, word in scan.findall(sentence) if word]


def _names(sentence: str, keep_opener: Callable[[str], bool]) -> tuple[str, ...]:
    """Capitalised names in ``sentence`` ("Russia", "Joe Biden", "Pentagon"), deduplicated.

    A capitalised word opening the sentence counts only if ``keep_opener``
    says so (the article also capitalises it mid-sentence), so "Tensions
    rose" does not make "Tensions" a name but "Russia has" keeps "Russia".
    """
    names: list[str] = []
    group: list[str] = []
    group_at_start = False

    def flush() -> None:
        nonlocal group, group_at_start
        lone_opener = group_at_start and len(group) == 1
        if not (lone_opener and not keep_opener(group[0])):
            name = " ".join(group)
            if name not in names:
                names.append(name)
        group = []
        group_at_start = False

    seen = False
    for skipped, word in _name_words(sentence):
        if _ASCII_LOWER_RE.search(skipped):
            # A lowercase word came between: it ended any group.
            if group:
                flush()
            seen = True
        at_start = not seen
        joined = seen and skipped == " "
        seen = True
        possessive = False
        if not word.isalpha():
            # Unlike the usual word, one to trim: dots, a possessive.
            if "-" not in word and not word[0].isupper():
                if group:
                    flush()
                continue
            if word.count(".") < 2:
                word = word.rstrip(".")
            possessive = word.endswith(("'s", "’s"))
            if possessive:
                word = word[:-2]
        if "-" in word:
            # "Moscow-backed" names Moscow; "Anglo-Dutch" stays whole.
            pieces = word.split("-")
            keep = [p for p in pieces if p[:1].isupper()]
            word = "-".join(keep) if len(keep) == len(pieces) else (keep[0] if keep else "")
        if not word or not word[0].isupper() or word.lower() in CONTEXT_STOP or len(word) < 2:
            if group:
                flush()
            continue
        if group and not joined:
            flush()
        if not group:
            group_at_start = at_start
        group.append(word)
        if possessive:
            flush()
        if len(names) >= _MAX_CONTEXT:
            break
    if group:
        flush()
    return tuple(names[:_MAX_CONTEXT])
