"""Figure extraction: seed articles, BBC samples, each category and never-raises properties."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirewatch.extract import figures as figures_module
from wirewatch.extract import numbers as numbers_module
from wirewatch.extract import sentences as sentences_module
from wirewatch.extract.figures import QUALIFIERS, extract_figures, singular
from wirewatch.extract.numbers import is_european_style, parse_digits, parse_spelled
from wirewatch.extract.sentences import sentence_at, split_sentences
from wirewatch.models import Figure

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
BBC = ROOT.parent / "shared" / "corpus" / "bbc"

needs_bbc = pytest.mark.skipif(not BBC.is_dir(), reason="BBC corpus not present")


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


@cache
def seed_figures(prefix: str) -> tuple[str, list[Figure]]:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    text = path.read_text("utf-8")
    return text, extract_figures(text)


def find(figures: list[Figure], text: str) -> Figure:
    """The one figure whose text ends with ``text`` (qualifier may precede it)."""
    hits = [f for f in figures if f.text.lower().endswith(text.lower())]
    assert len(hits) >= 1, f"{text!r} not in {[f.text for f in figures]}"
    return hits[0]


def one(text: str) -> Figure:
    figures = extract_figures(text)
    assert len(figures) == 1, [f.text for f in figures]
    return figures[0]


def texts(text: str) -> list[str]:
    return [f.text for f in extract_figures(text)]


# --------------------------------------------------------------------------
# The seed articles
# --------------------------------------------------------------------------

# (seed, figure text, low, high, qualifier kind, unit, modifiers)
SEED_TABLE = [
    ("000", "100,000 troops", 100_000, 100_000, "exact", "troops", ()),
    ("000", "1,000 US soldiers", 1_000, 1_000, "exact", "soldiers", ("US",)),
    ("000", "several thousand troops", 3_000, 9_000, "exact", "troops", ()),
    (
        "001",
        "more than 100,000 combat troops",
        100_000,
        100_000,
        "more_than",
        "troops",
        ("combat",),
    ),
    ("001", "tens of thousands of troops", 20_000, 99_999, "exact", "troops", ()),
    ("002", "about 3,000 troops", 3_000, 3_000, "about", "troops", ()),
    ("002", "more than 13,000 people", 13_000, 13_000, "more_than", "people", ()),
    ("002", "an estimated 100,000 troops", 100_000, 100_000, "about", "troops", ()),
    ("002", "About 2,000 combat troops", 2_000, 2_000, "about", "troops", ("combat",)),
    ("002", "around 1,000 troops", 1_000, 1_000, "about", "troops", ()),
    ("003", "1,000 US troops", 1_000, 1_000, "exact", "troops", ("US",)),
    ("003", "30,000 troops", 30_000, 30_000, "exact", "troops", ()),
    ("003", "More than 13,000 folks", 13_000, 13_000, "more_than", "folks", ()),
    ("003", "hundreds of troops", 200, 999, "exact", "troops", ()),
    ("004", "some 1,150 British troops", 1_150, 1_150, "about", "troops", ("British",)),
    (
        "004",
        "more than 100,000 combat troops",
        100_000,
        100_000,
        "more_than",
        "troops",
        ("combat",),
    ),
    ("004", "more than 13,000 people", 13_000, 13_000, "more_than", "people", ()),
    ("004", "tens of thousands of troops", 20_000, 99_999, "exact", "troops", ()),
]


@pytest.mark.parametrize(
    ("seed", "written", "low", "high", "qualifier_kind", "unit", "modifiers"), SEED_TABLE
)
def test_seed_figures(
    seed: str,
    written: str,
    low: float,
    high: float,
    qualifier_kind: str,
    unit: str,
    modifiers: tuple[str, ...],
) -> None:
    text, figures = seed_figures(seed)
    matches = [f for f in figures if f.text == written]
    assert matches, f"{written!r} not in {[f.text for f in figures]}"
    fig = matches[0]
    assert (fig.low, fig.high) == (low, high)
    assert fig.qualifier_kind == qualifier_kind
    assert fig.unit == unit
    assert fig.unit_lemma == singular(unit)
    assert fig.modifiers == modifiers
    assert fig.kind == "count"
    assert text[fig.start : fig.end] == fig.text
    assert fig.text in fig.sentence


def test_seed_000_another_2000_borrows_soldiers() -> None:
    _, figures = seed_figures("000")
    fig = find(figures, "another 2,000")
    assert fig.low == fig.high == 2_000
    assert fig.unit == "soldiers"
    assert fig.unit_lemma == "soldier"
    assert fig.implied_unit


def test_seed_000_context_names_places() -> None:
    _, figures = seed_figures("000")
    fig = find(figures, "1,000 US soldiers")
    assert {"Russia", "Germany", "Romania", "Poland"} <= set(fig.context)


def test_seed_003_paraphrase_lost_more() -> None:
    _, figures = seed_figures("003")
    fig = find(figures, "100,000 troops")
    assert fig.low == 100_000
    assert fig.unit_lemma == "troop"
    assert fig.qualifier_kind in ("exact", "more_than")


def test_seed_lemmas() -> None:
    _, figures = seed_figures("002")
    assert find(figures, "more than 13,000 people").unit_lemma == "person"
    _, figures = seed_figures("003")
    assert find(figures, "More than 13,000 folks").unit_lemma == "folk"


# (seed, text in the article that must not become a figure, values it could be read as)
NOT_FIGURES = [
    ("003", "2014", {2014.0}),
    ("004", "2014", {2014.0}),
    ("003", "February 10-20", {10.0, 20.0}),
    ("004", "7-8 February", {7.0, 8.0}),
    ("001", "Nord Stream 2", {2.0}),
    ("002", "Article 5", {5.0}),
    ("002", "February 2", {2.0}),
    ("000", "2022-02-04", {2022.0, 2.0, 4.0}),
]


@pytest.mark.parametrize(("seed", "written", "values"), NOT_FIGURES)
def test_seed_not_figures(seed: str, written: str, values: set[float]) -> None:
    text, figures = seed_figures(seed)
    assert written in text
    start = text.index(written)
    end = start + len(written)
    for fig in figures:
        assert not (fig.start < end and start < fig.end), fig.text
        assert written not in fig.text
        assert fig.low not in values and fig.high not in values, fig.text


def test_seed_garbled_couple_of_000_is_skipped() -> None:
    _, figures = seed_figures("003")
    assert not any(f.low == 0 for f in figures)
    assert not any(",000 based" in f.text for f in figures)


# --------------------------------------------------------------------------
# BBC samples
# --------------------------------------------------------------------------


@cache
def bbc_file_containing(needle: bytes) -> Path:
    for path in sorted(BBC.glob("*/*.txt")):
        if needle in path.read_bytes():
            return path
    raise AssertionError(f"no BBC file contains {needle!r}")


@needs_bbc
def test_bbc_pounds_cp1252() -> None:
    path = bbc_file_containing(b"\xa315.8m")
    text = path.read_bytes().decode("cp1252")
    fig = find(extract_figures(text), "£15.8m")
    assert fig.kind == "money"
    assert fig.currency == "GBP"
    assert fig.low == fig.high == pytest.approx(15.8e6)
    assert fig.unit_lemma == "money"


@needs_bbc
def test_bbc_novartis_euros_and_percent() -> None:
    path = bbc_file_containing(b"Novartis hits acquisition trail")
    figures = extract_figures(read_text(path))
    euros = find(figures, "5.65bn euros")
    assert euros.kind == "money"
    assert euros.currency == "EUR"
    assert euros.low == pytest.approx(5.65e9)
    dollars = find(figures, "$7.4bn")
    assert dollars.currency == "USD"
    assert dollars.low == pytest.approx(7.4e9)
    share = find(figures, "67.7%")
    assert share.kind == "percent"
    assert share.unit == "%"
    assert share.unit_lemma == "percent"
    assert share.low == pytest.approx(67.7)
    assert all(f.low != 2005 and f.low != 2004 for f in figures)


@needs_bbc
def test_bbc_whole_corpus_never_raises() -> None:
    paths = sorted(BBC.glob("*/*.txt"))
    assert len(paths) == 2225
    for path in paths:
        text = read_text(path)
        for fig in extract_figures(text):
            assert text[fig.start : fig.end] == fig.text


# --------------------------------------------------------------------------
# Digits, separators and number style
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100,000 troops", 100_000),
        ("1,150 troops", 1_150),
        ("2,000,000 people", 2_000_000),
        ("3.5 million people", 3_500_000),
        ("1.2bn people", 1.2e9),
        ("14m customers", 14e6),
    ],
)
def test_digits(text: str, value: float) -> None:
    assert one(text).low == pytest.approx(value)


def test_european_style_text() -> None:
    text = "Die Armee hat 1.234.567 Euro. The army has 100.000 troops; the rate is 3,5 %."
    assert is_european_style(text)
    figures = extract_figures(text)
    assert find(figures, "100.000 troops").low == 100_000
    assert find(figures, "1.234.567 Euro").low == 1_234_567
    rate = find(figures, "3,5 %")
    assert rate.kind == "percent"
    assert rate.low == pytest.approx(3.5)


def test_english_style_text_does_not_read_dot_as_thousands() -> None:
    text = "About 100,000 people came, and 100.000 soldiers is odd here; 10.5% rose."
    assert not is_european_style(text)
    assert all(f.low != 100_000 or f.unit == "people" for f in extract_figures(text))
    assert "100.000 soldiers" not in texts(text)


def test_parse_digits_rejects_bad_grouping() -> None:
    assert parse_digits("1,2,3", european=False) is None
    assert parse_digits("2.4.2005", european=False) is None
    assert parse_digits("100.000", european=True) == 100_000
    assert parse_digits("3,5", european=True) == 3.5
    assert parse_digits("5.65", european=False) == 5.65


# --------------------------------------------------------------------------
# Spelled-out numbers and vague magnitudes
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("two thousand five hundred people", 2_500),
        ("a dozen soldiers", 12),
        ("twenty-five tanks", 25),
        ("a hundred protesters", 100),
        ("half a million refugees", 500_000),
        ("1.5 million people", 1_500_000),
        ("two hundred and fifty houses", 250),
        ("one and a half million voters", 1_500_000),
        ("three million Americans", 3_000_000),
    ],
)
def test_spelled_numbers(text: str, value: float) -> None:
    fig = one(text)
    assert fig.low == fig.high == pytest.approx(value)
    assert fig.text == text


def test_parse_spelled_is_strict() -> None:
    assert parse_spelled(["five", "four"]) == (5.0, 1)
    assert parse_spelled(["a", "man"]) is None
    assert parse_spelled(["hundred"]) is None
    assert parse_spelled(["two", "dozen", "eggs"]) == (24.0, 2)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("several thousand troops", 3_000, 9_000),
        ("thousands of people", 2_000, 9_999),
        ("tens of thousands of troops", 20_000, 99_999),
        ("hundreds of troops", 200, 999),
        ("hundreds of thousands of refugees", 200_000, 999_999),
        ("millions of viewers", 2_000_000, 9_999_999),
        ("a few hundred soldiers", 200, 500),
        ("dozens of villages", 24, 99),
    ],
)
def test_vague_ranges(text: str, low: float, high: float) -> None:
    fig = one(text)
    assert (fig.low, fig.high) == (low, high)
    assert fig.is_range
    assert fig.text == text


def test_vague_without_noun_is_skipped() -> None:
    assert texts("Thousands protested and hundreds of them were held.") == []


def test_numeric_ranges() -> None:
    fig = one("They sent between 2,000 and 3,000 troops.")
    assert (fig.low, fig.high, fig.unit) == (2_000, 3_000, "troops")
    fig = one("The firm has 2,000 to 3,000 workers.")
    assert (fig.low, fig.high) == (2_000, 3_000)
    fig = one("Growth was 0.7-0.8% in the quarter.")
    assert (fig.low, fig.high, fig.kind) == (0.7, 0.8, "percent")


# --------------------------------------------------------------------------
# Qualifiers
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "qualifier", "kind"),
    [
        ("more than 500 people", "more than", "more_than"),
        ("over 500 people", "over", "more_than"),
        ("in excess of 500 people", "in excess of", "more_than"),
        ("at least 500 people", "at least", "at_least"),
        ("fewer than 500 people", "fewer than", "less_than"),
        ("under 500 people", "under", "less_than"),
        ("nearly 500 people", "nearly", "nearly"),
        ("almost 500 people", "almost", "nearly"),
        ("just under 500 people", "just under", "nearly"),
        ("about 500 people", "about", "about"),
        ("some 500 people", "some", "about"),
        ("an estimated 500 people", "an estimated", "about"),
        ("roughly 500 people", "roughly", "about"),
        ("up to 500 people", "up to", "up_to"),
        ("as many as 500 people", "as many as", "up_to"),
        ("500 people", "", "exact"),
    ],
)
def test_qualifiers(text: str, qualifier: str, kind: str) -> None:
    fig = one(f"Officials said {text} were hurt.")
    assert fig.qualifier == qualifier
    assert fig.qualifier_kind == kind
    assert fig.text == text


def test_qualifier_table_uses_the_vocabulary() -> None:
    vocabulary = {"exact", "more_than", "at_least", "less_than", "nearly", "about", "up_to"}
    assert set(QUALIFIERS.values()) <= vocabulary


# --------------------------------------------------------------------------
# Money and percentages
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("$639m", 639e6, "USD"),
        ("£600m", 600e6, "GBP"),
        ("€2bn", 2e9, "EUR"),
        ("1.13bn dollars", 1.13e9, "USD"),
        ("US$5m", 5e6, "USD"),
        ("5.65bn euros", 5.65e9, "EUR"),
        ("$7.4bn", 7.4e9, "USD"),
        ("£15.8m", 15.8e6, "GBP"),
        ("57.85 Swiss francs", 57.85, "CHF"),
        ("$5 million", 5e6, "USD"),
        ("200,000 yuan", 200_000, "CNY"),
        ("25p", 0.25, "GBP"),
    ],
)
def test_money(text: str, value: float, currency: str) -> None:
    fig = one(f"The deal is worth {text}, they said.")
    assert fig.text == text
    assert fig.kind == "money"
    assert fig.currency == currency
    assert fig.unit_lemma == "money"
    assert fig.low == fig.high == pytest.approx(value)


def test_money_in_brackets_and_qualified() -> None:
    figures = extract_figures("Profits jumped to $1.13bn (£600m), from more than $639m.")
    assert [f.text for f in figures] == ["$1.13bn", "£600m", "more than $639m"]
    assert figures[2].qualifier_kind == "more_than"


def test_pounds_as_weight_is_not_money() -> None:
    assert all(f.kind != "money" for f in extract_figures("He lost 20 pounds in weight."))


@pytest.mark.parametrize(
    ("text", "value"),
    [("76%", 76), ("67.7 per cent", 67.7), ("5 percent", 5), ("five per cent", 5)],
)
def test_percent(text: str, value: float) -> None:
    fig = one(f"Sales rose {text} last year.")
    assert fig.text == text
    assert fig.kind == "percent"
    assert (fig.unit, fig.unit_lemma) == ("%", "percent")
    assert fig.low == pytest.approx(value)
    assert fig.currency is None


# --------------------------------------------------------------------------
# Units, modifiers and elliptical counts
# --------------------------------------------------------------------------


def test_head_noun_and_modifiers() -> None:
    fig = one("It sent 1,000 US soldiers in Germany to Romania.")
    assert (fig.unit, fig.modifiers) == ("soldiers", ("US",))
    fig = one("Russia has massed more than 100,000 combat troops on the border.")
    assert (fig.unit, fig.modifiers) == ("troops", ("combat",))
    fig = one("13,000 people have been killed.")
    assert (fig.unit, fig.unit_lemma) == ("people", "person")


def test_number_without_noun_is_skipped() -> None:
    assert texts("The index rose to 3,000.") == []
    assert texts("He was aged 25 when he left.") == []


def test_elliptical_count_borrows_noun() -> None:
    text = (
        "1,000 US soldiers in Germany are being sent to Romania, "
        "and another 2,000 stationed in the US are being flown to Poland."
    )
    figures = extract_figures(text)
    assert [f.text for f in figures] == ["1,000 US soldiers", "another 2,000"]
    assert figures[1].unit == "soldiers"
    assert figures[1].implied_unit


def test_from_to_borrows_noun_forward() -> None:
    figures = extract_figures("Troop numbers rose from 100,000 to 130,000 troops.")
    assert [(f.low, f.unit, f.implied_unit) for f in figures] == [
        (100_000, "troops", True),
        (130_000, "troops", False),
    ]


def test_elliptical_does_not_borrow_for_ages() -> None:
    figures = extract_figures("He has two children, Emily, 16, and Pelham, 14.")
    assert [f.text for f in figures] == ["two children"]


@pytest.mark.parametrize(
    ("plural", "lemma"),
    [
        ("troops", "troop"),
        ("soldiers", "soldier"),
        ("people", "person"),
        ("folks", "folk"),
        ("countries", "country"),
        ("women", "woman"),
        ("gunmen", "gunman"),
        ("buses", "bus"),
        ("taxes", "tax"),
        ("churches", "church"),
        ("heroes", "hero"),
        ("sorties", "sortie"),
        ("aircraft", "aircraft"),
        ("peace-keepers", "peace-keeper"),
        ("Americans", "american"),
    ],
)
def test_singular(plural: str, lemma: str) -> None:
    assert singular(plural) == lemma


# --------------------------------------------------------------------------
# Not figures
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ukraine has been battling since 2014.",
        "In 2003 troops arrived, and 2000 troops is a year here.",
        "The 1990s were different.",
        "The drills run February 10-20.",
        "Le Drian will visit on 7-8 February.",
        "They spoke on 2 February.",
        "They spoke on February 2.",
        "It was signed on Jan. 30 in Paris.",
        "We meet at 10:30, or 3pm, or 5 o'clock, or 3 p.m. today.",
        "He came 1st and she came third in the second race.",
        "The Nord Stream 2 pipeline was at stake.",
        "Article 5 is a sacred obligation.",
        "Minsk II failed.",
        "Windows 95 sold well.",
        "The G7 met.",
        "Formula 1 teams met.",
        "COVID-19 cases rose.",
        "A Boeing 747 landed.",
        "Channel 4 viewers complained.",
        "F-16 jets and 4G phones.",
        "Call +44 20 7946 0958 now.",
        "ISBN 978-3-16-148410-0 is a book.",
        "The A320 jets were grounded.",
        "Chelsea won 3-1 and then 2-0.",
        "The 25-year-old signed a two-year deal.",
        "It was the number 10 shirt.",
        "He won the 60m hurdles.",
        "One in five voters agreed.",
        "The two sides met.",
        "It is 24/7 and 9/11 and 007.",
        "12 Angry Men is a film.",
    ],
)
def test_not_figures(text: str) -> None:
    assert texts(text) == []


def test_year_with_qualifier_and_plural_noun_is_a_count() -> None:
    fig = one("The army sent about 2000 troops north.")
    assert fig.low == 2_000
    assert fig.qualifier_kind == "about"


# --------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------


def test_split_sentences_keeps_abbreviations() -> None:
    text = "U.S. President Joe Biden met Mr. Putin. They talked.\nNew line here"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "U.S. President Joe Biden met Mr. Putin.",
        "They talked.",
        "New line here",
    ]


def test_sentence_and_span() -> None:
    text = "Tensions grew with Russia. Russia sent 3,000 troops to Belarus. Tensions rose."
    fig = one(text)
    assert fig.sentence == "Russia sent 3,000 troops to Belarus."
    assert text[fig.start : fig.end] == "3,000 troops"
    assert fig.context == ("Russia", "Belarus")


def test_context_skips_capitalised_openers_never_used_as_names() -> None:
    fig = one("Tensions rose as Russia sent 3,000 troops to Belarus.")
    assert fig.context == ("Russia", "Belarus")


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

_PIECES = [
    *"0123456789 ,.-%$£€:/+()'\"abcmnostk\n",
    *["thousand", " million", "bn", " of ", " troops", " more than ", " about ", " a "],
    *[" two", " dozen", " hundreds", " tens", " another ", " and ", " February "],
    *[" per cent", " euros", "US", " between ", " to ", " from ", "’s", "–"],
]
_NEWSY = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), _NEWSY))
def test_never_raises_and_spans_match(text: str) -> None:
    figures = extract_figures(text)
    last = -1
    for fig in figures:
        assert text[fig.start : fig.end] == fig.text
        assert fig.start >= last
        assert fig.low <= fig.high
        assert fig.kind in ("count", "money", "percent")
        last = fig.start


# --------------------------------------------------------------------------
# Shortcuts that must not change the output
#
# Extraction reads token windows around candidates rather than the whole
# text, skips numbers and words ruled out from their characters, and finds
# sentences, names and number style without scanning everything. Each
# shortcut is checked against a slower way that reads everything.
# --------------------------------------------------------------------------

_TRICKY_PIECES = [
    *_PIECES,
    *[" 2004", " 1999,", " in 2005.", " March 2005", " 2 February", " 31 may", " 45 March"],
    *[" Article 5", " Chapter 11 ", " No 10", " G7", " 1990s", " 19th", " 90-day", " 2-1"],
    *[" 0.7-0.8%", " 10:30", " Radio 4's", " 737-800", " the two", " next five", " three"],
    *[" twenty-five", " two-thirds", " Two", " ONE", " half a million", " a few", " several"],
    *[" Russia", " Joe Biden", " pro-Moscow", " Anglo-Dutch", " U.S.", " Mr. ", " Éa ", " É"],
    *[". ", "! ", "? ", '." ', " Mr.", "\r\n", "\n\n", "  ", "\t", " USD", " between", " by"],
    *["£", "€", "$", "%", "％", "’", "“", "”", " per cent", " percent", " 1,000", " 3,5"],
]
_TRICKY = st.lists(st.sampled_from(_TRICKY_PIECES), max_size=60).map("".join)

_TOKEN = re.compile(r"([0-9]+(?:[.,][0-9]+)*)|([^\W\d_]+(?:[-'’][^\W\d_]+)*)|(\S)")


def _every_token(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Every number token and every word token as a candidate."""
    numbers: list[tuple[int, int]] = []
    words: list[int] = []
    for m in _TOKEN.finditer(text):
        if m.lastindex == 1:
            numbers.append(m.span())
        elif m.lastindex == 2:
            words.append(m.start())
    return numbers, words


