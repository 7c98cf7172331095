"""Payloads per destination: content, escaping, and every limit under a 50,000-char sentence."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_notify_support import make_alert
from wirewatch.models import ArticleRef
from wirewatch.notify.console import format_line
from wirewatch.notify.render import (
    clip,
    embed_length,
    encode,
    render_discord,
    render_slack,
    render_teams,
    render_webhook,
    text_length,
)
from wirewatch.notify.templates import render_message

LONG = "More than " + "130,000 troops massed near the border " * 1400  # ≈ 50,000 characters


def huge_alert() -> Any:
    fields = {
        "rule": "troops",
        "rule_type": "figure",
        "key": "troops on the border",
        "old_value": "100,000",
        "new_value": "130,000",
        "sentence": LONG,
        "sources": ["AFP", "Reuters"],
    }
    title, body = render_message(fields)
    refs = tuple(
        ArticleRef(i, "Troops " * 100, "Outlet " * 50, f"/in/{i}", f"https://ex.com/{i}?a=1&b=2")
        for i in range(40)
    )
    return make_alert(
        1, title=title * 20, body=body, sentence=LONG, sources=("AFP",) * 200, articles=refs
    )


def assert_slack_valid(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= 50
    assert 0 < text_length(payload["text"]) <= 3000
    for block in blocks:
        if block["type"] == "header":
            assert 0 < text_length(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            if "text" in block:
                assert 0 < text_length(block["text"]["text"]) <= 3000
            for field in block.get("fields", ()):
                assert 0 < text_length(field["text"]) <= 2000
            assert len(block.get("fields", ())) <= 10
        elif block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(text_length(e["text"]) <= 3000 for e in block["elements"])


def assert_discord_valid(payload: dict[str, Any]) -> None:
    assert text_length(payload.get("content", "")) <= 2000
    embeds = payload["embeds"]
    assert 1 <= len(embeds) <= 10
    assert sum(embed_length(e) for e in embeds) <= 6000
    for e in embeds:
        assert 0 < text_length(e["title"]) <= 256
        assert text_length(e.get("description", "")) <= 4096
        assert len(e["fields"]) <= 25
        for f in e["fields"]:
            assert 0 < text_length(f["name"]) <= 256
            assert 0 < text_length(f["value"]) <= 1024
        assert text_length(e["footer"]["text"]) <= 2048


def test_a_50000_character_sentence_still_makes_valid_payloads() -> None:
    alert = huge_alert()
    assert len(alert.sentence) >= 50_000 and len(alert.body) >= 50_000
    slack, discord, teams = render_slack(alert), render_discord(alert), render_teams(alert)
    assert_slack_valid(slack)
    assert_discord_valid(discord)
    assert len(encode(teams)) <= 28_000
    for payload in (slack, discord, teams):
        json.loads(encode(payload))
    assert slack["blocks"][1]["text"]["text"].endswith("…")
    assert discord["embeds"][0]["description"].startswith("Reported troops on the border")


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(min_size=0, max_size=400),
    body=st.text(min_size=0, max_size=9000),
    value=st.text(min_size=0, max_size=3000),
)
def test_any_text_fits_every_limit(title: str, body: str, value: str) -> None:
    alert = make_alert(1, title=title, body=body, new_value=value, story_title=value)
    assert_slack_valid(render_slack(alert))
    assert_discord_valid(render_discord(alert))
    assert len(encode(render_teams(alert))) <= 28_000


def test_clip_counts_utf16_units_and_marks_the_cut() -> None:
    assert clip("short", 10) == "short"
    assert clip("abcdefghij", 5) == "abcd…"
    emoji = "😀" * 10  # two UTF-16 units each
    cut = clip(emoji, 7)
    assert text_length(cut) <= 7 and cut.endswith("…")


def test_slack_escapes_control_characters_so_nobody_is_pinged() -> None:
    alert = make_alert(1, body="<!channel> troops & tanks <https://evil|click>" + "&" * 4000)
    payload = render_slack(alert)
    text = payload["blocks"][1]["text"]["text"]
    assert "<!channel>" not in text and text.startswith("&lt;!channel&gt; troops &amp; tanks")
    assert text.endswith("&amp;…"), "never half an entity at the cut"


def test_slack_shows_facts_links_and_a_readable_fallback() -> None:
    payload = render_slack(make_alert(3))
    fields = [f["text"] for f in payload["blocks"][2]["fields"]]
    assert fields[:2] == ["Before\n100,000", "Now\n103,000"]
    assert "Outlets\n2: AFP, Reuters" in fields
    assert payload["blocks"][3]["text"]["text"] == "• <https://example.com/a|AFP: Troops gather>"
    assert payload["text"].startswith("troops on the border: 100,000 → 103,000\n")


def test_discord_embed_has_fields_a_link_and_no_mentions() -> None:
    payload = render_discord(make_alert(2, body="@everyone look"))
    embed = payload["embeds"][0]
    assert payload["allowed_mentions"] == {"parse": []}
    assert embed["url"] == "https://example.com/a"
    names = [f["name"] for f in embed["fields"]]
    assert names == ["Before", "Now", "Outlets", "Story", "Severity", "Articles"]
    assert embed["fields"][-1]["value"] == "[AFP: Troops gather](https://example.com/a)"


def test_teams_is_an_adaptive_card_in_a_message() -> None:
    payload = render_teams(make_alert(1))
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "AFP: Troops gather",
        "url": "https://example.com/a",
    }


def test_the_webhook_payload_is_versioned_and_complete() -> None:
    alert = make_alert(4, labels=(("team", "desk"),))
    payload = render_webhook(alert)
    assert payload["version"] == "1" and payload["type"] == "alert"
    assert payload["id"] == alert.id and payload["fingerprint"] == alert.fingerprint
    assert payload["rule"] == {"name": "troops", "type": "figure"}
    assert payload["change"] == {
        "key": "troops on the border",
        "old_value": "100,000",
        "new_value": "104,000",
        "sentence": "Russia has massed 104,000 troops.",
    }
    assert payload["story"] == {"id": 7, "title": "Russia's build-up"}
    assert payload["sources"] == ["AFP", "Reuters"]
    assert payload["articles"][0]["url"] == "https://example.com/a"
    assert payload["labels"] == {"team": "desk"}
    assert len(render_webhook(huge_alert())["change"]["sentence"]) <= 16_384


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd"])
def test_only_http_links_are_rendered(url: str) -> None:
    alert = make_alert(1, articles=(ArticleRef(1, "x", "AFP", "/p", url),))
    assert "url" not in render_discord(alert)["embeds"][0]
    assert "actions" not in render_teams(alert)["attachments"][0]["content"]


def test_console_line_is_one_readable_line() -> None:
    line = format_line(make_alert(1, title="multi\nline  title"))
    assert line == (
        "ALERT [warning] troops: multi line title (2 outlets: AFP, Reuters) https://example.com/a"
    )
