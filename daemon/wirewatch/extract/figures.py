"""Figures an article reports: "more than 100,000 combat troops", "$7.4bn", "67.7%".

``extract_figures`` is a pure function of the text. It tokenises once, then
reads a quantity wherever a number starts (digits, number words or a vague
magnitude), looks back for a qualifier ("more than", "an estimated") and
forward for what is counted (a plural head noun, a currency or a percent).

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
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Final

from ..models import Figure
from .numbers import (
    GLUED_SCALES,
    NUMBER_WORDS,
    SCALES,
    TENS,
    VAGUE_FIRST_WORDS,
    is_european_style,
    match_vague,
    parse_digits,
    parse_spelled,
)
from .sentences import split_sentences

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
_CLOSERS_OK_AFTER: Final = frozenset(")]},.;:!?\"”’'»…")
_APOSTROPHES: Final = frozenset("'’")

_TOKEN_RE: Final = re.compile(
    r"([0-9]+(?:[.,][0-9]+)*)|([^\W\d_]+(?:[-'’][^\W\d_]+)*)|(\S)", re.UNICODE
)
_ODD_ENGLISH: Final = re.compile(r"[0-9]{1,3}\.[0-9]{3}")
_NAME_WORD_RE: Final = re.compile(r"[^\W\d_]+(?:['’.\-][^\W\d_]+)*\.?")
_MIDCAP_RE: Final = re.compile(r"[a-z,;:] ([A-ZÀ-ÖØ-Þ][^\W\d_]+)")

_WORD, _NUM, _SYM = 2, 1, 3

# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def extract_figures(text: str) -> list[Figure]:
    """The figures ``text`` reports, in reading order.

    Never raises: a candidate that trips over malformed input is skipped, so
    one odd number cannot cost an article its other figures.
    """
    if not isinstance(text, str) or not text:
        return []
    doc = _Doc.build(text)
    figures: list[Figure] = []
    last_unit: dict[int, tuple[str, str, float]] = {}
    i = 0
    n = len(doc.tx)
    while i < n:
        kind = doc.kd[i]
        if kind == _NUM or (kind == _WORD and _is_anchor(doc.lo[i])):
            try:
                found = _figure_at(doc, i, last_unit)
            except (ValueError, IndexError, ArithmeticError):
                found = None
            if found is not None:
                fig, next_i = found
                figures.append(fig)
                i = max(next_i, i + 1)
                continue
        i += 1
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


def _is_anchor(low: str) -> bool:
    """Whether a word may start a quantity ("two", "a", "tens", "twenty-five")."""
    return low in _ANCHORS or ("-" in low and low.partition("-")[0] in TENS)


@dataclass(slots=True)
class _Doc:
    text: str
    tx: list[str]
    lo: list[str]
    st: list[int]
    en: list[int]
    kd: list[int]
    european: bool
    sentences: list[tuple[int, int]]
    sentence_starts: list[int]
    contexts: dict[int, tuple[str, ...]] = field(default_factory=dict)
    titlecase: dict[int, bool] = field(default_factory=dict)
    midcaps: frozenset[str] | None = None

    @classmethod
    def build(cls, text: str) -> _Doc:
        tx: list[str] = []
        st: list[int] = []
        en: list[int] = []
        kd: list[int] = []
        for m in _TOKEN_RE.finditer(text):
            tx.append(m.group())
            st.append(m.start())
            en.append(m.end())
            kd.append(m.lastindex or _SYM)
        sentences = split_sentences(text)
        return cls(
            text=text,
            tx=tx,
            lo=[t.lower() for t in tx],
            st=st,
            en=en,
            kd=kd,
            european=is_european_style(text),
            sentences=sentences,
            sentence_starts=[s for s, _ in sentences],
        )

    def glued(self, i: int) -> bool:
        """Token ``i`` touches the token before it (no space between)."""
        return i > 0 and self.st[i] == self.en[i - 1]

    def spaced(self, i: int) -> bool:
        """Token ``i`` follows the previous one after spaces, on the same line."""
        if i <= 0 or i >= len(self.tx):
            return False
        gap = self.text[self.en[i - 1] : self.st[i]]
        return bool(gap) and "\n" not in gap and "\r" not in gap

    def joined(self, i: int) -> bool:
        """Token ``i`` continues the previous one's line (glued or spaced)."""
        return self.glued(i) or self.spaced(i)

    def sentence_of(self, pos: int) -> int:
        return max(0, bisect_right(self.sentence_starts, pos) - 1)

    def sentence_text(self, idx: int) -> str:
        if not self.sentences:
            return ""
        s, e = self.sentences[idx]
        return self.text[s:e]

    def at_sentence_start(self, i: int) -> bool:
        pos = self.st[i]
        idx = self.sentence_of(pos)
        if not self.sentences:
            return True
        head = self.text[self.sentences[idx][0] : pos]
        return all(not c.isalnum() for c in head)

    def is_titlecase(self, idx: int) -> bool:
        """Headline-style sentence ("Russia Masses 100,000 Troops") where capitals mean little."""
        if idx not in self.titlecase:
            words = [w for w in _NAME_WORD_RE.findall(self.sentence_text(idx)) if len(w) > 3]
            caps = sum(1 for w in words if w[0].isupper())
            self.titlecase[idx] = len(words) >= 3 and caps >= 0.7 * len(words)
        return self.titlecase[idx]

    def context(self, idx: int) -> tuple[str, ...]:
        if idx not in self.contexts:
            if self.midcaps is None:
                self.midcaps = frozenset(_MIDCAP_RE.findall(self.text))
            self.contexts[idx] = _names(self.sentence_text(idx), self.midcaps)
        return self.contexts[idx]


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
    doc: _Doc, i: int, last_unit: dict[int, tuple[str, str, float]]
) -> tuple[Figure, int] | None:
    core = _parse_core(doc, i)
    if core is None:
        return None
    qual_start, qualifier, qual_kind = _qualifier_before(doc, core.first)
    core, qual_start, qualifier, qual_kind = _maybe_range(
        doc, core, qual_start, qualifier, qual_kind
    )
    if _rejected(doc, core, qualifier):
        return None
    sent_idx = doc.sentence_of(doc.st[core.first])
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
            modifiers = tuple(doc.tx[m] for m in mods)
            end_tok = head + 1
        else:
            if core.source == "vague" or core.bare_year or core.odd or core.low < 2:
                return None
            borrowed = last_unit.get(sent_idx)
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
    if core.kind == "count" and not implied:
        last_unit[sent_idx] = (unit, unit_lemma, core.high)
    start = doc.st[start_tok]
    end = doc.en[end_tok - 1]
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
    return fig, end_tok


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
    if doc.glued(i):
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
    elif doc.spaced(i) and doc.tx[i - 1] in ISO_PREFIXES:
        currency = doc.tx[i - 1]
        first = i - 1
    value = parse_digits(s, doc.european)
    if value is None:
        return None
    kind = "money" if currency else "count"
    scale = 1.0
    scaled = False
    j = i + 1
    n = len(doc.tx)
    if j < n and doc.glued(j):
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
    if j < n and doc.glued(j) and not _ok_after(doc, j):
        return None
    if not scaled and kind != "percent" and j < n and doc.spaced(j) and doc.lo[j] in SCALES:
        scale, scaled = SCALES[doc.lo[j]], True
        j += 1
    last = j - 1
    if kind == "count":
        j, kind, currency, scale = _unit_words(doc, j, scale, scaled or value * scale >= 1000)
    value *= scale
    bare_year = (
        kind == "count" and not scaled and s.isdigit() and len(s) == 4 and 1800 <= value <= 2100
    )
    odd = kind == "count" and not scaled and not doc.european and bool(_ODD_ENGLISH.fullmatch(s))
    return _Core(
        first=first,
        last=last,
        end=j,
        low=value,
        high=value,
        kind=kind,
        currency=currency,
        source="digits",
        scaled=scaled,
        bare_year=bare_year,
        odd=odd,
    )


