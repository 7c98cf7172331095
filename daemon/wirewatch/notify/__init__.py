"""The notify stage: alerts from the outbox, rendered per destination and delivered.

Modules, in the order an alert meets them: ``templates`` (its title and
body, once, when the rules stage makes it), ``render`` (its JSON for each
kind of destination, within that destination's limits), ``sign``
(Standard Webhooks signatures), ``safety`` (where a request may go),
``policy`` (what a response means and when to retry), ``deliver`` (the
Dispatcher and its per-destination workers), ``console``, ``redact``
(secrets out of logs) and ``commands`` (the operator's CLI).

Only the light parts are imported here, because the main config imports
this package for the sink models; import ``deliver`` and ``commands``
directly.
"""

from __future__ import annotations

from .config import (
    AnySink,
    ConsoleSink,
    DiscordSink,
    HttpSink,
    NotifyConfig,
    SinkConfig,
    SlackSink,
    TeamsSink,
    WebhookSink,
    effective_sinks,
    sink_secrets,
)
from .redact import install_redaction, make_redactor
from .templates import render_message, validate_template

__all__ = [
    "AnySink",
    "ConsoleSink",
    "DiscordSink",
    "HttpSink",
    "NotifyConfig",
    "SinkConfig",
    "SlackSink",
    "TeamsSink",
    "WebhookSink",
    "effective_sinks",
    "install_redaction",
    "make_redactor",
    "render_message",
    "sink_secrets",
    "validate_template",
]
