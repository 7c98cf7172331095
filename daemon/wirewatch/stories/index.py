"""The hot window: what the stage keeps in memory to match new articles quickly.

Only articles whose time lies within ``window_days`` of the window's clock
(the newest real publication time seen) are kept; older ones are evicted as
the clock moves on, so memory follows the window, never the archive. The
store holds everything and the window is rebuilt from it on start.

Three structures, each answering one question in time sublinear in the
window:

* ``by_hash``: text hash → article, for exact copies.
* a datasketch ``MinHashLSH`` over the shingle signatures, for near copies.
* an inverted index of terms → articles, with each term's document
  frequency, for story candidates: only the new article's rarest terms
  (document frequency under a cap) are looked up, so a common word never
  makes the lookup scan the whole window. The candidates found are then
  scored exactly (cosine under the current IDF) in one vectorised pass.

Terms are addressed by the hashing trick: a term's CRC-32 (computed with
the features) modulo ``TERM_SLOTS`` is its slot in a fixed array of
document frequencies, so no vocabulary dictionary is kept or looked up.
Two terms in one slot count as one; with 2**21 slots and a window
vocabulary of some tens of thousands of terms that touches a few per cent
of the rare ones, which moves a similarity by far less than the thresholds'
margins.

Postings of evicted articles are dropped lazily: a list whose term left the
window goes at once; the others are rebuilt once more than half of what
they hold is dead, which keeps eviction cheap and its cost amortised.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH

from .config import StoriesConfig
from .grouping import Match, cosine_many, idf

I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]

TERM_SLOTS = 1 << 21
_ADD_LOG = 4096
_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class TermVector:
    """An article's terms as sorted, distinct slots with their tf weights."""

    ids: I32
    tf: F32

    @classmethod
    def from_bytes(cls, hashes: bytes, weights: bytes) -> TermVector:
        """From the features' term hashes (uint32) and tf weights (float32)."""
        ids = (np.frombuffer(hashes, dtype="<u4") % TERM_SLOTS).astype(np.int32)
        tf = np.frombuffer(weights, dtype="<f4").astype(np.float32)
        order = np.argsort(ids, kind="stable")
        ids, tf = ids[order], tf[order]
        if len(ids) > 1 and not (ids[1:] != ids[:-1]).all():
            # Two of the article's terms share a slot: they count as one.
            ids, start = np.unique(ids, return_index=True)
            tf = np.maximum.reduceat(tf, start)
        return cls(ids, tf)


@dataclass(slots=True)
class HotArticle:
    """One article in the window: enough to score it and to name its story."""

    article_id: int
    story_id: int
    at: float
    term_ids: I32
    tf: F32
    text_hash: str
    title_derived: bool = False
    copies: int = 0
    dated: bool = True
    posted: int = 0
    title: str = ""

    @property
    def title_rank(self) -> tuple[bool, int]:
        """How fit this article is to lend its title to the story: a real headline
        first, then the version most outlets copied."""
        return (not self.title_derived, self.copies)


@dataclass(slots=True)
class HotStory:
    """A story with at least one article in the window, and which article names it."""

    story_id: int
    members: set[int] = field(default_factory=set)
    best_article_id: int | None = None
    best_rank: tuple[bool, int] = (False, -1)

    def offer_title(self, art: HotArticle) -> bool:
        """Let ``art`` name the story if it ranks higher; whether the title changed."""
        if art.article_id == self.best_article_id:
            self.best_rank = max(self.best_rank, art.title_rank)
            return False
        if art.title_rank > self.best_rank:
            self.best_article_id = art.article_id
            self.best_rank = art.title_rank
            return True
        return False


