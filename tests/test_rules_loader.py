"""Rule files: what loads, and what is refused with a message naming file, rule and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from wirewatch.rules.config import format_duration, parse_duration
from wirewatch.rules.loader import RulesError, load_rules

REPO = Path(__file__).resolve().parents[1]

GOOD = """
[[rules]]
name = "troops-at-border"
type = "figure"
units = ["troops"]
context_any = ["Russia"]
sentence_regex = '\\bborders?\\b'
alert_on_first = true
change_rel = 0.1
destinations = ["console"]

[[rules]]
name = "new-words"
type = "new_term"
terms = ["invasion"]
title = "{{ rule }}: {{ term }} ({{ count }}x)"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(folder: Path, sinks: frozenset[str] = frozenset({"console"})) -> list[str]:
    with pytest.raises(RulesError) as info:
        load_rules(folder, set(sinks))
    return info.value.problems


def test_good_rules_load_compiled(tmp_path: Path) -> None:
    write(tmp_path, "border.toml", GOOD)
    rs = load_rules(tmp_path, {"console"})
    assert rs.names == ["troops-at-border", "new-words"]
    rule = rs.get("troops-at-border")
    assert rule is not None and rule.destinations == ("console",)
    assert rs.matcher is not None
    assert {k for k, _ in rs.matcher.patterns} == {"invasion"}


def test_the_shipped_examples_load(tmp_path: Path) -> None:
    rs = load_rules(REPO / "config" / "rules", {"console"})
    assert len(rs) >= 6
    assert {r.config.type for r in rs.rules} >= {"figure", "new_term", "term", "frequency", "spike"}


def test_syntax_error_names_file_line_rule_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "border.toml", GOOD.replace("change_rel = 0.1", "change_rel = "))
    (line,) = problems(tmp_path)
    assert line.startswith(f'{path}: rule "troops-at-border": line 9 (change_rel): TOML syntax')


def test_unknown_key_names_file_rule_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "border.toml", GOOD.replace("change_rel", "chnage_rel"))
    assert problems(tmp_path) == [
        f'{path}: rule "troops-at-border": figure.chnage_rel: unknown key'
    ]


def test_wrong_type_names_file_rule_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "border.toml", GOOD.replace("0.1", '"lots"'))
    (line,) = problems(tmp_path)
    assert line.startswith(f'{path}: rule "troops-at-border": figure.change_rel: Input should be')


def test_bad_regex(tmp_path: Path) -> None:
    path = write(tmp_path, "border.toml", GOOD.replace("\\bborders?\\b", "(border"))
    (line,) = problems(tmp_path)
    assert line.startswith(f'{path}: rule "troops-at-border": figure.sentence_regex: bad regular')


def test_undefined_destination(tmp_path: Path) -> None:
    path = write(tmp_path, "border.toml", GOOD.replace('["console"]', '["console", "slack"]'))
    (line,) = problems(tmp_path)
    assert line == (
        f'{path}: rule "troops-at-border": figure.destinations[1]: '
        "undefined sink 'slack' (defined: console)"
    )
    assert load_rules(tmp_path, {"console", "slack"}).get("troops-at-border") is not None


def test_bad_templates(tmp_path: Path) -> None:
    path = write(tmp_path, "t.toml", GOOD.replace("{{ count }}x)", "{{ count }x)"))
    (line,) = problems(tmp_path)
    assert line.startswith(f'{path}: rule "new-words": new_term.title: template syntax error')
    write(tmp_path, "t.toml", GOOD.replace("{{ count }}", "{{ cuont }}"))
    (line,) = problems(tmp_path)
    assert line.startswith(f'{path}: rule "new-words": new_term.title: unknown field cuont')


def test_bad_duration_type_and_missing_field(tmp_path: Path) -> None:
    write(
        tmp_path,
        "v.toml",
        """
[[rules]]
name = "busy"
type = "frequency"
timeframe = "10 minutes"
num_events = 3

[[rules]]
name = "typo"
type = "frequncy"

[[rules]]
name = "no-units"
type = "figure"
""",
    )
    lines = problems(tmp_path)
    assert any('rule "busy": frequency.timeframe: bad duration' in line for line in lines)
    assert any('rule "typo": type: Input tag' in line for line in lines)
    assert any('rule "no-units": figure.units: Field required' in line for line in lines)


def test_cross_field_checks(tmp_path: Path) -> None:
    write(
        tmp_path,
        "x.toml",
        """
[[rules]]
name = "both"
type = "frequency"
timeframe = "1h"
num_events = 3
num_sources = 2

[[rules]]
name = "nothing"
type = "new_term"
""",
    )
    lines = problems(tmp_path)
    assert any('"both": frequency: give exactly one of num_events' in line for line in lines)
    assert any('"nothing": new_term: give terms, or names' in line for line in lines)


def test_duplicate_names_and_unknown_top_level_keys(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", GOOD)
    write(tmp_path, "b.toml", GOOD.split("[[rules]]")[2].join(["[[rules]]", ""]) + "\n[extra]\n")
    lines = problems(tmp_path)
    assert any(
        'b.toml: rule "new-words": name: duplicate rule name (also in' in line for line in lines
    )
    assert any(
        line.endswith("b.toml: extra: unknown key (a rules file holds [[rules]] tables)")
        for line in lines
    )


def test_missing_folder_is_empty_with_warning_and_editor_files_are_skipped(
    tmp_path: Path,
) -> None:
    rs = load_rules(tmp_path / "nope", {"console"})
    assert len(rs) == 0 and rs.warnings
    write(tmp_path, "a.toml", GOOD)
    write(tmp_path, ".#a.toml", "broken [")
    write(tmp_path, "a.toml~", "broken [")
    assert len(load_rules(tmp_path, {"console"})) == 2


def test_disabled_rules_are_validated_but_not_loaded(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.toml",
        GOOD.replace('name = "new-words"', 'name = "new-words"\nenabled = false'),
    )
    rs = load_rules(tmp_path, {"console"})
    assert rs.names == ["troops-at-border"] and rs.disabled == ("new-words",)


def test_single_file(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", GOOD)
    other = write(tmp_path / "elsewhere", "b.toml", GOOD.replace("troops-at-border", "other"))
    rs = load_rules(tmp_path, {"console"}, single_file=other)
    assert "other" in rs.names and "troops-at-border" not in rs.names
    with pytest.raises(RulesError, match="no such file"):
        load_rules(tmp_path, {"console"}, single_file=tmp_path / "missing.toml")


def test_durations() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration(45) == timedelta(seconds=45)
    assert parse_duration("0") == timedelta(0)
    assert format_duration(timedelta(days=30)) == "30d"
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    for bad in ("10 minutes", "-1h", "h", True):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)