def _slow_variants(text: str) -> dict[str, list[Figure]]:
    """The figures of ``text`` read each slower way."""
    out: dict[str, list[Figure]] = {}
    with (
        mock.patch.object(figures_module, "_BACK_CHARS", 0),
        mock.patch.object(figures_module, "_AHEAD_CHARS", 10**9),
    ):
        out["whole lines"] = extract_figures(text)
    with (
        mock.patch.object(figures_module, "_BACK_CHARS", 1),
        mock.patch.object(figures_module, "_AHEAD_CHARS", 1),
    ):
        out["smallest windows"] = extract_figures(text)
    with (
        mock.patch.object(figures_module, "_candidates", _every_token),
        mock.patch.object(figures_module, "_number_ruled_out", return_value=False),
    ):
        out["every token"] = extract_figures(text)
    with mock.patch.object(figures_module, "_HYPHEN_CAPITAL_RE", re.compile("")):
        out["names read word by word"] = extract_figures(text)
    return out


def _assert_shortcuts_agree(text: str) -> None:
    expected = extract_figures(text)
    for name, figures in _slow_variants(text).items():
        assert figures == expected, name


@settings(max_examples=300, deadline=None)
@given(st.one_of(_NEWSY, _TRICKY, st.text(max_size=120)))
def test_shortcuts_agree_on_generated_text(text: str) -> None:
    _assert_shortcuts_agree(text)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_shortcuts_agree_on_seeds(prefix: str) -> None:
    text, _ = seed_figures(prefix)
    _assert_shortcuts_agree(text)


