"""An alert's title and body: a good default per rule type, or the rule's own template.

The rules stage renders the message once, when the alert is made, so every
retry and every destination says the same. Templates are Jinja2 run in the
sandbox, because rules files are edited by more people than the code is
reviewed by: a template may read the variables below, not the process.

Variables (missing ones are empty):

``rule``, ``rule_type``, ``severity``
    the rule's name, its type (term, new_term, figure, frequency, spike,
    flatline) and severity.
``key``
    what the rule watches: the term, or the figure's subject ("troops").
``old_value``, ``new_value``
    the value before and now ("100,000" → "130,000"; mention counts for
    frequency, spike and flatline).
``sentence``
    the sentence that reports the new value.
``story_id``, ``story_title``
    the story the article belongs to.
``sources``, ``outlets``
    the outlets reporting it (a list of names) and how many there are.
``articles``
    a list of ``{title, source, url, published}``.
``labels``
    the rule's labels, a mapping.
``count``, ``window``, ``baseline``
    for frequency, spike and flatline: the count, the window it was counted
    in ("1h"), the usual count (defaults: ``new_value``, none, ``old_value``).

Filters beyond Jinja's own: ``n | plural("outlet")`` gives "1 outlet",
"3 outlets".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from ..logs import get_logger

log = get_logger("wirewatch.notify")

_IN_STORY = "{% if story_title %} in “{{ story_title }}”{% endif %}"
_SENTENCE = "{% if sentence %}\n\n“{{ sentence }}”{% endif %}"
_OUTLETS = (
    "{% if outlets %}\n\nReported by {{ outlets | plural('outlet') }}"
    "{% if sources %}: {{ sources | join(', ') }}{% endif %}.{% endif %}"
)

DEFAULT_MESSAGES: Mapping[str, tuple[str, str]] = {
    "term": (
        "{{ key }} is in the news",
        "“{{ key }}” is mentioned" + _IN_STORY + "." + _SENTENCE + _OUTLETS,
    ),
    "new_term": (
        "New in the news: {{ key }}",
        "“{{ key }}” appears for the first time" + _IN_STORY + "." + _SENTENCE + _OUTLETS,
    ),
    "figure": (
        "{{ key }}: {% if old_value %}{{ old_value }} → {% endif %}{{ new_value }}",
        "{% if old_value %}Reported {{ key }} changed from {{ old_value }} to {{ new_value }}"
        "{% else %}Reported {{ key }}: {{ new_value }}{% endif %}"
        + _IN_STORY
        + "."
        + _SENTENCE
        + _OUTLETS,
    ),
    "frequency": (
        "{{ key }}: {{ count }} mentions{% if window %} in {{ window }}{% endif %}",
        "“{{ key }}” was mentioned {{ count }} times{% if window %} in {{ window }}{% endif %}"
        + _IN_STORY
        + "."
        + _SENTENCE
        + _OUTLETS,
    ),
    "spike": (
        "{{ key }} is spiking: {{ old_value }} → {{ new_value }} mentions",
        "Mentions of “{{ key }}” rose to {{ new_value }}"
        "{% if window %} in {{ window }}{% endif %}, from a usual {{ baseline }}."
        + _SENTENCE
        + _OUTLETS,
    ),
    "flatline": (
        "{{ key }} has gone quiet: {{ old_value }} → {{ new_value }} mentions",
        "Mentions of “{{ key }}” fell to {{ new_value }}"
        "{% if window %} in {{ window }}{% endif %}, from a usual {{ baseline }}.",
    ),
}
GENERIC_MESSAGE = (
    "{{ rule }}{% if key %}: {{ key }}{% endif %}",
    "{% if new_value %}{% if old_value %}{{ old_value }} → {% endif %}{{ new_value }}{% endif %}"
    + _SENTENCE
    + _OUTLETS,
)


def _plural(n: object, word: str, plural: str | None = None) -> str:
    try:
        one = int(str(n)) == 1
    except ValueError:
        one = False
    return f"{n} {word if one else (plural or word + 's')}"


def _environment(*, trim: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=False, trim_blocks=trim, lstrip_blocks=trim)
    env.filters["plural"] = _plural
    return env


# A rule's template is usually a multi-line TOML string, so block tags on
# lines of their own should leave no blank lines (trim); the defaults above
# are written inline and keep every newline they spell out.
_RULE_ENV = _environment(trim=True)
_DEFAULT_ENV = _environment(trim=False)


@lru_cache(maxsize=256)
def _compile(source: str, *, default: bool = False) -> Template:
    return (_DEFAULT_ENV if default else _RULE_ENV).from_string(source)


def validate_template(source: str) -> None:
    """Raise ValueError naming the line and the problem if ``source`` is not valid Jinja2."""
    try:
        _compile(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template line {exc.lineno}: {exc.message}") from None


def template_context(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The documented variables, every one present, from what the rule supplied."""
    ctx: dict[str, Any] = {
        "rule": "",
        "rule_type": "",
        "severity": "info",
        "key": "",
        "old_value": None,
        "new_value": None,
        "sentence": None,
        "story_id": None,
        "story_title": None,
        "sources": [],
        "articles": [],
        "labels": {},
        "window": None,
    }
    ctx.update(fields)
    ctx["sources"] = list(dict.fromkeys(ctx["sources"] or ()))
    ctx.setdefault("outlets", len(ctx["sources"]))
    ctx.setdefault("count", ctx["new_value"])
    ctx.setdefault("baseline", ctx["old_value"])
    return ctx


_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"\s+")


def _render(source: str, ctx: Mapping[str, Any], *, default: bool = False) -> str:
    return _compile(source, default=default).render(ctx)


def render_message(
    alert_fields: Mapping[str, Any],
    title_template: str | None = None,
    body_template: str | None = None,
) -> tuple[str, str]:
    """The alert's (title, body): the rule's templates, else its type's defaults.

    A template that fails while rendering (it passed :func:`validate_template`
    but, say, divides by a missing value) falls back to the default and the
    failure is logged: an alert with the default wording beats no alert. So
    does a template that renders nothing. The title is one line; the body
    has no runs of blank lines.
    """
    ctx = template_context(alert_fields)
    default_title, default_body = DEFAULT_MESSAGES.get(str(ctx["rule_type"]), GENERIC_MESSAGE)
    out: list[str] = []
    for part, custom, default in (
        ("title", title_template, default_title),
        ("body", body_template, default_body),
    ):
        text = None
        if custom:
            try:
                text = _render(custom, ctx)
            except Exception as exc:
                log.warning(
                    "template_failed",
                    rule=ctx["rule"],
                    part=part,
                    error=f"{type(exc).__name__}: {exc}",
                )
        out.append(text if text and text.strip() else _render(default, ctx, default=True))
    title = _SPACES.sub(" ", out[0]).strip() or str(ctx["rule"]) or "alert"
    body = _BLANK_LINES.sub("\n\n", out[1]).strip()
    return title, body
