"""``wirewatch test-rules`` and ``wirewatch silence``, through argparse as a person types them."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from conftest import REPO, SEEDS, write_config
from wirewatch.config import load_config
from wirewatch.rules.commands import add_commands, check_rules, parse_when
from wirewatch.rules.replay import ScratchStore, folder_items

ORDER = ("004", "001", "003", "002", "000")


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The commands configure logging onto captured streams; undo that afterwards."""
    yield
    structlog.reset_defaults()


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="wirewatch")
    parser.add_argument("-c", "--config", type=Path)
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code: int = args.func(args)
    return code


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config under tmp_path; the working directory holds the example rules."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("WIREWATCH_CONFIG", raising=False)
    return write_config(tmp_path)


def seeds_in_order(folder: Path) -> Path:
    folder.mkdir()
    by_key = {p.name[:3]: p for p in SEEDS.glob("*.txt")}
    for i, key in enumerate(ORDER):
        shutil.copyfile(by_key[key], folder / f"{i}_{by_key[key].name}")
    return folder


def test_test_rules_against_a_folder_prints_what_would_fire(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = seeds_in_order(tmp_path / "replay")
    assert run("--config", str(project), "test-rules", "--against", str(folder), "--json") == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(a["rule"], a["new_value"]) for a in alerts] == [
        ("escalation-watchlist", "invasion"),
        ("escalation-watchlist", "sanctions"),
        ("russian-troops-at-ukraine-border", "100,000"),
        ("killed-in-eastern-ukraine", "13,000"),
        ("escalation-watchlist", "Nord Stream 2"),
        ("leak-outlets", "El Pais"),
        ("escalation-watchlist", "Article 5"),
    ]
    assert run("--config", str(project), "test-rules", "--against", str(folder)) == 0
    out = capsys.readouterr().out
    assert "first reported at more than 100,000" in out
    assert "7 alerts would have been sent" in out and "nothing was sent" in out


def test_test_rules_with_one_rules_file(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = seeds_in_order(tmp_path / "replay")
    rules = REPO / "config" / "rules" / "figures.toml"
    assert (
        run("-c", str(project), "test-rules", "--rules", str(rules), "--against", str(folder)) == 0
    )
    out = capsys.readouterr().out
    assert "2 alerts would have been sent (2 rules" in out
    broken = tmp_path / "broken.toml"
    broken.write_text('[[rules]]\nname = "x"\ntype = "term"\nterms = ["a"]\nbogus = 1\n')
    assert run("-c", str(project), "test-rules", "--rules", str(broken), "--against", str(folder))
    assert 'rule "x": term.bogus: unknown key' in capsys.readouterr().err


def test_test_rules_since_replays_the_archive_without_touching_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, _ = load_config(project)
    folder = seeds_in_order(project.parent / "replay")
    items, refused = folder_items(sorted(folder.iterdir()), cfg)
    assert len(items) == 5 and not refused

    async def ingest() -> None:
        store = await ScratchStore.open(cfg.store.database_path)
        try:
            from wirewatch.store.articles import FileToStore

            for item in items:
                f = FileToStore(item.path, item.record.sha256, 1, 0, [item.record])
                await store.store_files([f])
        finally:
            await store.close()

    asyncio.run(ingest())
    assert run("-c", str(project), "test-rules", "--since", "2000-01-01", "--json") == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(alerts) == 7
    assert run("-c", str(project), "test-rules", "--since", "1d") == 0  # relative dates parse


def test_silence_add_list_expire(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            "-c",
            str(project),
            "silence",
            "add",
            "escalation-*",
            "--for",
            "2h",
            "--comment",
            "drill",
            "--by",
            "ana",
        )
        == 0
    )
    assert "silenced:" in capsys.readouterr().out
    assert (
        run("-c", str(project), "silence", "add", "nothing-like-it", "--key", "x", "--for", "10m")
        == 0
    )
    assert "no current rule matches" in capsys.readouterr().err
    assert run("-c", str(project), "silence", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["rule"], s["key"], s["active"]) for s in listed] == [
        ("escalation-*", None, True),
        ("nothing-like-it", "x", True),
    ]
    assert listed[0]["comment"] == "drill" and listed[0]["created_by"] == "ana"
    assert run("-c", str(project), "silence", "expire", str(listed[0]["id"])) == 0
    assert run("-c", str(project), "silence", "expire", str(listed[0]["id"])) == 1
    capsys.readouterr()
    assert run("-c", str(project), "silence", "list") == 0
    out = capsys.readouterr().out
    assert "nothing-like-it" in out and "escalation-*" not in out
    assert run("-c", str(project), "silence", "list", "--all") == 0
    assert "expired" in capsys.readouterr().out


def test_check_rules_summarises_and_parse_when(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    cfg, _ = load_config(REPO / "config" / "wirewatch.toml")
    lines = check_rules(cfg)
    assert lines[0].startswith("ok: rules config/rules: 7 rules in 3 files (")
    assert lines[1] == "  disabled: inbox-quiet"
    now = datetime(2022, 2, 5, tzinfo=UTC)
    assert parse_when("2022-02-01", now) == datetime(2022, 2, 1, tzinfo=UTC)
    assert parse_when("2d", now) == datetime(2022, 2, 3, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_when("yesterday", now)