@needs_bbc
def test_shortcuts_agree_on_bbc_sample() -> None:
    for path in sorted(BBC.glob("*/*.txt"))[::40]:
        _assert_shortcuts_agree(read_text(path))


def test_windows_widen_for_a_long_qualifier() -> None:
    text = "x " * 40 + "and well in excess of US$5bn was paid."
    with mock.patch.object(figures_module, "_BACK_CHARS", 1):
        assert texts(text) == ["well in excess of US$5bn"]


def test_ruled_out_numbers_are_not_figures() -> None:
    ruled_out = figures_module._number_ruled_out
    for text, number in [
        ("the G7 meeting", "7"),
        ("in the 1990s", "1990"),
        ("a 90-day plan", "90"),
        ("in 2004, sales", "2004"),
        ("on 2 February", "2"),
        ("at 10:30 today", "10"),
        ("Radio 4's show", "4"),
        ("the 737-800 plane", "737"),
        ("from 2004 to 2005", "2004"),
    ]:
        start = text.index(number)
        assert ruled_out(text, start, start + len(number)), text
        assert texts(text) == [], text
    for text, number in [
        ("about 2000 troops", "2000"),
        ("USD 2000", "2000"),
        ("2000 euros", "2000"),
        ("between 2000 and 3000 troops", "2000"),
        ("2000 to 3000 troops", "2000"),
        ("45 March", "45"),
        ("0.7-0.8% growth", "0"),
    ]:
        start = text.index(number)
        assert not ruled_out(text, start, start + len(number)), text


