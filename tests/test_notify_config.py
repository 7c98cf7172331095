"""Sink configuration: the union on ``type``, defaults, and what is refused at load time."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from wirewatch.config import format_validation_error, interpolate
from wirewatch.notify.config import (
    ConsoleSink,
    DiscordSink,
    NotifyConfig,
    SinkConfig,
    SlackSink,
    TeamsSink,
    WebhookSink,
    effective_sinks,
    sink_secrets,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Main(BaseModel):
    """The way the main config embeds the sinks."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    sinks: dict[str, SinkConfig] = Field(default_factory=dict)


def load(sinks: dict[str, Any], env: dict[str, str] | None = None) -> Main:
    return Main.model_validate(interpolate({"sinks": sinks}, env or {}))


def test_each_type_gets_its_service_defaults() -> None:
    cfg = load(
        {
            "s": {"type": "slack", "url": "https://hooks.slack.com/services/T/B/x"},
            "d": {"type": "discord", "url": "https://discord.com/api/webhooks/1/x"},
            "t": {"type": "teams", "url": "https://prod.westeurope.logic.azure.com/workflows/x"},
            "w": {"type": "webhook", "url": "https://example.com/hook", "secret": SECRET},
            "c": {"type": "console"},
        }
    )
    s, d, t, w, c = (cfg.sinks[k] for k in "sdtwc")
    assert isinstance(s, SlackSink) and s.rate_per_second == 1.0
    assert isinstance(d, DiscordSink) and (d.rate_per_second, d.burst) == (2.5, 5)
    assert isinstance(t, TeamsSink) and t.rate_per_second == 4.0
    assert isinstance(w, WebhookSink) and w.secret is not None
    assert isinstance(c, ConsoleSink)
    assert (w.max_attempts, w.max_age, w.allow_private) == (20, 86400.0, False)


def test_urls_and_secrets_come_from_the_environment_and_stay_out_of_repr() -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
    cfg = load(
        {
            "s": {"type": "slack", "url": "${SLACK_WEBHOOK_URL}"},
            "w": {
                "type": "webhook",
                "url": "https://example.com/hook",
                "secret": "${HOOK_SECRET}",
                "headers": {"Authorization": "Bearer ${TOKEN}"},
            },
        },
        {"SLACK_WEBHOOK_URL": url, "HOOK_SECRET": SECRET, "TOKEN": "tok-123456"},
    )
    assert cfg.sinks["s"].url == url  # type: ignore[union-attr]
    assert url not in repr(cfg) and SECRET not in repr(cfg) and "tok-123456" not in repr(cfg)
    assert set(sink_secrets(cfg.sinks)) == {
        url,
        "https://example.com/hook",
        "Bearer tok-123456",
        SECRET,
    }


def test_a_metadata_address_is_refused_at_load_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"url: 169\.254\.169\.254 is a link-local") as exc:
        load({"hook": {"type": "webhook", "url": "http://169.254.169.254/latest/meta-data"}})
    assert isinstance(exc.value, ValidationError)
    (problem,) = format_validation_error(exc.value)
    assert problem.startswith("sinks.hook.webhook.url: Value error, url: 169.254.169.254")
    assert "allow_private" in problem


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/x", "loopback"),
        ("http://[::1]/x", "loopback"),
        ("http://10.1.2.3/x", "private"),
        ("http://192.168.0.10/x", "private"),
        ("http://[::ffff:169.254.169.254]/x", "link-local"),
        ("http://0.0.0.0/x", "unspecified"),
    ],
)
def test_literal_private_addresses_need_allow_private(url: str, kind: str) -> None:
    with pytest.raises(ValueError, match=f"is a {kind} address"):
        TypeAdapter(SinkConfig).validate_python({"type": "slack", "url": url})
    sink = TypeAdapter(SinkConfig).validate_python(
        {"type": "slack", "url": url, "allow_private": True}
    )
    assert isinstance(sink, SlackSink)


@pytest.mark.parametrize(
    ("sink", "message"),
    [
        ({"type": "slack", "url": "ftp://example.com/x"}, "http:// or https://"),
        ({"type": "slack"}, "url"),
        ({"type": "email", "url": "https://example.com"}, "does not match any of the expected"),
        ({"type": "webhook", "url": "https://x.org", "secret": "abc"}, "must start with whsec_"),
        ({"type": "webhook", "url": "https://x.org", "secret": "whsec_!!"}, "base64"),
        ({"type": "webhook", "url": "https://x.org", "secret": "whsec_YWJj"}, "24 to 64 bytes"),
        (
            {"type": "webhook", "url": "https://x.org", "headers": {"webhook-id": "x"}},
            "cannot be overridden",
        ),
        ({"type": "slack", "url": "https://x.org", "headers": {"X": "a\r\nB: c"}}, "line break"),
        ({"type": "slack", "url": "https://x.org", "rate_per_second": 0}, "greater than 0"),
        ({"type": "slack", "url": "https://x.org", "colour": "red"}, "Extra inputs"),
        (
            {
                "type": "slack",
                "url": "https://evil.example/x",
                "allowed_hosts": ["hooks.slack.com"],
            },
            "not in allowed_hosts",
        ),
    ],
)
def test_bad_sinks_are_refused(sink: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        load({"x": sink})


def test_allowed_hosts_accepts_listed_hosts_and_subdomains() -> None:
    cfg = load(
        {
            "a": {
                "type": "slack",
                "url": "https://hooks.slack.com/services/x",
                "allowed_hosts": ["hooks.slack.com"],
            },
            "b": {
                "type": "teams",
                "url": "https://prod-1.westeurope.logic.azure.com/x",
                "allowed_hosts": ["*.logic.azure.com"],
            },
        }
    )
    assert set(cfg.sinks) == {"a", "b"}


def test_console_is_the_default_when_nothing_is_configured() -> None:
    assert list(effective_sinks({})) == ["console"]
    assert isinstance(effective_sinks(None)["console"], ConsoleSink)
    slack = SlackSink(type="slack", url="https://hooks.slack.com/services/x")
    assert effective_sinks({"s": slack}) == {"s": slack, "console": ConsoleSink(type="console")}
    own = ConsoleSink(type="console", max_attempts=3)
    assert effective_sinks({"console": own}) == {"console": own}
