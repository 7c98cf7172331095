"""Alert titles and bodies from the rules' templates.

Templates are Jinja2 in a sandbox with undefined names as errors, checked
when the rules load: a typo in a field name must refuse the reload, not
blank out an alert at 3 a.m. Each rule type knows which fields it fills,
so a template is checked against exactly those. If rendering still fails
(a field that is ``None`` where the template expected text), the alert is
sent with the type's default template rather than lost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from .config import format_duration

__all__ = [
    "COMMON_FIELDS",
    "DEFAULT_MESSAGES",
    "DEFAULT_TITLES",
    "TEMPLATE_FIELDS",
    "Template",
    "TemplateProblem",
    "compile_template",
    "format_number",
    "format_value",
]


def format_number(value: float) -> str:
    """``100000`` → ``"100,000"``; ``2.5`` → ``"2.5"``."""
    if math.isfinite(value) and value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def format_value(low: float, high: float, kind: str = "count", currency: str | None = None) -> str:
    """A point or a range as people write it: ``"100,000"``, ``"20,000–99,999"``."""
    text = format_number(low) if low == high else f"{format_number(low)}–{format_number(high)}"
    if kind == "percent":
        return f"{text}%"
    if kind == "money" and currency:
        return f"{currency} {text}"
    return text


def _duration(value: Any) -> str:
    return format_duration(value) if isinstance(value, timedelta) else str(value)


_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)
_ENV.filters["number"] = format_number
_ENV.filters["duration"] = _duration

COMMON_FIELDS = frozenset(
    {
        "rule",
        "type",
        "severity",
        "description",
        "labels",
        "reason",
        "key",
        "value",
        "old_value",
        "new_value",
        "now",
        "article",
        "source",
        "sources",
        "story",
        "sentence",
        # The notify stage's names for the same things, so a template
        # written for either reads the same.
        "rule_type",
        "story_id",
        "story_title",
        "articles",
        "outlets",
    }
)

TEMPLATE_FIELDS: dict[str, frozenset[str]] = {
    "term": COMMON_FIELDS | {"terms", "counts"},
    "new_term": COMMON_FIELDS | {"term", "count", "baseline"},
    "figure": COMMON_FIELDS
    | {
        "figure",
        "unit",
        "new_text",
        "old_text",
        "change",
        "delta",
        "percent",
        "threshold",
        "threshold_text",
        "direction",
    },
    "frequency": COMMON_FIELDS | {"count", "timeframe", "window", "num_events", "num_sources"},
    "spike": COMMON_FIELDS | {"current", "reference", "timeframe", "window", "spike_height"},
    "flatline": COMMON_FIELDS | {"count", "timeframe", "window", "threshold"},
}
"""The names each type's templates may use (plus Jinja2's own)."""

_SOURCE_LINE = (
    "{% if sources %}Reported by {{ sources|join(', ') }}{% endif %}"
    "{% if article %} — {{ article.title }} ({{ article.path }}){% endif %}"
)

DEFAULT_TITLES: dict[str, str] = {
    "term": "{{ rule }}: {{ terms|join(', ') }} in “{{ article.title }}”",
    "new_term": "{{ rule }}: new term “{{ term }}”",
    "figure": (
        "{% if reason == 'first' %}{{ rule }}: first reported at {{ new_text }}"
        "{% elif reason == 'threshold' %}{{ rule }}: {{ new_text }} "
        "({{ direction }} {{ threshold_text }})"
        "{% else %}{{ rule }}: {{ change }} ({{ percent }}){% endif %}"
    ),
    "frequency": (
        "{{ rule }}: {{ count }} {{ 'sources' if num_sources else 'articles' }}"
        " in {{ timeframe }}{% if key %} ({{ key }}){% endif %}"
    ),
    "spike": (
        "{{ rule }}: {{ current }} articles in {{ timeframe }}, up from {{ reference }}"
        "{% if key %} ({{ key }}){% endif %}"
    ),
    "flatline": (
        "{{ rule }}: {{ count }} articles in {{ timeframe }}"
        "{% if key %} from {{ key }}{% endif %} (expected at least {{ threshold }})"
    ),
}

DEFAULT_MESSAGES: dict[str, str] = {
    "term": "{{ counts|join(', ') }}\n" + _SOURCE_LINE,
    "new_term": (
        "“{{ term }}” is mentioned ({{ count }}×), the first time in {{ baseline }}.\n"
        + _SOURCE_LINE
    ),
    "figure": (
        "{% if sentence %}“{{ sentence }}”\n{% endif %}"
        "{% if old_text %}Last alerted: {{ old_text }}. {% endif %}Now: {{ new_text }}.\n"
        + _SOURCE_LINE
    ),
    "frequency": "{% if sources %}Sources: {{ sources|join(', ') }}{% endif %}",
    "spike": "{{ current }} articles in the last {{ timeframe }} against {{ reference }} before.",
    "flatline": "Expected at least {{ threshold }} in {{ timeframe }}; a quiet feed may be dead.",
}


class TemplateProblem(ValueError):
    """A template that does not compile or names a field its type does not fill."""


class Template:
    """A compiled template together with its source, for messages."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled = _ENV.from_string(source)

    def render(self, fields: Mapping[str, Any]) -> str:
        return self._compiled.render(dict(fields)).strip()


@lru_cache(maxsize=1024)
def compile_template(source: str, rule_type: str) -> Template:
    """Compile ``source`` and check it uses only the fields of ``rule_type``.

    Cached: most rules share their type's default templates, and compiling
    a Jinja2 template costs milliseconds, which 200 rules on every reload
    would feel.
    """
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(
            f"template syntax error on line {exc.lineno}: {exc.message}"
        ) from None
    unknown = sorted(meta.find_undeclared_variables(ast) - TEMPLATE_FIELDS[rule_type])
    if unknown:
        known = ", ".join(sorted(TEMPLATE_FIELDS[rule_type]))
        raise TemplateProblem(
            f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(a {rule_type} rule has: {known})"
        )
    return Template(source)