# Sentences, names, number style and helpers against their plain versions.

_SENTENCE_PIECES = [*".!?\"'”’)]([“‘ \n\r\tAaBZ1x", "Mr.", "U.S.", "Jan.", " A", "...", "é"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_SENTENCE_PIECES), max_size=30).map("".join))
def test_sentence_at_matches_split_sentences(text: str) -> None:
    spans = split_sentences(text)
    for pos, char in enumerate(text):
        if not char.isspace():
            assert sentence_at(text, pos) == next(s for s in spans if s[0] <= pos < s[1])


def test_sentence_at_on_seeds() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text("utf-8")
        spans = split_sentences(text)
        for start, end in spans:
            for pos in (start, (start + end) // 2, end - 1):
                if not text[pos].isspace():
                    assert sentence_at(text, pos) == (start, end)


_NAME_PIECES = [
    *["a", "b", "Bc", "De", "the", "Mr", "U.S.", "x-Y", "pro-Moscow", "Anglo-Dutch", "ab-cd"],
    *["'s", "’s", "'", ".", "..", "-", " ", " ", " ", "  ", ",", "1", "_", "é", "É", "Éa", "A"],
    *["AB", "x.y", "Ab.", "a.-b", "b'-c", "\t", "ǅa", "Alpha", "Beta", "Gamma", "Delta"],
]


def _names_reference(sentence: str, keep_opener: Callable[[str], bool]) -> tuple[str, ...]:
    """``_names`` word by word, with every word of ``_NAME_WORD_RE``."""
    names: list[str] = []
    group: list[str] = []
    group_at_start = False
    prev_end = -1

    def flush() -> None:
        nonlocal group, group_at_start
        lone = group_at_start and len(group) == 1
        if group and not (lone and not keep_opener(group[0])):
            name = " ".join(group)
            if name not in names:
                names.append(name)
        group, group_at_start = [], False

    for m in figures_module._NAME_WORD_RE.finditer(sentence):
        word = m.group()
        if word.count(".") < 2:
            word = word.rstrip(".")
        possessive = word.endswith(("'s", "’s"))
        if possessive:
            word = word[:-2]
        if "-" in word:
            parts = word.split("-")
            keep = [p for p in parts if p[:1].isupper()]
            word = "-".join(keep) if len(keep) == len(parts) else (keep[0] if keep else "")
        joined = prev_end >= 0 and sentence[prev_end : m.start()] == " "
        at_start = prev_end < 0
        prev_end = m.end()
        stop = figures_module.CONTEXT_STOP
        if not word or not word[0].isupper() or word.lower() in stop or len(word) < 2:
            flush()
            continue
        if not joined:
            flush()
        if not group:
            group_at_start = at_start
        group.append(word)
        if possessive:
            flush()
        if len(names) >= 12:
            break
    flush()
    return tuple(names[:12])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_NAME_PIECES), max_size=60).map("".join))
