"""Page furniture and credit vocabulary, kept as data.

Saved web pages and wire copy carry lines that are not part of the story:
share buttons, comment forms, photo credits, CMS banners, agency desk codes.
They are listed here as plain data so that an operator can extend the list
from configuration without touching the parsing code, and so that the same
list cleans text, HTML and JSON input alike.

Matching is always against one whole line (or HTML block), stripped and
compared case-insensitively, never against a substring: a story that
*mentions* "advertisement" must keep its sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_FURNITURE_LEN = 300
"""Lines longer than this are never furniture; skipping them keeps regex cost
off the long paragraphs that make up most of the text."""

_TRAILING = " \t.:!*|•·-–—»›>"


def line_key(line: str) -> str:
    """The form exact boilerplate lines are compared in.

    Case, inner whitespace and trailing punctuation vary between sites
    ("Share and Enjoy !", "SHARE AND ENJOY!"); folding them here means the
    data lists each phrase once.
    """
    return " ".join(line.casefold().split()).rstrip(_TRAILING)


BOILERPLATE_LINES: tuple[str, ...] = (
    "share and enjoy",
    "share this",
    "share this article",
    "share this story",
    "share on facebook",
    "share on twitter",
    "share",
    "tweet",
    "print",
    "email",
    "facebook",
    "twitter",
    "whatsapp",
    "linkedin",
    "telegram",
    "leave a reply",
    "leave a comment",
    "post a comment",
    "comments",
    "your email address will not be published",
    "required fields are marked",
    "save my name, email, and website in this browser for the next time i comment",
    "close bitnami banner",
    "bitnami",
    "advertisement",
    "advertisements",
    "advertising",
    "sponsored",
    "sponsored content",
    "click here to subscribe",
    "sign up for our newsletter",
    "subscribe to our newsletter",
    "subscribe",
    "read more",
    "continue reading",
    "related",
    "related articles",
    "related posts",
    "related stories",
    "more on this story",
    "you may also like",
    "recommended",
    "like this",
    "loading",
    "skip to content",
    "skip to main content",
    "post navigation",
    "previous post",
    "next post",
    "all rights reserved",
    "our standards: the thomson reuters trust principles",
    "this article is more than 1 year old",
    "listen to this article",
    "view comments",
    "follow us",
)
"""Exact lines (compared through :func:`line_key`) that are never story text."""

BOILERPLATE_PATTERNS: tuple[str, ...] = (
    # photo and image credits: "Photo: AP", "Image credit: Getty Images"
    r"(?:photo|photograph|image|picture|pic|illustration|graphic|video|footage)s?"
    r"(?:\s+credits?)?\s*[:|/]\s*[^.!?]{1,80}\.?",
    r"(?:getty images|afp via getty images|shutterstock)(?:\s*/\s*\w+)?",
    r"(?:your )?email address will not be published\.?\s*(?:required fields are marked\s*\*?)?",
    r"required fields are marked\s*\*?",
    r"(?:sign up|subscribe|register)\b.{0,60}\b(?:newsletter|updates|alerts)\b.{0,40}",
    r"click here\b.{0,80}",
    r"(?:follow|like) us on\b.{0,60}",
    r"(?:share|tweet|post)\s+(?:this|on|via)\b.{0,40}",
    r"(?:read more|also read|see also|related|more from|recommended)\s*[:»›>].{0,150}",
    r"advertisement\s*[-–—:]?\s*(?:scroll|continue|story continues).{0,40}",
    r"(?:story|article) continues below(?: advertisement)?",
    r"(?:©|\(c\)|copyright)\s*(?:\d{4}\s*)?.{0,100}\ball rights reserved\.?",
    r"\d+\s+comments?",
    r"[-_=*•·~#]{3,}",
)
"""Regular expressions matched against the whole line, case-insensitively."""

CUTOFF_LINES: tuple[str, ...] = (
    "leave a reply",
    "leave a comment",
    "post a comment",
    "related articles",
    "related posts",
    "related stories",
    "more on this story",
    "you may also like",
)
"""Lines after which nothing belongs to the story (comment forms, link lists).

