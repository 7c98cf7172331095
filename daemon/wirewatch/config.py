"""The main configuration: its shape, its defaults and its validation.

The sections follow the data's way through the service (watch, parse, store,
pipeline, log), the way a Vector config reads like its topology. Everything
has a default, so the service runs with no file at all; a file overrides only
what it names. Unknown keys are errors (a typo must not silently fall back to
a default), and every error names the file, the key path and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator

from .notify.config import NotifyConfig, SinkConfig
from .rules.config import RulesConfig
from .section import Section as _Section
from .stories.config import StoriesConfig

DEFAULT_CONFIG_PATHS = (Path("config/wirewatch.toml"), Path("/etc/wirewatch/wirewatch.toml"))
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration that cannot be used; the message is meant for a person."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


PositiveFloat = Annotated[float, Field(gt=0)]


class WatchConfig(_Section):
    """Where articles arrive and how the service notices them."""

    inboxes: list[Path] = Field(default_factory=lambda: [Path("inbox")], min_length=1)
    recursive: bool = False
    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)
    mode: Literal["native", "polling"] = "native"
    poll_interval: PositiveFloat = 1.0
    settle: Annotated[float, Field(ge=0)] = 1.0
    rescan_interval: PositiveFloat = 60.0
    queue_size: Annotated[int, Field(ge=1)] = 10_000


class ParseConfig(_Section):
    """Limits and extra boilerplate for the parser."""

    max_bytes: Annotated[int, Field(ge=1)] = 10 * 1024 * 1024
    boilerplate_lines: list[str] = Field(default_factory=list)
    boilerplate_patterns: list[str] = Field(default_factory=list)

    @field_validator("boilerplate_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for i, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"item {i}: bad regular expression {pattern!r}: {exc}") from exc
        return patterns


class StoreConfig(_Section):
    """The state folder, the database, and what becomes of an ingested file."""

    state_dir: Path = Path("var")
    database: Path | None = None
    after_store: Literal["move", "delete", "keep"] = "move"
    processed_dir: Path = Path("processed")
    quarantine_dir: Path = Path("quarantine")
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 200
    busy_timeout_ms: Annotated[int, Field(ge=0)] = 5_000

    @property
    def database_path(self) -> Path:
        return self.database if self.database is not None else self.state_dir / "wirewatch.db"


class ExtractConfig(_Section):
    """What the extract stage looks for: figures, watched terms, new names.

    ``watchlist`` maps a canonical term to its aliases, e.g.
    ``Kyiv = ["Kiev"]``; mentions of any alias count for the term.
    """

    figures: bool = True
    entities: bool = True
    watchlist: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("watchlist")
    @classmethod
    def _terms_not_blank(cls, terms: dict[str, list[str]]) -> dict[str, list[str]]:
        for term, aliases in terms.items():
            if not term.strip() or any(not a.strip() for a in aliases):
                raise ValueError(f"term {term!r}: terms and aliases must not be blank")
        return terms


class PipelineConfig(_Section):
    """How many files are worked on at once, and where.

    ``prepare_processes`` worker processes read, parse and extract, so the
    writer's process keeps its interpreter lock to itself; 0 does that work
    in threads of the writer's process (less memory, one core).
    """

    workers: Annotated[int, Field(ge=1, le=256)] = 16
    prepare_processes: Annotated[int, Field(ge=0, le=64)] = 1
    pin_cpus: bool = False
    """Keep the writer's process on the first CPU it is allowed and its helper
    processes (the parse workers, the stories engine) on the others
    (:mod:`wirewatch.cpus`). Off by default: two instances on one machine
    would both take the same first CPU unless each is given its own CPUs
    (systemd's ``CPUAffinity=``)."""


class HealthConfig(_Section):
    """The optional HTTP endpoint for health probes and Prometheus.

    Off by default: a daemon should not open a port nobody asked for. Port 0
    picks a free port (the service logs which).
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9478


class LogConfig(_Section):
    """Log lines: JSON for machines, readable text for a terminal."""

    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(_Section):
    """The whole main configuration file."""

    watch: WatchConfig = Field(default_factory=WatchConfig)
    parse: ParseConfig = Field(default_factory=ParseConfig)
    extract: ExtractConfig = Field(default_factory=ExtractConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    sinks: dict[str, SinkConfig] = Field(default_factory=dict)
    stories: StoriesConfig = Field(default_factory=StoriesConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)


def interpolate(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) in every string of a TOML tree.

    Done before validation, so secrets can stay out of the file. An unset
    variable without a default is an error naming the key that refers to it.
    """
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError("", [f"{path or '<root>'}: environment variable {name} is not set"])

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per problem: ``key.path: what is wrong``."""
    problems = []
    for err in exc.errors():
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        problems.append(f"{_key_path(tuple(err['loc']))}: {msg}")
    return problems


def parse_config(data: Mapping[str, Any], source: str, env: Mapping[str, str]) -> Config:
    """Validate an already-decoded TOML tree."""
    try:
        expanded = interpolate(dict(data), env)
    except ConfigError as exc:
        raise ConfigError(source, exc.problems) from None
    try:
        return Config.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(source, format_validation_error(exc)) from None


def load_config(
    path: Path | None, env: Mapping[str, str] | None = None
) -> tuple[Config, Path | None]:
    """Load the main config; with no path, the first default file that exists.

    Returns the config and the file it came from (``None`` for the embedded
    defaults, which is what a fresh checkout runs on).
    """
    env = os.environ if env is None else env
    if path is None:
        path = next((p for p in DEFAULT_CONFIG_PATHS if p.is_file()), None)
        if path is None:
            return Config(), None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"not UTF-8: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"TOML syntax error: {exc}"]) from None
    return parse_config(data, str(path), env), path