def test_names_match_word_by_word_reading(sentence: str) -> None:
    def keep(word: str) -> bool:
        return word.isupper() or word in ("Bc", "Alpha")

    assert figures_module._names(sentence, keep) == _names_reference(sentence, keep)


_MIDCAP_PIECES = ["a", "b", "Bc", "De", "Fg", "A", "É", "é", ",", ";", ":", " ", " ", "1", "_"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_MIDCAP_PIECES), max_size=25).map("".join))
def test_midcap_lookup_matches_findall(text: str) -> None:
    found = set(figures_module._MIDCAP_RE.findall(text))
    for word in {*re.findall(r"[^\W\d_]+", text), "Bc", "De", "Fg"}:
        assert figures_module._is_midcap(text, word) == (word in found), word


def _european_reference(text: str) -> bool:
    """``is_european_style`` scanning the whole text with each pattern."""
    if numbers_module._EN_COMMA_THOUSANDS.search(text):
        return False
    signals = (
        len(numbers_module._EU_MULTI_DOT.findall(text))
        + len(numbers_module._EU_DECIMAL_COMMA.findall(text))
        + len(numbers_module._EU_DOT_THOUSANDS.findall(text))
    )
    return signals > len(numbers_module._EN_DECIMAL.findall(text))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"0123456789.,  a", "100.000", "3,5", "1,234"]), max_size=30))
