"""What a rule sees of an article: a small, plain value built once per article.

Rules never look at raw text or the database. The engine turns an article
and what the extract stage found into :class:`ArticleFacts` once, and every
rule reads that, which keeps rule types pure and tests free of files: a
test builds facts by hand and feeds them with a fake clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import PurePath
from urllib.parse import urlsplit

from ..extract.terms import Watchlist, find_mentions, normalise
from ..models import Article, ArticleRef, Figure, Mention

__all__ = [
    "UNKNOWN_SOURCE",
    "ArticleFacts",
    "StoryInfo",
    "article_sources",
    "build_facts",
    "inherit_modifiers",
    "norm",
]


UNKNOWN_SOURCE = "(unknown source)"


def norm(term: str) -> str:
    """The form in which terms are compared: casefolded, spaces squeezed."""
    return normalise(term)


@dataclass(frozen=True, slots=True)
class StoryInfo:
    """The story an article belongs to, as the stories stage knows it so far."""

    id: int
    title: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    """One article as rules see it.

    ``terms`` maps a normalised term (see :func:`norm`) to its number of
    mentions: the extractor's watched terms and candidate names plus the
    rules' own terms. ``term_names`` gives each its spelling for messages.
    ``names`` holds the candidate names alone (not on any watchlist), for
    ``new_term`` rules with ``names = true``. ``time`` is when the article
    arrived, the clock every window counts in.
    """

    article_id: int
    time: datetime
    title: str = ""
    source: str = ""
    sources: tuple[str, ...] = ()
    path: str = ""
    url: str | None = None
    published: datetime | None = None
    terms: Mapping[str, int] = field(default_factory=dict)
    term_names: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, int] = field(default_factory=dict)
    figures: tuple[Figure, ...] = ()
    story: StoryInfo | None = None
    source_known: bool = True
    """False when ``source`` is only the file's name (no URL, no credit line)."""

    @property
    def source_key(self) -> str:
        """The source for counting and keying: articles of unknown origin are one.

        Ten anonymous files must not count as ten outlets in a
        ``num_sources`` window, even though each names its file in alerts.
        """
        return self.source if self.source_known else UNKNOWN_SOURCE

    @property
    def distinct_sources(self) -> int:
        """How many sources carry the story, this article's included."""
        others = set(self.story.sources) if self.story is not None else set()
        return len(others | {self.source_key})

    @property
    def story_sources(self) -> tuple[str, ...]:
        """Distinct sources carrying the story, this article's first."""
        out = [self.source] if self.source else []
        if self.story is not None:
            out += [s for s in self.story.sources if s not in out]
        return tuple(out)

    def display(self, term: str) -> str:
        return self.term_names.get(term, term)

    def ref(self) -> ArticleRef:
        return ArticleRef(
            id=self.article_id,
            title=self.title,
            source=self.source,
            path=self.path,
            url=self.url,
            published=self.published,
        )


def article_sources(article: Article, path: str) -> tuple[str, ...]:
    """Who published or supplied an article, most specific first.

    The URL's host names the publisher; credit lines ("(AFP)", "With
    reporting by Reuters") name the agencies. With neither, the file name
    stands in, so an alert can always say where a figure came from.
    """
    out: list[str] = []
    if article.url:
        host = urlsplit(article.url).hostname or ""
        host = host.removeprefix("www.")
        if host:
            out.append(host)
    out.extend(article.source_hints)
    seen: set[str] = set()
    unique = []
    for s in out:
        key = s.casefold()
        if key not in seen:
            seen.add(key)
            unique.append(s)
    if not unique and path:
        unique.append(PurePath(path).name)
    return tuple(unique)


def inherit_modifiers(figures: Sequence[Figure]) -> tuple[Figure, ...]:
    """Give a figure with an implied unit the modifiers of the figure it continues.

    In "1,000 US soldiers ... and another 2,000 stationed in the US" the
    2,000 are US soldiers too, but the extractor can only take the noun
    from the earlier clause. A rule excluding US troops must exclude both,
    so the continuing figure takes the modifiers of the nearest earlier
    figure in the same sentence with the same unit.
    """
    out: list[Figure] = []
    for i, f in enumerate(figures):
        if f.implied_unit and not f.modifiers:
            for prev in reversed(figures[:i]):
                if prev.sentence == f.sentence and prev.unit_lemma == f.unit_lemma:
                    if prev.modifiers:
                        f = replace(f, modifiers=prev.modifiers)
                    break
        out.append(f)
    return tuple(out)


def _count(mentions: Sequence[Mention]) -> tuple[dict[str, int], dict[str, str]]:
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for m in mentions:
        key = norm(m.term)
        counts[key] = counts.get(key, 0) + 1
        names.setdefault(key, m.term)
    return counts, names


def build_facts(
    article_id: int,
    article: Article,
    figures: Sequence[Figure],
    mentions: Sequence[Mention],
    path: str,
    time: datetime,
    story: StoryInfo | None = None,
    matcher: Watchlist | None = None,
) -> ArticleFacts:
    """The facts of one article; ``matcher`` finds the rules' own terms.

    A term found both by the extractor and by the rules' matcher counts
    once (the larger count), not twice.
    """
    terms, names_of = _count(mentions)
    if matcher is not None and matcher.patterns:
        own, own_names = _count(find_mentions(article.text, matcher))
        for key, n in own.items():
            if n > terms.get(key, 0):
                terms[key] = n
            names_of.setdefault(key, own_names[key])
    candidates: dict[str, int] = {}
    for m in mentions:
        if not m.watched:
            candidates[m.term] = candidates.get(m.term, 0) + 1
    sources = article_sources(article, path)
    return ArticleFacts(
        article_id=article_id,
        time=time,
        title=article.title,
        source=sources[0] if sources else "",
        sources=sources,
        path=path,
        url=article.url,
        published=article.published,
        terms=terms,
        term_names=names_of,
        names=candidates,
        figures=inherit_modifiers(figures),
        story=story,
        source_known=bool(article.url or article.source_hints),
    )
