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
the features) modulo ``TERM_SLOTS`` is its slot, so no vocabulary of
strings is kept or looked up. Two terms in one slot count as one; with
2**21 slots and a window vocabulary of some tens of thousands of terms that
touches a few per cent of the rare ones, which moves a similarity by far
less than the thresholds' margins.

The terms in the window are then numbered densely (:class:`TermIds`), and
the document frequencies, the articles' term lists and the scoring work on
those numbers. Scoring one article gathers the frequencies of some
thousand terms of its candidates; over an array as large as the slot space
each gather is a cache miss once the rest of the daemon has run, and
those misses cost more than the arithmetic. Over the dense numbering the
arrays stay as small as the window's vocabulary.

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
from .features import TERM_SLOTS
from .grouping import Match, cosine_many, idf

I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]

_ADD_LOG = 4096
_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class TermVector:
    """An article's terms as sorted, distinct slots with their tf weights."""

    ids: I32
    tf: F32

    @classmethod
    def from_bytes(cls, hashes: bytes, weights: bytes) -> TermVector:
        """From the features' term hashes (uint32) and tf weights (float32).

        Features list their terms in slot order; only older stored ones need
        sorting here, and only a shared slot needs merging.
        """
        ids = (np.frombuffer(hashes, dtype="<u4") % TERM_SLOTS).astype(np.int32)
        tf = np.frombuffer(weights, dtype="<f4").astype(np.float32)
        if len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()):
            return cls(ids, tf)
        order = np.argsort(ids, kind="stable")
        ids, tf = ids[order], tf[order]
        if not (ids[1:] != ids[:-1]).all():
            # Two of the article's terms share a slot: they count as one.
            ids, start = np.unique(ids, return_index=True)
            tf = np.maximum.reduceat(tf, start)
        return cls(ids, tf)