def test_european_style_matches_full_scan(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert is_european_style(text) == _european_reference(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_patterns_match_unicode_ones_on_ascii(text: str) -> None:
    tokens, tokens_ascii = figures_module._TOKEN_SPLIT_RE, figures_module._TOKEN_SPLIT_ASCII_RE
    assert tokens_ascii.split(text) == tokens.split(text)
    names, names_ascii = figures_module._NAME_SCAN_RE, figures_module._NAME_SCAN_ASCII_RE
    assert names_ascii.findall(text) == names.findall(text)


def test_token_kinds_and_letters_match_the_patterns() -> None:
    letter = re.compile(r"[^\W\d_]")
    for code in [*range(0x3000), *range(0xFF00, 0x10000)]:
        char = chr(code)
        if char.isspace():
            continue
        kind = _TOKEN.match(char)
        assert kind is not None
        assert figures_module._KINDS[char] == kind.lastindex, hex(code)
        assert figures_module._is_letter(char, 0) == (letter.match(char) is not None), hex(code)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.,", min_size=1, max_size=20), st.booleans())
def test_parse_digits_shortcut(text: str, european: bool) -> None:
    value = parse_digits(text, european)
    pattern = numbers_module._EU_NUMBER_PLAIN if european else numbers_module._EN_NUMBER
    if text.isdigit():
        assert value == (float(text) if len(text) <= numbers_module.MAX_DIGITS else None)
        assert value is None or pattern.fullmatch(text)


_VAGUE_WORDS = sorted({w for phrase, _, _ in numbers_module.VAGUE for w in phrase} | {"troops"})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_VAGUE_WORDS), max_size=6))
def test_match_vague_takes_the_first_phrase_in_table_order(words: list[str]) -> None:
    expected = next(
        (
            (low, high, len(phrase))
            for phrase, low, high in numbers_module.VAGUE
            if tuple(words[: len(phrase)]) == phrase
        ),
        None,
    )
    assert numbers_module.match_vague(words) == expected


