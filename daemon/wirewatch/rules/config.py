"""The rule file format: its shape, defaults and validation.

Rules live in ``config/rules/*.toml`` (the folder is ``[rules] dir`` in the
main config). Each file holds one or more rules as an array of tables::

    [[rules]]
    name = "russian-troops-at-ukraine-border"
    type = "figure"
    severity = "critical"
    destinations = ["console"]
    units = ["troop", "soldier", "force"]
    context_any = ["Russia", "Russian", "Moscow", "Kremlin"]
    sentence_regex = '\\b(border|borders|frontier)\\b'
    modifiers_none = ["US", "British", "French"]
    alert_on_first = true
    change_rel = 0.1

    [rules.scope]
    any.terms = ["Ukraine", "Kyiv"]

The words are ElastAlert's and Alertmanager's where they have one
(``new_term``, ``frequency``, ``spike``, ``flatline``, ``realert``,
``exponential_realert``, ``query_key``, ``timeframe``, ``num_events``,
``spike_height``, ``threshold_cur``, ``threshold_ref``,
``alert_on_new_data``, ``group_wait``, silences), so people who know those
tools can read a rule at sight. Unknown keys are errors: a typo must not
quietly become a default.

Keys every rule has
-------------------

``name`` (required)
    Unique across all files; letters, digits, ``.``, ``_``, ``-``. Alerts,
    state, silences and logs refer to it.
``type`` (required)
    ``term``, ``new_term``, ``figure``, ``frequency``, ``spike``, ``flatline``.
``description``
    Free text, available to templates as ``description``.
``enabled`` (default true)
    A disabled rule is validated but not evaluated.
``severity`` (default ``warning``)
    ``info``, ``warning`` or ``critical``.
``destinations`` (default ``[rules] default_destinations``, i.e. ``["console"]``)
    Names of notify sinks from the main config's ``[sinks]``; ``console`` always
    exists. An undefined name is an error.
``title``, ``message``
    Jinja2 templates (sandboxed, undefined names are errors) for the alert's
    title and body; each type has a sensible default. Fields: see
    ``TEMPLATE_FIELDS`` in ``wirewatch.rules.render`` and the README.
``labels``
    A table of strings attached to every alert of the rule.
``scope``
    Which articles the rule looks at (below). No scope: every article.
``aliases``
    A table ``term = ["other spelling", ...]`` for the rule's terms: a
    mention of an alias counts as the term.
``realert`` (default ``"0s"``)
    Cooldown per rule and key: after an alert, the same key stays quiet this
    long (alerts in the cooldown are dropped, not delayed). Unlike
    ElastAlert's one minute, the default is none: fingerprints already stop
    repeats.
``exponential_realert``
    The cooldown doubles each time a key fires again soon after its previous
    cooldown ended, up to this ceiling (ElastAlert's rule).
``group_wait`` (default ``"0s"``)
    Alerts of the rule that come within this time of its first pending
    alert are sent as one message; more sources reporting the very same
    change meanwhile are added to it (Alertmanager's ``group_wait``).

Durations are strings such as ``"45s"``, ``"10m"``, ``"2h"``, ``"30d"``,
``"1w"``, ``"1h30m"``, or a number of seconds.

Scope
-----

A table with three sub-tables and a number::

    [rules.scope]
    any.terms = ["Ukraine", "Kyiv"]    # at least one of these terms
    all.terms = ["Russia"]             # every one of these terms
    none.terms = ["football"]          # none of these terms
    any.sources = ["AFP", "Reuters*"]  # globs over the article's sources
    none.paths = ["*/archive/*"]       # globs over the file's path or name
    min_sources = 2                    # the story is carried by >= 2 sources

``terms``, ``sources`` and ``paths`` can appear under ``any``, ``all`` and
``none``. Terms match case-insensitively as whole words (the extractor's
watchlist terms, candidate names, and the rules' own terms); sources are
the article's credit lines and URL host; ``min_sources`` counts the
distinct sources of the article's story (1 when stories are unknown).

Types
-----

``term``: an article in scope mentions any of ``terms`` (at least
``min_mentions`` times each). ``query_key = "story"`` (default) fires once
per story and set of terms; ``"article"`` once per article.

``new_term``: a term appears in scope for the first time within
``baseline`` (default ``"30d"``). The terms are ``terms`` and, with
``names = true``, every candidate name the extractor finds; ``min_mentions``
filters passing mentions. One alert per new term.

``figure``: a figure is selected by ``units`` (matched against the unit
word and its lemma: ``troop`` finds "troops"), ``kind`` (``count``,
``money``, ``percent``), ``currency``, ``context_any`` / ``context_none``
(words or names in the figure's sentence), ``sentence_regex`` /
``exclude_regex``, ``modifiers_any`` / ``modifiers_none`` (words modifying
the unit, "US troops"), ``min_value`` / ``max_value``, ``implied_unit``
(whether "... and another 2,000" counts; such a figure takes the
modifiers of the figure it continues) and ``ranges``: ``precise`` (the
default) tracks points and ranges whose high end is at most twice the low
one ("120,000 to 130,000") and ignores vaguer ones ("tens of thousands");
``compare`` tracks every range; ``ignore`` only points. Selected figures are
tracked per ``query_key`` (``none``: one value per rule; ``story``,
``source`` or ``unit``). It alerts when the value is first reported (with
``alert_on_first``), when it differs from the last value alerted by at
least ``change_abs`` or ``change_rel`` (a fraction: 0.1 is 10 %; with
neither, any change), or when it crosses ``threshold`` in ``direction``
(``above``/``below``), re-armed once it has gone back past the threshold by
``hysteresis`` (a fraction of the threshold). A value already alerted for a
key never alerts again, so outlets flipping between two numbers do not
flap. A range overlapping the last value is no change; otherwise the change
is measured to its nearest edge.

``frequency``: at least ``num_events`` articles (or ``num_sources``
distinct sources) in scope within ``timeframe``; the count starts over
after an alert.

``spike``: the count in the current ``timeframe`` is at least
``spike_height`` times the count in the ``timeframe`` before it, with at
least ``threshold_cur`` articles now and ``threshold_ref`` before; with no
articles before, only if ``alert_on_new_data``. Windows are counted in
sixtieths of ``timeframe`` and it starts judging after two full windows.

``flatline``: fewer than ``threshold`` articles in scope within
``timeframe`` (after one full ``timeframe`` of watching). With
``query_key = "source"`` each source seen is watched on its own and
forgotten after ``forget_keys`` without articles.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, field_validator, model_validator

from ..section import Section as _Section

__all__ = [
    "FigureRule",
    "FlatlineRule",
    "FrequencyRule",
    "NewTermRule",
    "RuleConfig",
    "RulesConfig",
    "Scope",
    "ScopeMatch",
    "SpikeRule",
    "TermRule",
    "format_duration",
    "parse_duration",
]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_DURATION = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*[smhdw])+\s*")


def parse_duration(value: Any) -> Any:
    """``"30d"``, ``"1h30m"``, ``"45s"`` or seconds as a number, to a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '10m', '2h' or '30d'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("0", ""):
            return timedelta(0)
        if _DURATION.fullmatch(text):
            seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(text))
            return timedelta(seconds=seconds)
        raise ValueError(f"bad duration {value!r}: use e.g. '45s', '10m', '2h', '30d', '1h30m'")
    raise ValueError("expected a duration such as '10m', '2h' or '30d'")


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration, for messages: ``"1h30m"``."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
NonBlank = Annotated[str, Field(min_length=1, pattern=r"\S")]
RuleName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.\-]*$")]
Severity = Literal["info", "warning", "critical"]


