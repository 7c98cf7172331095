"""The stories engine: places one article after another, holding the hot window.

Synchronous and free of I/O, so the same object serves in the writer's
process or in a process of its own (:mod:`.remote`): all it takes in and
gives back are plain values that pickle cheaply. The store is the stage's
business; the engine only decides.

For each article: the features (computed ahead, or here from the plain
parts), its time for the window, the most similar articles of the window,
the copy it is (confirmed exactly against the candidates' shingles,
figures and passages, which the engine keeps for the window), and the
decision of :func:`.grouping.decide`.

**Work ahead.** The writer waits for every placement, and the writer is
the one serial part of ingest, so the engine does what it can before the
article's turn comes: an article sent ahead (:class:`FeatureJob`, as soon
as it is parsed) is featurized while the engine is idle, and its
candidates are retrieved and its copy candidates judged against the window
as it is then. At its turn only the articles placed since are scored and
judged in addition, and the story ids of the candidates are brought up to
date (stories may have merged), so the decision equals the one made from
scratch, up to the document frequencies moving by those few articles.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
from datasketch import MinHash

from .config import StoriesConfig
from .copies import CopyEvidence, CopyVerdict, judge
from .features import StoryFeatures, featurize_parts_for, minhash_from_bytes
from .grouping import Decision, Match, decide
from .index import HotArticle, HotWindow, TermVector

_FUTURE_SLACK = 86_400.0
_COPY_CANDIDATES_FROM_STORIES = 5
_AHEAD_LIMIT = 512


@dataclass(frozen=True, slots=True)
class FeatureJob:
    """An article's plain parts, sent ahead so its features are ready when it is placed."""

    key: int
    title: str
    paragraphs: tuple[str, ...]
    mention_terms: tuple[str, ...]
    figures: tuple[str, ...] | None
    published: float | None = None
    date_estimated: bool = True
    now: float = 0.0


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    """One article to place, as plain values.

    ``published`` is a POSIX time or ``None``; ``now`` is the time of
    arrival. ``features`` may be computed ahead; otherwise the engine
    computes them from the title, paragraphs, mentioned terms and figure
    values (``None``: the numbers in the text).
    """

    article_id: int
    title: str
    title_derived: bool
    paragraphs: tuple[str, ...]
    published: float | None
    date_estimated: bool
    now: float
    features: StoryFeatures | None = None
    mention_terms: tuple[str, ...] = ()
    figures: tuple[str, ...] | None = None
    ahead: int | None = None
    """The key of a :class:`FeatureJob` sent ahead for this article, if any."""


@dataclass(frozen=True, slots=True)
class Placed:
    """The engine's decision for one article, and what to store about it."""

    article_id: int
    story_id: int
    new_story: bool
    at: float
    dated: bool
    score: float
    reason: str
    matched: int | None
    features: StoryFeatures
    copy_of: int | None = None
    copy: CopyVerdict | None = None
    merge: tuple[int, ...] = ()
    renamed: int | None = None
    """The article that names the story from now on, when that changed."""


@dataclass(frozen=True, slots=True)
class WindowEntry:
    """A stored article, as the engine needs it back after a restart."""

    article_id: int
    story_id: int
    at: float
    dated: bool
    text_hash: str
    minhash: bytes
    shingles: bytes
    term_hashes: bytes
    term_weights: bytes
    figures: tuple[str, ...]
    title: str
    title_derived: bool
    paragraphs: tuple[str, ...]
    copies: int = 0
    story_best_article_id: int | None = None


@dataclass(slots=True)
class _Prepared:
    """An article's features and, when worked out ahead, its candidates."""

    features: StoryFeatures
    vector: TermVector
    minhash: MinHash
    evidence: CopyEvidence
    seq: int = -1
    """The window's add-count when the candidates were retrieved (-1: not yet)."""
    matches: list[Match] = field(default_factory=list)
    verdicts: dict[int, CopyVerdict | None] = field(default_factory=dict)


