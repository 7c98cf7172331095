"""Webhook URLs and secrets never reach a log line."""

from __future__ import annotations

import base64
import io
import logging
import os
from collections.abc import Iterator

import pytest
import structlog

from test_notify_support import Receiver, Reply, Request, dispatching, eventually, make_alert
from test_notify_support import receiver as receiver
from test_notify_support import store as store
from wirewatch.logs import configure_logging
from wirewatch.notify.config import SlackSink, WebhookSink, sink_secrets
from wirewatch.notify.redact import REDACTED, RedactingFilter, install_redaction, make_redactor
from wirewatch.store import Store


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    """Every log line of the process (structlog and the standard library) into one buffer."""
    buf = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(buf)
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    configure_logging("json", "debug", stream=buf)
    yield buf
    structlog.reset_defaults()
    root.removeHandler(handler)
    for h in root.handlers:
        for f in [f for f in h.filters if isinstance(f, RedactingFilter)]:
            h.removeFilter(f)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_a_delivery_run_logs_no_url_and_no_secret(
    store: Store,
    receiver: Receiver,
    log_buffer: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "T0001/B0002/" + base64.b32encode(os.urandom(15)).decode()
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    bearer = "Bearer tok-" + os.urandom(8).hex()
    slack_url = receiver.url(f"/services/{token}")
    hook_url = receiver.url(f"/hooks/{os.urandom(8).hex()}")

    def echo(req: Request) -> Reply:
        """A receiver that quotes the request back in its error, as some do."""
        quoted = f"bad request to http://127.0.0.1:{receiver.port}{req.path} with {req.headers}"
        return Reply(400, body=quoted.encode())

    flaky = iter([Reply(500, body=f"upstream error for {slack_url}".encode())])
    receiver.on(f"/services/{token}", lambda r: next(flaky, Reply()))
    receiver.on(hook_url.rsplit(str(receiver.port), 1)[1], echo)
    sinks = {
        "slack": SlackSink(type="slack", url=slack_url, allow_private=True, rate_per_second=50),
        "hook": WebhookSink.model_validate(
            {
                "type": "webhook",
                "url": hook_url,
                "secret": secret,
                "headers": {"Authorization": bearer},
                "allow_private": True,
            }
        ),
    }
    install_redaction(sink_secrets(sinks))
    logging.getLogger("some.library").warning("posting to %s with %s", slack_url, secret)
    async with dispatching(store, sinks) as d:
        await store.add_alert(make_alert(1), ["slack", "hook"])
        d.wake()
        await eventually(lambda: d.counts.sent == 1 and d.counts.failed == 1, 10, "outcomes")

    captured = capsys.readouterr()
    everything = log_buffer.getvalue() + captured.out + captured.err
    for needle in (slack_url, token, hook_url, secret, secret[6:], bearer):
        assert needle not in everything
    assert "alert_retry" in everything and "alert_sent" in everything
    failed = next(line for line in everything.splitlines() if "alert_failed" in line)
    assert "HTTP 400: bad request to " + REDACTED in failed, "the echoed URL was scrubbed"
    assert "posting to " + REDACTED in everything, "standard library records too"
    rows = await store.list_deliveries()
    for row in rows:
        assert token not in (row.delivery.last_error or "")


def test_known_webhook_shapes_are_redacted_without_configuration() -> None:
    redact = make_redactor([])
    lines = [
        "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "https://discord.com/api/webhooks/123456/abcdefghijklmnop",
        "https://discordapp.com/api/v10/webhooks/123456/abcdefghijklmnop",
        "https://example.webhook.office.com/webhookb2/abc@def/IncomingWebhook/xyz",
        "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual?sig=xyz",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ]
    for line in lines:
        assert redact.text(f"error posting to {line} (503)") == f"error posting to {REDACTED} (503)"


def test_the_processor_scrubs_nested_values_and_exceptions() -> None:
    url = "https://chat.example.org/hooks/abcdef123456"
    redact = make_redactor([url, "", "short"])
    event = {
        "event": f"failed {url}",
        "detail": {"urls": [url, "https://chat.example.org/other"], "n": 3},
        "exception": f"Traceback ...\nhttpx.ConnectError: {url}",
        "path_only": "POST /hooks/abcdef123456 HTTP/1.1",
        "error": ValueError(url),
    }
    out = redact(None, "error", event)
    assert url not in repr(out) and "abcdef123456" not in repr(out)
    assert out["detail"] == {"urls": [REDACTED, "https://chat.example.org/other"], "n": 3}
    assert out["path_only"] == f"POST {REDACTED} HTTP/1.1"
