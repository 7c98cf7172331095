"""What the stories stage needs to know about one article, computed ahead.

Pure and CPU-bound: :func:`featurize` runs in the ingest worker threads, so
the writer (one task, inside the transaction) only looks things up. Every
part is deterministic across processes (CRC-32 and BLAKE2, never Python's
salted ``hash``), because signatures are stored and compared with those of
articles that arrive after a restart.

Views of the text, one per question:

* ``text_hash``: the normalised words, for exact copies whose bytes differ
  (other whitespace, quotes, boilerplate or file format).
* ``shingles`` and ``minhash``: the set of hashed word *k*-shingles and its
  MinHash signature, for verbatim copies, trimmed or extended ones included.
* ``term_hashes`` and ``term_weights``: content-word stems, headline stems
  and names (as CRC-32s) with log-scaled counts, for the story index
  (TF-IDF cosine with document frequencies of the hot window).
* passages (:func:`passage_sets`): per paragraph, the set of content-word
  prefixes, for copies that kept the story's structure but not its wording
  (machine paraphrase or translation): such copies share few shingles, yet
  paragraph after paragraph has a counterpart in the same order. Needed
  only to confirm such a candidate, so computed then, not ahead.

Figures are reduced to their values, because paraphrasers and translators
keep numbers while rewording the nouns they count ("people" → "folk").
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import PurePath
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from datasketch import LeanMinHash, MinHash

from ..models import Article, Figure, Mention
from .config import StoriesConfig

FEATURES_VERSION = 1
"""Bumped whenever a change here makes stored features incomparable."""

MINHASH_SEED = 1
TERM_SLOTS = 1 << 21
"""A term's slot in the story index is its CRC-32 modulo this (see :mod:`.index`)."""
_SCHEME = "affine32"

U32 = npt.NDArray[np.uint32]
PassageUnit = Literal["paragraph", "sentence"]

_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_MIN_PASSAGE_WORDS = 4
_STEM_CHARS = 6

# Words that say nothing about which story an article tells: function words
# and the verbs and nouns of reporting itself ("said", "told", "according").
_STOPWORD_TEXT = """
    a about above across after afterwards again against ago all almost along already also
    although always am among an and another any anyone anything are around as at away back be
    became because become been before being below beside besides between beyond both but by
    came can cannot come could did do does doing done down during each either else enough even
    ever every few for former formerly from further get gets getting go goes going got had has
    have having he her here hers herself him himself his how however i if in including into is
    it its itself just last later least less like made make makes making many may me meanwhile
    might mine more moreover most mostly much must my myself near nearly neither never
    nevertheless new next no nobody none nor not nothing now of off often on once one only onto
    or other others otherwise our ours ourselves out over own part per perhaps put rather
    really said same say saying says see seen several shall she should since so some something
    still such take taken than that the their theirs them themselves then there thereafter
    therefore these they this those though three through throughout thus to together too took
    toward towards two under until up upon us very via was way we well were what whatever when
    whenever where whereas wherever whether which while who whoever whole whom whose why will
    with within without would yet you your yours yourself yourselves according added adding
    told tells telling statement reported reports reporting week weeks year years day days time
    times today yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday mr
    mrs ms dr people news first second third four five six seven eight nine ten hundred
    thousand million billion percent cent
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_SUFFIXES = (
    "ations",
    "ation",
    "ments",
    "ment",
    "ings",
    "ing",
    "edly",
    "ies",
    "ied",
    "ed",
    "es",
    "s",
)


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """Everything the stage compares, computed off the writer; storable as is."""

    text_hash: str
    minhash: bytes
    shingles: bytes
    term_hashes: bytes
    term_weights: bytes
    figures: tuple[str, ...]
    version: int = FEATURES_VERSION
    term_keys: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """The terms themselves, for reading; not stored (their hashes are)."""
    sketch: MinHash | None = field(default=None, compare=False, repr=False)
    """The MinHash itself, so the writer need not rebuild it from the bytes."""

    @property
    def shingle_count(self) -> int:
        return len(self.shingles) // 4

    def minhash_object(self) -> MinHash:
        return self.sketch if self.sketch is not None else minhash_from_bytes(self.minhash)

    @property
    def terms(self) -> dict[str, float]:
        """The term weights as a mapping (for reading and tests; the index uses the arrays)."""
        weights = np.frombuffer(self.term_weights, dtype="<f4").tolist()
        return dict(zip(self.term_keys, weights, strict=True))


# -- text ----------------------------------------------------------------------


def normalise(text: str) -> str:
    """Compatibility-normalised and case-folded, so "ﬁ", "Ｕ" and "U" compare equal."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


