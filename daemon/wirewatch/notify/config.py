"""Where alerts go: the ``[sinks.NAME]`` and ``[notify]`` sections of the main config.

A sink is one destination, chosen by ``type``; the main config embeds them
as ``sinks: dict[str, SinkConfig]`` and the rules name them. URLs and
secrets are read from the environment (``url = "${SLACK_WEBHOOK_URL}"``),
are kept out of ``repr`` and are redacted from logs. Each type's default
rate is that service's documented limit, so a burst of alerts is spread out
instead of being answered with 429s.

For example::

    [notify]
    backoff_cap = 300

    [sinks.desk]
    type = "slack"                      # slack | discord | teams | webhook | console
    url = "${SLACK_WEBHOOK_URL}"

    [sinks.archive]
    type = "webhook"
    url = "https://alerts.example.org/wirewatch"
    secret = "${WIREWATCH_WEBHOOK_SECRET}"      # whsec_…, per Standard Webhooks
    headers = { "X-Team" = "desk" }
    allowed_hosts = ["alerts.example.org"]

This module imports nothing from the rest of wirewatch but its own package,
so the main config can import it without a cycle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from ..section import Section as _Section
from .safety import host_allowed, literal_ip, refusal
from .sign import secret_key

PositiveFloat = Annotated[float, Field(gt=0)]
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)


class NotifyConfig(_Section):
    """``[notify]``: what every destination shares.

    ``max_connections`` bounds each destination's connection pool (a worker
    sends one request at a time, so two is plenty); each destination has a
    pool of its own, so one slow receiver never holds a connection another
    needs. Retries wait a random time up to ``backoff_base * 2**(n-1)``
    seconds, at most ``backoff_cap`` ("full jitter"), or longer when the
    receiver says so in ``Retry-After``.
    """

    max_connections: Annotated[int, Field(ge=1, le=100)] = 2
    backoff_base: PositiveFloat = 1.0
    backoff_cap: PositiveFloat = 600.0
    poll_interval: PositiveFloat = 1.0


class _SinkBase(_Section):
    max_attempts: Annotated[int, Field(ge=1)] = 20
    max_age: PositiveFloat = 24 * 3600.0


class _HttpSink(_SinkBase):
    """What every destination reached over HTTP has.

    ``allow_private`` and ``allowed_hosts`` come before ``url`` because the
    URL's check reads them.
    """

    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    url: str = Field(repr=False)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    rate_per_second: PositiveFloat = 1.0
    burst: Annotated[int, Field(ge=1)] = 1
    timeout_connect: PositiveFloat = 5.0
    timeout_read: PositiveFloat = 10.0
    timeout_total: PositiveFloat = 15.0

    @field_validator("url")
    @classmethod
    def _url_is_allowed(cls, url: str, info: ValidationInfo) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("url: must be an http:// or https:// URL")
        host = parts.hostname
        if not host:
            raise ValueError("url: has no host")
        try:
            parts.port  # noqa: B018 (urlsplit checks the port only when asked)
        except ValueError as exc:
            raise ValueError(f"url: {exc}") from None
        allowed: tuple[str, ...] = info.data.get("allowed_hosts", ())
        if not host_allowed(host, allowed):
            raise ValueError(f"url: host {host} is not in allowed_hosts")
        ip = literal_ip(host)
        if ip is not None and not info.data.get("allow_private", False):
            reason = refusal(host, ip)
            if reason is not None:
                raise ValueError(f"url: {reason}")
        return url

    @field_validator("headers")
    @classmethod
    def _headers_are_valid(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _TOKEN.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"{name} is set by wirewatch and cannot be overridden")
            if "\r" in value or "\n" in value:
                raise ValueError(f"{name}: a header value cannot contain a line break")
        return headers

    def secrets(self) -> list[str]:
        """What must never appear in a log: the URL and the custom header values."""
        return [self.url, *self.headers.values()]


class SlackSink(_HttpSink):
    """A Slack incoming webhook (Block Kit with a plain-text fallback).

    Mattermost and Rocket.Chat accept the same payload and read its text.
    Slack allows about one message per second per webhook.
    """

    type: Literal["slack"]
    rate_per_second: PositiveFloat = 1.0


class DiscordSink(_HttpSink):
    """A Discord webhook: one embed with fields; 5 requests per 2 seconds."""

    type: Literal["discord"]
    rate_per_second: PositiveFloat = 2.5
    burst: Annotated[int, Field(ge=1)] = 5


class TeamsSink(_HttpSink):
    """A Microsoft Teams Workflows webhook: an Adaptive Card; about 4 requests a second."""

    type: Literal["teams"]
    rate_per_second: PositiveFloat = 4.0


class WebhookSink(_HttpSink):
    """Any receiver of JSON: the versioned wirewatch payload, signed per Standard Webhooks."""

    type: Literal["webhook"]
    secret: SecretStr | None = None
    rate_per_second: PositiveFloat = 10.0
    burst: Annotated[int, Field(ge=1)] = 10

    @field_validator("secret")
    @classmethod
    def _secret_is_whsec(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None:
            secret_key(secret.get_secret_value())
        return secret

    def secrets(self) -> list[str]:
        extra = [self.secret.get_secret_value()] if self.secret is not None else []
        return [*super().secrets(), *extra]


class ConsoleSink(_SinkBase):
    """A readable line on standard output: the destination when none is configured."""

    type: Literal["console"]


HttpSink = SlackSink | DiscordSink | TeamsSink | WebhookSink
AnySink = HttpSink | ConsoleSink
SinkConfig = Annotated[AnySink, Field(discriminator="type")]
"""One ``[sinks.NAME]`` table; embed as ``sinks: dict[str, SinkConfig]``."""

DEFAULT_SINK = "console"


def effective_sinks(configured: Mapping[str, AnySink] | None) -> dict[str, AnySink]:
    """The configured sinks, plus the ``console`` sink unless one is configured by that name.

    ``console`` always exists, because rules may name it (it is the rules'
    default destination) and an alert for a destination that does not
    exist would wait in the outbox for ever.
    """
    sinks = dict(configured or {})
    sinks.setdefault(DEFAULT_SINK, ConsoleSink(type="console"))
    return sinks


def sink_secrets(sinks: Mapping[str, AnySink]) -> list[str]:
    """Every URL, secret and custom header value the sinks hold, for the log redactor."""
    out: list[str] = []
    for sink in sinks.values():
        if isinstance(sink, _HttpSink):
            out.extend(sink.secrets())
    return out
