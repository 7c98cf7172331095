"""Plain data types that travel along the data path.

Every stage takes and returns these; none of them knows about SQL, files,
threads or the network, so each stage can be tested with values alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Article:
    """One parsed news article.

    ``title_derived`` and ``date_estimated`` say when a value was not in the
    text but made up by the parser (from the lead, or from the file's mtime),
    so that later stages and people can weigh it accordingly.
    """

    title: str
    paragraphs: tuple[str, ...]
    published: datetime | None = None
    date_estimated: bool = False
    title_derived: bool = False
    caption: str | None = None
    subheads: tuple[str, ...] = ()
    source_hints: tuple[str, ...] = ()
    url: str | None = None
    format: str = "text"

    @property
    def body(self) -> str:
        """The body as stored and searched: paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)

    @property
    def text(self) -> str:
        """Title and body together, the text the extractors read."""
        return f"{self.title}\n\n{self.body}" if self.title else self.body


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """An article together with the bytes that identify it.

    A plain-text or HTML file holds one article, identified by the whole
    file's bytes; a JSON Lines file holds one per record, each identified by
    its own record's bytes.
    """

    article: Article
    identity: bytes


@dataclass(slots=True)
class ParseError(Exception):
    """The parser refused the input; ``reason`` is a short machine word."""

    reason: str
    detail: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


@dataclass(frozen=True, slots=True)
class Figure:
    """A quantity an article reports, e.g. "more than 100,000 combat troops".

    ``low`` and ``high`` are equal for a point value; a vague amount
    ("several thousand", "tens of thousands of") is a range. ``kind`` is
    ``count``, ``money`` or ``percent``; money carries its ISO ``currency``.
    ``implied_unit`` is true when the noun was taken from a previous clause
    ("… and another 2,000").
    """

    low: float
    high: float
    text: str
    qualifier: str
    qualifier_kind: str
    unit: str
    unit_lemma: str
    start: int
    end: int
    sentence: str
    modifiers: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    kind: str = "count"
    currency: str | None = None
    implied_unit: bool = False

    @property
    def is_range(self) -> bool:
        return self.low != self.high

    @property
    def value(self) -> float:
        """A single number for display and comparison: the range's midpoint."""
        return (self.low + self.high) / 2


@dataclass(frozen=True, slots=True)
class Mention:
    """One occurrence of a term in an article's text.

    ``term`` is the canonical name from the watchlist (or the candidate name
    itself for entities not on it), ``matched`` the text as written.
    """

    term: str
    matched: str
    start: int
    end: int
    watched: bool = True


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """An article as an alert cites it: enough to name and link it."""

    id: int
    title: str
    source: str
    path: str
    url: str | None = None
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert, as the rules stage commits it to the outbox.

    ``id`` is stable for the alert's whole life (it is the ``webhook-id`` of
    every delivery attempt, so a receiver can drop the one duplicate that
    at-least-once delivery allows). ``fingerprint`` (rule, key, value) is
    what makes the same alert never fire twice. ``title`` and ``body`` are
    rendered once, when the alert is made, so every retry says the same.
    """

    id: str
    fingerprint: str
    rule: str
    rule_type: str
    severity: str
    title: str
    body: str
    created_at: datetime
    key: str = ""
    old_value: str | None = None
    new_value: str | None = None
    sentence: str | None = None
    story_id: int | None = None
    story_title: str | None = None
    sources: tuple[str, ...] = ()
    articles: tuple[ArticleRef, ...] = ()
    destinations: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
