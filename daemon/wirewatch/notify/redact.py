"""Keep webhook URLs and signing secrets out of every log line.

A chat webhook URL is a credential: whoever has it can post to the channel.
The notify stage never logs one, but an exception message, a receiver's
error body that echoes the request, or a library's debug line can. So the
redactor is a last line of defence on the way out: it replaces every
configured URL, secret and custom header value (and the path of each URL,
which is where the token sits), plus anything shaped like a Slack, Discord
or Teams webhook URL or a ``whsec_`` secret, with ``[REDACTED]``.

``make_redactor`` gives a structlog processor; ``install_redaction`` puts
it just before the renderer (after exceptions are formatted, so tracebacks
are scrubbed too), adds the same scrubbing to the standard library's log
handlers, and quietens httpx's request log, which prints every URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import structlog
from structlog.typing import EventDict, WrappedLogger

REDACTED = "[REDACTED]"

_SHAPES = re.compile(
    r"""
    https?://hooks\.slack\.com/(?:services|workflows|triggers)/[^\s"'<>|]+
  | https?://(?:[\w-]+\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks/[^\s"'<>|]+
  | https?://[\w.-]+\.webhook\.office\.com/[^\s"'<>|]+
  | https?://[\w.-]+\.logic\.azure\.com[^\s"'<>|]*
  | https?://[\w.-]+\.api\.powerplatform\.com[^\s"'<>|]*
  | whsec_[A-Za-z0-9+/=]+
    """,
    re.VERBOSE,
)
_MIN_SECRET = 6
_PLAIN = (int, float, bool, type(None))


def _variants(secret: str) -> list[str]:
    """The secret and, for a URL, its path and query, where a webhook's token lives."""
    out = [secret]
    parts = urlsplit(secret)
    if parts.scheme in ("http", "https") and parts.netloc:
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        if len(tail.strip("/")) >= 8:
            out.append(tail)
    return out


class Redactor:
    """A structlog processor (and a text scrubber) for a fixed set of secrets."""

    def __init__(self, secrets: Iterable[str]) -> None:
        found = {v for s in secrets if s for v in _variants(s) if len(v) >= _MIN_SECRET}
        # longest first, so a URL is replaced whole before its path is looked for
        self._secrets = sorted(found, key=len, reverse=True)

    def text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _SHAPES.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        shown = str(value)
        cleaned = self.text(shown)
        return value if cleaned == shown else cleaned

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return {key: self.value(v) for key, v in event_dict.items()}


def make_redactor(secrets: Iterable[str]) -> Redactor:
    """A structlog processor that redacts ``secrets`` and known webhook shapes."""
    return Redactor(secrets)


class RedactingFilter(logging.Filter):
    """The same scrubbing for records that go through the standard library."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        return True


def install_redaction(secrets: Iterable[str]) -> Redactor:
    """Scrub every log line of this process from now on; call after logging is configured.

    Calling it again (after a reload changed the sinks) replaces the
    previous redactor rather than stacking another.
    """
    redactor = make_redactor(secrets)
    processors = [p for p in structlog.get_config()["processors"] if not isinstance(p, Redactor)]
    processors.insert(max(len(processors) - 1, 0), redactor)
    structlog.configure(processors=processors)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(redactor))
    for noisy in ("httpx", "httpcore"):
        lg = logging.getLogger(noisy)
        lg.setLevel(max(lg.getEffectiveLevel(), logging.WARNING))
    return redactor
