"""Each rule type alone: synthetic facts, a fake clock, state as a plain value."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from wirewatch.models import Article, Figure, Mention
from wirewatch.rules.config import AnyRule, RuleConfig
from wirewatch.rules.facts import ArticleFacts, StoryInfo, build_facts, norm
from wirewatch.rules.scope import compile_scope, in_scope
from wirewatch.rules.types import (
    SPIKE_BUCKETS,
    FigureType,
    Firing,
    FlatlineType,
    FrequencyType,
    NewTermType,
    RuleState,
    SpikeType,
    TermType,
    next_alert_time,
)

T0 = datetime(2022, 1, 30, 12, 0, tzinfo=UTC)
_RULE: TypeAdapter[AnyRule] = TypeAdapter(RuleConfig)


def rule(type_: str, **fields: Any) -> Any:
    return _RULE.validate_python({"name": "r", "type": type_, **fields})


class Clock:
    """A fake clock: starts at T0, moves only when told."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


_ids = iter(range(1, 1_000_000))


def facts(
    *,
    terms: dict[str, int] | None = None,
    names: dict[str, int] | None = None,
    figures: tuple[Figure, ...] = (),
    source: str = "AFP",
    story: StoryInfo | None = None,
    path: str = "/inbox/a.txt",
    sources: tuple[str, ...] | None = None,
) -> ArticleFacts:
    counts = {norm(k): v for k, v in (terms or {}).items()}
    return ArticleFacts(
        article_id=next(_ids),
        time=T0,
        title="A title",
        source=source,
        sources=sources if sources is not None else (source,),
        path=path,
        terms=counts,
        term_names={norm(k): k for k in (terms or {})},
        names=dict(names or {}),
        figures=figures,
        story=story,
    )


BORDER = "Russia has massed 100,000 troops on Ukraine's borders."


def fig(
    low: float,
    high: float | None = None,
    *,
    unit: str = "troops",
    lemma: str = "troop",
    sentence: str = BORDER,
    mods: tuple[str, ...] = (),
    qualifier: str = "",
    kind: str = "count",
    implied: bool = False,
) -> Figure:
    return Figure(
        low=low,
        high=low if high is None else high,
        text=f"{low:,.0f} {unit}",
        qualifier=qualifier,
        qualifier_kind="more_than" if qualifier else "exact",
        unit=unit,
        unit_lemma=lemma,
        start=0,
        end=1,
        sentence=sentence,
        modifiers=mods,
        kind=kind,
        implied_unit=implied,
    )


def obs(t: Any, f: ArticleFacts, state: RuleState, now: datetime) -> list[Firing]:
    """The firings that can become alerts (repeats only add sources to held-back ones)."""
    return [x for x in t.observe(f, state, now) if not x.repeat]


def accept(t: Any, firings: list[Firing], state: RuleState, now: datetime) -> list[Firing]:
    """What the engine does with firings that pass: tell the type."""
    for f in firings:
        t.fired(f, state, now)
    return firings


# -- term ------------------------------------------------------------------------------


def test_term_fires_on_any_term_once_per_story_and_term_set() -> None:
    t = TermType(rule("term", terms=["chemical weapons", "martial law"]))
    st = RuleState()
    assert obs(t, facts(terms={"Kyiv": 3}), st, T0) == []
    story = StoryInfo(7, "Story", ("AFP",))
    (f,) = obs(t, facts(terms={"martial law": 2}, story=story), st, T0)
    assert (f.key, f.value, f.fields["terms"]) == ("story:7", "martial law", ["martial law"])
    # another copy of the story, same term: same fingerprint parts
    (g,) = obs(t, facts(terms={"Martial Law": 1}, story=story), st, T0)
    assert (g.key, g.value) == (f.key, f.value)
    # a copy adding a term is a change
    (h,) = obs(t, facts(terms={"martial law": 1, "chemical weapons": 1}, story=story), st, T0)
    assert h.value == "chemical weapons|martial law"


