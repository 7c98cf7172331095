"""The rule types: small classes fed facts and a clock, holding no state of their own.

Modelled on ElastAlert2's ``ruletypes.py`` (a type is fed data and says
what matches), with one difference its users asked for: state is not kept
on the object but in a :class:`RuleState` the engine loads from and saves
to the database, in the transaction of the article that changed it. So a
restart neither re-fires old alerts nor forgets what was seen, and a type
is a pure function of (facts, state, now), tested with values alone.

Each type has up to five parts:

* ``observe(facts, state, now)``: an article in scope arrived; update what
  the type tracks and return the :class:`Firing`\\ s it would raise;
* ``fired(firing, state, now)``: the engine accepted a firing (sent or
  silenced it); remember it (last value alerted, window cleared, ...).
  A firing dropped by a cooldown is not remembered, so it can come back;
* ``tick(state, now)``: time passed (flatline);
* ``activate(state, now)``: the rule is new or was reset (warm-ups start);
* ``garbage_collect(state, now)``: drop what no window can need any more.

``tracking()`` names what the state is *about* (units and selectors for a
figure, the scope for a window): when it changes, old state is meaningless
and the engine resets it; otherwise a rule can be re-worded, re-routed or
re-thresholded without forgetting anything.
"""

from __future__ import annotations

import builtins
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from ..models import Figure
from .config import (
    AnyRule,
    FigureRule,
    FlatlineRule,
    FrequencyRule,
    NewTermRule,
    SpikeRule,
    TermRule,
    format_duration,
)
from .facts import ArticleFacts, norm
from .render import format_value

__all__ = [
    "FigureType",
    "Firing",
    "FlatlineType",
    "FrequencyType",
    "NewTermType",
    "RuleState",
    "RuleType",
    "SpikeType",
    "TermType",
    "build_type",
    "next_alert_time",
]

State = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Firing:
    """A rule's claim that something is worth an alert.

    ``key`` is what the rule tracks separately (a term, a story, a source;
    ``""`` for the rule as a whole) and ``value`` what happened to it; the
    fingerprint (rule, key, value) is what makes the same alert never fire
    twice. ``fields`` feed the rule's templates; ``memo`` is what the type
    needs back in :meth:`RuleType.fired`.
    """

    key: str
    value: str
    reason: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    facts: ArticleFacts | None = None
    old_value: str | None = None
    new_value: str | None = None
    sentence: str | None = None
    sources: tuple[str, ...] | None = None
    memo: Mapping[str, Any] = field(default_factory=dict)
    repeat: bool = False
    """Another report of something already alerted: never an alert of its
    own, but its source is added to the alert if that is still held back
    by ``group_wait``."""