def _percent_range_end(doc: _Doc, j: int) -> float | None:
    """The upper bound of "0.7-0.8%" when token ``j`` is its dash, else None.

    Only percent ranges are read: a bare "7-8" is a date, score or ratio.
    """
    if doc.tx[j] not in ("-", "–") or j + 2 >= len(doc.tx):
        return None
    if not (doc.glued(j + 1) and doc.glued(j + 2) and doc.kd[j + 1] == _NUM):
        return None
    if doc.tx[j + 2] not in PERCENT_SIGNS:
        return None
    if j + 3 < len(doc.tx) and doc.glued(j + 3) and not _ok_after(doc, j + 3):
        return None
    low = parse_digits(doc.tx[j - 1], doc.european)
    high = parse_digits(doc.tx[j + 1], doc.european)
    if low is None or high is None or not low < high:
        return None
    return high


def _words_core(doc: _Doc, i: int) -> _Core | None:
    """A quantity in words: "two thousand five hundred", "half a million", "tens of"."""
    words = _line_words(doc, i, 8)
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
    if j < len(doc.tx) and doc.glued(j) and not _ok_after(doc, j):
        return None
    scaled = any(w in SCALES for w in words[:k]) or source == "vague"
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


def _line_words(doc: _Doc, i: int, limit: int) -> list[str]:
    """Lowercase words from ``i`` on, stopping at punctuation or a line break."""
    words: list[str] = []
    k = i
    n = len(doc.tx)
    while k < n and len(words) < limit and doc.kd[k] == _WORD:
        if k > i and not doc.spaced(k):
            break
        words.append(doc.lo[k])
        k += 1
    return words