def test_term_aliases_and_min_mentions() -> None:
    cfg = rule("term", terms=["nuclear weapons"], aliases={"nuclear weapons": ["nuclear arms"]})
    t = TermType(cfg)
    assert t.spellings() == {"nuclear weapons", "nuclear arms"}
    (f,) = obs(t, facts(terms={"nuclear arms": 1}), RuleState(), T0)
    assert f.fields["terms"] == ["nuclear weapons"]
    strict = TermType(rule("term", terms=["drone"], min_mentions=2))
    assert obs(strict, facts(terms={"drone": 1}), RuleState(), T0) == []
    assert obs(strict, facts(terms={"drone": 2}), RuleState(), T0)


# -- new_term ----------------------------------------------------------------------------


def test_new_term_fires_once_then_again_after_a_baseline_of_absence() -> None:
    clock = Clock()
    t = NewTermType(rule("new_term", terms=["invasion", "sanctions"], baseline="30d"))
    st = RuleState()
    firings = obs(t, facts(terms={"invasion": 1, "sanctions": 2, "Kyiv": 1}), st, clock())
    assert [(f.key, f.fields["term"], f.fields["count"]) for f in firings] == [
        ("invasion", "invasion", 1),
        ("sanctions", "sanctions", 2),
    ]
    assert obs(t, facts(terms={"Invasion": 1}), st, clock.tick(days=29)) == []
    # seen on day 29, so day 58 is still within the baseline
    assert obs(t, facts(terms={"invasion": 1}), st, clock.tick(days=29)) == []
    # absent for more than 30 days: new again, with a new value (fingerprint)
    (again,) = obs(t, facts(terms={"invasion": 1}), st, clock.tick(days=31))
    assert again.key == "invasion" and again.value != firings[0].value


def test_new_term_names_mode_and_min_mentions() -> None:
    t = NewTermType(rule("new_term", names=True, min_mentions=2))
    st = RuleState()
    firings = obs(t, facts(names={"El Pais": 2, "Olaf Scholz": 1}), st, T0)
    assert [f.fields["term"] for f in firings] == ["El Pais"]
    assert obs(t, facts(names={"El Pais": 5}), st, T0) == []


def test_new_term_garbage_collects_terms_older_than_the_baseline() -> None:
    clock = Clock()
    t = NewTermType(rule("new_term", terms=["a", "b"], baseline="1d"))
    st = RuleState()
    obs(t, facts(terms={"a": 1}), st, clock())
    obs(t, facts(terms={"b": 1}), st, clock.tick(hours=20))
    t.garbage_collect(st, clock.tick(hours=5))
    assert set(st.rows) == {"b"}
    st.take_changes()
    t.garbage_collect(st, clock.tick(days=2))
    assert st.rows == {} and st.take_changes() == ({}, {"b"})


def test_new_term_refreshes_last_seen_at_most_hourly() -> None:
    clock = Clock()
    t = NewTermType(rule("new_term", terms=["a"]))
    st = RuleState()
    obs(t, facts(terms={"a": 1}), st, clock())
    st.take_changes()
    obs(t, facts(terms={"a": 1}), st, clock.tick(minutes=10))
    assert st.take_changes() == ({}, set())
    obs(t, facts(terms={"a": 1}), st, clock.tick(minutes=55))
    assert set(st.take_changes()[0]) == {"a"}


# -- figure ------------------------------------------------------------------------------


def border_rule(**extra: Any) -> FigureType:
    fields: dict[str, Any] = {
        "units": ["troops", "soldier", "force"],
        "context_any": ["Russia", "Moscow"],
        "sentence_regex": r"\bborders?\b",
        "modifiers_none": ["US", "British"],
        "alert_on_first": True,
        "change_rel": 0.1,
    }
    fields.update(extra)
    return FigureType(rule("figure", **fields))