def _compiles(pattern: str | None) -> str | None:
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
    return pattern


def _positive(d: timedelta, what: str) -> timedelta:
    if d <= timedelta(0):
        raise ValueError(f"{what} must be longer than 0s")
    return d


class RulesConfig(_Section):
    """The main config's ``[rules]`` section: where rules live and how they reload.

    ``reload_poll_interval`` is how often the folder is checked for edits; a
    change is applied once it has stood still for one interval, so a fix is
    live within two intervals (1 s by default).
    """

    enabled: bool = True
    dir: Path = Path("config/rules")
    default_destinations: list[NonBlank] = Field(default_factory=lambda: ["console"])
    reload_poll_interval: Annotated[float, Field(gt=0, le=10)] = 0.5
    tick_interval: Annotated[float, Field(gt=0, le=60)] = 2.0


class ScopeMatch(_Section):
    """Terms, source globs and path globs, under ``any``, ``all`` or ``none``."""

    terms: list[NonBlank] = Field(default_factory=list)
    sources: list[NonBlank] = Field(default_factory=list)
    paths: list[NonBlank] = Field(default_factory=list)


class Scope(_Section):
    """Which articles a rule looks at; every condition given must hold."""

    any: ScopeMatch = Field(default_factory=ScopeMatch)
    all: ScopeMatch = Field(default_factory=ScopeMatch)
    none: ScopeMatch = Field(default_factory=ScopeMatch)
    min_sources: Annotated[int, Field(ge=1)] = 1


class _RuleBase(_Section):
    name: RuleName
    description: str = ""
    enabled: bool = True
    severity: Severity = "warning"
    destinations: list[NonBlank] | None = None
    title: str | None = None
    message: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    scope: Scope = Field(default_factory=Scope)
    aliases: dict[str, list[NonBlank]] = Field(default_factory=dict)
    realert: Duration = timedelta(0)
    exponential_realert: Duration | None = None
    group_wait: Duration = timedelta(0)

    @model_validator(mode="after")
    def _exponential_needs_realert(self) -> Self:
        if self.exponential_realert is not None and self.realert <= timedelta(0):
            raise ValueError("exponential_realert needs a realert longer than 0s")
        return self


