"""Benchmark: per-article cost of watchlist matching as the watchlist grows.

The watchlist is one Aho-Corasick automaton (``ahocorasick_rs``, a DFA), so
the cost per article should depend on the text and on the number of hits,
not on the number of terms. Three series on the BBC corpus tell those
effects apart; each keeps the 10 most frequent real names of the corpus
(found with ``find_entities``), so matches really happen:

* ``terms_N`` (headline, ``ratio_10000_vs_10``): a realistic watchlist.
  The 10 real names are padded to N terms with generated names of people
  ("Firstname Lastname"), places and organisations, built from word and
  syllable lists with a fixed seed, and any generated name that occurs in
  the corpus is dropped. Hits therefore stay the same at every size (the
  ``mentions_per_article`` figures show it) and only the number of terms
  grows. The generated names share first names, surnames and words with
  the text, as a real watchlist does, so the automaton does walk into
  them; it just never reaches a match. The requirement is that 10,000
  terms cost at most 1.5 times what 10 terms cost.
* ``adversarial_N`` (``adversarial_ratio_10000_vs_10``): the worst case
  for an automaton. Each padding term is a real name of the corpus plus a
  made-up word ("Tony Blair Lokamirq"), so at almost every name in the text
  the automaton walks through the whole real name and on into the padding
  before failing. Hits again stay the same, but those walks visit states
  spread over a table far larger than the CPU caches (the DFA for these
  10,000 terms takes about 50 MB, against 12 MB for the realistic ones),
  and each such step is a cache miss. No real watchlist is built like
  this; the series bounds the cost.
* ``top_N`` (``top_ratio_10000_vs_10``): the N most frequent real names.
  Here hits grow with N (a typical article mentions dozens of the 10,000
  most frequent names), and so does the cost, by the cost of each hit.

Run from the repository root::

    .venv/bin/python -m bench.terms --corpus /work/shared/corpus/bbc
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from wirewatch.extract.entities import find_entities
from wirewatch.extract.terms import Watchlist, compile_watchlist, find_mentions, normalise

DEFAULT_CORPUS = Path("/work/shared/corpus/bbc")
SIZES = (10, 1_000, 10_000)
CORE = 10
SEED = 20240611

_SYLLABLES = ("ka", "lo", "mir", "zen", "tu", "vash", "rel", "quin", "dor", "ix", "bel", "sto")


def _words(listing: str) -> tuple[str, ...]:
    return tuple(listing.split())


# Given names and surnames common in international news, so that generated
# people share words with real ones as a real watchlist does.
_FIRST_NAMES = _words(
    """
    Aaron Abdul Adam Adriana Ahmed Aisha Alan Alejandro Alexander Alexei Ali Alice Amir Ana
    Andrea Andrew Angela Anna Anne Antonio Arjun Ben Boris Carlos Carmen Catherine Chen Chloe
    Christian Claire Daniel David Diego Dmitri Elena Elif Emily Emma Erik Fatima Felipe Fiona
    Francesca Francois Gabriel George Giovanni Grace Hannah Hans Hassan Helen Hiroshi Hugo Ibrahim
    Igor Ingrid Isabel Ivan James Jan Javier Jean Jessica Joao John Jorge Jose Juan Julia Karen
    Karim Katarzyna Kenji Kevin Klaus Laura Layla Leila Li Lucas Lucia Luis Maria Marco Mark
    Marta Martin Mary Maryam Matteo Mei Michael Miguel Mohammed Nadia Natalia Nikolai Nina Olga
    Omar Oscar Pablo Paolo Patrick Paul Pedro Peter Pierre Priya Rachel Rahul Ravi Robert Rosa
    Ruth Samuel Sara Sarah Sergei Simon Sofia Stefan Stephen Sunil Tariq Thomas Tomas Viktor
    Wei Yusuf Yuki Zainab Zoe
    """
)
_SURNAMES = _words(
    """
    Abbott Adeyemi Alvarez Andersen Bauer Becker Bianchi Bondarenko Castillo Chowdhury Costa
    Dubois Eriksson Fernandes Fischer Fontaine Gallagher Garcia Gonzalez Haddad Hansen Hartmann
    Hoffmann Horvat Ivanova Jansen Kaminski Kapoor Kelly Khalil Kowalski Kozlov Kruger Larsen
    Lefebvre Lindqvist Lombardi Lopez Mahmoud Marchetti Mendes Molina Moreau Moretti Nakamura
    Navarro Nielsen Novak Okafor Olsen Ortega Pavlov Pereira Petrov Popescu Quinn Ramos Reyes
    Ricci Romero Rossi Sandoval Santos Schmidt Schneider Shevchenko Silva Sokolov Suzuki Tanaka
    Varga Vasquez Volkov Wagner Weber Yamamoto Yilmaz Zielinski
    """
)
_SURNAME_ENDINGS = _words("son sen ski ova ez ini elli ard berg stein ov enko escu ic")
_PLACE_ENDINGS = _words("ton burg stad ville abad grad pur ia ovo field mouth haven dorf")
_PLACE_PREFIXES = _words("Port New San Santa Lake North South East West Mount Fort")
_ORG_NOUNS = _words(
    """
    Holdings Group Bank Institute Party Front Movement University Council Airlines Energy Motors
    Foundation Alliance Partners Capital Pharmaceuticals Telecom Logistics Mining Insurance
    """
)
_ORG_ADJECTIVES = _words(
    """
    National United Federal Democratic Popular Central Northern Southern Royal Global Atlantic
    Pacific Continental Independent Progressive Liberal Free
    """
)


def load_corpus(corpus: Path) -> list[str]:
    """Article texts from ``<category>/NNN.txt`` files, in a stable order.

    The BBC files are mostly UTF-8 but some are Windows-1252, hence the
    fallback.
    """
    texts: list[str] = []
    for path in sorted(corpus.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(raw.decode("cp1252"))
    if not texts:
        raise SystemExit(f"no articles under {corpus}")
    return texts


def real_terms(texts: list[str]) -> list[str]:
    """Candidate names in the corpus, most frequent first."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(m.term for m in find_entities(text))
    return [term for term, _ in counts.most_common()]