def test_figure_first_report_then_change_and_never_the_same_value_twice() -> None:
    t = border_rule()
    st = RuleState()
    (first,) = accept(t, obs(t, facts(figures=(fig(1e5, qualifier="more than"),)), st, T0), st, T0)
    assert first.reason == "first"
    assert first.fields["new_text"] == "more than 100,000"
    assert (first.key, first.value) == ("", "100000")
    # the same number, with or without "more than": nothing
    assert obs(t, facts(figures=(fig(1e5),)), st, T0) == []
    # +5 % is below change_rel
    assert obs(t, facts(figures=(fig(105_000),)), st, T0) == []
    (change,) = accept(t, obs(t, facts(figures=(fig(130_000),)), st, T0), st, T0)
    assert change.reason == "change"
    assert change.fields["change"] == "100,000 → 130,000"
    assert change.fields["percent"] == "+30%"
    assert (change.old_value, change.new_value) == ("100,000", "130,000")
    # outlets flipping back and forth: both values were alerted, so silence
    for value in (1e5, 130_000, 1e5):
        assert obs(t, facts(figures=(fig(value),)), st, T0) == []


def test_repeats_of_what_was_alerted_are_marked_as_such() -> None:
    t = border_rule()
    st = RuleState()
    (first,) = accept(t, t.observe(facts(figures=(fig(1e5),)), st, T0), st, T0)
    (repeat,) = t.observe(facts(figures=(fig(1e5),)), st, T0)
    assert repeat.repeat and (repeat.key, repeat.value) == (first.key, first.value)
    n = NewTermType(rule("new_term", terms=["invasion"]))
    nst = RuleState()
    (new,) = n.observe(facts(terms={"invasion": 1}), nst, T0)
    (again,) = n.observe(facts(terms={"invasion": 1}), nst, T0 + timedelta(hours=2))
    assert again.repeat and (again.key, again.value) == (new.key, new.value)


def test_figure_change_is_measured_from_the_last_value_alerted() -> None:
    t = border_rule()
    st = RuleState()
    accept(t, obs(t, facts(figures=(fig(100_000),)), st, T0), st, T0)
    # +8 %, then +8 % again: each below 10 % of 100,000, the second is 16 %
    assert obs(t, facts(figures=(fig(108_000),)), st, T0) == []
    (f,) = obs(t, facts(figures=(fig(116_000),)), st, T0)
    assert f.fields["change"] == "100,000 → 116,000"


def test_figure_without_first_alert_uses_the_first_value_as_silent_reference() -> None:
    t = border_rule(alert_on_first=False, change_abs=5000, change_rel=None)
    st = RuleState()
    assert obs(t, facts(figures=(fig(100_000),)), st, T0) == []
    assert st.rows[""]["last"] == [100_000, 100_000]
    assert obs(t, facts(figures=(fig(104_000),)), st, T0) == []
    (f,) = obs(t, facts(figures=(fig(95_000),)), st, T0)
    assert f.reason == "change" and f.fields["delta"] == "−5,000"


def test_figure_ranges_compare_sensibly_with_points() -> None:
    t = border_rule(ranges="compare")
    st = RuleState()
    accept(t, obs(t, facts(figures=(fig(100_000),)), st, T0), st, T0)
    # a range containing the last value is no change
    assert obs(t, facts(figures=(fig(90_000, 110_000),)), st, T0) == []
    # "tens of thousands" (20,000-99,999) is 1 away from 100,000: no change
    assert obs(t, facts(figures=(fig(20_000, 99_999),)), st, T0) == []
    # a range clearly above: measured from its nearest edge (120,000: +20 %)
    (f,) = obs(t, facts(figures=(fig(120_000, 130_000),)), st, T0)
    assert f.new_value == "120,000–130,000" and f.value == "120000-130000"


def test_figure_precise_ranges_ignore_vague_amounts() -> None:
    t = border_rule()  # ranges = "precise"
    st = RuleState()
    assert obs(t, facts(figures=(fig(20_000, 99_999),)), st, T0) == []
    (f,) = obs(t, facts(figures=(fig(120_000, 130_000),)), st, T0)
    assert f.reason == "first"
    assert (
        obs(border_rule(ranges="ignore"), facts(figures=(fig(120_000, 130_000),)), RuleState(), T0)
        == []
    )


