"""Which story does an article join? Scoring and the decision, as pure functions.

An article is a sparse vector of content-word stems and names, each weighted
``(1 + log tf) * idf``; the IDF comes from the hot window's document
frequencies, smoothed by ``idf_prior_docs`` empty pseudo-documents so that
a near-empty window (the first articles after installation) does not make
every word look rare. Similarity is the cosine of two such vectors.

The decision is single-link with a high bar: the article joins the story
of its most similar article if that similarity reaches ``join_threshold``.
Single-link is what makes the result independent of arrival order when
combined with merging: an article that is at least ``merge_threshold``
similar to articles of two stories proves them one story, and they merge
(into the older one, whose id alerts may already cite). The merge bar sits
above the join bar because a wrong merge costs more than a missed join.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .config import StoriesConfig

F64 = npt.NDArray[np.float64]


def tf_weight(counts: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Sub-linear term frequency: the tenth mention of a name adds little."""
    return (1.0 + np.log(np.maximum(np.asarray(counts, dtype=np.float32), 1.0))).astype(np.float32)


def idf(df: npt.ArrayLike, docs: int, prior_docs: int) -> F64:
    """Smoothed inverse document frequency; never negative (zero for a term in every article)."""
    return math.log(docs + prior_docs + 1.0) - np.log1p(np.asarray(df, dtype=np.float64))


def cosine_many(
    dense_query: npt.NDArray[np.floating[Any]],
    query_norm: float,
    cand_ids: npt.NDArray[np.int32],
    cand_weights: npt.NDArray[np.floating[Any]],
    cand_offsets: npt.NDArray[np.int64],
) -> F64:
    """Cosine of one query vector with many candidates, all in one pass.

    The query is dense over the vocabulary (zero where it lacks a term), so
    matching a candidate's terms is a gather, not a search. The candidates'
    term ids and weights are concatenated; ``cand_offsets`` holds where each
    candidate starts, and every candidate has at least one term. A few
    numpy calls in all, whatever the number of candidates: this runs for
    every article, and on small arrays each call costs more than its sums.
    """
    n = len(cand_offsets)
    if n == 0 or query_norm <= 0:
        return np.zeros(n)
    dots = np.add.reduceat(cand_weights * dense_query[cand_ids], cand_offsets, dtype=np.float64)
    norms = np.add.reduceat(cand_weights * cand_weights, cand_offsets, dtype=np.float64)
    # Zero norms (a candidate whose terms all weigh nothing) score 0, not NaN.
    out = dots / (np.sqrt(norms) * query_norm + (norms <= 0))
    return np.clip(out, 0.0, 1.0, out=out)


class Match(NamedTuple):
    """A similar article in the hot window, and the story it belongs to.

    A named tuple, not a dataclass: a few dozen are made per article, and a
    frozen dataclass's constructor costs several times a tuple's.
    """

    article_id: int
    story_id: int
    similarity: float


@dataclass(frozen=True, slots=True)
class StoryEvidence:
    """How one story's articles relate to the new article."""

    story_id: int
    best: Match
    links: tuple[float, ...]

    def qualifies(self, strong: float, cfg: StoriesConfig) -> bool:
        """One link at ``strong``, or enough links at ``support_similarity``."""
        if self.best.similarity >= strong:
            return True
        if self.best.similarity < cfg.support_similarity:
            return False
        return sum(s >= cfg.support_similarity for s in self.links) >= cfg.support_links


@dataclass(frozen=True, slots=True)
class Decision:
    """Where an article goes: an existing story (maybe absorbing others) or a new one."""

    story_id: int | None
    matched: Match | None = None
    merge: tuple[int, ...] = ()
    runner_up: Match | None = None
    considered: int = 0
    support: int = 1

    @property
    def score(self) -> float:
        return self.matched.similarity if self.matched else 0.0


def evidence_per_story(matches: Iterable[Match]) -> list[StoryEvidence]:
    """Per story, its most similar article and all link strengths; best story first."""
    best: dict[int, Match] = {}
    links: dict[int, list[float]] = {}
    for m in matches:
        cur = best.get(m.story_id)
        if cur is None or m.similarity > cur.similarity:
            best[m.story_id] = m
        links.setdefault(m.story_id, []).append(m.similarity)
    out = [StoryEvidence(s, best[s], tuple(sorted(links[s], reverse=True))) for s in best]
    out.sort(key=lambda e: (-e.best.similarity, e.story_id))
    return out


def decide(
    matches: Iterable[Match], cfg: StoriesConfig, fixed_story: int | None = None
) -> Decision:
    """Where the article goes, and which stories it proves to be one.

    With ``fixed_story`` (the story of the article it copies) only the merges
    are decided.
    """
    ranked = evidence_per_story(matches)
    if fixed_story is not None:
        target = fixed_story
        matched = next((e.best for e in ranked if e.story_id == target), None)
    else:
        joinable = [e for e in ranked if e.qualifies(cfg.join_threshold, cfg)]
        if not joinable:
            runner = ranked[0].best if ranked else None
            return Decision(None, runner_up=runner, considered=len(ranked))
        target = joinable[0].story_id
        matched = joinable[0].best
    mergeable = [
        e.story_id for e in ranked if e.story_id != target and e.qualifies(cfg.merge_threshold, cfg)
    ]
    if mergeable:
        # Merge into the oldest story: the id that alerts may already cite.
        oldest = min([target, *mergeable])
        if oldest != target:
            mergeable = [s for s in [target, *mergeable] if s != oldest]
            target = oldest
            matched = next(e.best for e in ranked if e.story_id == target)
    others = [e for e in ranked if e.story_id != target and e.story_id not in mergeable]
    runner = others[0].best if others else None
    support = next((len(e.links) for e in ranked if e.story_id == target), 0)
    return Decision(target, matched, tuple(sorted(mergeable)), runner, len(ranked), support)