class HotWindow:
    """The in-memory part of the stage, bounded by the time window."""

    def __init__(self, cfg: StoriesConfig) -> None:
        self.cfg = cfg
        self.window = cfg.window_days * _DAY
        self.articles: dict[int, HotArticle] = {}
        self.stories: dict[int, HotStory] = {}
        self.by_hash: dict[str, int] = {}
        self.df = np.zeros(TERM_SLOTS, dtype=np.int32)
        self.lsh = MinHashLSH(threshold=cfg.lsh_threshold, num_perm=cfg.num_perm)
        self.postings: dict[int, array[int]] = {}
        self._dense_query = np.zeros(TERM_SLOTS, dtype=np.float32)
        self._expiry: list[tuple[float, int]] = []
        self._live_postings = 0
        self._dead_postings = 0
        self.newest = float("-inf")
        self.newest_any = float("-inf")
        self.evicted = 0
        self.seq = 0
        """How many articles were ever added: a clock for :meth:`added_since`."""
        self._adds: deque[tuple[int, int]] = deque(maxlen=_ADD_LOG)

    def __len__(self) -> int:
        return len(self.articles)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.articles

    # -- time -----------------------------------------------------------------------
    def observe(self, at: float) -> None:
        """A real publication time was seen: the window may move on."""
        if at > self.newest:
            self.newest = at

    @property
    def clock(self) -> float | None:
        """The window's "now": the newest real publication time, else (no dated
        article yet) the newest time of any article."""
        if self.newest > float("-inf"):
            return self.newest
        if self.newest_any > float("-inf"):
            return self.newest_any
        return None

    @property
    def horizon(self) -> float:
        clock = self.clock
        return float("-inf") if clock is None else clock - self.window

    @property
    def posting_cap(self) -> int:
        """Terms in more articles than this are too common to propose candidates."""
        cfg = self.cfg
        return max(cfg.min_posting_cap, int(cfg.max_posting_share * len(self.articles)))

    # -- updates --------------------------------------------------------------------
    def add(
        self,
        article_id: int,
        story_id: int,
        at: float,
        vector: TermVector,
        minhash: MinHash | None,
        text_hash: str,
        *,
        dated: bool = True,
        title: str = "",
        title_derived: bool = False,
        copies: int = 0,
    ) -> HotArticle | None:
        """Index one article; ``None`` (and nothing kept) if it is older than the window.

        ``dated`` says ``at`` is a real publication time; only such times move
        the window on.
        """
        if dated:
            self.observe(at)
        if at < self.horizon:
            return None
        ids = vector.ids
        art = HotArticle(
            article_id,
            story_id,
            at,
            ids,
            vector.tf,
            text_hash,
            title_derived=title_derived,
            copies=copies,
            dated=dated,
            title=title,
        )
        self.articles[article_id] = art
        story = self.stories.get(story_id)
        if story is None:
            story = self.stories[story_id] = HotStory(story_id)
        story.members.add(article_id)
        self.by_hash.setdefault(text_hash, article_id)
        if minhash is not None:
            self.lsh.insert(article_id, minhash, check_duplication=False)
        df = self.df
        df[ids] += 1
        # Terms already too common to propose candidates are not posted: the
        # lists that matter stay short, and eviction has less to drop.
        postable = ids[df[ids] <= self.posting_cap].tolist()
        postings = self.postings
        for i in postable:
            posting = postings.get(i)
            if posting is None:
                posting = postings[i] = array("q")
            posting.append(article_id)
        art.posted = len(postable)
        self._live_postings += len(postable)
        heapq.heappush(self._expiry, (at, article_id))
        self.seq += 1
        self._adds.append((self.seq, article_id))
        if at > self.newest_any:
            self.newest_any = at
        return art

    def evict(self) -> list[int]:
        """Drop every article older than the window; returns those that went."""
        horizon = self.horizon
        gone: list[int] = []
        while self._expiry and self._expiry[0][0] < horizon:
            _, article_id = heapq.heappop(self._expiry)
            if self._drop(article_id):
                gone.append(article_id)
        if self._dead_postings > max(self._live_postings, 10_000):
            self._compact()
        self.evicted += len(gone)
        return gone

    def _drop(self, article_id: int) -> bool:
        art = self.articles.pop(article_id, None)
        if art is None:
            return False
        ids = art.term_ids
        self.df[ids] -= 1
        gone = ids[self.df[ids] <= 0].tolist()
        already_dead = 0
        for i in gone:
            posting = self.postings.pop(i, None)
            if posting is not None:
                already_dead += len(posting) - 1
        # This article's postings die, except those whose whole list just went.
        # (Estimates: an article is not in the lists of terms that were common.)
        self._live_postings -= art.posted
        self._dead_postings = max(0, self._dead_postings + art.posted - len(gone) - already_dead)
        story = self.stories.get(art.story_id)
        if story is not None:
            story.members.discard(article_id)
            if not story.members:
                del self.stories[art.story_id]
        if self.by_hash.get(art.text_hash) == article_id:
            del self.by_hash[art.text_hash]
        if article_id in self.lsh.keys:
            self.lsh.remove(article_id)
        return True

    def _compact(self) -> None:
        """Rebuild the posting lists from the live articles only."""
        postings: dict[int, array[int]] = {}
        cap = self.posting_cap
        df = self.df
        for art in self.articles.values():
            postable = art.term_ids[df[art.term_ids] <= cap].tolist()
            art.posted = len(postable)
            for i in postable:
                posting = postings.get(i)
                if posting is None:
                    posting = postings[i] = array("q")
                posting.append(art.article_id)
        self.postings = postings
        self._live_postings = sum(len(p) for p in postings.values())
        self._dead_postings = 0

    def added_since(self, seq: int) -> list[int] | None:
        """Articles added after ``seq`` and still here; ``None`` if that is too far back."""
        if seq >= self.seq:
            return []
        if not self._adds or self._adds[0][0] > seq + 1:
            return None
        # Newest first, stopping at ``seq``: the cost is the answer's length, not
        # the log's, so a placement right after its retrieval costs nothing here.
        out: list[int] = []
        for s, a in reversed(self._adds):
            if s <= seq:
                break
            if a in self.articles:
                out.append(a)
        out.reverse()
        return out

    def move_story(self, source: int, target: int) -> list[int]:
        """Merge story ``source`` into ``target`` in memory; returns the moved articles."""
        src = self.stories.pop(source, None)
        if src is None:
            return []
        dst = self.stories.get(target)
        if dst is None:
            dst = self.stories[target] = HotStory(target)
        for article_id in src.members:
            self.articles[article_id].story_id = target
        dst.members |= src.members
        if src.best_rank > dst.best_rank:
            dst.best_article_id, dst.best_rank = src.best_article_id, src.best_rank
        return sorted(src.members)

    # -- queries --------------------------------------------------------------------
    def exact(self, text_hash: str) -> int | None:
        return self.by_hash.get(text_hash)

    def near(self, minhash: MinHash) -> list[int]:
        """Articles whose shingle sets the LSH index deems similar (unconfirmed)."""
        if not self.articles:
            return []
        found = self.lsh.query(minhash)
        return sorted(int(k) for k in found if k in self.articles)

    def similar(self, query: TermVector, at: float, dated: bool = True) -> list[Match]:
        """The window's articles most similar to ``query``, by exact cosine, best first.

        Candidates come from the posting lists of the query's rarest terms
        only (at most ``query_terms`` of them, each in at most
        ``max(min_posting_cap, max_posting_share * window)`` articles); the
        ``max_candidates`` sharing the most IDF with the query are scored. An
        article further than the window from ``at`` is left out unless one of
        the two has no real date (its time is then only a guess).
        """
        cfg = self.cfg
        articles = self.articles
        ids = query.ids
        if not articles or not len(ids):
            return []
        docs = len(articles)
        prior = cfg.idf_prior_docs
        df_all = self.df
        df = df_all[ids]
        idf_q = idf(df, docs, prior)
        w = (query.tf * idf_q).astype(np.float32)
        norm = math.sqrt(float(w @ w))
        usable = np.flatnonzero((df > 0) & (df <= self.posting_cap))
        if len(usable) > cfg.query_terms:
            usable = usable[np.argpartition(w[usable], -cfg.query_terms)[-cfg.query_terms :]]
        lists: list[array[int]] = []
        gain: list[float] = []
        postings = self.postings
        # Each shared term scores the query's weight times the term's IDF: a
        # stand-in for the candidate's weight, good enough to rank who gets
        # scored exactly.
        for term, g in zip(ids[usable].tolist(), (w[usable] * idf_q[usable]).tolist(), strict=True):
            posting = postings.get(term)
            if posting:
                lists.append(posting)
                gain.append(g)
        if not lists:
            return []
        hits = np.frombuffer(b"".join(lists), dtype=np.int64)
        cand, inverse = np.unique(hits, return_inverse=True)
        score = np.bincount(inverse, weights=np.repeat(gain, list(map(len, lists))))
        chosen: list[HotArticle] = []
        for article_id in cand[np.argsort(-score, kind="stable")].tolist():
            art = articles.get(article_id)
            if art is None or not len(art.term_ids):
                continue
            if dated and art.dated and abs(art.at - at) > self.window:
                continue
            chosen.append(art)
            if len(chosen) >= cfg.max_candidates:
                break
        if not chosen:
            return []
        return self._score(ids, w, norm, chosen, docs)

    def score(self, query: TermVector, article_ids: list[int]) -> list[Match]:
        """Exact cosine of ``query`` with the given articles of the window, best first."""
        chosen = [self.articles[a] for a in article_ids if a in self.articles]
        chosen = [a for a in chosen if len(a.term_ids)]
        if not chosen or not len(query.ids):
            return []
        docs = len(self.articles)
        w = (query.tf * idf(self.df[query.ids], docs, self.cfg.idf_prior_docs)).astype(np.float32)
        return self._score(query.ids, w, math.sqrt(float(w @ w)), chosen, docs)

    def _score(
        self, ids: I32, w: F32, norm: float, chosen: list[HotArticle], docs: int
    ) -> list[Match]:
        df_all = self.df
        offsets = np.zeros(len(chosen), dtype=np.int64)
        offsets[1:] = np.cumsum([len(a.term_ids) for a in chosen[:-1]])
        cand_ids = np.concatenate([a.term_ids for a in chosen])
        prior = self.cfg.idf_prior_docs
        cand_w = np.concatenate([a.tf for a in chosen]) * idf(df_all[cand_ids], docs, prior)
        dense = self._dense_query
        dense[ids] = w
        try:
            sims = cosine_many(dense, norm, cand_ids, cand_w, offsets).tolist()
        finally:
            dense[ids] = 0.0
        out = [Match(a.article_id, a.story_id, s) for a, s in zip(chosen, sims, strict=True)]
        out.sort(key=lambda m: (-m.similarity, m.article_id))
        return out

    def iter_articles(self) -> Iterator[HotArticle]:
        return iter(self.articles.values())