def test_figure_selectors() -> None:
    t = border_rule()
    st = RuleState()
    us = fig(1000, unit="soldiers", lemma="soldier", mods=("U.S.",))
    elsewhere = fig(30_000, sentence="Russia will send 30,000 troops to Belarus for drills.")
    no_russia = fig(50_000, sentence="NATO has 50,000 troops near its eastern borders.")
    tanks = fig(2000, unit="tanks", lemma="tank")
    assert obs(t, facts(figures=(us, elsewhere, no_russia, tanks)), st, T0) == []
    assert t.selects(fig(120_000, unit="forces", lemma="force"))
    kinds = border_rule(kind="money")
    assert not kinds.selects(fig(100_000))
    bounded = border_rule(min_value=10_000, max_value=500_000)
    assert not bounded.selects(fig(5000)) and not bounded.selects(fig(600_000))
    assert bounded.selects(fig(8000, 12_000))  # a range reaching into the bounds
    excluded = border_rule(exclude_regex=r"\bdenies\b")
    assert not excluded.selects(fig(1e5, sentence="Moscow denies 100,000 troops on the border."))
    assert border_rule(modifiers_any=["combat"]).selects(fig(1e5, mods=("combat",)))
    assert not border_rule(modifiers_any=["combat"]).selects(fig(1e5))
    assert not border_rule(context_none=["Belarus"]).selects(
        fig(1e5, sentence="Russia has 100,000 troops on the borders of Belarus.")
    )
    assert not border_rule(implied_unit=False).selects(fig(2000, implied=True))


def test_figure_implied_unit_takes_the_modifiers_of_the_figure_it_continues() -> None:
    sentence = (
        "With Russia refusing to pull back 100,000 troops poised on Ukraine's borders, "
        "1,000 US soldiers in Germany are being sent to Romania, and another 2,000 "
        "stationed in the US are being flown to Germany."
    )
    figures = [
        fig(100_000, sentence=sentence),
        fig(1000, unit="soldiers", lemma="soldier", mods=("US",), sentence=sentence),
        fig(2000, unit="soldiers", lemma="soldier", implied=True, sentence=sentence),
    ]
    article = Article(title="t", paragraphs=(sentence,))
    built = build_facts(1, article, figures, [], "/in/x.txt", T0)
    assert built.figures[2].modifiers == ("US",)
    t = border_rule()
    st = RuleState()
    (f,) = accept(t, obs(t, built, st, T0), st, T0)
    assert f.new_value == "100,000"
    assert obs(t, built, st, T0) == []


def test_figure_fires_at_most_once_per_key_and_article() -> None:
    t = border_rule()
    st = RuleState()
    (f,) = obs(t, facts(figures=(fig(100_000), fig(150_000))), st, T0)
    assert f.new_value == "100,000"
    accept(t, [f], st, T0)
    # "up from 100,000 to 150,000": the known value is skipped, the new one fires
    (g,) = obs(t, facts(figures=(fig(100_000), fig(150_000))), st, T0)
    assert g.fields["change"] == "100,000 → 150,000"


def test_figure_query_key_tracks_values_separately() -> None:
    t = border_rule(query_key="source")
    st = RuleState()
    a = obs(t, facts(figures=(fig(100_000),), source="AFP"), st, T0)
    b = obs(t, facts(figures=(fig(100_000),), source="Reuters"), st, T0)
    assert [f.key for f in a + b] == ["AFP", "Reuters"]
    by_unit = border_rule(query_key="unit")
    firings = obs(
        by_unit, facts(figures=(fig(1e5), fig(2e5, unit="forces", lemma="force"))), RuleState(), T0
    )
    assert [f.key for f in firings] == ["troop", "force"]


def test_figure_threshold_with_hysteresis() -> None:
    t = border_rule(alert_on_first=False, change_rel=None, threshold=150_000, hysteresis=0.1)
    assert not t.cfg.alerts_on_change
    st = RuleState()

    def see(value: float) -> list[Firing]:
        return accept(t, obs(t, facts(figures=(fig(value),)), st, T0), st, T0)

    assert see(100_000) == []  # silent reference, below
    assert see(140_000) == []  # a change, but only thresholds alert
    (up,) = see(160_000)
    assert up.reason == "threshold" and up.fields["threshold_text"] == "150,000"
    assert see(170_000) == []  # still above: not re-armed
    assert see(140_000) == []  # below, but within the 10 % hysteresis
    assert see(155_000) == []  # so crossing again does not alert
    assert see(130_000) == []  # below 135,000: re-armed
    (again,) = see(158_000)
    assert again.reason == "threshold"
    assert see(160_000) == []  # already alerted value, and not armed