class TermIds:
    """The window's terms numbered densely: slot → id, and per id its slot and
    document frequency.

    Id 0 is no term: every slot starts there, its document frequency stays
    0, so a term the window has never seen looks up as "in no article"
    without a branch. Ids of terms that left the window are reused.
    """

    def __init__(self) -> None:
        self.of_slot = np.zeros(TERM_SLOTS, dtype=np.int32)
        self.slot = np.zeros(1024, dtype=np.int32)
        self.df = np.zeros(1024, dtype=np.int32)
        self._free: list[int] = []
        self._next = 1
        self.generation = 0
        """Bumped whenever an id is given or taken back, so a lookup can be reused."""

    def __len__(self) -> int:
        return self._next - 1 - len(self._free)

    def find(self, slots: I32) -> I32:
        """The ids of these slots (0 where the window lacks the term)."""
        return self.of_slot[slots]

    def admit(self, slots: I32, ids: I32) -> I32:
        """``ids`` (from :meth:`find`) with the missing ones given new ids."""
        missing = np.flatnonzero(ids == 0)
        if not len(missing):
            return ids
        new = self._take(len(missing))
        ids = ids.copy()
        ids[missing] = new
        self.of_slot[slots[missing]] = new
        self.slot[new] = slots[missing]
        self.generation += 1
        return ids

    def release(self, ids: I32) -> None:
        """These terms left the window (their document frequency fell to 0)."""
        if len(ids):
            self.of_slot[self.slot[ids]] = 0
            self._free.extend(ids.tolist())
            self.generation += 1

    def _take(self, n: int) -> I32:
        reuse = min(n, len(self._free))
        taken = self._free[len(self._free) - reuse :]
        del self._free[len(self._free) - reuse :]
        fresh = n - reuse
        out = np.empty(n, dtype=np.int32)
        out[:reuse] = taken
        out[reuse:] = np.arange(self._next, self._next + fresh, dtype=np.int32)
        self._next += fresh
        if self._next > len(self.df):
            size = max(self._next, 2 * len(self.df))
            self.df = np.concatenate([self.df, np.zeros(size - len(self.df), dtype=np.int32)])
            self.slot = np.concatenate([self.slot, np.zeros(size - len(self.slot), np.int32)])
        return out


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
        self.terms = TermIds()
        self.lsh = MinHashLSH(threshold=cfg.lsh_threshold, num_perm=cfg.num_perm)
        self.postings: list[array[int] | None] = []
        """Per term id, the articles that have the term (dead ones included until compacted)."""
        self._dense_query = np.zeros(0, dtype=np.float32)
        self._looked_up: tuple[TermVector | None, int, I32] = (None, -1, np.zeros(0, np.int32))
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

    @property
    def df(self) -> I32:
        """Document frequency in the window, by term id."""
        return self.terms.df

    def term_ids(self, vector: TermVector) -> I32:
        """The window's ids for the terms of ``vector`` (0: not in the window).

        The last lookup is kept while no id changes hands, since an article
        is looked up to retrieve its candidates and again to be added.
        """
        last, generation, ids = self._looked_up
        if last is vector and generation == self.terms.generation:
            return ids
        ids = self.terms.find(vector.ids)
        self._looked_up = (vector, self.terms.generation, ids)
        return ids

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
        ids = self.terms.admit(vector.ids, self.term_ids(vector))
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
        df = self.terms.df
        df[ids] += 1
        # Terms already too common to propose candidates are not posted: the
        # lists that matter stay short, and eviction has less to drop.
        postable = ids[df[ids] <= self.posting_cap].tolist()
        postings = self.postings
        if len(postings) < len(df):
            postings.extend([None] * (len(df) - len(postings)))
        for i in postable:
            posting = postings[i]
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
        df = self.terms.df
        df[ids] -= 1
        left = ids[df[ids] <= 0]
        gone = left.tolist()
        already_dead = 0
        for i in gone:
            posting = self.postings[i]
            self.postings[i] = None
            if posting is not None:
                already_dead += len(posting) - 1
        self.terms.release(left)
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
        postings: list[array[int] | None] = [None] * len(self.terms.df)
        cap = self.posting_cap
        df = self.df
        for art in self.articles.values():
            postable = art.term_ids[df[art.term_ids] <= cap].tolist()
            art.posted = len(postable)
            for i in postable:
                posting = postings[i]
                if posting is None:
                    posting = postings[i] = array("q")
                posting.append(art.article_id)
        self.postings = postings
        self._live_postings = sum(len(p) for p in postings if p is not None)
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
        qids = self.term_ids(query)
        df = self.terms.df[qids]
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
        for term, g in zip(
            qids[usable].tolist(), (w[usable] * idf_q[usable]).tolist(), strict=True
        ):
            posting = postings[term]
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
        return self._score(qids, w, norm, chosen, docs)

    def score(self, query: TermVector, article_ids: list[int]) -> list[Match]:
        """Exact cosine of ``query`` with the given articles of the window, best first."""
        chosen = [self.articles[a] for a in article_ids if a in self.articles]
        chosen = [a for a in chosen if len(a.term_ids)]
        if not chosen or not len(query.ids):
            return []
        docs = len(self.articles)
        qids = self.term_ids(query)
        w = (query.tf * idf(self.df[qids], docs, self.cfg.idf_prior_docs)).astype(np.float32)
        return self._score(qids, w, math.sqrt(float(w @ w)), chosen, docs)

    def _score(
        self, ids: I32, w: F32, norm: float, chosen: list[HotArticle], docs: int
    ) -> list[Match]:
        df_all = self.terms.df
        offsets = np.zeros(len(chosen), dtype=np.int64)
        offsets[1:] = np.cumsum([len(a.term_ids) for a in chosen[:-1]])
        cand_ids = np.concatenate([a.term_ids for a in chosen])
        prior = self.cfg.idf_prior_docs
        cand_w = np.concatenate([a.tf for a in chosen]) * idf(df_all[cand_ids], docs, prior)
        dense = self._dense_query
        if len(dense) < len(df_all):
            dense = self._dense_query = np.zeros(len(df_all), dtype=np.float32)
        # Terms the window lacks all land on id 0, which no candidate has.
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
