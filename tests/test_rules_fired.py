"""The fired-fingerprint set: exact answers from eight bytes per fingerprint."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from wirewatch.rules.fired import MERGE_AT, FiredSet, Seen, prefix


def fp(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()[:32]


def test_recent_are_certain_merged_are_asked_and_others_are_not() -> None:
    fired = FiredSet(prefix(fp(n)) for n in range(1000))
    assert len(fired) == 1000
    assert fired.seen(fp(5)) is Seen.ASK, "a 64-bit match is confirmed by the store"
    assert fired.seen(fp(5000)) is Seen.NO
    fired.add(fp(5000))
    assert fired.seen(fp(5000)) is Seen.YES
    fired.merge()  # below MERGE_AT: kept as a string, exact
    assert fired.seen(fp(5000)) is Seen.YES
    fired.merge(force=True)
    assert fired.seen(fp(5000)) is Seen.ASK
    assert len(fired) == 1001


def test_a_collision_of_prefixes_is_asked_not_answered() -> None:
    fired = FiredSet([prefix("00000000000000aa" + "1" * 16)])
    other = "00000000000000aa" + "2" * 16
    assert fired.seen(other) is Seen.ASK


def test_merging_keeps_the_set_sorted_and_small() -> None:
    fired = FiredSet()
    for n in range(MERGE_AT * 3):
        fired.add(fp(n))
        fired.merge()
    assert len(fired) == MERGE_AT * 3
    assert fired.nbytes <= 8 * MERGE_AT * 3
    assert all(fired.seen(fp(n)) is not Seen.NO for n in range(0, MERGE_AT * 3, 97))


@given(st.sets(st.integers(0, 10**6), max_size=300), st.sets(st.integers(0, 10**6), max_size=50))
def test_never_says_no_to_a_fired_fingerprint(old: set[int], new: set[int]) -> None:
    fired = FiredSet(prefix(fp(n)) for n in old)
    for n in new:
        fired.add(fp(n))
    for n in old | new:
        assert fired.seen(fp(n)) is not Seen.NO