def _unit_words(
    doc: _Doc, j: int, scale: float, money_sized: bool
) -> tuple[int, str, str | None, float]:
    """Percent or currency words after an amount: "per cent", "euros", "Swiss francs".

    Returns (next token, kind, currency, multiplier to apply to the amount).
    """
    n = len(doc.tx)
    if j >= n or not doc.spaced(j):
        return j, "count", None, scale
    t = doc.lo[j]
    if doc.tx[j] in PERCENT_SIGNS or t in ("percent", "per-cent"):
        return j + 1, "percent", None, 1.0
    if t == "per" and j + 1 < n and doc.lo[j + 1] == "cent" and doc.spaced(j + 1):
        return j + 2, "percent", None, 1.0
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
    if nxt < len(doc.tx) and doc.glued(nxt):
        if t == ":" and doc.kd[nxt] == _NUM:
            return False
        if t in _APOSTROPHES and doc.lo[nxt] == "s":
            return False
    return True


def _qualifier_before(doc: _Doc, first: int) -> tuple[int, str, str]:
    """The qualifier right before token ``first``: (first token, as written, kind)."""
    words: list[str] = []
    k = first
    while k > 0 and len(words) < _QUALIFIER_MAX_WORDS and doc.spaced(k):
        k -= 1
        if doc.kd[k] != _WORD:
            break
        words.insert(0, doc.lo[k])
    for size in range(len(words), 0, -1):
        key = tuple(words[-size:])
        kind = QUALIFIERS.get(key)
        if kind is not None:
            start = first - size
            return start, doc.text[doc.st[start] : doc.en[first - 1]], kind
    return first, "", EXACT