def _coined(rng: random.Random, syllables: int) -> str:
    """A made-up but pronounceable word of ``syllables`` syllables."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables)).title()


def _person(rng: random.Random) -> str:
    surname = rng.choice(_SURNAMES)
    if rng.random() < 0.5:
        surname = _coined(rng, rng.randint(1, 2)) + rng.choice(_SURNAME_ENDINGS)
    return f"{rng.choice(_FIRST_NAMES)} {surname}"


def _place(rng: random.Random) -> str:
    name = _coined(rng, rng.randint(1, 2)) + rng.choice(_PLACE_ENDINGS)
    return f"{rng.choice(_PLACE_PREFIXES)} {name}" if rng.random() < 0.3 else name


def _organisation(rng: random.Random) -> str:
    noun = rng.choice(_ORG_NOUNS)
    if rng.random() < 0.5:
        return f"{rng.choice(_ORG_ADJECTIVES)} {_place(rng)} {noun}"
    return f"{rng.choice(_SURNAMES)} {noun}"


def realistic_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct generated names: 60% people, 20% places, 20% organisations."""
    makers: tuple[Callable[[random.Random], str], ...] = (_person,) * 3 + (_place, _organisation)
    names: dict[str, None] = {}
    while len(names) < count:
        names[rng.choice(makers)(rng)] = None
    return list(names)


def realistic_terms(texts: list[str], terms: list[str], core: int, size: int) -> list[str]:
    """The ``core`` first terms, padded to ``size`` with generated names absent from ``texts``.

    Generated names that the matcher finds anywhere in the corpus, or that
    normalise to a core term, are replaced, so the padding adds terms but
    never hits.
    """
    chosen = terms[:core]
    taken = {normalise(term) for term in chosen}
    rng = random.Random(SEED)
    padding: list[str] = []
    while len(chosen) + len(padding) < size:
        wanted = size - len(chosen) - len(padding)
        batch = [name for name in realistic_names(rng, wanted) if normalise(name) not in taken]
        watchlist = build_watchlist(batch)
        found = {m.term for text in texts for m in find_mentions(text, watchlist)}
        for name in batch:
            if name not in found:
                padding.append(name)
                taken.add(normalise(name))
    return chosen + padding[: size - len(chosen)]