They only end an article once it has at least one paragraph, so a page that
opens with one of them loses nothing."""


@dataclass(frozen=True, slots=True)
class Boilerplate:
    """A compiled, immutable set of furniture rules.

    Immutable so one instance can be shared by every worker thread and
    swapped atomically when configuration reloads; :meth:`extend` returns a
    new instance instead of mutating.
    """

    lines: frozenset[str] = frozenset(line_key(x) for x in BOILERPLATE_LINES)
    patterns: tuple[str, ...] = BOILERPLATE_PATTERNS
    cutoffs: frozenset[str] = frozenset(line_key(x) for x in CUTOFF_LINES)
    _compiled: tuple[re.Pattern[str], ...] = field(
        init=False, repr=False, compare=False, hash=False, default=()
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", frozenset(line_key(x) for x in self.lines))
        object.__setattr__(self, "cutoffs", frozenset(line_key(x) for x in self.cutoffs))
        object.__setattr__(self, "_compiled", _compile_all(self.patterns))

    def extend(
        self,
        *,
        lines: Iterable[str] = (),
        patterns: Iterable[str] = (),
        cutoffs: Iterable[str] = (),
    ) -> Boilerplate:
        """A copy with extra exact lines, regexes and cut-off lines (e.g. from config).

        Raises ``ValueError`` naming the pattern when a regex does not compile,
        so a typo in configuration is reported at load time, not per file.
        """
        return Boilerplate(
            lines=self.lines | frozenset(lines),
            patterns=self.patterns + tuple(patterns),
            cutoffs=self.cutoffs | frozenset(cutoffs),
        )

    def verdict(self, line: str) -> str | None:
        """``"cutoff"``, ``"furniture"`` or ``None`` (story text) for one stripped line."""
        if not line or len(line) > MAX_FURNITURE_LEN:
            return None
        key = line_key(line)
        if key in self.cutoffs:
            return "cutoff"
        if key in self.lines or any(p.fullmatch(line) for p in self._compiled):
            return "furniture"
        return None

    def matches(self, line: str) -> bool:
        """Whether a whole stripped line is furniture (cut-off lines included)."""
        return self.verdict(line) is not None

    def is_cutoff(self, line: str) -> bool:
        """Whether everything from this line on is page furniture."""
        return self.verdict(line) == "cutoff"


def _compile_all(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """One alternation when possible (one regex call per line), else one per pattern.

    Each pattern is compiled alone first so a bad one is named in the error.
    Patterns with groups stay separate (their backreferences would be
    renumbered), and the alternation can still fail on inline global flags.
    """
    single = tuple(_compile(p) for p in patterns)
    if len(single) < 2 or any(p.groups for p in single):
        return single
    try:
        return (re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE),)
    except re.error:
        return single


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"bad boilerplate pattern {pattern!r}: {exc}") from exc


DEFAULT_BOILERPLATE = Boilerplate()


# --- credits ---------------------------------------------------------------

SOURCE_ALIASES: dict[str, str] = {
    "afp": "AFP",
    "agence france-presse": "AFP",
    "agence france presse": "AFP",
    "reuters": "Reuters",
    "thomson reuters": "Reuters",
    "ap": "AP",
    "associated press": "AP",
    "the associated press": "AP",
    "rferl": "RFERL",
    "rfe/rl": "RFERL",
    "radio free europe/radio liberty": "RFERL",
    "radio free europe": "RFERL",
    "cnn": "CNN",
    "bbc": "BBC",
    "bloomberg": "Bloomberg",
    "dpa": "dpa",
    "deutsche presse-agentur": "dpa",
    "efe": "EFE",
    "ansa": "ANSA",
    "xinhua": "Xinhua",
    "tass": "TASS",
    "interfax": "Interfax",
    "ria novosti": "RIA Novosti",
    "ukrinform": "Ukrinform",
    "unian": "UNIAN",
    "kyodo": "Kyodo",
    "yonhap": "Yonhap",
    "upi": "UPI",
    "pa": "PA",
    "pa media": "PA",
    "press association": "PA",
    "anadolu": "Anadolu",
    "anadolu agency": "Anadolu",
    "aap": "AAP",
    "pti": "PTI",
    "ians": "IANS",
    "the canadian press": "Canadian Press",
    "canadian press": "Canadian Press",
    "al jazeera": "Al Jazeera",
    "nyt": "New York Times",
    "the new york times": "New York Times",
    "new york times": "New York Times",
    "the washington post": "Washington Post",
    "washington post": "Washington Post",
    "wsj": "Wall Street Journal",
    "the wall street journal": "Wall Street Journal",
    "wall street journal": "Wall Street Journal",
}
"""Spellings of news sources seen in credit lines, mapped to one canonical name."""

DESK_SLUG_SOURCE = "AFP"
"""Lowercase desk codes such as ``burs-lc/dl`` close AFP dispatches."""

REUTERS_STYLE_SOURCE = "Reuters"
"""``Reporting by …; Editing by …`` closes Reuters dispatches."""
