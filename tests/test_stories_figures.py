"""A story's figures: one quantity, once per source, whatever noun each outlet used."""

from __future__ import annotations

from typing import Any

from wirewatch.stories.figures import aggregate_figures, counted_as


def row(
    low: float,
    unit: str,
    lemma: str,
    article: int,
    source: str,
    text: str,
    *,
    high: float | None = None,
    kind: str = "count",
    currency: str | None = None,
) -> dict[str, Any]:
    return {
        "low": low,
        "high": low if high is None else high,
        "unit": unit,
        "unit_lemma": lemma,
        "kind": kind,
        "currency": currency,
        "article_id": article,
        "source": source,
        "text": text,
        "sentence": f"... {text} ...",
    }


def test_synonyms_and_spellings_count_as_one_thing_and_the_rest_stay_apart() -> None:
    assert counted_as("soldier") == counted_as("troop") == "troop"
    assert counted_as("Folk") == counted_as("person") == "person"
    assert counted_as("kilometer") == counted_as("kilometre")
    assert counted_as("civilian") == "civilian"


def test_one_figure_in_other_words_is_one_figure_with_all_its_sources() -> None:
    figures = aggregate_figures(
        [
            row(13_000, "people", "person", 1, "Reuters", "more than 13,000 people"),
            row(13_000, "folks", "folk", 2, "AFP", "More than 13,000 folks"),
            # one article under two source names: one article, two sources
            row(13_000, "people", "person", 3, "BBC", "13,000 people"),
            row(13_000, "people", "person", 3, "inbox", "13,000 people"),
            row(13_000, "civilians", "civilian", 1, "Reuters", "13,000 civilians"),
            row(13_000, "", "", 4, "AP", "13,000", kind="money", currency="$"),
        ]
    )
    people = figures[0]
    assert (people["unit"], people["sources"], people["articles"]) == ("people", 4, 3)
    assert people["source_names"] == "AFP,BBC,Reuters,inbox"
    assert people["texts"] == ["13,000 people", "More than 13,000 folks", "more than 13,000 people"]
    assert [(f["unit"], f["sources"]) for f in figures[1:]] == [("", 1), ("civilians", 1)]


def test_a_group_is_named_by_the_noun_most_sources_use_and_on_a_tie_by_its_own() -> None:
    soldiers_first = aggregate_figures(
        [
            row(1_000, "soldiers", "soldier", 1, "A", "1,000 US soldiers"),
            row(1_000, "soldiers", "soldier", 2, "B", "1,000 soldiers"),
            row(1_000, "troops", "troop", 3, "C", "1,000 US troops"),
        ]
    )
    assert [(f["unit"], f["sources"]) for f in soldiers_first] == [("soldiers", 3)]
    tie = aggregate_figures(
        [
            row(2_000, "soldiers", "soldier", 1, "A", "another 2,000"),
            row(2_000, "troops", "troop", 2, "B", "About 2,000 combat troops"),
        ]
    )
    assert [f["unit"] for f in tie] == ["troops"]


def test_the_most_widely_reported_come_first_and_ranges_are_their_own() -> None:
    figures = aggregate_figures(
        [
            row(100, "troops", "troop", 1, "A", "100 troops"),
            row(20_000, "troops", "troop", 1, "A", "tens of thousands", high=99_999),
            row(20_000, "troops", "troop", 2, "B", "tens of thousands", high=99_999),
            row(100, "troops", "troop", 2, "A", "100 troops"),
        ]
    )
    assert [(f["low"], f["high"], f["sources"], f["articles"]) for f in figures] == [
        (20_000, 99_999, 2, 2),
        (100, 100, 1, 2),
    ]
