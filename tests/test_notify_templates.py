"""Alert messages: defaults per rule type and sandboxed rule templates."""

from __future__ import annotations

from typing import Any

import pytest

from wirewatch.notify.templates import DEFAULT_MESSAGES, render_message, validate_template

FIELDS: dict[str, Any] = {
    "rule": "troops",
    "key": "troops on the border",
    "old_value": "100,000",
    "new_value": "130,000",
    "sentence": "Russia has massed 130,000 troops near the border.",
    "story_title": "Russia's build-up",
    "sources": ["AFP", "Reuters", "AFP"],
    "window": "1h",
}


@pytest.mark.parametrize("rule_type", sorted(DEFAULT_MESSAGES))
def test_every_rule_type_has_a_default_that_says_what_changed(rule_type: str) -> None:
    title, body = render_message({**FIELDS, "rule_type": rule_type})
    assert "troops on the border" in title and "\n" not in title
    assert "130,000" in title + body
    if rule_type != "flatline":
        assert "“Russia has massed 130,000 troops near the border.”" in body
        assert "Reported by 2 outlets: AFP, Reuters." in body
    assert "\n\n\n" not in body


def test_the_figure_default_shows_old_and_new() -> None:
    title, body = render_message({**FIELDS, "rule_type": "figure"})
    assert title == "troops on the border: 100,000 → 130,000"
    assert body.startswith("Reported troops on the border changed from 100,000 to 130,000")
    first, _ = render_message({**FIELDS, "rule_type": "figure", "old_value": None})
    assert first == "troops on the border: 130,000"


def test_missing_values_leave_no_holes() -> None:
    title, body = render_message({"rule": "r", "rule_type": "term", "key": "NATO"})
    assert title == "NATO is in the news"
    assert body == "“NATO” is mentioned."


def test_a_rule_template_overrides_title_and_body() -> None:
    title, body = render_message(
        {**FIELDS, "rule_type": "figure", "labels": {"desk": "europe"}},
        "[{{ labels.desk | upper }}] {{ key }} now {{ new_value }}",
        """
{% for s in sources %}
- {{ s }}
{% endfor %}
{{ outlets | plural("outlet") }}, {{ articles | length | plural("article") }}
""",
    )
    assert title == "[EUROPE] troops on the border now 130,000"
    assert body == "- AFP\n- Reuters\n2 outlets, 0 articles"


@pytest.mark.parametrize(
    "template",
    [
        "{{ key.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ 1 / 0 }}",
    ],
)
def test_the_sandbox_refuses_and_the_default_stands_in(template: str) -> None:
    title, _ = render_message({**FIELDS, "rule_type": "figure"}, template)
    assert title == "troops on the border: 100,000 → 130,000"


def test_validate_template_reports_the_line_and_problem() -> None:
    validate_template("{{ key }} {% if old_value %}{{ old_value }}{% endif %}")
    with pytest.raises(ValueError, match=r"template line 2: .*'endif'"):
        validate_template("ok\n{% if old_value %}")
    with pytest.raises(ValueError, match="template line 1"):
        validate_template("{{ key | }}")
