"""The stories stage's features: pure functions of an article, stable across processes."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import numpy as np

from wirewatch.models import Article, Figure, Mention
from wirewatch.stories.features import (
    StoryFeatures,
    featurize,
    featurize_parts,
    figure_values,
    minhash_from_bytes,
    normalise,
    number_values,
    shingle_set,
    source_of,
    words,
)


def article(title: str, *paragraphs: str, **kw: object) -> Article:
    return Article(title=title, paragraphs=tuple(paragraphs), **kw)  # type: ignore[arg-type]


BODY = (
    "The United States said on Wednesday it would send 3,000 troops to Poland and Romania.",
    "Pentagon spokesman John Kirby said the deployments were temporary.",
    "Russia has massed more than 100,000 troops near the border with Ukraine.",
)


def figure(low: float, high: float | None = None) -> Figure:
    return Figure(low, low if high is None else high, "", "", "exact", "troops", "troop", 0, 0, "")


def test_normalise_folds_case_and_compatibility_forms() -> None:
    assert normalise("Ｕkraine ﬁght") == "ukraine fight"
    assert words("U.S. troops’ 2,000") == ["u", "s", "troops", "2", "000"]


def test_features_are_deterministic_and_sized() -> None:
    a = article("Troops to Poland", *BODY)
    f1 = featurize(a, [], [], num_perm=64)
    f2 = featurize(a, [], [], num_perm=64)
    assert f1 == f2
    assert len(f1.minhash) == 64 * 4
    assert f1.shingle_count > 20
    assert len(f1.term_hashes) == len(f1.term_weights) == 4 * len(f1.term_keys)
    # Term hashes are CRC-32s, so they mean the same in every process.
    key = "w:pentagon"
    assert key in f1.term_keys
    i = f1.term_keys.index(key)
    stored = int(np.frombuffer(f1.term_hashes, dtype="<u4")[i])
    assert stored == zlib.crc32(key.encode()) | 1


def test_same_words_in_other_bytes_have_one_text_hash() -> None:
    a = article("Troops to Poland", *BODY)
    b = article("TROOPS  to  Poland", *(p.replace("'", "’") for p in BODY))
    assert featurize(a, [], []).text_hash == featurize(b, [], []).text_hash
    c = article("Troops to Romania", *BODY)
    assert featurize(a, [], []).text_hash != featurize(c, [], []).text_hash


def test_minhash_survives_the_round_trip_through_bytes() -> None:
    f = featurize(article("Troops to Poland", *BODY), [], [])
    back = minhash_from_bytes(f.minhash)
    assert f.sketch is not None
    assert back.jaccard(f.sketch) == 1.0


def test_shingles_of_a_trimmed_copy_are_contained_in_the_original() -> None:
    full = words(" ".join(BODY))
    trimmed = words(" ".join(BODY[:2]))
    a, b = shingle_set(full, 3), shingle_set(trimmed, 3)
    assert len(np.intersect1d(a, b)) == len(b)


def test_names_and_headline_words_are_terms_of_their_own() -> None:
    text = article("Kirby speaks", *BODY)
    f = featurize(text, [], [Mention("John Kirby", "John Kirby", 0, 10, False)])
    terms = f.terms
    assert terms["e:john kirby"] > 1.0  # weighted above a plain word
    assert "t:kirby" in terms
    assert "w:the" not in terms and "w:said" not in terms


def test_figures_give_their_values_and_numbers_stand_in_without_them() -> None:
    assert figure_values([figure(2000), figure(20_000, 99_999)]) == ("2000", "20000-99999")
    assert number_values("In 2022, 3,000 troops and 100,000 more; 7 days.") == ("100000", "3000")
    with_figs = featurize_parts("t", BODY, [], ("3000",))
    without = featurize_parts("t", BODY, [], None)
    assert with_figs.figures == ("3000",)
    assert without.figures == ("100000", "3000")


def test_source_is_hint_then_host_then_folder_or_name_prefix() -> None:
    inbox = __import__("pathlib").PurePath("/srv/inbox")
    hinted = article("t", "x", source_hints=("AFP", "Reuters"))
    assert source_of(hinted, "/srv/inbox/a.txt", [inbox]) == "AFP"
    linked = article("t", "x", url="https://www.example.com/news/1")
    assert source_of(linked, "/srv/inbox/a.txt", [inbox]) == "example.com"
    plain = article("t", "x", published=datetime(2022, 2, 4, tzinfo=UTC))
    assert source_of(plain, "/srv/inbox/reuters/123.txt", [inbox]) == "reuters"
    assert source_of(plain, "/srv/inbox/000_e0681172dd10158b.txt", [inbox]) == "000"
    assert source_of(plain, "/data/bbc/business/001.txt", [inbox]) == "business"


def test_features_pickle_without_the_sketch() -> None:
    import pickle
    from dataclasses import replace

    f = featurize(article("Troops to Poland", *BODY), [], [])
    light = replace(f, sketch=None, term_keys=())
    back: StoryFeatures = pickle.loads(pickle.dumps(light))
    assert back == f
    assert back.minhash_object().jaccard(minhash_from_bytes(f.minhash)) == 1.0
