"""Small helpers for what the commands print."""

from __future__ import annotations


def shorten(text: str | None, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with "…" when cut."""
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"
