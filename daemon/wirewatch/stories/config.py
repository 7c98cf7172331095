"""The ``[stories]`` section: how copies are recognised and stories are joined.

This module imports nothing from the rest of wirewatch, so the main config
can embed ``StoriesConfig`` as its ``[stories]`` section without a cycle.

The defaults were tuned on the seed articles and the BBC corpus (see
``bench/stories.py``); the thresholds lean towards precision, because a
wrong merge hides a story inside another one's alert, while a missed join
costs at worst a second alert.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..section import Section as _Section

Share = Annotated[float, Field(ge=0, le=1)]


class StoriesConfig(_Section):
    """Copies, stories and the hot window they are matched in."""

    enabled: bool = True
    """Whether the service runs the stage at all (read by the wiring)."""
    engine: Literal["auto", "process", "inline"] = "auto"
    """Where the CPU work runs. ``inline``: the features are computed where
    the article is parsed (the worker processes, or the ingest threads) and
    the placement in the writer. ``process``: both in a process of the
    stage's own, which pays when parsing runs in threads of the daemon
    (``pipeline.prepare_processes = 0``). ``auto`` picks ``inline`` when there
    are worker processes and ``process`` otherwise. With a worker, a daemon
    backfilling on two cores is as fast either way (about 210 against 220
    files/s, within the runs' noise; ``process`` places a batch while the
    writer inserts it, but its process takes CPU the pipeline needs too),
    and inline saves the stage's process (~140 MB)."""

    def resolved(self, prepare_processes: int) -> StoriesConfig:
        """This config with ``auto`` decided for a pipeline of ``prepare_processes``."""
        if self.engine != "auto":
            return self
        engine = "inline" if prepare_processes > 0 else "process"
        return self.model_copy(update={"engine": engine})

    window_days: Annotated[float, Field(gt=0, le=365)] = 7.0
    """Articles further apart in time than this never join one story, and
    only this much of the archive (by article time) is kept in memory."""

    # -- copies -------------------------------------------------------------
    num_perm: Annotated[int, Field(ge=16, le=256)] = 64
    shingle_size: Annotated[int, Field(ge=1, le=8)] = 3
    lsh_threshold: Share = 0.5
    """Jaccard level the MinHash LSH index is tuned for (datasketch picks its
    bands). The story index proposes copy candidates too (trimmed and
    extended copies, whose Jaccard is modest, are always among an article's
    most similar), so the LSH can stay at a level that keeps it small and
    fast; every candidate is confirmed exactly."""
    copy_jaccard: Share = 0.5
    copy_containment: Share = 0.7
    copy_containment_with_figures: Share = 0.5
    """A candidate whose containment is between this and ``copy_containment``
    is a copy only if the figures the two articles report agree."""
    min_shingles: Annotated[int, Field(ge=1)] = 20
    """Shorter texts are never copies by containment (a one-line brief is
    contained in many articles)."""
    aligned_share: Share = 0.3
    """Paraphrases and translations share few word sequences but keep the
    order of their paragraphs: this share of the shorter article's passages
    must have a counterpart, in order, in the other."""
    aligned_share_by_sentence: Share = 0.7
    """The same when the articles have too few paragraphs to align
    (``aligned_min_passages``) and are cut by sentence instead. A follow-up
    report repeats some background sentences word for word, in order; a
    translation or paraphrase keeps nearly every sentence."""
    aligned_min_passages: Annotated[int, Field(ge=1)] = 5
    passage_similarity: Share = 0.35
    figures_agree: Share = 0.5

    # -- stories ------------------------------------------------------------
    join_threshold: Share = 0.5
    """Cosine similarity (TF-IDF over content words and names) an article
    needs with a story's article to join that story."""
    support_similarity: Share = 0.42
    support_links: Annotated[int, Field(ge=2)] = 2
    """A story is also joined when ``support_links`` of its articles are each at
    least ``support_similarity`` similar: several witnesses, each a little
    short of the bar, are as good as one above it."""
    merge_threshold: Share = 0.55
    """An article this similar to another story too (or supported there as
    above) proves the two one story; they merge into the older."""
    copy_candidate_similarity: Share = 0.45
    """The most similar articles at least this similar are checked as copies
    (how a translation, which shares few shingles, is found)."""
    entity_weight: Annotated[float, Field(gt=0, le=10)] = 2.0
    """A mention of a name counts this many times a content word."""
    title_weight: Annotated[float, Field(ge=0, le=10)] = 1.0
    """Weight of the headline's words as terms of their own (0: off)."""
    idf_prior_docs: Annotated[int, Field(ge=0)] = 200
    """Pseudo-documents without any term, so a near-empty window does not
    make every word look rare."""
    query_terms: Annotated[int, Field(ge=1, le=500)] = 20
    """How many of an article's rarest terms are looked up in the index."""
    max_candidates: Annotated[int, Field(ge=1, le=500)] = 8
    """How many of the articles found are scored exactly."""
    max_posting_share: Share = 0.05
    """Terms in more than this share of the window (and more than
    ``min_posting_cap`` articles) are too common to propose candidates."""
    min_posting_cap: Annotated[int, Field(ge=1)] = 40

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> StoriesConfig:
        if self.merge_threshold < self.join_threshold:
            raise ValueError("merge_threshold must not be below join_threshold")
        if self.copy_containment_with_figures > self.copy_containment:
            raise ValueError("copy_containment_with_figures must not exceed copy_containment")
        return self
