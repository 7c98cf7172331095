"""The stories stage: one story, one alert.

The same wire story reaches the inbox from many outlets: verbatim, trimmed,
re-headlined, machine-paraphrased or machine-translated. This stage puts
every stored article into exactly one story and links copies to the article
they copy, so that an alert can say "3 outlets report X" instead of firing
three times.

**Copies** (:mod:`.copies`). A byte-identical file is not a new article at
all: the store records it as a further sighting, and the stage records the
sighting's source. Otherwise three kinds of candidates are confirmed
exactly: the same normalised words (an *exact* copy), the neighbours a
MinHash LSH index over word 3-shingles proposes, and the articles most
similar by terms. A *near* copy has a high shingle Jaccard similarity or a
high containment (a syndicated copy that cut or added paragraphs), or,
for paraphrases and translations that share few shingles, passages that
align in order with the figures agreeing.

**Stories** (:mod:`.grouping`, :mod:`.index`). Online, one article at a time
in arrival order. Each article is a TF-IDF vector of content-word stems,
headline words and names (IDF from the hot window). Candidates come from an
inverted index, looking up only the article's rarest terms, so the cost
depends on how many articles share those terms, not on the archive; the
candidates are then scored exactly by cosine. The article joins the story
of its most similar article if that similarity clears ``join_threshold``,
or if several of a story's articles each come close (``support_links`` at
``support_similarity``): single-link with a high bar, plus corroboration.
An article that qualifies for two stories proves them one, and they merge
into the older, so the grouping does not hinge on arrival order the way
plain online clustering does (the five seed articles end in one story in
all 120 orders). A copy always joins its original's story. Only articles
within ``window_days`` of each other (by publication time; undated
articles take the window's clock) can share a story. The bars lean to
precision: two reports on one team's different matches share its names
and vocabulary, so headline words count as terms of their own (reports of
one event headline the same few words) and a single link must be strong.

**Sources.** A story counts distinct sources, not files: an article's
source is its first source hint ("AFP"), else its URL's host, else its
inbox sub-folder, else its file name's prefix before ``_`` or ``-``, else
its folder's name (see :func:`.features.source_of`). A byte-identical
sighting adds its source to the article it repeats.

**State** (:mod:`.stage`, :mod:`.engine`, ``wirewatch.store.stories``).
Signatures, assignments, copies and sources are written in the
transaction that stores the article; a story's id is the id of its first
article. The hot window (LSH, inverted index, document frequencies, the
copy evidence) holds only the time window, is rebuilt from the store on
start, and evicts articles as the window moves on, so memory follows the
window, not the archive. It lives in an engine process of its own by
default (:mod:`.remote`), which keeps the CPU work off the ingest
process's interpreter lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import StoriesConfig

if TYPE_CHECKING:
    from .copies import CopyVerdict
    from .features import StoryFeatures, source_of
    from .stage import Assignment, StoriesStage
    from .summaries import StorySummary

# The main config imports this package for ``StoriesConfig``; the stage and
# what it pulls in (numpy, datasketch, the store) load on first use.
_LAZY = {
    "Assignment": ".stage",
    "StoriesStage": ".stage",
    "StorySummary": ".summaries",
    "CopyVerdict": ".copies",
    "StoryFeatures": ".features",
    "source_of": ".features",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module, __name__), name)


__all__ = [
    "Assignment",
    "CopyVerdict",
    "StoriesConfig",
    "StoriesStage",
    "StoryFeatures",
    "StorySummary",
    "source_of",
]
