"""Confirming copies: exact measures over two articles' features."""

from __future__ import annotations

import numpy as np

from test_stories_stage import seed_records
from wirewatch.models import Article
from wirewatch.stories.config import StoriesConfig
from wirewatch.stories.copies import (
    CopyEvidence,
    aligned_passages,
    figure_overlap,
    jaccard_containment,
    judge,
)
from wirewatch.stories.features import StoryFeatures, featurize, passage_sets

CFG = StoriesConfig(engine="inline")

PARAGRAPHS = tuple(
    f"Paragraph {i} says that the committee of {name} met on the harbour front to discuss"
    f" the proposal number {i * 7} about fishing quotas and the new customs checks."
    for i, name in enumerate(
        ["Aberdeen", "Bergen", "Cork", "Dover", "Esbjerg", "Faro", "Galway", "Hull", "Izmir"]
    )
)


def evidence(
    title: str, paragraphs: tuple[str, ...], figures: tuple[str, ...] = ()
) -> CopyEvidence:
    f = featurize(Article(title=title, paragraphs=paragraphs), [], [])
    shingles = np.frombuffer(f.shingles, dtype="<u4").astype(np.uint32)
    return CopyEvidence(f.text_hash, shingles, paragraphs, figures or f.figures)


def ev_of(f: StoryFeatures, a: Article) -> CopyEvidence:
    return CopyEvidence(
        f.text_hash,
        np.frombuffer(f.shingles, dtype="<u4").astype(np.uint32),
        a.paragraphs,
        f.figures,
    )


def test_jaccard_and_containment() -> None:
    a = np.array([1, 2, 3, 4], dtype=np.uint32)
    b = np.array([3, 4, 5, 6, 7, 8], dtype=np.uint32)
    assert jaccard_containment(a, b) == (2 / 8, 2 / 4)
    assert jaccard_containment(a, np.zeros(0, dtype=np.uint32)) == (0.0, 0.0)


def test_figure_overlap_is_about_the_smaller_set() -> None:
    assert figure_overlap(("1", "2"), ("1", "2", "3", "4")) == 1.0
    assert figure_overlap(("1",), ()) is None


def test_same_words_are_an_exact_copy() -> None:
    v = judge(evidence("T", PARAGRAPHS), evidence("T", PARAGRAPHS), CFG)
    assert v is not None and v.kind == "exact"


def test_trimmed_and_extended_copies_are_near_copies_by_containment() -> None:
    original = evidence("Harbour talks", PARAGRAPHS)
    trimmed = evidence("Harbour talks", PARAGRAPHS[:4])
    v = judge(trimmed, original, CFG)
    assert v is not None and (v.kind, v.method) == ("near", "shingles")
    assert v.containment > 0.9 and v.similarity < 0.6
    extra = tuple(f"An added paragraph {i} about something else entirely, {i}." for i in range(6))
    extended = evidence("Harbour talks, updated", PARAGRAPHS[:5] + extra)
    v = judge(extended, original, CFG)
    assert v is not None and v.kind == "near"


def test_unrelated_texts_are_not_copies() -> None:
    other = tuple(
        f"The orchestra played symphony {i} by composer {c} to a full hall, critics said."
        for i, c in enumerate(["Bach", "Brahms", "Chopin", "Dvorak", "Elgar", "Faure"])
    )
    assert judge(evidence("Concert", other), evidence("Harbour talks", PARAGRAPHS), CFG) is None


def test_disagreeing_figures_block_a_middling_containment() -> None:
    other = "Different closing text {} for another story about the weather in town."
    half = PARAGRAPHS[:4] + tuple(other.format(i) for i in range(6))
    a = evidence("Harbour", half, ("100", "200"))
    b = evidence("Harbour", PARAGRAPHS, ("100", "200"))
    c = evidence("Harbour", PARAGRAPHS, ("700", "900"))
    _, con = jaccard_containment(a.shingles, b.shingles)
    assert CFG.copy_containment_with_figures <= con < CFG.copy_containment
    assert judge(a, b, CFG) is not None
    assert judge(a, c, CFG) is None


def test_alignment_needs_passages_in_order() -> None:
    p = passage_sets(PARAGRAPHS)
    assert aligned_passages(p, p, 0.35) == (len(p), len(p))
    count, out_of = aligned_passages(p, p[::-1], 0.35)
    assert count == 1 and out_of == len(p)


def test_seed_004_is_a_machine_translated_copy_of_001() -> None:
    seeds = {name[:3]: rec for name, rec in seed_records().items()}
    feats = {k: featurize(r.article, r.figures, r.mentions) for k, r in seeds.items()}
    ev = {k: ev_of(feats[k], seeds[k].article) for k in seeds}
    v = judge(ev["004"], ev["001"], CFG)
    assert v is not None and (v.kind, v.method) == ("near", "aligned")
    assert v.similarity < 0.2  # few shingles in common: only the alignment finds it
    for other in ("000", "002", "003"):
        assert judge(ev[other], ev["001"], CFG) is None
        assert judge(ev[other], ev["004"], CFG) is None


SENTENCES = [
    f"The {town} harbour board voted on {day} to lift the ban on trawlers of over {n} tonnes."
    for town, day, n in [
        ("Aberdeen", "Monday", 40),
        ("Bergen", "Tuesday", 55),
        ("Cork", "Wednesday", 60),
        ("Dover", "Thursday", 75),
        ("Esbjerg", "Friday", 80),
        ("Faro", "Saturday", 95),
        ("Galway", "Sunday", 120),
        ("Hull", "last week", 150),
        ("Izmir", "in March", 200),
    ]
]
# A machine translation changes the small words, so few word triples survive.
_SMALL = {"The": "This", "the": "this", "on": "upon", "to": "towards", "of": "from"}


def translated(text: str) -> str:
    return " ".join(_SMALL.get(w, w) for w in text.split())


def test_an_article_of_few_paragraphs_is_aligned_by_sentence() -> None:
    # Four paragraphs: too few to align, so both sides are cut by sentence.
    original = tuple(" ".join(SENTENCES[i:j]) for i, j in ((0, 3), (3, 5), (5, 7), (7, 9)))
    translation = tuple(translated(p) for p in original)
    a, b = evidence("Ban lifted", original), evidence("Ban lifted", translation)
    assert len(a.passages("paragraph")) < CFG.aligned_min_passages
    v = judge(b, a, CFG)
    assert v is not None and v.method == "aligned" and v.aligned == 1.0
    assert v.similarity < CFG.copy_jaccard and v.containment < CFG.copy_containment_with_figures


def test_a_follow_up_repeating_some_background_sentences_is_no_copy() -> None:
    original = tuple(" ".join(SENTENCES[i : i + 3]) for i in (0, 3, 6))
    news = [
        f"Fishermen in port number {i} said the decision of {month} came too late for the season."
        for i, month in enumerate(["May", "June", "July", "August", "September"])
    ]
    # Five of the original's sentences, in order, among five new ones: half of it.
    follow_up = tuple(
        " ".join(part)
        for part in (
            [news[0], SENTENCES[0], news[1]],
            [SENTENCES[2], news[2], SENTENCES[4]],
            [news[3], SENTENCES[6], news[4], SENTENCES[8]],
        )
    )
    a, b = evidence("Ban lifted", original), evidence("Ports react", follow_up)
    assert aligned_passages(b.passages("sentence"), a.passages("sentence"), 0.35)[0] == 5
    assert judge(b, a, CFG) is None