def _maybe_range(
    doc: _Doc, core: _Core, qual_start: int, qualifier: str, qual_kind: str
) -> tuple[_Core, int, str, str]:
    """Widen "between 2,000 and 3,000 troops" or "2,000 to 3,000 troops" into one range."""
    n = len(doc.tx)
    j = core.end
    if core.source == "vague" or j + 1 >= n or not doc.spaced(j) or not doc.spaced(j + 1):
        return core, qual_start, qualifier, qual_kind
    joiner = doc.lo[j]
    before = doc.lo[core.first - 1] if core.first > 0 and doc.spaced(core.first) else ""
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
    n = len(doc.tx)
    if nxt < n and doc.spaced(nxt):
        t = doc.lo[nxt]
        if doc.kd[nxt] == _NUM:
            return True
        if t in TIME_WORDS or (t in ("a", "p") and nxt + 2 < n and doc.tx[nxt + 1] == "."):
            return True
        if t in MONTHS and (doc.tx[nxt][0].isupper() or t not in ("may", "march")):
            return core.low <= 31 and not core.scaled
    if qualifier:
        return False
    p = core.first - 1
    if p < 0 or not doc.joined(core.first):
        return False
    prev = doc.tx[p]
    low = doc.lo[p]
    if doc.kd[p] == _NUM:
        return True
    if prev == "." and p > 0 and doc.glued(p):
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
    if low in ("in", "of") and p > 0 and doc.spaced(p):
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
    n = len(doc.tx)
    for k in range(j, min(j + 4, n)):
        if doc.kd[k] != _WORD or not doc.spaced(k):
            return None
        w = doc.tx[k]
        low = doc.lo[k]
        acronym = w.isupper() and len(w) > 1
        if not acronym and low in NP_STOP:
            return None
        if low.endswith(("'s", "’s")) or low.endswith(("'", "’")):
            return None
        if k + 1 < n and doc.glued(k + 1) and doc.tx[k + 1] in ("-", "/"):
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
    if start_tok == 0 or doc.lo[start_tok - 1] != "from" or not doc.spaced(start_tok):
        return None
    if j + 1 >= len(doc.tx) or doc.lo[j] != "to" or not doc.spaced(j) or not doc.spaced(j + 1):
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
    if not cue and start_tok > 0 and doc.joined(start_tok):
        prev = doc.lo[start_tok - 1]
        comma = prev == ","
        cue = comma or prev in ("and", "or", "but", "while", "whereas", "to", "from", "plus")
    if not cue:
        return False
    j = core.end
    if j >= len(doc.tx) or not doc.joined(j):
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


def _names(sentence: str, midcaps: frozenset[str]) -> tuple[str, ...]:
    """Capitalised names in ``sentence`` ("Russia", "Joe Biden", "Pentagon"), deduplicated.

    A capitalised word opening the sentence counts only if the article also
    capitalises it mid-sentence, so "Tensions rose" does not make "Tensions"
    a name but "Russia has" keeps "Russia".
    """
    names: list[str] = []
    group: list[str] = []
    group_at_start = False
    prev_end = -1
    seen_word = False

    def flush() -> None:
        nonlocal group, group_at_start
        lone_opener = group_at_start and len(group) == 1
        if group and not (lone_opener and not _keep_opener(group[0], midcaps)):
            name = " ".join(group)
            if name not in names:
                names.append(name)
        group = []
        group_at_start = False

    for m in _NAME_WORD_RE.finditer(sentence):
        word = m.group()
        if word.count(".") < 2:
            word = word.rstrip(".")
        if not word:
            continue
        possessive = word.endswith(("'s", "’s"))
        if possessive:
            word = word[:-2]
        if "-" in word:
            # "Moscow-backed" names Moscow; "Anglo-Dutch" stays whole.
            parts = word.split("-")
            keep = [p for p in parts if p[:1].isupper()]
            word = "-".join(keep) if len(keep) == len(parts) else (keep[0] if keep else "")
        joined = prev_end >= 0 and sentence[prev_end : m.start()] == " "
        prev_end = m.end()
        at_start = not seen_word
        seen_word = True
        if not word or not word[0].isupper() or word.lower() in CONTEXT_STOP or len(word) < 2:
            flush()
            continue
        if not joined:
            flush()
        if not group:
            group_at_start = at_start
        group.append(word)
        if possessive:
            flush()
        if len(names) >= _MAX_CONTEXT:
            break
    flush()
    return tuple(names[:_MAX_CONTEXT])


def _keep_opener(word: str, midcaps: frozenset[str]) -> bool:
    return word.isupper() or word in midcaps
