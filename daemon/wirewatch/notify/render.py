"""An alert as each destination's JSON, always within that destination's limits.

Every chat service rejects a payload that exceeds one of its limits, and an
article's sentence can be any length, so each text is cut to its field's
limit before serialising (with "…"), and then the whole is cut to the
payload's total limit. Lengths are counted in UTF-16 code units, which is
never less than what any of the services counts. Pure functions: an
``Alert`` in, a dict out.

The generic ``webhook`` payload (version "1") is a stable contract::

    {
      "version": "1",                 # bumped only for incompatible changes
      "type": "alert",
      "id": "…",                      # also the webhook-id header; same on every retry
      "fingerprint": "…",             # (rule, key, value): the same alert never fires twice
      "created_at": "2022-02-04T10:00:00+00:00",
      "severity": "warning",
      "title": "troops: 100,000 → 130,000",
      "body": "…",
      "rule": {"name": "troops", "type": "figure"},
      "change": {"key": "troops", "old_value": "100,000", "new_value": "130,000",
                 "sentence": "…"},    # values as reported; any may be null
      "story": {"id": 7, "title": "…"},                 # or null
      "sources": ["AFP", "Reuters"],
      "articles": [{"id": 12, "title": "…", "source": "AFP", "url": "https://…",
                    "published": "2022-02-04T09:30:00+00:00"}],
      "labels": {"team": "desk"}
    }

Texts in it are cut at 16,384 characters. New keys may be added within a
version; receivers should ignore keys they do not know.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from ..models import Alert

PAYLOAD_VERSION = "1"
WEBHOOK_TEXT_LIMIT = 16_384

SLACK_HEADER = 150
SLACK_SECTION = 3000
SLACK_FIELD = 2000
SLACK_FIELDS = 10
SLACK_BLOCKS = 50
SLACK_TEXT = 3000

DISCORD_CONTENT = 2000
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_FIELD_NAME = 256
DISCORD_FIELD_VALUE = 1024
DISCORD_FIELDS = 25
DISCORD_FOOTER = 2048
DISCORD_EMBED_TOTAL = 6000
DISCORD_URL = 2048

TEAMS_MAX_BYTES = 28_000
TEAMS_ACTIONS = 5

_SEVERITY_COLOURS = {"critical": 0xC0392B, "error": 0xE67E22, "warning": 0xF1C40F}
_DEFAULT_COLOUR = 0x3498DB
_ELLIPSIS = "…"


# -- measuring and cutting ------------------------------------------------------
def text_length(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript's ``length`` says)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, ending in "…" when cut."""
    if len(text) <= limit and text_length(text) <= limit:
        return text
    if limit <= 1:
        return _ELLIPSIS[:limit]
    budget = limit - 1
    cut = text[:budget]
    while (over := text_length(cut) - budget) > 0:
        cut = cut[: len(cut) - max(1, over // 2)]
    return cut.rstrip() + _ELLIPSIS


def encode(payload: dict[str, Any]) -> bytes:
    """The request body: compact UTF-8 JSON (what the size limits are measured on)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


Slot = tuple[dict[str, Any], str]


def _shrink(slots: list[Slot], measure: Callable[[], int], limit: int) -> None:
    """Cut the longest texts until ``measure()`` is within ``limit``.

    Removing n code units removes at least n from any measure used here
    (code units or UTF-8 bytes), so each round closes most of the gap.
    """
    for _ in range(200):
        excess = measure() - limit
        if excess <= 0:
            return
        holder, key = max(slots, key=lambda s: text_length(s[0][s[1]]))
        current = holder[key]
        size = text_length(current)
        if size <= 1:
            break
        holder[key] = clip(current, max(1, size - excess - 1))
    if measure() > limit:
        raise ValueError(f"payload cannot be cut to {limit}")


# -- what every rendering shows -------------------------------------------------
def _facts(alert: Alert) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    if alert.old_value:
        facts.append(("Before", alert.old_value))
    if alert.new_value:
        facts.append(("Now", alert.new_value))
    if alert.sources:
        facts.append(("Outlets", f"{len(alert.sources)}: {', '.join(alert.sources)}"))
    if alert.story_title:
        facts.append(("Story", alert.story_title))
    facts.append(("Severity", alert.severity))
    return facts


def _links(alert: Alert) -> list[tuple[str, str]]:
    """(label, url) for each cited article with an http(s) URL."""
    out = []
    for a in alert.articles:
        if a.url and urlsplit(a.url).scheme in ("http", "https"):
            label = f"{a.source}: {a.title}" if a.source else a.title
            out.append((" ".join(label.split()) or a.url, a.url))
    return out


def _one_line(alert: Alert) -> str:
    return " ".join(alert.title.split()) or alert.rule or "wirewatch alert"


def _footer(alert: Alert) -> str:
    return f"wirewatch · rule {alert.rule} ({alert.rule_type})"


def _lines_within(lines: list[str], limit: int) -> str:
    """As many whole lines as fit in ``limit``, then "… and N more"."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        more = f"… and {len(lines) - i} more"
        cost = text_length(line) + (1 if out else 0)
        reserve = 0 if i == len(lines) - 1 else text_length(more) + 1
        if used + cost + reserve > limit:
            out.append(more)
            break
        out.append(line)
        used += cost
    return clip("\n".join(out), limit)


# -- Slack (and Mattermost, Rocket.Chat) ------------------------------------------
def slack_escape(text: str) -> str:
    """Slack's three control characters, as its docs require."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip_mrkdwn(text: str, limit: int) -> str:
    """Escape, then cut without leaving half an ``&amp;`` behind."""
    escaped = slack_escape(text)
    cut = clip(escaped, limit)
    if cut == escaped:
        return cut
    head = cut[: -len(_ELLIPSIS)]
    amp = head.rfind("&", max(0, len(head) - 5))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + _ELLIPSIS


def _slack_link(label: str, url: str) -> str:
    safe_url = slack_escape(url).replace("|", "%7C")
    return f"• <{safe_url}|{slack_escape(clip(label, 200))}>"


def render_slack(alert: Alert) -> dict[str, Any]:
    """Block Kit: header, body, facts, links, context; ``text`` is the plain fallback.

    Mattermost and Rocket.Chat ignore ``blocks`` and show ``text``, so the
    fallback carries the title and the body, not just a notification line.
    """
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(_one_line(alert), SLACK_HEADER)},
        }
    ]
    if alert.body:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip_mrkdwn(alert.body, SLACK_SECTION)},
            }
        )
    facts = [
        {"type": "mrkdwn", "text": _clip_mrkdwn(f"{name}\n{value}", SLACK_FIELD)}
        for name, value in _facts(alert)[:SLACK_FIELDS]
    ]
    blocks.append({"type": "section", "fields": facts})
    links = [_slack_link(label, url) for label, url in _links(alert)]
    if links:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _lines_within(links, SLACK_SECTION)},
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _clip_mrkdwn(_footer(alert), SLACK_SECTION)}],
        }
    )
    fallback = f"{_one_line(alert)}\n{alert.body}" if alert.body else _one_line(alert)
    return {"text": _clip_mrkdwn(fallback, SLACK_TEXT), "blocks": blocks[:SLACK_BLOCKS]}


# -- Discord ----------------------------------------------------------------------
_URL_SAFE = ":/?#@!$&'*+,;=%~.-_"


def _discord_link(label: str, url: str) -> str:
    """A masked link; brackets in the label and parentheses in the URL would end it early."""
    label = clip(label.replace("[", "(").replace("]", ")"), 100)
    return f"[{label}]({quote(url, safe=_URL_SAFE)})"


def embed_length(embed: dict[str, Any]) -> int:
    """What Discord counts towards its 6,000-character limit across embeds."""
    total = text_length(embed.get("title", "")) + text_length(embed.get("description", ""))
    total += text_length(embed.get("footer", {}).get("text", ""))
    total += text_length(embed.get("author", {}).get("name", ""))
    for field in embed.get("fields", ()):
        total += text_length(field["name"]) + text_length(field["value"])
    return total


def render_discord(alert: Alert) -> dict[str, Any]:
    """One embed: title, description, a field per fact and one for the articles.

    ``allowed_mentions`` is empty so that an article quoting "@everyone"
    pings nobody.
    """
    embed: dict[str, Any] = {
        "title": clip(_one_line(alert), DISCORD_TITLE),
        "color": _SEVERITY_COLOURS.get(alert.severity, _DEFAULT_COLOUR),
        "timestamp": alert.created_at.isoformat(),
        "footer": {"text": clip(_footer(alert), DISCORD_FOOTER)},
    }
    if alert.body:
        embed["description"] = clip(alert.body, DISCORD_DESCRIPTION)
    links = _links(alert)
    if links and len(links[0][1]) <= DISCORD_URL:
        embed["url"] = links[0][1]
    fields = [
        {
            "name": clip(name, DISCORD_FIELD_NAME),
            "value": clip(value, DISCORD_FIELD_VALUE) or "—",
            "inline": name != "Story",
        }
        for name, value in _facts(alert)
    ]
    if links:
        lines = [_discord_link(label, url) for label, url in links]
        fields.append(
            {
                "name": "Articles",
                "value": _lines_within(lines, DISCORD_FIELD_VALUE),
                "inline": False,
            }
        )
    embed["fields"] = fields[:DISCORD_FIELDS]
    slots: list[Slot] = [(embed, "title"), (embed["footer"], "text")]
    if "description" in embed:
        slots.append((embed, "description"))
    slots += [(f, "value") for f in embed["fields"]]
    _shrink(slots, lambda: embed_length(embed), DISCORD_EMBED_TOTAL)
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


# -- Microsoft Teams (Workflows) ----------------------------------------------------
def render_teams(alert: Alert) -> dict[str, Any]:
    """A message with one Adaptive Card, at most 28 KB as sent.

    Office 365 connectors are retired; a Teams Workflows webhook takes this
    ``message`` envelope with the card as an attachment.
    """
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": clip(_one_line(alert), 1000),
            "weight": "Bolder",
            "size": "Large",
            "style": "heading",
            "wrap": True,
        }
    ]
    if alert.body:
        body.append({"type": "TextBlock", "text": clip(alert.body, 20_000), "wrap": True})
    facts = [{"title": clip(n, 100), "value": clip(v, 2000)} for n, v in _facts(alert)]
    body.append({"type": "FactSet", "facts": facts})
    body.append(
        {
            "type": "TextBlock",
            "text": clip(_footer(alert), 1000),
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
        }
    )
    actions = [
        {"type": "Action.OpenUrl", "title": clip(label, 80), "url": url}
        for label, url in _links(alert)[:TEAMS_ACTIONS]
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    payload: dict[str, Any] = {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
    slots: list[Slot] = [(block, "text") for block in body if "text" in block]
    slots += [(fact, "value") for fact in facts]
    slots += [(action, "title") for action in actions]
    _shrink(slots, lambda: len(encode(payload)), TEAMS_MAX_BYTES)
    return payload


# -- generic webhook --------------------------------------------------------------------
def render_webhook(alert: Alert) -> dict[str, Any]:
    """The versioned wirewatch payload described in this module's docstring."""

    def cut(text: str | None) -> str | None:
        return None if text is None else clip(text, WEBHOOK_TEXT_LIMIT)

    return {
        "version": PAYLOAD_VERSION,
        "type": "alert",
        "id": alert.id,
        "fingerprint": alert.fingerprint,
        "created_at": alert.created_at.isoformat(),
        "severity": alert.severity,
        "title": cut(alert.title),
        "body": cut(alert.body),
        "rule": {"name": alert.rule, "type": alert.rule_type},
        "change": {
            "key": alert.key,
            "old_value": alert.old_value,
            "new_value": alert.new_value,
            "sentence": cut(alert.sentence),
        },
        "story": (
            {"id": alert.story_id, "title": alert.story_title}
            if alert.story_id is not None or alert.story_title
            else None
        ),
        "sources": list(alert.sources),
        "articles": [
            {
                "id": a.id,
                "title": cut(a.title),
                "source": a.source,
                "url": a.url,
                "published": a.published.isoformat() if a.published else None,
            }
            for a in alert.articles
        ],
        "labels": dict(alert.labels),
    }


RENDERERS: dict[str, Callable[[Alert], dict[str, Any]]] = {
    "slack": render_slack,
    "discord": render_discord,
    "teams": render_teams,
    "webhook": render_webhook,
}


def render_payload(alert: Alert, sink_type: str) -> dict[str, Any]:
    """The payload for a sink of type ``sink_type`` (slack, discord, teams, webhook)."""
    return RENDERERS[sink_type](alert)
