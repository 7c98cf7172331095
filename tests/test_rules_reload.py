"""Live editing: a real rules folder, edited while articles flow.

A broken save is refused with a message naming file, rule and field while
the old rules keep firing; the fix is live within two seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conftest import wait_until
from wirewatch.models import Article, Figure
from wirewatch.rules.engine import RulesStage
from wirewatch.rules.loader import load_rules
from wirewatch.rules.reload import RulesReloader
from wirewatch.rules.replay import CollectingSink, ScratchStore
from wirewatch.store.articles import FileToStore, RecordToStore

GOOD = """
[[rules]]
name = "alpha-watch"
type = "term"
terms = ["alpha"]
query_key = "article"
sentence_regex_unused = 1
"""
GOOD = GOOD.replace("sentence_regex_unused = 1\n", "")

FIXED = (
    GOOD
    + """
[[rules]]
name = "beta-figure"
type = "figure"
units = ["troops"]
sentence_regex = '\\bborder\\b'
alert_on_first = true
"""
)

BROKEN = {
    "syntax error": (
        GOOD + '\n[[rules]]\nname = "beta-figure"\ntype = "figure"\nunits = [\n',
        "line",
    ),
    "unknown key": (FIXED.replace("alert_on_first", "alert_on_frist"), "figure.alert_on_frist"),
    "bad regex": (FIXED.replace("\\bborder\\b", "(border"), "figure.sentence_regex"),
    "undefined destination": (
        FIXED + 'destinations = ["pager"]\n',
        "figure.destinations[0]: undefined sink 'pager'",
    ),
}


class Feed:
    def __init__(self, store: ScratchStore, stage: RulesStage, sink: CollectingSink) -> None:
        self.store = store
        self.stage = stage
        self.sink = sink
        self.n = 0

    async def article(self, text: str) -> list[str]:
        """Store one article; the names of the rules that alerted on it."""
        self.n += 1
        body = f"{text} (article {self.n})"
        figures: tuple[Figure, ...] = ()
        if "100,000 troops" in body:
            start = body.index("100,000")
            figures = (
                Figure(
                    1e5,
                    1e5,
                    "100,000 troops",
                    "",
                    "exact",
                    "troops",
                    "troop",
                    start,
                    start + 14,
                    body,
                ),
            )
        rec = RecordToStore(
            hashlib.sha256(body.encode()).hexdigest(),
            Article(title="", paragraphs=(body,)),
            figures,
        )
        before = len(self.sink.alerts)
        await self.store.store_files(
            [FileToStore(f"/in/{self.n}.txt", rec.sha256, 1, 0, [rec])], hooks=[self.stage]
        )
        return [a.rule for a in self.sink.alerts[before:]]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Path, Feed, RulesReloader]]:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "watch.toml").write_text(GOOD, encoding="utf-8")
    store = await ScratchStore.open(tmp_path / "w.db")
    sink = CollectingSink()
    stage = RulesStage(store, sink, load_rules(folder, {"console"}))
    await stage.start()
    reloader = RulesReloader(stage, folder, {"console"}, poll_interval=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop))
    try:
        yield folder, Feed(store, stage, sink), reloader
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await store.close()


async def test_broken_edits_are_refused_and_a_fix_is_live_within_two_seconds(
    setup: tuple[Path, Feed, RulesReloader],
) -> None:
    folder, feed, reloader = setup
    path = folder / "watch.toml"
    assert await feed.article("alpha troops") == ["alpha-watch"]
    for what, (text, field) in BROKEN.items():
        failures = reloader.status.failures
        path.write_text(text, encoding="utf-8")
        await wait_until(lambda f=failures: reloader.status.failures > f, 2.0, what)  # type: ignore[misc]
        error = reloader.status.error or ""
        assert not reloader.status.ok
        assert f'{path}: rule "beta-figure": ' in error, (what, error)
        assert field in error, (what, error)
        # the old rules are still in force
        assert await feed.article("alpha, 100,000 troops at the border") == ["alpha-watch"], what
    path.write_text(FIXED, encoding="utf-8")
    took = await wait_until(lambda: reloader.status.ok, 2.0, "the fix")
    assert took < 2.0
    assert reloader.status.rules == 2
    fired = await feed.article("alpha: 100,000 troops at the border")
    assert fired == ["alpha-watch", "beta-figure"]


async def test_sighup_reloads_at_once_and_a_new_file_counts(
    setup: tuple[Path, Feed, RulesReloader],
) -> None:
    folder, feed, reloader = setup
    reloads = reloader.status.reloads
    reloader.request_reload()
    await wait_until(lambda: reloader.status.reloads > reloads, 2.0, "the SIGHUP reload")
    assert reloader.status.trigger == "sighup" and reloader.status.ok
    (folder / "more.toml").write_text(
        '[[rules]]\nname = "gamma"\ntype = "term"\nterms = ["gamma"]\nquery_key = "article"\n',
        encoding="utf-8",
    )
    await wait_until(lambda: reloader.status.rules == 2, 2.0, "the new file")
    assert sorted(await feed.article("gamma and alpha")) == ["alpha-watch", "gamma"]
    (folder / "more.toml").unlink()
    await wait_until(lambda: reloader.status.rules == 1, 2.0, "the removal")
    assert await feed.article("gamma and alpha") == ["alpha-watch"]


async def test_reload_results_reach_the_callback(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    store = await ScratchStore.open(tmp_path / "w.db")
    try:
        stage = RulesStage(store, CollectingSink(), load_rules(folder, {"console"}))
        await stage.start()
        results: list[bool] = []
        reloader = RulesReloader(
            stage, folder, set(), on_result=lambda ok, when: results.append(ok)
        )
        (folder / "x.toml").write_text("[[rules]]\nname = 'x'\ntype = 'nope'\n", encoding="utf-8")
        assert await reloader.reload() is None
        (folder / "x.toml").write_text(GOOD, encoding="utf-8")
        report = await reloader.reload()
        assert report is not None and report.added == ["alpha-watch"]
        assert results == [False, True]
        assert reloader.status.as_dict()["ok"] is True
    finally:
        await store.close()
