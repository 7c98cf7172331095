"""The ``console`` sink: one readable line per alert on standard output.

It is the destination when none is configured, so a fresh installation
shows its alerts somewhere a person will see them (the terminal, or the
journal under systemd) without any setup.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ..models import Alert


def format_line(alert: Alert) -> str:
    """``ALERT [severity] rule: title (N outlets: A, B) url``, on one line.

    The rule's name is left out when the title already starts with it.
    """
    title = " ".join(alert.title.split())
    if not title.startswith(f"{alert.rule}:"):
        title = f"{alert.rule}: {title}"
    parts = [f"ALERT [{alert.severity}] {title}"]
    if alert.sources:
        n = len(alert.sources)
        parts.append(f"({n} outlet{'s' if n != 1 else ''}: {', '.join(alert.sources)})")
    url = next((a.url for a in alert.articles if a.url), None)
    if url:
        parts.append(url)
    return " ".join(parts)


def write_alert(alert: Alert, stream: TextIO | None = None) -> None:
    """Print the alert's line and flush, so it is seen even when stdout is a pipe."""
    out = sys.stdout if stream is None else stream
    out.write(format_line(alert) + "\n")
    out.flush()