def test_figure_threshold_below() -> None:
    t = border_rule(alert_on_first=False, change_rel=None, threshold=50_000, direction="below")
    st = RuleState()
    assert obs(t, facts(figures=(fig(100_000),)), st, T0) == []
    (f,) = obs(t, facts(figures=(fig(40_000),)), st, T0)
    assert f.reason == "threshold"


# -- frequency ---------------------------------------------------------------------------


def test_frequency_counts_within_the_timeframe_and_starts_over_after_an_alert() -> None:
    clock = Clock()
    t = FrequencyType(rule("frequency", timeframe="1h", num_events=3))
    st = RuleState()

    def arrive(**delta: float) -> list[Firing]:
        now = clock.tick(**delta)
        return accept(t, obs(t, facts(), st, now), st, now)

    assert arrive() == []
    assert arrive(minutes=30) == []
    # the first event is now exactly an hour old: outside the window
    assert arrive(minutes=30) == []
    (f,) = arrive(minutes=1)
    assert f.fields["count"] == 3
    # the count starts over after an alert
    assert arrive(minutes=1) == [] and arrive(minutes=1) == []
    assert len(arrive(minutes=1)) == 1


def test_frequency_of_distinct_sources_and_per_key() -> None:
    clock = Clock()
    t = FrequencyType(rule("frequency", timeframe="10m", num_sources=3))
    st = RuleState()
    for source in ("AFP", "AFP", "AFP", "Reuters"):
        assert obs(t, facts(source=source), st, clock.tick(minutes=1)) == []
    (f,) = obs(t, facts(source="AP"), st, clock.tick(minutes=1))
    assert f.fields["count"] == 3 and set(f.sources or ()) == {"AFP", "Reuters", "AP"}
    keyed = FrequencyType(rule("frequency", timeframe="10m", num_events=2, query_key="source"))
    st2 = RuleState()
    assert obs(keyed, facts(source="AFP"), st2, T0) == []
    assert obs(keyed, facts(source="AP"), st2, T0) == []
    (g,) = obs(keyed, facts(source="AFP"), st2, T0)
    assert g.key == "AFP"


def test_frequency_counts_articles_of_unknown_origin_as_one_source() -> None:
    t = FrequencyType(rule("frequency", timeframe="10m", num_sources=3))
    st = RuleState()
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        anonymous = replace(facts(source=name), source_known=False)
        assert obs(t, anonymous, st, T0) == []
    assert obs(t, facts(source="AFP"), st, T0) == []
    (f,) = obs(t, facts(source="AP"), st, T0)
    assert f.fields["count"] == 3


def test_frequency_garbage_collects_old_events() -> None:
    clock = Clock()
    t = FrequencyType(rule("frequency", timeframe="1h", num_events=5))
    st = RuleState()
    obs(t, facts(), st, clock())
    t.garbage_collect(st, clock.tick(minutes=61))
    assert st.rows == {}


# -- spike -------------------------------------------------------------------------------


def spike(**extra: Any) -> SpikeType:
    fields: dict[str, Any] = {"timeframe": "1h", "spike_height": 3, "threshold_cur": 3}
    fields.update(extra)
    return SpikeType(rule("spike", **fields))


def test_spike_waits_for_two_full_windows() -> None:
    clock = Clock()
    t = spike(alert_on_new_data=True)
    st = RuleState()
    t.activate(st, clock())
    clock.tick(minutes=119)
    for _ in range(20):
        assert obs(t, facts(), st, clock()) == []
    clock.tick(minutes=1)  # two full windows since the rule started
    (f,) = obs(t, facts(), st, clock())
    assert (f.fields["current"], f.fields["reference"]) == (21, 0)