class TermRule(_RuleBase):
    """Alert when an article in scope mentions any of ``terms``."""

    type: Literal["term"]
    terms: Annotated[list[NonBlank], Field(min_length=1)]
    min_mentions: Annotated[int, Field(ge=1)] = 1
    query_key: Literal["story", "article"] = "story"


class NewTermRule(_RuleBase):
    """Alert when a term shows up in scope for the first time within ``baseline``."""

    type: Literal["new_term"]
    terms: list[NonBlank] = Field(default_factory=list)
    names: bool = False
    min_mentions: Annotated[int, Field(ge=1)] = 1
    baseline: Duration = timedelta(days=30)

    @model_validator(mode="after")
    def _something_to_watch(self) -> Self:
        if not self.terms and not self.names:
            raise ValueError("give terms, or names = true, or both")
        _positive(self.baseline, "baseline")
        return self


class FigureRule(_RuleBase):
    """Track one reported quantity per key; alert on first report, change, threshold."""

    type: Literal["figure"]
    units: Annotated[list[NonBlank], Field(min_length=1)]
    kind: Literal["count", "money", "percent"] | None = None
    currency: str | None = None
    context_any: list[NonBlank] = Field(default_factory=list)
    context_none: list[NonBlank] = Field(default_factory=list)
    sentence_regex: str | None = None
    exclude_regex: str | None = None
    modifiers_any: list[NonBlank] = Field(default_factory=list)
    modifiers_none: list[NonBlank] = Field(default_factory=list)
    implied_unit: bool = True
    min_value: float | None = None
    max_value: float | None = None
    ranges: Literal["precise", "compare", "ignore"] = "precise"
    query_key: Literal["none", "story", "source", "unit"] = "none"
    alert_on_first: bool = False
    change_abs: Annotated[float, Field(gt=0)] | None = None
    change_rel: Annotated[float, Field(gt=0)] | None = None
    threshold: float | None = None
    direction: Literal["above", "below"] = "above"
    hysteresis: Annotated[float, Field(ge=0, lt=1)] = 0.0
    remember: Annotated[int, Field(ge=1, le=10_000)] = 200

    @field_validator("sentence_regex", "exclude_regex")
    @classmethod
    def _regexes(cls, pattern: str | None) -> str | None:
        return _compiles(pattern)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError("min_value is larger than max_value")
        return self

    @property
    def alerts_on_change(self) -> bool:
        """Changes alert when a delta is set, or when no threshold is."""
        return self.change_abs is not None or self.change_rel is not None or self.threshold is None


class FrequencyRule(_RuleBase):
    """At least ``num_events`` articles (or ``num_sources`` sources) within ``timeframe``."""

    type: Literal["frequency"]
    timeframe: Duration
    num_events: Annotated[int, Field(ge=1)] | None = None
    num_sources: Annotated[int, Field(ge=1)] | None = None
    query_key: Literal["none", "source", "story"] = "none"

    @model_validator(mode="after")
    def _one_count(self) -> Self:
        if (self.num_events is None) == (self.num_sources is None):
            raise ValueError("give exactly one of num_events and num_sources")
        _positive(self.timeframe, "timeframe")
        return self


class SpikeRule(_RuleBase):
    """The current window's count is ``spike_height`` times the previous window's."""

    type: Literal["spike"]
    timeframe: Duration
    spike_height: Annotated[float, Field(gt=1)]
    threshold_cur: Annotated[int, Field(ge=1)] = 1
    threshold_ref: Annotated[int, Field(ge=0)] = 0
    alert_on_new_data: bool = False
    query_key: Literal["none", "source", "story"] = "none"

    @model_validator(mode="after")
    def _window(self) -> Self:
        _positive(self.timeframe, "timeframe")
        return self


class FlatlineRule(_RuleBase):
    """Fewer than ``threshold`` articles in scope within ``timeframe``."""

    type: Literal["flatline"]
    timeframe: Duration
    threshold: Annotated[int, Field(ge=1)] = 1
    query_key: Literal["none", "source"] = "none"
    forget_keys: Duration = timedelta(days=7)

    @model_validator(mode="after")
    def _window(self) -> Self:
        _positive(self.timeframe, "timeframe")
        return self


RuleConfig = Annotated[
    TermRule | NewTermRule | FigureRule | FrequencyRule | SpikeRule | FlatlineRule,
    Field(discriminator="type"),
]
"""One rule of any type, told apart by its ``type`` key."""

AnyRule = TermRule | NewTermRule | FigureRule | FrequencyRule | SpikeRule | FlatlineRule
RULE_TYPES = ("term", "new_term", "figure", "frequency", "spike", "flatline")
