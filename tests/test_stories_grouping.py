"""Story decisions and the hot window: pure scoring, candidates, eviction."""

from __future__ import annotations

import zlib

import numpy as np

from wirewatch.stories.config import StoriesConfig
from wirewatch.stories.grouping import Match, cosine_many, decide, idf
from wirewatch.stories.index import TERM_SLOTS, HotWindow, TermIds, TermVector

CFG = StoriesConfig(engine="inline", idf_prior_docs=0, min_posting_cap=1000)
DAY = 86_400.0


def vector(*terms: str, weight: float = 1.0) -> TermVector:
    hashes = np.array([zlib.crc32(t.encode()) | 1 for t in terms], dtype="<u4")
    weights = np.full(len(terms), weight, dtype="<f4")
    return TermVector.from_bytes(hashes.tobytes(), weights.tobytes())


def test_decide_joins_above_the_bar_and_starts_a_story_below() -> None:
    assert decide([Match(1, 1, 0.3)], CFG).story_id is None
    d = decide([Match(1, 10, 0.62), Match(2, 20, 0.35)], CFG)
    assert d.story_id == 10 and d.matched == Match(1, 10, 0.62) and d.merge == ()


def test_several_close_witnesses_are_as_good_as_one_above_the_bar() -> None:
    near = CFG.support_similarity + 0.01
    assert decide([Match(1, 7, near)], CFG).story_id is None
    d = decide([Match(1, 7, near), Match(2, 7, near)], CFG)
    assert d.story_id == 7 and d.support == 2


def test_an_article_close_to_two_stories_merges_them_into_the_older() -> None:
    d = decide([Match(5, 30, 0.7), Match(2, 12, 0.6)], CFG)
    assert d.story_id == 12 and d.merge == (30,)
    # below the merge bar the second story is only the runner-up
    d = decide([Match(5, 30, 0.7), Match(2, 12, CFG.join_threshold)], CFG)
    assert d.story_id == 30 and d.merge == () and d.runner_up == Match(2, 12, 0.5)


def test_a_copy_keeps_its_original_story_and_may_still_merge() -> None:
    d = decide([Match(1, 3, 0.9), Match(2, 8, 0.7)], CFG, fixed_story=8)
    assert d.story_id == 3 and d.merge == (8,)


def test_cosine_many_matches_the_definition() -> None:
    rng = np.random.default_rng(1)
    q_ids = np.array([3, 8, 20], dtype=np.int32)
    q_w = np.array([1.0, 2.0, 0.5])
    dense = np.zeros(32)
    dense[q_ids] = q_w
    cands = [np.array([3, 9], dtype=np.int32), np.array([8, 20, 31], dtype=np.int32)]
    weights = [rng.random(len(c)) + 0.1 for c in cands]
    offsets = np.array([0, len(cands[0])], dtype=np.int64)
    got = cosine_many(
        dense, float(np.linalg.norm(q_w)), np.concatenate(cands), np.concatenate(weights), offsets
    )
    for k, (c, w) in enumerate(zip(cands, weights, strict=True)):
        full = np.zeros(32)
        full[c] = w
        want = full @ dense / (np.linalg.norm(full) * np.linalg.norm(dense))
        assert abs(got[k] - want) < 1e-9


def test_idf_is_positive_and_falls_with_frequency() -> None:
    values = idf(np.array([0, 1, 10, 100]), 100, 0)
    assert (values >= 0).all() and (np.diff(values) < 0).all()


def test_colliding_terms_of_one_article_count_once() -> None:
    v = TermVector.from_bytes(
        np.array([5, 5 + TERM_SLOTS], dtype="<u4").tobytes(),
        np.array([1.0, 2.0], dtype="<f4").tobytes(),
    )
    assert list(v.ids) == [5] and list(v.tf) == [2.0]


def test_similar_finds_the_article_sharing_rare_terms() -> None:
    w = HotWindow(CFG)
    common = [f"w:common{i}" for i in range(5)]
    w.add(1, 1, 0.0, vector(*common, "e:kenteris", "e:thanou", "w:iaaf"), None, "a")
    w.add(2, 2, 0.0, vector(*common, "e:glazer", "w:takeover"), None, "b")
    for i in range(3, 30):
        w.add(i, i, 0.0, vector(*common, f"w:filler{i}"), None, f"h{i}")
    found = w.similar(vector("e:kenteris", "e:thanou", "w:hearing", *common[:2]), 0.0)
    assert found[0].article_id == 1
    assert found[0].similarity > found[1].similarity


def test_the_window_keeps_only_recent_articles_and_stays_bounded() -> None:
    cfg = StoriesConfig(engine="inline", window_days=7, min_posting_cap=1000)
    w = HotWindow(cfg)
    per_day = 100
    for day in range(60):
        for k in range(per_day):
            aid = day * 1000 + k
            terms = vector(f"w:day{day}", f"w:item{k}", "w:all")
            w.add(aid, aid, day * DAY, terms, None, str(aid))
        w.evict()
        assert len(w) <= 8 * per_day
        assert min(a.at for a in w.iter_articles()) >= (day - 7) * DAY
    # Document frequencies follow the window exactly; posting lists hold at
    # most as many dead entries as live ones (or a fixed slack), never the archive.
    live = sum(len(a.term_ids) for a in w.iter_articles())
    assert int(w.df.sum()) == live
    assert sum(len(p) for p in w.postings if p is not None) <= live + max(live, 10_000)
    assert w.evicted == 60 * per_day - len(w)


def test_articles_further_apart_than_the_window_are_not_candidates() -> None:
    w = HotWindow(StoriesConfig(engine="inline", window_days=3, min_posting_cap=1000))
    w.add(1, 1, 0.0, vector("e:a", "e:b", "e:c"), None, "x")
    w.observe(5 * DAY)
    assert w.similar(vector("e:a", "e:b", "e:c"), 5 * DAY) == []
    # an article without a real date takes the window's clock and is not filtered
    assert [m.article_id for m in w.similar(vector("e:a", "e:b"), 0.5 * DAY)] == [1]


def test_term_ids_grow_past_their_first_size_and_reuse_what_left_the_window() -> None:
    ids = TermIds()
    slots = np.arange(10, 10 + 3000, dtype=np.int32)  # more terms than the first 1,024 ids
    given = ids.admit(slots, ids.find(slots))
    assert len(set(given.tolist())) == 3000 and 0 not in given.tolist()
    assert (ids.find(slots) == given).all() and len(ids) == 3000
    assert (ids.find(np.array([5, 7], dtype=np.int32)) == 0).all()  # never seen: id 0
    assert int(ids.df[0]) == 0
    gone = given[:100]
    ids.release(gone)
    assert (ids.find(slots[:100]) == 0).all() and len(ids) == 2900
    fresh = np.arange(50_000, 50_050, dtype=np.int32)
    again = ids.admit(fresh, ids.find(fresh))
    assert set(again.tolist()) <= set(gone.tolist())  # ids that left are given out again
    assert (ids.find(fresh) == again).all() and (ids.find(slots[100:]) == given[100:]).all()
