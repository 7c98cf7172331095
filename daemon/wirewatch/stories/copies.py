"""Is one article a copy of another? Exact measures over two articles' features.

Candidates come from the MinHash LSH index and from the story index; both
are approximate, so every candidate is confirmed here with exact numbers:

* **exact**: the same normalised words (the bytes differed: whitespace,
  quotes, boilerplate, another file format).
* **near, by shingles**: a high Jaccard similarity of the word-shingle sets
  (an edited or updated version), or a high *containment* (the share of the
  smaller set found in the larger): a syndicated copy that cut or added
  paragraphs has a modest Jaccard but nearly all of its shingles are in the
  original. In the band below, the figures the two report must agree.
* **near, by alignment**: a machine paraphrase or translation shares few
  shingles but keeps the structure: passage after passage has a counterpart
  with similar content words, in the same order. Order is what tells a
  translated copy from another outlet's report of the same event, which
  shares names and words but not their sequence. The figures must agree
  too, since translators and paraphrasers keep the numbers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .config import StoriesConfig
from .features import U32, PassageUnit, passage_sets

CopyKind = Literal["exact", "near"]
CopyMethod = Literal["text", "shingles", "aligned"]


class CopyEvidence:
    """One side of a comparison: what copies are judged on.

    The passages are only needed when the shingles do not decide, so they
    are computed from the paragraphs then, once for each way of cutting.
    """

    __slots__ = ("_passages", "figures", "paragraphs", "shingles", "text_hash")

    def __init__(
        self,
        text_hash: str,
        shingles: U32,
        paragraphs: Sequence[str],
        figures: tuple[str, ...],
    ) -> None:
        self.text_hash = text_hash
        self.shingles = shingles
        self.paragraphs = paragraphs
        self.figures = figures
        self._passages: dict[PassageUnit, list[U32]] = {}

    def passages(self, unit: PassageUnit) -> list[U32]:
        """The passages cut by paragraph or by sentence, as content-word sets."""
        cut = self._passages.get(unit)
        if cut is None:
            cut = self._passages[unit] = passage_sets(self.paragraphs, unit)
        return cut


@dataclass(frozen=True, slots=True)
class CopyVerdict:
    """Why two articles are copies, with the numbers that decided it."""

    kind: CopyKind
    method: CopyMethod
    similarity: float
    containment: float
    figures_overlap: float | None
    aligned: float

    @property
    def strength(self) -> float:
        """For choosing among several originals: the most similar wins."""
        return max(self.similarity, self.containment, self.aligned)

    def describe(self) -> str:
        figures = "" if self.figures_overlap is None else f", figures {self.figures_overlap:.2f}"
        if self.kind == "exact":
            return "exact copy (same words)"
        if self.method == "aligned":
            return f"near copy: {self.aligned:.0%} of passages aligned in order{figures}"
        return (
            f"near copy: jaccard {self.similarity:.2f}, containment {self.containment:.2f}{figures}"
        )


def jaccard_containment(a: U32, b: U32) -> tuple[float, float]:
    """Jaccard similarity and containment (of the smaller set) of two sorted distinct arrays."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union, inter / min(len(a), len(b))


def figure_overlap(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Share of the smaller figure set found in the other; ``None`` if either has none."""
    if not a or not b:
        return None
    return len(set(a) & set(b)) / min(len(a), len(b))


def _similarity_matrix(a: Sequence[U32], b: Sequence[U32]) -> np.ndarray:
    """Jaccard similarity of every passage of ``a`` with every passage of ``b``."""
    la = np.array([len(x) for x in a], dtype=np.int64)
    lb = np.array([len(x) for x in b], dtype=np.int64)
    a_tok = np.concatenate(a)
    a_unit = np.repeat(np.arange(len(a)), la)
    b_tok = np.concatenate(b)
    b_unit = np.repeat(np.arange(len(b)), lb)
    order = np.argsort(b_tok, kind="stable")
    b_tok, b_unit = b_tok[order], b_unit[order]
    lo = np.searchsorted(b_tok, a_tok, "left")
    hi = np.searchsorted(b_tok, a_tok, "right")
    cnt = hi - lo
    total = int(cnt.sum())
    inter = np.zeros((len(a), len(b)), dtype=np.float64)
    if total:
        starts = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt)
        bj = b_unit[np.arange(total) + starts]
        ai = np.repeat(a_unit, cnt)
        inter = (
            np.bincount(ai * len(b) + bj, minlength=len(a) * len(b))
            .reshape(len(a), len(b))
            .astype(np.float64)
        )
    return inter / (la[:, None] + lb[None, :] - inter)


def aligned_passages(a: Sequence[U32], b: Sequence[U32], min_similarity: float) -> tuple[int, int]:
    """How many passages of the shorter side have a counterpart in order, out of how many.

    Each passage of the shorter article is matched to its most similar
    passage of the other (if at least ``min_similarity``); the longest run of
    matches whose positions increase is what counts, so shared quotes
    scattered through two different reports do not add up.
    """
    if not a or not b:
        return 0, max(len(a), len(b))
    if len(a) > len(b):
        a, b = b, a
    sim = _similarity_matrix(a, b)
    best = sim.argmax(axis=1)
    keep = sim[np.arange(len(a)), best] >= min_similarity
    tails: list[int] = []
    for j in best[keep].tolist():
        k = bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
        else:
            tails[k] = j
    return len(tails), len(a)


def judge(x: CopyEvidence, y: CopyEvidence, cfg: StoriesConfig) -> CopyVerdict | None:
    """The verdict if ``x`` and ``y`` are copies of one text, else ``None``."""
    if x.text_hash == y.text_hash:
        return CopyVerdict("exact", "text", 1.0, 1.0, None, 1.0)
    jac, con = jaccard_containment(x.shingles, y.shingles)
    figs = figure_overlap(x.figures, y.figures)
    long_enough = min(len(x.shingles), len(y.shingles)) >= cfg.min_shingles
    if jac >= cfg.copy_jaccard or (long_enough and con >= cfg.copy_containment):
        return CopyVerdict("near", "shingles", jac, con, figs, 0.0)
    figures_agree = figs is not None and figs >= cfg.figures_agree
    if long_enough and con >= cfg.copy_containment_with_figures and figures_agree:
        return CopyVerdict("near", "shingles", jac, con, figs, 0.0)
    if figs is not None and not figures_agree:
        return None
    # By paragraph when both have enough of them to align; else both by
    # sentence, so an article of few paragraphs can still be told a
    # translation, and the two sides are always cut the same way.
    unit: PassageUnit = "paragraph"
    if min(len(x.passages(unit)), len(y.passages(unit))) < cfg.aligned_min_passages:
        unit = "sentence"
    count, out_of = aligned_passages(x.passages(unit), y.passages(unit), cfg.passage_similarity)
    if count < cfg.aligned_min_passages or not out_of:
        return None
    share = count / out_of
    # Without figures on both sides nothing confirms the alignment: ask for more of it.
    needed = cfg.aligned_share if unit == "paragraph" else cfg.aligned_share_by_sentence
    if not figures_agree:
        needed = min(1.0, needed + 0.2)
    if share >= needed:
        return CopyVerdict("near", "aligned", jac, con, figs, share)
    return None
