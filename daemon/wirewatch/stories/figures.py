"""A story's figures: one reported quantity, counted once per source that reports it.

Outlets, and the machines that paraphrase them, name one counted thing in
different words: "1,000 US soldiers" and "1,000 US troops", "13,000
people" and "13,000 folks". The extractor keeps each noun as written (its
lemma only undoes the plural), since whether two nouns count the same
thing is a judgement for the stage that compares. Here it is made: a
figure is keyed by its value and the *thing counted*, so a story says
"3 sources report 13,000 people", not two figures with fewer sources each.

The synonyms are few on purpose. Only words a news report uses
interchangeably for a count are joined; near relations that change the
claim ("civilians" and "people", "staff" and "troops") stay apart, and
spelling variants of one unit are joined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

COUNTED_AS: Final[Mapping[str, str]] = {
    # people
    "folk": "person",
    "individual": "person",
    # soldiers
    "soldier": "troop",
    "serviceman": "troop",
    "servicewoman": "troop",
    # spellings of one unit
    "kilometer": "kilometre",
    "km": "kilometre",
    "meter": "metre",
    "liter": "litre",
}
"""Counted noun (lemma) → the noun it is grouped under; any other lemma is its own."""


def counted_as(unit_lemma: str) -> str:
    """The thing a figure counts, for grouping: ``soldier`` → ``troop``."""
    lemma = unit_lemma.casefold()
    return COUNTED_AS.get(lemma, lemma)


@dataclass
class _Group:
    low: float
    high: float
    kind: str
    currency: str | None
    units: dict[str, set[str]] = field(default_factory=dict)
    """Each noun as written → the sources that wrote it."""
    plain: set[str] = field(default_factory=set)
    """The nouns that are the group's own word, not a synonym of it."""
    sources: set[str] = field(default_factory=set)
    articles: set[int] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)
    sentences: set[str] = field(default_factory=set)


def aggregate_figures(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Group a story's figure rows (one per figure and source of its article).

    Each row has ``low``, ``high``, ``unit``, ``unit_lemma``, ``kind``,
    ``currency``, ``article_id``, ``source``, ``text`` and ``sentence``.
    A group is named by the noun most sources use (``unit``) and lists
    every wording (``texts``); groups come most widely reported first.
    """
    groups: dict[tuple[float, float, str, str, str | None], _Group] = {}
    for r in rows:
        counted = counted_as(r["unit_lemma"])
        key = (r["low"], r["high"], counted, r["kind"], r["currency"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(r["low"], r["high"], r["kind"], r["currency"])
        g.units.setdefault(r["unit"], set()).add(r["source"])
        if counted == r["unit_lemma"].casefold():
            g.plain.add(r["unit"])
        g.sources.add(r["source"])
        g.articles.add(r["article_id"])
        g.texts.add(r["text"])
        g.sentences.add(r["sentence"])
    out: list[dict[str, Any]] = []
    for g in groups.values():
        # The noun most sources use; on a tie the group's own word, then the
        # first in alphabetical order.
        unit = min(g.units.items(), key=lambda u: (-len(u[1]), u[0] not in g.plain, u[0]))[0]
        texts = sorted(g.texts)
        out.append(
            {
                "low": g.low,
                "high": g.high,
                "unit": unit,
                "kind": g.kind,
                "currency": g.currency,
                "sources": len(g.sources),
                "source_names": ",".join(sorted(g.sources)),
                "articles": len(g.articles),
                "text": texts[0],
                "texts": texts,
                "sentence": min(g.sentences),
            }
        )
    out.sort(key=lambda f: (-f["sources"], -f["articles"], -f["high"], f["unit"]))
    return out
