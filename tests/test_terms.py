"""Watched-term matching: boundaries, case, aliases, overlaps and spans."""

from __future__ import annotations

import pickle
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirewatch.extract.terms import (
    Watchlist,
    compile_watchlist,
    count_mentions,
    find_mentions,
    normalise,
)
from wirewatch.models import Mention

WATCHLIST = compile_watchlist(
    {
        "Zelensky": ["Zelenskiy", "Volodymyr Zelensky"],
        "Kyiv": ["Kiev"],
        "Nord Stream 2": [],
        "NATO": [],
        "Russia": [],
        "U.S.": [],
        "Straße": [],
        "Côte d'Ivoire": [],
    }
)


def found(text: str, watchlist: Watchlist = WATCHLIST) -> list[tuple[str, str]]:
    """(term, matched) pairs, checking every span against the original text."""
    mentions = find_mentions(text, watchlist)
    for m in mentions:
        assert text[m.start : m.end] == m.matched
        assert m.watched
    return [(m.term, m.matched) for m in mentions]


def test_alias_reports_the_canonical_term() -> None:
    assert found("Talks in Kiev with Zelenskiy.") == [("Kyiv", "Kiev"), ("Zelensky", "Zelenskiy")]


@pytest.mark.parametrize("spelling", ["kyiv", "KYIV", "KyIv", "Kyiv"])
def test_matching_ignores_case(spelling: str) -> None:
    assert found(f"He flew to {spelling} today.") == [("Kyiv", spelling)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the Kievan Rus", []),
        ("Russian troops", []),
        ("NATOs", []),
        ("Kyiv2", []),
        ("2Kyiv", []),
        ("Kyivé", []),  # precomposed letter after the term
        ("Kyive\u0301", []),  # letter plus combining accent
        ("Kyiv\u0301", []),  # a combining mark alone continues the word
        ("ЀKyiv", []),  # Cyrillic letter before the term
        ("éKyiv", []),
        ("NATO's allies", [("NATO", "NATO")]),
        ("NATO’s allies", [("NATO", "NATO")]),
        ("pro-Kyiv forces", [("Kyiv", "Kyiv")]),
        ("(Kyiv)", [("Kyiv", "Kyiv")]),
        ("«Kyiv»", [("Kyiv", "Kyiv")]),
        ("Kyiv", [("Kyiv", "Kyiv")]),
        ("Russia.", [("Russia", "Russia")]),
        ("_Kyiv_", [("Kyiv", "Kyiv")]),
    ],
)
def test_terms_match_whole_words_only(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_longest_spelling_wins_and_mentions_never_overlap() -> None:
    watchlist = compile_watchlist({"Zelensky": [], "Volodymyr Zelensky": [], "Volodymyr": []})
    assert found("President Volodymyr Zelensky said", watchlist) == [
        ("Volodymyr Zelensky", "Volodymyr Zelensky")
    ]


def test_leftmost_match_wins_over_a_later_overlapping_one() -> None:
    watchlist = compile_watchlist({"New York": [], "York Times": []})
    assert found("the New York Times reported", watchlist) == [("New York", "New York")]


def test_a_longer_hit_inside_a_word_does_not_hide_a_shorter_whole_word() -> None:
    watchlist = compile_watchlist({"Ian Smith": [], "Smith": []})
    assert found("Brian Smith and Ian Smith", watchlist) == [
        ("Smith", "Smith"),
        ("Ian Smith", "Ian Smith"),
    ]


def test_a_longer_term_failing_the_boundary_does_not_hide_a_shorter_one() -> None:
    watchlist = compile_watchlist({"New York": [], "New York Times": []})
    assert found("the New York Timesy and the New York Times", watchlist) == [
        ("New York", "New York"),
        ("New York Times", "New York Times"),
    ]


def test_terms_nested_at_either_end_of_a_longer_term() -> None:
    watchlist = compile_watchlist({"Nord Stream": [], "Stream 2": [], "Nord Stream 2": []})
    assert found("Nord Stream 2, Nord Stream 20 and Stream 2", watchlist) == [
        ("Nord Stream 2", "Nord Stream 2"),
        ("Nord Stream", "Nord Stream"),
        ("Stream 2", "Stream 2"),
    ]


def test_multi_word_terms_match_across_any_whitespace() -> None:
    text = "the Nord\nStream 2 pipeline, the Nord \t Stream\u00a02, the Nord\n\nStream  2"
    assert found(text) == [
        ("Nord Stream 2", "Nord\nStream 2"),
        ("Nord Stream 2", "Nord \t Stream\u00a02"),
        ("Nord Stream 2", "Nord\n\nStream  2"),
    ]


def test_whitespace_inside_a_term_is_normalised_too() -> None:
    watchlist = compile_watchlist({"Nord  Stream\n2": []})
    assert found("Nord Stream 2", watchlist) == [("Nord  Stream\n2", "Nord Stream 2")]


def test_punctuation_inside_terms() -> None:
    text = "U.S. troops, U.S.-led talks, the US, U.S.A., and Nord Stream 2."
    assert found(text) == [
        ("U.S.", "U.S."),
        ("U.S.", "U.S."),
        ("Nord Stream 2", "Nord Stream 2"),
    ]


def test_typographic_apostrophes_match_plain_ones() -> None:
    assert found("in Côte d’Ivoire") == [("Côte d'Ivoire", "Côte d’Ivoire")]


@pytest.mark.parametrize(
    "prefix",
    [
        "ß ",  # folds to "ss": one character longer
        "İstanbul, ",  # folds to "i" + combining dot
        "ﬁnance ",  # ligature folds to "fi"
        "ŉ ",  # folds to "ʼn"
        "ΐ ",  # folds to three characters
        "Fußball\n\n  ",  # folding and a whitespace run together
        "😀 ",  # outside the Basic Multilingual Plane
    ],
)
def test_spans_index_the_original_text_after_length_changing_characters(prefix: str) -> None:
    text = f"{prefix}Talks in KIEV and Nord\n\nStream 2."
    mentions = find_mentions(text, WATCHLIST)
    assert [(m.term, m.matched) for m in mentions] == [
        ("Kyiv", "KIEV"),
        ("Nord Stream 2", "Nord\n\nStream 2"),
    ]
    for m in mentions:
        assert text[m.start : m.end] == m.matched


def test_terms_containing_length_changing_characters() -> None:
    text = "Straße, STRASSE, strasse, STRAẞE and straßen"
    assert found(text) == [
        ("Straße", "Straße"),
        ("Straße", "STRASSE"),
        ("Straße", "strasse"),
        ("Straße", "STRAẞE"),
    ]


def test_a_hit_inside_a_folded_character_is_not_a_match() -> None:
    watchlist = compile_watchlist({"s": [], "i": []})
    assert found("ß İ", watchlist) == []
    assert found("ß s i", watchlist) == [("s", "s"), ("i", "i")]


def test_a_hit_covering_a_whole_folded_character_is_a_match() -> None:
    watchlist = compile_watchlist({"ss": []})
    assert found("ß", watchlist) == [("ss", "ß")]


def test_ten_thousand_terms() -> None:
    terms: dict[str, list[str]] = {f"term{i:04d}": [] for i in range(1, 10_000)}
    terms.update({"Kyiv": ["Kiev"], "Nord Stream 2": [], "Olaf Scholz": []})
    watchlist = compile_watchlist(terms)
    assert len(watchlist) == 10_002
    text = (
        "term0042 and TERM9999 met in Kiev; term00421, xterm0042, term0000 and term10000 "
        "do not count, nor does Nord Stream 20, but Olaf Scholz and Nord Stream 2 do. term0001"
    )
    assert found(text, watchlist) == [
        ("term0042", "term0042"),
        ("term9999", "TERM9999"),
        ("Kyiv", "Kiev"),
        ("Olaf Scholz", "Olaf Scholz"),
        ("Nord Stream 2", "Nord Stream 2"),
        ("term0001", "term0001"),
    ]


def test_count_mentions_per_canonical_term() -> None:
    mentions = find_mentions("Kiev, Kyiv, NATO and KYIV; Zelenskiy.", WATCHLIST)
    assert count_mentions(mentions) == {"Kyiv": 3, "NATO": 1, "Zelensky": 1}
    assert count_mentions([]) == {}


def test_a_terms_own_name_beats_another_terms_alias() -> None:
    watchlist = compile_watchlist({"Kyiv": ["Kiev"], "Kiev": []})
    assert found("Kiev", watchlist) == [("Kiev", "Kiev")]


def test_the_first_listed_term_keeps_a_shared_alias() -> None:
    watchlist = compile_watchlist({"Kyiv": ["Kiev"], "Kyiv city": ["KIEV"]})
    assert found("Kiev", watchlist) == [("Kyiv", "Kiev")]


def test_spellings_without_letters_or_digits_are_skipped() -> None:
    watchlist = compile_watchlist({"NATO": ["", "  ", "--"]})
    assert watchlist.patterns == (("nato", "NATO"),)
    assert found("-- NATO --", watchlist) == [("NATO", "NATO")]


def test_aliases_given_as_a_string_are_refused() -> None:
    with pytest.raises(TypeError, match="aliases"):
        compile_watchlist({"Kyiv": "Kiev"})


def test_empty_watchlist_and_empty_text() -> None:
    empty = compile_watchlist({})
    assert len(empty) == 0
    assert find_mentions("Kyiv", empty) == []
    assert find_mentions("", WATCHLIST) == []


def test_watchlists_compare_by_content() -> None:
    again = compile_watchlist({"Kyiv": ["Kiev"]})
    assert again == compile_watchlist({"Kyiv": ["Kiev"]})
    assert hash(again) == hash(compile_watchlist({"Kyiv": ["Kiev"]}))


def test_watchlists_survive_pickling() -> None:
    """A watchlist can be sent to worker processes, though its automaton cannot."""
    again = pickle.loads(pickle.dumps(WATCHLIST))
    assert again == WATCHLIST
    text = "Talks in Kiev with Zelenskiy on Nord\nStream 2."
    assert find_mentions(text, again) == find_mentions(text, WATCHLIST)
    empty = pickle.loads(pickle.dumps(compile_watchlist({})))
    assert find_mentions("Kyiv", empty) == []


def test_normalise() -> None:
    assert normalise("  Nord\n\tSTREAM  2 ") == "nord stream 2"
    assert normalise("Straße") == "strasse"
    assert normalise("d’Ivoire") == "d'ivoire"


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def test_casefolding_never_changes_word_boundaries() -> None:
    """The matcher tests boundaries on the folded text; this makes that exact.

    For every character, its fold starts and ends with a word character
    exactly when the character is one, and the fold is never empty; a
    fold longer than one character consists of word characters only, so no
    hit can start or end inside one.
    """
    for cp in range(0x110000):
        ch = chr(cp)
        folded = ch.casefold()
        assert folded, hex(cp)
        word = _is_word_char(ch)
        assert _is_word_char(folded[0]) == word, hex(cp)
        assert _is_word_char(folded[-1]) == word, hex(cp)
        if len(folded) > 1:
            assert all(_is_word_char(c) for c in folded), hex(cp)


FRAGMENTS = st.sampled_from(
    [
        "Kyiv",
        "KIEV",
        "kiev",
        "Nord",
        "Stream",
        "2",
        "NATO",
        "’s",
        "'",
        "U.S.",
        "Straße",
        "STRASSE",
        "ß",
        "İ",
        "ﬁ",
        "\u0301",
        "Zelensky",
        "Volodymyr",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\t",
        "\u00a0",
        "-",
        ".",
    ]
)
TEXTS = st.one_of(
    st.text(),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=3)), max_size=30).map("".join),
)
PATTERNS = dict(WATCHLIST.patterns)


@given(TEXTS)
def test_mentions_are_consistent_on_any_text(text: str) -> None:
    mentions = find_mentions(text, WATCHLIST)
    previous_end = 0
    for m in mentions:
        assert isinstance(m, Mention)
        assert 0 <= previous_end <= m.start < m.end <= len(text)
        assert text[m.start : m.end] == m.matched
        assert PATTERNS[normalise(m.matched)] == m.term
        assert m.start == 0 or not _is_word_char(text[m.start - 1])
        assert m.end == len(text) or not _is_word_char(text[m.end])
        previous_end = m.end