def test_spike_compares_the_current_window_with_the_one_before() -> None:
    clock = Clock()
    t = spike(threshold_ref=1)
    st = RuleState()
    t.activate(st, clock())
    clock.tick(hours=2)  # warmed up; windows are aligned to buckets of a minute
    for _ in range(2):
        assert obs(t, facts(), st, clock()) == []  # reference hour: 2 articles
    clock.tick(hours=1)
    counts = []
    for _ in range(6):
        firings = accept(t, obs(t, facts(), st, clock()), st, clock())
        counts.append(len(firings))
    # 6 >= 3 x 2 fires on the sixth article of the current hour, and only once
    assert counts == [0, 0, 0, 0, 0, 1]
    assert t.counts(st.rows[""], clock().timestamp()) == (6, 2)
    assert accept(t, obs(t, facts(), st, clock()), st, clock()) == []


def test_spike_window_edges_and_rearming() -> None:
    clock = Clock()
    t = spike(threshold_ref=1)
    st = RuleState()
    t.activate(st, clock())
    clock.tick(hours=3)
    obs(t, facts(), st, clock())  # reference article
    clock.tick(minutes=SPIKE_BUCKETS)  # exactly one window later: the reference is last hour
    assert t.counts(st.rows[""], clock().timestamp()) == (0, 1)
    for _ in range(2):
        obs(t, facts(), st, clock())
    (f,) = accept(t, obs(t, facts(), st, clock()), st, clock())
    assert f.fields["reference"] == 1
    # two hours later the spike has passed; the window moved on
    clock.tick(hours=2)
    assert obs(t, facts(), st, clock()) == []
    assert st.rows[""]["alerting"] is False


def test_spike_without_reference_needs_alert_on_new_data() -> None:
    clock = Clock()
    t = spike()
    st = RuleState()
    t.activate(st, clock())
    clock.tick(hours=2)
    for _ in range(10):
        assert obs(t, facts(), st, clock()) == []


# -- flatline ----------------------------------------------------------------------------


def test_flatline_fires_once_per_quiet_spell_after_one_full_window() -> None:
    clock = Clock()
    t = FlatlineType(rule("flatline", timeframe="1h", threshold=2))
    st = RuleState()
    t.activate(st, clock())
    assert t.tick(st, clock.tick(minutes=59)) == []  # still warming up
    (f,) = accept(t, t.tick(st, clock.tick(minutes=1)), st, clock())
    assert (f.fields["count"], f.key) == (0, "")
    assert t.tick(st, clock.tick(minutes=10)) == []  # once per quiet spell
    obs(t, facts(), st, clock.tick(minutes=1))
    assert t.tick(st, clock()) == []  # one article: still below 2, but already alerted
    obs(t, facts(), st, clock.tick(minutes=1))
    assert st.rows[""]["alerting"] is False  # flowing again: re-armed
    assert t.tick(st, clock.tick(minutes=30)) == []
    assert t.tick(st, clock.tick(minutes=28)) == []
    # an hour after the older of the two articles, it leaves the window
    (g,) = t.tick(st, clock.tick(minutes=1))
    assert g.fields["count"] == 1


def test_flatline_per_source_and_forgetting() -> None:
    clock = Clock()
    t = FlatlineType(rule("flatline", timeframe="1h", query_key="source", forget_keys="1d"))
    st = RuleState()
    t.activate(st, clock())
    assert st.rows == {}  # keyed: a source is watched from its first article
    obs(t, facts(source="AFP"), st, clock())
    obs(t, facts(source="Reuters"), st, clock.tick(minutes=30))
    (f,) = t.tick(st, clock.tick(minutes=31))
    assert f.key == "AFP" and f.sources == ("AFP",)
    t.garbage_collect(st, clock.tick(hours=23, minutes=15))
    assert set(st.rows) == {"Reuters"}


# -- cooldowns ---------------------------------------------------------------------------


