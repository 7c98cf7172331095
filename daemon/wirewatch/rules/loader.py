"""Rule files to a validated, compiled, immutable :class:`RuleSet`.

Everything that can be wrong with a rule is found here, before a rule set
exists: TOML syntax, unknown keys, wrong types, bad durations, regular
expressions that do not compile, templates that do not parse or name
fields their type does not fill, destinations that are not defined,
duplicate names. Every problem is one line naming the file, the rule and
the field, e.g.::

    config/rules/border.toml: rule "troops-at-border": figure.change_rel: Input should be ...

so a reload can be refused with a message a person can act on, while the
old rule set stays in force.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..config import ConfigError
from ..extract.terms import Watchlist, compile_watchlist
from .config import AnyRule, RuleConfig
from .render import DEFAULT_MESSAGES, DEFAULT_TITLES, Template, TemplateProblem, compile_template
from .scope import CompiledScope, compile_scope
from .types import RuleType, build_type

__all__ = ["CompiledRule", "RuleSet", "RulesError", "load_rules", "rule_files"]

_RULE = TypeAdapter(RuleConfig)
_LINE_COL = re.compile(r"\(at line (\d+), column (\d+)\)")
_NAME_LINE = re.compile(r"""^\s*name\s*=\s*["']([^"']+)["']""")
_KEY_LINE = re.compile(r"""^\s*["']?([A-Za-z0-9_.\-]+)["']?\s*=""")


class RulesError(ConfigError):
    """Rules that cannot be used; one line per problem, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        self.source = "rules"
        self.problems = problems
        Exception.__init__(self, "\n".join(problems))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule, validated and ready: its type object, scope and templates."""

    config: AnyRule
    file: Path
    type: RuleType
    scope: CompiledScope
    destinations: tuple[str, ...]
    title: Template
    message: Template
    tracking: dict[str, Any]
    tracking_hash: str
    definition_hash: str

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True)
class RuleSet:
    """All enabled rules, as one immutable value swapped in whole."""

    rules: tuple[CompiledRule, ...] = ()
    disabled: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    matcher: Watchlist | None = None
    warnings: tuple[str, ...] = ()
    digest: str = ""
    _by_name: dict[str, CompiledRule] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, name: str) -> CompiledRule | None:
        return self._by_name.get(name)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]


