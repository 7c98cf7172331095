"""The rules stage on a real SQLite store, with the real parser and extractor.

The seeds go in the order 004, 001, 003, 002, 000 through the shipped
example rules and must produce exactly the alerts the project promises;
then replays, edits, restarts, reloads of definitions, silences, cooldowns
and ``group_wait`` are checked against the same database.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import structlog

from wirewatch.config import load_config
from wirewatch.extract.extractor import build_extractor
from wirewatch.models import Alert
from wirewatch.parse import DEFAULT_BOILERPLATE, parse_bytes
from wirewatch.rules.engine import RulesStage, fingerprint
from wirewatch.rules.facts import StoryInfo
from wirewatch.rules.loader import RuleSet, load_rules
from wirewatch.rules.replay import ManualClock
from wirewatch.store import FileToStore, RecordToStore, Store, alert_from_json

REPO = Path(__file__).resolve().parents[1]
SEEDS = {p.name[:3]: p for p in (REPO / "seeds").glob("*.txt")}
RULES = REPO / "config" / "rules"
ORDER = ("004", "001", "003", "002", "000")
T0 = datetime(2022, 2, 5, 9, 0, tzinfo=UTC)


class EngineStore(Store):
    """The real store: alerts commit (or roll back) with their article."""

    async def sent(self) -> list[Alert]:
        db = await self._read()
        async with db.execute("SELECT payload FROM alerts ORDER BY rowid") as cur:
            return [alert_from_json(r[0]) for r in await cur.fetchall()]


CFG, _ = load_config(REPO / "config" / "wirewatch.toml")
EXTRACT = build_extractor(CFG.extract)


def record(data: bytes, name: str) -> RecordToStore:
    (parsed,) = parse_bytes(data, name=name, mtime=T0, boilerplate=DEFAULT_BOILERPLATE)
    figures, mentions = EXTRACT(parsed.article)
    return RecordToStore(hashlib.sha256(data).hexdigest(), parsed.article, figures, mentions)


class Harness:
    """A store, a stage over the example rules, a fake clock; feeds files in."""

    def __init__(self, path: Path, ruleset: RuleSet, clock: ManualClock) -> None:
        self.path = path
        self.ruleset = ruleset
        self.clock = clock
        self.store: EngineStore
        self.stage: RulesStage

    async def open(self, **stage_args: Any) -> Harness:
        self.store = await EngineStore.open(self.path)
        self.stage = RulesStage(
            self.store, self.store, self.ruleset, clock=self.clock, **stage_args
        )
        await self.stage.start()
        return self

    async def close(self) -> None:
        await self.store.close()

    async def drop(self, data: bytes, path: str, *, minutes: float = 1) -> list[Alert]:
        """One file through the store with the rules as hook; the alerts it added."""
        self.clock.advance(timedelta(minutes=minutes))
        before = len(await self.store.sent())
        rec = record(data, Path(path).name)
        f = FileToStore(path, rec.sha256, len(data), 0, [rec])
        await self.store.store_files([f], hooks=[self.stage])
        return (await self.store.sent())[before:]

    async def drop_seed(
        self, key: str, *, inbox: str = "/inbox", minutes: float = 1
    ) -> list[Alert]:
        path = f"{inbox}/{SEEDS[key].name}"
        return await self.drop(SEEDS[key].read_bytes(), path, minutes=minutes)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await Harness(tmp_path / "w.db", load_rules(RULES, {"console"}), ManualClock(T0)).open()
    yield h
    await h.close()


def summary(alerts: Sequence[Alert]) -> list[tuple[str, str, str]]:
    return [(a.rule_type, a.rule, a.new_value or "") for a in alerts]


EXPECTED = {
    "004": [
        ("new_term", "escalation-watchlist", "invasion"),
        ("new_term", "escalation-watchlist", "sanctions"),
        ("figure", "russian-troops-at-ukraine-border", "100,000"),
        ("figure", "killed-in-eastern-ukraine", "13,000"),
    ],
    "001": [("new_term", "escalation-watchlist", "Nord Stream 2")],
    "003": [("new_term", "leak-outlets", "El Pais")],
    "002": [("new_term", "escalation-watchlist", "Article 5")],
    "000": [],
}


async def test_seeds_fire_exactly_the_promised_alerts_and_never_again(harness: Harness) -> None:
    for key in ORDER:
        assert summary(await harness.drop_seed(key)) == EXPECTED[key], key
    sent = await harness.store.sent()
    titles = [a.title for a in sent]
    assert "russian-troops-at-ukraine-border: first reported at more than 100,000" in titles
    assert "killed-in-eastern-ukraine: first reported at more than 13,000" in titles
    border = next(a for a in sent if a.rule == "russian-troops-at-ukraine-border")
    assert border.articles[0].path.endswith(SEEDS["004"].name)
    assert border.sources == ("AFP",) and "Reported by AFP" in border.body
    assert border.destinations == ("console",) and border.severity == "critical"

    # the same files again, under the same or other names: nothing
    for key in ORDER:
        assert await harness.drop_seed(key) == []
        assert await harness.drop_seed(key, inbox="/inbox/again") == []


async def test_an_edited_border_figure_fires_once_and_reverting_does_not(
    harness: Harness,
) -> None:
    for key in ORDER:
        await harness.drop_seed(key)
    original = SEEDS["001"].read_bytes()
    edited = original.replace(b"more than 100,000 combat", b"more than 130,000 combat")
    assert edited != original
    (alert,) = await harness.drop(edited, "/inbox/001-update.txt")
    assert alert.rule == "russian-troops-at-ukraine-border"
    assert "100,000 → 130,000" in alert.title
    assert alert.sources[0] == "AFP" and "AFP" in alert.body
    assert (alert.old_value, alert.new_value) == ("100,000", "130,000")
    # back to 100,000: the original bytes, or new bytes saying the same
    assert await harness.drop(original, "/inbox/001-update.txt") == []
    assert await harness.drop(original + b"\n", "/inbox/001-again.txt") == []
    # and 130,000 from another outlet: already alerted
    other = SEEDS["000"].read_bytes().replace(b"back 100,000", b"back 130,000")
    assert await harness.drop(other, "/inbox/000-update.txt") == []


async def test_an_edit_to_a_seed_without_credits_names_the_file(harness: Harness) -> None:
    for key in ORDER:
        await harness.drop_seed(key)
    edited = SEEDS["000"].read_bytes().replace(b"back 100,000", b"back 130,000")
    (alert,) = await harness.drop(edited, f"/inbox/{SEEDS['000'].name}")
    assert "100,000 → 130,000" in alert.title and SEEDS["000"].name in alert.body


async def test_a_restart_neither_refires_nor_forgets(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    rules = load_rules(RULES, {"console"})
    first = await Harness(tmp_path / "w.db", rules, clock).open()
    fired = []
    for key in ORDER[:2]:
        fired += await first.drop_seed(key)
    # the process dies here; what was committed is all that survives
    await first.close()
    second = await Harness(tmp_path / "w.db", load_rules(RULES, {"console"}), clock).open()
    try:
        report = await second.stage.start()
        assert report.unchanged == second.ruleset.names and not report.reset
        for key in ORDER[:2]:
            assert await second.drop_seed(key, inbox="/inbox/again") == []
        for key in ORDER[2:]:
            fired += await second.drop_seed(key)
        assert sorted(summary(fired)) == sorted(x for k in ORDER for x in EXPECTED[k])
    finally:
        await second.close()


class Explode:
    """A later hook that fails once: the transaction (and its alerts) roll back."""

    def __init__(self) -> None:
        self.armed = True

    def article_inserted(self, article_id: int, rec: Any, path: str) -> None:
        pass

    async def article_stored(self, db: Any, article_id: int, rec: Any, path: str) -> None:
        if self.armed:
            self.armed = False
            raise RuntimeError("disk on fire")

    async def article_seen_again(self, db: Any, article_id: int, rec: Any, path: str) -> None:
        pass

    async def before_commit(self, db: Any) -> None:
        pass

    def rolled_back(self) -> None:
        pass


async def test_a_rolled_back_article_fires_when_it_is_retried(harness: Harness) -> None:
    await harness.drop_seed("004")
    data = SEEDS["001"].read_bytes()
    rec = record(data, SEEDS["001"].name)
    f = FileToStore("/inbox/001.txt", rec.sha256, len(data), 0, [rec])
    with pytest.raises(RuntimeError):
        await harness.store.store_files([f], hooks=[harness.stage, Explode()])
    assert len(await harness.store.sent()) == 4
    # the stage forgot what the rolled-back transaction taught it
    await harness.store.store_files([f], hooks=[harness.stage])
    assert summary((await harness.store.sent())[4:]) == EXPECTED["001"]


BORDER_RULE = """
[[rules]]
name = "border"
type = "figure"
units = {units}
context_any = ["Russia"]
sentence_regex = '\\bborders?\\b|\\bfrontier\\b'
alert_on_first = true
change_rel = {change_rel}
"""


def border_rules(tmp_path: Path, units: str = '["troops"]', change_rel: float = 0.1) -> RuleSet:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    text = BORDER_RULE.format(units=units, change_rel=change_rel)
    (folder / "b.toml").write_text(text, encoding="utf-8")
    return load_rules(folder, {"console"})


async def test_swap_keeps_state_when_the_tracked_key_is_unchanged_and_resets_otherwise(
    tmp_path: Path,
) -> None:
    h = await Harness(tmp_path / "w.db", border_rules(tmp_path), ManualClock(T0)).open()
    try:
        assert len(await h.drop_seed("004")) == 1
        with structlog.testing.capture_logs() as logs:
            report = await h.stage.swap(border_rules(tmp_path, change_rel=0.2))
        assert report.kept == ["border"]
        assert any(e["event"] == "rule_state_kept" and e["rule"] == "border" for e in logs)
        assert await h.drop_seed("001") == []  # 100,000 again: state was kept
        with structlog.testing.capture_logs() as logs:
            report = await h.stage.swap(border_rules(tmp_path, units='["troops", "soldiers"]'))
        assert report.reset == ["border"]
        (reset,) = [e for e in logs if e["event"] == "rule_state_reset"]
        assert reset["changed"] == ["units"]
        (again,) = await h.drop_seed("003")  # a fresh rule reports its first value
        assert again.title == "border: first reported at 100,000"
        # removing the rule keeps its state for its return
        report = await h.stage.swap(RuleSet())
        assert report.removed == ["border"]
        report = await h.stage.swap(border_rules(tmp_path, units='["troops", "soldiers"]'))
        assert report.kept == ["border"]
        assert await h.drop(SEEDS["004"].read_bytes() + b"\n", "/inbox/004-again.txt") == []
    finally:
        await h.close()


async def test_silences_mute_and_claim_firings(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    h = await Harness(tmp_path / "w.db", border_rules(tmp_path), clock).open()
    try:
        s = await h.store.add_silence(
            "bor*", None, T0, T0 + timedelta(hours=1), "maintenance", "test", T0
        )
        assert [x.id for x in await h.store.list_silences(T0)] == [s.id]
        with structlog.testing.capture_logs() as logs:
            assert await h.drop_seed("004") == []
        assert any(e["event"] == "alert_silenced" for e in logs)
        assert h.stage.stats.silenced == 1
        assert await h.store.expire_silence(s.id, clock())
        assert not await h.store.expire_silence(s.id, clock())
        # the silenced value stays claimed; a new value fires
        assert await h.drop_seed("001") == []
        edited = SEEDS["001"].read_bytes().replace(b"100,000 combat", b"150,000 combat")
        (alert,) = await h.drop(edited, "/inbox/x.txt")
        assert "100,000 → 150,000" in alert.title
        # a silence on one key only
        await h.store.add_silence(
            "border", "other", clock(), clock() + timedelta(hours=1), "", "t", clock()
        )
        edited = SEEDS["001"].read_bytes().replace(b"100,000 combat", b"190,000 combat")
        assert len(await h.drop(edited, "/inbox/y.txt")) == 1
    finally:
        await h.close()


async def test_realert_drops_within_the_cooldown_without_forgetting(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "b.toml").write_text(
        BORDER_RULE.format(units='["troops"]', change_rel=0.1) + 'realert = "1h"\n',
        encoding="utf-8",
    )
    clock = ManualClock(T0)
    h = await Harness(tmp_path / "w.db", load_rules(folder, {"console"}), clock).open()
    try:
        assert len(await h.drop_seed("004")) == 1
        edited = SEEDS["001"].read_bytes().replace(b"100,000 combat", b"150,000 combat")
        assert await h.drop(edited, "/inbox/a.txt", minutes=10) == []
        assert h.stage.stats.suppressed == 1
        # after the cooldown the same change is still news
        again = edited.replace(b"Close Bitnami banner", b"")
        (alert,) = await h.drop(again, "/inbox/b.txt", minutes=60)
        assert "100,000 → 150,000" in alert.title
    finally:
        await h.close()


async def test_group_wait_batches_a_rule_and_lists_every_source(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "n.toml").write_text(
        '[[rules]]\nname = "watch"\ntype = "new_term"\n'
        'terms = ["invasion", "sanctions", "Article 5"]\ngroup_wait = "30s"\n',
        encoding="utf-8",
    )
    clock = ManualClock(T0)
    path = tmp_path / "w.db"
    h = await Harness(path, load_rules(folder, {"console"}), clock).open()
    try:
        assert (
            await h.drop_seed(
                "004",
            )
            == []
        )  # invasion, sanctions: held back
        assert (
            await h.drop_seed(
                "002",
            )
            == []
        )  # Article 5 joins the batch (12 s later)
        clock.advance(timedelta(seconds=-110))
        assert await h.stage.tick(clock()) == 0
    finally:
        await h.close()
    # the batch survives a restart
    h = await Harness(path, load_rules(folder, {"console"}), clock).open()
    try:
        clock.advance(timedelta(minutes=5))
        assert await h.stage.tick() == 1
        (alert,) = await h.store.sent()
        assert alert.title == "watch: 3 alerts"
        assert "“invasion”" in alert.body and "“Article 5”" in alert.body
        assert set(alert.sources) == {"AFP", "Reuters"}
        assert await h.stage.tick() == 0
    finally:
        await h.close()


async def test_group_wait_adds_sources_of_the_same_change(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "b.toml").write_text(
        BORDER_RULE.format(units='["troops"]', change_rel=0.1) + 'group_wait = "1m"\n',
        encoding="utf-8",
    )

    async def story(db: aiosqlite.Connection, article_id: int) -> StoryInfo:
        return StoryInfo(1, "Build-up", ())

    clock = ManualClock(T0)
    h = await Harness(tmp_path / "w.db", load_rules(folder, {"console"}), clock).open(
        story_lookup=story
    )
    try:
        assert await h.drop_seed("004", minutes=0) == []
        assert await h.drop_seed("003", minutes=0.25) == []
        assert await h.drop_seed("001", minutes=0.25) == []
        clock.advance(timedelta(minutes=1))
        assert await h.stage.tick() == 1
        (alert,) = await h.store.sent()
        assert alert.title == "border: first reported at more than 100,000"
        assert alert.sources == ("AFP", SEEDS["003"].name)
        assert len(alert.articles) == 3 and alert.story_id == 1
    finally:
        await h.close()


async def test_flatline_fires_from_the_clock(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "f.toml").write_text(
        '[[rules]]\nname = "quiet"\ntype = "flatline"\ntimeframe = "1h"\n', encoding="utf-8"
    )
    clock = ManualClock(T0)
    h = await Harness(tmp_path / "w.db", load_rules(folder, {"console"}), clock).open()
    try:
        assert await h.stage.tick(T0 + timedelta(minutes=59)) == 0
        assert await h.stage.tick(T0 + timedelta(minutes=61)) == 1
        assert await h.stage.tick(T0 + timedelta(minutes=62)) == 0
        (alert,) = await h.store.sent()
        assert alert.title == "quiet: 0 articles in 1h (expected at least 1)"
        clock.advance(timedelta(minutes=62))
        await h.drop_seed("000")
        assert await h.stage.tick(clock() + timedelta(minutes=30)) == 0
        assert await h.stage.tick(clock() + timedelta(minutes=61)) == 1
    finally:
        await h.close()


async def test_a_failing_rule_does_not_hold_the_others_back(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = harness.ruleset.get("leak-outlets")
    assert rule is not None

    def boom(*args: Any) -> Any:
        raise ValueError("bug")

    monkeypatch.setattr(rule.type, "observe", boom)
    assert len(await harness.drop_seed("004")) == 4
    assert harness.stage.stats.errors == 1


def test_fingerprint_is_rule_key_value() -> None:
    assert fingerprint("r", "k", "v") == fingerprint("r", "k", "v")
    assert fingerprint("r", "k", "v") != fingerprint("r", "kv", "")
