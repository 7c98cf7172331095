"""Candidate named entities: real seeds, sentence starts, names' shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirewatch.extract.entities import candidate_terms, find_entities
from wirewatch.extract.terms import compile_watchlist
from wirewatch.models import Mention

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seed(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def terms(text: str) -> list[str]:
    return [m.term for m in find_entities(text)]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("000", {"El Pais", "Mark Rutte", "Olaf Scholz", "Emmanuel Macron", "Kremlin", "NATO"}),
        ("001", {"Nord Stream 2", "Mark Milley", "Boris Johnson", "Pentagon"}),
        ("002", {"El Pais", "Article 5", "Olaf Scholz", "John Kirby"}),
    ],
)
def test_names_in_the_seed_articles(prefix: str, expected: set[str]) -> None:
    assert expected <= set(terms(seed(prefix)))


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_no_common_words_or_titles_in_the_seed_articles(prefix: str) -> None:
    found = set(terms(seed(prefix)))
    forbidden = {"The", "But", "In", "As", "After", "A", "It", "He", "President", "Minister"}
    assert not found & forbidden
    assert not any(term.startswith(("The ", "In ", "President ")) for term in found)


def test_titles_are_not_part_of_the_name() -> None:
    text = (
        "German Chancellor Olaf Scholz spoke to Joint Chiefs Chairman Mark Milley, "
        "to Secretary of State Antony Blinken and to Russian Deputy Minister of Foreign "
        "Affairs Alexander Grushko."
    )
    assert {"Olaf Scholz", "Mark Milley", "Antony Blinken", "Alexander Grushko"} <= set(terms(text))
    assert not any("Chancellor" in t or "Minister" in t or "Affairs" in t for t in terms(text))


def test_a_sentence_initial_word_counts_when_it_is_capitalised_elsewhere() -> None:
    assert terms("Putin said no. Later that day the envoy met Putin.") == ["Putin", "Putin"]


def test_a_sentence_initial_word_alone_does_not_count() -> None:
    assert terms("Tanks rolled in. Officials met at the Kremlin.") == ["Kremlin"]


def test_sentence_starts_after_quotes_and_line_breaks() -> None:
    assert terms("“Tanks rolled in,” he said.\nOfficials met in Kyiv.") == ["Kyiv"]


def test_common_first_word_of_a_longer_run_is_dropped() -> None:
    assert terms("Neither Putin nor Macron spoke. Western leaders met Macron.") == [
        "Putin",
        "Macron",
        "Macron",
    ]


def test_a_sentence_initial_pair_loses_a_first_word_also_used_in_lowercase() -> None:
    assert terms("Police Scotland said it would act.") == ["Police Scotland"]
    assert terms("Police Scotland said it would act. The police were there.") == ["Scotland"]


def test_pairs_after_common_words_and_titles_keep_the_name() -> None:
    text = "The Kremlin and President Putin met Boris Johnson on Friday."
    assert terms(text) == ["Kremlin", "Putin", "Boris Johnson"]


def test_sentence_starts_are_found_past_long_runs_of_spaces() -> None:
    padding = " " * 40
    assert terms(f"They said x{padding}Putin agreed.") == ["Putin"]
    assert terms(f"Talks ended.{padding}Tanks rolled in.") == []
    assert terms(f"Talks ended.\n{padding}Tanks rolled in.") == []


def test_capitals_outside_the_basic_multilingual_plane() -> None:
    assert terms("We met \U00010400\U00010428 today.") == ["\U00010400\U00010428"]
    # A lowercase letter up there does not start a name.
    assert terms("We met \U00010428\U00010400 today.") == []


def test_a_sentence_initial_multi_word_name_counts() -> None:
    assert terms("Boris Johnson spoke first.") == ["Boris Johnson"]


def test_acronyms_count_even_at_a_sentence_start() -> None:
    assert terms("NATO said no. The EU agreed.") == ["NATO", "EU"]


def test_single_words_in_mid_sentence() -> None:
    assert terms("Officials at the Pentagon and the Kremlin spoke to NATO.") == [
        "Pentagon",
        "Kremlin",
        "NATO",
    ]


def test_abbreviations_do_not_end_sentences() -> None:
    assert terms("We met Mr. Putin and George W. Bush in the U.S. on Friday.") == [
        "Putin",
        "George W. Bush",
        "U.S.",
    ]


@pytest.mark.parametrize(
    "name", ["Bank of England", "Ursula von der Leyen", "Bashar al-Assad", "Osama bin Laden"]
)
def test_connectors_inside_names(name: str) -> None:
    assert terms(f"A statement from {name} followed.") == [name]


def test_connectors_do_not_join_names_to_lowercase_words() -> None:
    assert terms("It accused the US and NATO of seeking war.") == ["US", "NATO"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("the Nord Stream 2 pipeline", "Nord Stream 2"),
        ("and Article 5 applies", "Article 5"),
        ("in World Cup 2022, then", "World Cup 2022"),
    ],
)
def test_a_trailing_number_joins_the_name(text: str, name: str) -> None:
    assert terms(text) == [name]


def test_possessives_are_stripped() -> None:
    text = "It hit the Kremlin’s plans and NATO's allies."
    mentions = find_entities(text)
    assert [(m.term, m.matched) for m in mentions] == [("Kremlin", "Kremlin"), ("NATO", "NATO")]


def test_hyphenated_words() -> None:
    text = "the pro-Moscow separatists, US-led forces and Jean-Claude Juncker"
    assert terms(text) == ["Moscow", "US", "Jean-Claude Juncker"]


def test_whitespace_is_collapsed_in_the_term_but_names_stop_at_line_breaks() -> None:
    text = "We met Mark  Rutte. Then we met Olaf\nScholz."
    mentions = find_entities(text)
    assert (mentions[0].term, mentions[0].matched) == ("Mark Rutte", "Mark  Rutte")
    assert "Olaf Scholz" not in [m.term for m in mentions]


def test_title_case_headlines_do_not_make_one_long_name() -> None:
    text = "London Warns Moscow Against Invading Ukraine\n\nThe talks in Moscow went on."
    assert terms(text) == ["Moscow", "Moscow"]


def test_calendar_words_and_contractions_are_not_names() -> None:
    assert terms("I'm sure it's on Wednesday, 2 February. I’ll see.") == []


def test_spans_index_the_original_text() -> None:
    text = seed("000")
    for m in find_entities(text):
        assert text[m.start : m.end] == m.matched
        assert m.term == " ".join(m.matched.split())
        assert not m.watched


def test_candidate_terms_count_names_and_skip_watched_ones() -> None:
    watchlist = compile_watchlist({"Zelensky": ["Zelenskiy"], "Kyiv": ["Kiev"], "NATO": []})
    counts = candidate_terms(seed("000"), watchlist)
    assert counts["El Pais"] == 2
    assert counts["Putin"] >= 5
    # Overlapping a watched mention: "Volodymyr Zelenskiy" contains "Zelenskiy".
    assert not {"NATO", "Kiev", "Zelenskiy", "Volodymyr Zelenskiy"} & set(counts)
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


def test_candidate_terms_without_a_watchlist() -> None:
    assert candidate_terms("Talks at the Kremlin and NATO, then NATO again.") == {
        "NATO": 2,
        "Kremlin": 1,
    }
    assert candidate_terms("") == {}


FRAGMENTS = st.sampled_from(
    [
        "Putin",
        "Mark",
        "Rutte",
        "NATO",
        "U.S.",
        "Mr.",
        "The",
        "President",
        "of",
        "von",
        "al-",
        "Nord",
        "Stream",
        "2",
        "’s",
        "'s",
        "-",
        ". ",
        ", ",
        " ",
        "  ",
        "\n",
        "“",
        "”",
        "İ",
        "Ölund",
        "the",
    ]
)
TEXTS = st.one_of(
    st.text(),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=3)), max_size=40).map("".join),
)


@given(TEXTS)
def test_entities_are_consistent_on_any_text(text: str) -> None:
    mentions = find_entities(text)
    previous_end = 0
    for m in mentions:
        assert isinstance(m, Mention)
        assert not m.watched
        assert previous_end <= m.start < m.end <= len(text)
        assert text[m.start : m.end] == m.matched
        assert m.term == " ".join(m.matched.split())
        assert m.term[0].isupper() or m.term[0].istitle()
        previous_end = m.end
    counts = candidate_terms(text)
    assert sum(counts.values()) == len(mentions)