def _where(path: Path, rule: str | None) -> str:
    return f"{path}: rule {json.dumps(rule, ensure_ascii=False)}" if rule else f"{path}"


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_lines(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        loc = _loc(tuple(err["loc"]))
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = "type"
        lines.append(f"{loc or 'rule'}: {msg}")
    return lines


def _syntax_problem(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """A TOML syntax error with its line, and the rule and key it was in if known."""
    lines = text.splitlines()
    m = _LINE_COL.search(str(exc))
    if m:
        line_no = int(m.group(1))
    elif "end of document" in str(exc):
        line_no = max(1, len(lines))
    else:
        return f"{path}: TOML syntax error: {exc}"
    rule = None
    for line in reversed(lines[:line_no]):
        found = _NAME_LINE.match(line)
        if found:
            rule = found.group(1)
            break
        if line.strip() == "[[rules]]":
            break
    where = _where(path, rule)
    key = _KEY_LINE.match(lines[line_no - 1]) if 0 < line_no <= len(lines) else None
    at = f"line {line_no}" + (f" ({key.group(1)})" if key else "")
    return f"{where}: {at}: TOML syntax error: {exc}"


def rule_files(folder: Path) -> list[Path]:
    """The rule files of a folder, in name order; editor droppings skipped."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.glob("*.toml")
        if not p.name.startswith((".", "#", "_")) and not p.name.endswith("~") and p.is_file()
    )


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _compile_rule(
    path: Path,
    raw: dict[str, Any],
    sink_names: set[str],
    default_destinations: Sequence[str],
    problems: list[str],
) -> CompiledRule | None:
    name = raw.get("name") if isinstance(raw.get("name"), str) else None
    where = _where(path, name)
    try:
        cfg: AnyRule = _RULE.validate_python(raw)
    except ValidationError as exc:
        problems.extend(f"{where}: {line}" for line in _validation_lines(exc))
        return None
    tag = cfg.type
    ok = True
    destinations = list(cfg.destinations) if cfg.destinations is not None else None
    for i, dest in enumerate(destinations or []):
        if dest not in sink_names:
            defined = ", ".join(sorted(sink_names)) or "none"
            problems.append(
                f"{where}: {tag}.destinations[{i}]: undefined sink {dest!r} (defined: {defined})"
            )
            ok = False
    if destinations is None:
        destinations = [d for d in default_destinations if d in sink_names] or ["console"]
    templates: dict[str, Template] = {}
    for field_name, default in (("title", DEFAULT_TITLES), ("message", DEFAULT_MESSAGES)):
        source = getattr(cfg, field_name)
        try:
            templates[field_name] = compile_template(
                default[tag] if source is None else source, tag
            )
        except TemplateProblem as exc:
            problems.append(f"{where}: {tag}.{field_name}: {exc}")
            ok = False
    if not ok:
        return None
    rule_type = build_type(cfg)
    tracking = rule_type.tracking()
    return CompiledRule(
        config=cfg,
        file=path,
        type=rule_type,
        scope=compile_scope(cfg.scope, cfg.aliases),
        destinations=tuple(dict.fromkeys(destinations)),
        title=templates["title"],
        message=templates["message"],
        tracking=tracking,
        tracking_hash=_hash(tracking),
        definition_hash=_hash(cfg.model_dump(mode="json")),
    )


def _load_file(
    path: Path,
    sink_names: set[str],
    default_destinations: Sequence[str],
    problems: list[str],
) -> tuple[list[CompiledRule], bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        return [], b""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8: {exc}")
        return [], data
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(_syntax_problem(path, text, exc))
        return [], data
    for key in doc:
        if key != "rules":
            problems.append(f"{path}: {key}: unknown key (a rules file holds [[rules]] tables)")
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        problems.append(f"{path}: rules: expected [[rules]] tables")
        return [], data
    compiled = []
    for i, raw in enumerate(raw_rules):
        if "name" not in raw:
            problems.append(f"{path}: rules[{i}]: name: Field required")
            continue
        rule = _compile_rule(path, raw, sink_names, default_destinations, problems)
        if rule is not None:
            compiled.append(rule)
    return compiled, data


def load_rules(
    folder: Path,
    sink_names: set[str],
    single_file: Path | None = None,
    *,
    default_destinations: Sequence[str] = ("console",),
) -> RuleSet:
    """Load and validate every rule file of ``folder`` (or just ``single_file``).

    ``sink_names`` are the notify sinks the main config defines (``console``
    is always one). Raises :class:`RulesError` listing every problem found;
    a missing folder is an empty rule set with a warning, so a fresh
    install runs.
    """
    sinks = set(sink_names) | {"console"}
    warnings: list[str] = []
    if single_file is not None:
        if not single_file.is_file():
            raise RulesError([f"{single_file}: no such file"])
        files = [single_file]
    else:
        files = rule_files(folder)
        if not folder.is_dir():
            warnings.append(f"{folder}: rules folder does not exist; no rules loaded")
    problems: list[str] = []
    rules: list[CompiledRule] = []
    blobs: list[bytes] = []
    first_file: dict[str, Path] = {}
    for path in files:
        compiled, data = _load_file(path, sinks, default_destinations, problems)
        blobs.append(path.name.encode() + b"\0" + data)
        for rule in compiled:
            if rule.name in first_file:
                problems.append(
                    f"{_where(path, rule.name)}: name: duplicate rule name "
                    f"(also in {first_file[rule.name]})"
                )
                continue
            first_file[rule.name] = path
            rules.append(rule)
    if problems:
        raise RulesError(problems)
    enabled = tuple(r for r in rules if r.config.enabled)
    spellings: set[str] = set()
    for rule in enabled:
        spellings |= rule.type.spellings()
        spellings |= rule.scope.spellings
    matcher = compile_watchlist({s: [] for s in sorted(spellings)}) if spellings else None
    return RuleSet(
        rules=enabled,
        disabled=tuple(r.name for r in rules if not r.config.enabled),
        files=tuple(files),
        matcher=matcher,
        warnings=tuple(warnings),
        digest=_digest(blobs),
        _by_name={r.name: r for r in enabled},
    )
