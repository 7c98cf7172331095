"""The extract stage as one function of an article, built from the config.

The watchlist is compiled once (an Aho-Corasick automaton) and captured by
the returned closure; every article then costs one pass per extractor.
Spans in the figures and mentions index :attr:`Article.text`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence

from ..config import ExtractConfig
from ..models import Article, Figure, Mention
from .entities import find_entities
from .figures import extract_figures
from .terms import compile_watchlist, find_mentions

Extractor = Callable[[Article], tuple[Sequence[Figure], Sequence[Mention]]]


def merge_mentions(watched: list[Mention], candidates: list[Mention]) -> list[Mention]:
    """Watched mentions plus the candidate names that do not overlap any of them.

    A name already on the watchlist ("Volodymyr Zelensky") must not also be
    reported as a new candidate, or every rule on new names would fire on it.
    Watched mentions never overlap each other and come in order, so one
    bisection per candidate finds the only ones that could overlap it.
    """
    starts = [m.start for m in watched]
    out = list(watched)
    for c in candidates:
        i = bisect_left(starts, c.end)  # watched mentions starting before c ends
        if i and watched[i - 1].end > c.start:
            continue
        out.append(c)
    out.sort(key=lambda m: m.start)
    return out


def build_extractor(cfg: ExtractConfig) -> Extractor:
    """Compile the config's watchlist and return the per-article extractor."""
    watchlist = compile_watchlist(cfg.watchlist) if cfg.watchlist else None

    def extract(article: Article) -> tuple[Sequence[Figure], Sequence[Mention]]:
        text = article.text
        figures = extract_figures(text) if cfg.figures else []
        watched = find_mentions(text, watchlist) if watchlist is not None else []
        names = find_entities(text) if cfg.entities else []
        return figures, merge_mentions(watched, names)

    return extract