class RuleState:
    """One rule's state: a JSON-able dict per key, with the keys that changed.

    Types must call :meth:`set` (or :meth:`delete`) for every change, since
    only changed keys are written back.
    """

    __slots__ = ("deleted", "dirty", "rows")

    def __init__(self, rows: Mapping[str, State] | None = None) -> None:
        self.rows: dict[str, State] = dict(rows or {})
        self.dirty: set[str] = set()
        self.deleted: set[str] = set()

    def get(self, key: str) -> State | None:
        return self.rows.get(key)

    def set(self, key: str, value: State) -> None:
        self.rows[key] = value
        self.dirty.add(key)
        self.deleted.discard(key)

    def delete(self, key: str) -> None:
        if key in self.rows:
            del self.rows[key]
            self.deleted.add(key)
        self.dirty.discard(key)

    def snapshot(self) -> list[str]:
        """The keys, as a list that stays valid while keys are deleted."""
        return list(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def take_changes(self) -> tuple[dict[str, State], builtins.set[str]]:
        """The changed rows and deleted keys since the last call."""
        upserts = {k: self.rows[k] for k in self.dirty}
        deleted = self.deleted
        self.dirty = set()
        self.deleted = set()
        return upserts, deleted


def _ts(dt: datetime) -> float:
    return dt.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _spellings(
    terms: Iterable[str], aliases: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """Each term's normalised spellings: itself and its aliases."""
    folded_aliases = {norm(k): v for k, v in aliases.items()}
    out: dict[str, tuple[str, ...]] = {}
    for term in terms:
        key = norm(term)
        forms = [key, *(norm(a) for a in folded_aliases.get(key, ()))]
        out[key] = tuple(dict.fromkeys(forms))
    return out


def _query_key(kind: str, facts: ArticleFacts) -> str:
    if kind == "story":
        return f"story:{facts.story.id}" if facts.story else f"article:{facts.article_id}"
    if kind == "article":
        return f"article:{facts.article_id}"
    if kind == "source":
        return facts.source_key
    return ""


class RuleType(ABC):
    """What every rule type offers the engine."""

    type_name: ClassVar[str]
    ticks: ClassVar[bool] = False
    """Whether :meth:`tick` can fire (the engine only ticks such types)."""

    def __init__(self, config: AnyRule) -> None:
        self.config = config

    @abstractmethod
    def observe(self, facts: ArticleFacts, state: RuleState, now: datetime) -> list[Firing]:
        """An article in scope arrived."""

    def fired(self, firing: Firing, state: RuleState, now: datetime) -> None:  # noqa: B027
        """The engine sent (or silenced) ``firing``."""

    def tick(self, state: RuleState, now: datetime) -> list[Firing]:
        """Time passed; only types with ``ticks`` fire here."""
        return []

    def activate(self, state: RuleState, now: datetime) -> None:  # noqa: B027
        """The rule is new or its state was reset."""

    def garbage_collect(self, state: RuleState, now: datetime) -> None:  # noqa: B027
        """Drop state that no window or baseline can need any more."""

    def spellings(self) -> set[str]:
        """Terms the rule set's matcher must find in article text."""
        return set()

    @abstractmethod
    def tracking(self) -> dict[str, Any]:
        """What the state is about; a change resets it."""


# -- term -----------------------------------------------------------------------


class TermType(RuleType):
    """An article in scope mentions any of the terms (ElastAlert's ``any``/``blacklist``).

    One firing per article, keyed by story (or article), valued by the set
    of terms: a second copy of the story mentioning the same terms is the
    same fingerprint and stays quiet; a copy adding a term is a change.
    """

    type_name = "term"

    def __init__(self, config: TermRule) -> None:
        super().__init__(config)
        self.cfg = config
        self.terms = _spellings(config.terms, config.aliases)
        self.names = {norm(t): t for t in config.terms}

    def observe(self, facts: ArticleFacts, state: RuleState, now: datetime) -> list[Firing]:
        hits: dict[str, int] = {}
        counts = facts.terms
        for term, forms in self.terms.items():
            n = counts.get(term, 0)
            for alias in forms[1:]:
                n += counts.get(alias, 0)
            if n >= self.cfg.min_mentions:
                hits[term] = n
        if not hits:
            return []
        names = [self.names[t] for t in hits]
        return [
            Firing(
                key=_query_key(self.cfg.query_key, facts),
                value="|".join(sorted(hits)),
                reason="match",
                fields={
                    "terms": names,
                    "counts": [f"{self.names[t]} ×{n}" for t, n in hits.items()],
                },
                facts=facts,
                new_value=", ".join(names),
            )
        ]

    def spellings(self) -> set[str]:
        return {f for forms in self.terms.values() for f in forms}

    def tracking(self) -> dict[str, Any]:
        return {"type": self.type_name, "query_key": self.cfg.query_key}


# -- new_term -------------------------------------------------------------------


class NewTermType(RuleType):
    """A term seen in scope for the first time within the baseline window.

    State per term: when it was first and last seen. A term not seen for a
    whole baseline is new again (and garbage-collected meanwhile). ``last``
    is refreshed at most hourly, so a popular term does not rewrite its row
    with every article.
    """

    type_name = "new_term"

    def __init__(self, config: NewTermRule) -> None:
        super().__init__(config)
        self.cfg = config
        self.terms = _spellings(config.terms, config.aliases)
        self.names = {norm(t): t for t in config.terms}
        self.baseline = config.baseline.total_seconds()
        self.refresh = min(3600.0, self.baseline / 10)

    def _candidates(self, facts: ArticleFacts) -> list[tuple[str, str, int]]:
        out: list[tuple[str, str, int]] = []
        counts = facts.terms
        for term, forms in self.terms.items():
            n = counts.get(term, 0)
            for alias in forms[1:]:
                n += counts.get(alias, 0)
            if n >= self.cfg.min_mentions:
                out.append((term, self.names[term], n))
        if self.cfg.names:
            taken = {t for t, _, _ in out}
            for name, n in facts.names.items():
                key = norm(name)
                if n >= self.cfg.min_mentions and key not in taken:
                    taken.add(key)
                    out.append((key, name, n))
        return out

    def observe(self, facts: ArticleFacts, state: RuleState, now: datetime) -> list[Firing]:
        t = _ts(now)
        firings = []
        for key, name, count in self._candidates(facts):
            row = state.get(key)
            if row is None or t - row["last"] > self.baseline:
                state.set(key, {"first": t, "last": t, "name": name})
                firings.append(
                    Firing(
                        key=key,
                        value=_iso(t),
                        reason="new_term",
                        fields={
                            "term": name,
                            "count": count,
                            "baseline": format_duration(self.cfg.baseline),
                        },
                        facts=facts,
                        new_value=name,
                    )
                )
            else:
                if t - row["last"] >= self.refresh:
                    state.set(key, {**row, "last": t})
                firings.append(
                    Firing(
                        key=key,
                        value=_iso(row["first"]),
                        reason="new_term",
                        facts=facts,
                        repeat=True,
                    )
                )
        return firings

    def garbage_collect(self, state: RuleState, now: datetime) -> None:
        t = _ts(now)
        for key in state.snapshot():
            row = state.get(key)
            if row is not None and t - row["last"] > self.baseline:
                state.delete(key)

    def spellings(self) -> set[str]:
        return {f for forms in self.terms.values() for f in forms}

    def tracking(self) -> dict[str, Any]:
        # The term list is not part of it: state is per term, so adding or
        # removing a term leaves what is known about the others valid.
        return {"type": self.type_name, "names": self.cfg.names}


# -- figure ---------------------------------------------------------------------


def _unit_forms(unit: str) -> set[str]:
    """``troops`` → {troops, troop}; ``soldier`` → {soldier}: plural or lemma alike."""
    u = unit.casefold().strip()
    forms = {u}
    if u.endswith("ies") and len(u) > 4:
        forms.add(u[:-3] + "y")
    elif u.endswith("s") and not u.endswith("ss") and len(u) > 3:
        forms.add(u[:-1])
    return forms


def _modifier(word: str) -> str:
    """Modifiers compare without case or dots, so "U.S." is "US"."""
    return word.replace(".", "").casefold()


def _words_regex(words: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive whole-word pattern for any of ``words``."""
    if not words:
        return None
    alternatives = "|".join(
        r"\s+".join(re.escape(part) for part in w.split())
        for w in sorted(words, key=len, reverse=True)
    )
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _gap(last: Sequence[float], new: Sequence[float]) -> tuple[float, float]:
    """The signed distance between two values and the edge it is measured from.

    Overlapping values (a range containing the other value, two equal
    points) are no change at all; otherwise the change runs between the
    nearest edges, so "tens of thousands" against 100,000 is a change of 1,
    not of 40,000.
    """
    l1, h1 = last
    l2, h2 = new
    if l2 > h1:
        return l2 - h1, h1
    if h2 < l1:
        return h2 - l1, l1
    return 0.0, h1


def _vid(low: float, high: float) -> str:
    return f"{low:.10g}" if low == high else f"{low:.10g}-{high:.10g}"


class FigureType(RuleType):
    """One reported quantity, tracked per key.

    State per key: the last value alerted (or the silent baseline), every
    value ever alerted (the last ``remember`` of them) and, for thresholds,
    whether the alarm is armed. Within one article at most one firing per
    key: the first figure, in text order, that qualifies.
    """

    type_name = "figure"

    def __init__(self, config: FigureRule) -> None:
        super().__init__(config)
        self.cfg = config
        self.units = frozenset(f for u in config.units for f in _unit_forms(u))
        self.mods_any = frozenset(_modifier(m) for m in config.modifiers_any)
        self.mods_none = frozenset(_modifier(m) for m in config.modifiers_none)
        self.context_any = _words_regex(config.context_any)
        self.context_none = _words_regex(config.context_none)
        self.sentence_re = (
            re.compile(config.sentence_regex, re.IGNORECASE) if config.sentence_regex else None
        )
        self.exclude_re = (
            re.compile(config.exclude_regex, re.IGNORECASE) if config.exclude_regex else None
        )

    def selects(self, f: Figure) -> bool:
        """Whether the rule tracks this figure at all."""
        c = self.cfg
        if f.unit_lemma.casefold() not in self.units and f.unit.casefold() not in self.units:
            return False
        if c.kind is not None and f.kind != c.kind:
            return False
        if c.currency is not None and (f.currency or "").upper() != c.currency.upper():
            return False
        if f.implied_unit and not c.implied_unit:
            return False
        if f.is_range and (c.ranges == "ignore" or (c.ranges == "precise" and f.high > 2 * f.low)):
            return False
        if c.min_value is not None and f.high < c.min_value:
            return False
        if c.max_value is not None and f.low > c.max_value:
            return False
        if self.mods_any or self.mods_none:
            mods = {_modifier(m) for m in f.modifiers}
            if self.mods_none & mods:
                return False
            if self.mods_any and not self.mods_any & mods:
                return False
        if self.context_any is not None and not self.context_any.search(f.sentence):
            return False
        if self.context_none is not None and self.context_none.search(f.sentence):
            return False
        if self.sentence_re is not None and not self.sentence_re.search(f.sentence):
            return False
        return not (self.exclude_re is not None and self.exclude_re.search(f.sentence))

    def _key(self, facts: ArticleFacts, f: Figure) -> str:
        if self.cfg.query_key == "unit":
            return f.unit_lemma.casefold()
        return _query_key(self.cfg.query_key, facts)

    def _crossed(self, low: float, high: float) -> bool:
        assert self.cfg.threshold is not None
        if self.cfg.direction == "above":
            return low >= self.cfg.threshold
        return high <= self.cfg.threshold

    def _rearmed(self, low: float, high: float) -> bool:
        assert self.cfg.threshold is not None
        margin = abs(self.cfg.threshold) * self.cfg.hysteresis
        if self.cfg.direction == "above":
            return high < self.cfg.threshold - margin
        return low > self.cfg.threshold + margin

    def _changed(self, last: Sequence[float], new: Sequence[float]) -> bool:
        delta, edge = _gap(last, new)
        if delta == 0:
            return False
        c = self.cfg
        if c.change_abs is None and c.change_rel is None:
            return True
        if c.change_abs is not None and abs(delta) >= c.change_abs:
            return True
        rel = math.inf if edge == 0 else abs(delta) / abs(edge)
        return c.change_rel is not None and rel >= c.change_rel * (1 - 1e-9)

    def _text(self, f: Figure) -> str:
        value = format_value(f.low, f.high, f.kind, f.currency)
        qualifier = f.qualifier.strip().lower() if f.qualifier_kind != "exact" else ""
        return f"{qualifier} {value}" if qualifier else value

    def _firing(self, key: str, reason: str, st: State, f: Figure, facts: ArticleFacts) -> Firing:
        new_plain = format_value(f.low, f.high, f.kind, f.currency)
        last = st.get("last")
        old_plain = format_value(last[0], last[1], f.kind, f.currency) if last else None
        change = f"{old_plain} → {new_plain}" if old_plain else new_plain
        delta_text = percent = ""
        if last:
            delta, _ = _gap(last, (f.low, f.high))
            delta_text = ("+" if delta > 0 else "−") + format_value(abs(delta), abs(delta))
            old_mid = (last[0] + last[1]) / 2
            if old_mid:
                pct = (f.value - old_mid) / abs(old_mid) * 100
                percent = f"{'+' if pct >= 0 else '−'}{abs(pct):.0f}%"
        threshold = self.cfg.threshold
        return Firing(
            key=key,
            value=_vid(f.low, f.high),
            reason=reason,
            fields={
                "figure": {
                    "text": f.text,
                    "low": f.low,
                    "high": f.high,
                    "qualifier": f.qualifier,
                    "unit": f.unit,
                    "unit_lemma": f.unit_lemma,
                    "modifiers": list(f.modifiers),
                    "kind": f.kind,
                    "currency": f.currency,
                },
                "unit": f.unit,
                "new_text": self._text(f),
                "old_text": st.get("last_text"),
                "change": change,
                "delta": delta_text,
                "percent": percent,
                "threshold": threshold,
                "threshold_text": (
                    format_value(threshold, threshold, f.kind, f.currency)
                    if threshold is not None
                    else ""
                ),
                "direction": self.cfg.direction,
            },
            facts=facts,
            old_value=old_plain,
            new_value=new_plain,
            sentence=f.sentence,
            memo={"low": f.low, "high": f.high, "text": self._text(f)},
        )

    def observe(self, facts: ArticleFacts, state: RuleState, now: datetime) -> list[Firing]:
        groups: dict[str, list[Figure]] = {}
        for f in facts.figures:
            if self.selects(f):
                groups.setdefault(self._key(facts, f), []).append(f)
        firings = []
        for key, figures in groups.items():
            old = state.get(key)
            st: State = (
                {**old, "alerted": list(old["alerted"])}
                if old
                else {"alerted": [], "armed": True, "last": None, "last_text": None}
            )
            firing = None
            for f in figures:
                firing = self._judge(key, st, f, facts)
                if firing is not None:
                    break
            if st != old:
                state.set(key, st)
            if firing is None and st["last"] is not None:
                last = _vid(*st["last"])
                if any(_vid(f.low, f.high) == last for f in figures):
                    firing = Firing(key=key, value=last, reason="repeat", facts=facts, repeat=True)
            if firing is not None:
                firings.append(firing)
        return firings

    def _judge(self, key: str, st: State, f: Figure, facts: ArticleFacts) -> Firing | None:
        low, high = f.low, f.high
        threshold = self.cfg.threshold is not None
        if threshold and not st["armed"] and self._rearmed(low, high):
            st["armed"] = True
        if _vid(low, high) in st["alerted"]:
            return None
        if threshold and st["armed"] and self._crossed(low, high):
            return self._firing(key, "threshold", st, f, facts)
        if st["last"] is None:
            if self.cfg.alert_on_first:
                return self._firing(key, "first", st, f, facts)
            # Without a first-report alert, the first value is the silent
            # reference that changes are measured from.
            self._remember(st, low, high, self._text(f))
            return None
        if self.cfg.alerts_on_change and self._changed(st["last"], (low, high)):
            return self._firing(key, "change", st, f, facts)
        return None

    def _remember(self, st: State, low: float, high: float, text: str) -> None:
        st["last"] = [low, high]
        st["last_text"] = text
        vid = _vid(low, high)
        if vid not in st["alerted"]:
            st["alerted"].append(vid)
            del st["alerted"][: -self.cfg.remember]

    def fired(self, firing: Firing, state: RuleState, now: datetime) -> None:
        old = state.get(firing.key)
        st: State = (
            {**old, "alerted": list(old["alerted"])}
            if old
            else {"alerted": [], "armed": True, "last": None, "last_text": None}
        )
        m = firing.memo
        self._remember(st, m["low"], m["high"], m["text"])
        if firing.reason == "threshold":
            st["armed"] = False
        state.set(firing.key, st)

    def tracking(self) -> dict[str, Any]:
        c = self.cfg
        return {
            "type": self.type_name,
            "units": sorted(self.units),
            "kind": c.kind,
            "currency": c.currency,
            "context_any": sorted(norm(x) for x in c.context_any),
            "context_none": sorted(norm(x) for x in c.context_none),
            "sentence_regex": c.sentence_regex,
            "exclude_regex": c.exclude_regex,
            "modifiers_any": sorted(self.mods_any),
            "modifiers_none": sorted(self.mods_none),
            "implied_unit": c.implied_unit,
            "ranges": c.ranges,
            "query_key": c.query_key,
        }


# -- windows ----------------------------------------------------------------------


class FrequencyType(RuleType):
    """At least N articles (or N distinct sources) in scope within the timeframe.

    State per key: the recent events, at most N of them (more can never be
    needed to reach N). After an alert the count starts over, as in
    ElastAlert, so a steady stream alerts once per N articles at most.
    """

    type_name = "frequency"

    def __init__(self, config: FrequencyRule) -> None:
        super().__init__(config)
        self.cfg = config
        self.window = config.timeframe.total_seconds()

    def observe(self, facts: ArticleFacts, state: RuleState, now: datetime) -> list[Firing]:
        t = _ts(now)
        key = _query_key(self.cfg.query_key, facts)
        row = state.get(key)
        events = [e for e in (row["events"] if row else []) if e[0] > t - self.window]
        events.append([t, facts.source_key])
        if self.cfg.num_events is not None:
            events = events[-self.cfg.num_events :]
            count = len(events)
            needed = self.cfg.num_events
        else:
            latest: dict[str, list[Any]] = {}
            for e in events:
                latest.pop(e[1], None)
                latest[e[1]] = e
            events = list(latest.values())
            count = len(events)
            needed = self.cfg.num_sources or 1
        state.set(key, {"events": events})
        if count < needed:
            return []
        sources = tuple(dict.fromkeys(e[1] for e in events if e[1]))
        return [
            Firing(
                key=key,
                value=_iso(t),
                reason="frequency",
                fields={
                    "count": count,
                    "timeframe": format_duration(self.cfg.timeframe),
                    "num_events": self.cfg.num_events,
                    "num_sources": self.cfg.num_sources,
                },
                facts=facts,
                new_value=str(count),
                sources=sources,
            )
        ]

    def fired(self, firing: Firing, state: RuleState, now: datetime) -> None:
        state.set(firing.key, {"events": []})

    def garbage_collect(self, state: RuleState, now: datetime) -> None:
        t = _ts(now)
        for key in state.snapshot():
            row = state.get(key) or {"events": []}
            events = [e for e in row["events"] if e[0] > t - self.window]
            if not events:
                state.delete(key)
            elif len(events) != len(row["events"]):
                state.set(key, {"events": events})

    def tracking(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "query_key": self.cfg.query_key,
            "counts": "events" if self.cfg.num_events is not None else "sources",
            "scope": self.cfg.scope.model_dump(mode="json"),
        }


SPIKE_BUCKETS = 60
"""Buckets per window: counts are exact to a sixtieth of the timeframe."""


class SpikeType(RuleType):
    """The current window's count is ``spike_height`` times the reference window's.

    Two adjacent windows of ``timeframe``, counted in buckets of a sixtieth
    of it so the state stays small however busy the feed. Judged only
    after two full windows of watching (before that the reference window is
    not a reference), and alerts once per spike: it must subside before it
    can alert again.
    """

    type_name = "spike"

    def __init__(self, config: SpikeRule) -> None:
        super().__init__(config)
        self.cfg = config
        self.window = config.timeframe.total_seconds()
        self.bucket = self.window / SPIKE_BUCKETS

    def _new(self, t: float) -> State:
        return {"started": t, "buckets": [], "alerting": False}

    def activate(self, state: RuleState, now: datetime) -> None:
        if self.cfg.query_key == "none" and state.get("") is None:
            state.set("", self._new(_ts(now)))

    def counts(self, row: State, t: float) -> tuple[int, int]:
        """(current, reference) counts at time ``t``."""
        idx = math.floor(t / self.bucket)
        cur = sum(c for i, c in row["buckets"] if idx - SPIKE_BUCKETS < i <= idx)
        ref = sum(
            c for i, c in row["buckets"] if idx - 2 * SPIKE_BUCKETS < i <= idx - SPIKE_BUCKETS
        )
        return cur, ref

    def observe(self, facts: ArticleFacts, state: RuleState, now: datetime) -> list[Firing]:
        t = _ts(now)
        key = _query_key(self.cfg.query_key, facts)
        old = state.get(key)
        row: State = dict(old) if old else self._new(t)
        idx = math.floor(t / self.bucket)
        buckets = [[i, c] for i, c in row["buckets"] if i > idx - 2 * SPIKE_BUCKETS]
        if buckets and buckets[-1][0] == idx:
            buckets[-1][1] += 1
        else:
            buckets.append([idx, 1])
        row["buckets"] = buckets
        cur, ref = self.counts(row, t)
        c = self.cfg
        spiking = (
            t - row["started"] >= 2 * self.window
            and cur >= c.threshold_cur
            and ref >= c.threshold_ref
            and (cur >= c.spike_height * ref if ref > 0 else c.alert_on_new_data)
        )
        if not spiking:
            row["alerting"] = False
        state.set(key, row)
        if not spiking or row["alerting"]:
            return []
        return [
            Firing(
                key=key,
                value=_iso(t),
                reason="spike",
                fields={
                    "current": cur,
                    "reference": ref,
                    "timeframe": format_duration(c.timeframe),
                    "spike_height": c.spike_height,
                },
                facts=facts,
                old_value=str(ref),
                new_value=str(cur),
            )
        ]

    def fired(self, firing: Firing, state: RuleState, now: datetime) -> None:
        row = state.get(firing.key)
        if row is not None:
            state.set(firing.key, {**row, "alerting": True})

    def garbage_collect(self, state: RuleState, now: datetime) -> None:
        t = _ts(now)
        idx = math.floor(t / self.bucket)
        for key in state.snapshot():
            row = state.get(key)
            if row is None:
                continue
            buckets = [b for b in row["buckets"] if b[0] > idx - 2 * SPIKE_BUCKETS]
            if not buckets and key != "":
                state.delete(key)
            elif len(buckets) != len(row["buckets"]):
                state.set(key, {**row, "buckets": buckets})

    def tracking(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "query_key": self.cfg.query_key,
            "timeframe": self.window,
            "scope": self.cfg.scope.model_dump(mode="json"),
        }


class FlatlineType(RuleType):
    """Fewer than ``threshold`` articles in scope within ``timeframe``: a dead feed.

    Articles only feed the window; the clock (``tick``) decides. It judges
    only after one full timeframe of watching, alerts once per quiet spell,
    and is ready again as soon as articles flow. Keyed by source, it watches
    every source it has seen and forgets one silent for ``forget_keys``.
    """

    type_name = "flatline"
    ticks = True

    def __init__(self, config: FlatlineRule) -> None:
        super().__init__(config)
        self.cfg = config
        self.window = config.timeframe.total_seconds()

    def _new(self, t: float) -> State:
        return {"started": t, "events": [], "alerting": False, "last": None}

    def activate(self, state: RuleState, now: datetime) -> None:
        if self.cfg.query_key == "none" and state.get("") is None:
            state.set("", self._new(_ts(now)))

    def _count(self, row: State, t: float) -> int:
        return sum(1 for e in row["events"] if t - self.window < e <= t)

    def observe(self, facts: ArticleFacts, state: RuleState, now: datetime) -> list[Firing]:
        t = _ts(now)
        key = _query_key(self.cfg.query_key, facts)
        old = state.get(key)
        row: State = dict(old) if old else self._new(t)
        events = [e for e in row["events"] if e > t - self.window]
        events.append(t)
        row["events"] = events[-self.cfg.threshold :]
        row["last"] = t
        if self._count(row, t) >= self.cfg.threshold:
            row["alerting"] = False
        state.set(key, row)
        return []

    def tick(self, state: RuleState, now: datetime) -> list[Firing]:
        t = _ts(now)
        firings = []
        for key in state.snapshot():
            row = state.get(key)
            if row is None or row["alerting"] or t - row["started"] < self.window:
                continue
            count = self._count(row, t)
            if count >= self.cfg.threshold:
                continue
            firings.append(
                Firing(
                    key=key,
                    value=_iso(t),
                    reason="flatline",
                    fields={
                        "count": count,
                        "timeframe": format_duration(self.cfg.timeframe),
                        "threshold": self.cfg.threshold,
                    },
                    old_value=str(self.cfg.threshold),
                    new_value=str(count),
                    sources=(key,) if key else (),
                )
            )
        return firings

    def fired(self, firing: Firing, state: RuleState, now: datetime) -> None:
        row = state.get(firing.key)
        if row is not None:
            state.set(firing.key, {**row, "alerting": True})

    def garbage_collect(self, state: RuleState, now: datetime) -> None:
        t = _ts(now)
        forget = self.cfg.forget_keys.total_seconds()
        for key in state.snapshot():
            row = state.get(key)
            if row is None or key == "":
                continue
            last = row["last"] if row["last"] is not None else row["started"]
            if t - last > forget:
                state.delete(key)

    def tracking(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "query_key": self.cfg.query_key,
            "scope": self.cfg.scope.model_dump(mode="json"),
        }


_TYPES: dict[str, type[RuleType]] = {
    "term": TermType,
    "new_term": NewTermType,
    "figure": FigureType,
    "frequency": FrequencyType,
    "spike": SpikeType,
    "flatline": FlatlineType,
}


def build_type(config: AnyRule) -> RuleType:
    """The rule type object for a validated rule."""
    return _TYPES[config.type](config)


# -- cooldowns --------------------------------------------------------------------


def next_alert_time(
    previous: State | None,
    now: datetime,
    realert: timedelta,
    exponential: timedelta | None,
) -> tuple[datetime, int]:
    """When a key may alert again after alerting ``now``, and the new exponent.

    ElastAlert's rule: a key that alerts again sooner than its last cooldown
    doubled doubles its cooldown (up to ``exponential``); one that stays quiet
    longer earns the doubling back, one step per cooldown it stayed quiet.
    """
    if previous is None or exponential is None:
        return now + realert, 0
    last_until = datetime.fromisoformat(previous["until"])
    exponent = int(previous.get("exponent", 0))
    diff = (now - last_until).total_seconds()
    base = realert.total_seconds()
    if diff < base * 2**exponent:
        exponent += 1
    else:
        exponent = max(0, exponent - int(diff / base / 2**exponent))
    wait = timedelta(seconds=base * 2**exponent)
    if wait >= exponential:
        return now + exponential, exponent - 1
    return now + wait, exponent