def test_next_alert_time_plain_and_exponential() -> None:
    realert = timedelta(minutes=10)
    until, exp = next_alert_time(None, T0, realert, None)
    assert (until, exp) == (T0 + realert, 0)
    ceiling = timedelta(hours=1)
    # firing again right after the cooldown ended doubles it, up to the ceiling
    prev = {"until": (T0 + realert).isoformat(), "exponent": 0}
    now = T0 + realert + timedelta(minutes=1)
    until, exp = next_alert_time(prev, now, realert, ceiling)
    assert (until - now, exp) == (timedelta(minutes=20), 1)
    prev = {"until": until.isoformat(), "exponent": exp}
    now = until + timedelta(minutes=1)
    until, exp = next_alert_time(prev, now, realert, ceiling)
    assert (until - now, exp) == (timedelta(minutes=40), 2)
    prev = {"until": until.isoformat(), "exponent": exp}
    now = until + timedelta(minutes=1)
    until, exp = next_alert_time(prev, now, realert, ceiling)
    assert until - now == ceiling
    # a long quiet spell earns the doubling back
    prev = {"until": until.isoformat(), "exponent": 2}
    until, exp = next_alert_time(prev, until + timedelta(hours=5), realert, ceiling)
    assert exp == 0


# -- scope -------------------------------------------------------------------------------


def test_scope_any_all_none_of_terms_sources_paths_and_min_sources() -> None:
    def scoped(aliases: dict[str, list[str]] | None = None, **scope: Any) -> Any:
        cfg = rule("term", terms=["x"], scope=scope, aliases=aliases or {})
        return compile_scope(cfg.scope, cfg.aliases)

    f = facts(
        terms={"Ukraine": 2, "Russia": 1},
        sources=("reuters.com", "AFP"),
        path="/inbox/wires/a.txt",
        story=StoryInfo(1, "s", ("AFP", "AP", "BBC")),
    )
    assert in_scope(scoped(), f)
    assert scoped().always
    assert in_scope(scoped(any={"terms": ["Kyiv", "ukraine"]}), f)
    assert not in_scope(scoped(any={"terms": ["Kyiv"]}), f)
    assert in_scope(scoped(any={"terms": ["Kyiv"]}, aliases={"Kyiv": ["Ukraine"]}), f)
    assert in_scope(scoped(all={"terms": ["Ukraine", "Russia"]}), f)
    assert not in_scope(scoped(all={"terms": ["Ukraine", "Belarus"]}), f)
    assert not in_scope(scoped(none={"terms": ["russia"]}), f)
    assert in_scope(scoped(any={"sources": ["*.com"]}), f)
    assert in_scope(scoped(all={"sources": ["afp", "reuters*"]}), f)
    assert not in_scope(scoped(none={"sources": ["AFP"]}), f)
    assert in_scope(scoped(any={"paths": ["*/wires/*"]}), f)
    assert in_scope(scoped(any={"paths": ["a.txt"]}), f)
    assert not in_scope(scoped(none={"paths": ["/inbox/*"]}), f)
    assert in_scope(scoped(min_sources=3), f)
    assert not in_scope(scoped(min_sources=5), f)


def test_facts_count_terms_from_the_extractor_and_the_rules_matcher_once() -> None:
    from wirewatch.extract.terms import compile_watchlist

    text = "Nord Stream 2 and the invasion. Nord Stream 2 again."
    article = Article(title="", paragraphs=(text,), source_hints=("AFP",))
    mentions = [
        Mention("Nord Stream 2", "Nord Stream 2", 0, 13),
        Mention("Nord Stream 2", "Nord Stream 2", 32, 45),
        Mention("Olaf Scholz", "Olaf Scholz", 0, 1, watched=False),
    ]
    matcher = compile_watchlist({"nord stream 2": [], "invasion": []})
    built = build_facts(3, article, [], mentions, "/in/x.txt", T0, None, matcher)
    assert built.terms == {"nord stream 2": 2, "olaf scholz": 1, "invasion": 1}
    assert built.names == {"Olaf Scholz": 1}
    assert built.source == "AFP"
    bare = build_facts(4, Article(title="", paragraphs=("x",)), [], [], "/in/x.txt", T0)
    assert bare.source == "x.txt"
    hosted = Article(
        title="", paragraphs=("x",), url="https://www.example.org/a", source_hints=("AP",)
    )
    assert build_facts(5, hosted, [], [], "/in/y.txt", T0).sources == ("example.org", "AP")