def words(text: str) -> list[str]:
    """Word tokens of normalised text: letters and digits, punctuation dropped."""
    return _WORD.findall(normalise(text))


def stem(word: str) -> str:
    """A crude English stem: enough to meet "deploy", "deployed", "deployment"."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def is_content_word(word: str) -> bool:
    return len(word) >= 3 and word.isalpha() and word not in STOPWORDS


def text_hash(tokens: Sequence[str]) -> str:
    return hashlib.blake2b(" ".join(tokens).encode(), digest_size=16).hexdigest()


# -- shingles and MinHash --------------------------------------------------------

_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)


def token_hashes(
    tokens: Sequence[str], distinct: Iterable[str] | None = None
) -> npt.NDArray[np.uint64]:
    """CRC-32 of every token (odd, so never zero); each distinct token is hashed once."""
    table = {t: crc_of(t) for t in (set(tokens) if distinct is None else distinct)}
    return np.fromiter(map(table.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def shingle_set(tokens: Sequence[str], k: int, hashes: npt.NDArray[np.uint64] | None = None) -> U32:
    """Sorted distinct 32-bit hashes of the word *k*-shingles (the whole text if shorter)."""
    if not tokens:
        return np.zeros(0, dtype=np.uint32)
    h = token_hashes(tokens) if hashes is None else hashes
    n = max(1, len(h) - k + 1)
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(min(k, len(h))):
            mult = _MIX[i % len(_MIX)] + np.uint64(2 * i)
            acc = acc * np.uint64(0x100000001B3) + h[i : i + n] * mult
    return np.unique((acc >> np.uint64(32)).astype(np.uint32))


@cache
def _permutations(num_perm: int) -> npt.NDArray[np.uint32]:
    template = MinHash(num_perm=num_perm, seed=MINHASH_SEED, scheme=_SCHEME)
    return np.asarray(template.permutations)


def minhash_of(shingles: U32, num_perm: int) -> MinHash:
    """A datasketch MinHash of pre-hashed shingles (fixed seed, so stable on disk)."""
    m = MinHash(
        num_perm=num_perm,
        seed=MINHASH_SEED,
        hashfunc=int,
        permutations=_permutations(num_perm),
        scheme=_SCHEME,
    )
    if len(shingles):
        m.update_batch(shingles.tolist())
    return m


def minhash_from_bytes(data: bytes) -> MinHash:
    """A stored signature back as a sketch to index and compare, not to update.

    A :class:`LeanMinHash` carries no permutations, so building one costs a
    copy of the values, not the per-article allocation a full MinHash makes.
    """
    values = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    return LeanMinHash(seed=MINHASH_SEED, hashvalues=values, scheme=_SCHEME)


# -- passages --------------------------------------------------------------------


def passages_of(paragraphs: Sequence[str], unit: PassageUnit = "paragraph") -> list[str]:
    """The text's non-empty paragraphs, or its sentences."""
    paras = [p for p in paragraphs if p.strip()]
    if unit == "paragraph":
        return paras
    return [s for p in paras for s in _SENTENCE_END.split(p) if s.strip()]


def passage_sets(paragraphs: Sequence[str], unit: PassageUnit = "paragraph") -> list[U32]:
    """Per passage, sorted distinct hashes of its content-word prefixes (short ones dropped)."""
    out = []
    for passage in passages_of(paragraphs, unit):
        stems = {w[:_STEM_CHARS] for w in words(passage) if is_content_word(w)}
        if len(stems) >= _MIN_PASSAGE_WORDS:
            out.append(np.array(sorted(zlib.crc32(s.encode()) for s in stems), dtype=np.uint32))
    return out


# -- terms and figures -------------------------------------------------------------

_CACHE_LIMIT = 100_000
_words: dict[str, tuple[int, str, int]] = {}
"""Word → (its CRC-32, its term key or "" when not a content word, the key's
CRC-32 or 0): all that featurizing needs of a word, in one lookup, since
a dictionary lookup per word and per question was most of its cost. Each
worker process has its own; single dict operations are atomic, so threads
may share it, and a lost race only means a word is learnt twice."""
_crcs: dict[str, int] = {}
"""Term keys (``w:``, ``e:``, ``t:``) → their CRC-32 (odd, so never zero); shared the same way."""


def _learn(word: str) -> tuple[int, str, int]:
    key = "w:" + stem(word) if is_content_word(word) else ""
    info = (zlib.crc32(word.encode()) | 1, key, crc_of(key) if key else 0)
    if len(_words) >= _CACHE_LIMIT:
        _words.clear()
    _words[word] = info
    return info