def _made_up_word(i: int) -> str:
    """A word that does not occur in news text, distinct for each ``i``."""
    word = _SYLLABLES[i % 12] + _SYLLABLES[(i // 12) % 12] + _SYLLABLES[(i // 144) % 12]
    return f"{word.title()}{i // 1728 or ''}q"


def adversarial_terms(terms: list[str], core: int, size: int) -> list[str]:
    """The ``core`` first terms, padded to ``size`` with real names plus a made-up word.

    The automaton follows such a name as far as real text allows before
    failing, which is the worst case for its speed.
    """
    chosen = terms[:core]
    others = terms[core:] or ["Padding"]
    chosen += [f"{others[i % len(others)]} {_made_up_word(i)}" for i in range(size - len(chosen))]
    return chosen


def build_watchlist(terms: list[str]) -> Watchlist:
    """A watchlist of ``terms``, each its own canonical name without aliases."""
    return compile_watchlist({term: [] for term in terms})


def _time_pass(texts: list[str], watchlist: Watchlist) -> tuple[float, int]:
    """Seconds for one pass of ``find_mentions`` over every text, and hits."""
    hits = 0
    start = time.perf_counter()
    for text in texts:
        hits += len(find_mentions(text, watchlist))
    return time.perf_counter() - start, hits


def _median_us(
    texts: list[str], watchlists: list[Watchlist], repeats: int
) -> list[tuple[float, float]]:
    """Median microseconds per article over ``repeats`` passes, and hits, per watchlist.

    The passes take turns between the watchlists, so that a busy spell on
    a shared machine slows every size alike instead of skewing a ratio.
    """
    for watchlist in watchlists:
        _time_pass(texts, watchlist)  # warm-up
    samples: list[list[float]] = [[] for _ in watchlists]
    hits = [0] * len(watchlists)
    for _ in range(repeats):
        for i, watchlist in enumerate(watchlists):
            seconds, hits[i] = _time_pass(texts, watchlist)
            samples[i].append(seconds)
    return [
        (statistics.median(times) / len(texts) * 1e6, n / len(texts))
        for times, n in zip(samples, hits, strict=True)
    ]


def run(corpus: Path = DEFAULT_CORPUS, repeats: int = 5) -> dict[str, float]:
    """Median microseconds per article of ``find_mentions`` for each series and size.

    ``terms_N_*`` pad the 10 real names with realistic names that never
    match, ``adversarial_N_*`` with real names plus a made-up word, and
    ``top_N_*`` take the N most frequent real names. Each reports mentions
    per article next to the time.
    """
    texts = load_corpus(corpus)
    terms = real_terms(texts)
    result: dict[str, float] = {"articles": float(len(texts)), "real_terms": float(len(terms))}
    series: dict[str, Callable[[int], list[str]]] = {
        "terms": lambda size: realistic_terms(texts, terms, CORE, size),
        "adversarial": lambda size: adversarial_terms(terms, CORE, size),
        "top": lambda size: terms[:size],
    }
    for name, make in series.items():
        watchlists = [build_watchlist(make(size)) for size in SIZES]
        for size, (us, mentions) in zip(SIZES, _median_us(texts, watchlists, repeats), strict=True):
            result[f"{name}_{size}_us_per_article"] = us
            result[f"{name}_{size}_mentions_per_article"] = mentions
    for name in series:
        key = "ratio_10000_vs_10" if name == "terms" else f"{name}_ratio_10000_vs_10"
        result[key] = result[f"{name}_10000_us_per_article"] / result[f"{name}_10_us_per_article"]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.corpus, args.repeats), indent=2))


if __name__ == "__main__":
    main()