def _shingles(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


class StoriesEngine:
    """The hot window and the decisions made against it."""

    def __init__(self, cfg: StoriesConfig) -> None:
        self.cfg = cfg
        self.window = HotWindow(cfg)
        self.evidence: dict[int, CopyEvidence] = {}
        self._jobs: OrderedDict[int, FeatureJob] = OrderedDict()
        self._ready: OrderedDict[int, _Prepared] = OrderedDict()
        self._unretrieved: OrderedDict[int, FeatureJob] = OrderedDict()
        self.ahead_used = 0

    # -- work ahead -------------------------------------------------------------------
    def enqueue(self, job: FeatureJob) -> None:
        """Accept an article's parts now; :meth:`work_ahead` prepares them when idle.

        Jobs whose article never comes (a byte-identical file is a sighting,
        not a placement) age out of the bounded queues.
        """
        self._jobs[job.key] = job
        while len(self._jobs) > _AHEAD_LIMIT:
            self._jobs.popitem(last=False)

    @property
    def has_work_ahead(self) -> bool:
        return bool(self._jobs) or bool(self._unretrieved)

    def work_ahead(self) -> None:
        """One step of work ahead: retrieve candidates for a prepared article, else
        featurize the oldest waiting one. Steps are short, so a placement the
        writer is waiting for never queues behind much of it."""
        if self._unretrieved:
            key, job = self._unretrieved.popitem(last=False)
            prep = self._ready.get(key)
            if prep is not None:
                self._retrieve(prep, job.published, job.date_estimated, job.now)
            return
        key, job = self._jobs.popitem(last=False)
        self._keep(key, self._prepare(job.title, job.paragraphs, job.mention_terms, job.figures))
        self._unretrieved[key] = job

    def prepare_ahead(
        self,
        key: int,
        features: StoryFeatures,
        paragraphs: tuple[str, ...],
        published: float | None,
        date_estimated: bool,
        now: float,
    ) -> None:
        """Features computed elsewhere (the ingest threads): retrieve candidates now."""
        prep = self._prepare("", paragraphs, (), None, features)
        self._retrieve(prep, published, date_estimated, now)
        self._keep(key, prep)

    def _retrieve(
        self, prep: _Prepared, published: float | None, estimated: bool, now: float
    ) -> None:
        at, dated = self._time(published, estimated, now)
        if at < self.window.horizon:
            return
        prep.seq = self.window.seq
        prep.matches = self.window.similar(prep.vector, at, dated)
        for article_id in self._copy_candidates(prep, prep.matches):
            prep.verdicts[article_id] = judge(prep.evidence, self.evidence[article_id], self.cfg)

    def _keep(self, key: int, prep: _Prepared) -> None:
        self._ready[key] = prep
        while len(self._ready) > _AHEAD_LIMIT:
            old, _ = self._ready.popitem(last=False)
            self._unretrieved.pop(old, None)

    def _prepare(
        self,
        title: str,
        paragraphs: tuple[str, ...],
        mention_terms: tuple[str, ...],
        figures: tuple[str, ...] | None,
        features: StoryFeatures | None = None,
    ) -> _Prepared:
        feats = features or featurize_parts_for(self.cfg, title, paragraphs, mention_terms, figures)
        return _Prepared(
            feats,
            TermVector.from_bytes(feats.term_hashes, feats.term_weights),
            feats.minhash_object(),
            CopyEvidence(feats.text_hash, _shingles(feats.shingles), paragraphs, feats.figures),
        )

    # -- state ------------------------------------------------------------------------
    def load(self, entries: list[WindowEntry]) -> int:
        """Start over from stored articles (oldest first); returns how many are hot."""
        self.window = window = HotWindow(self.cfg)
        self.evidence = {}
        for prep in self._ready.values():
            # Retrieved against a window that is gone: keep the features only.
            prep.seq, prep.matches, prep.verdicts = -1, [], {}
        self._unretrieved.clear()
        for e in entries:
            if e.dated:
                window.observe(e.at)
        bests: dict[int, int | None] = {}
        for e in entries:
            hot = window.add(
                e.article_id,
                e.story_id,
                e.at,
                TermVector.from_bytes(e.term_hashes, e.term_weights),
                minhash_from_bytes(e.minhash),
                e.text_hash,
                dated=e.dated,
                title=e.title,
                title_derived=e.title_derived,
                copies=e.copies,
            )
            if hot is not None:
                self.evidence[e.article_id] = CopyEvidence(
                    e.text_hash, _shingles(e.shingles), e.paragraphs, e.figures
                )
            bests[e.story_id] = e.story_best_article_id
        for story_id, best in bests.items():
            story = window.stories.get(story_id)
            if story is None:
                continue
            art = window.articles.get(best) if best is not None else None
            story.best_article_id = best
            story.best_rank = art.title_rank if art is not None else (True, 0)
        for gone in window.evict():
            self.evidence.pop(gone, None)
        return len(window)

    def stats(self) -> dict[str, int]:
        return {
            "hot_articles": len(self.window),
            "hot_stories": len(self.window.stories),
            "evicted": self.window.evicted,
            "ahead_used": self.ahead_used,
        }

    # -- placing ----------------------------------------------------------------------
    def _time(self, published: float | None, estimated: bool, now: float) -> tuple[float, bool]:
        """An article's time for the window, and whether it is a real publication time.

        A date the parser estimated (from the file's mtime) says when the
        file was written, not when the story ran, so such an article takes
        the window's clock (the newest real publication time) instead.
        """
        if published is not None and not estimated and published <= now + _FUTURE_SLACK:
            return published, True
        if self.window.newest > float("-inf"):
            return self.window.newest, False
        return (published if published is not None else now), False

    def time_of(self, req: PlaceRequest) -> tuple[float, bool]:
        return self._time(req.published, req.date_estimated, req.now)

    def place(self, req: PlaceRequest) -> Placed:
        cfg = self.cfg
        window = self.window
        prep = self._ready.pop(req.ahead, None) if req.ahead is not None else None
        if req.ahead is not None:
            self._jobs.pop(req.ahead, None)
            self._unretrieved.pop(req.ahead, None)
        if prep is None:
            prep = self._prepare(
                req.title, req.paragraphs, req.mention_terms, req.figures, req.features
            )
        at, dated = self.time_of(req)
        if dated:
            window.observe(at)
        too_old = at < window.horizon
        matches = [] if too_old else self._matches(prep, at, dated)
        copy = None if too_old else self._find_copy(prep, matches)
        fixed = window.articles[copy[0]].story_id if copy else None
        decision = decide(matches, cfg, fixed)
        new_story = decision.story_id is None
        # A story's id is the id of the article that started it.
        story_id = req.article_id if decision.story_id is None else decision.story_id

        if copy is not None:
            window.articles[copy[0]].copies += 1
        for other in decision.merge:
            window.move_story(other, story_id)
        feats = prep.features
        hot = window.add(
            req.article_id,
            story_id,
            at,
            prep.vector,
            prep.minhash,
            feats.text_hash,
            dated=dated,
            title=req.title,
            title_derived=req.title_derived,
        )
        if hot is not None:
            self.evidence[req.article_id] = prep.evidence
        renamed = self._offer_title(story_id, hot, copy[0] if copy else None, new_story)
        for gone in window.evict():
            self.evidence.pop(gone, None)

        matched = copy[0] if copy else (decision.matched.article_id if decision.matched else None)
        return Placed(
            article_id=req.article_id,
            story_id=story_id,
            new_story=new_story,
            at=at,
            dated=dated,
            score=copy[1].strength if copy else decision.score,
            reason=_reason(decision, copy, new_story, too_old),
            matched=matched,
            features=feats
            if feats.sketch is None and not feats.term_keys
            else replace(feats, sketch=None, term_keys=()),
            copy_of=copy[0] if copy else None,
            copy=copy[1] if copy else None,
            merge=decision.merge,
            renamed=renamed,
        )

    def _matches(self, prep: _Prepared, at: float, dated: bool) -> list[Match]:
        """The most similar articles: those retrieved ahead, brought up to date, plus
        the articles placed since; or a retrieval from scratch."""
        window = self.window
        since = window.added_since(prep.seq) if prep.seq >= 0 else None
        if since is None:
            return window.similar(prep.vector, at, dated)
        self.ahead_used += 1
        articles = window.articles
        out = [
            Match(m.article_id, articles[m.article_id].story_id, m.similarity)
            for m in prep.matches
            if m.article_id in articles
        ]
        if since:
            near = [
                a
                for a in since
                if not (dated and articles[a].dated and abs(articles[a].at - at) > window.window)
            ]
            out.extend(window.score(prep.vector, near))
            out.sort(key=lambda m: (-m.similarity, m.article_id))
        return out

    def _copy_candidates(self, prep: _Prepared, matches: list[Match]) -> list[int]:
        """Candidates for the article this one copies: same text, LSH, most similar."""
        window = self.window
        cands = set(window.near(prep.minhash))
        exact = window.exact(prep.features.text_hash)
        if exact is not None:
            cands.add(exact)
        for m in matches[:_COPY_CANDIDATES_FROM_STORIES]:
            if m.similarity >= self.cfg.copy_candidate_similarity:
                cands.add(m.article_id)
        return sorted(c for c in cands if c in window.articles and c in self.evidence)

    def _find_copy(self, prep: _Prepared, matches: list[Match]) -> tuple[int, CopyVerdict] | None:
        """The article this one copies, confirmed exactly, or ``None``.

        Candidates: the same normalised text, the LSH neighbours, and the
        articles most similar by terms (the only way to find a translation,
        which shares almost no shingles). Verdicts reached ahead are reused.
        """
        exact = self.window.exact(prep.features.text_hash)
        if exact is not None:
            return exact, CopyVerdict("exact", "text", 1.0, 1.0, None, 1.0)
        best: tuple[int, CopyVerdict] | None = None
        for article_id in self._copy_candidates(prep, matches):
            if article_id in prep.verdicts:
                verdict = prep.verdicts[article_id]
            else:
                verdict = judge(prep.evidence, self.evidence[article_id], self.cfg)
            if verdict is not None and (best is None or verdict.strength > best[1].strength):
                best = (article_id, verdict)
        return best

    def _offer_title(
        self, story_id: int, hot: HotArticle | None, original: int | None, new_story: bool
    ) -> int | None:
        """The article that names the story from now on, if that changed.

        A new story is named by its first article already; afterwards a real
        headline beats a derived one, and the version most outlets copied
        beats the rest.
        """
        story = self.window.stories.get(story_id)
        if story is None:
            return None
        changed: HotArticle | None = None
        for art in (self.window.articles.get(original) if original else None, hot):
            if art is not None and story.offer_title(art):
                changed = art
        if changed is None or (new_story and changed is hot):
            return None
        return changed.article_id


def _reason(
    decision: Decision,
    copy: tuple[int, CopyVerdict] | None,
    new_story: bool,
    too_old: bool,
) -> str:
    """Why an article went where it went, in words, for ``inspect`` and ``story``."""
    if too_old:
        text = "older than the hot window: a story of its own"
    elif copy is not None:
        text = f"{copy[1].describe()} of #{copy[0]}"
    elif new_story:
        text = "new story: nothing similar enough in the window"
        if decision.runner_up is not None:
            r = decision.runner_up
            text += f" (closest #{r.article_id} at {r.similarity:.2f})"
    else:
        m = decision.matched
        assert m is not None
        text = f"similar to #{m.article_id} ({m.similarity:.2f})"
        if decision.support > 1:
            text += f"; {decision.support} of the story's articles alike"
    if decision.merge:
        text += "; proved stories " + ", ".join(f"#{s}" for s in decision.merge) + " the same"
    return text