def crc_of(text: str) -> int:
    """The CRC-32 of a word or term key (odd, never zero), cached."""
    value = _crcs.get(text)
    if value is None:
        value = zlib.crc32(text.encode()) | 1
        if len(_crcs) >= _CACHE_LIMIT:
            _crcs.clear()
        _crcs[text] = value
    return value


@lru_cache(maxsize=65_536)
def _entity_key(term: str) -> str | None:
    key = " ".join(words(term))
    return "e:" + key if key else None


@dataclass(slots=True)
class _Terms:
    """An article's term counts, in order of first appearance, with their CRC-32s."""

    counts: dict[str, float] = field(default_factory=dict)
    crcs: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, crc: int, n: float) -> None:
        have = self.counts.get(key)
        if have is None:
            self.counts[key] = n
            self.crcs[key] = crc
        else:
            self.counts[key] = have + n


def _count_words(counts_by_word: Mapping[str, int]) -> tuple[dict[str, int], _Terms]:
    """Per distinct word its CRC-32 (for the shingles), and the counts of the
    content-word stems (``w:``)."""
    get = _words.get
    crcs: dict[str, int] = {}
    terms = _Terms()
    counts, term_crcs = terms.counts, terms.crcs
    have = counts.get
    # :meth:`_Terms.add` inlined: this loop runs once per distinct word.
    for w, n in counts_by_word.items():
        crc, key, key_crc = get(w) or _learn(w)
        crcs[w] = crc
        if key:
            c = have(key)
            if c is None:
                counts[key] = n
                term_crcs[key] = key_crc
            else:
                counts[key] = c + n
    return crcs, terms


def _add_names_and_headline(
    terms: _Terms,
    mention_terms: Sequence[str],
    entity_weight: float,
    title_tokens: Sequence[str],
    title_weight: float,
) -> None:
    """Names (``e:``, weighted) and headline stems (``t:``) on top of the words.

    Headline words count again as their own terms because two reports of
    one event tend to headline the same few words, while two reports of the
    same team or company on different days share the body's vocabulary but
    not the headline's.
    """
    for term, n in Counter(mention_terms).items():
        name = _entity_key(term)
        if name is not None:
            terms.add(name, crc_of(name), entity_weight * n)
    if title_weight:
        for w in dict.fromkeys(title_tokens):  # in order: the same bytes in every process
            key = (_words.get(w) or _learn(w))[1]
            if key:
                headline = "t" + key[1:]
                terms.counts[headline] = title_weight
                terms.crcs.setdefault(headline, crc_of(headline))


def figure_values(figures: Sequence[Figure]) -> tuple[str, ...]:
    """The values of extracted figures, as comparable strings ("2000", "20000-99999")."""
    keys = {f"{f.low:.6g}" if f.low == f.high else f"{f.low:.6g}-{f.high:.6g}" for f in figures}
    return tuple(sorted(keys))


def number_values(text: str) -> tuple[str, ...]:
    """The numbers in a text (10 and up, years 1900–2100 left out), as comparable strings.

    Stands in for the figures when the extractor found none or is off, so
    the confirmation of copies still has numbers to compare.
    """
    keys: set[str] = set()
    for raw in _NUMBER.findall(text):
        digits = raw.replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            continue
        is_year = digits.isdigit() and len(digits) == 4 and 1900 <= value <= 2100
        if value >= 10 and not is_year:
            keys.add(f"{value:.6g}")
    return tuple(sorted(keys))


def featurize(
    article: Article,
    figures: Sequence[Figure],
    mentions: Sequence[Mention],
    *,
    num_perm: int = 64,
    shingle_size: int = 3,
    entity_weight: float = 2.0,
    title_weight: float = 1.0,
) -> StoryFeatures:
    """All the stage's features of one article: pure, deterministic, thread-safe."""
    return featurize_parts(
        article.title,
        article.paragraphs,
        [m.term for m in mentions],
        figure_values(figures) if figures else None,
        num_perm=num_perm,
        shingle_size=shingle_size,
        entity_weight=entity_weight,
        title_weight=title_weight,
    )


def featurize_for(
    cfg: StoriesConfig, article: Article, figures: Sequence[Figure], mentions: Sequence[Mention]
) -> StoryFeatures:
    """:func:`featurize` with the config's settings."""
    return featurize_parts_for(
        cfg,
        article.title,
        article.paragraphs,
        [m.term for m in mentions],
        figure_values(figures) if figures else None,
    )


