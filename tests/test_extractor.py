"""The extract stage's merge of watched terms and candidate names."""

from __future__ import annotations

from wirewatch.extract.extractor import merge_mentions
from wirewatch.models import Mention


def test_candidates_overlapping_a_watched_term_are_dropped() -> None:
    watched = [Mention("Zelensky", "Volodymyr Zelensky", 0, 18), Mention("Kyiv", "Kiev", 30, 34)]
    candidates = [
        Mention("Volodymyr", "Volodymyr", 0, 9, watched=False),  # inside a watched term
        Mention("Mark Rutte", "Mark Rutte", 19, 29, watched=False),  # between the two
        Mention("Kiev Post", "Kiev Post", 30, 39, watched=False),  # starts on one
        Mention("El Pais", "El Pais", 40, 47, watched=False),  # after both
    ]
    merged = merge_mentions(watched, candidates)
    assert [m.term for m in merged] == ["Zelensky", "Mark Rutte", "Kyiv", "El Pais"]
    assert [m.start for m in merged] == sorted(m.start for m in merged)
