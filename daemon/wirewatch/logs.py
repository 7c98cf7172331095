"""Structured logging: JSON lines for machines, readable lines for people.

A daemon's logs are read by journald, log shippers and grep, so by default
they are JSON when stdout is not a terminal. Every event is a name plus
fields (``article_id``, ``path``, ``reason``), never a formatted sentence.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LEVELS["error"] = logging.ERROR


def configure_logging(fmt: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Set up structlog once for the process.

    ``fmt`` is ``json``, ``console`` or ``auto`` (console on a terminal).
    Third-party libraries that log through the standard library (trafilatura
    among them) are quietened to warnings, so their chatter does not drown
    the service's own events.
    """
    stream = sys.stderr if stream is None else stream
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=logging.WARNING, stream=stream)
    for noisy in ("trafilatura", "htmldate", "courlan", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def get_logger(name: str) -> Any:
    """A structlog logger tagged with the module that logs.

    Lazy: safe at import time, it binds to whatever configuration
    :func:`configure_logging` set up by the time the first event is logged.
    """
    return structlog.get_logger(module=name)