def featurize_parts_for(
    cfg: StoriesConfig,
    title: str,
    paragraphs: Sequence[str],
    mention_terms: Sequence[str],
    figures: tuple[str, ...] | None,
) -> StoryFeatures:
    """:func:`featurize_parts` with the config's settings."""
    return featurize_parts(
        title,
        paragraphs,
        mention_terms,
        figures,
        num_perm=cfg.num_perm,
        shingle_size=cfg.shingle_size,
        entity_weight=cfg.entity_weight,
        title_weight=cfg.title_weight,
    )


def story_featurizer(
    cfg: StoriesConfig,
) -> Callable[[Article, Sequence[Figure], Sequence[Mention]], StoryFeatures]:
    """:func:`featurize_for` as a worker process runs it: the MinHash object
    and the readable term keys stay behind (the bytes travel), so what is
    sent back, and unpickled by the one busy writer process, stays small."""

    def run(
        article: Article, figures: Sequence[Figure], mentions: Sequence[Mention]
    ) -> StoryFeatures:
        features = featurize_for(cfg, article, figures, mentions)
        return replace(features, sketch=None, term_keys=())

    return run


def featurize_parts(
    title: str,
    paragraphs: Sequence[str],
    mention_terms: Sequence[str],
    figures: tuple[str, ...] | None,
    *,
    num_perm: int = 64,
    shingle_size: int = 3,
    entity_weight: float = 2.0,
    title_weight: float = 1.0,
) -> StoryFeatures:
    """:func:`featurize` from the plain parts of an article (what crosses to the
    engine process): its title, paragraphs, the terms mentioned and the
    figures' values (``None``: take the numbers in the text)."""
    title_tokens = words(title) if title else []
    tokens = list(title_tokens)
    for paragraph in paragraphs:
        tokens.extend(words(paragraph))
    word_crcs, terms = _count_words(Counter(tokens))
    hashes = np.fromiter(map(word_crcs.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
    shingles = shingle_set(tokens, shingle_size, hashes)
    mh = minhash_of(shingles, num_perm)
    _add_names_and_headline(terms, mention_terms, entity_weight, title_tokens, title_weight)
    n = len(terms.counts)
    weights = 1.0 + np.log(np.fromiter(terms.counts.values(), dtype=np.float64, count=n))
    term_crcs = np.fromiter(terms.crcs.values(), dtype=np.uint32, count=n)
    # In the order of their slots in the story index, so the writer's process,
    # which turns these bytes into an index vector, need not sort them.
    order = np.argsort(term_crcs % TERM_SLOTS, kind="stable")
    term_crcs, weights = term_crcs[order], weights[order]
    keys = list(terms.counts)
    term_keys = tuple(keys[i] for i in order.tolist())
    if figures is None:
        figures = number_values("\n\n".join([title, *paragraphs]))
    return StoryFeatures(
        text_hash=text_hash(tokens),
        minhash=mh.hashvalues.astype("<u4").tobytes(),
        shingles=shingles.astype("<u4").tobytes(),
        term_hashes=term_crcs.astype("<u4").tobytes(),
        term_weights=weights.astype("<f4").tobytes(),
        figures=figures,
        term_keys=term_keys,
        sketch=mh,
    )


# -- sources -----------------------------------------------------------------------

_NAME_PREFIX = re.compile(r"^([^_\-\s.]+)[_\-\s]")


def source_of(article: Article, path: str, inboxes: Sequence[PurePath] = ()) -> str:
    """Who published an article, for counting *distinct* sources.

    In order: the first source hint the parser found (an agency credit such
    as "AFP"); else the host of the article's URL; else where the file came
    from: the first sub-folder below its inbox (teams give each feed its
    own folder), else the prefix of its name before ``_`` or ``-``
    ("reuters_123.txt", "000_e068….txt"), else its folder's name (a file
    fed to ``wirewatch ingest`` from ``corpus/bbc/business/001.txt`` counts
    as "business").
    """
    if article.source_hints:
        return article.source_hints[0]
    if article.url:
        host = urlsplit(article.url).hostname or ""
        if host:
            return host.removeprefix("www.")
    folder, name = os.path.split(path)
    below = _feed_folder(folder, tuple(inboxes))
    if below is not None:
        return below
    m = _NAME_PREFIX.match(name)
    if m:
        return m.group(1)
    return os.path.basename(folder) or "unknown"


@lru_cache(maxsize=1024)
def _feed_folder(folder: str, inboxes: tuple[PurePath, ...]) -> str | None:
    """The first sub-folder below the inbox that holds ``folder``, if any.

    Cached by folder: a feed's files all sit in a few folders, and this is
    path arithmetic the writer would otherwise repeat for every article.
    """
    p = PurePath(folder)
    for inbox in inboxes:
        try:
            rel = p.relative_to(inbox)
        except ValueError:
            continue
        return rel.parts[0] if rel.parts else None
    return None