def test_ruled_out_words_are_not_figures() -> None:
    ruled_out = figures_module._word_ruled_out
    for text, word in [("the two firms met", "two"), ("two-thirds of it", "two")]:
        assert ruled_out(text, text.index(word)), text
        assert texts(text) == [], text
    for text, word in [("the two hundred troops", "two"), ("two firms", "two")]:
        assert not ruled_out(text, text.index(word)), text
    assert texts("the two hundred troops") == ["two hundred troops"]


_PLAIN_PATTERNS = {
    "token": r"([0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:[-'’][^\W\d_]+)*|\S)",
    "name word": r"[^\W\d_]+(?:['’.\-][^\W\d_]+)*\.?",
    "boundary": r"\n|[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])",
}
_PATTERN_PIECES = [*"ab.-'’ Xé1_,!?\"”)]([“\n\t", "..", "a.b", "x-", ". A", "? '", '."', "3.5"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PATTERN_PIECES), max_size=25).map("".join))
def test_possessive_patterns_match_plain_ones(text: str) -> None:
    """The patterns give nothing back once matched; they find what the plain ones do."""
    assert figures_module._TOKEN_SPLIT_RE.split(text) == re.split(_PLAIN_PATTERNS["token"], text)
    name_words = figures_module._NAME_WORD_RE.findall(text)
    assert name_words == re.findall(_PLAIN_PATTERNS["name word"], text)
    boundaries = [m.span() for m in sentences_module._BOUNDARY.finditer(text)]
    assert boundaries == [m.span() for m in re.finditer(_PLAIN_PATTERNS["boundary"], text)]
