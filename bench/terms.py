"""Benchmark: per-article cost of watchlist matching as the watchlist grows.

The watchlist is an Aho-Corasick automaton, so the cost per article should
depend on the text and on the number of hits, not on the number of terms.
Two series separate those effects on the BBC corpus:

* ``terms_N``: the 10 most frequent real names of the corpus (found with
  ``find_entities``), so matches really happen, padded to N terms with
  generated names: each a real name plus a made-up word, so the automaton
  walks deep into them on real text but they never match. The hits stay
  the same and only the number of terms grows; ``ratio_10000_vs_10`` is
  the figure the design promises to keep near 1.
* ``top_N``: the N most frequent real names. Here hits grow with N (a
  typical article mentions dozens of the 10,000 most frequent names), and
  so does the cost, by the cost of each hit; ``top_ratio_10000_vs_10``
  shows that, and the ``mentions_per_article`` figures explain it.

Run from the repository root::

    .venv/bin/python -m bench.terms --corpus /work/shared/corpus/bbc
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from wirewatch.extract.entities import find_entities
from wirewatch.extract.terms import Watchlist, compile_watchlist, find_mentions

DEFAULT_CORPUS = Path("/work/shared/corpus/bbc")
SIZES = (10, 1_000, 10_000)
CORE = 10

_SYLLABLES = ("ka", "lo", "mir", "zen", "tu", "vash", "rel", "quin", "dor", "ix", "bel", "sto")


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


def _made_up_word(i: int) -> str:
    """A word that does not occur in news text, distinct for each ``i``."""
    word = _SYLLABLES[i % 12] + _SYLLABLES[(i // 12) % 12] + _SYLLABLES[(i // 144) % 12]
    return f"{word.title()}{i // 1728 or ''}q"


def real_terms(texts: list[str]) -> list[str]:
    """Candidate names in the corpus, most frequent first."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(m.term for m in find_entities(text))
    return [term for term, _ in counts.most_common()]


def padded_terms(terms: list[str], core: int, size: int) -> list[str]:
    """The ``core`` first terms, padded to ``size`` with generated names.

    A generated name is a real name followed by a made-up word, so the
    automaton follows it as far as real text allows before failing.
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


def _median_us(texts: list[str], watchlist: Watchlist, repeats: int) -> tuple[float, float]:
    """Median microseconds per article over ``repeats`` passes, and hits."""
    _time_pass(texts, watchlist)  # warm-up
    samples: list[float] = []
    hits = 0
    for _ in range(repeats):
        seconds, hits = _time_pass(texts, watchlist)
        samples.append(seconds)
    return statistics.median(samples) / len(texts) * 1e6, hits / len(texts)


def run(corpus: Path = DEFAULT_CORPUS, repeats: int = 5) -> dict[str, float]:
    """Median microseconds per article of ``find_mentions`` for each size.

    ``terms_N_*`` keep the same 10 matching names and pad with names that
    never match; ``top_N_*`` take the N most frequent real names. Both
    report mentions per article next to the time.
    """
    texts = load_corpus(corpus)
    terms = real_terms(texts)
    result: dict[str, float] = {"articles": float(len(texts)), "real_terms": float(len(terms))}
    for size in SIZES:
        watchlist = build_watchlist(padded_terms(terms, CORE, size))
        us, mentions = _median_us(texts, watchlist, repeats)
        result[f"terms_{size}_us_per_article"] = us
        result[f"terms_{size}_mentions_per_article"] = mentions
    for size in SIZES:
        watchlist = build_watchlist(padded_terms(terms, size, size))
        us, mentions = _median_us(texts, watchlist, repeats)
        result[f"top_{size}_us_per_article"] = us
        result[f"top_{size}_mentions_per_article"] = mentions
    result["ratio_10000_vs_10"] = (
        result["terms_10000_us_per_article"] / result["terms_10_us_per_article"]
    )
    result["top_ratio_10000_vs_10"] = (
        result["top_10000_us_per_article"] / result["top_10_us_per_article"]
    )
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.corpus, args.repeats), indent=2))


if __name__ == "__main__":
    main()
